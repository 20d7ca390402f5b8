/*
 * sim_net.c - vneid-sim's request/answer exchange over the phone websocket
 * (see sim_net.h).
 *
 * Matches answers to requests by type ("<type>_ok", or "error" whose "req" is
 * the request's type or absent), remembers a "logout" push that arrives while
 * waiting, and skips anything else. Deadlines use CLOCK_MONOTONIC.
 *
 * It does not retry, reconnect, or interpret answers beyond their type.
 */
#include "sim_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qrlogin/protocol.h"
#include "sim_io.h"

static int64_t net_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sim_json_str(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void net_detail(sim_ctx *ctx, const char *what, qrl_wsc *ws) {
  int code = ws ? qrl_wsc_close_code(ws) : 0;
  int n;
  if (code > 0)
    n = snprintf(ctx->err_detail, sizeof(ctx->err_detail),
                 "%s (server %s, close code %d)", what, ctx->server, code);
  else
    n = snprintf(ctx->err_detail, sizeof(ctx->err_detail), "%s (server %s)",
                 what, ctx->server);
  if (n < 0) ctx->err_detail[0] = '\0';
}

static void net_note_logout(sim_ctx *ctx, const cJSON *m) {
  const char *msg = sim_json_str(m, "message");
  int n;
  ctx->got_logout = 1;
  n = snprintf(ctx->logout_msg, sizeof(ctx->logout_msg), "%s",
               msg ? msg : "Đã tự động đăng xuất khỏi ứng dụng VNeID");
  if (n < 0) ctx->logout_msg[0] = '\0';
}

qrl_err sim_connect(sim_ctx *ctx, qrl_wsc **out) {
  int status = 0;
  char what[128];
  qrl_err rc;

  rc = qrl_wsc_connect_ca(ctx->server, QRL_SUBPROTO_PHONE, NULL, ctx->ca_file,
                          ctx->timeout_ms, out, &status);
  if (rc == QRL_OK) goto out;
  if (rc == QRL_INVAL) {
    net_detail(ctx, "bad server URL", NULL);
    goto out;
  }
  if (status > 0)
    snprintf(what, sizeof(what), "websocket upgrade refused: HTTP %d", status);
  else
    snprintf(what, sizeof(what), "cannot connect");
  net_detail(ctx, what, NULL);
  rc = QRL_NETWORK;
out:
  return rc;
}

/* Receives the next message before deadline as parsed JSON (*m, caller
 * frees). Returns QRL_OK, QRL_UNAVAILABLE (timeout) or QRL_NETWORK. Frames
 * that are not JSON objects are skipped. */
static qrl_err net_next(qrl_wsc *ws, int64_t deadline, cJSON **m) {
  char *txt = NULL;
  qrl_err rc;
  *m = NULL;
  for (;;) {
    int64_t left = deadline - net_now_ms();
    rc = qrl_wsc_recv(ws, left > 0 ? (int)left : 0, &txt, NULL);
    if (rc) break;
    *m = cJSON_Parse(txt);
    free(txt);
    txt = NULL;
    if (cJSON_IsObject(*m) && sim_json_str(*m, "type")) break;
    cJSON_Delete(*m);
    *m = NULL;
  }
  return rc;
}

qrl_err sim_request(sim_ctx *ctx, qrl_wsc *ws, const cJSON *req,
                    cJSON **reply) {
  const char *type = sim_json_str(req, "type");
  char ok_type[64];
  char *txt = NULL;
  cJSON *m = NULL;
  int64_t deadline;
  qrl_err rc = QRL_OK;

  *reply = NULL;
  if (!type || snprintf(ok_type, sizeof(ok_type), "%s_ok", type) >=
                   (int)sizeof(ok_type)) {
    rc = QRL_INVAL;
    goto out;
  }
  txt = cJSON_PrintUnformatted(req);
  if (!txt) {
    rc = QRL_NOMEM;
    goto out;
  }
  if ((rc = qrl_wsc_send_text(ws, txt))) {
    net_detail(ctx, "connection closed", ws);
    rc = QRL_NETWORK;
    goto out;
  }
  deadline = net_now_ms() + ctx->timeout_ms;
  for (;;) {
    const char *t, *r;
    rc = net_next(ws, deadline, &m);
    if (rc == QRL_UNAVAILABLE) {
      char what[96];
      snprintf(what, sizeof(what), "no answer to %s within %d ms", type,
               ctx->timeout_ms);
      net_detail(ctx, what, ws);
      rc = QRL_NETWORK;
      goto out;
    }
    if (rc) {
      net_detail(ctx, "connection closed", ws);
      goto out;
    }
    t = sim_json_str(m, "type");
    if (!strcmp(t, ok_type)) {
      *reply = m;
      m = NULL;
      goto out;
    }
    if (!strcmp(t, QRL_MSG_ERROR)) {
      r = sim_json_str(m, "req");
      if (!r || !strcmp(r, type)) {
        const char *code = sim_json_str(m, "code");
        const char *msg = sim_json_str(m, "message");
        rc = code ? qrl_err_from_code(code) : QRL_PROTOCOL;
        if (rc == QRL_OK) rc = QRL_PROTOCOL; /* "error" with code "ok" */
        sim_set_server_error(ctx, code ? code : "protocol_error",
                             msg ? msg : qrl_err_message_vi(rc));
        sim_note_passcode_refusal(ctx, rc, m);
        *reply = m;
        m = NULL;
        goto out;
      }
    } else if (!strcmp(t, QRL_MSG_LOGOUT)) {
      net_note_logout(ctx, m);
    }
    cJSON_Delete(m);
    m = NULL;
  }
out:
  cJSON_Delete(m);
  cJSON_free(txt);
  return rc;
}

qrl_err sim_wait_push(sim_ctx *ctx, qrl_wsc *ws, const char *type,
                      int timeout_ms, cJSON **msg) {
  int64_t deadline = net_now_ms() + timeout_ms;
  cJSON *m = NULL;
  qrl_err rc = QRL_OK;

  *msg = NULL;
  if (!strcmp(type, QRL_MSG_LOGOUT) && ctx->got_logout) goto out;
  for (;;) {
    rc = net_next(ws, deadline, &m);
    if (rc) goto out;
    if (!strcmp(sim_json_str(m, "type"), type)) {
      if (!strcmp(type, QRL_MSG_LOGOUT)) net_note_logout(ctx, m);
      *msg = m;
      m = NULL;
      goto out;
    }
    cJSON_Delete(m);
    m = NULL;
  }
out:
  cJSON_Delete(m);
  return rc;
}
