/*
 * sim_net.h - vneid-sim's requests over the phone subprotocol.
 *
 * Connects as a phone (subprotocol qrlogin.phone.v1, no Origin header), sends
 * one JSON request and waits for its "<type>_ok" or "error" answer, and waits
 * for server pushes ("logout"). Server errors are recorded in the sim_ctx with
 * the server's code and Vietnamese message.
 *
 * Not here: what the requests mean (the commands: cmd_app.c, cmd_scan.c,
 * cmd_view.c).
 */
#ifndef QRLOGIN_SIM_NET_H
#define QRLOGIN_SIM_NET_H

#include <cjson/cJSON.h>

#include "sim_ctx.h"
#include "qrlogin/error.h"
#include "ws_client.h"

/* Connects to ctx->server as a phone. On success *out is a new client the
 * caller frees with qrl_wsc_free(). Returns QRL_OK, QRL_INVAL (bad URL) or
 * QRL_NETWORK (detail recorded in ctx). */
qrl_err sim_connect(sim_ctx *ctx, qrl_wsc **out);

/* Sends req (only read; its "type" names the request) and waits up to
 * ctx->timeout_ms for the answer. On "<type>_ok" returns QRL_OK with *reply
 * the answer (caller frees with cJSON_Delete). On "error" records the
 * server's code and message in ctx and returns the matching qrl_err
 * (QRL_PROTOCOL for a code this build does not know). Returns QRL_NETWORK if
 * the connection closed or the answer did not come in time. A "logout" push
 * seen meanwhile sets ctx->got_logout. */
qrl_err sim_request(sim_ctx *ctx, qrl_wsc *ws, const cJSON *req, cJSON **reply);

/* Waits up to timeout_ms for a push of the given type (returns at once if it
 * is "logout" and one was already seen). Returns QRL_OK with *msg (caller
 * frees; NULL if it was seen earlier), QRL_UNAVAILABLE on timeout, or
 * QRL_NETWORK if the connection closed. */
qrl_err sim_wait_push(sim_ctx *ctx, qrl_wsc *ws, const char *type,
                      int timeout_ms, cJSON **msg);

/* Returns the string member name of o, or NULL if absent or not a string. */
const char *sim_json_str(const cJSON *o, const char *name);

#endif /* QRLOGIN_SIM_NET_H */
