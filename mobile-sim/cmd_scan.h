/*
 * cmd_scan.h - the vneid-sim "scan" command: a QR web login from the phone.
 *
 * Not here: the other commands (cmd_app.h, cmd_view.h).
 */
#ifndef QRLOGIN_SIM_CMD_SCAN_H
#define QRLOGIN_SIM_CMD_SCAN_H

#include "sim_ctx.h"
#include "sim_getopt.h"

/* Scans the login QR (a->pos[0] or --image), shows who is asking, grants the
 * web-login permission if needed and allowed (--grant or prompts), confirms
 * (with the number the login page shows) or declines, and after a confirm
 * waits for the logout push and forgets the session. a->number may be set
 * from the prompt. Returns the process exit code. */
int cmd_scan(sim_ctx *ctx, sim_args *a);

#endif /* QRLOGIN_SIM_CMD_SCAN_H */
