/*
 * sim_io.h - what vneid-sim says and asks: human text, the one JSON answer,
 * error reports, and prompts read from stdin.
 *
 * Human text goes to stdout, errors to stderr; with --json, stdout carries
 * only the final JSON object and prompts go to stderr. Prompts keep the
 * websocket serviced while they wait, and on a non-terminal stdin give up
 * after the network timeout (no answer).
 *
 * Not here: deciding what to do (the commands, cmd_*.c), the wire (sim_net.c).
 */
#ifndef QRLOGIN_SIM_IO_H
#define QRLOGIN_SIM_IO_H

#include <stddef.h>

#include "sim_ctx.h"
#include "qrlogin/error.h"
#include "ws_client.h"

#if defined(__GNUC__)
#define SIM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SIM_PRINTF(a, b)
#endif

/* Prints human text (printf format) to stdout; nothing with --json. */
void sim_say(sim_ctx *ctx, const char *fmt, ...) SIM_PRINTF(2, 3);

/* Records err as the command's error: its wire code and Vietnamese message
 * (the server's message if the server reported this code). Returns the exit
 * code for it: exit if exit > 0, else qrl_sim_exit_for(err). */
int sim_fail(sim_ctx *ctx, qrl_err err, int exit);

/* Like sim_fail, with a citizen message of the command's own (printf format,
 * Vietnamese) instead of the generic one for err. Returns the exit code. */
int sim_fail_msg(sim_ctx *ctx, qrl_err err, int exit, const char *fmt, ...)
    SIM_PRINTF(4, 5);

/* Records a usage error with wire code err (QRL_INVAL, QRL_INVALID_ID, ...)
 * and the English detail (printf format). Returns QRL_EXIT_USAGE. */
int sim_usage_error(sim_ctx *ctx, qrl_err err, const char *fmt, ...)
    SIM_PRINTF(3, 4);

/* Records an English detail (printf format) for the error being reported. */
void sim_detail(sim_ctx *ctx, const char *fmt, ...) SIM_PRINTF(2, 3);

/* Records a server error: code and message as received (copied). */
void sim_set_server_error(sim_ctx *ctx, const char *code, const char *message);

/* What a passcode refusal (err, the server's error message m) adds to the
 * recorded error: "Bạn còn N lần thử" for wrong_passcode with tries_left,
 * and for locked with locked_until the end of the lock in local time
 * (dd/mm/yyyy HH:MM), in the Vietnamese message and the English detail; with
 * --json also tries_left / locked_until (unix seconds) and
 * locked_until_local. Nothing for other errors. */
void sim_note_passcode_refusal(sim_ctx *ctx, qrl_err err, const cJSON *m);

/* Clears a recorded error. */
void sim_clear_error(sim_ctx *ctx);

/* Prints the command's outcome for exit code exit: the JSON object (ok,
 * command, fields added to ctx->out, code/message on failure, exit) or, in
 * human mode, the recorded error on stderr. Returns exit. */
int sim_finish(sim_ctx *ctx, int exit);

/* Asks question and reads one line (without the newline) into buf (len
 * bytes), echoing off if echo is 0 and stdin is a terminal. While waiting it
 * services ws (may be NULL). Returns 1 with an answer, 0 with none (end of
 * input, or the timeout when stdin is not a terminal). */
int sim_prompt(sim_ctx *ctx, qrl_wsc *ws, const char *question, int echo,
               char *buf, size_t len);

/* Asks a yes/no question ("[y/N]" is appended). Returns 1 for yes ("y",
 * "yes", "c", "có"), 0 for anything else or no answer. */
int sim_ask_yes(sim_ctx *ctx, qrl_wsc *ws, const char *question);

#endif /* QRLOGIN_SIM_IO_H */
