/*
 * test_crypto.c - the OpenSSL helpers: CSPRNG tokens (length, alphabet,
 * uniqueness, bit balance), SHA-256 and HMAC known answers, constant-time
 * compare, scrypt secret hashing, and ECDSA P-256 over the canonical string;
 * a failed digest is reported and leaves zeros, never a half-written hash.
 */
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "crypto_fail.h"
#include "qrlogin/protocol.h"
#include "test.h"

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[b[i] >> 4];
    out[2 * i + 1] = d[b[i] & 15];
  }
  out[2 * n] = '\0';
}

TEST(sha256_known_answer) {
  uint8_t h[QRL_SHA256_LEN];
  char x[65];
  ASSERT_ERR(qrl_sha256("abc", 3, h), QRL_OK);
  hex(h, sizeof(h), x);
  ASSERT_EQ_STR(x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_ERR(qrl_sha256("", 0, h), QRL_OK);
  hex(h, sizeof(h), x);
  ASSERT_EQ_STR(x, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  return 0;
}

TEST(hmac_sha256_rfc4231_case2) {
  uint8_t h[QRL_SHA256_LEN];
  char x[65];
  ASSERT_ERR(qrl_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, h),
             QRL_OK);
  hex(h, sizeof(h), x);
  ASSERT_EQ_STR(x, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  return 0;
}

/* 128-bit tokens: the right length, the url-safe alphabet, never repeated in
 * 10 000 draws, and about half the bits set (a broken RNG, e.g. zeros or a
 * stuck byte, fails this by a wide margin). */
TEST(random_tokens_are_well_formed_unique_and_balanced) {
  enum { N = 10000 };
  static char toks[N][QRL_TOKEN_B64LEN + 1];
  long ones = 0;
  for (int i = 0; i < N; i++) {
    uint8_t raw[QRL_TOKEN_BYTES];
    ASSERT_ERR(qrl_random_token(QRL_TOKEN_BYTES, toks[i], sizeof(toks[i])), QRL_OK);
    ASSERT_EQ_INT(strlen(toks[i]), QRL_TOKEN_B64LEN);
    ASSERT_EQ_INT(strspn(toks[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-_"), QRL_TOKEN_B64LEN);
    ASSERT_EQ_INT(qrl_b64url_decode(toks[i], QRL_TOKEN_B64LEN, raw, sizeof(raw)),
                  QRL_TOKEN_BYTES);
    for (int j = 0; j < QRL_TOKEN_BYTES; j++) ones += __builtin_popcount(raw[j]);
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++)
      if (memcmp(toks[i], toks[j], QRL_TOKEN_B64LEN) == 0)
        TEST_FAIL_("token %d repeats token %d", j, i);
  /* 1 280 000 bits: mean 640 000, sd 566; allow 10 sd. */
  ASSERT_TRUE(ones > 640000 - 5660 && ones < 640000 + 5660);
  /* Too small an output buffer is refused, not overrun. */
  {
    char small[10];
    ASSERT_ERR(qrl_random_token(QRL_TOKEN_BYTES, small, sizeof(small)), QRL_INVAL);
  }
  return 0;
}

TEST(constant_time_compare) {
  ASSERT_TRUE(qrl_ct_equal("abcdef", "abcdef", 6));
  ASSERT_FALSE(qrl_ct_equal("abcdef", "abcdeg", 6));
  ASSERT_FALSE(qrl_ct_equal("xbcdef", "abcdef", 6));
  ASSERT_TRUE(qrl_ct_equal("a", "b", 0));
  return 0;
}

TEST(cleanse_zeroes) {
  uint8_t buf[32];
  memset(buf, 0xAB, sizeof(buf));
  qrl_cleanse(buf, sizeof(buf));
  for (size_t i = 0; i < sizeof(buf); i++) ASSERT_EQ_INT(buf[i], 0);
  return 0;
}

TEST(scrypt_hash_verifies_only_the_right_secret) {
  char h1[QRL_HASH_STR_MAX], h2[QRL_HASH_STR_MAX];
  ASSERT_ERR(qrl_hash_secret("MatKhau@2024", 12, 10, h1, sizeof(h1)), QRL_OK);
  ASSERT_ERR(qrl_hash_secret("MatKhau@2024", 12, 10, h2, sizeof(h2)), QRL_OK);
  ASSERT_TRUE(strncmp(h1, "$scrypt$ln=10,r=8,p=1$", 22) == 0);
  ASSERT_NE_STR(h1, h2); /* a fresh salt each time */
  ASSERT_TRUE(strstr(h1, "MatKhau") == NULL);
  ASSERT_ERR(qrl_verify_secret("MatKhau@2024", 12, h1), QRL_OK);
  ASSERT_ERR(qrl_verify_secret("MatKhau@2024", 12, h2), QRL_OK);
  ASSERT_ERR(qrl_verify_secret("MatKhau@2025", 12, h1), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(qrl_verify_secret("MatKhau@202", 11, h1), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(qrl_verify_secret("", 0, h1), QRL_BAD_CREDENTIALS);
  return 0;
}

TEST(scrypt_rejects_malformed_stored_hashes) {
  char h[QRL_HASH_STR_MAX], bad[QRL_HASH_STR_MAX];
  static const char *const junk[] = {
      "", "plaintext", "$scrypt$", "$scrypt$ln=10,r=8,p=1$",
      "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$scrypt$ln=10,r=8,p=1$!!!!$AAAA",
      "$argon2id$v=19$m=65536,t=3,p=4$AAAA$AAAA"};
  for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
    ASSERT_ERR(qrl_verify_secret("x", 1, junk[i]), QRL_INVAL);
  /* A truncated real hash. */
  ASSERT_ERR(qrl_hash_secret("x", 1, 10, h, sizeof(h)), QRL_OK);
  memcpy(bad, h, strlen(h) - 5);
  bad[strlen(h) - 5] = '\0';
  ASSERT_TRUE(qrl_verify_secret("x", 1, bad) != QRL_OK);
  /* Cost out of the allowed range is refused when hashing. */
  ASSERT_ERR(qrl_hash_secret("x", 1, QRL_HASH_COST_MIN - 1, h, sizeof(h)), QRL_INVAL);
  ASSERT_ERR(qrl_hash_secret("x", 1, QRL_HASH_COST_MAX + 1, h, sizeof(h)), QRL_INVAL);
  ASSERT_ERR(qrl_verify_secret("x", 1, "$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAA"),
             QRL_INVAL);
  return 0;
}

/* The phone signs the canonical string; the server verifies it. Any change
 * to the string, the signature or the key breaks it. */
TEST(ecdsa_p256_signs_and_verifies_the_canonical_string) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[QRL_PUBKEY_BYTES], priv2[QRL_PRIVKEY_BYTES],
      pub2[QRL_PUBKEY_BYTES], sig[QRL_SIG_MAX];
  char msg[512];
  size_t mlen = 0, slen = 0;

  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_ERR(qrl_ec_keygen(priv2, pub2), QRL_OK);
  ASSERT_EQ_INT(pub[0], 0x04);
  ASSERT_ERR(qrl_ec_pub_check(pub, sizeof(pub)), QRL_OK);
  {
    qrl_qr_payload qp = {"QOdpmjAlNdeB7ZiGPkfBMA", 7, "aImKioOpMJ73G2jh"};
    ASSERT_ERR(qrl_sign_string(&qp, "https://dichvucong.gov.vn", "001099012345", 42,
                               1795365332, QRL_DECISION_CONFIRM, msg, sizeof(msg), &mlen),
               QRL_OK);
  }
  ASSERT_ERR(qrl_ec_sign(priv, msg, mlen, sig, &slen), QRL_OK);
  ASSERT_TRUE(slen >= 8 && slen <= QRL_SIG_MAX);
  ASSERT_EQ_INT(sig[0], 0x30); /* DER SEQUENCE */
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, sig, slen), QRL_OK);

  ASSERT_ERR(qrl_ec_verify(pub2, msg, mlen, sig, slen), QRL_BAD_SIGNATURE);
  msg[mlen - 1] ^= 1;
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, sig, slen), QRL_BAD_SIGNATURE);
  msg[mlen - 1] ^= 1;
  sig[slen - 1] ^= 1;
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, sig, slen), QRL_BAD_SIGNATURE);
  sig[slen - 1] ^= 1;
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, sig, slen - 1), QRL_BAD_SIGNATURE);
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, (const uint8_t *)"\x30\x00", 2),
             QRL_BAD_SIGNATURE);
  ASSERT_ERR(qrl_ec_verify(pub, msg, mlen, sig, slen), QRL_OK);
  return 0;
}

TEST(public_key_check_refuses_points_off_the_curve) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[QRL_PUBKEY_BYTES], bad[QRL_PUBKEY_BYTES];
  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  memcpy(bad, pub, sizeof(bad));
  bad[64] ^= 1; /* y no longer matches x */
  ASSERT_ERR(qrl_ec_pub_check(bad, sizeof(bad)), QRL_BAD_DEVICE_KEY);
  memcpy(bad, pub, sizeof(bad));
  bad[0] = 0x02; /* compressed tag on an uncompressed body */
  ASSERT_ERR(qrl_ec_pub_check(bad, sizeof(bad)), QRL_BAD_DEVICE_KEY);
  memset(bad, 0, sizeof(bad));
  bad[0] = 0x04;
  ASSERT_ERR(qrl_ec_pub_check(bad, sizeof(bad)), QRL_BAD_DEVICE_KEY);
  ASSERT_ERR(qrl_ec_pub_check(pub, 33), QRL_BAD_DEVICE_KEY);
  {
    uint8_t sig[QRL_SIG_MAX];
    size_t slen = 0;
    ASSERT_ERR(qrl_ec_sign(priv, "m", 1, sig, &slen), QRL_OK);
    memcpy(bad, pub, sizeof(bad));
    bad[64] ^= 1;
    ASSERT_ERR(qrl_ec_verify(bad, "m", 1, sig, slen), QRL_BAD_DEVICE_KEY);
  }
  return 0;
}

/* An OpenSSL failure under SHA-256 or HMAC is returned as QRL_CRYPTO and the
 * output is zeros (not what the failed call left there); afterwards the
 * digests work again. */
TEST(digest_failure_is_reported) {
  static const uint8_t zero[QRL_SHA256_LEN];
  uint8_t h[QRL_SHA256_LEN];
  qrl_test_digest_fail_after(0);
  memset(h, 0x11, sizeof(h));
  ASSERT_ERR(qrl_sha256("abc", 3, h), QRL_CRYPTO);
  ASSERT_TRUE(memcmp(h, zero, sizeof(h)) == 0);
  memset(h, 0x11, sizeof(h));
  ASSERT_ERR(qrl_hmac_sha256((const uint8_t *)"k", 1, "m", 1, h), QRL_CRYPTO);
  ASSERT_TRUE(memcmp(h, zero, sizeof(h)) == 0);
  ASSERT_EQ_INT(qrl_test_digest_calls(), 2);
  /* The n-th digest fails, not the ones before it. */
  qrl_test_digest_fail_after(1);
  ASSERT_ERR(qrl_sha256("abc", 3, h), QRL_OK);
  ASSERT_ERR(qrl_sha256("abc", 3, h), QRL_CRYPTO);
  qrl_test_digest_ok();
  ASSERT_ERR(qrl_sha256("abc", 3, h), QRL_OK);
  ASSERT_ERR(qrl_hmac_sha256((const uint8_t *)"k", 1, "m", 1, h), QRL_OK);
  return 0;
}

TEST_MAIN(sha256_known_answer, hmac_sha256_rfc4231_case2,
          random_tokens_are_well_formed_unique_and_balanced, constant_time_compare,
          cleanse_zeroes, scrypt_hash_verifies_only_the_right_secret,
          scrypt_rejects_malformed_stored_hashes,
          ecdsa_p256_signs_and_verifies_the_canonical_string,
          public_key_check_refuses_points_off_the_curve, digest_failure_is_reported)
