/*
 * cmd_app.c - the vneid-sim commands on the app itself: login (app login and
 * the device key), status, settings (the web-login permission), logout.
 *
 * Each command validates all of its arguments before touching the state
 * directory or the network, then speaks the phone subprotocol of
 * docs/protocol.md through sim_net.c and keeps the app state through
 * sim_home.c.
 *
 * Not here: scanning a login QR (cmd_scan.c), the web-login list, the SMS
 * inbox and QR decoding (cmd_view.c), option parsing (sim_getopt.c).
 */
#include "cmd_app.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers/b64.h"
#include "cmd_common.h"
#include "helpers/crypto.h"
#include "qrlogin/protocol.h"
#include "sim_home.h"
#include "sim_io.h"
#include "sim_net.h"

#define SIM_PASSWORD_MAX 128
#define SIM_DEVICE_NAME_MAX 64

/* ---- login --------------------------------------------------------------- */

int cmd_login(sim_ctx *ctx, sim_args *a) {
  char password[SIM_PASSWORD_MAX + 2];
  char pub_b64[QRL_B64_ENCLEN(QRL_PUBKEY_BYTES) + 1];
  char host[64], devname[SIM_DEVICE_NAME_MAX + 1];
  sim_key key;
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL;
  const char *tok;
  int created = 0, ex = 0, n;
  qrl_err rc;

  memset(&key, 0, sizeof(key));
  if (!a->id) return sim_usage_error(ctx, QRL_INVAL, "login needs --id ID");
  if ((rc = qrl_citizen_id_check(a->id, strlen(a->id))))
    return sim_usage_error(ctx, rc,
                           rc == QRL_BAD_PROVINCE
                               ? "bad --id '%s': its first 3 digits are no province code"
                               : "bad --id '%s': 12 digits, province code 001-096",
                           a->id);
  if (a->password) {
    n = snprintf(password, sizeof(password), "%s", a->password);
    if (n < 0 || (size_t)n > SIM_PASSWORD_MAX)
      return sim_usage_error(ctx, QRL_INVAL, "--password is too long (max %d)",
                             SIM_PASSWORD_MAX);
  } else if (!ctx->stdin_tty || !sim_prompt(ctx, NULL, "Mật khẩu: ", 0,
                                            password, sizeof(password))) {
    return sim_usage_error(ctx, QRL_INVAL, "login needs --password PW");
  }
  if (!password[0])
    return sim_usage_error(ctx, QRL_INVAL, "the password must not be empty");
  if (a->device_name && strlen(a->device_name) > SIM_DEVICE_NAME_MAX)
    return sim_usage_error(ctx, QRL_INVAL, "--device-name is too long (max %d)",
                           SIM_DEVICE_NAME_MAX);

  if ((rc = sim_key_load_or_create(ctx->home, &key, &created))) {
    sim_detail(ctx, "cannot read or make the device key in %s", ctx->home);
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  if (qrl_b64url_encode(key.pub, QRL_PUBKEY_BYTES, pub_b64, sizeof(pub_b64)) <
      0) {
    ex = sim_fail(ctx, QRL_INTERNAL, 0);
    goto out;
  }
  if (a->device_name) {
    snprintf(devname, sizeof(devname), "%s", a->device_name);
  } else {
    if (gethostname(host, sizeof(host))) host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    /* "vneid-sim@" is 10 bytes; keep the host part within the rest so the
     * name is never silently cut in the middle. */
    host[SIM_DEVICE_NAME_MAX - 10] = '\0';
    snprintf(devname, sizeof(devname), "vneid-sim%s%.*s", host[0] ? "@" : "",
             (int)(SIM_DEVICE_NAME_MAX - 10), host);
  }
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  req = cmd_req(QRL_MSG_LOGIN, NULL);
  if (!req || !cJSON_AddStringToObject(req, "id", a->id) ||
      !cJSON_AddStringToObject(req, "password", password) ||
      !cJSON_AddStringToObject(req, "device_key", pub_b64) ||
      !cJSON_AddStringToObject(req, "device_name", devname)) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  memset(&s, 0, sizeof(s));
  tok = sim_json_str(reply, "session");
  if (!tok || strlen(tok) != QRL_SESSION_B64LEN ||
      sim_account_from_json(cJSON_GetObjectItemCaseSensitive(reply, "account"),
                            &s.account)) {
    sim_detail(ctx, "malformed login_ok");
    ex = sim_fail(ctx, QRL_PROTOCOL, 0);
    goto out;
  }
  memcpy(s.token, tok, QRL_SESSION_B64LEN + 1);
  if ((rc = sim_session_save(ctx->home, &s))) {
    sim_detail(ctx, "cannot save the session in %s", ctx->home);
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  sim_say(ctx, "Đăng nhập ứng dụng VNeID thành công.\n");
  cmd_say_account(ctx, &s.account);
  if (created) sim_say(ctx, "Đã tạo khoá thiết bị mới trong %s\n", ctx->home);
  if (ctx->json) {
    cJSON_AddBoolToObject(ctx->out, "logged_in", 1);
    cJSON_AddBoolToObject(ctx->out, "device_key_created", created);
    cJSON_AddStringToObject(ctx->out, "device_key", pub_b64);
    cmd_out_account(ctx, &s.account);
  }
out:
  memset(password, 0, sizeof(password));
  memset(&key, 0, sizeof(key));
  if (req) {
    cJSON_DeleteItemFromObjectCaseSensitive(req, "password");
    cJSON_Delete(req);
  }
  cJSON_Delete(reply);
  qrl_wsc_free(ws);
  return ex;
}

/* ---- status -------------------------------------------------------------- */

int cmd_status(sim_ctx *ctx, sim_args *a) {
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL;
  int ex;
  qrl_err rc;

  (void)a;
  if ((ex = cmd_need_session(ctx, &s))) {
    if (ex == QRL_EXIT_NOT_LOGGED_IN)
      sim_say(ctx, "Chưa đăng nhập ứng dụng VNeID.\n");
    goto out;
  }
  if ((rc = sim_connect(ctx, &ws))) {
    cmd_out_account(ctx, &s.account);
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  if (!(req = cmd_req(QRL_MSG_STATUS, s.token))) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    if (rc == QRL_SESSION_INVALID)
      sim_say(ctx, "Phiên đăng nhập ứng dụng không còn hiệu lực.\n");
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  if ((rc = cmd_update_account(ctx, &s, reply))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  sim_say(ctx, "Đã đăng nhập ứng dụng VNeID.\n");
  cmd_say_account(ctx, &s.account);
  if (ctx->json) {
    cJSON_AddBoolToObject(ctx->out, "logged_in", 1);
    cmd_out_account(ctx, &s.account);
  }
out:
  cJSON_Delete(req);
  cJSON_Delete(reply);
  qrl_wsc_free(ws);
  return ex;
}

/* ---- settings ------------------------------------------------------------ */

int cmd_settings(sim_ctx *ctx, sim_args *a) {
  char passcode[16];
  sim_session s;
  qrl_wsc *ws = NULL;
  int value, ex;
  qrl_err rc;

  memset(passcode, 0, sizeof(passcode));
  if (strcmp(a->pos[0], "web-login") && strcmp(a->pos[0], QRL_PERM_WEB_LOGIN))
    return sim_usage_error(
        ctx, QRL_INVAL, "unknown setting '%s' (known: web-login)", a->pos[0]);
  if (a->npos < 2)
    return sim_usage_error(ctx, QRL_INVAL,
                           "settings web-login needs on or off");
  if (!strcmp(a->pos[1], "on"))
    value = 1;
  else if (!strcmp(a->pos[1], "off"))
    value = 0;
  else
    return sim_usage_error(ctx, QRL_INVAL, "'%s': expected on or off",
                           a->pos[1]);
  if (!a->passcode && !ctx->stdin_tty)
    return sim_usage_error(
        ctx, QRL_INVAL,
        "settings needs --passcode N when stdin is not a terminal");
  if (ctx->json) {
    cJSON_AddStringToObject(ctx->out, "setting", "web_login");
    cJSON_AddBoolToObject(ctx->out, "value", value);
  }
  if ((ex = cmd_need_session(ctx, &s))) goto out;
  if ((ex = cmd_passcode(ctx, NULL, a->passcode, passcode, sizeof(passcode),
                         QRL_BAD_PASSCODE_FORMAT, QRL_EXIT_USAGE)))
    goto out;
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  if ((ex = cmd_set_web_login(ctx, ws, &s, value, passcode))) goto out;
  cmd_say_account(ctx, &s.account);
  cmd_out_account(ctx, &s.account);
out:
  memset(passcode, 0, sizeof(passcode));
  qrl_wsc_free(ws);
  return ex;
}

/* ---- logout -------------------------------------------------------------- */

int cmd_logout(sim_ctx *ctx, sim_args *a) {
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL;
  int ex;
  qrl_err rc;

  (void)a;
  if ((ex = cmd_need_session(ctx, &s))) goto out;
  rc = sim_connect(ctx, &ws);
  if (rc == QRL_OK) {
    if (!(req = cmd_req(QRL_MSG_LOGOUT, s.token)))
      rc = QRL_NOMEM;
    else
      rc = sim_request(ctx, ws, req, &reply);
  }
  /* The app forgets its session whatever the server says. */
  if (sim_session_forget(ctx->home)) {
    ex = sim_fail(ctx, QRL_IO, 0);
    goto out;
  }
  if (ctx->json) cJSON_AddBoolToObject(ctx->out, "logged_in", 0);
  if (rc == QRL_OK || rc == QRL_SESSION_INVALID) {
    sim_clear_error(ctx);
    sim_say(ctx, "Đã đăng xuất khỏi ứng dụng VNeID.\n");
    goto out;
  }
  sim_say(ctx,
          "Đã xoá phiên đăng nhập trên thiết bị (máy chủ chưa xác nhận).\n");
  ex = sim_fail(ctx, rc, 0);
out:
  cJSON_Delete(req);
  cJSON_Delete(reply);
  qrl_wsc_free(ws);
  return ex;
}
