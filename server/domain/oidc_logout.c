/*
 * oidc_logout.c - OpenID Connect logout in the database (oidc_logout.h).
 */
#include "domain/oidc_logout.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_keys.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "sql.h"

const char *qrl_bcl_outcome_name(qrl_bcl_outcome o) {
  switch (o) {
  case QRL_BCL_DELIVERED: return "delivered";
  case QRL_BCL_RETRY: return "retry";
  default: return "failed";
  }
}

int64_t qrl_bcl_backoff_ms(int64_t base_ms, int attempts) {
  int64_t d = base_ms > 0 ? base_ms : 1, cap = QRL_BCL_MAX_DELAY_MS;
  if (cap < d) cap = d;
  for (int i = 1; i < attempts && d < cap; i++) d *= 2;
  return d < cap ? d : cap;
}

/* ---- the outbox -------------------------------------------------------------- */

qrl_err qrl_bcl_claim(qrl_db *db, int64_t now_ms, qrl_bcl_item *out, size_t cap, size_t *n) {
  qrl_stmt *st;
  qrl_err rc = QRL_DB;
  int r;

  *n = 0;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "SELECT o.id, o.client_id, coalesce(c.backchannel_logout_uri, ''),"
                        " o.sid, o.sub, o.attempts, o.created_at FROM oidc_bcl_outbox o"
                        " LEFT JOIN oidc_clients c ON c.client_id = o.client_id"
                        " WHERE o.next_ms <= ?1 ORDER BY o.next_ms, o.id LIMIT ?2");
  if (!st) goto out;
  qrl_sql_bind_int64(st, 1, now_ms);
  qrl_sql_bind_int64(st, 2, (int64_t)cap);
  while (*n < cap && (r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    qrl_bcl_item *it = &out[*n];
    memset(it, 0, sizeof(*it));
    it->id = qrl_sql_col_int64(st, 0);
    qrl_sql_copy_col(st, 1, it->client_id, sizeof(it->client_id));
    qrl_sql_copy_col(st, 2, it->uri, sizeof(it->uri));
    qrl_sql_copy_col(st, 3, it->sid, sizeof(it->sid));
    qrl_sql_copy_col(st, 4, it->sub, sizeof(it->sub));
    it->attempts = qrl_sql_col_int(st, 5) + 1;
    it->created_at = qrl_sql_col_int64(st, 6);
    (*n)++;
  }
  qrl_sql_done(db, st);
  for (size_t i = 0; i < *n; i++) {
    st = qrl_sql_prep(db, "UPDATE oidc_bcl_outbox SET attempts = attempts + 1, next_ms = ?2"
                          " WHERE id = ?1");
    if (st) {
      qrl_sql_bind_int64(st, 1, out[i].id);
      qrl_sql_bind_int64(st, 2, now_ms + QRL_BCL_LEASE_MS);
    }
    if (qrl_sql_run(db, st)) goto out;
  }
  return qrl_sql_commit(db);
out:
  qrl_sql_rollback(db);
  *n = 0;
  return rc;
}

qrl_err qrl_bcl_settle(qrl_db *db, const qrl_bcl_item *it, int ok, int permanent,
                       int64_t now_ms, int64_t retry_ms, qrl_bcl_outcome *out) {
  int64_t delay = qrl_bcl_backoff_ms(retry_ms, it->attempts);
  qrl_stmt *st;
  *out = ok ? QRL_BCL_DELIVERED : QRL_BCL_RETRY;
  if (!ok && (permanent || it->attempts >= QRL_BCL_MAX_ATTEMPTS ||
              (now_ms + delay) / 1000 > it->created_at + QRL_BCL_MAX_SECS))
    *out = QRL_BCL_FAILED;
  if (*out == QRL_BCL_RETRY) {
    st = qrl_sql_prep(db, "UPDATE oidc_bcl_outbox SET next_ms = ?2 WHERE id = ?1");
    if (st) qrl_sql_bind_int64(st, 2, now_ms + delay);
  } else {
    st = qrl_sql_prep(db, "DELETE FROM oidc_bcl_outbox WHERE id = ?1");
  }
  if (st) qrl_sql_bind_int64(st, 1, it->id);
  return qrl_sql_run(db, st);
}

qrl_err qrl_bcl_next_due(qrl_db *db, int64_t *next_ms) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT min(next_ms) FROM oidc_bcl_outbox");
  qrl_err rc = QRL_DB;
  *next_ms = 0;
  if (!st) return QRL_DB;
  if (qrl_sql_step(st) == QRL_SQL_ROW) {
    if (qrl_sql_col_null(st, 0)) rc = QRL_NOT_FOUND;
    else {
      *next_ms = qrl_sql_col_int64(st, 0);
      rc = QRL_OK;
    }
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_bcl_forget_ended(qrl_db *db, int64_t now) {
  qrl_stmt *st = qrl_sql_prep(
      db, "DELETE FROM oidc_rp_sessions WHERE session_id IN (SELECT id FROM web_sessions"
          " WHERE expires_at <= ?1 OR revoked_at IS NOT NULL)");
  if (st) qrl_sql_bind_int64(st, 1, now);
  if (qrl_sql_run(db, st)) return QRL_DB;
  st = qrl_sql_prep(db, "DELETE FROM oidc_logout_confirms WHERE expires_at <= ?1");
  if (st) qrl_sql_bind_int64(st, 1, now);
  return qrl_sql_run(db, st);
}

/* ---- the logout token ---------------------------------------------------------- */

qrl_err qrl_oidc_logout_token(qrl_db *db, const char *issuer, const qrl_bcl_item *it,
                              int64_t now, char **out) {
  qrl_client client;
  const char *alg = "ES256";
  char jti[QRL_OIDC_SUB_LEN + 1], *payload = NULL;
  cJSON *o = cJSON_CreateObject(), *ev, *e;
  qrl_err rc = QRL_NOMEM;

  *out = NULL;
  if (!o) goto out;
  if ((rc = qrl_random_token(16, jti, sizeof(jti)))) goto out;
  rc = QRL_NOMEM;
  if (!cJSON_AddStringToObject(o, "iss", issuer) ||
      !cJSON_AddStringToObject(o, "aud", it->client_id) ||
      !cJSON_AddNumberToObject(o, "iat", (double)now) ||
      !cJSON_AddNumberToObject(o, "exp", (double)(now + QRL_BCL_TOKEN_SECS)) ||
      !cJSON_AddStringToObject(o, "jti", jti) || !cJSON_AddStringToObject(o, "sid", it->sid) ||
      !cJSON_AddStringToObject(o, "sub", it->sub) ||
      !(ev = cJSON_AddObjectToObject(o, "events")) || !(e = cJSON_CreateObject()))
    goto out;
  if (!cJSON_AddItemToObject(ev, QRL_BCL_EVENT, e)) {
    cJSON_Delete(e);
    goto out;
  }
  if (!(payload = cJSON_PrintUnformatted(o))) goto out;
  /* Signed as the portal's ID tokens are: its algorithm (ES256 unless it
   * registered RS256), the key of that chain that signs now. */
  if (qrl_client_get(db, it->client_id, &client) == QRL_OK && client.id_token_alg[0])
    alg = client.id_token_alg;
  rc = qrl_oidc_jwt_sign(db, now, alg, "logout+jwt", payload, out);
out:
  free(payload);
  cJSON_Delete(o);
  return rc;
}

/* ---- id_token_hint ------------------------------------------------------------- */

/* Copies string member name of o into out (cap bytes) if its length is
 * within [min, cap - 1]. 0 or -1. */
static int copy_str(const cJSON *o, const char *name, char *out, size_t cap, size_t min) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
  size_t n = v ? strlen(v) : 0;
  if (!v || n < min || n >= cap) return -1;
  memcpy(out, v, n + 1);
  return 0;
}

qrl_err qrl_oidc_hint_claims(const char *payload, size_t len, const char *issuer,
                             qrl_oidc_hint *out) {
  cJSON *o = cJSON_ParseWithLength(payload, len);
  const cJSON *aud;
  const char *iss;
  qrl_err rc = QRL_BAD_MESSAGE;

  memset(out, 0, sizeof(*out));
  if (!cJSON_IsObject(o)) goto out;
  iss = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "iss"));
  if (!iss || !issuer || strcmp(iss, issuer) != 0) goto out;
  aud = cJSON_GetObjectItemCaseSensitive(o, "aud");
  if (cJSON_IsArray(aud)) {
    if (cJSON_GetArraySize(aud) != 1) goto out;
    aud = cJSON_GetArrayItem(aud, 0);
  }
  if (!cJSON_IsString(aud) || strlen(aud->valuestring) >= sizeof(out->client_id) ||
      !aud->valuestring[0])
    goto out;
  memcpy(out->client_id, aud->valuestring, strlen(aud->valuestring) + 1);
  if (copy_str(o, "sid", out->sid, sizeof(out->sid), QRL_OIDC_SID_LEN) ||
      copy_str(o, "sub", out->sub, sizeof(out->sub), QRL_OIDC_SUB_LEN))
    goto out;
  rc = QRL_OK;
out:
  if (rc) memset(out, 0, sizeof(*out));
  cJSON_Delete(o);
  return rc;
}

/* Verifies jws with RS256 key k (its published n and e). */
static qrl_err verify_rsa(const qrl_oidc_key *k, const char *jws, size_t len, char **payload,
                          size_t *plen) {
  char *jwk = NULL;
  cJSON *o = NULL;
  const char *n, *e;
  qrl_err rc = qrl_jwk_rsa_public_json(k->pub, k->publen, &jwk);

  if (rc) goto out;
  rc = QRL_NOMEM;
  if (!(o = cJSON_Parse(jwk))) goto out;
  n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "n"));
  e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "e"));
  rc = n && e ? qrl_jws_verify_rsa(n, e, jws, len, payload, plen) : QRL_CRYPTO;
out:
  cJSON_Delete(o);
  free(jwk);
  return rc;
}

qrl_err qrl_oidc_hint_check(qrl_db *db, const char *hint, const char *issuer, int64_t now,
                            qrl_oidc_hint *out) {
  qrl_oidc_key keys[QRL_OIDC_KEYS_MAX];
  char kid[QRL_JWK_KID_LEN + 1], *payload = NULL;
  size_t n = 0, plen = 0, len = hint ? strlen(hint) : 0;
  int has_kid = 0;
  qrl_err rc;

  memset(out, 0, sizeof(*out));
  if (!len || qrl_jws_kid(hint, len, kid, sizeof(kid), &has_kid) || !has_kid)
    return QRL_BAD_SIGNATURE;
  if ((rc = qrl_oidc_keys_published(db, now, keys, QRL_OIDC_KEYS_MAX, &n))) return rc;
  rc = QRL_BAD_SIGNATURE;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(keys[i].kid, kid) != 0) continue;
    if (!strcmp(keys[i].alg, "RS256"))
      rc = verify_rsa(&keys[i], hint, len, &payload, &plen);
    else
      rc = qrl_jws_verify(keys[i].pub, hint, len, &payload, &plen);
    break;
  }
  if (rc == QRL_BAD_DEVICE_KEY) rc = QRL_BAD_SIGNATURE;
  if (!rc) rc = qrl_oidc_hint_claims(payload, plen, issuer, out);
  free(payload);
  return rc;
}

/* ---- ending a session ----------------------------------------------------------- */

qrl_err qrl_oidc_session_of_sid(qrl_db *db, const char *sid, int64_t *session_id) {
  qrl_stmt *st = qrl_sql_prep(
      db, "SELECT r.session_id FROM oidc_rp_sessions r JOIN web_sessions w"
          " ON w.id = r.session_id WHERE r.sid = ?1 AND w.revoked_at IS NULL LIMIT 1");
  qrl_err rc = QRL_DB;
  int r;
  *session_id = 0;
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, sid);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    *session_id = qrl_sql_col_int64(st, 0);
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_oidc_logout_session(qrl_db *db, int64_t session_id, const char *client_id,
                                const qrl_req_ctx *rc_, int *ended) {
  qrl_stmt *st;
  char citizen[QRL_CITIZEN_ID_LEN + 1] = "";
  qrl_err rc;

  *ended = 0;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "SELECT citizen_id FROM web_sessions WHERE id = ?1");
  if (st) {
    qrl_sql_bind_int64(st, 1, session_id);
    if (qrl_sql_step(st) == QRL_SQL_ROW) qrl_sql_copy_col(st, 0, citizen, sizeof(citizen));
    qrl_sql_done(db, st);
  }
  /* The trigger oidc_bcl_session_revoked queues the back-channel logouts. */
  st = qrl_sql_prep(db, "UPDATE web_sessions SET revoked_at = ?2"
                        " WHERE id = ?1 AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, session_id);
    qrl_sql_bind_int64(st, 2, rc_->now);
  }
  if ((rc = qrl_sql_run(db, st))) goto fail;
  *ended = qrl_sql_changes(db) == 1;
  if (*ended && (rc = qrl_db_audit(db, "oidc_logout", QRL_OK, citizen[0] ? citizen : NULL, 0,
                                   client_id && client_id[0] ? client_id : NULL, rc_)))
    goto fail;
  return qrl_sql_commit(db);
fail:
  qrl_sql_rollback(db);
  *ended = 0;
  return rc;
}

/* ---- the confirmation form -------------------------------------------------------- */

qrl_err qrl_oidc_confirm_new(qrl_db *db, const qrl_oidc_confirm *c, int64_t now,
                             char token[QRL_OIDC_CONFIRM_LEN + 1]) {
  uint8_t h[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc = qrl_random_token(32, token, QRL_OIDC_CONFIRM_LEN + 1);
  if (!rc && qrl_sha256(token, strlen(token), h)) rc = QRL_CRYPTO;
  if (rc) return rc;
  st = qrl_sql_prep(db, "INSERT INTO oidc_logout_confirms(token_hash, session_id, client_id,"
                        " redirect_uri, state, expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (st) {
    qrl_sql_bind_blob(st, 1, h, sizeof(h));
    qrl_sql_bind_int64(st, 2, c->session_id);
    qrl_sql_bind_text(st, 3, c->client_id);
    qrl_sql_bind_text(st, 4, c->redirect_uri);
    qrl_sql_bind_text(st, 5, c->state);
    qrl_sql_bind_int64(st, 6, now + QRL_OIDC_CONFIRM_SECS);
  }
  if ((rc = qrl_sql_run(db, st))) qrl_cleanse(token, QRL_OIDC_CONFIRM_LEN + 1);
  return rc;
}

qrl_err qrl_oidc_confirm_take(qrl_db *db, const char *token, int64_t now,
                              qrl_oidc_confirm *out) {
  uint8_t h[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc = QRL_DB;
  int r;

  memset(out, 0, sizeof(*out));
  if (!token || strlen(token) != QRL_OIDC_CONFIRM_LEN) return QRL_NOT_FOUND;
  if (qrl_sha256(token, strlen(token), h)) return QRL_CRYPTO;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "SELECT session_id, client_id, redirect_uri, state FROM"
                        " oidc_logout_confirms WHERE token_hash = ?1 AND expires_at > ?2");
  if (!st) goto out;
  qrl_sql_bind_blob(st, 1, h, sizeof(h));
  qrl_sql_bind_int64(st, 2, now);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    out->session_id = qrl_sql_col_int64(st, 0);
    qrl_sql_copy_col(st, 1, out->client_id, sizeof(out->client_id));
    qrl_sql_copy_col(st, 2, out->redirect_uri, sizeof(out->redirect_uri));
    qrl_sql_copy_col(st, 3, out->state, sizeof(out->state));
    rc = QRL_OK;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  }
  qrl_sql_done(db, st);
  if (rc) goto out;
  /* One use: gone whatever comes next. */
  st = qrl_sql_prep(db, "DELETE FROM oidc_logout_confirms WHERE token_hash = ?1");
  if (st) qrl_sql_bind_blob(st, 1, h, sizeof(h));
  if ((rc = qrl_sql_run(db, st))) goto out;
  return qrl_sql_commit(db);
out:
  qrl_sql_rollback(db);
  if (rc) memset(out, 0, sizeof(*out));
  return rc;
}
