/*
 * keepalive.c - pings and hang-ups of silent websockets (keepalive.h).
 */
#include "glue/keepalive.h"

#include <stddef.h>

#define KEEPALIVE_SLOTS 512 /* 128 s a turn: the 2 x 300 s maximum waits turns */

qrl_err qrl_keepalive_init(qrl_keepalive *ka, int ping_secs, int64_t now_ms) {
  if (ping_secs < 1) return QRL_INVAL;
  ka->ping_ms = (int64_t)ping_secs * 1000;
  ka->pings = ka->hangups = 0;
  return qrl_wheel_init(&ka->wheel, QRL_KEEPALIVE_SLOT_MS, KEEPALIVE_SLOTS, now_ms);
}

void qrl_keepalive_free(qrl_keepalive *ka) { qrl_wheel_free(&ka->wheel); }

void qrl_keepalive_start(qrl_keepalive *ka, qrl_conn *c, int64_t now_ms) {
  c->heard_ms = now_ms;
  c->pinged = 0;
  qrl_wheel_schedule(&ka->wheel, &c->alive_at, now_ms + ka->ping_ms);
}

void qrl_keepalive_stop(qrl_keepalive *ka, qrl_conn *c) {
  qrl_wheel_cancel(&ka->wheel, &c->alive_at);
}

typedef struct advance_ctx {
  qrl_keepalive *ka;
  int64_t now_ms;
} advance_ctx;

/* A socket's node came due: it was either heard from since (move the node
 * to its new deadline), or it has been silent for ping_ms (ping it, and look
 * again when the hang-up would be due) or for twice that (hang up). */
static void due(qrl_wheel_node *n, void *arg) {
  advance_ctx *x = arg;
  qrl_keepalive *ka = x->ka;
  qrl_conn *c = (qrl_conn *)((char *)n - offsetof(qrl_conn, alive_at));
  int64_t silent = x->now_ms - c->heard_ms;

  if (silent >= 2 * ka->ping_ms) {
    ka->hangups++;
    /* No close frame: a peer this silent reads none. CLOSED stops the node. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
    return;
  }
  if (silent < ka->ping_ms) { /* heard from meanwhile: a ping is not due yet */
    qrl_wheel_schedule(&ka->wheel, n, c->heard_ms + ka->ping_ms);
    return;
  }
  if (!c->pinged) {
    c->pinged = 1;
    ka->pings++;
    qrl_conn_ping(c);
  }
  qrl_wheel_schedule(&ka->wheel, n, c->heard_ms + 2 * ka->ping_ms);
}

size_t qrl_keepalive_advance(qrl_keepalive *ka, int64_t now_ms) {
  advance_ctx x = {ka, now_ms};
  return qrl_wheel_advance(&ka->wheel, now_ms, due, &x);
}
