/*
 * crypto_fail.h - makes the digests under qrl_sha256() and qrl_hmac_sha256()
 * fail on demand, so that unit tests can show their callers fail closed.
 *
 * How: every unit test executable is linked with
 *   -Wl,--wrap=EVP_Digest -Wl,--wrap=EVP_Q_mac
 * so the calls crypto.c makes to those two OpenSSL functions land in
 * crypto_fail.c, which passes them through to OpenSSL unless a test armed a
 * failure. Nothing of this is in crypto.c or in any production binary: the
 * switch (a static counter) lives in crypto_fail.c, which only test
 * executables link, and the failure is injected at the OpenSSL boundary so
 * crypto.c's own error path is what runs.
 *
 * Not thread-aware: arm it only in tests that digest on one thread.
 */
#ifndef QRLOGIN_TEST_CRYPTO_FAIL_H
#define QRLOGIN_TEST_CRYPTO_FAIL_H

/* After the next n digests (SHA-256 or HMAC) succeed, every later one fails
 * until qrl_test_digest_ok(). n = 0: the very next one fails. */
void qrl_test_digest_fail_after(long n);

/* Digests succeed again (the default). */
void qrl_test_digest_ok(void);

/* Digests attempted (failed or not) since the last arm/ok call. */
long qrl_test_digest_calls(void);

#endif /* QRLOGIN_TEST_CRYPTO_FAIL_H */
