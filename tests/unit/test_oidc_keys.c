/*
 * test_oidc_keys.c - the OpenID Connect signing keys (domain/oidc_keys.h) on
 * a real database file: the first key signs at once and has the thumbprint
 * as kid; a rotation publishes the next key before it signs (and the old one
 * keeps signing until then), keeps the old key published until every token
 * it signed has expired, then deletes it; one rotation at a time; the stored
 * private key is DER that signs tokens the published key verifies; the
 * state names. Time is passed in, so the test steps it.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_keys.h"
#include "helpers/jose.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
} fixture;

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "oidckeys")) return -1;
  return qrl_db_open(f->t.path, &f->db) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

/* 1 if kid is among the keys published at now. */
static int published(fixture *f, const char *kid, int64_t now) {
  qrl_oidc_key keys[QRL_OIDC_KEYS_MAX];
  size_t n = 0;
  if (qrl_oidc_keys_published(f->db, now, keys, QRL_OIDC_KEYS_MAX, &n)) return -1;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(keys[i].kid, kid)) return 1;
  return 0;
}

/* The kid signing at now into kid ("" if none). */
static qrl_err signer(fixture *f, int64_t now, char kid[QRL_JWK_KID_LEN + 1]) {
  qrl_oidc_key k;
  uint8_t priv[QRL_PRIVKEY_BYTES];
  qrl_err rc = qrl_oidc_key_signing(f->db, now, &k, priv);
  kid[0] = '\0';
  if (!rc) memcpy(kid, k.kid, sizeof(k.kid));
  return rc;
}

TEST(first_key_signs_at_once_and_is_kept) {
  fixture f;
  qrl_oidc_key k, keys[4];
  uint8_t priv[QRL_PRIVKEY_BYTES];
  char kid[QRL_JWK_KID_LEN + 1];
  size_t n = 0;
  int created = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_key_signing(f.db, T0, &k, priv), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0, "test", &created), QRL_OK);
  ASSERT_EQ_INT(created, 1);
  ASSERT_EQ_INT(qrl_oidc_key_signing(f.db, T0, &k, priv), QRL_OK);
  ASSERT_EQ_STR(k.alg, "ES256");
  ASSERT_EQ_INT(qrl_jwk_thumbprint(k.pub, kid), QRL_OK);
  ASSERT_EQ_STR(k.kid, kid);
  ASSERT_EQ_INT(qrl_oidc_key_state_at(&k, T0), QRL_OIDC_KEY_ACTIVE);
  /* A second start keeps it. */
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0 + 10, "test", &created), QRL_OK);
  ASSERT_EQ_INT(created, 0);
  ASSERT_EQ_INT(qrl_oidc_keys_list(f.db, keys, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "oidc_key_create", "ok"), 1);
  close_fixture(&f);
  return 0;
}

TEST(stored_key_signs_what_the_published_key_verifies) {
  fixture f;
  qrl_oidc_key k, pubs[4];
  uint8_t priv[QRL_PRIVKEY_BYTES];
  char *jws = NULL, *payload = NULL;
  size_t n = 0, plen = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0, "test", NULL), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_key_signing(f.db, T0, &k, priv), QRL_OK);
  ASSERT_EQ_INT(qrl_jws_sign(priv, k.kid, "JWT", "{\"a\":1}", 7, &jws), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_keys_published(f.db, T0, pubs, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_INT(qrl_jws_verify(pubs[0].pub, jws, strlen(jws), &payload, &plen), QRL_OK);
  ASSERT_EQ_STR(payload, "{\"a\":1}");
  free(jws);
  free(payload);
  close_fixture(&f);
  return 0;
}

TEST(der_round_trip_and_refusals) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65], priv2[QRL_PRIVKEY_BYTES], pub2[65], *der = NULL;
  size_t len = 0;
  ASSERT_EQ_INT(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_EQ_INT(qrl_ec_priv_to_der(priv, &der, &len), QRL_OK);
  ASSERT_TRUE(len > 60 && der[0] == 0x30);
  ASSERT_EQ_INT(qrl_ec_priv_from_der(der, len, priv2, pub2), QRL_OK);
  ASSERT_TRUE(memcmp(priv, priv2, sizeof(priv)) == 0);
  ASSERT_TRUE(memcmp(pub, pub2, sizeof(pub)) == 0);
  ASSERT_EQ_INT(qrl_ec_priv_from_der(der, len - 1, priv2, pub2), QRL_INVAL);
  ASSERT_EQ_INT(qrl_ec_priv_from_der(pub, sizeof(pub), priv2, pub2), QRL_INVAL);
  free(der);
  return 0;
}

TEST(rotation_publishes_before_signing_and_keeps_until_expiry) {
  fixture f;
  qrl_oidc_key_policy pol = qrl_oidc_key_policy_default();
  qrl_oidc_key next, again, keys[4];
  char first[QRL_JWK_KID_LEN + 1], kid[QRL_JWK_KID_LEN + 1];
  size_t n = 0;
  int64_t t = T0 + 100;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0, "test", NULL), QRL_OK);
  ASSERT_EQ_INT(signer(&f, T0, first), QRL_OK);

  ASSERT_EQ_INT(qrl_oidc_keys_rotate(f.db, &pol, t, "test", &next), QRL_OK);
  ASSERT_NE_STR(next.kid, first);
  ASSERT_EQ_INT(next.activate_at, t + pol.publish_secs);
  /* Published at once, both keys ... */
  ASSERT_EQ_INT(published(&f, next.kid, t), 1);
  ASSERT_EQ_INT(published(&f, first, t), 1);
  ASSERT_EQ_INT(qrl_oidc_key_state_at(&next, t), QRL_OIDC_KEY_NEXT);
  /* ... but the old key signs until the publish time is over. */
  ASSERT_EQ_INT(signer(&f, t + pol.publish_secs - 1, kid), QRL_OK);
  ASSERT_EQ_STR(kid, first);
  ASSERT_EQ_INT(signer(&f, t + pol.publish_secs, kid), QRL_OK);
  ASSERT_EQ_STR(kid, next.kid);

  /* One rotation at a time: the waiting key is named. */
  ASSERT_EQ_INT(qrl_oidc_keys_rotate(f.db, &pol, t + 1, "test", &again), QRL_FORBIDDEN);
  ASSERT_EQ_STR(again.kid, next.kid);

  /* The old key stays published while tokens it signed last may live. */
  {
    int64_t retired = t + pol.publish_secs, gone = retired + pol.keep_secs;
    ASSERT_TRUE(pol.keep_secs >= QRL_OIDC_TOKEN_MAX_SECS);
    ASSERT_EQ_INT(published(&f, first, retired), 1);
    ASSERT_EQ_INT(published(&f, first, gone - 1), 1);
    ASSERT_EQ_INT(published(&f, first, gone), 0);
    ASSERT_EQ_INT(published(&f, next.kid, gone), 1);
    ASSERT_EQ_INT(qrl_oidc_keys_list(f.db, keys, 4, &n), QRL_OK);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_INT(qrl_oidc_key_state_at(&keys[0], retired), QRL_OIDC_KEY_RETIRED);
    ASSERT_EQ_INT(qrl_oidc_key_state_at(&keys[0], gone), QRL_OIDC_KEY_EXPIRED);
    ASSERT_EQ_STR(qrl_oidc_key_state_name(qrl_oidc_key_state_at(&keys[0], gone)), "expired");
    /* The next rotation deletes it. */
    ASSERT_EQ_INT(qrl_oidc_keys_rotate(f.db, &pol, gone, "test", &again), QRL_OK);
    ASSERT_EQ_INT(qrl_oidc_keys_list(f.db, keys, 4, &n), QRL_OK);
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(keys[0].kid, next.kid);
    ASSERT_EQ_STR(keys[1].kid, again.kid);
  }
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "oidc_key_rotate", "ok"), 2);
  close_fixture(&f);
  return 0;
}

TEST(rotate_without_keys_makes_a_signing_key) {
  fixture f;
  qrl_oidc_key_policy pol = qrl_oidc_key_policy_default();
  qrl_oidc_key k;
  char kid[QRL_JWK_KID_LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_keys_rotate(f.db, &pol, T0, "test", &k), QRL_OK);
  ASSERT_EQ_INT(signer(&f, T0, kid), QRL_OK);
  ASSERT_EQ_STR(kid, k.kid);
  close_fixture(&f);
  return 0;
}

/* RS256 (issue 11): its own chain beside ES256's, made by ensure, rotated
 * on its own; qrl_oidc_jwt_sign signs with the chain's active key, and the
 * published RSA key verifies it; a database of schema v10 with an ES256 key
 * keeps it through the v12 migration (the table is rebuilt). */
TEST(rs256_chain_beside_es256_and_the_v12_migration_keeps_keys) {
  fixture f;
  qrl_oidc_key_policy pol = qrl_oidc_key_policy_default();
  qrl_oidc_key keys[8], es, next;
  qrl_db *old = NULL;
  char *jws = NULL, *payload = NULL, *jwk = NULL;
  size_t n = 0, plen = 0;
  int created = 0, nrsa = 0;
  memset(&f, 0, sizeof(f));
  ASSERT_EQ_INT(qrl_tmpdb_make(&f.t, "oidckeys12"), 0);
  /* v10: the ES256 key as the server made it then */
  ASSERT_EQ_INT(qrl_db_open_version(f.t.path, 10, &old), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(old, T0, "test", &created), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_keys_list(old, &es, 1, &n), QRL_OK);
  qrl_db_close(old);
  ASSERT_EQ_INT(qrl_db_open(f.t.path, &f.db), QRL_OK); /* migrates to v12 */
  ASSERT_EQ_INT(qrl_oidc_keys_list(f.db, keys, 8, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 1);
  ASSERT_EQ_STR(keys[0].kid, es.kid);
  ASSERT_EQ_STR(keys[0].alg, "ES256");
  ASSERT_EQ_INT(qrl_oidc_jwt_sign(f.db, T0, "ES256", "JWT", "{}", &jws), QRL_OK);
  free(jws);
  jws = NULL;
  /* no RSA key yet; ensure makes one that signs at once */
  ASSERT_EQ_INT(qrl_oidc_jwt_sign(f.db, T0, "RS256", "JWT", "{}", &jws), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure_alg(f.db, "RS256", T0, "test", &created), QRL_OK);
  ASSERT_TRUE(created);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure_alg(f.db, "RS256", T0 + 1, "test", &created), QRL_OK);
  ASSERT_FALSE(created);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure_alg(f.db, "HS256", T0, "test", &created), QRL_INVAL);
  ASSERT_EQ_INT(qrl_oidc_jwt_sign(f.db, T0, "RS256", "JWT", "{\"a\":1}", &jws), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_keys_published(f.db, T0, keys, 8, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 2);
  for (size_t i = 0; i < n; i++) {
    cJSON *o;
    if (strcmp(keys[i].alg, "RS256")) continue;
    nrsa++;
    ASSERT_EQ_INT(qrl_oidc_key_jwk(&keys[i], &jwk), QRL_OK);
    ASSERT_TRUE((o = cJSON_Parse(jwk)) != NULL);
    ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kid")), keys[i].kid);
    ASSERT_TRUE(cJSON_GetObjectItem(o, "d") == NULL && cJSON_GetObjectItem(o, "p") == NULL);
    ASSERT_EQ_INT(qrl_jws_verify_rsa(cJSON_GetStringValue(cJSON_GetObjectItem(o, "n")),
                                     cJSON_GetStringValue(cJSON_GetObjectItem(o, "e")), jws,
                                     strlen(jws), &payload, &plen),
                  QRL_OK);
    ASSERT_EQ_STR(payload, "{\"a\":1}");
    cJSON_Delete(o);
    free(jwk);
    free(payload);
  }
  ASSERT_EQ_INT(nrsa, 1);
  free(jws);
  /* an RS256 rotation leaves the ES256 chain alone, and the other way */
  ASSERT_EQ_INT(qrl_oidc_keys_rotate_alg(f.db, "RS256", &pol, T0 + 10, "test", &next), QRL_OK);
  ASSERT_EQ_STR(next.alg, "RS256");
  ASSERT_EQ_INT(qrl_oidc_keys_rotate_alg(f.db, "RS256", &pol, T0 + 11, "test", &next),
                QRL_FORBIDDEN);
  ASSERT_EQ_INT(qrl_oidc_keys_rotate(f.db, &pol, T0 + 12, "test", &next), QRL_OK);
  ASSERT_EQ_STR(next.alg, "ES256");
  ASSERT_EQ_INT(qrl_oidc_keys_list(f.db, keys, 8, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 4);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(first_key_signs_at_once_and_is_kept, stored_key_signs_what_the_published_key_verifies,
          der_round_trip_and_refusals, rotation_publishes_before_signing_and_keeps_until_expiry,
          rotate_without_keys_makes_a_signing_key,
          rs256_chain_beside_es256_and_the_v12_migration_keeps_keys)
