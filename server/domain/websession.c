/*
 * websession.c - web sessions in SQLite (websession.h).
 */
#include "domain/websession.h"

#include <stdio.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/legacy.h"
#include "helpers/crypto.h"
#include "helpers/uuid.h"
#include "rows.h"
#include "sql.h"

qrl_err qrl_acct_exchange_code(qrl_db *db, const qrl_acct_policy *pol,
                               const char *code, const char *binding,
                               const qrl_req_ctx *rc,
                               char token[QRL_SESSION_B64LEN + 1],
                               qrl_web_session *out) {
  uint8_t ch[QRL_SHA256_LEN], bh[QRL_SHA256_LEN], th[QRL_SHA256_LEN];
  qrl_stmt *st;
  int64_t row = 0;
  qrl_err err = QRL_CODE_INVALID;
  char citizen[QRL_CITIZEN_ID_LEN + 1] = "", flow[QRL_UUID_STRLEN + 1] = "";
  qrl_req_ctx arc = *rc; /* audited under the login's flow id */
  int audited = 0;

  memset(out, 0, sizeof(*out));
  if (!code || !binding || strlen(code) != QRL_SESSION_B64LEN) goto audit;
  if ((err = qrl_token_hash(code, ch)) || (err = qrl_token_hash(binding, bh))) goto audit;
  err = QRL_CODE_INVALID;
  if (qrl_sql_begin(db)) {
    err = QRL_DB;
    goto audit;
  }
  st = qrl_sql_prep(db, "SELECT w.id, w.binding_hash, w.code_expires_at, w.code_used_at,"
                " w.revoked_at, w.method, w.created_at, " 
                "c.id, c.full_name, c.level, c.phone, c.web_login, w.flow"
                " FROM web_sessions w JOIN citizens c ON c.id = w.citizen_id"
                " WHERE w.code_hash = ?");
  if (!st) {
    err = QRL_DB;
    goto tx_out;
  }
  qrl_sql_bind_blob(st, 1, ch, sizeof(ch));
  if (qrl_sql_step(st) != QRL_SQL_ROW) {
    qrl_sql_done(db, st);
    goto tx_out;
  }
  /* A known code, even refused (replayed, wrong browser, late), is audited
   * under its login's flow id: that is where a replay shows up. */
  qrl_sql_copy_col(st, 12, flow, sizeof(flow));
  if (qrl_sql_col_bytes(st, 1) == QRL_SHA256_LEN &&
      qrl_ct_equal(qrl_sql_col_blob(st, 1), bh, QRL_SHA256_LEN) &&
      qrl_sql_col_int64(st, 2) > rc->now &&
      qrl_sql_col_null(st, 3) &&
      qrl_sql_col_null(st, 4)) {
    row = qrl_sql_col_int64(st, 0);
    qrl_sql_copy_col(st, 5, out->method, sizeof(out->method));
    qrl_row_citizen(st, 7, &out->citizen);
    memcpy(citizen, out->citizen.id, sizeof(citizen));
  }
  qrl_sql_done(db, st);
  if (!row) goto tx_out; /* a wrong binding does not spend the code */
  if ((err = qrl_random_token(QRL_SESSION_BYTES, token, QRL_SESSION_B64LEN + 1)))
    goto tx_out;
  if ((err = qrl_token_hash(token, th))) goto tx_out;
  /* The session is where the code is redeemed: the browser's address and
   * User-Agent, not those of the phone that confirmed ("Không phải tôi"
   * lists them). */
  st = qrl_sql_prep(db, "UPDATE web_sessions SET code_used_at = ?1, token_hash = ?2,"
                " expires_at = ?3, last_seen_at = ?1, ip = coalesce(?5, ip),"
                " user_agent = coalesce(?6, user_agent) WHERE id = ?4");
  if (st) {
    if (rc->ip && rc->ip[0]) qrl_sql_bind_text(st, 5, rc->ip);
    if (rc->user_agent && rc->user_agent[0]) qrl_sql_bind_text(st, 6, rc->user_agent);
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_blob(st, 2, th, sizeof(th));
    /* A kiosk is a shared machine: its sessions are short. */
    qrl_sql_bind_int64(st, 3, rc->now + (qrl_web_method_kiosk(out->method)
                                             ? pol->kiosk_session_secs
                                             : pol->web_session_secs));
    qrl_sql_bind_int64(st, 4, row);
  }
  err = qrl_sql_run(db, st);
  out->created_at = rc->now;
  out->id = row;
  /* Success is audited in the same transaction; refusals on their own. */
  if (flow[0]) arc.flow = flow;
  if (!err && !(err = qrl_db_audit(db, "code_exchange", QRL_OK, citizen, 0, NULL, &arc)))
    audited = 1;
tx_out:
  if (err) qrl_sql_rollback(db);
  else if ((err = qrl_sql_commit(db))) qrl_sql_rollback(db);
audit:
  if (flow[0]) arc.flow = flow;
  if (err || !audited)
    qrl_db_audit(db, "code_exchange", err, citizen[0] ? citizen : NULL, 0, NULL, &arc);
  if (err) {
    memset(token, 0, QRL_SESSION_B64LEN + 1);
    memset(out, 0, sizeof(*out));
  }
  return err;
}

int qrl_web_method_kiosk(const char *method) {
  return method && (strcmp(method, "qr_kiosk") == 0 || strcmp(method, "otp_kiosk") == 0);
}

int64_t qrl_web_idle_secs(const qrl_acct_policy *pol, const char *method) {
  return qrl_web_method_kiosk(method) ? pol->kiosk_idle_secs : pol->web_idle_secs;
}

int64_t qrl_web_touch_secs(int64_t idle_secs) {
  int64_t step = idle_secs / 20;
  return step < 1 ? 1 : step > 60 ? 60 : step;
}

/* A live (not revoked, not expired) session row, as a use needs it. */
typedef struct session_row {
  int64_t id;
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  int64_t portal;
  char method[16];
  int64_t created_at; /* when the browser got its token */
  int64_t last_seen;  /* the recorded last use */
  int step_up;        /* the passcode step-up ran during the login */
} session_row;

/* Finds the live session whose token hashes to th. QRL_OK, QRL_NOT_FOUND or
 * QRL_DB. */
static qrl_err find_live(qrl_db *db, const uint8_t th[QRL_SHA256_LEN], int64_t now,
                         session_row *r) {
  qrl_stmt *st;
  qrl_err rc = QRL_NOT_FOUND;
  int step;

  memset(r, 0, sizeof(*r));
  st = qrl_sql_prep(db, "SELECT id, citizen_id, portal_account, method,"
                " coalesce(code_used_at, created_at),"
                " coalesce(last_seen_at, code_used_at, created_at), step_up"
                " FROM web_sessions WHERE token_hash = ? AND revoked_at IS NULL"
                " AND expires_at > ?");
  if (!st) return QRL_DB;
  qrl_sql_bind_blob(st, 1, th, QRL_SHA256_LEN);
  qrl_sql_bind_int64(st, 2, now);
  step = qrl_sql_step(st);
  if (step == QRL_SQL_ROW) {
    r->id = qrl_sql_col_int64(st, 0);
    qrl_sql_copy_col(st, 1, r->citizen_id, sizeof(r->citizen_id));
    r->portal = qrl_sql_col_int64(st, 2);
    qrl_sql_copy_col(st, 3, r->method, sizeof(r->method));
    /* QR sessions start when the code is exchanged; OTP ones when made. */
    r->created_at = qrl_sql_col_int64(st, 4);
    r->last_seen = qrl_sql_col_int64(st, 5);
    r->step_up = qrl_sql_col_int(st, 6) != 0;
    rc = QRL_OK;
  } else if (step != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

/* Revokes session r, found unused for idle seconds, with its audit row, in
 * one transaction (a concurrent request that ended it first: nothing). */
static qrl_err end_idle(qrl_db *db, const session_row *r, int64_t idle,
                        const qrl_req_ctx *rc) {
  char detail[96];
  qrl_stmt *st;
  qrl_err err;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "UPDATE web_sessions SET revoked_at = ?1 WHERE id = ?2"
                        " AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_int64(st, 2, r->id);
  }
  err = qrl_sql_run(db, st);
  if (r->portal)
    snprintf(detail, sizeof(detail), "idle web_session=%lld portal_account=%lld limit=%lld",
             (long long)r->id, (long long)r->portal, (long long)idle);
  else
    snprintf(detail, sizeof(detail), "idle web_session=%lld limit=%lld", (long long)r->id,
             (long long)idle);
  if (!err && qrl_sql_changes(db) > 0)
    err = qrl_db_audit(db, "web_session_revoked", QRL_OK,
                       r->citizen_id[0] ? r->citizen_id : NULL, 0, detail, rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}

/* Records a use of session id at now. A later record is left alone (a
 * request that waited in the queue behind a newer one), unless rebase: the
 * record is ahead of now because the wall clock was stepped back, and would
 * otherwise hold the idle limit off until the clock caught up. */
static qrl_err touch(qrl_db *db, int64_t id, int64_t now, int rebase) {
  qrl_stmt *st = qrl_sql_prep(db, "UPDATE web_sessions SET last_seen_at = ?1"
                                      " WHERE id = ?2 AND revoked_at IS NULL"
                                      " AND (?3 <> 0 OR coalesce(last_seen_at, 0) < ?1)");
  if (st) {
    qrl_sql_bind_int64(st, 1, now);
    qrl_sql_bind_int64(st, 2, id);
    qrl_sql_bind_int64(st, 3, rebase);
  }
  return qrl_sql_run(db, st);
}

qrl_err qrl_acct_web_session(qrl_db *db, const qrl_acct_policy *pol,
                             const char *token, const qrl_req_ctx *rc,
                             qrl_web_session *out) {
  uint8_t th[QRL_SHA256_LEN];
  session_row r;
  int64_t idle, unused;
  qrl_err err;

  memset(out, 0, sizeof(*out));
  if (!token || strlen(token) != QRL_SESSION_B64LEN) return QRL_NOT_AUTHENTICATED;
  if (qrl_token_hash(token, th)) return QRL_CRYPTO;
  err = find_live(db, th, rc->now, &r);
  if (err) return err == QRL_NOT_FOUND ? QRL_NOT_AUTHENTICATED : err;
  idle = qrl_web_idle_secs(pol, r.method);
  unused = rc->now - r.last_seen; /* < 0: the wall clock was stepped back */
  if (unused >= idle) {
    /* Gone for good: a longer limit after a restart cannot bring it back. */
    err = end_idle(db, &r, idle, rc);
    return err ? err : QRL_NOT_AUTHENTICATED;
  }
  if (r.citizen_id[0]) err = qrl_db_get_citizen(db, r.citizen_id, &out->citizen);
  else err = qrl_portal_get(db, r.portal, &out->portal);
  if (!err && (unused >= qrl_web_touch_secs(idle) || unused < 0))
    err = touch(db, r.id, rc->now, unused < 0);
  if (err == QRL_NOT_FOUND) err = QRL_NOT_AUTHENTICATED;
  if (err) {
    memset(out, 0, sizeof(*out));
    return err;
  }
  memcpy(out->method, r.method, sizeof(out->method));
  out->created_at = r.created_at;
  out->id = r.id;
  out->step_up = r.step_up;
  return QRL_OK;
}

qrl_err qrl_acct_web_session_peek(qrl_db *db, const qrl_acct_policy *pol, const char *token,
                                  int64_t now, int64_t *id) {
  uint8_t th[QRL_SHA256_LEN];
  session_row r;
  qrl_err err;

  *id = 0;
  if (!token || strlen(token) != QRL_SESSION_B64LEN) return QRL_NOT_AUTHENTICATED;
  if (qrl_token_hash(token, th)) return QRL_CRYPTO;
  err = find_live(db, th, now, &r);
  if (err) return err == QRL_NOT_FOUND ? QRL_NOT_AUTHENTICATED : err;
  /* Not a use: an idle one is refused but left for its next use to end. */
  if (now - r.last_seen >= qrl_web_idle_secs(pol, r.method)) return QRL_NOT_AUTHENTICATED;
  *id = r.id;
  return QRL_OK;
}

qrl_err qrl_acct_open_web_session(qrl_db *db, const qrl_acct_policy *pol,
                                  const char *citizen_id, int64_t portal_account,
                                  const char *method, const qrl_req_ctx *rc,
                                  char token[QRL_SESSION_B64LEN + 1]) {
  uint8_t th[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err err = qrl_random_token(QRL_SESSION_BYTES, token, QRL_SESSION_B64LEN + 1);
  if (err) return err;
  if (qrl_token_hash(token, th)) {
    memset(token, 0, QRL_SESSION_B64LEN + 1);
    return QRL_CRYPTO;
  }
  st = qrl_sql_prep(db, "INSERT INTO web_sessions(citizen_id, portal_account, method,"
                        " token_hash, created_at, expires_at, ip, user_agent, flow,"
                        " last_seen_at) VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_text(st, 1, citizen_id);
    if (portal_account) qrl_sql_bind_int64(st, 2, portal_account);
    else qrl_sql_bind_null(st, 2);
    qrl_sql_bind_text(st, 3, method);
    qrl_sql_bind_blob(st, 4, th, sizeof(th));
    qrl_sql_bind_int64(st, 5, rc->now);
    qrl_sql_bind_int64(st, 6, rc->now + (qrl_web_method_kiosk(method)
                                             ? pol->kiosk_session_secs
                                             : pol->web_session_secs));
    qrl_sql_bind_text(st, 7, rc->ip);
    qrl_sql_bind_text(st, 8, rc->user_agent);
    qrl_sql_bind_text(st, 9, rc->flow);
    qrl_sql_bind_int64(st, 10, rc->now);
  }
  err = qrl_sql_run(db, st);
  if (err) memset(token, 0, QRL_SESSION_B64LEN + 1);
  return err;
}

qrl_err qrl_acct_web_logout(qrl_db *db, const char *token, const qrl_req_ctx *rc) {
  uint8_t th[QRL_SHA256_LEN];
  qrl_web_session ws;
  session_row r;
  qrl_stmt *st;
  qrl_err err;

  if (!token || strlen(token) != QRL_SESSION_B64LEN) return QRL_OK;
  if (qrl_token_hash(token, th)) return QRL_CRYPTO;
  /* Not a use: a session past its idle limit is ended all the same. */
  if ((err = find_live(db, th, rc->now, &r))) return err == QRL_NOT_FOUND ? QRL_OK : err;
  memset(&ws, 0, sizeof(ws));
  if (r.citizen_id[0]) memcpy(ws.citizen.id, r.citizen_id, sizeof(r.citizen_id));
  else if (qrl_portal_get(db, r.portal, &ws.portal)) memset(&ws.portal, 0, sizeof(ws.portal));
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "UPDATE web_sessions SET revoked_at = ?1 WHERE token_hash = ?2"
                " AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_blob(st, 2, th, sizeof(th));
  }
  err = qrl_sql_run(db, st);
  if (!err)
    err = qrl_db_audit(db, "web_logout", QRL_OK, ws.citizen.id[0] ? ws.citizen.id : NULL,
                       0, ws.portal.id ? ws.portal.username : NULL, rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_acct_web_logins(qrl_db *db, const qrl_acct_policy *pol, const char *citizen_id,
                            int64_t now, qrl_web_login *out, size_t cap, size_t *n) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT id, coalesce(code_used_at, created_at), ip, user_agent, method,"
      " revoked_at IS NULL AND expires_at > ?2"
      " AND ?2 - coalesce(last_seen_at, code_used_at, created_at)"
      "     < CASE WHEN method IN ('qr_kiosk', 'otp_kiosk') THEN ?4 ELSE ?5 END"
      " FROM web_sessions"
      " WHERE citizen_id = ?1 AND token_hash IS NOT NULL"
      " AND coalesce(code_used_at, created_at) > ?2 - 30 * 86400"
      " ORDER BY 2 DESC, id DESC LIMIT ?3");
  *n = 0;
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, citizen_id);
  qrl_sql_bind_int64(st, 2, now);
  qrl_sql_bind_int64(st, 3, (int64_t)cap);
  qrl_sql_bind_int64(st, 4, qrl_web_idle_secs(pol, "qr_kiosk"));
  qrl_sql_bind_int64(st, 5, qrl_web_idle_secs(pol, "qr"));
  while (*n < cap && qrl_sql_step(st) == QRL_SQL_ROW) {
    qrl_web_login *w = &out[(*n)++];
    w->id = qrl_sql_col_int64(st, 0);
    w->at = qrl_sql_col_int64(st, 1);
    qrl_sql_copy_col(st, 2, w->ip, sizeof(w->ip));
    qrl_sql_copy_col(st, 3, w->user_agent, sizeof(w->user_agent));
    qrl_sql_copy_col(st, 4, w->method, sizeof(w->method));
    w->active = qrl_sql_col_int(st, 5);
  }
  qrl_sql_done(db, st);
  return QRL_OK;
}

qrl_err qrl_acct_revoke_web_login(qrl_db *db, const char *citizen_id, int64_t id,
                                  const qrl_req_ctx *rc) {
  char detail[40];
  qrl_stmt *st;
  qrl_err err;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "UPDATE web_sessions SET revoked_at = ?3 WHERE id = ?1"
                        " AND citizen_id = ?2 AND token_hash IS NOT NULL"
                        " AND revoked_at IS NULL AND expires_at > ?3");
  if (st) {
    qrl_sql_bind_int64(st, 1, id);
    qrl_sql_bind_text(st, 2, citizen_id);
    qrl_sql_bind_int64(st, 3, rc->now);
  }
  err = qrl_sql_run(db, st);
  if (!err && qrl_sql_changes(db) == 0) err = QRL_NOT_FOUND;
  snprintf(detail, sizeof(detail), "not_me web_session=%lld", (long long)id);
  if (!err) err = qrl_db_audit(db, "web_session_revoked", QRL_OK, citizen_id, 0, detail, rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}
