/*
 * cmd_view.c - the vneid-sim commands that look things up: sessions (the
 * account's recent web logins, and "Không phải tôi": revoke one), inbox (the
 * SMS of the demo mobile network) and decode (the camera alone).
 *
 * Not here: the app login and settings (cmd_app.c), scanning a login QR
 * (cmd_scan.c).
 */
#include "cmd_view.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd_common.h"
#include "helpers/num.h"
#include "helpers/qr_scan.h"
#include "qrlogin/protocol.h"
#include "sim_home.h"
#include "sim_io.h"
#include "sim_net.h"

/* ---- decode: the camera alone ------------------------------------------------ */

int cmd_decode(sim_ctx *ctx, sim_args *a) {
  char text[512];
  int ex;
  if (!a->image) return sim_usage_error(ctx, QRL_INVAL, "decode needs --image FILE.png");
  if ((ex = cmd_read_qr_png(ctx, a->image, text, sizeof(text)))) return ex;
  sim_say(ctx, "%s\n", text);
  if (ctx->json) cJSON_AddStringToObject(ctx->out, "text", text);
  return 0;
}

/* ---- sessions: recent web logins, "Không phải tôi" -------------------------- */

int cmd_sessions(sim_ctx *ctx, sim_args *a) {
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL;
  const cJSON *w;
  long id = 0;
  int ex;
  qrl_err rc;

  if (a->npos >= 1) {
    if (strcmp(a->pos[0], "revoke") || a->npos != 2)
      return sim_usage_error(ctx, QRL_INVAL, "sessions takes nothing, or: revoke ID");
    if (qrl_parse_long(a->pos[1], 1, LONG_MAX, &id))
      return sim_usage_error(ctx, QRL_INVAL, "bad session id '%s'", a->pos[1]);
  }
  if ((ex = cmd_need_session(ctx, &s))) goto out;
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  req = cmd_req(id ? QRL_MSG_REVOKE_WEB_LOGIN : QRL_MSG_WEB_LOGINS, s.token);
  if (!req || (id && !cJSON_AddNumberToObject(req, "id", (double)id))) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  if (id) {
    sim_say(ctx, "Đã kết thúc phiên đăng nhập %ld trên website.\n", id);
    if (ctx->json) cJSON_AddNumberToObject(ctx->out, "revoked", (double)id);
    goto out;
  }
  sim_say(ctx, "Các lần đăng nhập trên website (30 ngày):\n");
  cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(reply, "logins")) {
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(w, "at");
    char when[32] = "-";
    if (cJSON_IsNumber(at)) {
      time_t t = (time_t)at->valuedouble;
      struct tm tm;
      if (localtime_r(&t, &tm)) strftime(when, sizeof(when), "%H:%M %d/%m/%Y", &tm);
    }
    sim_say(ctx, "  [%d] %s  %s  %s  %s\n",
            cJSON_GetObjectItemCaseSensitive(w, "id")->valueint, when,
            sim_json_str(w, "ip") ? sim_json_str(w, "ip") : "-",
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "active")) ? "đang hoạt động"
                                                                       : "đã kết thúc",
            sim_json_str(w, "user_agent") ? sim_json_str(w, "user_agent") : "");
  }
  sim_say(ctx, "Không phải bạn? vneid-sim sessions revoke ID\n");
  if (ctx->json)
    cJSON_AddItemToObject(ctx->out, "logins",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reply, "logins"), 1));
out:
  cJSON_Delete(req);
  cJSON_Delete(reply);
  qrl_wsc_free(ws);
  return ex;
}

/* ---- inbox (the demo mobile network) ---------------------------------------- */

/* The last run of 6 digits in text: the OTP, for scripts. "" if none. */
static void otp_in(const char *text, char out[7]) {
  out[0] = '\0';
  for (const char *p = text; *p; p++) {
    size_t n = strspn(p, "0123456789");
    if (n == 6) {
      memcpy(out, p, 6);
      out[6] = '\0';
    }
    if (n) p += n - 1;
  }
}

static void say_sms(sim_ctx *ctx, const cJSON *m, cJSON *arr, char otp[7]) {
  const char *text = sim_json_str(m, "text");
  const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "at");
  char when[32] = "";
  if (!text) return;
  if (cJSON_IsNumber(at)) {
    time_t t = (time_t)at->valuedouble;
    struct tm tm;
    if (localtime_r(&t, &tm)) strftime(when, sizeof(when), "%H:%M:%S %d/%m/%Y", &tm);
  }
  sim_say(ctx, "[%s] %s\n", when, text);
  otp_in(text, otp);
  if (arr) {
    cJSON *d = cJSON_Duplicate(m, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(d, "type"); /* pushes carry one */
    if (d) cJSON_AddItemToArray(arr, d);
  }
}

int cmd_inbox(sim_ctx *ctx, sim_args *a) {
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL, *push = NULL, *arr = NULL;
  const cJSON *msgs, *m;
  char otp[7] = "";
  int ex = 0;
  qrl_err rc;

  if (!a->phone)
    return sim_usage_error(ctx, QRL_INVAL, "inbox needs --phone NUMBER (10 digits)");
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  if (!(req = cmd_req(QRL_MSG_SMS_INBOX, NULL)) ||
      !cJSON_AddStringToObject(req, "phone", a->phone)) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  if (ctx->json) arr = cJSON_AddArrayToObject(ctx->out, "messages");
  msgs = cJSON_GetObjectItemCaseSensitive(reply, "messages");
  if (!cJSON_GetArraySize(msgs)) sim_say(ctx, "Không có tin nhắn nào tới %s.\n", a->phone);
  cJSON_ArrayForEach(m, msgs) say_sms(ctx, m, arr, otp);
  if (a->wait_s > 0) {
    /* Subscribed: the server pushes the next message to this number. */
    rc = sim_wait_push(ctx, ws, QRL_MSG_SMS, a->wait_s * 1000, &push);
    if (rc == QRL_UNAVAILABLE) {
      /* The wait ran out: an answer ("none came"), not an error. */
      sim_say(ctx, "Không có tin nhắn mới trong %d giây.\n", a->wait_s);
    } else if (rc) { /* the connection broke while waiting */
      ex = sim_fail(ctx, rc, 0);
      goto out;
    } else {
      say_sms(ctx, push, arr, otp);
    }
  }
  if (ctx->json) {
    cJSON_AddStringToObject(ctx->out, "phone", a->phone);
    if (otp[0]) cJSON_AddStringToObject(ctx->out, "otp", otp);
  }
out:
  cJSON_Delete(req);
  cJSON_Delete(reply);
  cJSON_Delete(push);
  qrl_wsc_free(ws);
  return ex;
}
