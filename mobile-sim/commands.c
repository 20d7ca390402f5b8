/*
 * commands.c - the vneid-sim commands: login, status, scan, settings, logout.
 *
 * Each command parses and validates all of its arguments before touching the
 * network, then speaks the phone subprotocol of docs/protocol.md through
 * sim_net.c and keeps the app state through sim_home.c. A server answer of
 * session_invalid (or wrong_device) makes the simulator forget its session.
 * "scan" is the whole citizen flow: show who is asking, grant the web-login
 * permission with the passcode if the server asks for it, sign and send the
 * decision, then wait for the server's logout push after a confirm.
 *
 * Not here: global option parsing (main.c), printing mechanics (sim_io.c).
 */
#include "commands.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "crypto.h"
#include "num.h"
#include "qr_scan.h"
#include "qrlogin/protocol.h"
#include "sim_home.h"
#include "sim_io.h"
#include "sim_net.h"

#define SIM_PASSWORD_MAX 128
#define SIM_DEVICE_NAME_MAX 64

/* Command options; which ones a command accepts is in cmd_table. */
enum cmd_opt_bit {
  CO_ID = 1 << 0,
  CO_PASSWORD = 1 << 1,
  CO_DEVICE_NAME = 1 << 2,
  CO_PASSCODE = 1 << 3,
  CO_IMAGE = 1 << 4,
  CO_YES = 1 << 5,
  CO_NO = 1 << 6,
  CO_GRANT = 1 << 7,
  CO_PHONE = 1 << 8,
  CO_WAIT = 1 << 9,
  CO_NUMBER = 1 << 10
};

enum cmd_opt_id {
  OPT_ID = 0x200,
  OPT_PASSWORD,
  OPT_DEVICE_NAME,
  OPT_PASSCODE,
  OPT_IMAGE,
  OPT_YES,
  OPT_NO,
  OPT_GRANT,
  OPT_PHONE,
  OPT_WAIT,
  OPT_NUMBER
};

/* Parsed command arguments; strings point into argv. */
typedef struct cmd_args {
  const char *id, *password, *device_name, *passcode, *image, *phone;
  int wait_s; /* inbox --wait: seconds, 0 = do not wait */
  int number; /* scan --number: the number on the login page, 0 = ask */
  int yes, no, grant;
  const char *pos[4];
  int npos;
} cmd_args;

typedef int (*cmd_fn)(sim_ctx *ctx, cmd_args *a);

typedef struct cmd_def {
  const char *name;
  cmd_fn fn;
  int opts; /* enum cmd_opt_bit accepted */
  int min_pos, max_pos;
  const char *usage;
} cmd_def;

static const struct option cmd_longopts[] = {
    {"server", required_argument, NULL, SIM_OPT_SERVER},
    {"home", required_argument, NULL, SIM_OPT_HOME},
    {"json", no_argument, NULL, SIM_OPT_JSON},
    {"timeout", required_argument, NULL, SIM_OPT_TIMEOUT},
    {"ca", required_argument, NULL, SIM_OPT_CA},
    {"help", no_argument, NULL, SIM_OPT_HELP},
    {"id", required_argument, NULL, OPT_ID},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"device-name", required_argument, NULL, OPT_DEVICE_NAME},
    {"passcode", required_argument, NULL, OPT_PASSCODE},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"yes", no_argument, NULL, OPT_YES},
    {"no", no_argument, NULL, OPT_NO},
    {"grant", no_argument, NULL, OPT_GRANT},
    {"phone", required_argument, NULL, OPT_PHONE},
    {"wait", required_argument, NULL, OPT_WAIT},
    {"number", required_argument, NULL, OPT_NUMBER},
    {NULL, 0, NULL, 0}};

/* ---- shared steps -------------------------------------------------------- */

/* Adds the account to the JSON answer. */
static void cmd_out_account(sim_ctx *ctx, const sim_account *acc) {
  cJSON *j;
  if (!ctx->json || !ctx->out) return;
  cJSON_DeleteItemFromObjectCaseSensitive(ctx->out, "account");
  j = sim_account_to_json(acc);
  if (j) cJSON_AddItemToObject(ctx->out, "account", j);
}

static void cmd_say_account(sim_ctx *ctx, const sim_account *acc) {
  sim_say(ctx, "Tài khoản:  %s (%s)\n",
          acc->full_name[0] ? acc->full_name : "-", acc->id);
  sim_say(ctx, "Mức:        %d\n", acc->level);
  sim_say(ctx, "Đăng nhập trên website: %s\n", acc->web_login ? "bật" : "tắt");
}

/* Loads the app session; reports "not logged in" (exit 8) if there is none.
 * Returns 0 or the exit code. */
static int cmd_need_session(sim_ctx *ctx, sim_session *s) {
  qrl_err rc = sim_session_load(ctx->home, s);
  if (rc == QRL_OK) return 0;
  if (rc == QRL_NOT_LOGGED_IN) {
    if (ctx->json && ctx->out) cJSON_AddBoolToObject(ctx->out, "logged_in", 0);
    return sim_fail(ctx, QRL_NOT_LOGGED_IN, QRL_EXIT_NOT_LOGGED_IN);
  }
  sim_detail(ctx, "cannot read the session in %s", ctx->home);
  return sim_fail(ctx, rc, 0);
}

/* Reports a failed request; forgets the session if the server no longer
 * knows it. Returns the exit code. */
static int cmd_server_fail(sim_ctx *ctx, qrl_err rc) {
  if (rc == QRL_SESSION_INVALID || rc == QRL_WRONG_DEVICE) {
    sim_session_forget(ctx->home);
    if (ctx->json && ctx->out) {
      cJSON_AddBoolToObject(ctx->out, "session_forgotten", 1);
      cJSON_AddBoolToObject(ctx->out, "logged_in", 0);
    }
    sim_say(ctx, "Đã xoá phiên đăng nhập ứng dụng trên thiết bị này.\n");
    if (rc == QRL_SESSION_INVALID)
      return sim_fail(ctx, rc, QRL_EXIT_NOT_LOGGED_IN);
  }
  return sim_fail(ctx, rc, 0);
}

/* Makes {"type":type,"session":token}; NULL if out of memory. */
static cJSON *cmd_req(const char *type, const char *token) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  if (!cJSON_AddStringToObject(o, "type", type) ||
      (token && !cJSON_AddStringToObject(o, "session", token))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* Stores the account from a reply into the session file; the session stays.
 * Returns QRL_OK or an error. */
static qrl_err cmd_update_account(sim_ctx *ctx, sim_session *s,
                                  const cJSON *reply) {
  const cJSON *acc = cJSON_GetObjectItemCaseSensitive(reply, "account");
  sim_account a;
  if (!acc) return QRL_OK; /* nothing new */
  if (sim_account_from_json(acc, &a)) return QRL_PROTOCOL;
  s->account = a;
  return sim_session_save(ctx->home, s);
}

/* Gets a passcode from --passcode or a prompt (stdin). Returns 0 with it in
 * buf, or an exit code (no answer: fallback_exit with fallback err). */
static int cmd_passcode(sim_ctx *ctx, qrl_wsc *ws, const char *given, char *buf,
                        size_t len, qrl_err fallback, int fallback_exit) {
  int n;
  if (given) {
    n = snprintf(buf, len, "%s", given);
    return n < 0 || (size_t)n >= len ? sim_fail(ctx, QRL_INTERNAL, 0) : 0;
  }
  if (!sim_prompt(ctx, ws, "Nhập mã bảo vệ (6 chữ số): ", 0, buf, len))
    return sim_fail(ctx, fallback, fallback_exit);
  if (!qrl_passcode_valid(buf, strlen(buf)))
    return sim_usage_error(ctx, QRL_BAD_PASSCODE_FORMAT,
                           "the passcode must be 6 digits");
  return 0;
}

/* ---- login --------------------------------------------------------------- */

static int cmd_login(sim_ctx *ctx, cmd_args *a) {
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
  if (!qrl_citizen_id_valid(a->id, strlen(a->id)))
    return sim_usage_error(ctx, QRL_INVALID_ID,
                           "bad --id '%s': 12 digits, province code 001-096",
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

static int cmd_status(sim_ctx *ctx, cmd_args *a) {
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

/* Sends set_permission web_login=value with passcode; updates the session.
 * Returns 0 or the exit code. */
static int cmd_set_web_login(sim_ctx *ctx, qrl_wsc *ws, sim_session *s,
                             int value, const char *passcode) {
  cJSON *req = NULL, *reply = NULL;
  int ex = 0;
  qrl_err rc;

  req = cmd_req(QRL_MSG_SET_PERMISSION, s->token);
  if (!req || !cJSON_AddStringToObject(req, "permission", QRL_PERM_WEB_LOGIN) ||
      !cJSON_AddBoolToObject(req, "value", value) ||
      !cJSON_AddStringToObject(req, "passcode", passcode)) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  if ((rc = cmd_update_account(ctx, s, reply))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  sim_say(ctx, "Đã %s quyền \"Đăng nhập trên website\".\n",
          value ? "bật" : "tắt");
out:
  if (req) {
    cJSON_DeleteItemFromObjectCaseSensitive(req, "passcode");
    cJSON_Delete(req);
  }
  cJSON_Delete(reply);
  return ex;
}

static int cmd_settings(sim_ctx *ctx, cmd_args *a) {
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

static int cmd_logout(sim_ctx *ctx, cmd_args *a) {
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

/* ---- scan ---------------------------------------------------------------- */

/* The web-login permission is off: offer "Cập nhật" (turn it on, confirm,
 * passcode), or use --grant/--passcode. Returns 0 once granted, or the exit
 * code. */
static int scan_grant(sim_ctx *ctx, qrl_wsc *ws, sim_session *s, cmd_args *a) {
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

/* Prints who is asking, from scan_ok, and adds it to the JSON answer. */
/* Whether n is one of the numbers scan_ok offered. */
static int number_offered(const cJSON *reply, long n) {
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(reply, "numbers")) {
    if (cJSON_IsNumber(x) && x->valueint == n) return 1;
  }
  return 0;
}

static void scan_show(sim_ctx *ctx, const cJSON *reply, const char *pname,
                      const char *porigin) {
  const cJSON *br = cJSON_GetObjectItemCaseSensitive(reply, "browser");
  const cJSON *cat = cJSON_GetObjectItemCaseSensitive(reply, "created_at");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(reply, "expires_in");
  const char *ua = sim_json_str(br, "user_agent"), *ip = sim_json_str(br, "ip");
  const char *summary = sim_json_str(br, "summary"), *prox = sim_json_str(reply, "proximity");
  char when[64] = "-";

  if (cJSON_IsNumber(cat)) {
    time_t t = (time_t)cat->valuedouble;
    struct tm tm;
    if (localtime_r(&t, &tm))
      strftime(when, sizeof(when), "%H:%M:%S %d/%m/%Y", &tm);
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
    const char *keys[] = {"challenge", "portal", "browser", "created_at",
                          "expires_in", "kiosk", "proximity"};
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

static int cmd_scan(sim_ctx *ctx, cmd_args *a) {
  char text[512];
  qrl_qr_payload qr;
  sim_session s;
  qrl_wsc *ws = NULL;
  cJSON *req = NULL, *reply = NULL, *push = NULL;
  char pname[256], porigin[256], stepup[16] = "";
  const char *v;
  qrl_decision d;
  int ex = 0, attempt, n;
  qrl_err rc;

  /* Arguments first, all of them, before any state or network. */
  if ((a->npos == 1) == (a->image != NULL))
    return sim_usage_error(ctx, QRL_INVAL,
                           "scan needs exactly one of PAYLOAD or --image FILE");
  if (a->yes && a->no)
    return sim_usage_error(ctx, QRL_INVAL, "--yes and --no exclude each other");
  if (a->image) {
    rc = qrl_qr_scan_png(a->image, text, sizeof(text));
    if (rc == QRL_IO || rc == QRL_INVAL) {
      sim_detail(ctx, "cannot read the PNG image '%s'", a->image);
      return sim_fail(ctx, QRL_IO, QRL_EXIT_USAGE);
    }
    if (rc) {
      sim_detail(ctx, "no QR code found in '%s'", a->image);
      return sim_fail(ctx, QRL_BAD_QR, 0);
    }
  } else {
    n = snprintf(text, sizeof(text), "%s", a->pos[0]);
    if (n < 0 || (size_t)n >= sizeof(text)) text[0] = '\0';
  }
  if (qrl_qr_payload_parse(text, strlen(text), &qr)) {
    sim_detail(ctx, "not a qrlogin QR payload (QRL2.<id>.<frame>.<code>)");
    return sim_fail(ctx, QRL_BAD_QR, 0);
  }

  if ((ex = cmd_need_session(ctx, &s))) goto out;
  if ((rc = sim_connect(ctx, &ws))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  /* Scan; if the permission is off, grant it and scan once more. */
  for (attempt = 0;; attempt++) {
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
    if (rc == QRL_NOT_PERMITTED && attempt == 0) {
      if ((ex = scan_grant(ctx, ws, &s, a))) goto out;
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
  {
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

  if (a->yes)
    d = QRL_DECISION_CONFIRM;
  else if (a->no)
    d = QRL_DECISION_DECLINE;
  else
    d = sim_ask_yes(ctx, ws, "Xác nhận đăng nhập?") ? QRL_DECISION_CONFIRM
                                                    : QRL_DECISION_DECLINE;
  /* Number matching: the citizen picks the number the login page shows -
   * one of the three offered, as in the app (up to three tries at typing). */
  if (d == QRL_DECISION_CONFIRM && !a->number) {
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
      ex = sim_fail(ctx, QRL_INVAL, QRL_EXIT_USAGE);
      goto out;
    }
  } else if (d == QRL_DECISION_CONFIRM && !number_offered(reply, a->number)) {
    sim_detail(ctx, "--number %d is not one of the three numbers offered", a->number);
    ex = sim_fail(ctx, QRL_INVAL, QRL_EXIT_USAGE);
    goto out;
  }
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

/* ---- decode: the camera alone ------------------------------------------------ */

static int cmd_decode(sim_ctx *ctx, cmd_args *a) {
  char text[512];
  qrl_err rc;
  if (!a->image) return sim_usage_error(ctx, QRL_INVAL, "decode needs --image FILE.png");
  rc = qrl_qr_scan_png(a->image, text, sizeof(text));
  if (rc == QRL_IO || rc == QRL_INVAL) {
    sim_detail(ctx, "cannot read the PNG image '%s'", a->image);
    return sim_fail(ctx, QRL_IO, QRL_EXIT_USAGE);
  }
  if (rc) {
    sim_detail(ctx, "no QR code found in '%s'", a->image);
    return sim_fail(ctx, QRL_BAD_QR, 0);
  }
  sim_say(ctx, "%s\n", text);
  if (ctx->json) cJSON_AddStringToObject(ctx->out, "text", text);
  return 0;
}

/* ---- sessions: recent web logins, "Không phải tôi" -------------------------- */

static int cmd_sessions(sim_ctx *ctx, cmd_args *a) {
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

static int cmd_inbox(sim_ctx *ctx, cmd_args *a) {
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
    if (rc) {
      sim_say(ctx, "Không có tin nhắn mới trong %d giây.\n", a->wait_s);
      ex = sim_fail(ctx, rc == QRL_UNAVAILABLE ? QRL_UNAVAILABLE : rc, 0);
      goto out;
    }
    say_sms(ctx, push, arr, otp);
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

/* ---- the table, help, dispatch ------------------------------------------- */

static const cmd_def cmd_table[] = {
    {"login", cmd_login, CO_ID | CO_PASSWORD | CO_DEVICE_NAME, 0, 0,
     "Usage: vneid-sim [GLOBAL] login --id ID --password PW [--device-name "
     "NAME]\n"
     "  Logs the app in on this device and registers the device key (made on\n"
     "  first use, kept in the home directory). ID: 12-digit citizen ID.\n"},
    {"status", cmd_status, 0, 0, 0,
     "Usage: vneid-sim [GLOBAL] status\n"
     "  Shows whether the app is logged in, the account, its level and the\n"
     "  \"Đăng nhập trên website\" permission (asks the server). Exit 8 if "
     "not\n"
     "  logged in; a session the server rejects is forgotten.\n"},
    {"scan", cmd_scan, CO_IMAGE | CO_YES | CO_NO | CO_GRANT | CO_PASSCODE | CO_NUMBER,
     0, 1,
     "Usage: vneid-sim [GLOBAL] scan (PAYLOAD | --image FILE.png)\n"
     "                 [--yes [--number NN] | --no] [--grant [--passcode N]]\n"
     "  Scans a login QR code (the text QRL2.<id>.<frame>.<code>, or a PNG\n"
     "  image; it changes every few seconds, scan the one on screen), shows who\n"
     "  is asking and asks \"Xác nhận đăng nhập? [y/N]\", then which of three\n"
     "  numbers the login page shows (the page shows it after the scan).\n"
     "  --yes / --no      answer without a prompt (confirm / decline)\n"
     "  --number NN       the number on the login page (else it is asked for,\n"
     "                    from the terminal or a line on stdin)\n"
     "  --grant           if web login is not permitted, turn it on without\n"
     "                    asking (needs the passcode: --passcode or a prompt)\n"
     "  --passcode N      the 6-digit passcode (mã bảo vệ) used to grant it\n"
     "  After a confirm the server logs the app out; log in again to scan.\n"},
    {"settings", cmd_settings, CO_PASSCODE, 1, 2,
     "Usage: vneid-sim [GLOBAL] settings web-login on|off [--passcode N]\n"
     "  Turns \"Đăng nhập trên website\" on or off. The passcode is asked for\n"
     "  when not given and stdin is a terminal.\n"},
    {"logout", cmd_logout, 0, 0, 0,
     "Usage: vneid-sim [GLOBAL] logout\n"
     "  Logs the app out on the server and forgets the session.\n"},
    {"decode", cmd_decode, CO_IMAGE, 0, 0,
     "Usage: vneid-sim [GLOBAL] decode --image FILE.png\n"
     "  Reads the QR code in the image and prints its text (the camera alone,\n"
     "  no server).\n"},
    {"sessions", cmd_sessions, 0, 0, 2,
     "Usage: vneid-sim [GLOBAL] sessions [revoke ID]\n"
     "  Lists the account's web logins of the last 30 days (when, from where,\n"
     "  which browser, still active?). \"Không phải tôi\": revoke ID ends one\n"
     "  at once.\n"},
    {"inbox", cmd_inbox, CO_PHONE | CO_WAIT, 0, 0,
     "Usage: vneid-sim [GLOBAL] inbox --phone NUMBER [--wait SECONDS]\n"
     "  The SMS received by this phone number on the demo mobile network\n"
     "  (qrlogind --demo), e.g. the one-time code of an ID + password login.\n"
     "  --wait S   then wait up to S seconds for the next message (exit 9 if\n"
     "             none comes). With --json the latest code is in \"otp\".\n"},
};

static const cmd_def *cmd_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
    if (!strcmp(cmd_table[i].name, name)) return &cmd_table[i];
  return NULL;
}

void sim_help(FILE *f, const char *command) {
  const cmd_def *c = command ? cmd_find(command) : NULL;
  if (c) {
    fputs(c->usage, f);
    fputs("GLOBAL options: --server URL --home DIR --json --timeout MS (see "
          "vneid-sim --help)\n",
          f);
    return;
  }
  fputs(
      "Usage: vneid-sim [--server URL] [--home DIR] [--json] [--timeout MS]\n"
      "                 COMMAND [ARGS]\n"
      "The VNeID phone app as a command line, for QR web login.\n"
      "\n"
      "Commands:\n"
      "  login --id ID --password PW    log the app in on this device\n"
      "  status                         login state, account, permission\n"
      "  scan PAYLOAD | --image FILE    scan a login QR code and confirm it\n"
      "  settings web-login on|off      set \"Đăng nhập trên website\"\n"
      "  logout                         log the app out\n"
      "  sessions [revoke ID]           recent web logins; end one (\"không phải tôi\")\n"
      "  decode --image FILE            the text of a QR code image\n"
      "  inbox --phone N [--wait S]     SMS to a number (demo mobile network)\n"
      "  help [COMMAND]                 this text, or a command's usage\n"
      "\n"
      "Global options (also accepted after the command):\n"
      "  --server URL   server, ws://HOST:PORT (http:// also accepted);\n"
      "                 default " SIM_DEFAULT_SERVER "\n"
      "  --home DIR     state directory; default $VNEID_SIM_HOME, else\n"
      "                 ~/.vneid-sim (device key, app session; mode 0700)\n"
      "  --json         print one JSON object per command on stdout:\n"
      "                 {\"ok\":true,\"command\":...,...,\"exit\":0} or\n"
      "                 "
      "{\"ok\":false,\"code\":...,\"message\":...,\"exit\":N}\n"
      "  --timeout MS   network waits in milliseconds (default 10000)\n"
      "  --ca FILE      trust these CA certificates (PEM) for a wss:// server\n"
      "  --help         this text; COMMAND --help for a command's usage\n"
      "\n"
      "Exit codes: 0 ok, 2 usage, 3 declined, 4 challenge expired/used/\n"
      "cancelled/unknown/other account, 5 web login not permitted or level "
      "too\n"
      "low, 6 wrong passcode, 7 locked, 8 not logged in, 9 network/protocol/\n"
      "server error, 10 wrong ID or password, 11 other refusal.\n",
      f);
}

/* ws://HOST[:PORT][/PATH] or wss://...: a scheme the client speaks, a
 * non-empty host and, if given, a port in 1..65535. */
static int server_url_valid(const char *url) {
  const char *h, *p;
  size_t hl;
  if (!strncmp(url, "ws://", 5)) h = url + 5;
  else if (!strncmp(url, "wss://", 6)) h = url + 6;
  else return 0;
  hl = strcspn(h, ":/");
  if (hl == 0 || hl > 253) return 0;
  for (size_t i = 0; i < hl; i++)
    if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-') return 0;
  p = h + hl;
  if (*p == ':') {
    char *end;
    long port = strtol(p + 1, &end, 10);
    if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
      return 0;
  }
  return 1;
}

int sim_global_option(sim_ctx *ctx, int opt, const char *arg) {
  long v;
  switch (opt) {
  case SIM_OPT_SERVER:
    if (!server_url_valid(arg)) {
      sim_usage_error(ctx, QRL_INVAL,
                      "bad --server '%s': expected ws://HOST[:PORT] or "
                      "wss://HOST[:PORT]", arg);
      return -1;
    }
    ctx->server = arg;
    return 0;
  case SIM_OPT_HOME:
    if (!arg[0]) {
      sim_usage_error(ctx, QRL_INVAL, "--home needs a directory");
      return -1;
    }
    ctx->home_opt = arg;
    return 0;
  case SIM_OPT_JSON: ctx->json = 1; return 0;
  case SIM_OPT_CA:
    if (!arg[0] || access(arg, R_OK) != 0) {
      sim_usage_error(ctx, QRL_INVAL, "bad --ca '%s': a readable PEM file", arg);
      return -1;
    }
    ctx->ca_file = arg;
    return 0;
  case SIM_OPT_TIMEOUT:
    if (qrl_parse_long(arg, 1, 600000, &v)) {
      sim_usage_error(ctx, QRL_INVAL,
                      "bad --timeout '%s': milliseconds, 1 to 600000", arg);
      return -1;
    }
    ctx->timeout_ms = (int)v;
    return 0;
  default: sim_usage_error(ctx, QRL_INVAL, "unknown option"); return -1;
  }
}

/* Parses the command's arguments into *a. Returns 0, -1 for --help, or the
 * usage exit code. */
static int cmd_parse(sim_ctx *ctx, const cmd_def *def, int argc, char **argv,
                     cmd_args *a) {
  static const struct {
    int id, bit;
    const char *name;
  } bits[] = {{OPT_ID, CO_ID, "--id"},
              {OPT_PASSWORD, CO_PASSWORD, "--password"},
              {OPT_DEVICE_NAME, CO_DEVICE_NAME, "--device-name"},
              {OPT_PHONE, CO_PHONE, "--phone"},
              {OPT_WAIT, CO_WAIT, "--wait"},
              {OPT_NUMBER, CO_NUMBER, "--number"},
              {OPT_PASSCODE, CO_PASSCODE, "--passcode"},
              {OPT_IMAGE, CO_IMAGE, "--image"},
              {OPT_YES, CO_YES, "--yes"},
              {OPT_NO, CO_NO, "--no"},
              {OPT_GRANT, CO_GRANT, "--grant"}};
  int opt, help = 0;
  size_t i;

  memset(a, 0, sizeof(*a));
  opterr = 0;
  optind = 0; /* glibc: full re-initialisation */
  while ((opt = getopt_long(argc, argv, ":hyn", cmd_longopts, NULL)) != -1) {
    if (opt == 'h') opt = SIM_OPT_HELP;
    if (opt == 'y') opt = OPT_YES;
    if (opt == 'n') opt = OPT_NO;
    if (opt == '?') {
      if (optopt)
        return sim_usage_error(ctx, QRL_INVAL, "unknown option '-%c' for %s",
                               optopt, def->name);
      return sim_usage_error(ctx, QRL_INVAL, "unknown option '%s' for %s",
                             argv[optind - 1], def->name);
    }
    if (opt == ':')
      return sim_usage_error(ctx, QRL_INVAL, "option '%s' needs a value",
                             argv[optind - 1]);
    if (opt == SIM_OPT_HELP) {
      help = 1;
      continue;
    }
    if (opt >= SIM_OPT_SERVER && opt < SIM_OPT_HELP) {
      if (sim_global_option(ctx, opt, optarg)) return QRL_EXIT_USAGE;
      continue;
    }
    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
      if (bits[i].id == opt) break;
    if (i == sizeof(bits) / sizeof(bits[0]) || !(def->opts & bits[i].bit))
      return sim_usage_error(
          ctx, QRL_INVAL, "option '%s' is not valid for %s",
          i < sizeof(bits) / sizeof(bits[0]) ? bits[i].name : argv[optind - 1],
          def->name);
    switch (opt) {
    case OPT_ID: a->id = optarg; break;
    case OPT_PASSWORD: a->password = optarg; break;
    case OPT_DEVICE_NAME: a->device_name = optarg; break;
    case OPT_PASSCODE: a->passcode = optarg; break;
    case OPT_IMAGE: a->image = optarg; break;
    case OPT_YES: a->yes = 1; break;
    case OPT_NO: a->no = 1; break;
    case OPT_GRANT: a->grant = 1; break;
    case OPT_PHONE:
      if (strlen(optarg) != 10 || optarg[0] != '0' ||
          strspn(optarg, "0123456789") != 10)
        return sim_usage_error(ctx, QRL_INVAL,
                               "bad --phone '%s': 10 digits starting with 0", optarg);
      a->phone = optarg;
      break;
    case OPT_NUMBER: {
      long v;
      if (qrl_parse_long(optarg, 10, 99, &v))
        return sim_usage_error(ctx, QRL_INVAL, "bad --number '%s': the 2-digit number "
                               "shown on the login page", optarg);
      a->number = (int)v;
      break;
    }
    case OPT_WAIT: {
      long v;
      if (qrl_parse_long(optarg, 1, 3600, &v))
        return sim_usage_error(ctx, QRL_INVAL, "bad --wait '%s': 1 to 3600 seconds",
                               optarg);
      a->wait_s = (int)v;
      break;
    }
    default: break;
    }
  }
  if (help) return -1;
  for (; optind < argc; optind++) {
    if (a->npos >= def->max_pos)
      return sim_usage_error(ctx, QRL_INVAL, "unexpected argument '%s' for %s",
                             argv[optind], def->name);
    a->pos[a->npos++] = argv[optind];
  }
  if (a->npos < def->min_pos)
    return sim_usage_error(ctx, QRL_INVAL, "%s needs more arguments",
                           def->name);
  if (a->passcode && !qrl_passcode_valid(a->passcode, strlen(a->passcode)))
    return sim_usage_error(ctx, QRL_BAD_PASSCODE_FORMAT,
                           "bad --passcode: it must be exactly 6 digits");
  return 0;
}

int sim_run(sim_ctx *ctx, int argc, char **argv) {
  const cmd_def *def;
  cmd_args a;
  int ex;
  qrl_err rc;

  if (!strcmp(argv[0], "help")) {
    if (argc > 1 && !cmd_find(argv[1])) {
      ctx->command = "help";
      return sim_finish(ctx, sim_usage_error(ctx, QRL_INVAL,
                                             "unknown command '%s'", argv[1]));
    }
    sim_help(stdout, argc > 1 ? argv[1] : NULL);
    return QRL_EXIT_OK;
  }
  def = cmd_find(argv[0]);
  if (!def) {
    ctx->command = "";
    return sim_finish(
        ctx, sim_usage_error(ctx, QRL_INVAL, "unknown command '%s'", argv[0]));
  }
  ctx->command = def->name;
  ctx->out = cJSON_CreateObject();
  if (!ctx->out) return sim_finish(ctx, sim_fail(ctx, QRL_NOMEM, 0));
  ex = cmd_parse(ctx, def, argc, argv, &a);
  if (ex == -1) {
    sim_help(stdout, def->name);
    return QRL_EXIT_OK;
  }
  if (ex) return sim_finish(ctx, ex);
  rc = sim_home_resolve(ctx->home_opt, ctx->home, sizeof(ctx->home));
  if (rc)
    return sim_finish(
        ctx,
        sim_usage_error(ctx, QRL_INVAL, "no home directory: use --home DIR"));
  return sim_finish(ctx, def->fn(ctx, &a));
}
