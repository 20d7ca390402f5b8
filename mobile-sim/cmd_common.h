/*
 * cmd_common.h - the steps the vneid-sim commands share: the app session,
 * the account shown and kept, requests, server failures, the passcode, the
 * web-login permission, and the safety of the home directory.
 *
 * Each step reports its own failure through sim_io.c (sim_fail and friends)
 * and returns the process exit code (enum qrl_sim_exit), or 0 to go on.
 *
 * Not here: the commands themselves (cmd_app.c, cmd_scan.c, cmd_view.c), the
 * state files (sim_home.c), the wire (sim_net.c).
 */
#ifndef QRLOGIN_SIM_CMD_COMMON_H
#define QRLOGIN_SIM_CMD_COMMON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sim_ctx.h"
#include "qrlogin/error.h"
#include "sim_home.h"
#include "ws_client.h"

/* Adds the account (copied) to the JSON answer; nothing without --json. */
void cmd_out_account(sim_ctx *ctx, const sim_account *acc);

/* Prints the account, its level and the web-login permission. */
void cmd_say_account(sim_ctx *ctx, const sim_account *acc);

/* Loads the app session into *s; reports "not logged in" (exit 8) if there
 * is none. Returns 0 or the exit code. */
int cmd_need_session(sim_ctx *ctx, sim_session *s);

/* Reports a failed request; forgets the session if the server no longer
 * knows it. Returns the exit code. */
int cmd_server_fail(sim_ctx *ctx, qrl_err rc);

/* Returns a new {"type":type,"session":token} (token may be NULL; both are
 * copied; caller frees with cJSON_Delete), or NULL if out of memory. */
cJSON *cmd_req(const char *type, const char *token);

/* Stores the account of reply (only read), if it has one, into *s and the
 * session file; the session stays. Returns QRL_OK or an error. */
qrl_err cmd_update_account(sim_ctx *ctx, sim_session *s, const cJSON *reply);

/* Gets a passcode from given (--passcode, may be NULL) or a prompt on stdin
 * (servicing ws, may be NULL) into buf (len bytes). Returns 0 with it in
 * buf, or an exit code (no answer: fallback_exit with error fallback). */
int cmd_passcode(sim_ctx *ctx, qrl_wsc *ws, const char *given, char *buf,
                 size_t len, qrl_err fallback, int fallback_exit);

/* Sends set_permission web_login=value with passcode (not kept) over ws and
 * stores the account of the answer in *s. Returns 0 or the exit code. */
int cmd_set_web_login(sim_ctx *ctx, qrl_wsc *ws, sim_session *s, int value,
                      const char *passcode);

/* Refuses an unsafe state directory ctx->home the way ssh refuses a bad
 * ~/.ssh: a symbolic link, not a directory, owned by another user, or
 * writable by group or others. A directory that does not exist yet is fine
 * (it is made 0700 when needed). Returns 0, or QRL_EXIT_USAGE after
 * recording a Vietnamese message with the path and the reason. */
int cmd_check_home(sim_ctx *ctx);

/* The camera: the text of the QR code in the PNG file path, into text (cap
 * bytes). 0, or the exit code after saying why (unreadable file: usage;
 * no QR code in it: bad_qr). */
int cmd_read_qr_png(sim_ctx *ctx, const char *path, char *text, size_t cap);

#endif /* QRLOGIN_SIM_CMD_COMMON_H */
