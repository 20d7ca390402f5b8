/*
 * crypto.h - the cryptography qrlogin uses, over OpenSSL 3.
 *
 * Random tokens from the CSPRNG (RAND_bytes), SHA-256 and HMAC-SHA-256,
 * constant-time comparison, scrypt hashing of passwords and passcodes, and
 * ECDSA P-256 device keys (make, sign, verify). Keys cross module boundaries
 * as raw bytes (65-byte uncompressed public point; 32-byte private scalar)
 * so callers never see OpenSSL types. Depends on libc + OpenSSL only.
 *
 * Every function is safe to call from any thread.
 */
#ifndef QRLOGIN_CRYPTO_H
#define QRLOGIN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

#define QRL_SHA256_LEN 32
#define QRL_PRIVKEY_BYTES 32
/* Longest DER ECDSA P-256 signature. */
#define QRL_SIG_MAX 72
/* The scrypt cost range (log2 N) accepted for hashing and verifying: below
 * 2^10 a hash is too cheap to be worth storing. */
#define QRL_HASH_COST_MIN 10
#define QRL_HASH_COST_MAX 20

/* Longest string qrl_hash_secret() produces, with NUL. */
#define QRL_HASH_STR_MAX 128

/* Marks a function whose result must be looked at: a digest that failed
 * leaves its output undefined, and using it anyway (a zero HMAC) would make
 * codes predictable. */
#if defined(__GNUC__)
#define QRL_MUST_CHECK __attribute__((warn_unused_result))
#else
#define QRL_MUST_CHECK
#endif

/* Fills buf with len bytes from OpenSSL's CSPRNG. Returns QRL_OK or
 * QRL_CRYPTO. */
qrl_err qrl_random(uint8_t *buf, size_t len);

/* Makes a token of nbytes random bytes and writes it base64url-encoded,
 * NUL-terminated, to out (outlen >= QRL_B64_ENCLEN(nbytes) + 1).
 * Returns QRL_OK, QRL_CRYPTO or QRL_INVAL. */
qrl_err qrl_random_token(size_t nbytes, char *out, size_t outlen);

/* Writes SHA-256(data) to out. Returns QRL_OK, or QRL_CRYPTO if OpenSSL
 * failed: then out is zero-filled and must not be used - callers fail
 * closed (abort the operation with the error). */
QRL_MUST_CHECK qrl_err qrl_sha256(const void *data, size_t len,
                                  uint8_t out[QRL_SHA256_LEN]);

/* Writes HMAC-SHA-256(key, data) to out. Returns QRL_OK, or QRL_CRYPTO if
 * OpenSSL failed: then out is zero-filled and must not be used (a zero MAC
 * is predictable); callers fail closed. */
QRL_MUST_CHECK qrl_err qrl_hmac_sha256(const uint8_t *key, size_t keylen,
                                       const void *data, size_t len,
                                       uint8_t out[QRL_SHA256_LEN]);

/* Overwrites len bytes at p with zeros in a way the compiler keeps (for
 * passwords, passcodes and tokens in memory about to be freed). */
void qrl_cleanse(void *p, size_t len);

/* Returns 1 if the len bytes at a and b are equal, else 0, in time that
 * depends only on len. */
int qrl_ct_equal(const void *a, const void *b, size_t len);

/* Hashes a secret (password or passcode) with scrypt and a random 16-byte salt
 * into a self-describing string "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>"
 * (base64url fields), NUL-terminated in out (outlen >= QRL_HASH_STR_MAX).
 * cost_log2 is log2(N), QRL_HASH_COST_MIN..MAX: 15 in production (about
 * 50-100 ms, 32 MiB), 10 in tests. Returns QRL_OK, QRL_INVAL or QRL_CRYPTO.
 * Slow by design: never call it on the event-loop thread. */
qrl_err qrl_hash_secret(const char *secret, size_t len, int cost_log2,
                        char *out, size_t outlen);

/* Checks secret against a string from qrl_hash_secret(), comparing in
 * constant time. Returns QRL_OK on a match, QRL_BAD_CREDENTIALS on a mismatch,
 * QRL_INVAL if stored is malformed. Slow by design, like qrl_hash_secret(). */
qrl_err qrl_verify_secret(const char *secret, size_t len, const char *stored);

/* Makes a new P-256 key pair: the private scalar (32 bytes, big-endian) and
 * the public key as an uncompressed point (65 bytes). */
qrl_err qrl_ec_keygen(uint8_t priv[QRL_PRIVKEY_BYTES], uint8_t pub[65]);

/* Encodes the P-256 private scalar priv as a PKCS#8 PrivateKeyInfo (DER,
 * with its public point): *der is malloc'd, *len bytes; the caller cleanses
 * (qrl_cleanse) and frees it. QRL_OK, QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_ec_priv_to_der(const uint8_t priv[QRL_PRIVKEY_BYTES], uint8_t **der, size_t *len);

/* Decodes a PKCS#8 (or SEC1) DER private key of len bytes into the P-256
 * scalar priv and its public point pub. QRL_OK, or QRL_INVAL if der is no
 * P-256 private key (nothing written then). */
qrl_err qrl_ec_priv_from_der(const uint8_t *der, size_t len, uint8_t priv[QRL_PRIVKEY_BYTES],
                             uint8_t pub[65]);

/* Returns QRL_OK if pub (len bytes) is an uncompressed P-256 point on the
 * curve, else QRL_BAD_DEVICE_KEY. */
qrl_err qrl_ec_pub_check(const uint8_t *pub, size_t len);

/* Signs SHA-256(msg) with the private scalar priv; writes the DER signature to
 * sig (at least QRL_SIG_MAX bytes) and its length to *siglen. */
qrl_err qrl_ec_sign(const uint8_t priv[QRL_PRIVKEY_BYTES], const void *msg,
                    size_t msglen, uint8_t *sig, size_t *siglen);

/* Verifies the DER ECDSA signature sig over SHA-256(msg) with the public point
 * pub (65 bytes). Returns QRL_OK, QRL_BAD_SIGNATURE (does not verify or is not
 * DER), or QRL_BAD_DEVICE_KEY (pub is not a valid point). */
qrl_err qrl_ec_verify(const uint8_t pub[65], const void *msg, size_t msglen,
                      const uint8_t *sig, size_t siglen);

/* A P-256 signature as JOSE carries it (RFC 7518 3.4): R and S, 32 bytes
 * each, big-endian. */
#define QRL_SIG_RAW_BYTES 64

/* DER (len bytes) -> raw R||S. QRL_OK, or QRL_BAD_SIGNATURE if der is not a
 * DER ECDSA signature with R and S of at most 32 bytes. */
qrl_err qrl_ec_sig_to_raw(const uint8_t *der, size_t len, uint8_t raw[QRL_SIG_RAW_BYTES]);
/* Raw R||S -> DER into der (at least QRL_SIG_MAX bytes), its length in
 * *len. QRL_OK, QRL_BAD_SIGNATURE (R or S zero), QRL_CRYPTO. */
qrl_err qrl_ec_sig_from_raw(const uint8_t raw[QRL_SIG_RAW_BYTES], uint8_t *der, size_t *len);

#endif /* QRLOGIN_CRYPTO_H */
