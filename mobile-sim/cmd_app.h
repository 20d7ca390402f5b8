/*
 * cmd_app.h - the vneid-sim commands on the app itself: login, status,
 * settings, logout.
 *
 * Each takes the run-wide context and its parsed arguments (only read; the
 * strings point into argv) and returns the process exit code (enum
 * qrl_sim_exit) after recording its outcome in ctx; sim_run() prints it.
 *
 * Not here: scan (cmd_scan.h), sessions/inbox/decode (cmd_view.h).
 */
#ifndef QRLOGIN_SIM_CMD_APP_H
#define QRLOGIN_SIM_CMD_APP_H

#include "sim_ctx.h"
#include "sim_getopt.h"

/* Logs the app in (--id, --password or a prompt, --device-name) and
 * registers the device key, making it on first use. */
int cmd_login(sim_ctx *ctx, sim_args *a);

/* Shows the login state, the account and the web-login permission (asks the
 * server); exit 8 if not logged in. */
int cmd_status(sim_ctx *ctx, sim_args *a);

/* settings web-login on|off [--passcode N]: sets the web-login permission. */
int cmd_settings(sim_ctx *ctx, sim_args *a);

/* Logs the app out on the server and forgets the session whatever the
 * server says. */
int cmd_logout(sim_ctx *ctx, sim_args *a);

#endif /* QRLOGIN_SIM_CMD_APP_H */
