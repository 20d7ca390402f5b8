/*
 * test_oidc_clients.c - the OpenID Connect clients (domain/oidc_clients.h):
 * what a client id, name, URI and JWK Set may be (each refusal names its
 * reason), and on a real database file: a client is registered with its
 * URIs in order, its secret is 256 random bits shown once and stored hashed
 * (the clear secret is nowhere in the file), checked in constant time, and
 * replaced by rotate-secret (the old one stops working); a taken id, an
 * unknown client, a private_key_jwt client's secret; remove; the demo
 * portal registered once and kept as changed.
 */
#include <stdio.h>
#include <string.h>

#include "domain/oidc_clients.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000

/* A valid EC P-256 public JWK Set, made from a fresh key. */
static void make_jwks(char *out, size_t cap, int with_d) {
  uint8_t priv[32], pub[65];
  char x[44], y[44], d[44];
  qrl_ec_keygen(priv, pub);
  qrl_b64url_encode(pub + 1, 32, x, sizeof(x));
  qrl_b64url_encode(pub + 33, 32, y, sizeof(y));
  qrl_b64url_encode(priv, 32, d, sizeof(d));
  snprintf(out, cap,
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"k1\","
           "\"use\":\"sig\",\"alg\":\"ES256\"%s%s%s}]}",
           x, y, with_d ? ",\"d\":\"" : "", with_d ? d : "", with_d ? "\"" : "");
}

TEST(client_ids_and_names) {
  static const char *const bad[] = {"", "ab", "-abc", ".abc", "a b", "abc/", "abc#",
                                    "dvc_đồngnai", "x\n1"};
  char longid[QRL_CLIENT_ID_MAX + 2];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qrl_client_id_valid(bad[i])) TEST_FAIL_("client id '%s' accepted", bad[i]);
  ASSERT_TRUE(qrl_client_id_valid("dvc-dongnai"));
  ASSERT_TRUE(qrl_client_id_valid("a.b_c-1"));
  memset(longid, 'a', sizeof(longid) - 1);
  longid[QRL_CLIENT_ID_MAX] = '\0';
  ASSERT_TRUE(qrl_client_id_valid(longid));
  longid[QRL_CLIENT_ID_MAX] = 'a';
  longid[QRL_CLIENT_ID_MAX + 1] = '\0';
  ASSERT_FALSE(qrl_client_id_valid(longid));
  ASSERT_TRUE(qrl_client_name_valid("Cổng Dịch vụ công tỉnh Đồng Nai"));
  ASSERT_FALSE(qrl_client_name_valid(""));
  ASSERT_FALSE(qrl_client_name_valid("a\tb"));
  return 0;
}

TEST(redirect_uris_are_absolute_https_or_loopback_http) {
  static const char *const good[] = {"https://dichvucong.dongnai.gov.vn/oidc/callback",
                                     "https://x.gov.vn:8443/cb?portal=1",
                                     "http://localhost:8081/callback",
                                     "http://127.0.0.1/cb",
                                     "https://[2001:db8::1]/cb"};
  static const struct {
    const char *uri, *why; /* a word of the reason */
  } bad[] = {{"", "empty"},
             {"/callback", "absolute"},
             {"dichvucong.gov.vn/cb", "absolute"},
             {"ftp://x/cb", "absolute"},
             {"HTTPS://x/cb", "absolute"},
             {"http://dichvucong.gov.vn/cb", "localhost"},
             {"http://127.0.0.2/cb", "localhost"},
             {"http://localhost.evil.example/cb", "localhost"},
             {"https://x/cb#frag", "fragment"},
             {"https://user:pw@x/cb", "user"},
             {"https:///cb", "host"},
             {"https://x:0/cb", "host"},
             {"https://x:65536/cb", "host"},
             {"https://x/a b", "space"},
             {"https://x/\xc4\x91", "non-ASCII"},
             {"https://x/\r\n", "control"}};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    if (qrl_client_uri_problem(good[i]))
      TEST_FAIL_("'%s' refused: %s", good[i], qrl_client_uri_problem(good[i]));
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *why = qrl_client_uri_problem(bad[i].uri);
    if (!why) TEST_FAIL_("'%s' accepted", bad[i].uri);
    if (!strstr(why, bad[i].why)) TEST_FAIL_("'%s': '%s' does not say %s", bad[i].uri, why, bad[i].why);
  }
  {
    char longuri[QRL_CLIENT_URI_MAX + 2];
    memset(longuri, 'a', sizeof(longuri) - 1);
    memcpy(longuri, "https://x/", 10);
    longuri[sizeof(longuri) - 1] = '\0';
    ASSERT_TRUE(qrl_client_uri_problem(longuri) != NULL);
  }
  return 0;
}

TEST(jwks_are_public_p256_keys) {
  char jwks[1024];
  make_jwks(jwks, sizeof(jwks), 0);
  ASSERT_TRUE(qrl_client_jwks_problem(jwks) == NULL);
  make_jwks(jwks, sizeof(jwks), 1);
  ASSERT_TRUE(strstr(qrl_client_jwks_problem(jwks), "private") != NULL);
  ASSERT_TRUE(qrl_client_jwks_problem("not json") != NULL);
  ASSERT_TRUE(qrl_client_jwks_problem("{\"keys\":[]}") != NULL);
  ASSERT_TRUE(qrl_client_jwks_problem("[]") != NULL);
  /* an RSA key too short for RS256 (and one of a type we do not verify) */
  ASSERT_TRUE(strstr(qrl_client_jwks_problem("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}"),
                     "2048") != NULL);
  ASSERT_TRUE(strstr(qrl_client_jwks_problem("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"}]}"),
                     "RSA") != NULL);
  /* a point off the curve */
  ASSERT_TRUE(qrl_client_jwks_problem(
                  "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                  "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}") != NULL);
  return 0;
}

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
} fixture;

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "oidcclients")) return -1;
  return qrl_db_open(f->t.path, &f->db) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

static qrl_client_spec basic_spec(void) {
  qrl_client_spec s = {0};
  s.id = "dvc-dongnai";
  s.name = "Cổng Dịch vụ công tỉnh Đồng Nai";
  s.redirect[s.nredirect++] = "https://dichvucong.dongnai.gov.vn/cb";
  s.redirect[s.nredirect++] = "https://dichvucong.dongnai.gov.vn/cb2";
  s.post_logout[s.npost_logout++] = "https://dichvucong.dongnai.gov.vn/";
  s.backchannel = "https://dichvucong.dongnai.gov.vn/bcl";
  s.auth = QRL_CLIENT_SECRET_BASIC;
  s.min_acr = 2;
  return s;
}

/* 1 if the n bytes at needle occur in file path. */
static int file_has(const char *path, const char *needle) {
  static char buf[1 << 20];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0, len = strlen(needle);
  if (f) fclose(f);
  for (size_t i = 0; i + len <= n; i++)
    if (!memcmp(buf + i, needle, len)) return 1;
  return 0;
}

TEST(secret_is_random_shown_once_stored_hashed_and_rotates) {
  fixture f;
  qrl_client_spec s = basic_spec();
  char secret[QRL_CLIENT_SECRET_LEN + 1], again[QRL_CLIENT_SECRET_LEN + 1], wal[160];
  qrl_client c;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, secret), QRL_OK);
  ASSERT_EQ_INT(strlen(secret), QRL_CLIENT_SECRET_LEN); /* 256 bits, base64url */
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, s.id, secret, strlen(secret)), QRL_OK);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, s.id, secret, strlen(secret) - 1),
                QRL_BAD_CREDENTIALS);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, "nobody", secret, strlen(secret)),
                QRL_BAD_CREDENTIALS);
  snprintf(wal, sizeof(wal), "%s-wal", f.t.path);
  ASSERT_FALSE(file_has(f.t.path, secret) || file_has(wal, secret));

  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, again), QRL_BAD_MESSAGE); /* id taken */
  ASSERT_EQ_INT(qrl_client_get(f.db, s.id, &c), QRL_OK);
  ASSERT_EQ_STR(c.name, s.name);
  ASSERT_EQ_INT(c.nredirect, 2);
  ASSERT_EQ_STR(c.redirect[0], s.redirect[0]);
  ASSERT_EQ_STR(c.redirect[1], s.redirect[1]);
  ASSERT_EQ_INT(c.npost_logout, 1);
  ASSERT_EQ_STR(c.backchannel, s.backchannel);
  ASSERT_EQ_INT(c.min_acr, 2);
  ASSERT_EQ_INT(c.auth, QRL_CLIENT_SECRET_BASIC);
  ASSERT_TRUE(c.jwks == NULL);
  qrl_client_clear(&c);

  ASSERT_EQ_INT(qrl_client_rotate_secret(f.db, s.id, T0 + 5, again), QRL_OK);
  ASSERT_NE_STR(again, secret);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, s.id, secret, strlen(secret)), QRL_BAD_CREDENTIALS);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, s.id, again, strlen(again)), QRL_OK);
  ASSERT_EQ_INT(qrl_client_rotate_secret(f.db, "nobody", T0, again), QRL_NOT_FOUND);

  ASSERT_EQ_INT(qrl_client_remove(f.db, s.id, T0 + 9), QRL_OK);
  ASSERT_EQ_INT(qrl_client_get(f.db, s.id, &c), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_client_remove(f.db, s.id, T0 + 9), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "admin_client_add", "ok"), 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "admin_client_rotate_secret", "ok"), 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "admin_client_remove", "ok"), 1);
  close_fixture(&f);
  return 0;
}

TEST(private_key_jwt_clients_have_keys_and_no_secret) {
  fixture f;
  qrl_client_spec s = basic_spec();
  char jwks[1024], secret[QRL_CLIENT_SECRET_LEN + 1];
  qrl_client c;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  s.auth = QRL_CLIENT_PRIVATE_KEY_JWT;
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, secret), QRL_INVAL); /* no keys */
  make_jwks(jwks, sizeof(jwks), 0);
  s.jwks = jwks;
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, secret), QRL_OK);
  ASSERT_EQ_STR(secret, "");
  ASSERT_EQ_INT(qrl_client_get(f.db, s.id, &c), QRL_OK);
  ASSERT_EQ_INT(c.auth, QRL_CLIENT_PRIVATE_KEY_JWT);
  ASSERT_TRUE(c.jwks && strstr(c.jwks, "\"P-256\""));
  ASSERT_EQ_INT(c.secret_at, 0);
  qrl_client_clear(&c);
  ASSERT_EQ_INT(qrl_client_rotate_secret(f.db, s.id, T0, secret), QRL_FORBIDDEN);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, s.id, "", 0), QRL_BAD_CREDENTIALS);
  /* keys with a basic client: refused */
  s.id = "other";
  s.auth = QRL_CLIENT_SECRET_BASIC;
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, secret), QRL_INVAL);
  close_fixture(&f);
  return 0;
}

TEST(spec_refusals) {
  qrl_client_spec s = basic_spec();
  ASSERT_TRUE(qrl_client_spec_problem(&s) == NULL);
  s.nredirect = 0;
  ASSERT_TRUE(qrl_client_spec_problem(&s) != NULL);
  s = basic_spec();
  s.redirect[1] = s.redirect[0];
  ASSERT_TRUE(strstr(qrl_client_spec_problem(&s), "twice") != NULL);
  s = basic_spec();
  s.min_acr = 3;
  ASSERT_TRUE(qrl_client_spec_problem(&s) != NULL);
  s = basic_spec();
  s.backchannel = "http://evil.example/bcl";
  ASSERT_TRUE(qrl_client_spec_problem(&s) != NULL);
  s = basic_spec();
  s.post_logout[0] = "https://x/#a";
  ASSERT_TRUE(qrl_client_spec_problem(&s) != NULL);
  s = basic_spec();
  s.id = "x";
  ASSERT_TRUE(qrl_client_spec_problem(&s) != NULL);
  return 0;
}

TEST(demo_portal_is_registered_once_and_kept) {
  fixture f;
  qrl_client c;
  qrl_client_row *rows = NULL;
  size_t n = 0;
  char secret[QRL_CLIENT_SECRET_LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_client_seed_demo(f.db, T0), QRL_OK);
  ASSERT_EQ_INT(qrl_client_get(f.db, QRL_DEMO_CLIENT_ID, &c), QRL_OK);
  ASSERT_EQ_STR(c.name, "Cổng Dịch vụ công tỉnh Đồng Nai (demo)");
  ASSERT_EQ_STR(c.redirect[0], "http://localhost:8081/callback");
  qrl_client_clear(&c);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, QRL_DEMO_CLIENT_ID, QRL_DEMO_CLIENT_SECRET,
                                        strlen(QRL_DEMO_CLIENT_SECRET)),
                QRL_OK);
  /* An operator's new secret survives the next start. */
  ASSERT_EQ_INT(qrl_client_rotate_secret(f.db, QRL_DEMO_CLIENT_ID, T0 + 1, secret), QRL_OK);
  ASSERT_EQ_INT(qrl_client_seed_demo(f.db, T0 + 2), QRL_OK);
  ASSERT_EQ_INT(qrl_client_check_secret(f.db, QRL_DEMO_CLIENT_ID, secret, strlen(secret)), QRL_OK);
  ASSERT_EQ_INT(qrl_client_list(f.db, &rows, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(rows[0].id, QRL_DEMO_CLIENT_ID);
  free(rows);
  close_fixture(&f);
  return 0;
}

/* The public JWK Set of a fresh RSA key of bits (its n and e from the
 * key's thumbprint JSON), with extra members appended (may be ""). */
static int make_rsa_jwks(char *out, size_t cap, int bits, const char *extra) {
  uint8_t *der = NULL, spki[QRL_JWK_PUB_MAX];
  size_t derlen = 0, spkilen = 0;
  char *jwk = NULL;
  size_t n;
  if (qrl_rsa_keygen(bits, &der, &derlen, spki, &spkilen)) return -1;
  free(der);
  if (qrl_jwk_rsa_public_json(spki, spkilen, &jwk)) return -1;
  n = strlen(jwk);
  jwk[n - 1] = '\0'; /* drop the closing brace */
  snprintf(out, cap, "{\"keys\":[%s%s}]}", jwk, extra);
  free(jwk);
  return 0;
}

/* Issue 11: RSA keys (RS256) in a private_key_jwt client's JWK Set. */
TEST(jwks_may_hold_rsa_keys_for_rs256) {
  char jwks[2048];
  ASSERT_EQ_INT(make_rsa_jwks(jwks, sizeof(jwks), 2048, ""), 0);
  ASSERT_TRUE(qrl_client_jwks_problem(jwks) == NULL);
  ASSERT_EQ_INT(make_rsa_jwks(jwks, sizeof(jwks), 2048, ",\"d\":\"AQAB\""), 0);
  ASSERT_TRUE(strstr(qrl_client_jwks_problem(jwks), "private") != NULL);
  ASSERT_EQ_INT(make_rsa_jwks(jwks, sizeof(jwks), 2048, ",\"p\":\"AQAB\""), 0);
  ASSERT_TRUE(strstr(qrl_client_jwks_problem(jwks), "private") != NULL);
  /* the JWK says RS256 already: a second "alg" of ES256 is a conflict the
   * parser sees as the first; an RSA key that claims ES256 is refused */
  ASSERT_TRUE(qrl_client_jwks_problem("{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"ES256\","
                                      "\"n\":\"AQAB\",\"e\":\"AQAB\"}]}") != NULL);
  /* an even exponent */
  ASSERT_EQ_INT(qrl_jwk_rsa_ok("AQAB", "AQAC"), 0);
  return 0;
}

/* Issue 11 item 8: a NULL secret buffer is refused with QRL_INVAL (it
 * used to crash), and nothing is registered; a private_key_jwt client,
 * which has no secret, may pass NULL. The ID token algorithm is stored. */
TEST(add_without_a_secret_buffer_is_refused_not_a_crash) {
  fixture f;
  qrl_client_spec s = basic_spec();
  char jwks[1024];
  qrl_client c;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, NULL), QRL_INVAL);
  ASSERT_EQ_INT(qrl_client_get(f.db, s.id, &c), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "admin_client_add", "ok"), 0);
  ASSERT_EQ_INT(qrl_client_add(f.db, NULL, T0, NULL), QRL_INVAL);
  s.auth = QRL_CLIENT_PRIVATE_KEY_JWT;
  make_jwks(jwks, sizeof(jwks), 0);
  s.jwks = jwks;
  s.id_token_alg = "RS256";
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, NULL), QRL_OK);
  ASSERT_EQ_INT(qrl_client_get(f.db, s.id, &c), QRL_OK);
  ASSERT_EQ_STR(c.id_token_alg, "RS256");
  qrl_client_clear(&c);
  s.id = "other";
  s.id_token_alg = "HS256";
  ASSERT_TRUE(strstr(qrl_client_spec_problem(&s), "ES256 or RS256") != NULL);
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, NULL), QRL_INVAL);
  s.id_token_alg = NULL; /* the default */
  ASSERT_EQ_INT(qrl_client_add(f.db, &s, T0, NULL), QRL_OK);
  ASSERT_EQ_INT(qrl_client_get(f.db, "other", &c), QRL_OK);
  ASSERT_EQ_STR(c.id_token_alg, "ES256");
  qrl_client_clear(&c);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(client_ids_and_names, redirect_uris_are_absolute_https_or_loopback_http,
          jwks_are_public_p256_keys, secret_is_random_shown_once_stored_hashed_and_rotates,
          private_key_jwt_clients_have_keys_and_no_secret, spec_refusals,
          demo_portal_is_registered_once_and_kept, jwks_may_hold_rsa_keys_for_rs256,
          add_without_a_secret_buffer_is_refused_not_a_crash)
