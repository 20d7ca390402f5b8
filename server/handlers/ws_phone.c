/*
 * ws_phone.c - the phone's socket, its message table, and the account
 * requests: login, status, logout, web_logins, revoke_web_login, sms_inbox
 * (ws_phone.h). The QR login's requests are in phone_qr.c.
 */
#include "handlers/ws_phone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue/audit.h"
#include "helpers/b64.h"
#include "glue/config.h"
#include "helpers/crypto.h"
#include "glue/jsonio.h"
#include "glue/origin.h"
#include "handlers/phone.h"
#include "glue/reply.h"
#include "handlers/ws_browser.h"
#include "handlers/ws_common.h"
#include "glue/rules.h"
#include "domain/sms.h"
#include "domain/websession.h"

qrl_err qrl_phone_session(const cJSON *msg, char out[QRL_SESSION_B64LEN + 1]) {
  const char *s;
  qrl_err rc = qrl_json_str(msg, "session", QRL_SESSION_B64LEN, &s);
  if (rc) return rc;
  if (strlen(s) != QRL_SESSION_B64LEN) return QRL_SESSION_INVALID;
  memcpy(out, s, QRL_SESSION_B64LEN + 1);
  return QRL_OK;
}

void qrl_phone_reply_account(qrl_conn *c, const char *type, const qrl_citizen *who,
                             const char *session) {
  cJSON *o = qrl_json_msg(type);
  if (!o) return;
  if (session) cJSON_AddStringToObject(o, "session", session);
  qrl_json_add_account(o, who);
  qrl_send_json(c, o);
}

/* ---- login ------------------------------------------------------------------ */

typedef struct login_task {
  qrl_task base;
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  char password[129];
  uint8_t pub[QRL_PUBKEY_BYTES];
  char device_name[65];
  char token[QRL_SESSION_B64LEN + 1];
  qrl_citizen who;
} login_task;

static void login_run(qrl_task *t, qrl_db *db) {
  login_task *l = qrl_container_of(t, login_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_app_login(db, sv->pol, l->citizen_id, l->password, l->pub,
                             l->device_name[0] ? l->device_name : NULL, &rc, l->token,
                             &l->who);
  qrl_cleanse(l->password, sizeof(l->password));
}

static void login_done(qrl_task *t, qrl_conn *c) {
  login_task *l = qrl_container_of(t, login_task, base);
  if (!c) return;
  if (t->rc == QRL_RATE_LIMITED && t->retry_in > 0) {
    /* Held by the account's limit as the database keeps it (task.h). */
    cJSON *o = qrl_json_error_obj(QRL_RATE_LIMITED, t->type->name);
    if (o) cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
    qrl_send_json(c, o);
  } else if (t->rc) {
    qrl_send_error(c, t->rc, t->type->name);
  } else {
    qrl_phone_reply_account(c, "login_ok", &l->who, l->token);
  }
}

static const qrl_task_type login_type = {QRL_MSG_LOGIN, login_run, login_done};

static qrl_err prep_login(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                          qrl_task **out) {
  const char *id, *pw, *key, *name;
  uint8_t pub[QRL_PUBKEY_BYTES];
  login_task *l;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "id", 32, &id))) return rc;
  if ((rc = qrl_json_str(msg, "password", 128, &pw))) return rc;
  if ((rc = qrl_json_str(msg, "device_key", 128, &key))) return rc;
  if ((rc = qrl_json_str_opt(msg, "device_name", 64, &name))) return rc;
  if ((rc = qrl_citizen_id_check(id, strlen(id)))) return rc;
  if (qrl_b64url_decode(key, strlen(key), pub, sizeof(pub)) != QRL_PUBKEY_BYTES)
    return QRL_BAD_DEVICE_KEY;
  if (!(l = (login_task *)qrl_task_new(sv->tasks, c, &login_type, sizeof(*l))))
    return QRL_NOMEM;
  snprintf(l->citizen_id, sizeof(l->citizen_id), "%s", id);
  snprintf(l->password, sizeof(l->password), "%s", pw);
  memcpy(l->pub, pub, sizeof(pub));
  if (name) snprintf(l->device_name, sizeof(l->device_name), "%s", name);
  /* The app login's password is counted in the buckets of the web page's
   * password step: whichever door, the same budget. */
  qrl_rules_password(&l->base.hold, "", l->citizen_id, c->ip);
  *out = &l->base;
  return QRL_OK;
}

/* ---- status and logout: the app session ------------------------------------ */

typedef struct session_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_app_auth auth;
} session_task;

static void status_run(qrl_task *t, qrl_db *db) {
  session_task *s = qrl_container_of(t, session_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  t->rc = qrl_acct_app_auth(db, sv->pol, s->session, t->now, &s->auth);
}

static void status_done(qrl_task *t, qrl_conn *c) {
  session_task *s = qrl_container_of(t, session_task, base);
  if (!c) return;
  if (t->rc) qrl_send_error(c, t->rc, t->type->name);
  else qrl_phone_reply_account(c, "status_ok", &s->auth.citizen, NULL);
}

static void logout_run(qrl_task *t, qrl_db *db) {
  session_task *s = qrl_container_of(t, session_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_app_auth(db, sv->pol, s->session, t->now, &s->auth);
  if (!t->rc) t->rc = qrl_acct_app_logout(db, s->session, &rc);
}

static void logout_done(qrl_task *t, qrl_conn *c) {
  if (!c) return;
  if (t->rc) qrl_send_error(c, t->rc, t->type->name);
  else qrl_send_json(c, qrl_json_msg("logout_ok"));
}

static const qrl_task_type status_type = {QRL_MSG_STATUS, status_run, status_done};
static const qrl_task_type logout_type = {QRL_MSG_LOGOUT, logout_run, logout_done};

static qrl_err prep_session(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                            const qrl_task_type *type, qrl_task **out) {
  char session[QRL_SESSION_B64LEN + 1];
  session_task *s;
  qrl_err rc = qrl_phone_session(msg, session);
  if (rc) return rc;
  if (!(s = (session_task *)qrl_task_new(sv->tasks, c, type, sizeof(*s)))) return QRL_NOMEM;
  memcpy(s->session, session, sizeof(session));
  *out = &s->base;
  return QRL_OK;
}

static qrl_err prep_status(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                           qrl_task **out) {
  return prep_session(sv, c, msg, &status_type, out);
}

static qrl_err prep_logout(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                           qrl_task **out) {
  return prep_session(sv, c, msg, &logout_type, out);
}

/* ---- "Không phải tôi": the account's recent web logins ---------------------- */

typedef struct logins_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_app_auth auth;
  int64_t target_id; /* revoke_web_login: which one; 0 for the list */
  qrl_web_login logins[20];
  size_t nlogins;
} logins_task;

static void logins_run(qrl_task *t, qrl_db *db) {
  logins_task *l = qrl_container_of(t, logins_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_app_auth(db, sv->pol, l->session, t->now, &l->auth);
  if (t->rc) return;
  if (l->target_id)
    t->rc = qrl_acct_revoke_web_login(db, l->auth.citizen.id, l->target_id, &rc);
  else
    t->rc = qrl_acct_web_logins(db, sv->pol, l->auth.citizen.id, t->now, l->logins,
                                sizeof(l->logins) / sizeof(l->logins[0]), &l->nlogins);
}

static void logins_done(qrl_task *t, qrl_conn *c) {
  logins_task *l = qrl_container_of(t, logins_task, base);
  cJSON *o, *arr;
  if (!c) return;
  if (t->rc) {
    qrl_send_error(c, t->rc, t->type->name);
    return;
  }
  if (!(o = qrl_json_msg(l->target_id ? "revoke_web_login_ok" : "web_logins_ok"))) return;
  if (!l->target_id && (arr = cJSON_AddArrayToObject(o, "logins"))) {
    for (size_t i = 0; i < l->nlogins; i++) {
      cJSON *w = cJSON_CreateObject();
      if (!w) break;
      cJSON_AddNumberToObject(w, "id", (double)l->logins[i].id);
      cJSON_AddNumberToObject(w, "at", (double)l->logins[i].at);
      cJSON_AddStringToObject(w, "ip", l->logins[i].ip);
      cJSON_AddStringToObject(w, "user_agent", l->logins[i].user_agent);
      cJSON_AddStringToObject(w, "method", l->logins[i].method);
      cJSON_AddBoolToObject(w, "active", l->logins[i].active);
      cJSON_AddItemToArray(arr, w);
    }
  }
  if (l->target_id) cJSON_AddNumberToObject(o, "id", (double)l->target_id);
  qrl_send_json(c, o);
}

/* Revoked: its pages are told even if the phone has gone meanwhile. */
static void revoke_done(qrl_task *t, qrl_conn *c) {
  logins_task *l = qrl_container_of(t, logins_task, base);
  if (!t->rc)
    qrl_browser_push_session_ended(((qrl_services *)qrl_task_ctx(t))->conns, l->target_id,
                                   "revoked");
  logins_done(t, c);
}

static const qrl_task_type web_logins_type = {QRL_MSG_WEB_LOGINS, logins_run, logins_done};
static const qrl_task_type revoke_type = {QRL_MSG_REVOKE_WEB_LOGIN, logins_run, revoke_done};

static qrl_err prep_logins(qrl_services *sv, qrl_conn *c, const cJSON *msg, int revoke,
                           qrl_task **out) {
  char session[QRL_SESSION_B64LEN + 1];
  long long id = 0;
  logins_task *l;
  qrl_err rc;
  if (revoke && (rc = qrl_json_int(msg, "id", 1, 9007199254740991.0, &id))) return rc;
  if ((rc = qrl_phone_session(msg, session))) return rc;
  l = (logins_task *)qrl_task_new(sv->tasks, c, revoke ? &revoke_type : &web_logins_type,
                                  sizeof(*l));
  if (!l) return QRL_NOMEM;
  memcpy(l->session, session, sizeof(session));
  l->target_id = id;
  *out = &l->base;
  return QRL_OK;
}

static qrl_err prep_web_logins(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out) {
  return prep_logins(sv, c, msg, 0, out);
}

static qrl_err prep_revoke(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                           qrl_task **out) {
  return prep_logins(sv, c, msg, 1, out);
}

/* ---- the demo SMS network -------------------------------------------------- */

typedef struct inbox_task {
  qrl_task base;
  char phone[16];
  int64_t after;
  qrl_sms inbox[20];
  size_t n;
} inbox_task;

static void inbox_run(qrl_task *t, qrl_db *db) {
  inbox_task *b = qrl_container_of(t, inbox_task, base);
  t->rc = qrl_sms_sim_inbox(db, b->phone, b->after, b->inbox,
                            sizeof(b->inbox) / sizeof(b->inbox[0]), &b->n);
}

static void inbox_done(qrl_task *t, qrl_conn *c) {
  inbox_task *b = qrl_container_of(t, inbox_task, base);
  cJSON *o, *arr;
  if (!c) return;
  if (t->rc) {
    qrl_send_error(c, t->rc, t->type->name);
    return;
  }
  /* From now on new messages to this number are pushed to this socket. */
  snprintf(c->sms_phone, sizeof(c->sms_phone), "%s", b->phone);
  if (!(o = qrl_json_msg("sms_inbox_ok"))) return;
  cJSON_AddStringToObject(o, "phone", b->phone);
  if ((arr = cJSON_AddArrayToObject(o, "messages"))) {
    for (size_t i = 0; i < b->n; i++) {
      cJSON *m = cJSON_CreateObject();
      if (!m) break;
      cJSON_AddNumberToObject(m, "id", (double)b->inbox[i].id);
      cJSON_AddNumberToObject(m, "at", (double)b->inbox[i].at);
      cJSON_AddStringToObject(m, "text", b->inbox[i].text);
      cJSON_AddItemToArray(arr, m);
    }
  }
  qrl_send_json(c, o);
}

static const qrl_task_type inbox_type = {QRL_MSG_SMS_INBOX, inbox_run, inbox_done};

static qrl_err prep_inbox(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                          qrl_task **out) {
  const char *phone;
  long long after = 0;
  inbox_task *b;
  qrl_err rc;
  if ((rc = qrl_json_str(msg, "phone", 15, &phone))) return rc;
  if (!qrl_phone_valid(phone)) return QRL_BAD_MESSAGE;
  if (cJSON_GetObjectItemCaseSensitive(msg, "after") &&
      (rc = qrl_json_int(msg, "after", 0, 9007199254740991.0, &after)))
    return rc;
  if (!(b = (inbox_task *)qrl_task_new(sv->tasks, c, &inbox_type, sizeof(*b))))
    return QRL_NOMEM;
  snprintf(b->phone, sizeof(b->phone), "%s", phone);
  b->after = after;
  *out = &b->base;
  return QRL_OK;
}

/* ---- the message table and dispatch ----------------------------------------- */

typedef struct phone_msg {
  const char *type;  /* the protocol's constant: outlives the request */
  int demo_only;     /* the simulated mobile network exists only with --demo */
  qrl_phone_prep prep;
} phone_msg;

static const phone_msg messages[] = {
    {QRL_MSG_LOGIN, 0, prep_login},
    {QRL_MSG_STATUS, 0, prep_status},
    {QRL_MSG_SCAN, 0, qrl_phone_prep_scan},
    {QRL_MSG_SET_PERMISSION, 0, qrl_phone_prep_setperm},
    {QRL_MSG_CONFIRM, 0, qrl_phone_prep_confirm},
    {QRL_MSG_DECLINE, 0, qrl_phone_prep_decline},
    {QRL_MSG_LOGOUT, 0, prep_logout},
    {QRL_MSG_WEB_LOGINS, 0, prep_web_logins},
    {QRL_MSG_REVOKE_WEB_LOGIN, 0, prep_revoke},
    {QRL_MSG_SMS_INBOX, 1, prep_inbox},
};

static const phone_msg *find_msg(const qrl_services *sv, const char *type) {
  for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
    if (strcmp(messages[i].type, type) == 0)
      return messages[i].demo_only && !sv->cfg->demo ? NULL : &messages[i];
  return NULL;
}

static void handle_message(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  cJSON *msg = NULL;
  const char *type = NULL;
  const phone_msg *m = NULL;
  qrl_task *t = NULL;
  int64_t retry = 0;
  qrl_err rc;

  if (lws_frame_is_binary(wsi)) {
    rc = QRL_BAD_JSON;
    goto fail;
  }
  if ((rc = qrl_json_parse_request(c->rx, c->rx_len, &msg, &type))) goto fail;
  if (!(m = find_msg(sv, type))) {
    rc = QRL_UNKNOWN_TYPE;
    goto fail;
  }
  if ((rc = m->prep(sv, c, msg, &t))) goto fail;
  if (t->hold.n && !qrl_task_take(t, c, &retry)) {
    /* Throttled (already audited): say when to try again. */
    cJSON *o = qrl_json_error_obj(QRL_RATE_LIMITED, m->type);
    if (o) cJSON_AddNumberToObject(o, "retry_in", (double)retry);
    qrl_send_json(c, o);
    qrl_task_free(t);
    goto out;
  }
  if ((rc = qrl_task_submit(t))) goto fail; /* freed, its hold given back */
  /* A request in hand: its answer may take a while under load. */
  if (c->awaiting_proof) qrl_conn_await_proof(c, QRL_PHONE_PROOF_SECS);
  goto out;
fail:
  qrl_send_error(c, rc, type);
  /* The event is ours, never the sender's text: an unknown type is a
   * "phone_message". */
  qrl_audit_refusal(sv->audit, c, m ? m->type : "phone_message", rc, NULL);
out:
  cJSON_Delete(msg);
}

static int phone_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len) {
  qrl_conn *c = user;
  qrl_services *sv = qrl_services_of(wsi);

  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    /* A phone app sends no Origin; a web page always does, and must pass. */
    return qrl_origin_filter_ws(sv->cfg, sv->audit, c, wsi, 0);
  case LWS_CALLBACK_ESTABLISHED:
    qrl_ws_established(sv, c, wsi, QRL_CONN_PHONE);
    c->held_seen_ms = 0; /* no frame held for a permission grant yet */
    /* Until a request shows an app session or a password, the socket is
     * anyone's: it gets QRL_PHONE_PROOF_SECS (ws_phone.h), pings or not. */
    qrl_conn_await_proof(c, QRL_PHONE_PROOF_SECS);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    return qrl_ws_receive(sv, c, wsi, in, len, "phone_message", handle_message);
  case LWS_CALLBACK_RECEIVE_PONG:
    return qrl_ws_control(sv, c, wsi);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return qrl_ws_writeable(sv, c, wsi);
  case LWS_CALLBACK_TIMER:
    return qrl_ws_timer(c, wsi);
  case LWS_CALLBACK_CLOSED:
    qrl_ws_closed(sv, c);
    return 0;
  default:
    break;
  }
  return 0;
}

qrl_err qrl_phone_attach(qrl_server *srv) {
  static const struct lws_protocols proto = {
      QRL_SUBPROTO_PHONE, phone_callback, sizeof(qrl_conn), 512, 0, NULL, 0};
  return qrl_server_add_protocol(srv, &proto);
}
