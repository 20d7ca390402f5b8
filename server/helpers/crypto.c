/*
 * crypto.c - qrlogin's cryptography over OpenSSL 3: CSPRNG tokens, SHA-256,
 * HMAC-SHA-256, constant-time compare, scrypt secret hashing, and ECDSA P-256
 * with keys as raw bytes. Every function builds and frees its own OpenSSL
 * objects, so all are thread-safe. Not here: key storage, encodings other
 * than base64url (b64.c).
 */
#include "helpers/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"

#define SCRYPT_SALT 16
#define SCRYPT_OUT 32

qrl_err qrl_random(uint8_t *buf, size_t len) {
  if (len > (size_t)0x7fffffff) return QRL_INVAL;
  return RAND_bytes(buf, (int)len) == 1 ? QRL_OK : QRL_CRYPTO;
}

qrl_err qrl_random_token(size_t nbytes, char *out, size_t outlen) {
  uint8_t buf[64];
  qrl_err rc;

  if (nbytes == 0 || nbytes > sizeof(buf) || outlen < QRL_B64_ENCLEN(nbytes) + 1)
    return QRL_INVAL;
  rc = qrl_random(buf, nbytes);
  if (rc == QRL_OK && qrl_b64url_encode(buf, nbytes, out, outlen) < 0) rc = QRL_INVAL;
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

/* The output of a failed digest is zero-filled so that no partial state
 * leaks, and the failure is returned: the zeros are never a usable value. */
qrl_err qrl_sha256(const void *data, size_t len, uint8_t out[QRL_SHA256_LEN]) {
  unsigned int n = 0;
  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != QRL_SHA256_LEN) {
    memset(out, 0, QRL_SHA256_LEN);
    return QRL_CRYPTO;
  }
  return QRL_OK;
}

qrl_err qrl_hmac_sha256(const uint8_t *key, size_t keylen, const void *data,
                        size_t len, uint8_t out[QRL_SHA256_LEN]) {
  size_t n = 0;
  if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, len,
                 out, QRL_SHA256_LEN, &n) || n != QRL_SHA256_LEN) {
    memset(out, 0, QRL_SHA256_LEN);
    return QRL_CRYPTO;
  }
  return QRL_OK;
}

void qrl_cleanse(void *p, size_t len) { OPENSSL_cleanse(p, len); }

int qrl_ct_equal(const void *a, const void *b, size_t len) {
  return CRYPTO_memcmp(a, b, len) == 0;
}

static qrl_err scrypt_raw(const char *secret, size_t len, const uint8_t *salt,
                          size_t saltlen, int ln, uint8_t out[SCRYPT_OUT]) {
  EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
  EVP_KDF_CTX *kctx = NULL;
  uint64_t n = (uint64_t)1 << ln;
  uint32_t r = 8, p = 1;
  uint64_t maxmem = (uint64_t)1 << 31;
  OSSL_PARAM params[7], *q = params;
  qrl_err rc = QRL_CRYPTO;

  if (!kdf) goto out;
  kctx = EVP_KDF_CTX_new(kdf);
  if (!kctx) goto out;
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)secret, len);
  *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
  *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
  *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
  *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
  *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
  *q = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(kctx, out, SCRYPT_OUT, params) == 1) rc = QRL_OK;
out:
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  return rc;
}

qrl_err qrl_hash_secret(const char *secret, size_t len, int cost_log2,
                        char *out, size_t outlen) {
  uint8_t salt[SCRYPT_SALT], hash[SCRYPT_OUT];
  char salt64[QRL_B64_ENCLEN(SCRYPT_SALT) + 1], hash64[QRL_B64_ENCLEN(SCRYPT_OUT) + 1];
  qrl_err rc;
  int n;

  if (cost_log2 < QRL_HASH_COST_MIN || cost_log2 > QRL_HASH_COST_MAX || !out)
    return QRL_INVAL;
  rc = qrl_random(salt, sizeof(salt));
  if (rc) goto out;
  rc = scrypt_raw(secret, len, salt, sizeof(salt), cost_log2, hash);
  if (rc) goto out;
  qrl_b64url_encode(salt, sizeof(salt), salt64, sizeof(salt64));
  qrl_b64url_encode(hash, sizeof(hash), hash64, sizeof(hash64));
  n = snprintf(out, outlen, "$scrypt$ln=%d,r=8,p=1$%s$%s", cost_log2, salt64, hash64);
  if (n < 0 || (size_t)n >= outlen) rc = QRL_NOMEM;
out:
  OPENSSL_cleanse(hash, sizeof(hash));
  return rc;
}

qrl_err qrl_verify_secret(const char *secret, size_t len, const char *stored) {
  const char *p, *salt64, *hash64;
  uint8_t salt[SCRYPT_SALT], want[SCRYPT_OUT], got[SCRYPT_OUT];
  char *end = NULL;
  long ln;
  qrl_err rc;

  if (!stored || strncmp(stored, "$scrypt$ln=", 11) != 0) return QRL_INVAL;
  p = stored + 11;
  ln = strtol(p, &end, 10);
  if (end == p || ln < QRL_HASH_COST_MIN || ln > QRL_HASH_COST_MAX || strncmp(end, ",r=8,p=1$", 9) != 0)
    return QRL_INVAL;
  salt64 = end + 9;
  hash64 = strchr(salt64, '$');
  if (!hash64) return QRL_INVAL;
  if (qrl_b64url_decode(salt64, (size_t)(hash64 - salt64), salt, sizeof(salt)) !=
      SCRYPT_SALT)
    return QRL_INVAL;
  hash64++;
  if (qrl_b64url_decode(hash64, strlen(hash64), want, sizeof(want)) != SCRYPT_OUT)
    return QRL_INVAL;
  rc = scrypt_raw(secret, len, salt, sizeof(salt), (int)ln, got);
  if (rc == QRL_OK)
    rc = qrl_ct_equal(got, want, SCRYPT_OUT) ? QRL_OK : QRL_BAD_CREDENTIALS;
  OPENSSL_cleanse(got, sizeof(got));
  return rc;
}

/* Builds an EVP_PKEY on P-256 from a public point and optionally a private
 * scalar. Returns NULL on failure. */
static EVP_PKEY *ec_key(const uint8_t *pub, size_t publen, const uint8_t *priv) {
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *pkey = NULL;
  BIGNUM *d = NULL;

  if (!bld) goto out;
  if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0))
    goto out;
  if (pub && !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen))
    goto out;
  if (priv) {
    d = BN_bin2bn(priv, QRL_PRIVKEY_BYTES, NULL);
    if (!d || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)) goto out;
  }
  params = OSSL_PARAM_BLD_to_param(bld);
  ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1) goto out;
  if (EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params) != 1)
    pkey = NULL;
out:
  BN_clear_free(d);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return pkey;
}

qrl_err qrl_ec_keygen(uint8_t priv[QRL_PRIVKEY_BYTES], uint8_t pub[65]) {
  EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
  BIGNUM *d = NULL;
  size_t n = 0;
  qrl_err rc = QRL_CRYPTO;

  if (!pkey) goto out;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, 65, &n) != 1 ||
      n != 65 || pub[0] != 0x04)
    goto out;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) goto out;
  if (BN_bn2binpad(d, priv, QRL_PRIVKEY_BYTES) != QRL_PRIVKEY_BYTES) goto out;
  rc = QRL_OK;
out:
  BN_clear_free(d);
  EVP_PKEY_free(pkey);
  return rc;
}

qrl_err qrl_ec_pub_check(const uint8_t *pub, size_t len) {
  EVP_PKEY *pkey;
  EVP_PKEY_CTX *ctx = NULL;
  qrl_err rc = QRL_BAD_DEVICE_KEY;

  if (!pub || len != 65 || pub[0] != 0x04) return rc;
  pkey = ec_key(pub, len, NULL);
  if (!pkey) return rc;
  ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
  if (ctx && EVP_PKEY_public_check(ctx) == 1) rc = QRL_OK;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return rc;
}

/* Computes the public point priv·G on P-256 (65 bytes, uncompressed). */
static qrl_err pub_from_priv(const uint8_t priv[QRL_PRIVKEY_BYTES], uint8_t pub[65]) {
  EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT *pt = NULL;
  BIGNUM *d = BN_bin2bn(priv, QRL_PRIVKEY_BYTES, NULL);
  qrl_err rc = QRL_CRYPTO;

  if (!g || !d) goto out;
  pt = EC_POINT_new(g);
  if (!pt || EC_POINT_mul(g, pt, d, NULL, NULL, NULL) != 1) goto out;
  if (EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, 65, NULL) != 65)
    goto out;
  rc = QRL_OK;
out:
  EC_POINT_free(pt);
  BN_clear_free(d);
  EC_GROUP_free(g);
  return rc;
}

qrl_err qrl_ec_priv_to_der(const uint8_t priv[QRL_PRIVKEY_BYTES], uint8_t **der, size_t *len) {
  uint8_t pub[65];
  EVP_PKEY *pkey = NULL;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  unsigned char *buf = NULL;
  int n = 0;
  qrl_err rc = QRL_CRYPTO;

  *der = NULL;
  *len = 0;
  if (pub_from_priv(priv, pub)) goto out;
  if (!(pkey = ec_key(pub, sizeof(pub), priv)) || !(p8 = EVP_PKEY2PKCS8(pkey))) goto out;
  if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf)) <= 0) goto out;
  rc = QRL_NOMEM;
  if (!(*der = malloc((size_t)n))) goto out;
  memcpy(*der, buf, (size_t)n);
  *len = (size_t)n;
  rc = QRL_OK;
out:
  if (buf) OPENSSL_clear_free(buf, n > 0 ? (size_t)n : 0);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(pkey);
  return rc;
}

qrl_err qrl_ec_priv_from_der(const uint8_t *der, size_t len, uint8_t priv[QRL_PRIVKEY_BYTES],
                             uint8_t pub[65]) {
  const unsigned char *p = der;
  EVP_PKEY *pkey = NULL;
  BIGNUM *d = NULL;
  char group[32];
  uint8_t k[QRL_PRIVKEY_BYTES], pt[65];
  qrl_err rc = QRL_INVAL;

  if (!der || !len || len > 4096) return rc;
  if (!(pkey = d2i_AutoPrivateKey(NULL, &p, (long)len)) || p != der + len) goto out;
  if (!EVP_PKEY_is_a(pkey, "EC") ||
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     NULL) != 1 ||
      strcmp(group, "prime256v1") != 0)
    goto out;
  if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
      BN_bn2binpad(d, k, QRL_PRIVKEY_BYTES) != QRL_PRIVKEY_BYTES)
    goto out;
  /* The point from the scalar, whatever the encoding carried beside it. */
  if (pub_from_priv(k, pt)) goto out;
  memcpy(priv, k, sizeof(k));
  memcpy(pub, pt, sizeof(pt));
  rc = QRL_OK;
out:
  qrl_cleanse(k, sizeof(k));
  BN_clear_free(d);
  EVP_PKEY_free(pkey);
  return rc;
}

qrl_err qrl_ec_sign(const uint8_t priv[QRL_PRIVKEY_BYTES], const void *msg,
                    size_t msglen, uint8_t *sig, size_t *siglen) {
  uint8_t pub[65];
  EVP_PKEY *pkey = NULL;
  EVP_MD_CTX *md = NULL;
  size_t n = QRL_SIG_MAX;
  qrl_err rc = QRL_CRYPTO;

  if (pub_from_priv(priv, pub)) goto out;
  pkey = ec_key(pub, sizeof(pub), priv);
  md = EVP_MD_CTX_new();
  if (!pkey || !md) goto out;
  if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) goto out;
  if (EVP_DigestSign(md, sig, &n, msg, msglen) != 1) goto out;
  *siglen = n;
  rc = QRL_OK;
out:
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pkey);
  return rc;
}

qrl_err qrl_ec_verify(const uint8_t pub[65], const void *msg, size_t msglen,
                      const uint8_t *sig, size_t siglen) {
  EVP_PKEY *pkey = NULL;
  EVP_MD_CTX *md = NULL;
  qrl_err rc = QRL_BAD_DEVICE_KEY;

  if (!pub || pub[0] != 0x04) goto out;
  pkey = ec_key(pub, 65, NULL);
  if (!pkey) goto out;
  rc = QRL_CRYPTO;
  md = EVP_MD_CTX_new();
  if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) goto out;
  rc = EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1 ? QRL_OK
                                                           : QRL_BAD_SIGNATURE;
out:
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pkey);
  return rc;
}

qrl_err qrl_ec_sig_to_raw(const uint8_t *der, size_t len, uint8_t raw[QRL_SIG_RAW_BYTES]) {
  const unsigned char *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
  const BIGNUM *r, *s;
  qrl_err rc = QRL_BAD_SIGNATURE;
  if (!sig || p != der + len) goto out; /* not DER, or bytes after it */
  ECDSA_SIG_get0(sig, &r, &s);
  if (BN_num_bytes(r) > 32 || BN_num_bytes(s) > 32) goto out;
  if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) goto out;
  rc = QRL_OK;
out:
  ECDSA_SIG_free(sig);
  return rc;
}

qrl_err qrl_ec_sig_from_raw(const uint8_t raw[QRL_SIG_RAW_BYTES], uint8_t *der, size_t *len) {
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
  unsigned char *p = der;
  qrl_err rc = QRL_CRYPTO;
  int n;
  if (!sig || !r || !s) goto out;
  rc = QRL_BAD_SIGNATURE;
  if (BN_is_zero(r) || BN_is_zero(s)) goto out;
  if (ECDSA_SIG_set0(sig, r, s) != 1) goto out;
  r = s = NULL; /* the signature owns them */
  rc = QRL_CRYPTO;
  if (i2d_ECDSA_SIG(sig, NULL) > QRL_SIG_MAX || (n = i2d_ECDSA_SIG(sig, &p)) <= 0) goto out;
  *len = (size_t)n;
  rc = QRL_OK;
out:
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return rc;
}
