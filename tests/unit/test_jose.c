/*
 * test_jose.c - ES256 JWS and P-256 JWKs (helpers/jose.h): a signed token
 * verifies with its key and gives back its payload byte for byte; the key id
 * is the RFC 7638 thumbprint (recomputed here from the JWK's own members);
 * and verification refuses, whatever the key: another algorithm ("none",
 * "HS256", "ES384"), a "crit" header, a changed header, payload or
 * signature, another key, a signature in DER or with padding, a token with
 * two or four parts. (tests/jose/interop.mjs checks the same tokens with
 * Node's WebCrypto, an implementation of its own.)
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"
#include "test.h"

static const char claims[] =
    "{\"iss\":\"https://xacthuc.dichvucong.gov.vn\",\"sub\":\"001099012345\","
    "\"aud\":\"dvc-dongnai\",\"nonce\":\"n-0S6_WzA2Mj\",\"name\":\"Nguyễn Văn An\"}";

/* base64url of s. */
static void b64(const char *s, char *out, size_t cap) {
  qrl_b64url_encode((const uint8_t *)s, strlen(s), out, cap);
}

/* A token with header h (JSON), claims, and the signature of t (a real one,
 * over t's own header: so only the header differs). */
static char *with_header(const char *t, const char *h) {
  char hb[512], *out = malloc(strlen(t) + 600);
  const char *dot = strchr(t, '.');
  b64(h, hb, sizeof(hb));
  strcpy(out, hb);
  strcat(out, dot);
  return out;
}

static int refused(const uint8_t pub[65], const char *t) {
  char *p = NULL;
  size_t n = 0;
  qrl_err rc = qrl_jws_verify(pub, t, strlen(t), &p, &n);
  int ok = rc == QRL_BAD_SIGNATURE && p == NULL;
  free(p);
  return ok;
}

TEST(a_signed_token_verifies_and_gives_its_payload) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65];
  char kid[QRL_JWK_KID_LEN + 1], *t = NULL, *p = NULL, got_kid[64];
  size_t n = 0;
  int has = 0;
  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_ERR(qrl_jwk_thumbprint(pub, kid), QRL_OK);
  ASSERT_ERR(qrl_jws_sign(priv, kid, "JWT", claims, strlen(claims), &t), QRL_OK);
  ASSERT_ERR(qrl_jws_verify(pub, t, strlen(t), &p, &n), QRL_OK);
  ASSERT_EQ_INT(n, strlen(claims));
  ASSERT_EQ_STR(p, claims);
  ASSERT_ERR(qrl_jws_kid(t, strlen(t), got_kid, sizeof(got_kid), &has), QRL_OK);
  ASSERT_TRUE(has);
  ASSERT_EQ_STR(got_kid, kid);
  free(p);
  free(t);
  /* No typ: the header has only alg and kid. */
  ASSERT_ERR(qrl_jws_sign(priv, kid, NULL, "{}", 2, &t), QRL_OK);
  ASSERT_ERR(qrl_jws_verify(pub, t, strlen(t), &p, &n), QRL_OK);
  ASSERT_EQ_STR(p, "{}");
  free(p);
  free(t);
  return 0;
}

TEST(the_key_id_is_the_rfc7638_thumbprint_of_the_jwk) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65], digest[32];
  char kid[QRL_JWK_KID_LEN + 1], expect[QRL_JWK_KID_LEN + 1], canon[256], *jwk = NULL;
  cJSON *j;
  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_ERR(qrl_jwk_thumbprint(pub, kid), QRL_OK);
  ASSERT_EQ_INT(strlen(kid), QRL_JWK_KID_LEN);
  ASSERT_ERR(qrl_jwk_public_json(pub, &jwk), QRL_OK);
  ASSERT_TRUE((j = cJSON_Parse(jwk)) != NULL);
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "kty")->valuestring, "EC");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "crv")->valuestring, "P-256");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "alg")->valuestring, "ES256");
  ASSERT_EQ_STR(cJSON_GetObjectItem(j, "kid")->valuestring, kid);
  ASSERT_TRUE(cJSON_GetObjectItem(j, "d") == NULL); /* public only */
  /* From the JWK's members, in RFC 7638's order. */
  snprintf(canon, sizeof(canon), "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
           cJSON_GetObjectItem(j, "crv")->valuestring, cJSON_GetObjectItem(j, "kty")->valuestring,
           cJSON_GetObjectItem(j, "x")->valuestring, cJSON_GetObjectItem(j, "y")->valuestring);
  ASSERT_ERR(qrl_sha256(canon, strlen(canon), digest), QRL_OK);
  qrl_b64url_encode(digest, sizeof(digest), expect, sizeof(expect));
  ASSERT_EQ_STR(kid, expect);
  {
    uint8_t x[33];
    ASSERT_EQ_INT(qrl_b64url_decode(cJSON_GetObjectItem(j, "x")->valuestring, 43, x, sizeof(x)),
                  32);
    ASSERT_TRUE(memcmp(x, pub + 1, 32) == 0);
  }
  cJSON_Delete(j);
  free(jwk);
  pub[64] ^= 1; /* off the curve */
  ASSERT_ERR(qrl_jwk_thumbprint(pub, kid), QRL_BAD_DEVICE_KEY);
  return 0;
}

TEST(verification_refuses_every_other_token) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65], priv2[QRL_PRIVKEY_BYTES], pub2[65];
  char kid[QRL_JWK_KID_LEN + 1], *t = NULL, *x;
  char *dot2;
  size_t len;
  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_ERR(qrl_ec_keygen(priv2, pub2), QRL_OK);
  ASSERT_ERR(qrl_jwk_thumbprint(pub, kid), QRL_OK);
  ASSERT_ERR(qrl_jws_sign(priv, kid, "JWT", claims, strlen(claims), &t), QRL_OK);
  len = strlen(t);

  ASSERT_TRUE(refused(pub2, t)); /* another key */
  static const char *const headers[] = {
      "{\"alg\":\"none\"}", "{\"alg\":\"HS256\"}", "{\"alg\":\"ES384\"}", "{\"alg\":\"es256\"}",
      "{\"kid\":\"x\"}", "[\"ES256\"]", "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}",
      "{\"alg\":\"ES256\",\"kid\":\"other\"}" /* valid form, but not what was signed */};
  for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
    x = with_header(t, headers[i]);
    if (!refused(pub, x)) TEST_FAIL_("header %s was accepted", headers[i]);
    free(x);
  }
  /* "alg":"none" with an empty signature, the classic. */
  {
    char hb[64], pb[512], none[700];
    b64("{\"alg\":\"none\"}", hb, sizeof(hb));
    b64(claims, pb, sizeof(pb));
    snprintf(none, sizeof(none), "%s.%s.", hb, pb);
    ASSERT_TRUE(refused(pub, none));
  }
  /* A changed payload, a changed signature, parts missing or added. */
  x = strdup(t);
  dot2 = strrchr(x, '.');
  x[(dot2 - x) - 3] ^= 0x01; /* a payload character */
  ASSERT_TRUE(refused(pub, x));
  free(x);
  x = strdup(t);
  x[len - 5] = x[len - 5] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(refused(pub, x));
  free(x);
  x = strdup(t);
  *strrchr(x, '.') = '\0';
  ASSERT_TRUE(refused(pub, x)); /* two parts */
  free(x);
  x = malloc(len + 4);
  snprintf(x, len + 4, "%s.e0", t);
  ASSERT_TRUE(refused(pub, x)); /* four parts */
  free(x);
  x = malloc(len + 4);
  snprintf(x, len + 4, "%s==", t);
  ASSERT_TRUE(refused(pub, x)); /* padding */
  free(x);
  /* The same signature in DER instead of R||S. */
  {
    uint8_t raw[65], der[QRL_SIG_MAX];
    size_t dl = 0;
    char db64[200];
    dot2 = strrchr(t, '.');
    ASSERT_EQ_INT(qrl_b64url_decode(dot2 + 1, strlen(dot2 + 1), raw, sizeof(raw)), 64);
    ASSERT_ERR(qrl_ec_sig_from_raw(raw, der, &dl), QRL_OK);
    qrl_b64url_encode(der, dl, db64, sizeof(db64));
    x = malloc(len + 200);
    memcpy(x, t, (size_t)(dot2 - t) + 1);
    strcpy(x + (dot2 - t) + 1, db64);
    ASSERT_TRUE(refused(pub, x));
    free(x);
  }
  free(t);
  return 0;
}

TEST(signatures_convert_between_der_and_raw) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[65], der[QRL_SIG_MAX], raw[64], der2[QRL_SIG_MAX];
  size_t dl = 0, dl2 = 0;
  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  for (int i = 0; i < 200; i++) { /* short R or S (leading zeros) come up too */
    ASSERT_ERR(qrl_ec_sign(priv, &i, sizeof(i), der, &dl), QRL_OK);
    ASSERT_ERR(qrl_ec_sig_to_raw(der, dl, raw), QRL_OK);
    ASSERT_ERR(qrl_ec_sig_from_raw(raw, der2, &dl2), QRL_OK);
    ASSERT_EQ_INT(dl2, dl);
    ASSERT_TRUE(memcmp(der, der2, dl) == 0);
  }
  ASSERT_ERR(qrl_ec_sig_to_raw(der, dl - 1, raw), QRL_BAD_SIGNATURE);
  memset(raw, 0, 32); /* R = 0 */
  ASSERT_ERR(qrl_ec_sig_from_raw(raw, der2, &dl2), QRL_BAD_SIGNATURE);
  return 0;
}

TEST_MAIN(a_signed_token_verifies_and_gives_its_payload,
          the_key_id_is_the_rfc7638_thumbprint_of_the_jwk, verification_refuses_every_other_token,
          signatures_convert_between_der_and_raw)
