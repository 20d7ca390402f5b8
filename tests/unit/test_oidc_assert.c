/*
 * test_oidc_assert.c - private_key_jwt client assertions
 * (domain/oidc_assert.h) on a real database: a good assertion works once
 * (its jti is then refused), found by client_id or by its sub; refused: a
 * foreign key, another kid, iss or sub not the client, another aud, expired
 * or too far ahead, no jti, a client_secret_basic client, an unknown one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_assert.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000
#define URL "https://id.example/oauth2/token"
#define ISS "https://id.example"

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
  uint8_t priv[QRL_PRIVKEY_BYTES];
} fixture;

static int open_fixture(fixture *f) {
  uint8_t pub[65];
  char x[44], y[44], jwks[400], secret[QRL_CLIENT_SECRET_LEN + 1];
  qrl_client_spec spec;
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "oidcassert") || qrl_db_open(f->t.path, &f->db)) return -1;
  if (qrl_ec_keygen(f->priv, pub)) return -1;
  qrl_b64url_encode(pub + 1, 32, x, sizeof(x));
  qrl_b64url_encode(pub + 33, 32, y, sizeof(y));
  snprintf(jwks, sizeof(jwks),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\","
           "\"kid\":\"k1\"}]}",
           x, y);
  memset(&spec, 0, sizeof(spec));
  spec.id = "portal-jwt";
  spec.name = "JWT portal";
  spec.redirect[0] = "https://p.example/cb";
  spec.nredirect = 1;
  spec.auth = QRL_CLIENT_PRIVATE_KEY_JWT;
  spec.jwks = jwks;
  spec.min_acr = 1;
  if (qrl_client_add(f->db, &spec, T0, secret)) return -1;
  spec.id = "portal-basic";
  spec.auth = QRL_CLIENT_SECRET_BASIC;
  spec.jwks = NULL;
  return qrl_client_add(f->db, &spec, T0, secret) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

/* An assertion with these claims, signed by priv with kid. */
static char *sign(const uint8_t *priv, const char *kid, const char *iss, const char *sub,
                  const char *aud, long long exp, const char *jti) {
  char claims[512], *jws = NULL;
  snprintf(claims, sizeof(claims),
           "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld%s%s%s}", iss, sub, aud,
           exp, jti ? ",\"jti\":\"" : "", jti ? jti : "", jti ? "\"" : "");
  if (qrl_jws_sign(priv, kid, "JWT", claims, strlen(claims), &jws)) return NULL;
  return jws;
}

/* Checks jws for client_id: the result, with the id found in out. */
static qrl_err check(fixture *f, const char *jws, const char *client_id, char *out) {
  return qrl_oidc_client_assertion(f->db, jws, client_id, URL, ISS, T0, out);
}

TEST(good_assertion_works_once) {
  fixture f;
  char id[QRL_CLIENT_ID_MAX + 1], *jws;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  jws = sign(f.priv, "k1", "portal-jwt", "portal-jwt", URL, T0 + 60, "a");
  ASSERT_ERR(check(&f, jws, "portal-jwt", id), QRL_OK);
  ASSERT_EQ_STR(id, "portal-jwt");
  ASSERT_ERR(check(&f, jws, "portal-jwt", id), QRL_BAD_CREDENTIALS); /* replayed jti */
  free(jws);
  /* found by its sub; aud the issuer */
  jws = sign(f.priv, "k1", "portal-jwt", "portal-jwt", ISS, T0 + 60, "b");
  ASSERT_ERR(check(&f, jws, NULL, id), QRL_OK);
  ASSERT_EQ_STR(id, "portal-jwt");
  free(jws);
  close_fixture(&f);
  return 0;
}

TEST(bad_assertions_are_refused) {
  fixture f;
  uint8_t other[QRL_PRIVKEY_BYTES], pub[65];
  char id[QRL_CLIENT_ID_MAX + 1], *jws;
  struct {
    const uint8_t *key;
    const char *kid, *iss, *sub, *aud, *client;
    long long exp;
    const char *jti;
  } bad[] = {
      {NULL, "k1", "portal-jwt", "portal-jwt", URL, "portal-jwt", T0 + 60, "c1"},  /* foreign key */
      {f.priv, "k2", "portal-jwt", "portal-jwt", URL, "portal-jwt", T0 + 60, "c2"}, /* kid */
      {f.priv, "k1", "other", "portal-jwt", URL, "portal-jwt", T0 + 60, "c3"},
      {f.priv, "k1", "portal-jwt", "other", URL, "portal-jwt", T0 + 60, "c4"},
      {f.priv, "k1", "portal-jwt", "portal-jwt", "https://else/token", "portal-jwt", T0 + 60, "c5"},
      {f.priv, "k1", "portal-jwt", "portal-jwt", URL, "portal-jwt", T0, "c6"}, /* expired */
      {f.priv, "k1", "portal-jwt", "portal-jwt", URL, "portal-jwt", T0 + 601, "c7"},
      {f.priv, "k1", "portal-jwt", "portal-jwt", URL, "portal-jwt", T0 + 60, NULL}, /* no jti */
      {f.priv, "k1", "portal-basic", "portal-basic", URL, "portal-basic", T0 + 60, "c8"},
      {f.priv, "k1", "nobody", "nobody", URL, "nobody", T0 + 60, "c9"},
      {f.priv, "k1", "portal-jwt", "portal-jwt", URL, "portal-basic", T0 + 60, "c10"},
  };
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_ec_keygen(other, pub), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const uint8_t *key = bad[i].key ? f.priv : other;
    jws = sign(key, bad[i].kid, bad[i].iss, bad[i].sub, bad[i].aud, bad[i].exp, bad[i].jti);
    ASSERT_TRUE(jws != NULL);
    if (check(&f, jws, bad[i].client, id) != QRL_BAD_CREDENTIALS)
      TEST_FAIL_("bad assertion %zu accepted", i);
    ASSERT_EQ_STR(id, "");
    free(jws);
  }
  ASSERT_ERR(check(&f, "not.a.jws", "portal-jwt", id), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(check(&f, "eyJhbGciOiJub25lIn0.e30.", "portal-jwt", id), QRL_BAD_CREDENTIALS);
  close_fixture(&f);
  return 0;
}

/* A fresh RSA key: its private DER into *der (caller frees) and its public
 * JWK members into a JWK Set with kid "r1" in jwks. 0 or -1. */
static int rsa_key(uint8_t **der, size_t *derlen, char *jwks, size_t cap) {
  uint8_t spki[QRL_JWK_PUB_MAX];
  size_t spkilen = 0;
  char *jwk = NULL;
  if (qrl_rsa_keygen(2048, der, derlen, spki, &spkilen)) return -1;
  if (qrl_jwk_rsa_public_json(spki, spkilen, &jwk)) return -1;
  /* the key's own kid is its thumbprint: named "r1" here, as a portal may */
  snprintf(jwks, cap, "{\"keys\":[%.*s,\"kid\":\"r1\"}]}", (int)(strstr(jwk, ",\"kid\"") - jwk),
           jwk);
  free(jwk);
  return 0;
}

/* An RS256 assertion for portal-rsa signed with der, with header alg. */
static char *sign_rsa(const uint8_t *der, size_t derlen, const char *jti) {
  char claims[256], *jws = NULL;
  snprintf(claims, sizeof(claims),
           "{\"iss\":\"portal-rsa\",\"sub\":\"portal-rsa\",\"aud\":\"%s\",\"exp\":%lld,"
           "\"jti\":\"%s\"}",
           URL, (long long)T0 + 60, jti);
  if (qrl_jws_sign_der("RS256", der, derlen, "r1", "JWT", claims, strlen(claims), &jws))
    return NULL;
  return jws;
}

/* RS256 assertions of a client whose JWK Set holds an RSA key: accepted
 * once; refused when signed by another RSA key, with "alg" changed to
 * ES256 or none (the signature no longer fits), or sent for the EC client. */
TEST(rs256_assertions_with_rsa_keys) {
  fixture f;
  uint8_t *der = NULL, *der2 = NULL;
  size_t derlen = 0, der2len = 0;
  char jwks[1024], jwks2[1024], secret[QRL_CLIENT_SECRET_LEN + 1], id[QRL_CLIENT_ID_MAX + 1];
  char *jws, *forged;
  qrl_client_spec spec;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(rsa_key(&der, &derlen, jwks, sizeof(jwks)), 0);
  ASSERT_EQ_INT(rsa_key(&der2, &der2len, jwks2, sizeof(jwks2)), 0);
  memset(&spec, 0, sizeof(spec));
  spec.id = "portal-rsa";
  spec.name = "RSA portal";
  spec.redirect[0] = "https://p.example/cb";
  spec.nredirect = 1;
  spec.auth = QRL_CLIENT_PRIVATE_KEY_JWT;
  spec.jwks = jwks;
  spec.min_acr = 1;
  ASSERT_ERR(qrl_client_add(f.db, &spec, T0, secret), QRL_OK);

  jws = sign_rsa(der, derlen, "r-1");
  ASSERT_TRUE(jws != NULL);
  ASSERT_ERR(check(&f, jws, "portal-rsa", id), QRL_OK);
  ASSERT_EQ_STR(id, "portal-rsa");
  ASSERT_ERR(check(&f, jws, "portal-rsa", id), QRL_BAD_CREDENTIALS); /* replayed jti */
  /* the EC client does not take it */
  ASSERT_ERR(check(&f, jws, "portal-jwt", id), QRL_BAD_CREDENTIALS);
  free(jws);
  /* another RSA key */
  jws = sign_rsa(der2, der2len, "r-2");
  ASSERT_ERR(check(&f, jws, "portal-rsa", id), QRL_BAD_CREDENTIALS);
  free(jws);
  /* the header's alg changed (ES256, none): refused */
  jws = sign_rsa(der, derlen, "r-3");
  {
    static const char *const hdrs[] = {"{\"alg\":\"ES256\",\"kid\":\"r1\"}",
                                       "{\"alg\":\"none\",\"kid\":\"r1\"}",
                                       "{\"alg\":\"HS256\",\"kid\":\"r1\"}"};
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
      char h64[128];
      const char *rest = strchr(jws, '.');
      qrl_b64url_encode((const uint8_t *)hdrs[i], strlen(hdrs[i]), h64, sizeof(h64));
      forged = malloc(strlen(h64) + strlen(rest) + 1);
      ASSERT_TRUE(forged != NULL);
      snprintf(forged, strlen(h64) + strlen(rest) + 1, "%s%s", h64, rest);
      ASSERT_ERR(check(&f, forged, "portal-rsa", id), QRL_BAD_CREDENTIALS);
      free(forged);
    }
  }
  ASSERT_ERR(check(&f, jws, "portal-rsa", id), QRL_OK); /* the unforged one still works */
  free(jws);
  free(der);
  free(der2);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(good_assertion_works_once, bad_assertions_are_refused, rs256_assertions_with_rsa_keys)
