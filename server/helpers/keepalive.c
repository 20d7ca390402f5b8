/*
 * keepalive.c - pings and hang-ups of silent sockets (keepalive.h).
 */
#include "helpers/keepalive.h"

#define KEEPALIVE_SLOTS 512 /* 128 s a turn: longer waits take turns */

qrl_err qrl_keepalive_init(qrl_keepalive *ka, int ping_secs, int64_t now_ms) {
  if (ping_secs < 1) return QRL_INVAL;
  ka->ping_ms = (int64_t)ping_secs * 1000;
  ka->pings = ka->hangups = 0;
  return qrl_wheel_init(&ka->wheel, QRL_KEEPALIVE_SLOT_MS, KEEPALIVE_SLOTS, now_ms);
}

void qrl_keepalive_free(qrl_keepalive *ka) { qrl_wheel_free(&ka->wheel); }

void qrl_keepalive_start(qrl_keepalive *ka, qrl_keepalive_node *n, int64_t now_ms) {
  qrl_keepalive_heard(n, now_ms);
  qrl_wheel_schedule(&ka->wheel, &n->at, now_ms + ka->ping_ms);
}

void qrl_keepalive_stop(qrl_keepalive *ka, qrl_keepalive_node *n) {
  qrl_wheel_cancel(&ka->wheel, &n->at);
}

typedef struct advance_ctx {
  qrl_keepalive *ka;
  int64_t now_ms;
  const qrl_keepalive_ops *ops;
} advance_ctx;

/* A node came due: its peer was either heard from since (move the node to
 * its new deadline), or it has been silent for ping_ms (ping it once, and
 * look again when the hang-up would be due) or for twice that (hang up). */
static void due(qrl_wheel_node *w, void *arg) {
  advance_ctx *x = arg;
  qrl_keepalive *ka = x->ka;
  qrl_keepalive_node *n = (qrl_keepalive_node *)w; /* at is first */
  int64_t silent = x->now_ms - n->heard_ms;

  if (silent >= 2 * ka->ping_ms) {
    ka->hangups++;
    x->ops->hangup(n, x->ops->arg);
    return;
  }
  if (silent < ka->ping_ms) { /* heard from meanwhile: no ping due yet */
    qrl_wheel_schedule(&ka->wheel, w, n->heard_ms + ka->ping_ms);
    return;
  }
  if (!n->pinged) {
    n->pinged = 1;
    ka->pings++;
    x->ops->ping(n, x->ops->arg);
  }
  qrl_wheel_schedule(&ka->wheel, w, n->heard_ms + 2 * ka->ping_ms);
}

size_t qrl_keepalive_advance(qrl_keepalive *ka, int64_t now_ms, const qrl_keepalive_ops *ops) {
  advance_ctx x = {ka, now_ms, ops};
  return qrl_wheel_advance(&ka->wheel, now_ms, due, &x);
}
