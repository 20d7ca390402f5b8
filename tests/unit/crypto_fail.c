/*
 * crypto_fail.c - see crypto_fail.h. The link-time wrappers of OpenSSL's
 * EVP_Digest and EVP_Q_mac for unit tests. Only test executables link this.
 */
#include "crypto_fail.h"

#include <openssl/evp.h>

int __real_EVP_Digest(const void *data, size_t count, unsigned char *md,
                      unsigned int *size, const EVP_MD *type, ENGINE *impl);
int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md,
                      unsigned int *size, const EVP_MD *type, ENGINE *impl);
unsigned char *__real_EVP_Q_mac(OSSL_LIB_CTX *libctx, const char *name,
                                const char *propq, const char *subalg,
                                const OSSL_PARAM *params, const void *key,
                                size_t keylen, const unsigned char *data,
                                size_t datalen, unsigned char *out, size_t outsize,
                                size_t *outlen);
unsigned char *__wrap_EVP_Q_mac(OSSL_LIB_CTX *libctx, const char *name,
                                const char *propq, const char *subalg,
                                const OSSL_PARAM *params, const void *key,
                                size_t keylen, const unsigned char *data,
                                size_t datalen, unsigned char *out, size_t outsize,
                                size_t *outlen);

static long fail_after = -1; /* -1: never fail */
static long calls;

void qrl_test_digest_fail_after(long n) {
  fail_after = n < 0 ? 0 : n;
  calls = 0;
}

void qrl_test_digest_ok(void) {
  fail_after = -1;
  calls = 0;
}

long qrl_test_digest_calls(void) { return calls; }

/* Counts a call; 1 if it must fail. A failing call scribbles on the output
 * first, as a half-done digest might: callers must not read it. */
static int must_fail(unsigned char *out, size_t n) {
  long k = calls++;
  if (fail_after < 0 || k < fail_after) return 0;
  for (size_t i = 0; out && i < n; i++) out[i] = (unsigned char)(0xA5 ^ i);
  return 1;
}

int __wrap_EVP_Digest(const void *data, size_t count, unsigned char *md,
                      unsigned int *size, const EVP_MD *type, ENGINE *impl) {
  if (must_fail(md, 32)) return 0;
  return __real_EVP_Digest(data, count, md, size, type, impl);
}

unsigned char *__wrap_EVP_Q_mac(OSSL_LIB_CTX *libctx, const char *name,
                                const char *propq, const char *subalg,
                                const OSSL_PARAM *params, const void *key,
                                size_t keylen, const unsigned char *data,
                                size_t datalen, unsigned char *out, size_t outsize,
                                size_t *outlen) {
  if (must_fail(out, outsize)) return NULL;
  return __real_EVP_Q_mac(libctx, name, propq, subalg, params, key, keylen, data,
                          datalen, out, outsize, outlen);
}
