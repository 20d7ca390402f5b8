/*
 * phone_qr.c - the phone's side of the QR login: scan, set_permission,
 * confirm and decline (ws_phone.h has the sequence). Account checks and
 * signatures run on workers; challenge transitions run on the loop, in the
 * store, after them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue/audit.h"
#include "helpers/b64.h"
#include "domain/challenge.h"
#include "domain/oidc_clients.h"
#include "domain/oidc_grants.h"
#include "helpers/clock.h"
#include "glue/config.h"
#include "helpers/crypto.h"
#include "glue/jsonio.h"
#include "glue/metrics.h"
#include "helpers/netaddr.h"
#include "handlers/phone.h"
#include "glue/reply.h"
#include "glue/rules.h"
#include "domain/store.h"
#include "helpers/useragent.h"
#include "handlers/ws_browser.h"

/* ---- scan ----------------------------------------------------------------- */

struct scan_task;

typedef struct scan_arg {
  const struct scan_task *s;
  uint64_t phone_conn;
  int64_t seen_ms; /* when the frame counts as seen (a held scan's, or now) */
  int64_t now_ms;
  int64_t grace_ms; /* --scan-grace: the phone's time to confirm */
  int proximity; /* policy, config.h */
} scan_arg;

typedef struct scan_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_app_auth auth;
  qrl_qr_payload qr; /* the frame scanned: its code proves the QR was seen */
  char oidc_req[24]; /* the challenge's /oauth2/authorize request, "" */
  char relying[QRL_CLIENT_NAME_MAX + 1]; /* its portal's registered name, "" */
  scan_arg a;        /* the store's transition runs on it (until it answers) */
  qrl_err rc;        /* the answer being given */
  const char *detail; /* its audit detail, or NULL */
} scan_task;

/* Under the store: PENDING -> SCANNED, with the proximity policy. */
static qrl_err scan_fn(qrl_challenge *ch, void *arg) {
  scan_arg *a = arg;
  const qrl_app_auth *auth = &a->s->auth;
  int far = !qrl_ip_same_network(a->s->base.ip, ch->browser_ip);
  qrl_err rc;
  if (far && a->proximity == QRL_PROX_REFUSE && ch->state == QRL_CHAL_PENDING) {
    /* Still check the frame first: a stranger's guess is "unknown". */
    qrl_challenge probe = *ch;
    rc = qrl_challenge_scan_seen(&probe, &a->s->qr, auth->citizen.id, auth->device_id,
                                 a->phone_conn, a->seen_ms, a->now_ms);
    qrl_cleanse(&probe, sizeof(probe));
    return rc ? rc : QRL_PROXIMITY;
  }
  rc = qrl_challenge_scan_seen(ch, &a->s->qr, auth->citizen.id, auth->device_id,
                               a->phone_conn, a->seen_ms, a->now_ms);
  if (!rc) {
    ch->far = far;
    qrl_challenge_extend(ch, a->now_ms + a->grace_ms);
  }
  return rc;
}

/* Under the store: the permission is off, the citizen is granting it. */
static qrl_err hold_fn(qrl_challenge *ch, void *arg) {
  scan_arg *a = arg;
  return qrl_challenge_hold(ch, &a->s->qr, a->s->auth.citizen.id, a->s->auth.device_id,
                            a->now_ms, a->grace_ms);
}

/* Whether c holds exactly this frame, held for this device. */
static int holds(const qrl_conn *c, const qrl_qr_payload *qr, int64_t device_id) {
  return c->held_seen_ms > 0 && c->held_device == device_id &&
         strcmp(c->held.id, qr->id) == 0 && c->held.frame == qr->frame &&
         qrl_ct_equal(c->held.code, qr->code, QRL_FRAME_CODE_B64LEN);
}

/* The phone that scanned, if its socket is still open. */
static qrl_conn *phone_of(qrl_services *sv, const qrl_task *t) {
  return qrl_conn_find(sv->conns, t->conn_id);
}

/* The scan's story ends: audited with the login's flow id (a refused scan
 * of a live QR is part of that login's story too: the challenge as the
 * store answered now, else as it was read before the worker) and the task
 * freed. */
static void scan_end(scan_task *s, const qrl_challenge *ch) {
  qrl_services *sv = qrl_task_ctx(&s->base);
  const char *who = s->auth.citizen.id;
  const char *flow = ch && ch->flow[0] ? ch->flow : s->base.flow[0] ? s->base.flow : NULL;
  qrl_audit_row(sv->audit, phone_of(sv, &s->base), "scan", s->rc, who[0] ? who : NULL,
                s->detail, flow);
  qrl_task_end(&s->base);
}

static void scan_refuse(scan_task *s, qrl_err rc) {
  qrl_conn *c = phone_of(qrl_task_ctx(&s->base), &s->base);
  s->rc = rc;
  if (c) qrl_send_error(c, rc, s->base.type->name);
  scan_end(s, NULL);
}

/* The permission is off: the citizen is about to grant it (three
 * confirmations, the passcode: minutes at human speed), longer than a frame
 * lives and maybe than the code. If the frame is genuine and fresh now, for
 * this account and device, the phone's socket keeps it with the time it was
 * seen, so that this phone's rescan of it after the grant is not stale (the
 * hold proves no more than the scan would have: the QR was on a page at
 * that moment); the code lives --scan-grace more, and its page is told. */
static void held(void *ud, qrl_err rc, const qrl_challenge *ch) {
  scan_task *s = ud;
  qrl_services *sv = qrl_task_ctx(&s->base);
  qrl_conn *c = phone_of(sv, &s->base);
  if (!rc && c) {
    c->held = s->qr;
    c->held_seen_ms = s->a.now_ms;
    c->held_device = s->auth.device_id;
    s->detail = "frame_held_for_grant";
    if (ch->state == QRL_CHAL_PENDING) {
      qrl_store_note n = {QRL_STORE_HELD, NULL, QRL_OK};
      qrl_store_tell(sv->store, ch, &n);
    }
  }
  s->rc = QRL_NOT_PERMITTED;
  if (c) qrl_send_error(c, s->rc, s->base.type->name);
  scan_end(s, ch);
}

static void scan_run(qrl_task *t, qrl_db *db) {
  scan_task *s = qrl_container_of(t, scan_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  t->rc = qrl_acct_app_auth(db, sv->pol, s->session, t->now, &s->auth);
  /* The relying portal a login for an authorize request is for: the name
   * the admin registered (checked again: clean UTF-8, no control
   * characters). Not found (the request expired): the phone names ours. */
  if (!t->rc && s->oidc_req[0]) {
    qrl_oidc_authz a;
    qrl_client cl;
    memset(&cl, 0, sizeof(cl));
    if (!qrl_oidc_authz_load(db, s->oidc_req, t->now, &a) &&
        !qrl_client_get(db, a.client_id, &cl) && qrl_client_name_valid(cl.name))
      memcpy(s->relying, cl.name, sizeof(s->relying));
    qrl_client_clear(&cl);
  }
}

/* A refusal of a passcode says what the phone needs to tell the citizen:
 * how many tries are left (wrong_passcode: "tries_left", and the message
 * says it), or until when the account is locked (locked: "locked_until",
 * unix seconds: the phone shows it in its own local time). */
static void send_passcode_error(qrl_conn *c, qrl_err err, const char *req,
                                const qrl_app_auth *auth) {
  cJSON *o;
  char vi[160], en[64];

  if ((err != QRL_WRONG_PASSCODE || auth->passcode_left <= 0) &&
      (err != QRL_LOCKED || auth->passcode_locked_until <= 0)) {
    qrl_send_error(c, err, req);
    return;
  }
  if (!(o = qrl_json_error_obj(err, req))) return;
  if (err == QRL_WRONG_PASSCODE) {
    snprintf(vi, sizeof(vi), "%s Bạn còn %d lần thử.", qrl_err_message_vi(err),
             auth->passcode_left);
    snprintf(en, sizeof(en), "%s: %d tries left", qrl_strerror(err), auth->passcode_left);
    cJSON_ReplaceItemInObjectCaseSensitive(o, "message", cJSON_CreateString(vi));
    cJSON_ReplaceItemInObjectCaseSensitive(o, "message_en", cJSON_CreateString(en));
    cJSON_AddNumberToObject(o, "tries_left", auth->passcode_left);
  } else {
    cJSON_AddNumberToObject(o, "locked_until", (double)auth->passcode_locked_until);
  }
  if (c->wsi) qrl_metrics_error(qrl_services_of(c->wsi)->metrics, err);
  qrl_send_json(c, o);
}

/* What the phone shows before the citizen confirms: who asks, from where,
 * and when: requested_at is when this scan reached the server (the login
 * request the citizen answers), created_at when the page showed the QR. */
static cJSON *scan_ok_msg(const qrl_services *sv, const qrl_challenge *ch,
                          const qrl_citizen *who, int64_t now_ms, int64_t requested_at,
                          const char *relying) {
  cJSON *o = qrl_json_msg("scan_ok"), *p, *b, *arr;
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "challenge", ch->id);
  if ((p = cJSON_AddObjectToObject(o, "portal"))) {
    cJSON_AddStringToObject(p, "name", ch->portal_name);
    cJSON_AddStringToObject(p, "origin", ch->portal_origin);
  }
  /* A login for a relying portal (/oauth2/authorize): the phone names it,
   * "<name> yêu cầu đăng nhập". */
  if (relying && relying[0] && (p = cJSON_AddObjectToObject(o, "relying_portal")))
    cJSON_AddStringToObject(p, "name", relying);
  if ((b = cJSON_AddObjectToObject(o, "browser"))) {
    char summary[96];
    qrl_ua_summary(ch->browser_ua, summary, sizeof(summary));
    cJSON_AddStringToObject(b, "ip", ch->browser_ip);
    cJSON_AddStringToObject(b, "user_agent", ch->browser_ua);
    cJSON_AddStringToObject(b, "summary", summary);
  }
  cJSON_AddNumberToObject(o, "created_at", (double)ch->created_at);
  cJSON_AddNumberToObject(o, "requested_at", (double)requested_at);
  /* A kiosk: the phone says where the shared machine is. */
  if (ch->kiosk) {
    cJSON *k = cJSON_AddObjectToObject(o, "kiosk");
    if (k) cJSON_AddStringToObject(k, "name", sv->cfg->kiosk_name);
  }
  /* Proximity: a risk signal the citizen and the policy can weigh. */
  cJSON_AddStringToObject(o, "proximity", ch->far ? "different_network" : "same_network");
  cJSON_AddBoolToObject(o, "step_up", ch->far && sv->cfg->proximity == QRL_PROX_STEP_UP);
  /* Number matching: which of these is on the login page? */
  if ((arr = cJSON_AddArrayToObject(o, "numbers")))
    for (int i = 0; i < QRL_MATCH_CHOICES; i++)
      cJSON_AddItemToArray(arr, cJSON_CreateNumber(ch->choices[i]));
  cJSON_AddNumberToObject(o, "expires_in", (double)((ch->expires_ms - now_ms) / 1000));
  qrl_json_add_account(o, who);
  return o;
}

/* The store has run the scan. */
static void scanned(void *ud, qrl_err rc, const qrl_challenge *ch) {
  scan_task *s = ud;
  qrl_services *sv = qrl_task_ctx(&s->base);
  qrl_conn *c = phone_of(sv, &s->base);

  s->rc = rc;
  if (!c) {
    scan_end(s, ch);
    return;
  }
  if (rc) {
    qrl_send_error(c, rc, s->base.type->name);
    scan_end(s, ch);
    return;
  }
  if (c->held_seen_ms) { /* used, or another frame since: the hold is spent */
    qrl_cleanse(&c->held, sizeof(c->held));
    c->held_seen_ms = 0;
  }
  qrl_send_json(c, scan_ok_msg(sv, ch, &s->auth.citizen, s->a.now_ms, s->base.now,
                               s->relying));
  s->detail = ch->far ? "proximity=different_network" : "proximity=same_network";
  scan_end(s, ch);
}

static void scan_done(qrl_task *t, qrl_conn *c) {
  scan_task *s = qrl_container_of(t, scan_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  const qrl_citizen *who = &s->auth.citizen;
  int64_t now_ms = qrl_clock_mono_ms(sv->clock);
  qrl_err rc = t->rc;

  if (!c) return;
  s->a = (scan_arg){s, t->conn_id, now_ms, now_ms, sv->cfg->scan_grace * 1000,
                    sv->cfg->proximity};
  qrl_task_keep(t); /* until the store has answered and the row is written */
  if (!rc)
    rc = qrl_throttle_hit_err(sv->thr, c, "phone:acct", who->id, QRL_RL_PHONE_ACCT,
                              QRL_RL_PHONE_WINDOW); /* rate_limited, or unavailable */
  if (!rc && who->level < sv->cfg->required_level) rc = QRL_LEVEL_TOO_LOW;
  if (rc) {
    scan_refuse(s, rc);
  } else if (!who->web_login) {
    if (holds(c, &s->qr, s->auth.device_id)) { /* seen earlier: keep that */
      s->detail = "frame_held_for_grant";
      scan_refuse(s, QRL_NOT_PERMITTED);
    } else {
      qrl_store_apply(sv->store, s->qr.id, hold_fn, &s->a, held, s);
    }
  } else {
    if (holds(c, &s->qr, s->auth.device_id)) s->a.seen_ms = c->held_seen_ms;
    qrl_store_apply(sv->store, s->qr.id, scan_fn, &s->a, scanned, s);
  }
}

static const qrl_task_type scan_type = {QRL_MSG_SCAN, scan_run, scan_done};

/* The challenge scanned, before the worker: which relying portal its page
 * serves (kept with the challenge, so it is known on any node). */
static void scan_fetched(qrl_task *t, qrl_err rc, const qrl_challenge *ch) {
  scan_task *s = qrl_container_of(t, scan_task, base);
  if (rc) return;
  memcpy(s->oidc_req, ch->oidc_req, sizeof(s->oidc_req));
  memcpy(t->flow, ch->flow, sizeof(t->flow)); /* its audit rows name the login */
}

qrl_err qrl_phone_prep_scan(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                            qrl_task **out) {
  char session[QRL_SESSION_B64LEN + 1];
  qrl_qr_payload qp;
  const char *qr;
  scan_task *s;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "qr", 256, &qr))) return rc;
  if ((rc = qrl_qr_payload_parse(qr, strlen(qr), &qp))) return rc;
  if ((rc = qrl_phone_session(msg, session))) return rc;
  if (!(s = (scan_task *)qrl_task_new(sv->tasks, c, &scan_type, sizeof(*s))))
    return QRL_NOMEM;
  memcpy(s->session, session, sizeof(session));
  s->qr = qp;
  /* Which relying portal, if any: the request the page showing this code
   * serves (its socket's "?oidc="), looked up on the worker. */
  qrl_task_fetch(&s->base, qp.id, scan_fetched);
  *out = &s->base;
  return QRL_OK;
}

/* ---- set_permission ------------------------------------------------------- */

typedef struct setperm_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  char passcode[QRL_PASSCODE_LEN + 1];
  int value;
  qrl_app_auth auth;
} setperm_task;

static void setperm_run(qrl_task *t, qrl_db *db) {
  setperm_task *p = qrl_container_of(t, setperm_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_app_auth(db, sv->pol, p->session, t->now, &p->auth);
  if (!t->rc)
    t->rc = qrl_acct_set_web_login(db, sv->pol, &p->auth, p->value, p->passcode, &rc);
  qrl_cleanse(p->passcode, sizeof(p->passcode));
}

static void setperm_done(qrl_task *t, qrl_conn *c) {
  setperm_task *p = qrl_container_of(t, setperm_task, base);
  if (!c) return;
  if (t->rc) {
    send_passcode_error(c, t->rc, t->type->name, &p->auth);
    return;
  }
  /* The passcode was proved on this socket: a QR login it confirms from
   * now on ran the passcode step-up (amr "pin"). */
  if (p->value) c->pin_ok_ms = qrl_clock_mono_ms(((qrl_services *)qrl_task_ctx(t))->clock);
  qrl_phone_reply_account(c, "set_permission_ok", &p->auth.citizen, NULL);
}

static const qrl_task_type setperm_type = {QRL_MSG_SET_PERMISSION, setperm_run,
                                           setperm_done};

qrl_err qrl_phone_prep_setperm(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out) {
  char session[QRL_SESSION_B64LEN + 1];
  const char *perm, *pc;
  setperm_task *p;
  int value;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "permission", 32, &perm))) return rc;
  if (strcmp(perm, QRL_PERM_WEB_LOGIN) != 0) return QRL_BAD_MESSAGE;
  if ((rc = qrl_json_bool(msg, "value", &value))) return rc;
  if (qrl_json_str(msg, "passcode", 16, &pc)) return QRL_BAD_PASSCODE_FORMAT;
  if (!qrl_passcode_valid(pc, strlen(pc))) return QRL_BAD_PASSCODE_FORMAT;
  if ((rc = qrl_phone_session(msg, session))) return rc;
  if (!(p = (setperm_task *)qrl_task_new(sv->tasks, c, &setperm_type, sizeof(*p))))
    return QRL_NOMEM;
  memcpy(p->session, session, sizeof(session));
  memcpy(p->passcode, pc, QRL_PASSCODE_LEN + 1);
  p->value = value;
  *out = &p->base;
  return QRL_OK;
}

/* ---- confirm / decline ---------------------------------------------------- */

typedef struct decide_arg {
  const qrl_app_auth *auth;
  qrl_decision decision;
  int number;
  int64_t now_ms;
} decide_arg;

typedef struct decide_task {
  qrl_task base;
  decide_arg a; /* the store's transition runs on it (until it answers) */
  char session[QRL_SESSION_B64LEN + 1];
  char passcode[QRL_PASSCODE_LEN + 1]; /* step-up, if the policy asks */
  qrl_app_auth auth;
  qrl_challenge chal; /* a copy: its scanned frame and origin are what was signed */
  qrl_err chal_refusal; /* what its state says: told only to a valid app session */
  qrl_decision decision;
  int step_up; /* the passcode was proved during this login (amr pin) */
  int number; /* confirm: the matching number the user picked */
  int64_t ts;
  uint8_t sig[QRL_SIG_MAX];
  size_t siglen;
} decide_task;

static qrl_err decide_fn(qrl_challenge *ch, void *arg) {
  decide_arg *a = arg;
  return qrl_challenge_decide(ch, a->auth->citizen.id, a->auth->device_id, a->decision,
                              a->number, a->now_ms);
}

/* Worker: the app session, then the signature over the canonical string. */
static void decide_run(qrl_task *t, qrl_db *db) {
  decide_task *d = qrl_container_of(t, decide_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  const qrl_citizen *who = &d->auth.citizen;
  char msg[512];
  size_t mlen;
  int64_t skew = d->ts - t->now;

  t->rc = qrl_acct_app_auth(db, sv->pol, d->session, t->now, &d->auth);
  if (!t->rc) t->rc = d->chal_refusal;
  /* The account as it is now: permission and level may have changed since
   * the scan (checked again when the session is written). */
  if (!t->rc && d->decision == QRL_DECISION_CONFIRM) {
    if (!who->web_login) t->rc = QRL_NOT_PERMITTED;
    else if (who->level < sv->pol->required_level) t->rc = QRL_LEVEL_TOO_LOW;
  }
  if (t->rc) goto out;
  if (skew > QRL_SIGN_SKEW || skew < -QRL_SIGN_SKEW) {
    t->rc = QRL_STALE_TIMESTAMP;
    goto out;
  }
  /* Signed: the frame this phone scanned, the portal, the account, the
   * number picked, the time, the decision. */
  t->rc = qrl_sign_string(&d->chal.scanned, d->chal.portal_origin, who->id, d->number,
                          d->ts, d->decision, msg, sizeof(msg), &mlen);
  if (t->rc) goto out;
  t->rc = qrl_ec_verify(d->auth.device_pub, msg, mlen, d->sig, d->siglen);
  if (t->rc == QRL_BAD_DEVICE_KEY) t->rc = QRL_BAD_SIGNATURE;
  /* Step-up: a confirm from another network than the browser's needs the
   * passcode too (--proximity step-up), counted and locked like any other. */
  if (!t->rc && d->decision == QRL_DECISION_CONFIRM && d->chal.far &&
      sv->cfg->proximity == QRL_PROX_STEP_UP) {
    qrl_req_ctx rc = qrl_task_req(t);
    t->rc = qrl_acct_check_passcode(db, sv->pol, &d->auth,
                                    d->passcode[0] ? d->passcode : NULL, &rc);
    if (!t->rc) d->step_up = 1;
  }
  d->auth.step_up = d->step_up;
out:
  qrl_cleanse(d->passcode, sizeof(d->passcode));
}

/* ---- the completion: web session written, browser told, phone logged out --- */

typedef struct complete_task {
  qrl_task base;
  qrl_app_auth auth;
  qrl_challenge chal;
  char code[QRL_SESSION_B64LEN + 1];
} complete_task;

static void complete_run(qrl_task *t, qrl_db *db) {
  complete_task *k = qrl_container_of(t, complete_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  /* The confirm's own audit row goes in the same transaction. */
  qrl_audit_rec confirm = {QRL_MSG_CONFIRM, QRL_OK, k->auth.citizen.id, 0, NULL, rc};
  t->rc = qrl_acct_complete_web_login(db, sv->pol, &k->auth, k->chal.binding,
                                      k->chal.kiosk ? "qr_kiosk" : "qr", &rc, &confirm,
                                      k->code);
}

/* Loop: the completion is recorded (or failed): tell the browser that still
 * shows this challenge, and log the phone out. */
static void complete_done(qrl_task *t, qrl_conn *c) {
  complete_task *k = qrl_container_of(t, complete_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_store_note n = {QRL_STORE_COMPLETED, k->code, t->rc};
  cJSON *o;

  qrl_store_tell(sv->store, &k->chal, &n); /* to the page, on whichever node */
  if (!c) return; /* the phone left; its app session is revoked anyway */
  if (t->rc) {
    qrl_send_error(c, t->rc, QRL_MSG_CONFIRM);
    return;
  }
  if ((o = qrl_json_msg("confirm_ok"))) {
    cJSON_AddStringToObject(o, "challenge", k->chal.id);
    qrl_send_json(c, o);
  }
  if ((o = qrl_json_msg(QRL_MSG_LOGOUT))) {
    cJSON_AddStringToObject(o, "reason", "web_login_completed");
    cJSON_AddStringToObject(o, "message", "Đã tự động đăng xuất khỏi ứng dụng VNeID");
    qrl_send_json(c, o);
  }
}

static const qrl_task_type complete_type = {QRL_MSG_CONFIRM, complete_run, complete_done};

/* The store has run the decision (or refused it). */
static void decided(void *ud, qrl_err rc, const qrl_challenge *ch) {
  decide_task *d = ud;
  qrl_task *t = &d->base;
  qrl_services *sv = qrl_task_ctx(t);
  qrl_conn *c = phone_of(sv, t);
  const char *id = d->auth.citizen.id;
  complete_task *k;

  if (ch) d->chal = *ch;
  /* A confirm that goes on to write its session has its row written with
   * the session, in one transaction (complete_run). */
  if (rc || d->decision == QRL_DECISION_DECLINE)
    qrl_audit_row(sv->audit, c, t->type->name, rc, id[0] ? id : NULL, NULL,
                  d->chal.flow[0] ? d->chal.flow : NULL);
  if (rc) {
    if (c) send_passcode_error(c, rc, t->type->name, &d->auth);
    goto out;
  }
  if (d->decision == QRL_DECISION_DECLINE) {
    cJSON *o;
    if (c && (o = qrl_json_msg("decline_ok"))) {
      cJSON_AddStringToObject(o, "challenge", d->chal.id);
      qrl_send_json(c, o);
    }
    goto out;
  }
  /* Consumed exactly once (above); now write the web session. */
  k = (complete_task *)qrl_task_new(sv->tasks, c, &complete_type, sizeof(*k));
  if (k) {
    k->base.conn_id = t->conn_id; /* the phone, even if it has just left */
    memcpy(k->base.ip, t->ip, sizeof(t->ip));
    memcpy(k->base.ua, t->ua, sizeof(t->ua));
    memcpy(k->base.flow, d->chal.flow, sizeof(k->base.flow));
    k->chal = d->chal;
    k->auth = d->auth;
    if (qrl_task_submit(&k->base) == QRL_OK) goto out;
  }
  /* The challenge is spent but no session was made: fail closed. */
  qrl_audit_row(sv->audit, c, t->type->name, QRL_OK, id, NULL,
                d->chal.flow[0] ? d->chal.flow : NULL);
  {
    qrl_store_note n = {QRL_STORE_COMPLETED, NULL, QRL_UNAVAILABLE};
    qrl_store_tell(sv->store, &d->chal, &n);
  }
  if (c) qrl_send_error(c, QRL_UNAVAILABLE, t->type->name);
out:
  qrl_task_end(t);
}

static void decide_done(qrl_task *t, qrl_conn *c) {
  decide_task *d = qrl_container_of(t, decide_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_err rc = t->rc;

  d->a = (decide_arg){&d->auth, d->decision, d->number, qrl_clock_mono_ms(sv->clock)};
  if (!rc)
    rc = qrl_throttle_hit_err(sv->thr, c, "phone:acct", d->auth.citizen.id,
                              QRL_RL_PHONE_ACCT, QRL_RL_PHONE_WINDOW);
  qrl_task_keep(t); /* until the store has answered */
  if (rc) decided(d, rc, NULL);
  else qrl_store_apply(sv->store, d->chal.id, decide_fn, &d->a, decided, d);
}

static const qrl_task_type confirm_type = {QRL_MSG_CONFIRM, decide_run, decide_done};

/* The challenge decided on, before the worker: a copy (its scanned frame and
 * origin are what the phone signed) and what its state says. */
static void decide_fetched(qrl_task *t, qrl_err rc, const qrl_challenge *ch) {
  decide_task *d = qrl_container_of(t, decide_task, base);
  const qrl_conn *c = phone_of(qrl_task_ctx(t), t);
  /* Its state is told only to a valid app session (decide_run): the id is
   * in the QR, and a QR observer has no business learning more. */
  if (rc) d->chal_refusal = rc == QRL_UNAVAILABLE ? rc : QRL_CHALLENGE_UNKNOWN;
  else if ((rc = qrl_challenge_state_error(ch->state))) d->chal_refusal = rc;
  else if (ch->state == QRL_CHAL_PENDING) d->chal_refusal = QRL_CHALLENGE_NOT_SCANNED;
  if (ch) d->chal = *ch;
  if (d->chal.flow[0]) memcpy(t->flow, d->chal.flow, sizeof(t->flow));
  /* A permission grant with the passcode on this socket after the
   * challenge was made (strictly: a grant the phone made before the page
   * showed its code, in the same millisecond, is not this login's): this
   * login ran the passcode step-up. */
  d->step_up = !d->chal_refusal && c && c->pin_ok_ms && c->pin_ok_ms > d->chal.created_ms;
}
static const qrl_task_type decline_type = {QRL_MSG_DECLINE, decide_run, decide_done};

static qrl_err prep_decide(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                           qrl_decision decision, qrl_task **out) {
  char session[QRL_SESSION_B64LEN + 1];
  const char *id, *sig, *pc = NULL;
  uint8_t raw[QRL_SIG_MAX];
  long long ts, num = 0;
  long n;
  decide_task *d;
  qrl_err rc;

  if ((rc = qrl_json_str(msg, "challenge", QRL_TOKEN_B64LEN, &id))) return rc;
  if ((rc = qrl_json_int(msg, "ts", 0, 4102444800.0, &ts))) return rc;
  if ((rc = qrl_json_str(msg, "sig", 128, &sig))) return rc;
  if (decision == QRL_DECISION_CONFIRM) {
    if ((rc = qrl_json_int(msg, "number", 10, 99, &num))) return rc;
    /* The step-up passcode, when the policy asks for one. */
    if (qrl_json_str_opt(msg, "passcode", 16, &pc)) return QRL_BAD_PASSCODE_FORMAT;
    if (pc && !qrl_passcode_valid(pc, strlen(pc))) return QRL_BAD_PASSCODE_FORMAT;
  }
  n = qrl_b64url_decode(sig, strlen(sig), raw, sizeof(raw));
  if (n <= 0) return QRL_BAD_SIGNATURE;
  if ((rc = qrl_phone_session(msg, session))) return rc;
  d = (decide_task *)qrl_task_new(
      sv->tasks, c, decision == QRL_DECISION_CONFIRM ? &confirm_type : &decline_type,
      sizeof(*d));
  if (!d) return QRL_NOMEM;
  memcpy(d->session, session, sizeof(session));
  if (pc) memcpy(d->passcode, pc, QRL_PASSCODE_LEN + 1);
  memcpy(d->sig, raw, (size_t)n);
  d->siglen = (size_t)n;
  d->number = (int)num;
  d->ts = ts;
  d->decision = decision;
  qrl_task_fetch(&d->base, id, decide_fetched);
  *out = &d->base;
  return QRL_OK;
}

qrl_err qrl_phone_prep_confirm(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out) {
  return prep_decide(sv, c, msg, QRL_DECISION_CONFIRM, out);
}

qrl_err qrl_phone_prep_decline(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out) {
  return prep_decide(sv, c, msg, QRL_DECISION_DECLINE, out);
}
