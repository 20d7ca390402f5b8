/*
 * http_otp.c - the second login path over HTTP (docs/protocol.md):
 *
 *   POST /api/otp/start        {"id","password"}        -> attempt + SMS
 *   POST /api/portal/start     {"username","password"}  -> attempt + SMS
 *   POST /api/otp/verify       {"attempt","otp"}        -> session cookie
 *   POST /api/otp/resend       {"attempt"}              -> a new code
 *   POST /api/portal/verify-id {"citizen_id"} + cookie  -> ID verified
 *
 * The throttles that must treat unknown IDs like real ones live here, in
 * memory on the loop thread (ratelimit.h): failed passwords per IP and per
 * ID/username, wrong codes per IP, SMS per IP. The ones tied to stored
 * state (per attempt, per phone) are in otp.c. Slow work goes to workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* Throttle rules: tokens per window (seconds). The password ones are shared
 * with the phone's app login (server.h). */
#define OTP_IP_LIMIT 30
#define OTP_WINDOW 900
#define SMS_IP_LIMIT 10
#define SMS_WINDOW 3600

/* Takes a token of every rule on arrival (qrl_server_take); if refused,
 * answers rate_limited with retry_in and returns 1. */
static int refused(qrl_server *srv, qrl_conn *c, const qrl_rl_rule *rules, size_t n) {
  int64_t retry = 0;
  cJSON *o;
  if (qrl_server_take(srv, c, rules, n, &retry)) return 0;
  o = cJSON_CreateObject();
  if (o) cJSON_AddNumberToObject(o, "retry_in", (double)retry);
  qrl_http_error(c, QRL_RATE_LIMITED, o);
  return 1;
}

/* A password start is counted in the password buckets and, for the SMS it
 * sends, per IP: [0] ID/username, [1] IP (qrl_pw_rules), [2] SMS per IP. */
static void start_rules(qrl_rl_rule r[3], const char *username, const char *citizen_id,
                        const char *ip) {
  qrl_pw_rules(r, username, citizen_id, ip);
  qrl_rl_rule_set(&r[2], "sms:ip", ip, SMS_IP_LIMIT, SMS_WINDOW);
}

/* "Cập nhật từ CSDL" is counted per IP and per portal session (by a
 * fingerprint of its token: the token itself is never a key, log or
 * audit detail). */
static void vid_rules(qrl_rl_rule r[2], const char *ip, const char *session) {
  uint8_t h[QRL_SHA256_LEN];
  char fp[17];
  if (qrl_sha256(session, strlen(session), h)) memset(h, 0xff, sizeof(h)); /* fails closed: one shared bucket */
  for (int i = 0; i < 8; i++) snprintf(fp + 2 * i, 3, "%02x", h[i]);
  qrl_rl_rule_set(&r[0], "vid:ip", ip, QRL_RL_VID_IP, QRL_RL_VID_WINDOW);
  qrl_rl_rule_set(&r[1], "vid:sess", fp, QRL_RL_VID_SESSION, QRL_RL_VID_WINDOW);
}

/* ---- start (citizen ID or portal username) -------------------------------- */

static void start_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  if (t->username[0])
    t->rc = qrl_otp_start_portal(db, &t->srv->pol, &t->srv->opol, t->username,
                                 t->password, &rc, &t->otp);
  else
    t->rc = qrl_otp_start_citizen(db, &t->srv->pol, &t->srv->opol, t->citizen_id,
                                  t->password, &rc, &t->otp);
  qrl_cleanse(t->password, sizeof(t->password));
  if (!t->rc && (t->rc = qrl_server_send_sms(db, t, &t->otp)))
    qrl_otp_undeliverable(db, t->otp.attempt, &rc);
  qrl_cleanse(t->otp.code, sizeof(t->otp.code));
}

static cJSON *sent_json(const qrl_task *t) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "attempt", t->otp.attempt);
  cJSON_AddStringToObject(o, "phone", t->otp.phone_masked);
  cJSON_AddNumberToObject(o, "expires_in", t->otp.expires_in);
  cJSON_AddNumberToObject(o, "resend_in", t->otp.resend_in);
  cJSON_AddNumberToObject(o, "digits", QRL_OTP_DIGITS);
  return o;
}

static void start_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_rl_rule r[3];
  /* The tokens taken on arrival stay spent only for what they count: a
   * wrong password (ID/username and IP), an SMS sent (IP). */
  start_rules(r, t->username, t->citizen_id, t->ip);
  qrl_server_pw_settle(srv, r, t->rc);
  if (t->rc) qrl_server_refund(srv, &r[2], 1);
  else qrl_server_push_sms(srv, t);
  if (!c) return;
  if (t->rc) qrl_http_error(c, t->rc, NULL);
  else qrl_http_json(c, sent_json(t), NULL);
}

static void start(qrl_server *srv, qrl_conn *c, const cJSON *body, int portal) {
  const char *who, *pw;
  qrl_rl_rule r[3];
  qrl_task *t;
  qrl_err rc;

  rc = qrl_json_str(body, portal ? "username" : "id", 64, &who);
  if (!rc) rc = qrl_json_str(body, "password", 128, &pw);
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  /* Malformed input is named before anything is looked up or counted. */
  if (portal ? !qrl_portal_username_valid(who)
             : !qrl_citizen_id_valid(who, strlen(who))) {
    qrl_http_error(c, portal ? QRL_INVALID_USERNAME : QRL_INVALID_ID, NULL);
    return;
  }
  if (!qrl_password_format_ok(pw)) {
    qrl_http_error(c, QRL_BAD_PASSWORD_FORMAT, NULL);
    return;
  }
  start_rules(r, portal ? who : "", portal ? "" : who, c->ip);
  if (refused(srv, c, r, 3)) return;
  if (!(t = qrl_task_new(srv, c, portal ? "portal_start" : "otp_start"))) {
    qrl_server_refund(srv, r, 3);
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  if (portal) snprintf(t->username, sizeof(t->username), "%s", who);
  else snprintf(t->citizen_id, sizeof(t->citizen_id), "%s", who);
  snprintf(t->password, sizeof(t->password), "%s", pw);
  t->run = start_run;
  t->done = start_done;
  qrl_http_submit(c, t);
}

/* ---- resend ---------------------------------------------------------------- */

static void resend_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_otp_resend(db, &t->srv->opol, t->binding, &rc, &t->otp, &t->retry_in);
  if (!t->rc && (t->rc = qrl_server_send_sms(db, t, &t->otp)))
    qrl_otp_undeliverable(db, t->binding, &rc);
  qrl_cleanse(t->otp.code, sizeof(t->otp.code));
}

static void resend_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_rl_rule r;
  cJSON *o;
  qrl_rl_rule_set(&r, "sms:ip", t->ip, SMS_IP_LIMIT, SMS_WINDOW);
  if (!t->rc) qrl_server_push_sms(srv, t);
  else qrl_server_refund(srv, &r, 1); /* nothing sent */
  if (!c) return;
  if (t->rc) {
    o = NULL;
    if (t->rc == QRL_RATE_LIMITED && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
    qrl_http_error(c, t->rc, o);
    return;
  }
  if ((o = cJSON_CreateObject())) {
    cJSON_AddNumberToObject(o, "expires_in", t->otp.expires_in);
    cJSON_AddNumberToObject(o, "resend_in", t->otp.resend_in);
  }
  qrl_http_json(c, o, NULL);
}

/* ---- verify ---------------------------------------------------------------- */

static void verify_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_otp_verify(db, &t->srv->pol, &t->srv->opol, t->binding, t->otp_code, &rc,
                         t->token, &t->web, &t->left);
  qrl_cleanse(t->otp_code, sizeof(t->otp_code));
}

static void verify_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_rl_rule r;
  cJSON *o;
  qrl_rl_rule_set(&r, "otp:ip", t->ip, OTP_IP_LIMIT, OTP_WINDOW);
  if (t->rc != QRL_OTP_WRONG && t->rc != QRL_OTP_VOID)
    qrl_server_refund(srv, &r, 1); /* not a wrong code */
  if (!c) return;
  if (t->rc) {
    o = NULL;
    if (t->rc == QRL_OTP_WRONG && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "attempts_left", t->left);
    qrl_http_error(c, t->rc, o);
    return;
  }
  if ((o = cJSON_CreateObject())) {
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "redirect", "/portal.html");
  }
  qrl_http_json(c, o, t->token);
}

/* ---- "Cập nhật từ CSDL Quốc gia về dân cư" -------------------------------- */

static void verify_id_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_web_session(db, &t->srv->pol, t->session, t->now, &t->web);
  if (!t->rc && !t->web.portal.id) t->rc = QRL_FORBIDDEN;
  if (!t->rc) t->rc = qrl_portal_verify_id(db, t->web.portal.id, t->citizen_id, &rc);
}

static void verify_id_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_rl_rule r[2];
  cJSON *o;
  if (t->rc != QRL_POPULATION_MISMATCH) { /* only a mismatch is a guess */
    vid_rules(r, t->ip, t->session);
    qrl_server_refund(srv, r, 2);
  }
  if (!c) return;
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  if ((o = cJSON_CreateObject())) cJSON_AddBoolToObject(o, "ok", 1);
  qrl_http_json(c, o, NULL);
}

/* ---- routing --------------------------------------------------------------- */

/* Reads {"attempt"} (and "otp" when want_code) into t. */
static qrl_err read_attempt(const cJSON *body, qrl_task *t, int want_code) {
  const char *a, *code;
  qrl_err rc = qrl_json_str(body, "attempt", QRL_TOKEN_B64LEN, &a);
  if (rc) return rc;
  snprintf(t->binding, sizeof(t->binding), "%s", a);
  if (!want_code) return QRL_OK;
  /* Any string up to 16 chars; a malformed code is a wrong code (otp.c). */
  if ((rc = qrl_json_str(body, "otp", 16, &code))) return rc;
  snprintf(t->otp_code, sizeof(t->otp_code), "%s", code);
  return QRL_OK;
}

int qrl_http_otp_route(qrl_server *srv, qrl_conn *c, const char *path,
                       const cJSON *body) {
  qrl_task *t;
  qrl_err rc;
  qrl_rl_rule r[2];
  int verify_id = strcmp(path, "/portal/verify-id") == 0;
  int verify = strcmp(path, "/otp/verify") == 0;

  if (strcmp(path, "/otp/start") == 0 || strcmp(path, "/portal/start") == 0) {
    start(srv, c, body, path[1] == 'p');
    return 1;
  }
  if (!verify && !verify_id && strcmp(path, "/otp/resend")) return 0;
  if (!(t = qrl_task_new(srv, c, path + 1))) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return 1;
  }
  /* The request's shape first: a malformed one is named, and costs no token. */
  if (verify_id) {
    const char *id;
    if (!c->cookie[0]) rc = QRL_NOT_AUTHENTICATED;
    else rc = qrl_json_str(body, "citizen_id", 16, &id);
    if (!rc && !qrl_citizen_id_valid(id, strlen(id))) rc = QRL_INVALID_ID;
    if (!rc) {
      snprintf(t->citizen_id, sizeof(t->citizen_id), "%s", id);
      memcpy(t->session, c->cookie, sizeof(t->session));
      t->run = verify_id_run;
      t->done = verify_id_done;
    }
  } else {
    rc = read_attempt(body, t, verify);
    t->run = verify ? verify_run : resend_run;
    t->done = verify ? verify_done : resend_done;
  }
  if (rc) {
    qrl_http_error(c, rc, NULL);
    goto drop;
  }
  if (verify_id) vid_rules(r, c->ip, t->session);
  else if (verify) qrl_rl_rule_set(&r[0], "otp:ip", c->ip, OTP_IP_LIMIT, OTP_WINDOW);
  else qrl_rl_rule_set(&r[0], "sms:ip", c->ip, SMS_IP_LIMIT, SMS_WINDOW);
  if (refused(srv, c, r, verify_id ? 2 : 1)) goto drop;
  qrl_http_submit(c, t);
  return 1;
drop:
  qrl_cleanse(t, sizeof(*t));
  free(t);
  return 1;
}
