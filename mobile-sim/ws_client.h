/*
 * ws_client.h - a small blocking websocket client over libwebsockets.
 *
 * For programs that are clients of qrlogind: the phone simulator (one request,
 * wait for the answer, maybe wait for a push) and the integration tests (a
 * "browser" socket, a "phone" socket, hostile frames). Each qrl_wsc owns its
 * own lws context and is serviced only inside its calls, so a program may hold
 * several at once on one thread. Not thread-safe per object.
 * Depends on helpers and libwebsockets.
 */
#ifndef QRLOGIN_WS_CLIENT_H
#define QRLOGIN_WS_CLIENT_H

#include <stddef.h>

#include "qrlogin/error.h"

typedef struct qrl_wsc qrl_wsc;

/* Connects to url ("ws://host:port/path"; "wss://" for TLS) asking for
 * subprotocol (NULL: none) and sending the Origin header origin (NULL: none).
 * Waits up to timeout_ms for the upgrade. On success *out is a new client the
 * caller frees with qrl_wsc_free(). On refusal returns QRL_NETWORK and, if
 * http_status is not NULL, stores the HTTP status the server answered (e.g.
 * 403), or 0 if none was read. */
qrl_err qrl_wsc_connect(const char *url, const char *subprotocol,
                        const char *origin, int timeout_ms, qrl_wsc **out,
                        int *http_status);

/* Like qrl_wsc_connect(), for wss:// URLs trusting the CA certificates in
 * ca_file (PEM) instead of the system's (NULL: the system's). QRL_INVAL if
 * ca_file does not load. */
qrl_err qrl_wsc_connect_ca(const char *url, const char *subprotocol,
                           const char *origin, const char *ca_file, int timeout_ms,
                           qrl_wsc **out, int *http_status);

/* Like qrl_wsc_connect_ca(), from the local address iface (e.g. "127.0.0.2";
 * NULL: any). Tests use it to be "another network". */
qrl_err qrl_wsc_connect_from(const char *url, const char *subprotocol,
                             const char *origin, const char *ca_file, const char *iface,
                             int timeout_ms, qrl_wsc **out, int *http_status);

/* Sends len bytes of data as one text message (binary if binary is 1).
 * Any size: large messages are written in pieces as the socket allows.
 * Returns QRL_OK or QRL_NETWORK if the connection is closed. */
qrl_err qrl_wsc_send(qrl_wsc *c, const void *data, size_t len, int binary);

/* Sends the NUL-terminated string text as a text message. */
qrl_err qrl_wsc_send_text(qrl_wsc *c, const char *text);

/* Waits up to timeout_ms for the next whole message and returns it in *msg
 * (NUL-terminated, caller frees with free()) with its length in *len (len may
 * be NULL). Messages are queued in arrival order. Returns QRL_OK, QRL_NETWORK
 * if the connection closed and no message is queued, or QRL_UNAVAILABLE on
 * timeout. */
qrl_err qrl_wsc_recv(qrl_wsc *c, int timeout_ms, char **msg, size_t *len);

/* Waits up to timeout_ms for the connection to close. Returns 1 if closed. */
int qrl_wsc_wait_closed(qrl_wsc *c, int timeout_ms);

/* Returns the close code the peer sent (e.g. 1009), 0 if it has not closed,
 * or -1 if the connection dropped without a close frame. */
int qrl_wsc_close_code(const qrl_wsc *c);

/* Closes the connection (normal closure) and frees c; NULL-safe. */
void qrl_wsc_free(qrl_wsc *c);

#endif /* QRLOGIN_WS_CLIENT_H */
