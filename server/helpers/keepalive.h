/*
 * keepalive.h - liveness of many long-lived sockets on one timing wheel: a
 * socket silent for ping_ms is to be pinged, one silent for twice that is
 * to be hung up.
 *
 * lws 4.1.6 does this itself (retry_and_idle_policy) with a timer per socket
 * kept in one sorted list per thread: every new socket and every pong walks
 * that list, so at 18,000 sockets a connect costs ~330 us and the 30 s ping
 * round stalls the loop for seconds. Here a socket only notes the time it was
 * last heard from (qrl_keepalive_heard, two stores), and its wheel node is
 * moved lazily when it comes due: O(1) per frame and per socket a tick,
 * whatever the count.
 *
 * A qrl_keepalive_node is embedded in its owner (container_of); what a ping
 * or a hang-up is, the owner says with the callbacks of
 * qrl_keepalive_advance(). Not thread-safe: one owner thread. Depends on
 * wheel.h.
 */
#ifndef QRLOGIN_KEEPALIVE_H
#define QRLOGIN_KEEPALIVE_H

#include <stddef.h>
#include <stdint.h>

#include "helpers/wheel.h"
#include "qrlogin/error.h"

/* The wheel's resolution: a ping or hang-up is up to this late. */
#define QRL_KEEPALIVE_SLOT_MS 250

typedef struct qrl_keepalive_node {
  qrl_wheel_node at; /* when to look at it next */
  int64_t heard_ms;  /* monotonic ms of its last frame */
  int pinged;        /* pinged since it was last heard from */
} qrl_keepalive_node;

typedef struct qrl_keepalive {
  qrl_wheel wheel;
  int64_t ping_ms;   /* silence before a ping */
  uint64_t pings;    /* pings asked for */
  uint64_t hangups;  /* hang-ups asked for */
} qrl_keepalive;

/* Pings after ping_secs of silence, hangs up after 2 * ping_secs; the clock
 * starts at now_ms (monotonic). QRL_OK, QRL_INVAL or QRL_NOMEM. */
qrl_err qrl_keepalive_init(qrl_keepalive *ka, int ping_secs, int64_t now_ms);
/* Frees the wheel (the nodes are their owners'). */
void qrl_keepalive_free(qrl_keepalive *ka);

/* Starts watching n, heard from at now_ms. */
void qrl_keepalive_start(qrl_keepalive *ka, qrl_keepalive_node *n, int64_t now_ms);
/* Stops watching n. Nothing if it was not watched. */
void qrl_keepalive_stop(qrl_keepalive *ka, qrl_keepalive_node *n);
/* n's peer sent something at now_ms. */
static inline void qrl_keepalive_heard(qrl_keepalive_node *n, int64_t now_ms) {
  n->heard_ms = now_ms;
  n->pinged = 0;
}

/* What the owner does with a node that came due. */
typedef struct qrl_keepalive_ops {
  void (*ping)(qrl_keepalive_node *n, void *arg);   /* send it a ping */
  void (*hangup)(qrl_keepalive_node *n, void *arg); /* close it; it is no longer
                                                       watched (stop is a no-op) */
  void *arg;
} qrl_keepalive_ops;

/* Handles every node due by now_ms: a ping (once per silence), a hang-up,
 * or a move to when it will be due. Returns how many were looked at. */
size_t qrl_keepalive_advance(qrl_keepalive *ka, int64_t now_ms, const qrl_keepalive_ops *ops);

#endif /* QRLOGIN_KEEPALIVE_H */
