/*
 * test_b64.c - strict unpadded base64url: RFC 4648 vectors, round trips of
 * every length, and refusal of everything non-canonical.
 */
#include <string.h>

#include "helpers/b64.h"
#include "test.h"

TEST(rfc4648_vectors) {
  static const struct {
    const char *in, *out;
  } v[] = {{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},
           {"foo", "Zm9v"},  {"foob", "Zm9vYg"},  {"fooba", "Zm9vYmE"},
           {"foobar", "Zm9vYmFy"}};
  char out[32];
  uint8_t back[32];
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    size_t n = strlen(v[i].in);
    ASSERT_EQ_INT(qrl_b64url_encode((const uint8_t *)v[i].in, n, out, sizeof(out)),
                  strlen(v[i].out));
    ASSERT_EQ_STR(out, v[i].out);
    ASSERT_EQ_INT(qrl_b64url_decode(out, strlen(out), back, sizeof(back)), n);
    ASSERT_TRUE(memcmp(back, v[i].in, n) == 0);
  }
  return 0;
}

TEST(url_alphabet) {
  static const uint8_t in[] = {0xfb, 0xff, 0xbf};
  char out[8];
  ASSERT_EQ_INT(qrl_b64url_encode(in, 3, out, sizeof(out)), 4);
  ASSERT_EQ_STR(out, "-_-_");
  return 0;
}

TEST(roundtrip_every_length) {
  uint8_t in[65], back[65];
  char enc[100];
  for (size_t i = 0; i < sizeof(in); i++) in[i] = (uint8_t)(i * 37 + 11);
  for (size_t n = 0; n <= sizeof(in); n++) {
    long e = qrl_b64url_encode(in, n, enc, sizeof(enc));
    ASSERT_EQ_INT(e, QRL_B64_ENCLEN(n));
    ASSERT_EQ_INT(qrl_b64url_decode(enc, (size_t)e, back, sizeof(back)), n);
    ASSERT_TRUE(n == 0 || memcmp(in, back, n) == 0);
  }
  return 0;
}

TEST(refuses_non_canonical_input) {
  static const char *const bad[] = {
      "Zg==",  /* padding */
      "Zm9v+", /* standard alphabet */
      "Zm/v",
      "Zm 9v", /* whitespace */
      "Z",     /* impossible length */
      "Zh",    /* non-zero trailing bits (canonical is Zg) */
      "Zm9",   /* Zm8 is canonical */
      "Zm9v\n",
  };
  uint8_t out[16];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qrl_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)) != -1)
      TEST_FAIL_("accepted \"%s\"", bad[i]);
  return 0;
}

TEST(small_buffers_are_refused_not_overrun) {
  uint8_t in[16] = {1, 2, 3}, out[4];
  char enc[8];
  memset(enc, 'X', sizeof(enc));
  ASSERT_EQ_INT(qrl_b64url_encode(in, sizeof(in), enc, sizeof(enc)), -1);
  ASSERT_EQ_INT(qrl_b64url_encode(in, 3, enc, 4), -1); /* no room for NUL */
  ASSERT_EQ_INT(qrl_b64url_decode("Zm9vYmFy", 8, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_b64url_decode("Zm9vYg", 6, out, sizeof(out)), 4);
  return 0;
}

TEST_MAIN(rfc4648_vectors, url_alphabet, roundtrip_every_length,
          refuses_non_canonical_input, small_buffers_are_refused_not_overrun)
