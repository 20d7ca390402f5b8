/*
 * oidc_assert.c - private_key_jwt client assertions (oidc_assert.h).
 */
#include "domain/oidc_assert.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "sql.h"

/* The unverified claims of compact JWS jws (its middle part), parsed; NULL
 * if malformed. Only to find the client: nothing is trusted before the
 * signature holds. */
static cJSON *peek_claims(const char *jws) {
  const char *a = strchr(jws, '.'), *b = a ? strchr(a + 1, '.') : NULL;
  uint8_t buf[QRL_OIDC_ASSERTION_MAX_LEN];
  long n;
  if (!b) return NULL;
  n = qrl_b64url_decode(a + 1, (size_t)(b - a - 1), buf, sizeof(buf) - 1);
  if (n <= 0) return NULL;
  buf[n] = '\0';
  return cJSON_ParseWithLength((const char *)buf, (size_t)n);
}

/* The string member name of o, or "". */
static const char *str_of(const cJSON *o, const char *name) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
  return v ? v : "";
}

/* 1 if aud (a string or an array of strings) names want. */
static int aud_has(const cJSON *aud, const char *want) {
  const cJSON *e;
  if (!want || !want[0]) return 0;
  if (cJSON_IsString(aud)) return strcmp(aud->valuestring, want) == 0;
  cJSON_ArrayForEach(e, aud) if (cJSON_IsString(e) && !strcmp(e->valuestring, want)) return 1;
  return 0;
}

/* Verifies jws with a key of JWK Set jwks (the one named kid if has_kid):
 * the payload (malloc'd) into *payload. QRL_OK or QRL_BAD_CREDENTIALS. */
static qrl_err verify_with_set(const char *jwks, const char *jws, const char *kid, int has_kid,
                               char **payload) {
  cJSON *doc = cJSON_Parse(jwks);
  const cJSON *k;
  qrl_err rc = QRL_BAD_CREDENTIALS;
  size_t plen;
  *payload = NULL;
  cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "keys")) {
    const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "x"));
    const char *y = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "y"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kid"));
    const char *kty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kty"));
    uint8_t pt[65];
    if (has_kid && (!id || strcmp(id, kid))) continue;
    if (kty && !strcmp(kty, "RSA")) {
      /* RS256 only (qrl_jws_verify_rsa refuses any other alg). */
      const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "n"));
      const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "e"));
      if (n && e && qrl_jws_verify_rsa(n, e, jws, strlen(jws), payload, &plen) == QRL_OK) {
        rc = QRL_OK;
        break;
      }
      continue;
    }
    if (!x || !y) continue;
    pt[0] = 0x04;
    if (qrl_b64url_decode(x, strlen(x), pt + 1, 32) != 32 ||
        qrl_b64url_decode(y, strlen(y), pt + 33, 32) != 32)
      continue;
    if (qrl_jws_verify(pt, jws, strlen(jws), payload, &plen) == QRL_OK) {
      rc = QRL_OK;
      break;
    }
  }
  cJSON_Delete(doc);
  return rc;
}

/* Records jti's hash until exp; QRL_BAD_CREDENTIALS if seen before. */
static qrl_err use_jti(qrl_db *db, const char *client, const char *jti, int64_t exp,
                       int64_t now) {
  uint8_t h[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc;
  int added;
  if (qrl_sha256(jti, strlen(jti), h)) return QRL_CRYPTO;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "DELETE FROM oidc_assertion_jtis WHERE expires_at <= ?1");
  if (st) qrl_sql_bind_int64(st, 1, now);
  if ((rc = qrl_sql_run(db, st))) goto out;
  st = qrl_sql_prep(db, "INSERT INTO oidc_assertion_jtis(client_id, jti_hash,"
                        " expires_at) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING");
  if (st) {
    qrl_sql_bind_text(st, 1, client);
    qrl_sql_bind_blob(st, 2, h, sizeof(h));
    qrl_sql_bind_int64(st, 3, exp);
  }
  if ((rc = qrl_sql_run(db, st))) goto out;
  added = qrl_sql_changes(db) == 1;
  if ((rc = qrl_sql_commit(db))) goto out;
  return added ? QRL_OK : QRL_BAD_CREDENTIALS;
out:
  qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_oidc_client_assertion(qrl_db *db, const char *jws, const char *client_id,
                                  const char *token_url, const char *issuer, int64_t now,
                                  char out[QRL_CLIENT_ID_MAX + 1]) {
  char kid[QRL_JWK_KID_LEN + 1], id[QRL_CLIENT_ID_MAX + 1], *payload = NULL;
  cJSON *peek = NULL, *claims = NULL;
  const cJSON *exp, *jti;
  qrl_client cl;
  int has_kid = 0;
  qrl_err rc = QRL_BAD_CREDENTIALS;

  memset(&cl, 0, sizeof(cl));
  out[0] = '\0';
  if (!jws || strlen(jws) > QRL_OIDC_ASSERTION_MAX_LEN) return QRL_BAD_CREDENTIALS;
  if (qrl_jws_kid(jws, strlen(jws), kid, sizeof(kid), &has_kid)) return QRL_BAD_CREDENTIALS;
  /* Which client: the form's client_id, else the (unverified) sub. */
  if (client_id && client_id[0]) {
    if (strlen(client_id) > QRL_CLIENT_ID_MAX) return QRL_BAD_CREDENTIALS;
    memcpy(id, client_id, strlen(client_id) + 1);
  } else {
    const char *sub;
    if (!(peek = peek_claims(jws))) return QRL_BAD_CREDENTIALS;
    sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(peek, "sub"));
    if (!sub || strlen(sub) > QRL_CLIENT_ID_MAX) goto out;
    memcpy(id, sub, strlen(sub) + 1);
  }
  rc = qrl_client_get(db, id, &cl);
  if (rc == QRL_NOT_FOUND) rc = QRL_BAD_CREDENTIALS;
  if (rc) goto out;
  rc = QRL_BAD_CREDENTIALS;
  if (cl.auth != QRL_CLIENT_PRIVATE_KEY_JWT || !cl.jwks) goto out;
  if (verify_with_set(cl.jwks, jws, kid, has_kid, &payload)) goto out;
  if (!(claims = cJSON_Parse(payload))) goto out;
  exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
  jti = cJSON_GetObjectItemCaseSensitive(claims, "jti");
  if (strcmp(str_of(claims, "iss"), id) || strcmp(str_of(claims, "sub"), id)) goto out;
  if (!aud_has(cJSON_GetObjectItemCaseSensitive(claims, "aud"), token_url) &&
      !aud_has(cJSON_GetObjectItemCaseSensitive(claims, "aud"), issuer))
    goto out;
  if (!cJSON_IsNumber(exp) || exp->valuedouble <= (double)now ||
      exp->valuedouble > (double)(now + QRL_OIDC_ASSERTION_MAX_SECS))
    goto out;
  if (!cJSON_IsString(jti) || !jti->valuestring[0] || strlen(jti->valuestring) > 256) goto out;
  if ((rc = use_jti(db, id, jti->valuestring, (int64_t)exp->valuedouble, now))) goto out;
  memcpy(out, id, strlen(id) + 1);
out:
  free(payload);
  cJSON_Delete(claims);
  cJSON_Delete(peek);
  qrl_client_clear(&cl);
  return rc;
}
