/*
 * ws_common.c - incoming websocket messages (ws_common.h).
 */
#include "handlers/ws_common.h"

#include "glue/audit.h"
#include "helpers/keepalive.h"
#include "helpers/clock.h"
#include "glue/reply.h"
#include "glue/rules.h"
#include "glue/throttle.h"

/* Spends a token of c's message budget: 1, 0 (refused), or -1 when the
 * socket must close. */
static int spend(qrl_services *sv, qrl_conn *c) {
  return qrl_throttle_socket(sv->thr, c, QRL_RL_SOCKET_MSGS, QRL_RL_SOCKET_WINDOW,
                             QRL_RL_SOCKET_STRIKES);
}

/* Closes for flooding (1008): returns what the callback returns. */
static int flood_close(struct lws *wsi) {
  lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"flood", 5);
  return -1;
}

void qrl_ws_established(qrl_services *sv, qrl_conn *c, struct lws *wsi,
                        qrl_conn_kind kind) {
  qrl_conn_register(sv->conns, c, wsi, kind);
  qrl_keepalive_start(sv->alive, &c->alive, qrl_clock_mono_ms(sv->clock));
}

void qrl_ws_closed(qrl_services *sv, qrl_conn *c) {
  qrl_keepalive_stop(sv->alive, &c->alive);
  qrl_conn_release(sv->conns, c);
}

int qrl_ws_receive(qrl_services *sv, qrl_conn *c, struct lws *wsi, const void *in,
                   size_t len, const char *event, qrl_ws_handler handle) {
  int ok;
  qrl_keepalive_heard(&c->alive, qrl_clock_mono_ms(sv->clock));
  switch (qrl_conn_rx(c, wsi, in, len)) {
  case -1:
    qrl_audit_refusal(sv->audit, c, event, QRL_FRAME_TOO_BIG, NULL);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big", 7);
    return -1;
  case 1:
    break;
  default: /* more fragments follow; an empty one is work for nothing */
    return len ? 0 : qrl_ws_control(sv, c, wsi);
  }
  ok = spend(sv, c);
  if (ok > 0) handle(sv, c, wsi);
  else if (ok == 0) qrl_send_error(c, QRL_RATE_LIMITED, NULL);
  qrl_conn_rx_reset(c);
  return ok < 0 ? flood_close(wsi) : 0;
}

int qrl_ws_control(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  qrl_keepalive_heard(&c->alive, qrl_clock_mono_ms(sv->clock));
  return spend(sv, c) < 0 ? flood_close(wsi) : 0;
}

int qrl_ws_writeable(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  /* Not ours: lws has just answered a ping of the client's with a pong.
   * Closing from here, lws 4.1.6 sends no close frame: the socket's timer
   * closes it (qrl_ws_timer), the reason set only then - lws keeps it in
   * the buffer a next ping's payload would overwrite. */
  if (!qrl_conn_write_was_due(c)) {
    /* The client pinged: it is alive, and it pays for the pong. */
    qrl_keepalive_heard(&c->alive, qrl_clock_mono_ms(sv->clock));
    if (!c->flooded && spend(sv, c) < 0) {
      c->flooded = 1;
      lws_set_timer_usecs(wsi, 1);
      return 0;
    }
  }
  return qrl_conn_write_one(c);
}

int qrl_ws_timer(qrl_conn *c, struct lws *wsi) { return c->flooded ? flood_close(wsi) : 0; }
