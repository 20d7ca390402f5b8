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

TEST_MAIN(good_assertion_works_once, bad_assertions_are_refused)
