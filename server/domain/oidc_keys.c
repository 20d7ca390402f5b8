/*
 * oidc_keys.c - the OpenID Connect signing keys and their rotation
 * (oidc_keys.h). Makes keys, stores and reads them; does not sign, publish
 * or serve anything.
 */
#include "domain/oidc_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"

#define KEY_COLS "kid, alg, public_key, created_at, activate_at, retire_at, expire_at"

qrl_oidc_key_policy qrl_oidc_key_policy_default(void) {
  qrl_oidc_key_policy p = {900, QRL_OIDC_TOKEN_MAX_SECS + QRL_OIDC_SKEW_SECS};
  return p;
}

qrl_oidc_key_state qrl_oidc_key_state_at(const qrl_oidc_key *k, int64_t now) {
  if (k->expire_at && now >= k->expire_at) return QRL_OIDC_KEY_EXPIRED;
  if (k->retire_at && now >= k->retire_at) return QRL_OIDC_KEY_RETIRED;
  if (now < k->activate_at) return QRL_OIDC_KEY_NEXT;
  return QRL_OIDC_KEY_ACTIVE;
}

const char *qrl_oidc_key_state_name(qrl_oidc_key_state s) {
  switch (s) {
  case QRL_OIDC_KEY_NEXT: return "next";
  case QRL_OIDC_KEY_ACTIVE: return "active";
  case QRL_OIDC_KEY_RETIRED: return "retired";
  default: return "expired";
  }
}

/* Reads the KEY_COLS of st's row at col 0 into k. -1 if malformed. */
static int read_key(qrl_stmt *st, qrl_oidc_key *k) {
  int n;
  memset(k, 0, sizeof(*k));
  qrl_sql_copy_col(st, 0, k->kid, sizeof(k->kid));
  qrl_sql_copy_col(st, 1, k->alg, sizeof(k->alg));
  n = qrl_sql_col_bytes(st, 2);
  if (!strcmp(k->alg, "ES256") ? n != 65 : (n <= 0 || n > (int)sizeof(k->pub))) return -1;
  memcpy(k->pub, qrl_sql_col_blob(st, 2), (size_t)n);
  k->publen = (size_t)n;
  k->created_at = qrl_sql_col_int64(st, 3);
  k->activate_at = qrl_sql_col_int64(st, 4);
  k->retire_at = qrl_sql_col_int64(st, 5);
  k->expire_at = qrl_sql_col_int64(st, 6);
  return 0;
}

/* Runs st (bound by the caller) and reads at most cap keys. */
static qrl_err read_keys(qrl_db *db, qrl_stmt *st, qrl_oidc_key *out, size_t cap,
                         size_t *n) {
  qrl_err rc = QRL_OK;
  int r;
  *n = 0;
  if (!st) return QRL_DB;
  while ((r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    if (*n == cap) continue;
    if (read_key(st, &out[*n])) {
      rc = QRL_DB;
      break;
    }
    (*n)++;
  }
  if (!rc && r != QRL_SQL_DONE) rc = QRL_DB;
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_oidc_keys_list(qrl_db *db, qrl_oidc_key *out, size_t cap, size_t *n) {
  qrl_stmt *st =
      qrl_sql_prep(db, "SELECT " KEY_COLS " FROM oidc_keys ORDER BY created_at, activate_at, kid");
  return read_keys(db, st, out, cap, n);
}

qrl_err qrl_oidc_keys_published(qrl_db *db, int64_t now, qrl_oidc_key *out, size_t cap,
                                size_t *n) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT " KEY_COLS " FROM oidc_keys"
                                      " WHERE created_at <= ?1 AND"
                                      " (expire_at IS NULL OR expire_at > ?1)"
                                      " ORDER BY created_at, activate_at, kid");
  if (st) qrl_sql_bind_int64(st, 1, now);
  return read_keys(db, st, out, cap, n);
}

qrl_err qrl_oidc_key_signing(qrl_db *db, int64_t now, qrl_oidc_key *key,
                             uint8_t priv[QRL_PRIVKEY_BYTES]) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT " KEY_COLS ", private_der FROM oidc_keys"
                                      " WHERE alg = 'ES256' AND activate_at <= ?1 AND"
                                      " (retire_at IS NULL OR retire_at > ?1)"
                                      " ORDER BY activate_at DESC LIMIT 1");
  uint8_t pub[65];
  qrl_err rc = QRL_DB;
  int r;
  if (!st) return QRL_DB;
  qrl_sql_bind_int64(st, 1, now);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  } else if (r == QRL_SQL_ROW && !read_key(st, key)) {
    rc = qrl_ec_priv_from_der(qrl_sql_col_blob(st, 7), (size_t)qrl_sql_col_bytes(st, 7),
                              priv, pub);
    /* A row whose private key is not its public key's is no key to sign with. */
    if (rc || memcmp(pub, key->pub, sizeof(pub)) != 0) {
      qrl_cleanse(priv, QRL_PRIVKEY_BYTES);
      rc = QRL_CRYPTO;
    }
  }
  qrl_sql_done(db, st);
  return rc;
}

/* Makes a key of alg and inserts it (inside the caller's transaction)
 * published from now, signing from activate_at; its public side in *out. */
static qrl_err insert_key(qrl_db *db, const char *alg, int64_t now, int64_t activate_at,
                          qrl_oidc_key *out) {
  uint8_t priv[QRL_PRIVKEY_BYTES], *der = NULL;
  size_t derlen = 0;
  qrl_stmt *st;
  qrl_err rc;

  memset(out, 0, sizeof(*out));
  memset(priv, 0, sizeof(priv));
  if (!strcmp(alg, "RS256")) {
    if ((rc = qrl_rsa_keygen(QRL_OIDC_RSA_BITS, &der, &derlen, out->pub, &out->publen))) goto out;
    if ((rc = qrl_jwk_rsa_thumbprint(out->pub, out->publen, out->kid))) goto out;
  } else {
    if ((rc = qrl_ec_keygen(priv, out->pub))) goto out;
    out->publen = 65;
    if ((rc = qrl_jwk_thumbprint(out->pub, out->kid))) goto out;
    if ((rc = qrl_ec_priv_to_der(priv, &der, &derlen))) goto out;
  }
  snprintf(out->alg, sizeof(out->alg), "%s", alg);
  out->created_at = now;
  out->activate_at = activate_at;
  st = qrl_sql_prep(db, "INSERT INTO oidc_keys(kid, alg, private_der, public_key, created_at,"
                        " activate_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  if (st) {
    qrl_sql_bind_text(st, 1, out->kid);
    qrl_sql_bind_text(st, 2, out->alg);
    qrl_sql_bind_blob(st, 3, der, derlen);
    qrl_sql_bind_blob(st, 4, out->pub, out->publen);
    qrl_sql_bind_int64(st, 5, now);
    qrl_sql_bind_int64(st, 6, activate_at);
  }
  rc = qrl_sql_run(db, st);
out:
  qrl_cleanse(priv, sizeof(priv));
  if (der) {
    qrl_cleanse(der, derlen);
    free(der);
  }
  return rc;
}

/* The audit row of a new key (inside the transaction). */
static qrl_err audit_key(qrl_db *db, const char *event, const qrl_oidc_key *k, int64_t now,
                         const char *agent) {
  qrl_req_ctx rc = {NULL, agent, now, NULL};
  char detail[128];
  snprintf(detail, sizeof(detail), "kid=%s activate_at=%lld", k->kid, (long long)k->activate_at);
  return qrl_db_audit(db, event, QRL_OK, NULL, 0, detail, &rc);
}

/* The newest key of alg that signs now or will (activate_at latest): 1
 * found, 0 none, -1 error. */
static int newest_key(qrl_db *db, const char *alg, qrl_oidc_key *k) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT " KEY_COLS " FROM oidc_keys"
                                      " WHERE retire_at IS NULL AND alg = ?1"
                                      " ORDER BY activate_at DESC LIMIT 1");
  int r, found = -1;
  if (!st) return -1;
  qrl_sql_bind_text(st, 1, alg);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_DONE) found = 0;
  else if (r == QRL_SQL_ROW && !read_key(st, k)) found = 1;
  qrl_sql_done(db, st);
  return found;
}

int qrl_oidc_alg_valid(const char *alg) {
  return alg && (!strcmp(alg, "ES256") || !strcmp(alg, "RS256"));
}

qrl_err qrl_oidc_key_jwk(const qrl_oidc_key *k, char **out) {
  *out = NULL;
  if (!strcmp(k->alg, "RS256")) return qrl_jwk_rsa_public_json(k->pub, k->publen, out);
  if (k->publen != 65) return QRL_CRYPTO;
  return qrl_jwk_public_json(k->pub, out);
}

qrl_err qrl_oidc_keys_ensure(qrl_db *db, int64_t now, const char *agent, int *created) {
  return qrl_oidc_keys_ensure_alg(db, "ES256", now, agent, created);
}

qrl_err qrl_oidc_keys_ensure_alg(qrl_db *db, const char *alg, int64_t now, const char *agent,
                                 int *created) {
  qrl_oidc_key k;
  qrl_err rc = QRL_DB;
  int found;

  if (created) *created = 0;
  if (!qrl_oidc_alg_valid(alg)) return QRL_INVAL;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((found = newest_key(db, alg, &k)) < 0) goto out;
  if (found) {
    rc = QRL_OK;
    goto out;
  }
  if ((rc = insert_key(db, alg, now, now, &k))) goto out;
  if ((rc = audit_key(db, "oidc_key_create", &k, now, agent))) goto out;
  if ((rc = qrl_sql_commit(db))) goto out;
  if (created) *created = 1;
  return QRL_OK;
out:
  qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_oidc_keys_rotate(qrl_db *db, const qrl_oidc_key_policy *pol, int64_t now,
                             const char *agent, qrl_oidc_key *out) {
  return qrl_oidc_keys_rotate_alg(db, "ES256", pol, now, agent, out);
}

qrl_err qrl_oidc_keys_rotate_alg(qrl_db *db, const char *alg, const qrl_oidc_key_policy *pol,
                                 int64_t now, const char *agent, qrl_oidc_key *out) {
  qrl_oidc_key cur, k;
  qrl_stmt *st;
  int64_t activate = now;
  qrl_err rc = QRL_DB;
  int found;

  if (!qrl_oidc_alg_valid(alg)) return QRL_INVAL;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "DELETE FROM oidc_keys WHERE expire_at IS NOT NULL AND expire_at <= ?1");
  if (st) qrl_sql_bind_int64(st, 1, now);
  if ((rc = qrl_sql_run(db, st))) goto out;
  rc = QRL_DB;
  if ((found = newest_key(db, alg, &cur)) < 0) goto out;
  if (found && cur.activate_at > now) { /* a rotation is under way */
    if (out) *out = cur;
    rc = QRL_FORBIDDEN;
    goto out;
  }
  if (found) {
    activate = now + pol->publish_secs;
    st = qrl_sql_prep(db, "UPDATE oidc_keys SET retire_at = ?2, expire_at = ?3 WHERE kid = ?1");
    if (st) {
      qrl_sql_bind_text(st, 1, cur.kid);
      qrl_sql_bind_int64(st, 2, activate);
      qrl_sql_bind_int64(st, 3, activate + pol->keep_secs);
    }
    if ((rc = qrl_sql_run(db, st))) goto out;
  }
  if ((rc = insert_key(db, alg, now, activate, &k))) goto out;
  if ((rc = audit_key(db, "oidc_key_rotate", &k, now, agent))) goto out;
  if ((rc = qrl_sql_commit(db))) goto out;
  if (out) *out = k;
  return QRL_OK;
out:
  qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_oidc_jwt_sign(qrl_db *db, int64_t now, const char *alg, const char *typ,
                          const char *payload, char **out) {
  qrl_stmt *st;
  qrl_oidc_key key;
  uint8_t pub[QRL_JWK_PUB_MAX];
  size_t publen = 0;
  qrl_err rc = QRL_DB;
  int r;

  *out = NULL;
  if (!qrl_oidc_alg_valid(alg)) return QRL_INVAL;
  st = qrl_sql_prep(db, "SELECT " KEY_COLS ", private_der FROM oidc_keys"
                        " WHERE alg = ?2 AND activate_at <= ?1 AND"
                        " (retire_at IS NULL OR retire_at > ?1)"
                        " ORDER BY activate_at DESC LIMIT 1");
  if (!st) return QRL_DB;
  qrl_sql_bind_int64(st, 1, now);
  qrl_sql_bind_text(st, 2, alg);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  } else if (r == QRL_SQL_ROW && !read_key(st, &key)) {
    const uint8_t *der = qrl_sql_col_blob(st, 7);
    size_t derlen = (size_t)qrl_sql_col_bytes(st, 7);
    rc = QRL_CRYPTO;
    /* A row whose private key is not its public key's is no key to sign
     * with (for ES256 the stored point is the raw one: compare its tail). */
    if (!qrl_priv_der_public(der, derlen, pub, &publen) &&
        (!strcmp(alg, "RS256")
             ? publen == key.publen && !memcmp(pub, key.pub, publen)
             : publen >= 65 && !memcmp(pub + publen - 65, key.pub, 65)))
      rc = qrl_jws_sign_der(alg, der, derlen, key.kid, typ, payload, strlen(payload), out);
  }
  qrl_sql_done(db, st);
  return rc;
}
