/*
 * cmd_view.h - the vneid-sim commands that look things up: sessions, inbox,
 * decode.
 *
 * Each takes the run-wide context and its parsed arguments (only read) and
 * returns the process exit code after recording its outcome in ctx.
 *
 * Not here: login/status/settings/logout (cmd_app.h), scan (cmd_scan.h).
 */
#ifndef QRLOGIN_SIM_CMD_VIEW_H
#define QRLOGIN_SIM_CMD_VIEW_H

#include "sim_ctx.h"
#include "sim_getopt.h"

/* sessions [revoke ID]: lists the account's web logins of the last 30 days,
 * or ends one. */
int cmd_sessions(sim_ctx *ctx, sim_args *a);

/* inbox --phone N [--wait S]: the SMS to a number on the demo network; with
 * --wait, the next one too. */
int cmd_inbox(sim_ctx *ctx, sim_args *a);

/* decode --image FILE.png: prints the text of the QR code in the image. */
int cmd_decode(sim_ctx *ctx, sim_args *a);

#endif /* QRLOGIN_SIM_CMD_VIEW_H */
