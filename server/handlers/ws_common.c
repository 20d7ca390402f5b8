/*
 * ws_common.c - incoming websocket messages (ws_common.h).
 */
#include "handlers/ws_common.h"

#include "glue/audit.h"
#include "glue/rules.h"
#include "glue/throttle.h"

int qrl_ws_receive(qrl_services *sv, qrl_conn *c, struct lws *wsi, const void *in,
                   size_t len, const char *event, qrl_ws_handler handle) {
  int ok;
  switch (qrl_conn_rx(c, wsi, in, len)) {
  case -1:
    qrl_audit_refusal(sv->audit, c, event, QRL_FRAME_TOO_BIG, NULL);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big", 7);
    return -1;
  case 1:
    break;
  default:
    return 0; /* more fragments follow */
  }
  ok = qrl_throttle_socket(sv->thr, c, QRL_RL_SOCKET_MSGS, QRL_RL_SOCKET_WINDOW,
                           QRL_RL_SOCKET_STRIKES);
  if (ok > 0) handle(sv, c, wsi);
  qrl_conn_rx_reset(c);
  if (ok < 0) {
    lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"flood", 5);
    return -1;
  }
  return 0;
}
