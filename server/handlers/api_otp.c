/*
 * api_otp.c - ID/username + password + SMS code, and "Cập nhật từ CSDL Quốc
 * gia về dân cư" (api_otp.h). Slow work goes to workers.
 */
#include "handlers/api_otp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/websession.h"
#include "helpers/crypto.h"
#include "glue/jsonio.h"
#include "domain/legacy.h"
#include "domain/otp.h"
#include "glue/rules.h"
#include "glue/sms_relay.h"
#include "glue/metrics.h"

/* ---- start (citizen ID or portal username) -------------------------------- */

typedef struct start_task {
  qrl_task base;
  char username[65];     /* a portal account's, or "" */
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  char password[129];
  qrl_otp_sent otp;
  qrl_sms_sent sms;
} start_task;

static void start_run(qrl_task *t, qrl_db *db) {
  start_task *s = qrl_container_of(t, start_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  if (s->username[0])
    t->rc = qrl_otp_start_portal(db, sv->pol, sv->opol, s->username, s->password, &rc,
                                 &s->otp);
  else
    t->rc = qrl_otp_start_citizen(db, sv->pol, sv->opol, s->citizen_id, s->password, &rc,
                                  &s->otp);
  qrl_cleanse(s->password, sizeof(s->password));
  if (!t->rc &&
      (t->rc = qrl_sms_relay_send(sv->sms, db, s->otp.phone, s->otp.code, t->now, &s->sms)))
    qrl_otp_undeliverable(db, s->otp.attempt, &rc);
  qrl_cleanse(s->otp.code, sizeof(s->otp.code));
}

static void start_done(qrl_task *t, qrl_conn *c) {
  start_task *s = qrl_container_of(t, start_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  cJSON *o = NULL;
  if (!t->rc) {
    qrl_sms_relay_push(sv->conns, s->otp.phone, t->now, &s->sms);
    qrl_metrics_login(sv->metrics, s->username[0] ? QRL_LOGIN_PORTAL_OTP : QRL_LOGIN_PASSWORD_OTP,
                      QRL_LOGIN_STARTED);
  }
  if (!c) return;
  if (t->rc) {
    /* Held by the account's limit as the database keeps it: say how long,
     * as for the loop's own refusal (qrl_http_throttled). */
    if (t->rc == QRL_RATE_LIMITED && t->retry_in > 0 && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
    qrl_http_error(c, t->rc, o);
    return;
  }
  if ((o = cJSON_CreateObject())) {
    cJSON_AddStringToObject(o, "attempt", s->otp.attempt);
    cJSON_AddStringToObject(o, "phone", s->otp.phone_masked);
    cJSON_AddNumberToObject(o, "expires_in", s->otp.expires_in);
    cJSON_AddNumberToObject(o, "resend_in", s->otp.resend_in);
    cJSON_AddNumberToObject(o, "digits", QRL_OTP_DIGITS);
  }
  qrl_http_json(c, o, NULL);
}

static const qrl_task_type otp_start_type = {"otp_start", start_run, start_done};
static const qrl_task_type portal_start_type = {"portal_start", start_run, start_done};

static void start(qrl_services *sv, qrl_conn *c, const cJSON *body, int portal) {
  const char *who, *pw;
  start_task *s;
  qrl_err rc;

  rc = qrl_json_str(body, portal ? "username" : "id", 64, &who);
  if (!rc) rc = qrl_json_str(body, "password", 128, &pw);
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  /* Malformed input is named before anything is looked up or counted. */
  rc = portal ? (qrl_portal_username_valid(who) ? QRL_OK : QRL_INVALID_USERNAME)
              : qrl_citizen_id_check(who, strlen(who));
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  if (!qrl_password_format_ok(pw)) {
    qrl_http_error(c, QRL_BAD_PASSWORD_FORMAT, NULL);
    return;
  }
  s = (start_task *)qrl_task_new(sv->tasks, c, portal ? &portal_start_type : &otp_start_type,
                                 sizeof(*s));
  if (!s) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  if (portal) snprintf(s->username, sizeof(s->username), "%s", who);
  else snprintf(s->citizen_id, sizeof(s->citizen_id), "%s", who);
  snprintf(s->password, sizeof(s->password), "%s", pw);
  /* The tokens stay spent only for what they count: a wrong password
   * (ID/username and IP), an SMS sent (IP). */
  qrl_rules_password(&s->base.hold, s->username, s->citizen_id, c->ip);
  qrl_rules_sms(&s->base.hold, c->ip);
  if (qrl_http_throttled(c, &s->base)) return;
  qrl_http_submit(c, &s->base);
}

static void otp_start_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  start(sv, c, body, 0);
}

static void portal_start_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  start(sv, c, body, 1);
}

/* ---- resend and verify: the attempt's code --------------------------------- */

typedef struct attempt_task {
  qrl_task base;
  char attempt[QRL_TOKEN_B64LEN + 1];
  char code[17]; /* verify: as typed; validated (and counted) by otp.c */
  qrl_otp_sent otp;
  qrl_sms_sent sms;
  int64_t retry_in;
  int left;
  int kiosk; /* verify: from the kiosk page ("kiosk": true) */
  char token[QRL_SESSION_B64LEN + 1];
  qrl_web_session web;
} attempt_task;

static void resend_run(qrl_task *t, qrl_db *db) {
  attempt_task *a = qrl_container_of(t, attempt_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_otp_resend(db, sv->opol, a->attempt, &rc, &a->otp, &a->retry_in);
  if (!t->rc &&
      (t->rc = qrl_sms_relay_send(sv->sms, db, a->otp.phone, a->otp.code, t->now, &a->sms)))
    qrl_otp_undeliverable(db, a->attempt, &rc);
  qrl_cleanse(a->otp.code, sizeof(a->otp.code));
}

static void resend_done(qrl_task *t, qrl_conn *c) {
  attempt_task *a = qrl_container_of(t, attempt_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  cJSON *o = NULL;
  if (!t->rc) qrl_sms_relay_push(sv->conns, a->otp.phone, t->now, &a->sms);
  if (!c) return;
  if (t->rc) {
    if (t->rc == QRL_RATE_LIMITED && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "retry_in", (double)a->retry_in);
    qrl_http_error(c, t->rc, o);
    return;
  }
  if ((o = cJSON_CreateObject())) {
    cJSON_AddNumberToObject(o, "expires_in", a->otp.expires_in);
    cJSON_AddNumberToObject(o, "resend_in", a->otp.resend_in);
  }
  qrl_http_json(c, o, NULL);
}

static void verify_run(qrl_task *t, qrl_db *db) {
  attempt_task *a = qrl_container_of(t, attempt_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = (a->kiosk ? qrl_otp_verify_kiosk : qrl_otp_verify)(
      db, sv->pol, sv->opol, a->attempt, a->code, &rc, a->token, &a->web, &a->left);
  qrl_cleanse(a->code, sizeof(a->code));
}

static void verify_done(qrl_task *t, qrl_conn *c) {
  attempt_task *a = qrl_container_of(t, attempt_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  cJSON *o = NULL;
  /* A failed attempt's kind is not known here: expiries count as
   * password_otp. */
  if (!t->rc)
    qrl_metrics_login(sv->metrics, qrl_metrics_method_of(a->web.method), QRL_LOGIN_COMPLETED);
  else if (t->rc == QRL_OTP_EXPIRED)
    qrl_metrics_login(sv->metrics, QRL_LOGIN_PASSWORD_OTP, QRL_LOGIN_EXPIRED);
  if (!c) return;
  if (t->rc) {
    if (t->rc == QRL_OTP_WRONG && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "attempts_left", a->left);
    /* Refused by the shared throttle (task.h): say how long. */
    if (t->rc == QRL_RATE_LIMITED && t->retry_in > 0 && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
    qrl_http_error(c, t->rc, o);
    return;
  }
  qrl_http_logged_in(c, a->token);
}

static const qrl_task_type resend_type = {"otp/resend", resend_run, resend_done};
static const qrl_task_type verify_type = {"otp/verify", verify_run, verify_done};

static void attempt_route(qrl_services *sv, qrl_conn *c, const cJSON *body, int verify) {
  const char *attempt, *code = NULL;
  int kiosk = 0;
  attempt_task *a;
  /* The request's shape first: a malformed one is named, and costs no token. */
  qrl_err rc = qrl_json_str(body, "attempt", QRL_TOKEN_B64LEN, &attempt);
  /* Any string up to 16 chars; a malformed code is a wrong code (otp.c). */
  if (!rc && verify) rc = qrl_json_str(body, "otp", 16, &code);
  /* The kiosk page's: a shared machine's session (optional, false if absent). */
  if (!rc && verify && cJSON_GetObjectItemCaseSensitive(body, "kiosk"))
    rc = qrl_json_bool(body, "kiosk", &kiosk);
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  a = (attempt_task *)qrl_task_new(sv->tasks, c, verify ? &verify_type : &resend_type,
                                   sizeof(*a));
  if (!a) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  snprintf(a->attempt, sizeof(a->attempt), "%s", attempt);
  if (code) snprintf(a->code, sizeof(a->code), "%s", code);
  a->kiosk = kiosk;
  if (verify) qrl_rules_otp(&a->base.hold, c->ip);
  else qrl_rules_sms(&a->base.hold, c->ip);
  if (qrl_http_throttled(c, &a->base)) return;
  qrl_http_submit(c, &a->base);
}

static void resend_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  attempt_route(sv, c, body, 0);
}

static void verify_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  attempt_route(sv, c, body, 1);
}

/* ---- "Cập nhật từ CSDL Quốc gia về dân cư" -------------------------------- */

typedef struct verify_id_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  qrl_web_session web;
} verify_id_task;

static void verify_id_run(qrl_task *t, qrl_db *db) {
  verify_id_task *v = qrl_container_of(t, verify_id_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_web_session(db, sv->pol, v->session, &rc, &v->web);
  if (!t->rc && !v->web.portal.id) t->rc = QRL_FORBIDDEN;
  if (!t->rc) t->rc = qrl_portal_verify_id(db, v->web.portal.id, v->citizen_id, &rc);
}

static void verify_id_done(qrl_task *t, qrl_conn *c) {
  cJSON *o = NULL;
  if (!c) return;
  if (t->rc) {
    /* Refused by the shared throttle (task.h): say how long. */
    if (t->rc == QRL_RATE_LIMITED && t->retry_in > 0 && (o = cJSON_CreateObject()))
      cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
    qrl_http_error(c, t->rc, o);
    return;
  }
  if ((o = cJSON_CreateObject())) cJSON_AddBoolToObject(o, "ok", 1);
  qrl_http_json(c, o, NULL);
}

static const qrl_task_type verify_id_type = {"portal/verify-id", verify_id_run,
                                             verify_id_done};

static void verify_id_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  const char *id;
  verify_id_task *v;
  qrl_err rc = qrl_json_str(body, "citizen_id", 16, &id);
  if (!rc) rc = qrl_citizen_id_check(id, strlen(id));
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  v = (verify_id_task *)qrl_task_new(sv->tasks, c, &verify_id_type, sizeof(*v));
  if (!v) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  snprintf(v->citizen_id, sizeof(v->citizen_id), "%s", id);
  memcpy(v->session, c->cookie, sizeof(v->session));
  /* Only a mismatch is a guess: any other outcome gives the tokens back. */
  if ((rc = qrl_rules_verify_id(&v->base.hold, c->ip, v->session))) {
    qrl_task_free(&v->base);
    qrl_http_error(c, rc, NULL);
    return;
  }
  if (qrl_http_throttled(c, &v->base)) return;
  qrl_http_submit(c, &v->base);
}

/* path, POST?, JSON body?, cookie?, handler */
static const qrl_route routes[] = {
    {"/otp/start", 1, 1, 0, otp_start_route},
    {"/portal/start", 1, 1, 0, portal_start_route},
    {"/otp/verify", 1, 1, 0, verify_route},
    {"/otp/resend", 1, 1, 0, resend_route},
    {"/portal/verify-id", 1, 1, 1, verify_id_route},
};

qrl_err qrl_api_otp_attach(qrl_http *h) {
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
