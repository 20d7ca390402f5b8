/*
 * ws_browser.h - the browser's websocket (subprotocol qrlogin.browser.v1).
 *
 * On connect the socket gets a fresh challenge (QR modules, binding secret,
 * expiry); "new_challenge" replaces it. The QR is redrawn as its frame
 * changes. The store's events about a socket's challenge are pushed to that
 * socket only: scanned (with the number to match), declined, expired; the
 * completion with its one-time code is pushed by the phone side
 * (qrl_browser_push_completed) once the session is written. Closing the
 * socket cancels its live challenge.
 * The portal page opens the same protocol on path /portal to watch its own
 * web session instead: it gets no code; the session cookie of the upgrade
 * request is looked up (a worker; not a use of the session) and the page is
 * told "watching", or "session_ended" at once if the session is not live,
 * or later when "Không phải tôi" ends it (qrl_browser_push_session_ended),
 * from the web or the phone (a session ended while a page's look-up is on a
 * worker makes that page look again). A session ended by another qrlogind
 * process is not pushed: the page finds out at its next request.
 * Not here: anything the phone does (ws_phone.h).
 */
#ifndef QRLOGIN_WS_BROWSER_H
#define QRLOGIN_WS_BROWSER_H

#include "glue/conn.h"
#include "glue/server.h"

/* Registers the browser protocol, its frame tick and its challenge-event
 * listener with srv, and takes the store's notes (store.h: a code held
 * for a permission grant, a login completed), which the phone's side sends
 * through the store so that they reach the page on whichever node shows it. */
qrl_err qrl_browser_attach(qrl_server *srv);

/* Tells the browser connection browser_conn that challenge id completed,
 * with the one-time code - or, if err is not QRL_OK, that it failed - if
 * that browser still shows that challenge. Returns 1 if told. (The phone's
 * side reaches it through the store's note, qrl_store_tell.) */
int qrl_browser_push_completed(qrl_conns *conns, uint64_t browser_conn, const char *id,
                               const char *code, qrl_err err);

/* Tells every portal page watching web session id (its row) that the
 * session has ended (reason: a static string, e.g. "revoked"). Loop thread;
 * O(browser sockets), for a rare event. Returns how many were told. */
int qrl_browser_push_session_ended(qrl_conns *conns, int64_t id, const char *reason);

#endif /* QRLOGIN_WS_BROWSER_H */
