/*
 * oidc_grants.c - authorization requests, codes, access tokens and subjects
 * of the OpenID Connect provider (oidc_grants.h).
 */
#include "domain/oidc_grants.h"

#include <stdio.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "sql.h"

/* ---- PKCE ------------------------------------------------------------------ */

static int b64url_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '-' || ch == '_';
}

int qrl_oidc_challenge_valid(const char *s) {
  size_t n = 0;
  if (!s) return 0;
  for (; s[n]; n++)
    if (!b64url_char(s[n])) return 0;
  return n == QRL_OIDC_CHALLENGE_LEN;
}

int qrl_oidc_pkce_ok(const char *verifier, const char *challenge) {
  uint8_t h[QRL_SHA256_LEN];
  char got[QRL_OIDC_CHALLENGE_LEN + 2];
  size_t n = 0;
  if (!verifier || !qrl_oidc_challenge_valid(challenge)) return 0;
  for (; verifier[n]; n++)
    if (!b64url_char(verifier[n]) && verifier[n] != '.' && verifier[n] != '~') return 0;
  if (n < 43 || n > 128) return 0;
  if (qrl_sha256(verifier, n, h)) return 0;
  if (qrl_b64url_encode(h, sizeof(h), got, sizeof(got)) != QRL_OIDC_CHALLENGE_LEN) return 0;
  return qrl_ct_equal(got, challenge, QRL_OIDC_CHALLENGE_LEN);
}

/* ---- requests --------------------------------------------------------------- */

qrl_err qrl_oidc_authz_save(qrl_db *db, const qrl_oidc_authz *a, int64_t now,
                            char id[QRL_OIDC_REQ_ID_LEN + 1]) {
  qrl_stmt *st;
  qrl_err rc = qrl_random_token(16, id, QRL_OIDC_REQ_ID_LEN + 1);
  if (rc) return rc;
  if (qrl_sql_begin(db)) return QRL_DB;
  /* Requests nobody finished go when a new one comes. */
  st = qrl_sql_prep(db, "DELETE FROM oidc_requests WHERE expires_at <= ?1");
  if (st) qrl_sql_bind_int64(st, 1, now);
  if ((rc = qrl_sql_run(db, st))) goto out;
  st = qrl_sql_prep(db,
                    "INSERT INTO oidc_requests(id, client_id, redirect_uri, scope, state, nonce,"
                    " challenge, acr_values, force_login, max_age, created_at, expires_at,"
                    " not_session, min_level, ui_locales, browser_hash)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                    " ?16)");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_text(st, 2, a->client_id);
    qrl_sql_bind_text(st, 3, a->redirect_uri);
    qrl_sql_bind_text(st, 4, a->scope);
    qrl_sql_bind_text(st, 5, a->state);
    qrl_sql_bind_text(st, 6, a->nonce);
    qrl_sql_bind_text(st, 7, a->challenge);
    qrl_sql_bind_text(st, 8, a->acr_values);
    qrl_sql_bind_int64(st, 9, a->force_login);
    qrl_sql_bind_int64(st, 10, a->max_age);
    qrl_sql_bind_int64(st, 11, now);
    qrl_sql_bind_int64(st, 12, now + QRL_OIDC_REQ_SECS);
    qrl_sql_bind_int64(st, 13, a->not_session);
    qrl_sql_bind_int64(st, 14, a->min_level >= 2 ? 2 : 1);
    qrl_sql_bind_text(st, 15, a->ui_locales[0] ? a->ui_locales : NULL);
    qrl_sql_bind_blob(st, 16, a->browser_hash, sizeof(a->browser_hash));
  }
  if ((rc = qrl_sql_run(db, st))) goto out;
  rc = qrl_sql_commit(db);
  return rc;
out:
  qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_oidc_authz_load(qrl_db *db, const char *id, int64_t now, qrl_oidc_authz *out) {
  qrl_stmt *st = qrl_sql_prep(
      db, "SELECT client_id, redirect_uri, scope, state, nonce, challenge, acr_values,"
          " force_login, max_age, created_at, not_session, min_level, ui_locales,"
          " browser_hash FROM oidc_requests"
          " WHERE id = ?1 AND expires_at > ?2");
  qrl_err rc = QRL_DB;
  int r;
  memset(out, 0, sizeof(*out));
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  qrl_sql_bind_int64(st, 2, now);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, out->client_id, sizeof(out->client_id));
    qrl_sql_copy_col(st, 1, out->redirect_uri, sizeof(out->redirect_uri));
    qrl_sql_copy_col(st, 2, out->scope, sizeof(out->scope));
    qrl_sql_copy_col(st, 3, out->state, sizeof(out->state));
    qrl_sql_copy_col(st, 4, out->nonce, sizeof(out->nonce));
    qrl_sql_copy_col(st, 5, out->challenge, sizeof(out->challenge));
    qrl_sql_copy_col(st, 6, out->acr_values, sizeof(out->acr_values));
    out->force_login = qrl_sql_col_int(st, 7);
    out->max_age = qrl_sql_col_int64(st, 8);
    out->created_at = qrl_sql_col_int64(st, 9);
    out->not_session = qrl_sql_col_int64(st, 10);
    out->min_level = qrl_sql_col_int(st, 11);
    qrl_sql_copy_col(st, 12, out->ui_locales, sizeof(out->ui_locales));
    /* A request without a binding (none stored) matches no cookie. */
    if (qrl_sql_col_bytes(st, 13) == (int)sizeof(out->browser_hash))
      memcpy(out->browser_hash, qrl_sql_col_blob(st, 13), sizeof(out->browser_hash));
    else
      memset(out->browser_hash, 0xff, sizeof(out->browser_hash));
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  }
  qrl_sql_done(db, st);
  return rc;
}

int qrl_oidc_authz_browser_ok(const qrl_oidc_authz *a, const char *cookie) {
  uint8_t h[QRL_SHA256_LEN];
  size_t n = cookie ? strlen(cookie) : 0;
  int ok;
  /* Hashed first: what is compared is always 32 bytes, in constant time. */
  if (qrl_sha256(cookie ? cookie : "", n, h)) return 0;
  ok = qrl_ct_equal(h, a->browser_hash, sizeof(h));
  return ok && n == QRL_OIDC_BIND_LEN;
}

qrl_err qrl_oidc_authz_done(qrl_db *db, const char *id) {
  qrl_stmt *st = qrl_sql_prep(db, "DELETE FROM oidc_requests WHERE id = ?1");
  if (st) qrl_sql_bind_text(st, 1, id);
  return qrl_sql_run(db, st);
}

/* ---- subjects --------------------------------------------------------------- */

/* The subject of citizen_id, made if it has none (inside the caller's
 * transaction). */
static qrl_err subject_of(qrl_db *db, const char *citizen_id, char sub[QRL_OIDC_SUB_LEN + 1]) {
  char fresh[QRL_OIDC_SUB_LEN + 1];
  qrl_stmt *st;
  qrl_err rc = qrl_random_token(16, fresh, sizeof(fresh));
  if (rc) return rc;
  st = qrl_sql_prep(db, "INSERT INTO oidc_subjects(citizen_id, sub) VALUES(?1, ?2)"
                        " ON CONFLICT DO NOTHING");
  if (st) {
    qrl_sql_bind_text(st, 1, citizen_id);
    qrl_sql_bind_text(st, 2, fresh);
  }
  if ((rc = qrl_sql_run(db, st))) return rc;
  rc = qrl_oidc_subject_find(db, citizen_id, sub);
  return rc == QRL_NOT_FOUND ? QRL_DB : rc;
}

qrl_err qrl_oidc_subject_find(qrl_db *db, const char *citizen_id,
                              char sub[QRL_OIDC_SUB_LEN + 1]) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT sub FROM oidc_subjects WHERE citizen_id = ?1");
  int r;
  sub[0] = '\0';
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, citizen_id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) qrl_sql_copy_col(st, 0, sub, QRL_OIDC_SUB_LEN + 1);
  qrl_sql_done(db, st);
  return r == QRL_SQL_ROW ? QRL_OK : r == QRL_SQL_DONE ? QRL_NOT_FOUND : QRL_DB;
}

/* ---- codes ------------------------------------------------------------------ */

qrl_err qrl_oidc_code_issue(qrl_db *db, qrl_oidc_grant *g, const qrl_req_ctx *rc_,
                            char code[QRL_OIDC_SECRET_LEN + 1]) {
  int64_t now = rc_->now;
  uint8_t h[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc = qrl_random_token(32, code, QRL_OIDC_SECRET_LEN + 1);
  if (!rc && qrl_sha256(code, strlen(code), h)) rc = QRL_CRYPTO;
  if (rc) return rc;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((rc = subject_of(db, g->citizen_id, g->sub))) goto out;
  st = qrl_sql_prep(db, "DELETE FROM oidc_codes WHERE expires_at <= ?1 AND used = 0");
  if (st) qrl_sql_bind_int64(st, 1, now - QRL_OIDC_ACCESS_SECS);
  if ((rc = qrl_sql_run(db, st))) goto out;
  st = qrl_sql_prep(db,
                    "INSERT INTO oidc_codes(code_hash, client_id, redirect_uri, scope, nonce,"
                    " challenge, citizen_id, sid, sub, acr, amr, auth_time, expires_at, session_id)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (st) {
    qrl_sql_bind_blob(st, 1, h, sizeof(h));
    qrl_sql_bind_text(st, 2, g->client_id);
    qrl_sql_bind_text(st, 3, g->redirect_uri);
    qrl_sql_bind_text(st, 4, g->scope);
    qrl_sql_bind_text(st, 5, g->nonce);
    qrl_sql_bind_text(st, 6, g->challenge);
    qrl_sql_bind_text(st, 7, g->citizen_id);
    qrl_sql_bind_text(st, 8, g->sid);
    qrl_sql_bind_text(st, 9, g->sub);
    qrl_sql_bind_text(st, 10, g->acr);
    qrl_sql_bind_text(st, 11, g->amr);
    qrl_sql_bind_int64(st, 12, g->auth_time);
    qrl_sql_bind_int64(st, 13, now + QRL_OIDC_CODE_SECS);
    if (g->session_id > 0) qrl_sql_bind_int64(st, 14, g->session_id);
  }
  if ((rc = qrl_sql_run(db, st))) goto out;
  if ((rc = qrl_db_audit(db, "oidc_code", QRL_OK, g->citizen_id, 0, g->client_id, rc_))) goto out;
  return qrl_sql_commit(db);
out:
  qrl_sql_rollback(db);
  return rc;
}

/* Reads the code row of hash h into *g and its expiry. QRL_OK,
 * QRL_CODE_INVALID (none), QRL_DB. */
static qrl_err code_row(qrl_db *db, const uint8_t h[QRL_SHA256_LEN], qrl_oidc_grant *g,
                        int64_t *expires_at) {
  qrl_stmt *st = qrl_sql_prep(
      db, "SELECT client_id, redirect_uri, scope, nonce, challenge, citizen_id, sid, sub, acr,"
          " amr, auth_time, expires_at FROM oidc_codes WHERE code_hash = ?1");
  qrl_err rc = QRL_DB;
  int r;
  if (!st) return QRL_DB;
  qrl_sql_bind_blob(st, 1, h, QRL_SHA256_LEN);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, g->client_id, sizeof(g->client_id));
    qrl_sql_copy_col(st, 1, g->redirect_uri, sizeof(g->redirect_uri));
    qrl_sql_copy_col(st, 2, g->scope, sizeof(g->scope));
    qrl_sql_copy_col(st, 3, g->nonce, sizeof(g->nonce));
    qrl_sql_copy_col(st, 4, g->challenge, sizeof(g->challenge));
    qrl_sql_copy_col(st, 5, g->citizen_id, sizeof(g->citizen_id));
    qrl_sql_copy_col(st, 6, g->sid, sizeof(g->sid));
    qrl_sql_copy_col(st, 7, g->sub, sizeof(g->sub));
    qrl_sql_copy_col(st, 8, g->acr, sizeof(g->acr));
    qrl_sql_copy_col(st, 9, g->amr, sizeof(g->amr));
    g->auth_time = qrl_sql_col_int64(st, 10);
    *expires_at = qrl_sql_col_int64(st, 11);
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_CODE_INVALID;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_oidc_code_redeem(qrl_db *db, const char *code, const char *client_id,
                             const char *redirect_uri, const char *verifier,
                             const qrl_req_ctx *rc_, qrl_oidc_grant *out,
                             char access[QRL_OIDC_SECRET_LEN + 1]) {
  int64_t now = rc_->now;
  uint8_t h[QRL_SHA256_LEN], th[QRL_SHA256_LEN];
  qrl_stmt *st;
  int64_t expires_at = 0;
  const char *why = NULL; /* a refusal's audit detail */
  int won;
  qrl_err rc;

  memset(out, 0, sizeof(*out));
  access[0] = '\0';
  if (!code || strlen(code) != QRL_OIDC_SECRET_LEN) return QRL_CODE_INVALID;
  if (qrl_sha256(code, strlen(code), h)) return QRL_CRYPTO;
  if ((rc = qrl_random_token(32, access, QRL_OIDC_SECRET_LEN + 1))) return rc;
  if (qrl_sha256(access, strlen(access), th)) return QRL_CRYPTO;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "UPDATE oidc_codes SET used = 1 WHERE code_hash = ?1 AND used = 0");
  if (st) qrl_sql_bind_blob(st, 1, h, sizeof(h));
  if ((rc = qrl_sql_run(db, st))) goto fail;
  won = qrl_sql_changes(db) == 1;
  if (!won) {
    /* Unknown, or redeemed before: a replay revokes what the code gave. */
    st = qrl_sql_prep(db, "UPDATE oidc_tokens SET revoked_at = ?2"
                          " WHERE code_hash = ?1 AND revoked_at IS NULL");
    if (st) {
      qrl_sql_bind_blob(st, 1, h, sizeof(h));
      qrl_sql_bind_int64(st, 2, now);
    }
    if ((rc = qrl_sql_run(db, st))) goto fail;
    rc = code_row(db, h, out, &expires_at);
    if (rc && rc != QRL_CODE_INVALID) goto fail;
    why = rc ? "unknown code" : "code used again: its tokens revoked";
    rc = QRL_CODE_INVALID;
    goto burn;
  }
  if ((rc = code_row(db, h, out, &expires_at))) goto fail;
  if (expires_at <= now) why = "code expired";
  else if (strcmp(out->client_id, client_id ? client_id : "") != 0) why = "another client";
  else if (strcmp(out->redirect_uri, redirect_uri ? redirect_uri : "") != 0)
    why = "another redirect_uri";
  else if (!qrl_oidc_pkce_ok(verifier, out->challenge)) why = "wrong code_verifier";
  if (why) {
    rc = QRL_CODE_INVALID; /* used up all the same */
    goto burn;
  }
  st = qrl_sql_prep(db, "INSERT INTO oidc_tokens(token_hash, code_hash, client_id, scope,"
                        " citizen_id, sub, expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (st) {
    qrl_sql_bind_blob(st, 1, th, sizeof(th));
    qrl_sql_bind_blob(st, 2, h, sizeof(h));
    qrl_sql_bind_text(st, 3, out->client_id);
    qrl_sql_bind_text(st, 4, out->scope);
    qrl_sql_bind_text(st, 5, out->citizen_id);
    qrl_sql_bind_text(st, 6, out->sub);
    qrl_sql_bind_int64(st, 7, now + QRL_OIDC_ACCESS_SECS);
  }
  if ((rc = qrl_sql_run(db, st))) goto fail;
  if ((rc = qrl_db_audit(db, "oidc_token", QRL_OK, out->citizen_id, 0, out->client_id, rc_)))
    goto fail;
  return qrl_sql_commit(db);
burn:
  {
    qrl_err c;
    /* The code is used up first, its audit row after, in a transaction of
     * its own: a row that cannot be written (on PostgreSQL a failed insert
     * would undo the whole transaction) never leaves the code usable. */
    if ((c = qrl_sql_commit(db))) qrl_sql_rollback(db);
    qrl_db_audit(db, "oidc_token", rc, out->citizen_id[0] ? out->citizen_id : NULL, 0, why, rc_);
    memset(out, 0, sizeof(*out));
    qrl_cleanse(access, QRL_OIDC_SECRET_LEN + 1);
    return c ? c : rc;
  }
fail:
  qrl_sql_rollback(db);
  memset(out, 0, sizeof(*out));
  qrl_cleanse(access, QRL_OIDC_SECRET_LEN + 1);
  return rc;
}

/* ---- access tokens ----------------------------------------------------------- */

qrl_err qrl_oidc_access_check(qrl_db *db, const char *token, int64_t now, qrl_oidc_grant *out) {
  uint8_t h[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc = QRL_DB;
  int r;
  memset(out, 0, sizeof(*out));
  if (!token || strlen(token) != QRL_OIDC_SECRET_LEN) return QRL_NOT_AUTHENTICATED;
  if (qrl_sha256(token, strlen(token), h)) return QRL_CRYPTO;
  st = qrl_sql_prep(db, "SELECT client_id, scope, citizen_id, sub FROM oidc_tokens"
                        " WHERE token_hash = ?1 AND expires_at > ?2 AND revoked_at IS NULL");
  if (!st) return QRL_DB;
  qrl_sql_bind_blob(st, 1, h, sizeof(h));
  qrl_sql_bind_int64(st, 2, now);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, out->client_id, sizeof(out->client_id));
    qrl_sql_copy_col(st, 1, out->scope, sizeof(out->scope));
    qrl_sql_copy_col(st, 2, out->citizen_id, sizeof(out->citizen_id));
    qrl_sql_copy_col(st, 3, out->sub, sizeof(out->sub));
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_AUTHENTICATED;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_oidc_citizen_claims(qrl_db *db, const char *citizen_id, qrl_oidc_claims *out) {
  qrl_stmt *st =
      qrl_sql_prep(db, "SELECT full_name, level, dob FROM citizens WHERE id = ?1");
  qrl_err rc = QRL_DB;
  int r;
  memset(out, 0, sizeof(*out));
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, citizen_id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, out->name, sizeof(out->name));
    out->level = qrl_sql_col_int(st, 1);
    qrl_sql_copy_col(st, 2, out->birthdate, sizeof(out->birthdate));
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  }
  qrl_sql_done(db, st);
  return rc;
}
