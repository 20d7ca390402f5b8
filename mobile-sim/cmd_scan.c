/*
 * cmd_scan.c - the vneid-sim "scan" command: the whole citizen flow of a QR
 * web login.
 *
 *   read the QR (text or PNG) -> scan -> [web login off: grant it with the
 *   passcode, scan again] -> show who is asking -> confirm or decline ->
 *   pick the number the login page shows (one of three offered) ->
 *   [step-up: the passcode] -> sign and send the decision -> after a
 *   confirm, wait for the server's logout push and forget the session.
 *
 * All arguments, and the QR payload itself, are checked before the state
 * directory or the network is touched.
 *
 * Not here: the other commands (cmd_app.c, cmd_view.c), the signed byte
 * string (qrl_sign_string, helpers), prompts (sim_io.c).
 */
#include "cmd_scan.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "helpers/b64.h"
#include "cmd_common.h"
#include "helpers/crypto.h"
#include "helpers/num.h"
#include "helpers/qr_scan.h"
#include "qrlogin/protocol.h"
#include "sim_home.h"
#include "sim_io.h"
#include "sim_net.h"

/* The web-login permission is off: offer "Cập nhật" (turn it on, confirm,
 * passcode), or use --grant/--passcode. Returns 0 once granted, or the exit
 * code. */
static int scan_grant(sim_ctx *ctx, qrl_wsc *ws, sim_session *s, sim_args *a) {
  char passcode[16];
  int ex = 0;

  memset(passcode, 0, sizeof(passcode));
  sim_say(ctx, "%s\n", ctx->err_msg);
  if (!a->grant) {
    sim_say(ctx, "[Cập nhật]\n");
    if (!sim_ask_yes(ctx, ws, "Cập nhật quyền ngay?") ||
        !sim_ask_yes(ctx, ws, "Bật \"Đăng nhập trên website\"?") ||
        !sim_ask_yes(ctx, ws, "Xác nhận cập nhật quyền?")) {
      ex = sim_fail(ctx, QRL_NOT_PERMITTED, QRL_EXIT_NOT_PERMITTED);
      goto out;
    }
  }
  if ((ex = cmd_passcode(ctx, ws, a->passcode, passcode, sizeof(passcode),
                         QRL_NOT_PERMITTED, QRL_EXIT_NOT_PERMITTED)))
    goto out;
  sim_clear_error(ctx);
  if ((ex = cmd_set_web_login(ctx, ws, s, 1, passcode))) goto out;
  if (ctx->json) cJSON_AddBoolToObject(ctx->out, "permission_granted", 1);
out:
  memset(passcode, 0, sizeof(passcode));
  return ex;
}

/* Whether n is one of the numbers scan_ok offered. */
static int number_offered(const cJSON *reply, long n) {
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(reply, "numbers")) {
    if (cJSON_IsNumber(x) && x->valueint == n) return 1;
  }
  return 0;
}

/* Prints who is asking, from scan_ok, and adds it to the JSON answer. */
static void scan_show(sim_ctx *ctx, const cJSON *reply, const char *pname,
                      const char *porigin) {
  const cJSON *br = cJSON_GetObjectItemCaseSensitive(reply, "browser");
  /* "Thời gian": when the login request reached the server (this scan),
   * not when the page first showed its QR (created_at); an older server
   * sends only the latter. */
  const cJSON *cat = cJSON_GetObjectItemCaseSensitive(reply, "requested_at");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(reply, "expires_in");
  const char *ua = sim_json_str(br, "user_agent"), *ip = sim_json_str(br, "ip");
  const char *summary = sim_json_str(br, "summary"), *prox = sim_json_str(reply, "proximity");
  char when[64] = "-";

  if (!cJSON_IsNumber(cat)) cat = cJSON_GetObjectItemCaseSensitive(reply, "created_at");

  if (cJSON_IsNumber(cat)) {
    time_t t = (time_t)cat->valuedouble;
    struct tm tm;
    if (localtime_r(&t, &tm))
      strftime(when, sizeof(when), "%H:%M:%S %d/%m/%Y", &tm);
  }
  {
    /* A relying portal's login (OpenID Connect): it is the one asking.
     * Its name comes from the server's admin: printed without control
     * characters whatever arrives. */
    const char *rp = sim_json_str(cJSON_GetObjectItemCaseSensitive(reply, "relying_portal"), "name");
    if (rp) {
      char clean[256];
      size_t i;
      for (i = 0; rp[i] && i + 1 < sizeof(clean); i++)
        clean[i] = (unsigned char)rp[i] < 0x20 || rp[i] == 0x7f ? '?' : rp[i];
      clean[i] = '\0';
      sim_say(ctx, "%s yêu cầu đăng nhập\n", clean);
    }
  }
  sim_say(ctx, "Yêu cầu đăng nhập:\n");
  sim_say(ctx, "  Cổng:        %s (%s)\n", pname, porigin);
  if (sim_json_str(cJSON_GetObjectItemCaseSensitive(reply, "kiosk"), "name"))
    sim_say(ctx, "  Tại máy:     %s\n",
            sim_json_str(cJSON_GetObjectItemCaseSensitive(reply, "kiosk"), "name"));
  sim_say(ctx, "  Trình duyệt: %s\n", summary ? summary : ua ? ua : "-");
  sim_say(ctx, "  Địa chỉ IP:  %s%s\n", ip ? ip : "-",
          prox && !strcmp(prox, "different_network")
              ? "  (KHÔNG cùng mạng với điện thoại này: nếu không phải bạn, hãy từ chối)"
              : "");
  sim_say(ctx, "  Thời gian:   %s\n", when);
  if (cJSON_IsNumber(exp))
    sim_say(ctx, "  Hết hạn sau: %d giây\n", exp->valueint);
  if (ctx->json) {
    const char *keys[] = {"challenge", "portal", "browser", "created_at", "requested_at",
                          "expires_in", "kiosk", "proximity", "relying_portal"};
    size_t i;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, keys[i]);
      cJSON *d = v ? cJSON_Duplicate(v, 1) : NULL;
      if (d) cJSON_AddItemToObject(ctx->out, keys[i], d);
    }
  }
}

/* Signs and sends the decision for the scanned challenge. Returns 0 or the
 * exit code; *reply is the answer on success. */
static int scan_decide(sim_ctx *ctx, qrl_wsc *ws, const sim_session *s,
                       const qrl_qr_payload *qr, const char *origin,
                       qrl_decision d, int number, const char *passcode, cJSON **reply) {
  char msg[2048], sig_b64[QRL_B64_ENCLEN(QRL_SIG_MAX) + 1];
  uint8_t sig[QRL_SIG_MAX];
  size_t msglen = 0, siglen = 0;
  sim_key key;
  cJSON *req = NULL;
  int64_t ts = (int64_t)time(NULL);
  int ex = 0;
  qrl_err rc;

  memset(&key, 0, sizeof(key));
  if ((rc = sim_key_load(ctx->home, &key))) {
    sim_detail(ctx, "no usable device key in %s", ctx->home);
    ex = sim_fail(ctx, rc == QRL_NOT_LOGGED_IN ? QRL_NOT_LOGGED_IN : rc, 0);
    goto out;
  }
  if ((rc = qrl_sign_string(qr, origin, s->account.id,
                            d == QRL_DECISION_CONFIRM ? number : 0, ts, d, msg,
                            sizeof(msg), &msglen)) ||
      (rc = qrl_ec_sign(key.priv, msg, msglen, sig, &siglen))) {
    ex = sim_fail(ctx, rc == QRL_INVAL ? QRL_PROTOCOL : rc, 0);
    goto out;
  }
  if (qrl_b64url_encode(sig, siglen, sig_b64, sizeof(sig_b64)) < 0) {
    ex = sim_fail(ctx, QRL_INTERNAL, 0);
    goto out;
  }
  req = cmd_req(d == QRL_DECISION_CONFIRM ? QRL_MSG_CONFIRM : QRL_MSG_DECLINE,
                s->token);
  if (!req || !cJSON_AddStringToObject(req, "challenge", qr->id) ||
      (d == QRL_DECISION_CONFIRM && !cJSON_AddNumberToObject(req, "number", number)) ||
      (passcode && !cJSON_AddStringToObject(req, "passcode", passcode)) ||
      !cJSON_AddNumberToObject(req, "ts", (double)ts) ||
      !cJSON_AddStringToObject(req, "sig", sig_b64)) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, reply))) ex = cmd_server_fail(ctx, rc);
out:
  memset(&key, 0, sizeof(key));
  cJSON_Delete(req);
  return ex;
}

/* Checks the scan arguments of a and reads the QR (the PAYLOAD argument or
 * the --image PNG) into text (len bytes) and *qr. Returns 0 or the exit
 * code. */
static int scan_read_qr(sim_ctx *ctx, const sim_args *a, char *text,
                        size_t len, qrl_qr_payload *qr) {
  int n;

  if ((a->npos == 1) == (a->image != NULL))
    return sim_usage_error(ctx, QRL_INVAL,
                           "scan needs exactly one of PAYLOAD or --image FILE");
  if (a->yes && a->no)
    return sim_usage_error(ctx, QRL_INVAL, "--yes and --no exclude each other");
  if (a->image) {
    int ex = cmd_read_qr_png(ctx, a->image, text, len);
    if (ex) return ex;
  } else {
    n = snprintf(text, len, "%s", a->pos[0]);
    if (n < 0 || (size_t)n >= len) text[0] = '\0';
  }
  if (qrl_qr_payload_parse(text, strlen(text), qr)) {
    sim_detail(ctx, "not a qrlogin QR payload (QRL2.<id>.<frame>.<code>)");
    return sim_fail(ctx, QRL_BAD_QR, 0);
  }
  return 0;
}

/* The QR scanned is no longer the one on the page (frame_stale: the page
 * has drawn newer ones; the server keeps a frame fresh across the permission
 * grant on this socket, so this is a slow scan or a new connection). Says
 * what to do - "Quét lại mã đang hiển thị" - and waits for it: an empty line
 * reads the --image file again (the citizen saved the page's QR anew), a
 * line of text is the new payload. Returns 0 with text and *qr replaced, or
 * the exit code (no answer: the refusal stands). */
static int scan_again(sim_ctx *ctx, qrl_wsc *ws, const sim_args *a, char *text,
                      size_t len, qrl_qr_payload *qr) {
  char line[512];
  int n;

  sim_say(ctx, "Mã QR đã đổi. Quét lại mã đang hiển thị trên trang đăng nhập.\n");
  if (!sim_prompt(ctx, ws,
                  a->image ? "Lưu lại ảnh mã QR rồi nhấn Enter (hoặc dán nội dung mã): "
                           : "Dán nội dung mã QR đang hiển thị: ",
                  1, line, sizeof(line)))
    return sim_fail(ctx, QRL_FRAME_STALE, 0);
  if (line[0]) {
    n = snprintf(text, len, "%s", line);
    if (n < 0 || (size_t)n >= len) text[0] = '\0';
  } else if (a->image) {
    int ex = cmd_read_qr_png(ctx, a->image, text, len);
    if (ex) return ex;
  } else {
    return sim_fail(ctx, QRL_FRAME_STALE, 0);
  }
  if (qrl_qr_payload_parse(text, strlen(text), qr)) {
    sim_detail(ctx, "not a qrlogin QR payload (QRL2.<id>.<frame>.<code>)");
    return sim_fail(ctx, QRL_BAD_QR, 0);
  }
  sim_clear_error(ctx);
  return 0;
}

/* Prints the three numbers scan_ok offered and adds them to the JSON answer. */
static void scan_show_numbers(sim_ctx *ctx, const cJSON *reply) {
  const cJSON *nums = cJSON_GetObjectItemCaseSensitive(reply, "numbers"), *x;
  char line[64] = "";
  size_t len = 0;
  cJSON_ArrayForEach(x, nums) {
    if (cJSON_IsNumber(x) && len + 8 < sizeof(line))
      len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%d", len ? "   " : "",
                              x->valueint);
  }
  sim_say(ctx, "  Số trên trang đăng nhập là một trong: %s\n", line[0] ? line : "-");
  if (ctx->json && nums)
    cJSON_AddItemToObject(ctx->out, "numbers", cJSON_Duplicate(nums, 1));
}

/* Number matching, for a confirm: the citizen picks the number the login
 * page shows - one of the three reply offered, as in the app (--number, or up
 * to three tries at typing it). Sets a->number. Returns 0 or the exit code. */
static int scan_pick_number(sim_ctx *ctx, qrl_wsc *ws, const cJSON *reply,
                            sim_args *a) {
  if (!a->number) {
    char ans[16];
    long pick = 0;
    for (int tries = 0; tries < 3 && !a->number; tries++) {
      if (!sim_prompt(ctx, ws, "Chọn số đang hiển thị trên trang đăng nhập: ", 1, ans,
                      sizeof(ans)))
        break; /* no answer */
      if (!qrl_parse_long(ans, 10, 99, &pick) && number_offered(reply, pick))
        a->number = (int)pick;
      else
        sim_say(ctx, "Hãy chọn một trong ba số ở trên.\n");
    }
    if (!a->number) {
      sim_detail(ctx, "none of the offered numbers was chosen (--number N, or type it)");
      return sim_fail(ctx, QRL_INVAL, QRL_EXIT_USAGE);
    }
  } else if (!number_offered(reply, a->number)) {
    sim_detail(ctx, "--number %d is not one of the three numbers offered", a->number);
    return sim_fail(ctx, QRL_INVAL, QRL_EXIT_USAGE);
  }
  return 0;
}

int cmd_scan(sim_ctx *ctx, sim_args *a) {
  char text[512];
  qrl_qr_payload qr;
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL, *push = NULL;
  char pname[256], porigin[256], stepup[16] = "";
  const char *v;
  qrl_decision d;
  int ex = 0, granted = 0, rescans = 0, n;
  qrl_err rc;

  /* Arguments first, all of them, before any state or network. */
  if ((ex = scan_read_qr(ctx, a, text, sizeof(text), &qr))) return ex;

  if ((ex = cmd_need_session(ctx, &s))) goto out;
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  /* Scan; if the permission is off, grant it and scan once more (the
   * server holds the frame fresh while the citizen grants); if the QR has
   * changed meanwhile, the citizen scans the one on the page (twice at most). */
  for (;;) {
    cJSON_Delete(req);
    cJSON_Delete(reply);
    reply = NULL;
    req = cmd_req(QRL_MSG_SCAN, s.token);
    if (!req || !cJSON_AddStringToObject(req, "qr", text)) {
      ex = sim_fail(ctx, QRL_NOMEM, 0);
      goto out;
    }
    rc = sim_request(ctx, ws, req, &reply);
    if (rc == QRL_OK) break;
    if (rc == QRL_NOT_PERMITTED && !granted) {
      if ((ex = scan_grant(ctx, ws, &s, a))) goto out;
      granted = 1;
      continue;
    }
    if (rc == QRL_FRAME_STALE && rescans++ < 2) {
      if ((ex = scan_again(ctx, ws, a, text, sizeof(text), &qr))) goto out;
      continue;
    }
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  cmd_update_account(ctx, &s, reply);
  /* Copied: the reply is freed before the decision is signed. */
  v = sim_json_str(cJSON_GetObjectItemCaseSensitive(reply, "portal"), "name");
  n = snprintf(pname, sizeof(pname), "%s", v ? v : "-");
  if (n < 0) pname[0] = '\0';
  v = sim_json_str(cJSON_GetObjectItemCaseSensitive(reply, "portal"), "origin");
  n = v ? snprintf(porigin, sizeof(porigin), "%s", v) : -1;
  if (n <= 0 || (size_t)n >= sizeof(porigin)) {
    sim_detail(ctx, "scan_ok without a usable portal origin");
    ex = sim_fail(ctx, QRL_PROTOCOL, 0);
    goto out;
  }
  scan_show(ctx, reply, pname, porigin);
  scan_show_numbers(ctx, reply);

  if (a->yes)
    d = QRL_DECISION_CONFIRM;
  else if (a->no)
    d = QRL_DECISION_DECLINE;
  else
    d = sim_ask_yes(ctx, ws, "Xác nhận đăng nhập?") ? QRL_DECISION_CONFIRM
                                                    : QRL_DECISION_DECLINE;
  if (d == QRL_DECISION_CONFIRM &&
      (ex = scan_pick_number(ctx, ws, reply, a)))
    goto out;
  /* Step-up: the phone is not on the browser's network and the policy
   * asks for the passcode with the confirm. */
  if (d == QRL_DECISION_CONFIRM &&
      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "step_up"))) {
    sim_say(ctx, "Điện thoại không ở cùng mạng với máy tính: cần nhập mã bảo vệ.\n");
    if ((ex = cmd_passcode(ctx, ws, a->passcode, stepup, sizeof(stepup),
                           QRL_WRONG_PASSCODE, QRL_EXIT_WRONG_PASSCODE)))
      goto out;
  }
  cJSON_Delete(reply);
  reply = NULL;
  if ((ex = scan_decide(ctx, ws, &s, &qr, porigin, d, a->number,
                        stepup[0] ? stepup : NULL, &reply)))
    goto out;

  if (d == QRL_DECISION_DECLINE) {
    if (ctx->json) cJSON_AddStringToObject(ctx->out, "result", "declined");
    sim_say(ctx, "Đã từ chối yêu cầu đăng nhập.\n");
    ex = sim_fail(ctx, QRL_DECLINED_BY_USER, QRL_EXIT_DECLINED);
    goto out;
  }
  sim_say(ctx, "Đăng nhập thành công vào %s.\n", pname);
  /* The server revokes the app session after confirm_ok and says so with a
   * "logout" push; forget the session either way. */
  rc = sim_wait_push(ctx, ws, QRL_MSG_LOGOUT, ctx->timeout_ms, &push);
  sim_session_forget(ctx->home);
  if (ctx->got_logout)
    sim_say(ctx, "%s\n", ctx->logout_msg);
  else
    sim_say(ctx, "(Chưa nhận được thông báo đăng xuất từ máy chủ.)\n");
  if (ctx->json) {
    cJSON_AddStringToObject(ctx->out, "result", "confirmed");
    cJSON_AddBoolToObject(ctx->out, "logged_out", ctx->got_logout);
    if (ctx->got_logout)
      cJSON_AddStringToObject(ctx->out, "logout_message", ctx->logout_msg);
  }
  (void)rc;
out:
  memset(stepup, 0, sizeof(stepup));
  cJSON_Delete(req);
  cJSON_Delete(reply);
  cJSON_Delete(push);
  qrl_wsc_free(ws);
  return ex;
}
