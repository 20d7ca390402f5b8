/*
 * oidc_clients.c - the registered relying portals (oidc_clients.h):
 * validation, storage and their secrets. Does not answer any request.
 */
#include "domain/oidc_clients.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/operator.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "helpers/netaddr.h"
#include "helpers/text.h"
#include "sql.h"

#define JWKS_KEYS_MAX 8

static const char *const auth_names[] = {"client_secret_basic", "private_key_jwt"};

const char *qrl_client_auth_name(qrl_client_auth a) {
  return a == QRL_CLIENT_PRIVATE_KEY_JWT ? auth_names[1] : auth_names[0];
}

int qrl_client_auth_parse(const char *s, qrl_client_auth *a) {
  if (!strcmp(s, auth_names[0])) *a = QRL_CLIENT_SECRET_BASIC;
  else if (!strcmp(s, auth_names[1])) *a = QRL_CLIENT_PRIVATE_KEY_JWT;
  else return -1;
  return 0;
}

/* ---- validation ------------------------------------------------------------ */

static int alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int qrl_client_id_valid(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n < QRL_CLIENT_ID_MIN || n > QRL_CLIENT_ID_MAX || !alnum(id[0])) return 0;
  for (size_t i = 0; i < n; i++)
    if (!alnum(id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-') return 0;
  return 1;
}

int qrl_client_name_valid(const char *name) {
  size_t n = name ? strlen(name) : 0;
  return n > 0 && n <= QRL_CLIENT_NAME_MAX && qrl_text_is_clean(name);
}

const char *qrl_client_uri_problem(const char *uri) {
  char auth[QRL_HOST_NAME_MAX + 8], name[QRL_HOST_NAME_MAX];
  const char *a, *end;
  size_t n = uri ? strlen(uri) : 0;
  int port, https;

  if (!n) return "an empty URI";
  if (n > QRL_CLIENT_URI_MAX) return "longer than 512 bytes";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)uri[i];
    if (c <= 0x20 || c >= 0x7f) return "a space, control or non-ASCII character (percent-encode it)";
    if (c == '#') return "a fragment (#...): a redirect URI has none (RFC 6749 3.1.2)";
  }
  https = !strncmp(uri, "https://", 8);
  if (!https && strncmp(uri, "http://", 7) != 0)
    return "not an absolute https:// URL (http:// only for localhost or 127.0.0.1)";
  a = uri + (https ? 8 : 7);
  end = a + strcspn(a, "/?");
  if (end == a) return "no host";
  if (memchr(a, '@', (size_t)(end - a))) return "a user name before the host";
  if ((size_t)(end - a) >= sizeof(auth)) return "a host name too long";
  memcpy(auth, a, (size_t)(end - a));
  auth[end - a] = '\0';
  if (qrl_host_parse(auth, name, &port) || port == 0) return "not a valid host[:port]";
  if (!https && strcmp(name, "localhost") != 0 && strcmp(name, "127.0.0.1") != 0)
    return "http:// is only for localhost or 127.0.0.1: use https://";
  return NULL;
}

/* NULL if k is an RSA public JWK for RS256 signatures, else why not. */
static const char *rsa_jwk_problem(const cJSON *k, const cJSON *alg) {
  static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
  const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "n"));
  const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "e"));
  for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
    if (cJSON_GetObjectItemCaseSensitive(k, priv[i]))
      return "a private key (\"d\", \"p\", ...): give the public keys only";
  if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256")))
    return "an RSA key whose \"alg\" is not \"RS256\"";
  if (!n || !e || !qrl_jwk_rsa_ok(n, e))
    return "an RSA key without n of 2048..4096 bits and an odd e";
  return NULL;
}

/* NULL if k is an EC P-256 public JWK for ES256 signatures or an RSA one
 * for RS256, else why not. */
static const char *jwk_problem(const cJSON *k) {
  const cJSON *use = cJSON_GetObjectItemCaseSensitive(k, "use");
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(k, "alg");
  const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "x"));
  const char *y = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "y"));
  const char *kty = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "kty"));
  const char *crv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(k, "crv"));
  uint8_t pt[65];

  if (!cJSON_IsObject(k)) return "a key that is not a JSON object";
  if (use && (!cJSON_IsString(use) || strcmp(use->valuestring, "sig")))
    return "a key whose \"use\" is not \"sig\"";
  if (kty && !strcmp(kty, "RSA")) return rsa_jwk_problem(k, alg);
  if (cJSON_GetObjectItemCaseSensitive(k, "d"))
    return "a private key (\"d\"): give the public keys only";
  if (!kty || strcmp(kty, "EC") || !crv || strcmp(crv, "P-256"))
    return "a key that is neither EC P-256 (ES256) nor RSA (RS256)";
  if (alg && (!cJSON_IsString(alg) || strcmp(alg->valuestring, "ES256")))
    return "a key whose \"alg\" is not \"ES256\"";
  if (!x || !y || strlen(x) != 43 || strlen(y) != 43) return "a key without x and y of 32 bytes";
  pt[0] = 0x04;
  if (qrl_b64url_decode(x, 43, pt + 1, 32) != 32 || qrl_b64url_decode(y, 43, pt + 33, 32) != 32 ||
      qrl_ec_pub_check(pt, sizeof(pt)) != QRL_OK)
    return "a key whose x and y are not a point on P-256";
  return NULL;
}

const char *qrl_client_jwks_problem(const char *json) {
  cJSON *doc, *keys, *k;
  const char *why = NULL;
  int n = 0;
  if (!json || strlen(json) > QRL_CLIENT_JWKS_MAX) return "a JWK Set larger than 16 KB";
  if (!(doc = cJSON_Parse(json))) return "not JSON";
  keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
  if (!cJSON_IsObject(doc) || !cJSON_IsArray(keys))
    why = "not a JWK Set ({\"keys\": [...]})";
  else
    cJSON_ArrayForEach(k, keys) {
      if (++n > JWKS_KEYS_MAX || (why = jwk_problem(k))) break;
    }
  if (!why && n == 0) why = "a JWK Set without keys";
  if (!why && n > JWKS_KEYS_MAX) why = "more than 8 keys";
  cJSON_Delete(doc);
  return why;
}

/* 1 if one of the n strings in v appears twice. */
static int has_twice(const char *const *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (!strcmp(v[i], v[j])) return 1;
  return 0;
}

const char *qrl_client_spec_problem(const qrl_client_spec *s) {
  if (!qrl_client_id_valid(s->id))
    return "the client id: 3..64 of A-Z a-z 0-9 . _ -, starting with a letter or digit";
  if (!qrl_client_name_valid(s->name))
    return "the name: 1..120 bytes of UTF-8 text without control characters";
  if (s->nredirect < 1 || s->nredirect > QRL_CLIENT_URIS_MAX)
    return "1..16 redirect URIs";
  if (s->npost_logout > QRL_CLIENT_URIS_MAX) return "at most 16 post-logout redirect URIs";
  for (size_t i = 0; i < s->nredirect; i++)
    if (qrl_client_uri_problem(s->redirect[i])) return "a redirect URI is not valid";
  for (size_t i = 0; i < s->npost_logout; i++)
    if (qrl_client_uri_problem(s->post_logout[i]))
      return "a post-logout redirect URI is not valid";
  if (s->backchannel && qrl_client_uri_problem(s->backchannel))
    return "the back-channel logout URI is not valid";
  if (has_twice(s->redirect, s->nredirect) || has_twice(s->post_logout, s->npost_logout))
    return "a URI given twice";
  if (s->min_acr != 1 && s->min_acr != 2) return "the minimum acr: LoA1 or LoA2";
  if (s->id_token_alg && strcmp(s->id_token_alg, "ES256") && strcmp(s->id_token_alg, "RS256"))
    return "the ID token algorithm: ES256 or RS256";
  if ((s->auth == QRL_CLIENT_PRIVATE_KEY_JWT) != (s->jwks != NULL))
    return "a JWK Set goes with private_key_jwt, and only with it";
  if (s->jwks && qrl_client_jwks_problem(s->jwks)) return "the JWK Set is not valid";
  return NULL;
}

/* ---- storage --------------------------------------------------------------- */

/* A new secret into secret and its SHA-256 into hash. */
static qrl_err new_secret(char secret[QRL_CLIENT_SECRET_LEN + 1], uint8_t hash[QRL_SHA256_LEN]) {
  qrl_err rc = qrl_random_token(QRL_CLIENT_SECRET_BYTES, secret, QRL_CLIENT_SECRET_LEN + 1);
  if (!rc) rc = qrl_sha256(secret, strlen(secret), hash);
  if (rc) qrl_cleanse(secret, QRL_CLIENT_SECRET_LEN + 1);
  return rc;
}

static qrl_err audit(qrl_db *db, const char *event, const char *id, int64_t now) {
  qrl_req_ctx rc = {NULL, QRL_OP_AGENT, now, NULL};
  char detail[96];
  snprintf(detail, sizeof(detail), "client=%s", id);
  return qrl_db_audit(db, event, QRL_OK, NULL, 0, detail, &rc);
}

static qrl_err insert_uris(qrl_db *db, const char *id, const char *kind, const char *const *v,
                           size_t n) {
  for (size_t i = 0; i < n; i++) {
    qrl_stmt *st = qrl_sql_prep(
        db, "INSERT INTO oidc_client_uris(client_id, kind, uri, position) VALUES(?1, ?2, ?3, ?4)");
    qrl_err rc;
    if (st) {
      qrl_sql_bind_text(st, 1, id);
      qrl_sql_bind_text(st, 2, kind);
      qrl_sql_bind_text(st, 3, v[i]);
      qrl_sql_bind_int64(st, 4, (int64_t)i);
    }
    if ((rc = qrl_sql_run(db, st))) return rc;
  }
  return QRL_OK;
}

/* Adds s (checked) with the secret's hash (NULL for none), audited as
 * event, in one transaction. */
static qrl_err insert_client(qrl_db *db, const qrl_client_spec *s, const uint8_t *hash,
                             int64_t now, const char *event) {
  qrl_stmt *st;
  char *jwks = NULL;
  qrl_err rc = QRL_DB;
  int r;

  if (s->jwks) { /* stored as one line, as parsed */
    cJSON *doc = cJSON_Parse(s->jwks);
    jwks = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!jwks) return QRL_NOMEM;
  }
  if (qrl_sql_begin(db)) goto done;
  st = qrl_sql_prep(db, "INSERT INTO oidc_clients(client_id, name, auth_method, secret_hash,"
                        " jwks, min_acr, backchannel_logout_uri, created_at, secret_at,"
                        " id_token_alg) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!st) goto out;
  qrl_sql_bind_text(st, 1, s->id);
  qrl_sql_bind_text(st, 2, s->name);
  qrl_sql_bind_text(st, 3, qrl_client_auth_name(s->auth));
  if (hash) qrl_sql_bind_blob(st, 4, hash, QRL_SHA256_LEN);
  qrl_sql_bind_text(st, 5, jwks);
  qrl_sql_bind_int64(st, 6, s->min_acr);
  qrl_sql_bind_text(st, 7, s->backchannel);
  qrl_sql_bind_int64(st, 8, now);
  if (hash) qrl_sql_bind_int64(st, 9, now);
  qrl_sql_bind_text(st, 10, s->id_token_alg ? s->id_token_alg : "ES256");
  r = qrl_sql_step(st);
  qrl_sql_done(db, st);
  if (r == QRL_SQL_DUP) {
    rc = QRL_BAD_MESSAGE; /* the id is taken */
    goto out;
  }
  if (r != QRL_SQL_DONE) goto out;
  if ((rc = insert_uris(db, s->id, "redirect", s->redirect, s->nredirect)) ||
      (rc = insert_uris(db, s->id, "post_logout", s->post_logout, s->npost_logout)) ||
      (rc = audit(db, event, s->id, now)))
    goto out;
  rc = qrl_sql_commit(db);
out:
  if (rc) qrl_sql_rollback(db);
done:
  free(jwks);
  return rc;
}

qrl_err qrl_client_add(qrl_db *db, const qrl_client_spec *spec, int64_t now,
                       char secret[QRL_CLIENT_SECRET_LEN + 1]) {
  uint8_t hash[QRL_SHA256_LEN];
  int basic;
  qrl_err rc;
  if (!spec) return QRL_INVAL;
  basic = spec->auth == QRL_CLIENT_SECRET_BASIC;
  /* A secret made with nowhere to put it would be one nobody ever saw: a
   * client_secret_basic client needs the buffer (refused before anything
   * is written); a private_key_jwt one has no secret and may pass NULL. */
  if (basic && !secret) return QRL_INVAL;
  if (secret) secret[0] = '\0';
  if (qrl_client_spec_problem(spec)) return QRL_INVAL;
  if (basic && (rc = new_secret(secret, hash))) return rc;
  rc = insert_client(db, spec, basic ? hash : NULL, now, "admin_client_add");
  if (rc && secret) qrl_cleanse(secret, QRL_CLIENT_SECRET_LEN + 1);
  return rc;
}

qrl_err qrl_client_seed_demo(qrl_db *db, int64_t now) {
  qrl_client_spec s = {0};
  uint8_t hash[QRL_SHA256_LEN];
  qrl_client c;
  qrl_err rc = qrl_client_get(db, QRL_DEMO_CLIENT_ID, &c);
  qrl_client_clear(&c);
  if (rc != QRL_NOT_FOUND) return rc; /* there already (QRL_OK), or an error */
  s.id = QRL_DEMO_CLIENT_ID;
  s.name = QRL_DEMO_CLIENT_NAME;
  s.redirect[s.nredirect++] = QRL_DEMO_CLIENT_ORIGIN "/callback";
  s.post_logout[s.npost_logout++] = QRL_DEMO_CLIENT_ORIGIN "/";
  s.backchannel = QRL_DEMO_CLIENT_ORIGIN "/backchannel-logout";
  s.auth = QRL_CLIENT_SECRET_BASIC;
  s.min_acr = 1;
  if (qrl_sha256(QRL_DEMO_CLIENT_SECRET, strlen(QRL_DEMO_CLIENT_SECRET), hash)) return QRL_CRYPTO;
  rc = insert_client(db, &s, hash, now, "demo_client_add");
  return rc == QRL_BAD_MESSAGE ? QRL_OK : rc; /* another process seeded it just now */
}

void qrl_client_clear(qrl_client *c) {
  if (!c) return;
  free(c->jwks);
  c->jwks = NULL;
}

qrl_err qrl_client_get(qrl_db *db, const char *id, qrl_client *out) {
  qrl_stmt *st;
  qrl_err rc = QRL_DB;
  int r;

  memset(out, 0, sizeof(*out));
  st = qrl_sql_prep(db, "SELECT client_id, name, auth_method, jwks, min_acr,"
                        " backchannel_logout_uri, created_at, secret_at, id_token_alg"
                        " FROM oidc_clients WHERE client_id = ?1");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    const char *j = qrl_sql_col_text(st, 3);
    qrl_sql_copy_col(st, 0, out->id, sizeof(out->id));
    qrl_sql_copy_col(st, 1, out->name, sizeof(out->name));
    if (qrl_client_auth_parse(qrl_sql_col_text(st, 2), &out->auth))
      out->auth = QRL_CLIENT_SECRET_BASIC;
    out->min_acr = qrl_sql_col_int(st, 4);
    qrl_sql_copy_col(st, 5, out->backchannel, sizeof(out->backchannel));
    out->created_at = qrl_sql_col_int64(st, 6);
    out->secret_at = qrl_sql_col_int64(st, 7);
    qrl_sql_copy_col(st, 8, out->id_token_alg, sizeof(out->id_token_alg));
    if (strcmp(out->id_token_alg, "RS256") != 0) memcpy(out->id_token_alg, "ES256", 6);
    rc = QRL_OK;
    if (j && !(out->jwks = strdup((const char *)j))) rc = QRL_NOMEM;
  } else if (r == QRL_SQL_DONE) {
    rc = QRL_NOT_FOUND;
  }
  qrl_sql_done(db, st);
  if (rc) return rc;
  st = qrl_sql_prep(db, "SELECT kind, uri FROM oidc_client_uris WHERE client_id = ?1"
                        " ORDER BY kind, position");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  while ((r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    int redirect = !strcmp(qrl_sql_col_text(st, 0), "redirect");
    size_t *n = redirect ? &out->nredirect : &out->npost_logout;
    if (*n == QRL_CLIENT_URIS_MAX) continue;
    qrl_sql_copy_col(st, 1, redirect ? out->redirect[*n] : out->post_logout[*n],
                     QRL_CLIENT_URI_MAX + 1);
    (*n)++;
  }
  qrl_sql_done(db, st);
  return r == QRL_SQL_DONE ? QRL_OK : QRL_DB;
}

qrl_err qrl_client_list(qrl_db *db, qrl_client_row **rows, size_t *n) {
  qrl_stmt *st = qrl_sql_prep(
      db, "SELECT c.client_id, c.name, c.auth_method, c.min_acr, c.created_at,"
          " (SELECT count(*) FROM oidc_client_uris u WHERE u.client_id = c.client_id"
          "  AND u.kind = 'redirect')"
          " FROM oidc_clients c ORDER BY c.client_id");
  qrl_client_row *v = NULL;
  size_t cap = 0;
  qrl_err rc = QRL_OK;
  int r;

  *rows = NULL;
  *n = 0;
  if (!st) return QRL_DB;
  while ((r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    qrl_client_row *row;
    if (*n == cap) {
      qrl_client_row *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));
      if (!nv) {
        rc = QRL_NOMEM;
        break;
      }
      v = nv;
      cap = cap ? cap * 2 : 8;
    }
    row = &v[(*n)++];
    memset(row, 0, sizeof(*row));
    qrl_sql_copy_col(st, 0, row->id, sizeof(row->id));
    qrl_sql_copy_col(st, 1, row->name, sizeof(row->name));
    if (qrl_client_auth_parse(qrl_sql_col_text(st, 2), &row->auth))
      row->auth = QRL_CLIENT_SECRET_BASIC;
    row->min_acr = qrl_sql_col_int(st, 3);
    row->created_at = qrl_sql_col_int64(st, 4);
    row->nredirect = (size_t)qrl_sql_col_int64(st, 5);
  }
  if (!rc && r != QRL_SQL_DONE) rc = QRL_DB;
  qrl_sql_done(db, st);
  if (rc) {
    free(v);
    *n = 0;
    return rc;
  }
  *rows = v;
  return QRL_OK;
}

qrl_err qrl_client_rotate_secret(qrl_db *db, const char *id, int64_t now,
                                 char secret[QRL_CLIENT_SECRET_LEN + 1]) {
  uint8_t hash[QRL_SHA256_LEN];
  qrl_stmt *st;
  qrl_err rc;
  int r;

  secret[0] = '\0';
  if (qrl_sql_begin(db)) return QRL_DB;
  rc = QRL_DB;
  st = qrl_sql_prep(db, "SELECT auth_method FROM oidc_clients WHERE client_id = ?1");
  if (!st) goto out;
  qrl_sql_bind_text(st, 1, id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_DONE) rc = QRL_NOT_FOUND;
  else if (r == QRL_SQL_ROW)
    rc = strcmp(qrl_sql_col_text(st, 0), "client_secret_basic") ? QRL_FORBIDDEN
                                                                                  : QRL_OK;
  qrl_sql_done(db, st);
  if (rc) goto out;
  if ((rc = new_secret(secret, hash))) goto out;
  st = qrl_sql_prep(db, "UPDATE oidc_clients SET secret_hash = ?2, secret_at = ?3"
                        " WHERE client_id = ?1");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_blob(st, 2, hash, sizeof(hash));
    qrl_sql_bind_int64(st, 3, now);
  }
  if ((rc = qrl_sql_run(db, st)) || (rc = audit(db, "admin_client_rotate_secret", id, now)))
    goto out;
  rc = qrl_sql_commit(db);
out:
  if (rc) {
    qrl_sql_rollback(db);
    qrl_cleanse(secret, QRL_CLIENT_SECRET_LEN + 1);
  }
  return rc;
}

qrl_err qrl_client_remove(qrl_db *db, const char *id, int64_t now) {
  qrl_stmt *st;
  qrl_err rc;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "DELETE FROM oidc_clients WHERE client_id = ?1");
  if (st) qrl_sql_bind_text(st, 1, id);
  if ((rc = qrl_sql_run(db, st))) goto out;
  if (qrl_sql_changes(db) == 0) {
    rc = QRL_NOT_FOUND;
    goto out;
  }
  if ((rc = audit(db, "admin_client_remove", id, now))) goto out;
  rc = qrl_sql_commit(db);
out:
  if (rc) qrl_sql_rollback(db);
  return rc;
}

qrl_err qrl_client_check_secret(qrl_db *db, const char *id, const char *secret, size_t len) {
  uint8_t want[QRL_SHA256_LEN], got[QRL_SHA256_LEN];
  qrl_stmt *st;
  int found = 0, r;

  memset(want, 0xff, sizeof(want)); /* compared against all the same when unknown */
  st = qrl_sql_prep(db, "SELECT secret_hash FROM oidc_clients WHERE client_id = ?1");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW && qrl_sql_col_bytes(st, 0) == QRL_SHA256_LEN) {
    memcpy(want, qrl_sql_col_blob(st, 0), sizeof(want));
    found = 1;
  }
  qrl_sql_done(db, st);
  if (r != QRL_SQL_ROW && r != QRL_SQL_DONE) return QRL_DB;
  if (qrl_sha256(secret, len, got)) return QRL_CRYPTO;
  return qrl_ct_equal(want, got, sizeof(got)) && found ? QRL_OK : QRL_BAD_CREDENTIALS;
}
