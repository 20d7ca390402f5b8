/*
 * ws_common.h - what both websockets do with an incoming fragment: reassemble
 * it (at most QRL_MAX_MESSAGE, else close 1009), spend the socket's message
 * budget (else answer rate_limited, and close 1008 after too many), then hand
 * the whole message to the protocol's handler. Frames that are no message -
 * pings (lws 4.1.6 answers them by itself, unseen but for the WRITEABLE it
 * calls after the pong), pongs, empty fragments - spend the same budget,
 * silently: a client cannot make the loop work for free. Every frame counts
 * as the socket being alive (keepalive.h pings it after silence). Private to
 * server/handlers.
 */
#ifndef QRLOGIN_WS_COMMON_H
#define QRLOGIN_WS_COMMON_H

#include <libwebsockets.h>

#include "glue/conn.h"
#include "glue/server.h"

/* The protocol's handler of one whole message (c->rx, c->rx_len). */
typedef void (*qrl_ws_handler)(qrl_services *sv, qrl_conn *c, struct lws *wsi);

/* For LWS_CALLBACK_ESTABLISHED: registers c as a kind socket and starts
 * watching that it stays alive. */
void qrl_ws_established(qrl_services *sv, qrl_conn *c, struct lws *wsi,
                        qrl_conn_kind kind);
/* For LWS_CALLBACK_CLOSED: stops watching c and releases it. */
void qrl_ws_closed(qrl_services *sv, qrl_conn *c);

/* For LWS_CALLBACK_RECEIVE. event names the audit row of a message too big
 * ("browser_message", "phone_message"). Returns what the callback returns:
 * 0, or -1 to close. */
int qrl_ws_receive(qrl_services *sv, qrl_conn *c, struct lws *wsi, const void *in,
                   size_t len, const char *event, qrl_ws_handler handle);

/* For LWS_CALLBACK_RECEIVE_PONG (and empty fragments): a control frame
 * spends a token of the budget. 0, or -1 to close (1008, audited). */
int qrl_ws_control(qrl_services *sv, qrl_conn *c, struct lws *wsi);

/* For LWS_CALLBACK_SERVER_WRITEABLE: writes a due ping or the next queued
 * message; a callback that was not due (lws answered a ping) spends a token
 * first.
 * 0, or -1 to close. */
int qrl_ws_writeable(qrl_services *sv, qrl_conn *c, struct lws *wsi);

/* For LWS_CALLBACK_TIMER: -1 (close, with the reason set) once
 * qrl_ws_writeable() found the socket flooding, else 0. */
int qrl_ws_timer(qrl_conn *c, struct lws *wsi);

#endif /* QRLOGIN_WS_COMMON_H */
