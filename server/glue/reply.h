/*
 * reply.h - JSON messages onto a websocket connection's send queue: a
 * built object, or the error message for a code. Loop thread only.
 * Not here: HTTP answers (handlers/http.h), building the objects (jsonio.h).
 */
#ifndef QRLOGIN_REPLY_H
#define QRLOGIN_REPLY_H

#include <cjson/cJSON.h>

#include "glue/conn.h"

/* Sends cJSON object o (deleted here, NULL-safe) on c. */
void qrl_send_json(qrl_conn *c, cJSON *o);

/* Sends the error message for err in answer to request type req (may be
 * NULL) on c. */
void qrl_send_error(qrl_conn *c, qrl_err err, const char *req);

#endif /* QRLOGIN_REPLY_H */
