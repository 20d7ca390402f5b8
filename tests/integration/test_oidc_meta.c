/*
 * test_oidc_meta.c - the OpenID Connect provider's discovery document and
 * key set on a real qrlogind: every field Discovery 1.0 requires and those
 * the portals rely on, every URL under the issuer (the default one and
 * --issuer); the key set holds public keys only, kid = thumbprint, and
 * verifies a token signed with the server's active key (read from its
 * database, signed with helpers/jose); a rotation by the real qrlogin-admin
 * shows in the running server's key set at once and after a restart, and
 * `oidc key list --json` names both keys without a private member.
 */
#define _GNU_SOURCE /* strcasestr */
#include <string.h>
#include <time.h>

#include "admin_run.h"
#include "domain/oidc_keys.h"
#include "harness.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"

/* GET path; the parsed body on 200 (caller frees), else NULL. The
 * Cache-Control value into cache (if not NULL). */
static cJSON *get_json(const qrl_h_server *s, const char *path, char cache[64]) {
  char *body = NULL, *hdr = NULL;
  cJSON *j = NULL;
  int st = qrl_h_http_ex(s, "GET", path, NULL, NULL, NULL, &body, NULL, &hdr);
  if (st == 200 && body) j = cJSON_Parse(body);
  if (st != 200) fprintf(stderr, "GET %s: %d %s\n", path, st, body ? body : "");
  if (cache) {
    const char *h = hdr ? strcasestr(hdr, "\ncache-control:") : NULL;
    cache[0] = '\0';
    if (h) sscanf(h + 15, " %63[^\r\n]", cache);
  }
  free(body);
  free(hdr);
  return j;
}

/* 1 if array a (of strings) holds s. */
static int has(const cJSON *a, const char *s) {
  const cJSON *e;
  cJSON_ArrayForEach(e, a) if (cJSON_IsString(e) && !strcmp(e->valuestring, s)) return 1;
  return 0;
}

/* Checks the document against issuer. 0, or 1 (failed, said why). */
static int check_discovery(const cJSON *d, const char *issuer) {
  static const char *const urls[] = {"authorization_endpoint", "token_endpoint",
                                     "userinfo_endpoint", "jwks_uri", "end_session_endpoint"};
  static const char *const paths[] = {"/oauth2/authorize", "/oauth2/token", "/oauth2/userinfo",
                                      "/oauth2/jwks", "/oauth2/logout"};
  const cJSON *v;
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d, "issuer")), issuer);
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    char want[256];
    snprintf(want, sizeof(want), "%s%s", issuer, paths[i]);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d, urls[i])), want);
  }
  /* Discovery 1.0 §3 REQUIRED, and what the issue asks for. */
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "response_types_supported"), "code"));
  ASSERT_EQ_INT(cJSON_GetArraySize(v), 1);
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "subject_types_supported"), "public"));
  ASSERT_TRUE(has(cJSON_GetObjectItem(d, "id_token_signing_alg_values_supported"), "ES256"));
  ASSERT_TRUE(has(cJSON_GetObjectItem(d, "id_token_signing_alg_values_supported"), "RS256"));
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "code_challenge_methods_supported"), "S256"));
  ASSERT_EQ_INT(cJSON_GetArraySize(v), 1); /* never "plain" */
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "acr_values_supported"), "LoA1"));
  ASSERT_TRUE(has(v, "LoA2"));
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "ui_locales_supported"), "vi"));
  ASSERT_TRUE(has(v, "en"));
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "token_endpoint_auth_methods_supported"),
                  "client_secret_basic"));
  ASSERT_TRUE(has(v, "private_key_jwt"));
  ASSERT_TRUE(has(cJSON_GetObjectItem(d, "grant_types_supported"), "authorization_code"));
  ASSERT_TRUE(has(cJSON_GetObjectItem(d, "scopes_supported"), "openid"));
  ASSERT_TRUE(has(v = cJSON_GetObjectItem(d, "claims_supported"), "sub"));
  ASSERT_TRUE(has(v, "acr") && has(v, "amr") && has(v, "auth_time") && has(v, "sid"));
  ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(d, "authorization_response_iss_parameter_supported")));
  ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(d, "backchannel_logout_supported")));
  ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(d, "backchannel_logout_session_supported")));
  /* Its default is true: say that request_uri is not supported. */
  ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItem(d, "request_uri_parameter_supported")));
  return 0;
}

SERVER_TEST(discovery_names_everything_under_the_default_issuer, NULL) {
  char cache[64];
  cJSON *d = get_json(s, "/.well-known/openid-configuration", cache);
  int r;
  ASSERT_TRUE(d != NULL);
  r = check_discovery(d, s->http); /* http://127.0.0.1:<the port it listens on> */
  cJSON_Delete(d);
  ASSERT_EQ_INT(r, 0);
  ASSERT_EQ_STR(cache, "public, max-age=300");
  return 0;
}

SERVER_TEST(discovery_names_everything_under_the_given_issuer, "--issuer",
            "https://xacthuc.dichvucong.gov.vn", NULL) {
  cJSON *d = get_json(s, "/.well-known/openid-configuration", NULL);
  int r;
  ASSERT_TRUE(d != NULL);
  r = check_discovery(d, "https://xacthuc.dichvucong.gov.vn");
  cJSON_Delete(d);
  ASSERT_EQ_INT(r, 0);
  return 0;
}

/* 0 if k is a public RSA signing JWK for RS256 (kty, n, e, kid, use, alg
 * only) whose kid is its RFC 7638 thumbprint, computed here from n and e;
 * else -1. */
static int check_rsa_jwk(const cJSON *k) {
  static const char *const allowed[] = {"kty", "n", "e", "kid", "use", "alg"};
  const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(k, "n"));
  const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(k, "e"));
  const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(k, "kid"));
  char canon[1024], kid[QRL_JWK_KID_LEN + 1];
  uint8_t h[32];
  const cJSON *m;
  cJSON_ArrayForEach(m, k) {
    size_t i = 0;
    while (i < sizeof(allowed) / sizeof(allowed[0]) && strcmp(allowed[i], m->string)) i++;
    if (i == sizeof(allowed) / sizeof(allowed[0])) return -1;
  }
  if (!n || !e || !id || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "use")), "sig") ||
      strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "alg")), "RS256"))
    return -1;
  if (strlen(n) < 342 || !qrl_jwk_rsa_ok(n, e)) return -1; /* 2048 bits at least */
  snprintf(canon, sizeof(canon), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
  if (qrl_sha256(canon, strlen(canon), h)) return -1;
  qrl_b64url_encode(h, sizeof(h), kid, sizeof(kid));
  return strcmp(kid, id) ? -1 : 0;
}

/* The key set's EC keys: kids in kids (up to 4, "" after the last), the
 * public point of the one with kid want (if not NULL) in pub; RSA keys are
 * checked (check_rsa_jwk) and counted into *nrsa (if not NULL). Returns how
 * many EC keys, or -1 if a key is not a public P-256 or RSA signing JWK
 * whose kid is its thumbprint. */
static int read_jwks_all(const cJSON *set, char kids[4][QRL_JWK_KID_LEN + 1], const char *want,
                         uint8_t pub[65], int *nrsa) {
  static const char *const allowed[] = {"kty", "crv", "x", "y", "kid", "use", "alg"};
  const cJSON *keys = cJSON_GetObjectItem(set, "keys"), *k;
  int n = 0;
  memset(kids, 0, 4 * (QRL_JWK_KID_LEN + 1));
  if (nrsa) *nrsa = 0;
  if (!cJSON_IsArray(keys)) return -1;
  cJSON_ArrayForEach(k, keys) {
    const cJSON *m;
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "kty")), "RSA")) {
      if (check_rsa_jwk(k)) return -1;
      if (nrsa) (*nrsa)++;
      continue;
    }
    uint8_t pt[65];
    char kid[QRL_JWK_KID_LEN + 1];
    const char *x = cJSON_GetStringValue(cJSON_GetObjectItem(k, "x"));
    const char *y = cJSON_GetStringValue(cJSON_GetObjectItem(k, "y"));
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(k, "kid"));
    cJSON_ArrayForEach(m, k) { /* public members only: no "d" */
      size_t i = 0;
      while (i < sizeof(allowed) / sizeof(allowed[0]) && strcmp(allowed[i], m->string)) i++;
      if (i == sizeof(allowed) / sizeof(allowed[0])) {
        fprintf(stderr, "JWK member '%s'\n", m->string);
        return -1;
      }
    }
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "kty")), "EC") ||
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "crv")), "P-256") ||
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "use")), "sig") ||
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "alg")), "ES256") || !x || !y || !id)
      return -1;
    pt[0] = 0x04;
    if (qrl_b64url_decode(x, strlen(x), pt + 1, 32) != 32 ||
        qrl_b64url_decode(y, strlen(y), pt + 33, 32) != 32 || qrl_jwk_thumbprint(pt, kid) ||
        strcmp(kid, id))
      return -1;
    if (n < 4) snprintf(kids[n], QRL_JWK_KID_LEN + 1, "%s", id);
    if (want && !strcmp(id, want)) memcpy(pub, pt, 65);
    n++;
  }
  return n;
}

static int read_jwks(const cJSON *set, char kids[4][QRL_JWK_KID_LEN + 1], const char *want,
                     uint8_t pub[65]) {
  return read_jwks_all(set, kids, want, pub, NULL);
}

/* The idx-th entry of alg in a `oidc key list --json` array, or NULL. */
static const cJSON *key_of_alg(const cJSON *list, const char *alg, int idx) {
  const cJSON *e;
  cJSON_ArrayForEach(e, list) {
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "alg")), alg) && idx-- == 0) return e;
  }
  return NULL;
}

SERVER_TEST(jwks_verifies_a_token_signed_with_the_active_key, NULL) {
  char kids[4][QRL_JWK_KID_LEN + 1], cache[64], *jws = NULL, *payload = NULL;
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65] = {0};
  qrl_oidc_key k;
  qrl_db *db = NULL;
  size_t plen = 0;
  cJSON *set;
  int n;
  qrl_err rc;
  static const char claims[] = "{\"iss\":\"x\",\"sub\":\"y\"}";

  /* The server made its first key at start: sign with it as it will. */
  ASSERT_EQ_INT(qrl_db_open(s->db, &db), QRL_OK);
  rc = qrl_oidc_key_signing(db, (int64_t)time(NULL), &k, priv);
  qrl_db_close(db);
  ASSERT_EQ_INT(rc, QRL_OK);
  ASSERT_EQ_INT(qrl_jws_sign(priv, k.kid, "JWT", claims, strlen(claims), &jws), QRL_OK);

  ASSERT_TRUE((set = get_json(s, "/oauth2/jwks", cache)) != NULL);
  n = read_jwks(set, kids, k.kid, pub);
  cJSON_Delete(set);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(kids[0], k.kid);
  ASSERT_EQ_STR(cache, "public, max-age=300");
  rc = qrl_jws_verify(pub, jws, strlen(jws), &payload, &plen);
  free(jws);
  ASSERT_EQ_INT(rc, QRL_OK);
  ASSERT_EQ_STR(payload, claims);
  free(payload);
  return 0;
}

SERVER_TEST(rotation_shows_both_keys_while_running_and_after_restart, NULL) {
  char kids[4][QRL_JWK_KID_LEN + 1], first[QRL_JWK_KID_LEN + 1], next[QRL_JWK_KID_LEN + 1];
  qrl_admin_out o;
  cJSON *j, *e;
  int n;

  ASSERT_TRUE((j = get_json(s, "/oauth2/jwks", NULL)) != NULL);
  n = read_jwks(j, kids, NULL, NULL);
  cJSON_Delete(j);
  ASSERT_EQ_INT(n, 1);
  snprintf(first, sizeof(first), "%s", kids[0]);

  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "rotate", "--json", NULL), 0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  snprintf(next, sizeof(next), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "kid")));
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "next");
  cJSON_Delete(j);
  ASSERT_NE_STR(next, first);

  /* The running server publishes it at once, beside the key that signs. */
  ASSERT_TRUE((j = get_json(s, "/oauth2/jwks", NULL)) != NULL);
  n = read_jwks(j, kids, NULL, NULL);
  cJSON_Delete(j);
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_STR(kids[0], first);
  ASSERT_EQ_STR(kids[1], next);

  /* The list: both, their states, no private key. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "oidc", "key", "list", NULL), 0);
  ASSERT_TRUE(strstr(o.out, "\"d\"") == NULL && strstr(o.out, "private") == NULL);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  ASSERT_EQ_INT(cJSON_GetArraySize(j), 3); /* and the RS256 key, untouched */
  ASSERT_TRUE(key_of_alg(j, "RS256", 0) && !key_of_alg(j, "RS256", 1));
  e = (cJSON *)key_of_alg(j, "ES256", 0);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "kid")), first);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "state")), "active");
  ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(e, "retires_at")));
  ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(e, "expires_at")));
  e = (cJSON *)key_of_alg(j, "ES256", 1);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(e, "state")), "next");
  ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(e, "retires_at")));
  cJSON_Delete(j);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "list", NULL), 0);
  ASSERT_TRUE(strstr(o.out, first) && strstr(o.out, next) && strstr(o.out, "next"));

  /* One rotation at a time: refused, nothing written. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "rotate", NULL), 1);
  ASSERT_TRUE(strstr(o.err, next) && strstr(o.err, "already waiting"));

  /* A restart keeps both (and makes no third). */
  ASSERT_EQ_INT(qrl_h_restart(s, NULL), 0);
  ASSERT_TRUE((j = get_json(s, "/oauth2/jwks", NULL)) != NULL);
  n = read_jwks(j, kids, NULL, NULL);
  cJSON_Delete(j);
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_STR(kids[0], first);
  ASSERT_EQ_STR(kids[1], next);
  return 0;
}

/* RS256 (Discovery 1.0 §15.1: an OP must support it): the key set
 * publishes an RSA key from the first start; a token signed through the
 * one signing entry point with it verifies with that JWK's n and e, and not
 * once a byte of it changes; an RS256 rotation leaves the ES256 keys alone. */
SERVER_TEST(rs256_key_is_published_and_verifies, NULL) {
  char kids[4][QRL_JWK_KID_LEN + 1], *jws = NULL, *payload = NULL, hdr[256];
  const cJSON *k, *rsa = NULL;
  qrl_admin_out o;
  qrl_db *db = NULL;
  size_t plen = 0;
  cJSON *set, *j;
  long hl;
  int nrsa = 0;
  qrl_err rc;
  static const char claims[] = "{\"iss\":\"x\",\"sub\":\"rs\"}";

  ASSERT_EQ_INT(qrl_db_open(s->db, &db), QRL_OK);
  rc = qrl_oidc_jwt_sign(db, (int64_t)time(NULL), "RS256", "JWT", claims, &jws);
  ASSERT_EQ_INT(qrl_oidc_jwt_sign(db, (int64_t)time(NULL), "HS256", "JWT", claims, &payload),
                QRL_INVAL);
  qrl_db_close(db);
  ASSERT_EQ_INT(rc, QRL_OK);
  /* the header names RS256 and the key */
  hl = qrl_b64url_decode(jws, strcspn(jws, "."), (uint8_t *)hdr, sizeof(hdr) - 1);
  ASSERT_TRUE(hl > 0);
  hdr[hl] = '\0';
  ASSERT_TRUE(strstr(hdr, "\"alg\":\"RS256\"") && strstr(hdr, "\"typ\":\"JWT\""));

  ASSERT_TRUE((set = get_json(s, "/oauth2/jwks", NULL)) != NULL);
  ASSERT_EQ_INT(read_jwks_all(set, kids, NULL, NULL, &nrsa), 1);
  ASSERT_EQ_INT(nrsa, 1);
  cJSON_ArrayForEach(k, cJSON_GetObjectItem(set, "keys")) {
    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "kty")), "RSA")) rsa = k;
  }
  ASSERT_TRUE(rsa != NULL && strstr(hdr, cJSON_GetStringValue(cJSON_GetObjectItem(rsa, "kid"))));
  rc = qrl_jws_verify_rsa(cJSON_GetStringValue(cJSON_GetObjectItem(rsa, "n")),
                          cJSON_GetStringValue(cJSON_GetObjectItem(rsa, "e")), jws, strlen(jws),
                          &payload, &plen);
  ASSERT_EQ_INT(rc, QRL_OK);
  ASSERT_EQ_STR(payload, claims);
  free(payload);
  payload = NULL;
  jws[strlen(jws) - 5] ^= 1; /* one byte of the signature */
  ASSERT_EQ_INT(qrl_jws_verify_rsa(cJSON_GetStringValue(cJSON_GetObjectItem(rsa, "n")),
                                   cJSON_GetStringValue(cJSON_GetObjectItem(rsa, "e")), jws,
                                   strlen(jws), &payload, &plen),
                QRL_BAD_SIGNATURE);
  free(jws);
  cJSON_Delete(set);

  /* An RS256 rotation: a second RSA key published, the ES256 one alone. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "rotate", "--alg", "RS256", "--json", NULL),
                0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "alg")), "RS256");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "state")), "next");
  cJSON_Delete(j);
  ASSERT_TRUE((set = get_json(s, "/oauth2/jwks", NULL)) != NULL);
  ASSERT_EQ_INT(read_jwks_all(set, kids, NULL, NULL, &nrsa), 1);
  ASSERT_EQ_INT(nrsa, 2);
  cJSON_Delete(set);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "rotate", "--alg", "HS256", NULL), 2);
  ASSERT_TRUE(strstr(o.err, "ES256 or RS256") != NULL);
  return 0;
}

SERVER_TEST(admin_key_commands_refuse_bad_arguments, NULL) {
  qrl_admin_out o;
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "rotate", "now", NULL), 2);
  ASSERT_TRUE(strstr(o.err, "oidc key list|rotate") != NULL);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", NULL), 2);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "keys", "list", NULL), 2);
  ASSERT_TRUE(strstr(o.err, "unknown command 'oidc keys'") != NULL);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "oidc", "key", "list", "--private", NULL), 2);
  ASSERT_TRUE(strstr(o.err, "unknown option --private") != NULL);
  return 0;
}

TEST_MAIN(discovery_names_everything_under_the_default_issuer,
          discovery_names_everything_under_the_given_issuer,
          jwks_verifies_a_token_signed_with_the_active_key,
          rotation_shows_both_keys_while_running_and_after_restart,
          rs256_key_is_published_and_verifies,
          admin_key_commands_refuse_bad_arguments)
