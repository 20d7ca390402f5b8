/*
 * ws_phone.c - the phone's websocket (subprotocol qrlogin.phone.v1).
 *
 * Turns phone requests into account work on a worker (app session checks,
 * scrypt) and challenge transitions on the loop (the store), in that order:
 *
 *   login          worker: password, device, app session
 *   status         worker: app session
 *   scan           worker: app session -> loop: level, permission, PENDING->SCANNED
 *   set_permission worker: app session, passcode (attempt-limited)
 *   confirm        worker: app session, signature -> loop: SCANNED->COMPLETED
 *                  -> worker: web session + code, app session revoked
 *                  -> loop: "completed" to the owning browser, "logout" to phone
 *   decline        worker: app session, signature -> loop: SCANNED->DECLINED
 *   logout         worker: app session revoked
 *
 * Every request is validated before any work; a refusal names its error and
 * changes nothing. Not here: the browser's socket (ws_browser.c).
 */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jsonio.h"
#include "netaddr.h"
#include "useragent.h"
#include "server.h"

/* ---- challenge transitions run under the store ---------------------------- */

typedef struct scan_arg {
  const qrl_qr_payload *qr; /* the frame scanned: its code proves the QR was seen */
  const qrl_app_auth *auth;
  uint64_t phone_conn;
  int64_t now;
  const char *phone_ip;
  int proximity; /* policy, config.h */
} scan_arg;

static qrl_err scan_fn(qrl_challenge *ch, void *arg) {
  scan_arg *a = arg;
  int far = !qrl_ip_same_network(a->phone_ip, ch->browser_ip);
  qrl_err rc;
  if (far && a->proximity == QRL_PROX_REFUSE && ch->state == QRL_CHAL_PENDING) {
    /* Still check the frame first: a stranger's guess is "unknown". */
    qrl_challenge probe = *ch;
    rc = qrl_challenge_scan(&probe, a->qr, a->auth->citizen.id, a->auth->device_id,
                            a->phone_conn, a->now);
    qrl_cleanse(&probe, sizeof(probe));
    return rc ? rc : QRL_PROXIMITY;
  }
  rc = qrl_challenge_scan(ch, a->qr, a->auth->citizen.id, a->auth->device_id,
                          a->phone_conn, a->now);
  if (!rc) ch->far = far;
  return rc;
}

typedef struct decide_arg {
  const qrl_app_auth *auth;
  qrl_decision decision;
  int number;
  int64_t now;
} decide_arg;

static qrl_err decide_fn(qrl_challenge *ch, void *arg) {
  decide_arg *a = arg;
  return qrl_challenge_decide(ch, a->auth->citizen.id, a->auth->device_id,
                              a->decision, a->number, a->now);
}

/* ---- answers -------------------------------------------------------------- */

static void reply_account(qrl_conn *c, const char *type, const qrl_citizen *who,
                          const char *session) {
  cJSON *o = qrl_json_msg(type);
  if (!o) return;
  if (session) cJSON_AddStringToObject(o, "session", session);
  qrl_json_add_account(o, who);
  qrl_send_json(c, o);
}

static void reply_challenge(qrl_conn *c, const char *type, const char *id) {
  cJSON *o = qrl_json_msg(type);
  if (!o) return;
  cJSON_AddStringToObject(o, "challenge", id);
  qrl_send_json(c, o);
}

/* ---- login / status / logout ---------------------------------------------- */

static void login_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_app_login(db, &t->srv->pol, t->citizen_id, t->password,
                             t->pub, t->device_name[0] ? t->device_name : NULL,
                             &rc, t->token, &t->who);
}

/* The app login's password is counted in the buckets of the web page's
 * password step (qrl_pw_rules): whichever door, the same budget. */
static void login_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_rl_rule r[2];
  qrl_pw_rules(r, "", t->citizen_id, t->ip);
  qrl_server_pw_settle(srv, r, t->rc);
  if (!c) return;
  if (t->rc) qrl_send_error(c, t->rc, t->req);
  else reply_account(c, "login_ok", &t->who, t->token);
}

static void auth_run(qrl_db *db, qrl_task *t) {
  t->rc = qrl_acct_app_auth(db, &t->srv->pol, t->session, t->now, &t->auth);
}

static void status_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  (void)srv;
  if (!c) return;
  if (t->rc) qrl_send_error(c, t->rc, t->req);
  else reply_account(c, "status_ok", &t->auth.citizen, NULL);
}

static void logout_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_app_auth(db, &t->srv->pol, t->session, t->now, &t->auth);
  if (!t->rc) t->rc = qrl_acct_app_logout(db, t->session, &rc);
}

static void logout_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o;
  (void)srv;
  if (!c) return;
  if (t->rc) {
    qrl_send_error(c, t->rc, t->req);
    return;
  }
  o = qrl_json_msg("logout_ok");
  if (o) qrl_send_json(c, o);
}

/* ---- scan ----------------------------------------------------------------- */

static void scan_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_challenge ch;
  scan_arg a = {&t->chal.scanned, &t->auth, t->conn_id, qrl_clock_mono_ms(qrl_clock_system()), t->ip,
                srv->cfg->proximity};
  cJSON *o, *p, *b;
  qrl_err rc = t->rc;

  if (!c) return;
  if (rc) goto fail;
  if (!qrl_server_throttle(srv, c, "phone:acct", t->auth.citizen.id, QRL_RL_PHONE_ACCT,
                           QRL_RL_PHONE_WINDOW)) {
    rc = QRL_RATE_LIMITED;
    goto fail;
  }
  if (t->auth.citizen.level < srv->cfg->required_level) {
    rc = QRL_LEVEL_TOO_LOW;
    goto fail;
  }
  if (!t->auth.citizen.web_login) {
    rc = QRL_NOT_PERMITTED;
    goto fail;
  }
  rc = qrl_store_apply(srv->store, t->chal.id, scan_fn, &a, &ch);
  if (rc) goto fail;
  o = qrl_json_msg("scan_ok");
  if (!o) return;
  cJSON_AddStringToObject(o, "challenge", ch.id);
  p = cJSON_AddObjectToObject(o, "portal");
  b = cJSON_AddObjectToObject(o, "browser");
  if (p) {
    cJSON_AddStringToObject(p, "name", ch.portal_name);
    cJSON_AddStringToObject(p, "origin", ch.portal_origin);
  }
  if (b) {
    char summary[96];
    qrl_ua_summary(ch.browser_ua, summary, sizeof(summary));
    cJSON_AddStringToObject(b, "ip", ch.browser_ip);
    cJSON_AddStringToObject(b, "user_agent", ch.browser_ua);
    cJSON_AddStringToObject(b, "summary", summary);
  }
  cJSON_AddNumberToObject(o, "created_at", (double)ch.created_at);
  /* A kiosk: the phone says where the shared machine is. */
  if (ch.kiosk) {
    cJSON *k = cJSON_AddObjectToObject(o, "kiosk");
    if (k) cJSON_AddStringToObject(k, "name", srv->cfg->kiosk_name);
  }
  /* Proximity: a risk signal the citizen and the policy can weigh. */
  cJSON_AddStringToObject(o, "proximity", ch.far ? "different_network" : "same_network");
  cJSON_AddBoolToObject(o, "step_up", ch.far && srv->cfg->proximity == QRL_PROX_STEP_UP);
  /* Number matching: which of these is on the login page? */
  {
    cJSON *arr = cJSON_AddArrayToObject(o, "numbers");
    for (int i = 0; arr && i < QRL_MATCH_CHOICES; i++)
      cJSON_AddItemToArray(arr, cJSON_CreateNumber(ch.choices[i]));
  }
  cJSON_AddNumberToObject(o, "expires_in", (double)((ch.expires_ms - a.now) / 1000));
  qrl_json_add_account(o, &t->auth.citizen);
  qrl_send_json(c, o);
  qrl_server_audit(srv, c, "scan", QRL_OK, t->auth.citizen.id,
                   ch.far ? "proximity=different_network" : "proximity=same_network",
                   ch.flow);
  return;
fail:
  qrl_send_error(c, rc, t->req);
  /* A refused scan of a live QR is part of that login's story too. */
  if (qrl_store_get(srv->store, t->chal.id, &ch)) ch.flow[0] = '\0';
  qrl_server_audit(srv, c, "scan", rc,
                   t->auth.citizen.id[0] ? t->auth.citizen.id : NULL, NULL,
                   ch.flow[0] ? ch.flow : NULL);
}

/* ---- set_permission ------------------------------------------------------- */

static void setperm_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_app_auth(db, &t->srv->pol, t->session, t->now, &t->auth);
  if (!t->rc)
    t->rc = qrl_acct_set_web_login(db, &t->srv->pol, &t->auth, t->value,
                                   t->passcode, &rc);
}

static void setperm_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  (void)srv;
  if (!c) return;
  if (t->rc) qrl_send_error(c, t->rc, t->req);
  else reply_account(c, "set_permission_ok", &t->auth.citizen, NULL);
}

/* ---- confirm / decline ---------------------------------------------------- */

/* Worker: the app session, then the signature over the canonical string. */
static void decide_run(qrl_db *db, qrl_task *t) {
  char msg[512];
  size_t mlen;
  int64_t skew = t->ts - t->now;

  t->rc = qrl_acct_app_auth(db, &t->srv->pol, t->session, t->now, &t->auth);
  if (!t->rc) t->rc = t->chal_refusal;
  /* The account as it is now: permission and level may have changed since
   * the scan (checked again when the session is written). */
  if (!t->rc && t->decision == QRL_DECISION_CONFIRM) {
    if (!t->auth.citizen.web_login) t->rc = QRL_NOT_PERMITTED;
    else if (t->auth.citizen.level < t->srv->pol.required_level) t->rc = QRL_LEVEL_TOO_LOW;
  }
  if (t->rc) return;
  if (skew > QRL_SIGN_SKEW || skew < -QRL_SIGN_SKEW) {
    t->rc = QRL_STALE_TIMESTAMP;
    return;
  }
  /* Signed: the frame this phone scanned, the portal, the account, the
   * number picked, the time, the decision. */
  t->rc = qrl_sign_string(&t->chal.scanned, t->chal.portal_origin, t->auth.citizen.id,
                          t->number, t->ts, t->decision, msg, sizeof(msg), &mlen);
  if (t->rc) return;
  t->rc = qrl_ec_verify(t->auth.device_pub, msg, mlen, t->sig, t->siglen);
  if (t->rc == QRL_BAD_DEVICE_KEY) t->rc = QRL_BAD_SIGNATURE;
  /* Step-up: a confirm from another network than the browser's needs the
   * passcode too (--proximity step-up), counted and locked like any other. */
  if (!t->rc && t->decision == QRL_DECISION_CONFIRM && t->chal.far &&
      t->srv->cfg->proximity == QRL_PROX_STEP_UP) {
    qrl_req_ctx rc = qrl_task_ctx(t);
    t->rc = qrl_acct_check_passcode(db, &t->srv->pol, &t->auth,
                                    t->passcode[0] ? t->passcode : NULL, &rc);
  }
  qrl_cleanse(t->passcode, sizeof(t->passcode));
}

static void complete_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_complete_web_login(db, &t->srv->pol, &t->auth, t->chal.binding,
                                      t->chal.kiosk ? "qr_kiosk" : "qr", &rc, t->code);
}

/* Loop: the completion is recorded; tell the browser and log the phone out. */
static void complete_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  qrl_conn *b = qrl_conn_find(&srv->conns, t->chal.browser_conn);
  cJSON *o;

  if (b && b->kind == QRL_CONN_BROWSER) {
    if (t->rc) {
      qrl_send_error(b, t->rc, NULL);
    } else if ((o = qrl_json_msg(QRL_MSG_COMPLETED))) {
      cJSON_AddStringToObject(o, "id", t->chal.id);
      cJSON_AddStringToObject(o, "code", t->code);
      qrl_send_json(b, o);
    }
  }
  if (!c) return; /* the phone left; its app session is revoked anyway */
  if (t->rc) {
    qrl_send_error(c, t->rc, "confirm");
    return;
  }
  reply_challenge(c, "confirm_ok", t->chal.id);
  if ((o = qrl_json_msg(QRL_MSG_LOGOUT))) {
    cJSON_AddStringToObject(o, "reason", "web_login_completed");
    cJSON_AddStringToObject(o, "message", "Đã tự động đăng xuất khỏi ứng dụng VNeID");
    qrl_send_json(c, o);
  }
}

static void decide_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  decide_arg a = {&t->auth, t->decision, t->number, qrl_clock_mono_ms(qrl_clock_system())};
  const char *event = t->decision == QRL_DECISION_CONFIRM ? "confirm" : "decline";
  qrl_task *next;
  qrl_err rc = t->rc;

  if (!rc && !qrl_server_throttle(srv, c, "phone:acct", t->auth.citizen.id,
                                  QRL_RL_PHONE_ACCT, QRL_RL_PHONE_WINDOW))
    rc = QRL_RATE_LIMITED;
  if (!rc) rc = qrl_store_apply(srv->store, t->chal.id, decide_fn, &a, &t->chal);
  qrl_server_audit(srv, c, event, rc,
                   t->auth.citizen.id[0] ? t->auth.citizen.id : NULL, NULL,
                   t->chal.flow[0] ? t->chal.flow : NULL);
  if (rc) {
    if (c) qrl_send_error(c, rc, t->req);
    return;
  }
  if (t->decision == QRL_DECISION_DECLINE) {
    if (c) reply_challenge(c, "decline_ok", t->chal.id);
    return;
  }
  /* Consumed exactly once (above); now write the web session. */
  next = qrl_task_new(srv, c, "confirm");
  if (!next) goto fail;
  next->conn_id = t->conn_id;
  next->chal = t->chal;
  next->auth = t->auth;
  next->run = complete_run;
  next->done = complete_done;
  if (qrl_task_submit(next) == QRL_OK) return;
fail:
  /* The challenge is spent but no session was made: fail closed. */
  {
    qrl_conn *b = qrl_conn_find(&srv->conns, t->chal.browser_conn);
    if (b) qrl_send_error(b, QRL_UNAVAILABLE, NULL);
    if (c) qrl_send_error(c, QRL_UNAVAILABLE, t->req);
  }
}

/* ---- dispatch ------------------------------------------------------------- */

/* Each prep_* checks the request's shape (bad_message, bad_qr, ...) before
 * the session, so a malformed request is named as such whoever sends it. */

static qrl_err copy_session(qrl_task *t, const cJSON *msg) {
  const char *s;
  qrl_err rc = qrl_json_str(msg, "session", QRL_SESSION_B64LEN, &s);
  if (rc) return rc;
  if (strlen(s) != QRL_SESSION_B64LEN) return QRL_SESSION_INVALID;
  memcpy(t->session, s, QRL_SESSION_B64LEN + 1);
  return QRL_OK;
}

static qrl_err prep_login(qrl_task *t, const cJSON *msg) {
  const char *id, *pw, *key, *name;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "id", 32, &id))) return rc;
  if ((rc = qrl_json_str(msg, "password", 128, &pw))) return rc;
  if ((rc = qrl_json_str(msg, "device_key", 128, &key))) return rc;
  if ((rc = qrl_json_str_opt(msg, "device_name", 64, &name))) return rc;
  if (!qrl_citizen_id_valid(id, strlen(id))) return QRL_INVALID_ID;
  if (qrl_b64url_decode(key, strlen(key), t->pub, sizeof(t->pub)) !=
      QRL_PUBKEY_BYTES)
    return QRL_BAD_DEVICE_KEY;
  snprintf(t->citizen_id, sizeof(t->citizen_id), "%s", id);
  snprintf(t->password, sizeof(t->password), "%s", pw);
  if (name) snprintf(t->device_name, sizeof(t->device_name), "%s", name);
  t->run = login_run;
  t->done = login_done;
  return QRL_OK;
}

static qrl_err prep_scan(qrl_task *t, const cJSON *msg) {
  qrl_qr_payload qp;
  const char *qr;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "qr", 256, &qr))) return rc;
  if ((rc = qrl_qr_payload_parse(qr, strlen(qr), &qp))) return rc;
  if ((rc = copy_session(t, msg))) return rc;
  memcpy(t->chal.id, qp.id, sizeof(t->chal.id));
  t->chal.scanned = qp;
  t->run = auth_run;
  t->done = scan_done;
  return QRL_OK;
}

static qrl_err prep_setperm(qrl_task *t, const cJSON *msg) {
  const char *perm, *pc;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "permission", 32, &perm))) return rc;
  if (strcmp(perm, QRL_PERM_WEB_LOGIN) != 0) return QRL_BAD_MESSAGE;
  if ((rc = qrl_json_bool(msg, "value", &t->value))) return rc;
  if ((rc = qrl_json_str(msg, "passcode", 16, &pc))) return QRL_BAD_PASSCODE_FORMAT;
  if (!qrl_passcode_valid(pc, strlen(pc))) return QRL_BAD_PASSCODE_FORMAT;
  if ((rc = copy_session(t, msg))) return rc;
  memcpy(t->passcode, pc, QRL_PASSCODE_LEN + 1);
  t->run = setperm_run;
  t->done = setperm_done;
  return QRL_OK;
}

static qrl_err prep_decide(qrl_server *srv, qrl_task *t, const cJSON *msg,
                           qrl_decision d) {
  const char *id, *sig;
  long long ts;
  long n;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "challenge", QRL_TOKEN_B64LEN, &id))) return rc;
  if ((rc = qrl_json_int(msg, "ts", 0, 4102444800.0, &ts))) return rc;
  if ((rc = qrl_json_str(msg, "sig", 128, &sig))) return rc;
  if (d == QRL_DECISION_CONFIRM) {
    long long num;
    const char *pc = NULL;
    if ((rc = qrl_json_int(msg, "number", 10, 99, &num))) return rc;
    t->number = (int)num;
    /* The step-up passcode, when the policy asks for one. */
    if ((rc = qrl_json_str_opt(msg, "passcode", 16, &pc))) return QRL_BAD_PASSCODE_FORMAT;
    if (pc && !qrl_passcode_valid(pc, strlen(pc))) return QRL_BAD_PASSCODE_FORMAT;
    if (pc) memcpy(t->passcode, pc, QRL_PASSCODE_LEN + 1);
  }
  n = qrl_b64url_decode(sig, strlen(sig), t->sig, sizeof(t->sig));
  if (n <= 0) return QRL_BAD_SIGNATURE;
  t->siglen = (size_t)n;
  if ((rc = copy_session(t, msg))) return rc;
  t->ts = ts;
  t->decision = d;
  /* A copy of the challenge: its scanned frame and origin are what was
   * signed. Its state is told only to a valid app session (decide_run): the
   * id is in the QR, and a QR observer has no business learning more. */
  if (qrl_store_get(srv->store, id, &t->chal)) t->chal_refusal = QRL_CHALLENGE_UNKNOWN;
  else if ((rc = qrl_challenge_state_error(t->chal.state))) t->chal_refusal = rc;
  else if (t->chal.state == QRL_CHAL_PENDING) t->chal_refusal = QRL_CHALLENGE_NOT_SCANNED;
  t->run = decide_run;
  t->done = decide_done;
  return QRL_OK;
}

/* ---- "Không phải tôi": the account's recent web logins ---------------------- */

static void logins_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_app_auth(db, &t->srv->pol, t->session, t->now, &t->auth);
  if (t->rc) return;
  if (t->target_id)
    t->rc = qrl_acct_revoke_web_login(db, t->auth.citizen.id, t->target_id, &rc);
  else
    t->rc = qrl_acct_web_logins(db, t->auth.citizen.id, t->now, t->logins,
                                sizeof(t->logins) / sizeof(t->logins[0]), &t->nlogins);
}

static void logins_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o, *arr;
  (void)srv;
  if (!c) return;
  if (t->rc) {
    qrl_send_error(c, t->rc, t->req);
    return;
  }
  if (!(o = qrl_json_msg(t->target_id ? "revoke_web_login_ok" : "web_logins_ok"))) return;
  if (!t->target_id && (arr = cJSON_AddArrayToObject(o, "logins"))) {
    for (size_t i = 0; i < t->nlogins; i++) {
      cJSON *w = cJSON_CreateObject();
      if (!w) break;
      cJSON_AddNumberToObject(w, "id", (double)t->logins[i].id);
      cJSON_AddNumberToObject(w, "at", (double)t->logins[i].at);
      cJSON_AddStringToObject(w, "ip", t->logins[i].ip);
      cJSON_AddStringToObject(w, "user_agent", t->logins[i].user_agent);
      cJSON_AddStringToObject(w, "method", t->logins[i].method);
      cJSON_AddBoolToObject(w, "active", t->logins[i].active);
      cJSON_AddItemToArray(arr, w);
    }
  }
  if (t->target_id) cJSON_AddNumberToObject(o, "id", (double)t->target_id);
  qrl_send_json(c, o);
}

static qrl_err prep_logins(qrl_task *t, const cJSON *msg, int revoke) {
  qrl_err rc;
  if (revoke) {
    long long id;
    if ((rc = qrl_json_int(msg, "id", 1, 9007199254740991.0, &id))) return rc;
    t->target_id = id;
  }
  if ((rc = copy_session(t, msg))) return rc;
  t->run = logins_run;
  t->done = logins_done;
  return QRL_OK;
}

/* ---- the demo SMS network -------------------------------------------------- */

static void inbox_run(qrl_db *db, qrl_task *t) {
  t->rc = qrl_sms_sim_inbox(db, t->otp.phone, t->sms_id, t->inbox,
                            sizeof(t->inbox) / sizeof(t->inbox[0]), &t->ninbox);
}

static void inbox_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o, *arr;
  (void)srv;
  if (!c) return;
  if (t->rc) {
    qrl_send_error(c, t->rc, t->req);
    return;
  }
  /* From now on new messages to this number are pushed to this socket. */
  snprintf(c->sms_phone, sizeof(c->sms_phone), "%s", t->otp.phone);
  if (!(o = qrl_json_msg("sms_inbox_ok"))) return;
  cJSON_AddStringToObject(o, "phone", t->otp.phone);
  if ((arr = cJSON_AddArrayToObject(o, "messages"))) {
    for (size_t i = 0; i < t->ninbox; i++) {
      cJSON *m = cJSON_CreateObject();
      if (!m) break;
      cJSON_AddNumberToObject(m, "id", (double)t->inbox[i].id);
      cJSON_AddNumberToObject(m, "at", (double)t->inbox[i].at);
      cJSON_AddStringToObject(m, "text", t->inbox[i].text);
      cJSON_AddItemToArray(arr, m);
    }
  }
  qrl_send_json(c, o);
}

/* The simulated mobile network exists only in demo mode: in production SMS
 * go to a real provider and nobody can read them here. */
static qrl_err prep_inbox(qrl_server *srv, qrl_task *t, const cJSON *msg) {
  const char *phone;
  long long after = 0;
  qrl_err rc;
  if (!srv->cfg->demo) return QRL_UNKNOWN_TYPE;
  if ((rc = qrl_json_str(msg, "phone", 15, &phone))) return rc;
  if (!qrl_phone_valid(phone)) return QRL_BAD_MESSAGE;
  if (cJSON_GetObjectItemCaseSensitive(msg, "after") &&
      (rc = qrl_json_int(msg, "after", 0, 9007199254740991.0, &after)))
    return rc;
  snprintf(t->otp.phone, sizeof(t->otp.phone), "%s", phone);
  t->sms_id = after;
  t->run = inbox_run;
  t->done = inbox_done;
  return QRL_OK;
}

static void logout_prep(qrl_task *t) {
  t->run = logout_run;
  t->done = logout_done;
}

static void handle_message(qrl_server *srv, qrl_conn *c, struct lws *wsi) {
  cJSON *msg = NULL;
  const char *type = NULL;
  qrl_task *t = NULL;
  qrl_err rc;

  if (lws_frame_is_binary(wsi)) {
    rc = QRL_BAD_JSON;
    goto fail;
  }
  rc = qrl_json_parse_request(c->rx, c->rx_len, &msg, &type);
  if (rc) goto fail;
  if (strcmp(type, QRL_MSG_LOGIN) && strcmp(type, QRL_MSG_STATUS) &&
      strcmp(type, QRL_MSG_SCAN) && strcmp(type, QRL_MSG_SET_PERMISSION) &&
      strcmp(type, QRL_MSG_CONFIRM) && strcmp(type, QRL_MSG_DECLINE) &&
      strcmp(type, QRL_MSG_LOGOUT) && strcmp(type, QRL_MSG_SMS_INBOX) &&
      strcmp(type, QRL_MSG_WEB_LOGINS) && strcmp(type, QRL_MSG_REVOKE_WEB_LOGIN)) {
    rc = QRL_UNKNOWN_TYPE;
    goto fail;
  }
  /* req must outlive msg: use the protocol's own constant strings. */
  t = qrl_task_new(srv, c, NULL);
  if (!t) {
    rc = QRL_NOMEM;
    goto fail;
  }
  if (!strcmp(type, QRL_MSG_LOGIN)) {
    t->req = QRL_MSG_LOGIN;
    rc = prep_login(t, msg);
    if (!rc) {
      qrl_rl_rule r[2];
      qrl_pw_rules(r, "", t->citizen_id, c->ip);
      if (!qrl_server_take(srv, c, r, 2, &t->retry_in)) {
        rc = QRL_RATE_LIMITED;
        goto fail_retry;
      }
    }
  } else if (!strcmp(type, QRL_MSG_STATUS)) {
    t->req = QRL_MSG_STATUS;
    rc = copy_session(t, msg);
    t->run = auth_run;
    t->done = status_done;
  } else if (!strcmp(type, QRL_MSG_SCAN)) {
    t->req = QRL_MSG_SCAN;
    rc = prep_scan(t, msg);
  } else if (!strcmp(type, QRL_MSG_SET_PERMISSION)) {
    t->req = QRL_MSG_SET_PERMISSION;
    rc = prep_setperm(t, msg);
  } else if (!strcmp(type, QRL_MSG_CONFIRM)) {
    t->req = QRL_MSG_CONFIRM;
    rc = prep_decide(srv, t, msg, QRL_DECISION_CONFIRM);
  } else if (!strcmp(type, QRL_MSG_WEB_LOGINS)) {
    t->req = QRL_MSG_WEB_LOGINS;
    rc = prep_logins(t, msg, 0);
  } else if (!strcmp(type, QRL_MSG_REVOKE_WEB_LOGIN)) {
    t->req = QRL_MSG_REVOKE_WEB_LOGIN;
    rc = prep_logins(t, msg, 1);
  } else if (!strcmp(type, QRL_MSG_SMS_INBOX)) {
    t->req = QRL_MSG_SMS_INBOX;
    rc = prep_inbox(srv, t, msg);
  } else if (!strcmp(type, QRL_MSG_DECLINE)) {
    t->req = QRL_MSG_DECLINE;
    rc = prep_decide(srv, t, msg, QRL_DECISION_DECLINE);
  } else {
    t->req = QRL_MSG_LOGOUT;
    rc = copy_session(t, msg);
    logout_prep(t);
  }
  if (rc) goto fail;
  rc = qrl_task_submit(t);
  t = NULL; /* submitted or freed */
  if (rc) goto fail;
  goto out;
fail_retry: {
    /* Throttled (already audited): say when to try again. */
    cJSON *o = qrl_json_error_obj(rc, type);
    if (o) {
      cJSON_AddNumberToObject(o, "retry_in", (double)t->retry_in);
      qrl_send_json(c, o);
    }
    goto out;
  }
fail:
  qrl_send_error(c, rc, type);
  /* The event is ours, never the sender's text: an unknown type is a
   * "phone_message". */
  qrl_server_audit(srv, c, type && rc != QRL_UNKNOWN_TYPE ? type : "phone_message", rc,
                   NULL, NULL, NULL);
out:
  if (t) {
    qrl_cleanse(t, sizeof(*t));
    free(t);
  }
  cJSON_Delete(msg);
}

int qrl_phone_callback(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len) {
  qrl_conn *c = user;
  qrl_server *srv = qrl_server_of(wsi);

  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    /* A phone app sends no Origin; a web page always does, and must pass. */
    return qrl_ws_filter_origin(srv, c, wsi, 0);
  case LWS_CALLBACK_ESTABLISHED:
    qrl_conn_register(&srv->conns, c, wsi, QRL_CONN_PHONE);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    switch (qrl_conn_rx(c, wsi, in, len)) {
    case -1:
      qrl_server_audit(srv, c, "phone_message", QRL_FRAME_TOO_BIG, NULL, NULL, NULL);
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                       (unsigned char *)"too big", 7);
      return -1;
    case 1: {
      int ok = qrl_server_socket_budget(srv, c, wsi);
      if (ok > 0) handle_message(srv, c, wsi);
      qrl_conn_rx_reset(c);
      if (ok < 0) return -1;
      break;
    }
    default:
      break;
    }
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return qrl_conn_write_one(c);
  case LWS_CALLBACK_CLOSED:
    qrl_conn_release(&srv->conns, c);
    return 0;
  default:
    break;
  }
  return 0;
}
