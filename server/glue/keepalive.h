/*
 * keepalive.h - websocket liveness on one timing wheel: a socket silent for
 * ping_ms is pinged, one silent for twice that is hung up.
 *
 * lws 4.1.6 does this itself (retry_and_idle_policy) with a timer per socket
 * kept in one sorted list per thread: every new socket and every pong walks
 * that list, so at 18,000 sockets a connect costs ~330 us and the 30 s ping
 * round stalls the loop for seconds. Here a socket only notes the time it was
 * last heard from (qrl_keepalive_heard, a store), and its wheel node is moved
 * lazily when it comes due: O(1) per frame and per tick whatever the count.
 *
 * The nodes are embedded in the connections (qrl_conn.alive_at); the runtime
 * owns one qrl_keepalive and advances it a few times a second. Not
 * thread-safe: the loop's thread. Depends on conn.h, wheel.h, lws.
 */
#ifndef QRLOGIN_KEEPALIVE_H
#define QRLOGIN_KEEPALIVE_H

#include <stdint.h>

#include "glue/conn.h"
#include "helpers/wheel.h"
#include "qrlogin/error.h"

/* The wheel's resolution: a ping or hang-up is up to this late. */
#define QRL_KEEPALIVE_SLOT_MS 250

typedef struct qrl_keepalive {
  qrl_wheel wheel;
  int64_t ping_ms;   /* silence before a ping */
  uint64_t pings;    /* pings queued */
  uint64_t hangups;  /* sockets closed for silence */
} qrl_keepalive;

/* Pings after ping_secs of silence, hangs up after 2 * ping_secs; the clock
 * starts at now_ms (monotonic). QRL_OK, QRL_INVAL or QRL_NOMEM. */
qrl_err qrl_keepalive_init(qrl_keepalive *ka, int ping_secs, int64_t now_ms);
/* Frees the wheel (the nodes are the connections'). */
void qrl_keepalive_free(qrl_keepalive *ka);

/* Starts watching c, an established websocket, heard from at now_ms. */
void qrl_keepalive_start(qrl_keepalive *ka, qrl_conn *c, int64_t now_ms);
/* Stops watching c (its socket closed). Nothing if it was not watched. */
void qrl_keepalive_stop(qrl_keepalive *ka, qrl_conn *c);
/* c sent a frame (message, fragment, ping or pong) at now_ms. */
static inline void qrl_keepalive_heard(qrl_conn *c, int64_t now_ms) {
  c->heard_ms = now_ms;
  c->pinged = 0;
}

/* Handles every socket that came due by now_ms: pings it (qrl_conn_ping) or
 * hangs it up, or moves its node to when it will be due. Returns how many
 * were looked at. */
size_t qrl_keepalive_advance(qrl_keepalive *ka, int64_t now_ms);

#endif /* QRLOGIN_KEEPALIVE_H */
