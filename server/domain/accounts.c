/*
 * accounts.c - the VNeID identities in SQLite: citizens (and the demo
 * seeds), the password check (also the SMS-code path's, otp.c), app login on
 * one device at a time, app sessions and the phone's logout, the passcode
 * gate (counted failures, locks that double) in front of the "Đăng nhập trên
 * website" permission and a risky confirm's step-up, completing a QR web
 * login (a one-time code bound to the browser, the phone's app session
 * revoked in the same transaction; verified legacy accounts are linked
 * through legacy.c unless the device is fresh).
 *
 * Each change is one transaction. Reads and the slow scrypt work run
 * outside one; the passcode gate and the completion re-read the session and
 * the counters they decide on under the write lock.
 * Secrets never reach the file: passwords and passcodes are scrypt strings,
 * tokens and codes SHA-256 digests; an unknown ID costs the same scrypt work
 * as a wrong password. Failed attempts that must count (wrong passcodes) are
 * committed with their audit row; any other failure rolls back what it
 * touched, and the refusals that are audited (app login, the passcode gate)
 * get their row in a transaction of their own.
 *
 * Not here: the schema, the audit chain and the SQL helpers (db.c, sql.h),
 * the browser's side - code exchange, web sessions, "Không phải tôi"
 * (websession.c) - portal accounts and linking (legacy.c), ID + password + SMS logins
 * (otp.c), the operator's actions (operator.c), challenges, sockets, JSON.
 */
#include "domain/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/text.h"
#include "domain/legacy.h"
#include "rows.h"
#include "sql.h"
#include "helpers/uuid.h"

/* A scrypt string no password matches; verified against for unknown IDs so
 * that they cost the same time as a wrong password. Made at first use. */
static qrl_err dummy_verify(const qrl_acct_policy *pol, const char *pw) {
  char h[QRL_HASH_STR_MAX];
  /* Hashing costs what verifying costs: same N, same work. */
  qrl_err rc = qrl_hash_secret(pw, strlen(pw), pol->hash_cost_log2, h, sizeof(h));
  qrl_cleanse(h, sizeof(h));
  return rc;
}

/* ---- citizens ------------------------------------------------------------- */

qrl_err qrl_db_get_citizen(qrl_db *db, const char *id, qrl_citizen *out) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT " QRL_CITIZEN_COLS " FROM citizens WHERE id = ?");
  qrl_err rc = QRL_NOT_FOUND;
  int r;
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_row_citizen(st, 0, out);
    rc = QRL_OK;
  } else if (r != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_db_add_citizen(qrl_db *db, const qrl_acct_policy *pol,
                           const char *id, const char *full_name, int level,
                           const char *phone, const char *password,
                           const char *passcode, int web_login, int64_t now) {
  char pw_hash[QRL_HASH_STR_MAX], pc_hash[QRL_HASH_STR_MAX];
  qrl_citizen existing;
  qrl_stmt *st;
  qrl_err rc;

  if (!id) return QRL_INVALID_ID;
  if ((rc = qrl_citizen_id_check(id, strlen(id)))) return rc;
  if (!passcode || !qrl_passcode_valid(passcode, strlen(passcode)))
    return QRL_BAD_PASSCODE_FORMAT;
  /* The name is shown on phones and pages: text, not terminal escapes. */
  if ((level != 1 && level != 2) || !full_name || !*full_name ||
      !qrl_text_is_clean(full_name) || !password || !*password)
    return QRL_INVAL;
  /* Hash before the transaction: it is the slow part. */
  rc = qrl_hash_secret(password, strlen(password), pol->hash_cost_log2, pw_hash,
                       sizeof(pw_hash));
  if (!rc)
    rc = qrl_hash_secret(passcode, strlen(passcode), pol->hash_cost_log2,
                         pc_hash, sizeof(pc_hash));
  if (rc) return rc;
  if (qrl_sql_begin(db)) return QRL_DB;
  rc = qrl_db_get_citizen(db, id, &existing);
  if (rc == QRL_OK) {
    rc = QRL_BAD_MESSAGE;
    goto out;
  }
  if (rc != QRL_NOT_FOUND) goto out;
  st = qrl_sql_prep(db, "INSERT INTO citizens(id, full_name, level, phone, password_hash,"
                " passcode_hash, web_login, created_at, updated_at)"
                " VALUES(?,?,?,?,?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_text(st, 2, full_name);
    qrl_sql_bind_int64(st, 3, level);
    qrl_sql_bind_text(st, 4, phone);
    qrl_sql_bind_text(st, 5, pw_hash);
    qrl_sql_bind_text(st, 6, pc_hash);
    qrl_sql_bind_int64(st, 7, web_login ? 1 : 0);
    qrl_sql_bind_int64(st, 8, now);
    qrl_sql_bind_int64(st, 9, now);
  }
  rc = qrl_sql_run(db, st);
  if (!rc) {
    qrl_req_ctx c = {NULL, NULL, now, NULL};
    rc = qrl_db_audit(db, "citizen_added", QRL_OK, id, 0, NULL, &c);
  }
  if (!rc) rc = qrl_sql_commit(db);
out:
  if (rc) qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_db_seed_demo(qrl_db *db, const qrl_acct_policy *pol, int64_t now) {
  static const struct {
    const char *id, *name, *phone;
    int level;
  } seeds[] = {{"001099012345", "Nguyễn Văn An", "0912345678", 2},
               {"079199001234", "Trần Thị Bình", "0987654321", 1}};
  qrl_citizen c;
  qrl_err rc = QRL_OK;

  for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]) && !rc; i++) {
    rc = qrl_db_get_citizen(db, seeds[i].id, &c);
    if (rc == QRL_OK) continue;
    if (rc != QRL_NOT_FOUND) break;
    rc = qrl_db_add_citizen(db, pol, seeds[i].id, seeds[i].name, seeds[i].level,
                            seeds[i].phone, "MatKhau@2024", "123456", 0, now);
  }
  return rc;
}

/* ---- app login and sessions ----------------------------------------------- */

/* Reads the password hash of citizen id (and the citizen). QRL_NOT_FOUND if
 * absent. */
static qrl_err get_secret(qrl_db *db, const char *id, const char *col,
                          char *hash, size_t cap, qrl_citizen *c) {
  char sql[160];
  qrl_stmt *st;
  qrl_err rc = QRL_NOT_FOUND;
  int r;

  snprintf(sql, sizeof(sql), "SELECT " QRL_CITIZEN_COLS ", %s FROM citizens WHERE id = ?",
           col);
  st = qrl_sql_prep(db, sql);
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_row_citizen(st, 0, c);
    qrl_sql_copy_col(st, 5, hash, cap);
    rc = QRL_OK;
  } else if (r != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_acct_check_password(qrl_db *db, const qrl_acct_policy *pol,
                                const char *id, const char *password,
                                qrl_citizen *who) {
  char hash[QRL_HASH_STR_MAX];
  qrl_err err;

  memset(who, 0, sizeof(*who));
  if (!password || !*password) return QRL_BAD_CREDENTIALS;
  err = get_secret(db, id, "password_hash", hash, sizeof(hash), who);
  if (err == QRL_NOT_FOUND) {
    dummy_verify(pol, password); /* same cost as a wrong password */
    return QRL_BAD_CREDENTIALS;
  }
  if (err) return err;
  err = qrl_verify_secret(password, strlen(password), hash);
  qrl_cleanse(hash, sizeof(hash));
  if (err) {
    memset(who, 0, sizeof(*who));
    return err == QRL_BAD_CREDENTIALS ? QRL_BAD_CREDENTIALS : QRL_INTERNAL;
  }
  return QRL_OK;
}

qrl_err qrl_acct_app_login(qrl_db *db, const qrl_acct_policy *pol,
                           const char *id, const char *password,
                           const uint8_t pub[QRL_PUBKEY_BYTES],
                           const char *device_name, const qrl_req_ctx *rc,
                           char token[QRL_SESSION_B64LEN + 1], qrl_citizen *who) {
  uint8_t th[QRL_SHA256_LEN];
  qrl_stmt *st;
  int64_t device_id = 0;
  qrl_err err;
  int in_tx = 0;

  memset(who, 0, sizeof(*who));
  if (!id || (err = qrl_citizen_id_check(id, strlen(id)))) {
    if (!id) err = QRL_INVALID_ID;
    goto audit;
  }
  if ((err = qrl_acct_check_password(db, pol, id, password, who))) goto audit;
  if ((err = qrl_ec_pub_check(pub, QRL_PUBKEY_BYTES))) goto audit;
  if ((err = qrl_random_token(QRL_SESSION_BYTES, token, QRL_SESSION_B64LEN + 1)))
    goto audit;
  if ((err = qrl_token_hash(token, th))) goto audit;

  if (qrl_sql_begin(db)) {
    err = QRL_DB;
    goto audit;
  }
  in_tx = 1;
  /* One device at a time: the new one replaces every earlier one. */
  st = qrl_sql_prep(db, "UPDATE app_sessions SET revoked_at = ?1,"
                " revoke_reason = 'replaced_by_new_device'"
                " WHERE citizen_id = ?2 AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_text(st, 2, id);
  }
  if ((err = qrl_sql_run(db, st))) goto audit;
  st = qrl_sql_prep(db, "UPDATE devices SET revoked_at = ?1 WHERE citizen_id = ?2"
                " AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, rc->now);
    qrl_sql_bind_text(st, 2, id);
  }
  if ((err = qrl_sql_run(db, st))) goto audit;
  st = qrl_sql_prep(db, "INSERT INTO devices(citizen_id, pubkey, name, created_at)"
                " VALUES(?,?,?,?) RETURNING id");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_blob(st, 2, pub, QRL_PUBKEY_BYTES);
    qrl_sql_bind_text(st, 3, device_name);
    qrl_sql_bind_int64(st, 4, rc->now);
  }
  if ((err = qrl_sql_run_id(db, st, &device_id))) goto audit;
  st = qrl_sql_prep(db, "INSERT INTO app_sessions(token_hash, citizen_id, device_id,"
                " created_at, expires_at) VALUES(?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_blob(st, 1, th, sizeof(th));
    qrl_sql_bind_text(st, 2, id);
    qrl_sql_bind_int64(st, 3, device_id);
    qrl_sql_bind_int64(st, 4, rc->now);
    qrl_sql_bind_int64(st, 5, rc->now + pol->app_session_secs);
  }
  err = qrl_sql_run(db, st);
audit:
  if (in_tx && err) {
    qrl_sql_rollback(db);
    in_tx = 0;
  }
  /* Audited in the same transaction on success, on its own on failure -
   * under the ID that was tried (well-formed ones only), so that guessing
   * shows in that account's trail; no device id from a rolled-back insert. */
  {
    int id_ok = id && qrl_citizen_id_valid(id, strlen(id));
    qrl_err aerr = qrl_db_audit(db, "app_login", err, id_ok ? id : NULL,
                                err ? 0 : device_id, NULL, rc);
    if (in_tx) {
      if (!aerr) aerr = qrl_sql_commit(db);
      if (aerr) {
        qrl_sql_rollback(db);
        err = QRL_DB;
      }
    }
  }
  if (err) {
    memset(token, 0, QRL_SESSION_B64LEN + 1);
    if (err != QRL_OK) memset(who, 0, sizeof(*who));
  }
  return err;
}

/* Resolves a session by its hash inside or outside a transaction. */
static qrl_err app_auth_hash(qrl_db *db, const uint8_t th[QRL_SHA256_LEN],
                             int64_t now, qrl_app_auth *out) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT c.id, c.full_name, c.level, c.phone, c.web_login, d.id, d.pubkey,"
      " d.revoked_at, s.revoked_at, s.expires_at, d.created_at"
      " FROM app_sessions s JOIN devices d ON d.id = s.device_id"
      " JOIN citizens c ON c.id = s.citizen_id WHERE s.token_hash = ?");
  qrl_err rc = QRL_SESSION_INVALID;
  int r;

  if (!st) return QRL_DB;
  qrl_sql_bind_blob(st, 1, th, QRL_SHA256_LEN);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    if (!qrl_sql_col_null(st, 8) ||
        qrl_sql_col_int64(st, 9) <= now) {
      rc = QRL_SESSION_INVALID;
    } else if (!qrl_sql_col_null(st, 7)) {
      rc = QRL_WRONG_DEVICE;
    } else if (qrl_sql_col_bytes(st, 6) != QRL_PUBKEY_BYTES) {
      rc = QRL_DB;
    } else {
      memset(out, 0, sizeof(*out));
      qrl_row_citizen(st, 0, &out->citizen);
      out->device_id = qrl_sql_col_int64(st, 5);
      out->device_since = qrl_sql_col_int64(st, 10);
      memcpy(out->device_pub, qrl_sql_col_blob(st, 6), QRL_PUBKEY_BYTES);
      memcpy(out->session_hash, th, QRL_SHA256_LEN);
      rc = QRL_OK;
    }
  } else if (r != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_acct_app_auth(qrl_db *db, const qrl_acct_policy *pol,
                          const char *token, int64_t now, qrl_app_auth *out) {
  uint8_t th[QRL_SHA256_LEN];
  (void)pol;
  if (!token || strlen(token) != QRL_SESSION_B64LEN) return QRL_SESSION_INVALID;
  if (qrl_token_hash(token, th)) return QRL_CRYPTO;
  return app_auth_hash(db, th, now, out);
}

static qrl_err revoke_app_session(qrl_db *db, const uint8_t th[QRL_SHA256_LEN],
                                  int64_t now, const char *reason) {
  qrl_stmt *st = qrl_sql_prep(db, "UPDATE app_sessions SET revoked_at = ?1,"
                              " revoke_reason = ?2 WHERE token_hash = ?3"
                              " AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, now);
    qrl_sql_bind_text(st, 2, reason);
    qrl_sql_bind_blob(st, 3, th, QRL_SHA256_LEN);
  }
  return qrl_sql_run(db, st);
}

qrl_err qrl_acct_app_logout(qrl_db *db, const char *token, const qrl_req_ctx *rc) {
  uint8_t th[QRL_SHA256_LEN];
  qrl_app_auth auth;
  qrl_err err;

  if (!token || strlen(token) != QRL_SESSION_B64LEN) return QRL_SESSION_INVALID;
  if (qrl_token_hash(token, th)) return QRL_CRYPTO;
  if (qrl_sql_begin(db)) return QRL_DB;
  err = app_auth_hash(db, th, rc->now, &auth);
  if (!err) err = revoke_app_session(db, th, rc->now, "app_logout");
  if (!err) err = qrl_db_audit(db, "app_logout", QRL_OK, auth.citizen.id,
                               auth.device_id, NULL, rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}

/* ---- the web-login permission --------------------------------------------- */

/* The passcode gate (attempt counting, growing locks) in front of an action:
 * on = 0/1 sets web login, on = -1 only checks (the step-up of a confirm). */
static qrl_err passcode_gate(qrl_db *db, const qrl_acct_policy *pol, qrl_app_auth *auth,
                             int on, const char *passcode, const qrl_req_ctx *rc) {
  const char *event = on < 0 ? "step_up" : "set_permission";
  char hash[QRL_HASH_STR_MAX], detail[32];
  qrl_citizen c;
  qrl_stmt *st;
  int64_t locked_until = 0;
  int failures = 0, locks = 0;
  qrl_err err, verr;

  snprintf(detail, sizeof(detail), "%s", on < 0 ? "passcode" : on ? "web_login=on"
                                                              : "web_login=off");
  auth->passcode_left = 0;
  auth->passcode_locked_until = 0;
  if (!passcode || !qrl_passcode_valid(passcode, strlen(passcode))) {
    err = QRL_BAD_PASSCODE_FORMAT;
    qrl_db_audit(db, event, err, auth->citizen.id, auth->device_id, detail, rc);
    return err;
  }
  /* Read the hash and the lock outside the write transaction: scrypt is slow
   * and must not hold the write lock. The counters are re-read below. */
  err = get_secret(db, auth->citizen.id, "passcode_hash", hash, sizeof(hash), &c);
  if (err) return err == QRL_NOT_FOUND ? QRL_SESSION_INVALID : err;
  verr = qrl_verify_secret(passcode, strlen(passcode), hash);
  qrl_cleanse(hash, sizeof(hash));
  if (verr != QRL_OK && verr != QRL_BAD_CREDENTIALS) return QRL_INTERNAL;

  if (qrl_sql_begin(db)) return QRL_DB;
  {
    qrl_app_auth now_auth;
    err = app_auth_hash(db, auth->session_hash, rc->now, &now_auth);
    if (err) goto done;
  }
  st = qrl_sql_prep(db, "SELECT passcode_failures, passcode_locked_until, passcode_locks"
                " FROM citizens WHERE id = ?");
  if (!st) {
    err = QRL_DB;
    goto done;
  }
  qrl_sql_bind_text(st, 1, auth->citizen.id);
  if (qrl_sql_step(st) == QRL_SQL_ROW) {
    failures = qrl_sql_col_int(st, 0);
    locked_until = qrl_sql_col_int64(st, 1);
    locks = qrl_sql_col_int(st, 2);
  }
  qrl_sql_done(db, st);
  if (locked_until > rc->now) {
    err = QRL_LOCKED;
    auth->passcode_locked_until = locked_until;
    goto done;
  }
  if (locked_until && locked_until <= rc->now) failures = 0; /* lock served */
  if (verr == QRL_BAD_CREDENTIALS) {
    failures++;
    /* At the limit: lock, and start counting afresh once the lock ends. Each
     * lock in a row lasts twice the one before (15 min, 30 min, ... 16 h),
     * until a right passcode clears the record. */
    if (failures >= pol->passcode_max_failures) {
      locked_until = rc->now + (pol->passcode_lock_secs << (locks < 6 ? locks : 6));
      locks++;
      err = QRL_LOCKED;
      auth->passcode_locked_until = locked_until;
    } else {
      locked_until = 0;
      err = QRL_WRONG_PASSCODE;
      auth->passcode_left = pol->passcode_max_failures - failures;
    }
    st = qrl_sql_prep(db, "UPDATE citizens SET passcode_failures = ?1,"
                  " passcode_locked_until = ?2, updated_at = ?3, passcode_locks = ?5"
                  " WHERE id = ?4");
    if (st) {
      qrl_sql_bind_int64(st, 1, err == QRL_LOCKED ? 0 : failures);
      qrl_sql_bind_int64(st, 2, locked_until);
      qrl_sql_bind_int64(st, 3, rc->now);
      qrl_sql_bind_text(st, 4, auth->citizen.id);
      qrl_sql_bind_int64(st, 5, locks);
    }
    if (qrl_sql_run(db, st)) err = QRL_DB;
    goto done;
  }
  st = qrl_sql_prep(db, "UPDATE citizens SET web_login = CASE WHEN ?1 < 0 THEN web_login"
                " ELSE ?1 END, passcode_failures = 0,"
                " passcode_locked_until = 0, passcode_locks = 0, updated_at = ?2"
                " WHERE id = ?3");
  if (st) {
    qrl_sql_bind_int64(st, 1, on);
    qrl_sql_bind_int64(st, 2, rc->now);
    qrl_sql_bind_text(st, 3, auth->citizen.id);
  }
  err = qrl_sql_run(db, st);
  if (!err && on >= 0) auth->citizen.web_login = on ? 1 : 0;
done:
  /* Counted failures are committed together with their audit row. */
  if (err == QRL_OK || err == QRL_WRONG_PASSCODE || err == QRL_LOCKED) {
    qrl_err e2 = qrl_db_audit(db, event, err, auth->citizen.id,
                              auth->device_id, detail, rc);
    if (!e2) e2 = qrl_sql_commit(db);
    if (e2) {
      qrl_sql_rollback(db);
      err = QRL_DB;
    }
  } else {
    qrl_sql_rollback(db);
    qrl_db_audit(db, event, err, auth->citizen.id, auth->device_id, detail, rc);
  }
  return err;
}

qrl_err qrl_acct_set_web_login(qrl_db *db, const qrl_acct_policy *pol,
                               qrl_app_auth *auth, int on, const char *passcode,
                               const qrl_req_ctx *rc) {
  /* A device registered a moment ago (a stolen password and passcode on the
   * thief's phone) cannot open the account to web logins. Off is always
   * allowed. */
  if (on && rc->now - auth->device_since < pol->fresh_device_secs) {
    qrl_db_audit(db, "set_permission", QRL_DEVICE_TOO_NEW, auth->citizen.id,
                 auth->device_id, "web_login=on", rc);
    return QRL_DEVICE_TOO_NEW;
  }
  return passcode_gate(db, pol, auth, on ? 1 : 0, passcode, rc);
}

qrl_err qrl_acct_check_passcode(qrl_db *db, const qrl_acct_policy *pol,
                                qrl_app_auth *auth, const char *passcode,
                                const qrl_req_ctx *rc) {
  return passcode_gate(db, pol, auth, -1, passcode, rc);
}

/* ---- web login completion and web sessions --------------------------------- */

qrl_err qrl_acct_complete_web_login(qrl_db *db, const qrl_acct_policy *pol,
                                    const qrl_app_auth *auth,
                                    const char *binding, const char *method,
                                    const qrl_req_ctx *rc, const qrl_audit_rec *before,
                                    char code[QRL_SESSION_B64LEN + 1]) {
  uint8_t ch[QRL_SHA256_LEN], bh[QRL_SHA256_LEN];
  qrl_app_auth now_auth;
  qrl_stmt *st;
  qrl_err err;
  int bstate = 0; /* before's row: 0 not in the transaction, 1 in it, 2 counted lost */

  if (!binding || !*binding) return QRL_INVAL;
  err = qrl_random_token(QRL_SESSION_BYTES, code, QRL_SESSION_B64LEN + 1);
  if (err) return err;
  if (qrl_token_hash(code, ch) || qrl_token_hash(binding, bh)) {
    memset(code, 0, QRL_SESSION_B64LEN + 1);
    return QRL_CRYPTO;
  }
  if (qrl_sql_begin(db)) {
    err = QRL_DB;
    goto out;
  }
  /* The step that led here (the confirm), first in the same transaction. */
  if (before) {
    if ((err = qrl_db_audit(db, before->event, before->outcome, before->citizen_id,
                            before->device_id, before->detail, &before->rc))) {
      bstate = 2; /* said and counted */
      goto out;
    }
    bstate = 1;
  }
  err = app_auth_hash(db, auth->session_hash, rc->now, &now_auth);
  if (err) goto out;
  /* As the account is now, not as it was at the scan: the permission may
   * have been turned off, or the level lowered, since. */
  if (!now_auth.citizen.web_login) err = QRL_NOT_PERMITTED;
  else if (now_auth.citizen.level < pol->required_level) err = QRL_LEVEL_TOO_LOW;
  if (err) goto out;
  st = qrl_sql_prep(db, "INSERT INTO web_sessions(citizen_id, method, code_hash,"
                " binding_hash, code_expires_at, created_at, ip, user_agent, flow, step_up)"
                " VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_text(st, 1, auth->citizen.id);
    qrl_sql_bind_text(st, 2, method ? method : "qr");
    qrl_sql_bind_blob(st, 3, ch, sizeof(ch));
    qrl_sql_bind_blob(st, 4, bh, sizeof(bh));
    qrl_sql_bind_int64(st, 5, rc->now + pol->code_secs);
    qrl_sql_bind_int64(st, 6, rc->now);
    qrl_sql_bind_text(st, 7, rc->ip);
    qrl_sql_bind_text(st, 8, rc->user_agent);
    qrl_sql_bind_text(st, 9, rc->flow);
    qrl_sql_bind_int64(st, 10, auth->step_up ? 1 : 0);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  /* A verified legacy portal account of this citizen becomes theirs - not
   * through a device registered a moment ago (it can still link later). */
  if (rc->now - auth->device_since >= pol->fresh_device_secs &&
      (err = qrl_legacy_link(db, auth->citizen.id, rc, NULL)))
    goto out;
  /* The phone that confirmed is logged out. */
  if ((err = revoke_app_session(db, auth->session_hash, rc->now,
                                "web_login_completed")))
    goto out;
  if ((err = qrl_db_audit(db, "web_login", QRL_OK, auth->citizen.id,
                          auth->device_id, method, rc)))
    goto out;
  if ((err = qrl_sql_commit(db))) bstate = 2; /* its rows said and counted */
out:
  if (err) {
    if (bstate == 1) qrl_sql_audit_retried(db, 1); /* written again below */
    qrl_sql_rollback(db);
    memset(code, 0, QRL_SESSION_B64LEN + 1);
    /* The step before happened whatever became of this one: its row is
     * written on its own. */
    if (before && bstate != 2)
      qrl_db_audit(db, before->event, before->outcome, before->citizen_id,
                   before->device_id, before->detail, &before->rc);
  }
  return err;
}
