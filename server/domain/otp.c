/*
 * otp.c - ID/username + password + SMS one-time code logins. See otp.h.
 */
#include "domain/otp.h"

#include <stdio.h>
#include <string.h>

#include "helpers/crypto.h"
#include "domain/legacy.h"
#include "domain/sms.h"
#include "domain/websession.h"
#include "sql.h"

/* 2024-07-01 00:00 in Vietnam (UTC+7). */
#define QRL_DEFAULT_CUTOVER 1719766800

qrl_err qrl_otp_policy_default(qrl_otp_policy *p) {
  memset(p, 0, sizeof(*p));
  p->ttl_secs = 300;
  p->max_failures = 5;
  p->resend_secs = 60;
  p->max_sends = 5;
  p->attempt_secs = 1800;
  p->phone_sends_per_hour = 10;
  p->password_level = 2;
  p->cutover = QRL_DEFAULT_CUTOVER;
  return qrl_random(p->pepper, sizeof(p->pepper));
}

int qrl_password_format_ok(const char *pw) {
  size_t chars = 0;
  if (!pw || strlen(pw) > 80) return 0;
  /* Characters, not bytes: count the bytes that start a UTF-8 sequence. */
  for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
    if ((*p & 0xC0) != 0x80) chars++;
  return chars >= 8 && chars <= 20;
}

/* A uniform 6-digit code: reject 32-bit draws above the largest multiple of
 * 10^6 so that no code is likelier than another. */
static qrl_err new_code(char out[QRL_OTP_DIGITS + 1]) {
  const uint32_t range = 1000000u, limit = UINT32_MAX - UINT32_MAX % range;
  uint32_t v;
  do {
    if (qrl_random((uint8_t *)&v, sizeof(v))) return QRL_CRYPTO;
  } while (v >= limit);
  snprintf(out, QRL_OTP_DIGITS + 1, "%06u", v % range);
  return QRL_OK;
}

/* The stored MAC of an attempt's code. QRL_CRYPTO if the HMAC failed: the
 * caller stops (a zero MAC would match any code whose MAC also failed). */
static qrl_err code_mac(const qrl_otp_policy *p, const char *attempt, const char *code,
                        uint8_t out[QRL_SHA256_LEN]) {
  char msg[QRL_TOKEN_B64LEN + QRL_OTP_DIGITS + 2];
  qrl_err rc;
  snprintf(msg, sizeof(msg), "%s:%s", attempt, code);
  rc = qrl_hmac_sha256(p->pepper, sizeof(p->pepper), msg, strlen(msg), out);
  qrl_cleanse(msg, sizeof(msg));
  return rc;
}

/* Codes sent to phone in the last hour (all attempts). -1 on error. */
static int phone_sends_last_hour(qrl_db *db, const char *phone, int64_t now) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT coalesce(sum(sends), 0) FROM otp_logins"
                                      " WHERE phone = ? AND last_sent_at > ?");
  int n = -1;
  if (!st) return -1;
  qrl_sql_bind_text(st, 1, phone);
  qrl_sql_bind_int64(st, 2, now - 3600);
  if (qrl_sql_step(st) == QRL_SQL_ROW) n = qrl_sql_col_int(st, 0);
  qrl_sql_done(db, st);
  return n;
}

/* Makes the attempt row for a citizen or a portal account. */
static qrl_err create_attempt(qrl_db *db, const qrl_otp_policy *p,
                              const char *citizen_id, int64_t portal,
                              const char *phone, const qrl_req_ctx *rc,
                              qrl_otp_sent *out) {
  uint8_t ah[QRL_SHA256_LEN], mac[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err err;
  int sent;

  if (!qrl_phone_valid(phone)) return QRL_NO_PHONE;
  if ((err = qrl_random_token(QRL_TOKEN_BYTES, out->attempt, sizeof(out->attempt))) ||
      (err = new_code(out->code)))
    return err;
  if ((err = qrl_sha256(out->attempt, strlen(out->attempt), ah)) ||
      (err = code_mac(p, out->attempt, out->code, mac)))
    return err; /* the caller wipes out (finish_sent) */
  if (qrl_sql_begin(db)) return QRL_DB;
  sent = phone_sends_last_hour(db, phone, rc->now);
  if (sent < 0) {
    err = QRL_DB;
    goto out;
  }
  if (sent >= p->phone_sends_per_hour) {
    err = QRL_RATE_LIMITED;
    goto out;
  }
  st = qrl_sql_prep(db, "INSERT INTO otp_logins(attempt_hash, citizen_id, portal_account,"
                        " phone, otp_mac, created_at, expires_at, last_sent_at, ip)"
                        " VALUES(?,?,?,?,?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_blob(st, 1, ah, sizeof(ah));
    qrl_sql_bind_text(st, 2, citizen_id);
    if (portal) qrl_sql_bind_int64(st, 3, portal);
    else qrl_sql_bind_null(st, 3);
    qrl_sql_bind_text(st, 4, phone);
    qrl_sql_bind_blob(st, 5, mac, sizeof(mac));
    qrl_sql_bind_int64(st, 6, rc->now);
    qrl_sql_bind_int64(st, 7, rc->now + p->ttl_secs);
    qrl_sql_bind_int64(st, 8, rc->now);
    qrl_sql_bind_text(st, 9, rc->ip);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  snprintf(out->phone, sizeof(out->phone), "%s", phone);
  qrl_phone_mask(phone, out->phone_masked);
  out->expires_in = p->ttl_secs;
  out->resend_in = p->resend_secs;
  return err;
}

static void finish_sent(qrl_err err, qrl_otp_sent *out) {
  if (err) {
    qrl_cleanse(out->code, sizeof(out->code));
    memset(out->attempt, 0, sizeof(out->attempt));
  }
}

qrl_err qrl_otp_start_citizen(qrl_db *db, const qrl_acct_policy *apol,
                              const qrl_otp_policy *opol, const char *id,
                              const char *password, const qrl_req_ctx *rc,
                              qrl_otp_sent *out) {
  qrl_citizen c;
  qrl_err err;

  memset(out, 0, sizeof(*out));
  if (!id) return QRL_INVALID_ID;
  if ((err = qrl_citizen_id_check(id, strlen(id)))) return err;
  if (!qrl_password_format_ok(password)) return QRL_BAD_PASSWORD_FORMAT;
  snprintf(out->citizen_id, sizeof(out->citizen_id), "%s", id);
  err = qrl_acct_check_password(db, apol, id, password, &c);
  if (!err && c.level < opol->password_level) err = QRL_LEVEL_TOO_LOW;
  if (!err) err = create_attempt(db, opol, c.id, 0, c.phone, rc, out);
  finish_sent(err, out);
  qrl_db_audit(db, "otp_start", err, id, 0, "citizen", rc);
  return err;
}

qrl_err qrl_otp_start_portal(qrl_db *db, const qrl_acct_policy *apol,
                             const qrl_otp_policy *opol, const char *username,
                             const char *password, const qrl_req_ctx *rc,
                             qrl_otp_sent *out) {
  qrl_portal_account a;
  qrl_err err;

  memset(out, 0, sizeof(*out));
  if (!qrl_portal_username_valid(username)) return QRL_INVALID_USERNAME;
  if (!qrl_password_format_ok(password)) return QRL_BAD_PASSWORD_FORMAT;
  snprintf(out->username, sizeof(out->username), "%s", username);
  err = qrl_portal_check_password(db, apol, username, password, &a);
  if (!err && strcmp(a.kind, "citizen") == 0 && rc->now >= opol->cutover)
    err = QRL_LEGACY_CLOSED;
  if (!err) err = create_attempt(db, opol, NULL, a.id, a.phone, rc, out);
  finish_sent(err, out);
  qrl_db_audit(db, "otp_start", err, a.citizen_id[0] ? a.citizen_id : NULL, 0, username,
               rc);
  return err;
}

/* The attempt row, as verify and resend need it. */
typedef struct attempt_row {
  int64_t id;
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  int64_t portal;
  char phone[16];
  uint8_t mac[QRL_SHA256_LEN];
  int64_t created_at, expires_at, last_sent_at;
  int sends, failures, used, is_void;
} attempt_row;

static qrl_err load_attempt(qrl_db *db, const char *attempt, attempt_row *r);

/* The attempt, if it can still take a code: not used, not void. */
static qrl_err load_live_attempt(qrl_db *db, const char *attempt, attempt_row *r) {
  qrl_err err = load_attempt(db, attempt, r);
  if (err) return err;
  if (r->used) return QRL_OTP_INVALID;
  if (r->is_void) return QRL_OTP_VOID;
  return QRL_OK;
}

static qrl_err load_attempt(qrl_db *db, const char *attempt, attempt_row *r) {
  uint8_t ah[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err err = QRL_OTP_INVALID;

  memset(r, 0, sizeof(*r));
  if (!attempt || strlen(attempt) != QRL_TOKEN_B64LEN) return QRL_OTP_INVALID;
  if (qrl_sha256(attempt, strlen(attempt), ah)) return QRL_CRYPTO;
  st = qrl_sql_prep(db, "SELECT id, citizen_id, portal_account, phone, otp_mac,"
                        " expires_at, last_sent_at, sends, failures,"
                        " used_at IS NOT NULL, void_at IS NOT NULL, created_at"
                        " FROM otp_logins WHERE attempt_hash = ?");
  if (!st) return QRL_DB;
  qrl_sql_bind_blob(st, 1, ah, sizeof(ah));
  if (qrl_sql_step(st) == QRL_SQL_ROW &&
      qrl_sql_col_bytes(st, 4) == QRL_SHA256_LEN) {
    r->id = qrl_sql_col_int64(st, 0);
    qrl_sql_copy_col(st, 1, r->citizen_id, sizeof(r->citizen_id));
    r->portal = qrl_sql_col_int64(st, 2);
    qrl_sql_copy_col(st, 3, r->phone, sizeof(r->phone));
    memcpy(r->mac, qrl_sql_col_blob(st, 4), QRL_SHA256_LEN);
    r->expires_at = qrl_sql_col_int64(st, 5);
    r->last_sent_at = qrl_sql_col_int64(st, 6);
    r->sends = qrl_sql_col_int(st, 7);
    r->failures = qrl_sql_col_int(st, 8);
    r->used = qrl_sql_col_int(st, 9);
    r->is_void = qrl_sql_col_int(st, 10);
    r->created_at = qrl_sql_col_int64(st, 11);
    err = QRL_OK;
  }
  qrl_sql_done(db, st);
  return err;
}

qrl_err qrl_otp_resend(qrl_db *db, const qrl_otp_policy *opol, const char *attempt,
                       const qrl_req_ctx *rc, qrl_otp_sent *out, int64_t *retry_in) {
  attempt_row r;
  uint8_t mac[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err err;
  int sent;

  memset(out, 0, sizeof(*out));
  *retry_in = 0;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((err = load_live_attempt(db, attempt, &r))) goto out;
  /* A password check buys codes for a while, not for ever: after that the
   * citizen types the password again. */
  if (rc->now >= r.created_at + opol->attempt_secs) {
    err = QRL_OTP_EXPIRED;
    goto out;
  }
  if (rc->now < r.last_sent_at + opol->resend_secs) {
    *retry_in = r.last_sent_at + opol->resend_secs - rc->now;
    err = QRL_RATE_LIMITED;
    goto out;
  }
  sent = phone_sends_last_hour(db, r.phone, rc->now);
  if (r.sends >= opol->max_sends || sent < 0 || sent >= opol->phone_sends_per_hour) {
    *retry_in = 3600;
    err = sent < 0 ? QRL_DB : QRL_RATE_LIMITED;
    goto out;
  }
  snprintf(out->attempt, sizeof(out->attempt), "%s", attempt);
  if ((err = new_code(out->code))) goto out;
  if ((err = code_mac(opol, attempt, out->code, mac))) goto out;
  /* The new code replaces the old one; wrong guesses keep counting. */
  st = qrl_sql_prep(db, "UPDATE otp_logins SET otp_mac = ?1, expires_at = ?2,"
                        " last_sent_at = ?3, sends = sends + 1 WHERE id = ?4");
  if (st) {
    qrl_sql_bind_blob(st, 1, mac, sizeof(mac));
    qrl_sql_bind_int64(st, 2, rc->now + opol->ttl_secs);
    qrl_sql_bind_int64(st, 3, rc->now);
    qrl_sql_bind_int64(st, 4, r.id);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  snprintf(out->phone, sizeof(out->phone), "%s", r.phone);
  qrl_phone_mask(r.phone, out->phone_masked);
  snprintf(out->citizen_id, sizeof(out->citizen_id), "%s", r.citizen_id);
  out->expires_in = opol->ttl_secs;
  out->resend_in = opol->resend_secs;
  finish_sent(err, out);
  qrl_db_audit(db, "otp_resend", err, r.citizen_id[0] ? r.citizen_id : NULL, 0, NULL,
               rc);
  return err;
}

qrl_err qrl_otp_undeliverable(qrl_db *db, const char *attempt, const qrl_req_ctx *rc) {
  attempt_row r;
  qrl_stmt *st;
  qrl_err err;

  if (qrl_sql_begin(db)) return QRL_DB;
  if ((err = load_attempt(db, attempt, &r))) goto out;
  st = qrl_sql_prep(db, "UPDATE otp_logins SET void_at = ?1, sends = CASE WHEN sends > 0 THEN sends - 1 ELSE 0 END"
                        " WHERE id = ?2");
  if (st) {
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_int64(st, 2, r.id);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  if ((err = qrl_db_audit(db, "otp_sms", QRL_UNAVAILABLE,
                          r.citizen_id[0] ? r.citizen_id : NULL, 0, NULL, rc)))
    goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  return err;
}

static qrl_err mark(qrl_db *db, const char *sql, int64_t now, int64_t id) {
  qrl_stmt *st = qrl_sql_prep(db, sql);
  if (st) {
    qrl_sql_bind_int64(st, 1, now);
    qrl_sql_bind_int64(st, 2, id);
  }
  return qrl_sql_run(db, st);
}

/* qrl_otp_verify(), at a kiosk if kiosk is set. */
static qrl_err verify(qrl_db *db, const qrl_acct_policy *apol, const qrl_otp_policy *opol,
                      const char *attempt, const char *code, const qrl_req_ctx *rc,
                      char token[QRL_SESSION_B64LEN + 1], qrl_web_session *ws, int *left,
                      int kiosk) {
  attempt_row r;
  uint8_t mac[QRL_SHA256_LEN];
  qrl_err err;
  int ok;

  memset(ws, 0, sizeof(*ws));
  memset(token, 0, QRL_SESSION_B64LEN + 1);
  *left = 0;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((err = load_live_attempt(db, attempt, &r))) goto out;
  if (kiosk && r.portal) { /* the kiosk offers the citizen ID only */
    err = QRL_FORBIDDEN;
    goto out;
  }
  if (rc->now >= r.expires_at) {
    err = QRL_OTP_EXPIRED;
    goto out;
  }
  /* Malformed codes are wrong codes: they count, so they cannot probe. */
  ok = code && strlen(code) == QRL_OTP_DIGITS && qrl_passcode_valid(code, QRL_OTP_DIGITS);
  if (ok) {
    /* No MAC, no verdict: the attempt is left as it was. */
    if ((err = code_mac(opol, attempt, code, mac))) goto out;
    ok = qrl_ct_equal(mac, r.mac, sizeof(mac));
  }
  if (!ok) {
    qrl_stmt *st = qrl_sql_prep(db, "UPDATE otp_logins SET failures = failures + 1,"
                                        " void_at = CASE WHEN failures + 1 >= ?1"
                                        " THEN ?2 END WHERE id = ?3");
    if (st) {
      qrl_sql_bind_int64(st, 1, opol->max_failures);
      qrl_sql_bind_int64(st, 2, rc->now);
      qrl_sql_bind_int64(st, 3, r.id);
    }
    if ((err = qrl_sql_run(db, st))) goto out;
    *left = opol->max_failures - (r.failures + 1);
    if (*left < 0) *left = 0;
    err = *left ? QRL_OTP_WRONG : QRL_OTP_VOID;
    /* The failure is committed: it must count. */
    if (qrl_sql_commit(db)) {
      err = QRL_DB;
      qrl_sql_rollback(db);
    }
    goto audit;
  }
  if (r.portal) {
    qrl_portal_account a;
    if ((err = qrl_portal_get(db, r.portal, &a))) goto out;
    if (strcmp(a.kind, "citizen") == 0 && rc->now >= opol->cutover) {
      err = QRL_LEGACY_CLOSED;
      goto out;
    }
    ws->portal = a;
    snprintf(ws->method, sizeof(ws->method), "portal_otp");
  } else {
    if ((err = qrl_db_get_citizen(db, r.citizen_id, &ws->citizen))) goto out;
    snprintf(ws->method, sizeof(ws->method), kiosk ? "otp_kiosk" : "password_otp");
    if ((err = qrl_legacy_link(db, r.citizen_id, rc, NULL))) goto out;
  }
  if ((err = mark(db, "UPDATE otp_logins SET used_at = ?1 WHERE id = ?2", rc->now, r.id)))
    goto out;
  if ((err = qrl_acct_open_web_session(db, apol, r.citizen_id[0] ? r.citizen_id : NULL,
                                       r.portal, ws->method, rc, token)))
    goto out;
  if ((err = qrl_db_audit(db, "web_login", QRL_OK, r.citizen_id[0] ? r.citizen_id : NULL,
                          0, ws->method, rc)))
    goto out;
  ws->created_at = rc->now;
  err = qrl_sql_commit(db);
out:
  if (err) {
    qrl_sql_rollback(db);
    memset(token, 0, QRL_SESSION_B64LEN + 1);
    memset(ws, 0, sizeof(*ws));
  }
audit:
  qrl_db_audit(db, "otp_verify", err, r.citizen_id[0] ? r.citizen_id : NULL, 0, NULL, rc);
  return err;
}

qrl_err qrl_otp_verify(qrl_db *db, const qrl_acct_policy *apol,
                       const qrl_otp_policy *opol, const char *attempt,
                       const char *code, const qrl_req_ctx *rc,
                       char token[QRL_SESSION_B64LEN + 1], qrl_web_session *ws,
                       int *left) {
  return verify(db, apol, opol, attempt, code, rc, token, ws, left, 0);
}

qrl_err qrl_otp_verify_kiosk(qrl_db *db, const qrl_acct_policy *apol,
                             const qrl_otp_policy *opol, const char *attempt,
                             const char *code, const qrl_req_ctx *rc,
                             char token[QRL_SESSION_B64LEN + 1], qrl_web_session *ws,
                             int *left) {
  return verify(db, apol, opol, attempt, code, rc, token, ws, left, 1);
}
