/*
 * jose.c - ES256 and RS256 compact JWS, P-256 and RSA JWKs (jose.h).
 */
#include "helpers/jose.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"

#define COORD_B64 43 /* base64url of 32 bytes, no padding */

/* The x and y coordinates of pub, base64url. */
static qrl_err coords(const uint8_t pub[65], char x[COORD_B64 + 1], char y[COORD_B64 + 1]) {
  qrl_err rc = qrl_ec_pub_check(pub, 65);
  if (rc) return rc;
  if (qrl_b64url_encode(pub + 1, 32, x, COORD_B64 + 1) != COORD_B64 ||
      qrl_b64url_encode(pub + 33, 32, y, COORD_B64 + 1) != COORD_B64)
    return QRL_CRYPTO;
  return QRL_OK;
}

qrl_err qrl_jwk_thumbprint(const uint8_t pub[65], char kid[QRL_JWK_KID_LEN + 1]) {
  char x[COORD_B64 + 1], y[COORD_B64 + 1], canon[160];
  uint8_t digest[32];
  qrl_err rc = coords(pub, x, y);
  int n;
  if (rc) return rc;
  /* RFC 7638 3.2: the required members only, in lexicographic order, no
   * whitespace. */
  n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
               x, y);
  if (n < 0 || (size_t)n >= sizeof(canon)) return QRL_CRYPTO;
  if (qrl_sha256(canon, (size_t)n, digest)) return QRL_CRYPTO;
  if (qrl_b64url_encode(digest, sizeof(digest), kid, QRL_JWK_KID_LEN + 1) != QRL_JWK_KID_LEN)
    return QRL_CRYPTO;
  return QRL_OK;
}

qrl_err qrl_jwk_public_json(const uint8_t pub[65], char **out) {
  char x[COORD_B64 + 1], y[COORD_B64 + 1], kid[QRL_JWK_KID_LEN + 1];
  qrl_err rc;
  int n;
  *out = NULL;
  if ((rc = coords(pub, x, y)) || (rc = qrl_jwk_thumbprint(pub, kid))) return rc;
  if (!(*out = malloc(256))) return QRL_NOMEM;
  n = snprintf(*out, 256,
               "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"%s\","
               "\"use\":\"sig\",\"alg\":\"ES256\"}",
               x, y, kid);
  if (n < 0 || n >= 256) {
    free(*out);
    *out = NULL;
    return QRL_CRYPTO;
  }
  return QRL_OK;
}

/* base64url of len bytes at in, appended at *p (room checked by the caller:
 * 4/3 of len plus 4). Returns the characters written, or -1. */
static long put_b64(char **p, const void *in, size_t len, const char *end) {
  long n = qrl_b64url_encode(in, len, *p, (size_t)(end - *p));
  if (n < 0) return -1;
  *p += n;
  return n;
}

qrl_err qrl_jws_sign(const uint8_t priv[QRL_PRIVKEY_BYTES], const char *kid, const char *typ,
                     const char *payload, size_t len, char **out) {
  char header[192];
  uint8_t der[QRL_SIG_MAX], raw[QRL_SIG_RAW_BYTES];
  size_t derlen = 0, cap;
  char *buf = NULL, *p, *end;
  qrl_err rc = QRL_CRYPTO;
  int n;

  *out = NULL;
  if (typ)
    n = snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"typ\":\"%s\"}", kid,
                 typ);
  else
    n = snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
  if (n < 0 || (size_t)n >= sizeof(header)) goto out;
  if (len > ((size_t)1 << 30)) goto out;
  cap = ((size_t)n + len + QRL_SIG_RAW_BYTES) / 3 * 4 + 16;
  rc = QRL_NOMEM;
  if (!(buf = malloc(cap))) goto out;
  p = buf;
  end = buf + cap;
  rc = QRL_CRYPTO;
  if (put_b64(&p, header, (size_t)n, end) < 0) goto out;
  *p++ = '.';
  if (put_b64(&p, payload, len, end) < 0) goto out;
  /* The signing input is what is written so far: header.payload. */
  if ((rc = qrl_ec_sign(priv, buf, (size_t)(p - buf), der, &derlen))) goto out;
  if ((rc = qrl_ec_sig_to_raw(der, derlen, raw))) goto out;
  rc = QRL_CRYPTO;
  *p++ = '.';
  if (put_b64(&p, raw, sizeof(raw), end) < 0) goto out;
  *out = buf;
  buf = NULL;
  rc = QRL_OK;
out:
  free(buf);
  return rc;
}

/* The three parts of a compact JWS: offsets of the two dots. 0, or -1. */
static int split(const char *jws, size_t len, size_t *d1, size_t *d2) {
  const char *a = memchr(jws, '.', len), *b;
  if (!a) return -1;
  b = memchr(a + 1, '.', len - (size_t)(a + 1 - jws));
  if (!b || memchr(b + 1, '.', len - (size_t)(b + 1 - jws))) return -1;
  *d1 = (size_t)(a - jws);
  *d2 = (size_t)(b - jws);
  return *d1 && *d2 > *d1 + 1 && len > *d2 + 1 ? 0 : -1;
}

/* The decoded header of jws as a parsed JSON object, or NULL. */
static cJSON *header_of(const char *jws, size_t d1) {
  uint8_t buf[1024];
  long n;
  if (d1 > sizeof(buf) / 3 * 4) return NULL;
  n = qrl_b64url_decode(jws, d1, buf, sizeof(buf) - 1);
  if (n <= 0) return NULL;
  buf[n] = '\0';
  if (memchr(buf, '\0', (size_t)n)) return NULL;
  {
    cJSON *h = cJSON_ParseWithLength((const char *)buf, (size_t)n);
    if (h && !cJSON_IsObject(h)) {
      cJSON_Delete(h);
      h = NULL;
    }
    return h;
  }
}

/* The payload of a verified jws (its part between dots d1 and d2),
 * decoded and NUL-terminated into *payload (malloc'd), its length in *plen.
 * QRL_OK, QRL_BAD_SIGNATURE (not base64url) or QRL_NOMEM. */
static qrl_err payload_of(const char *jws, size_t d1, size_t d2, char **payload, size_t *plen) {
  size_t cap = (d2 - d1 - 1) / 4 * 3 + 4;
  char *body = malloc(cap);
  long got;
  if (!body) return QRL_NOMEM;
  got = qrl_b64url_decode(jws + d1 + 1, d2 - d1 - 1, (uint8_t *)body, cap - 1);
  if (got < 0) {
    free(body);
    return QRL_BAD_SIGNATURE;
  }
  body[got] = '\0';
  *payload = body;
  *plen = (size_t)got;
  return QRL_OK;
}

qrl_err qrl_jws_kid(const char *jws, size_t len, char *kid, size_t kidcap, int *has_kid) {
  size_t d1, d2;
  cJSON *h, *k;
  qrl_err rc = QRL_BAD_SIGNATURE;
  *has_kid = 0;
  if (split(jws, len, &d1, &d2) || !(h = header_of(jws, d1))) return QRL_BAD_SIGNATURE;
  k = cJSON_GetObjectItemCaseSensitive(h, "kid");
  if (!k) {
    rc = QRL_OK;
  } else if (cJSON_IsString(k) && strlen(k->valuestring) < kidcap) {
    snprintf(kid, kidcap, "%s", k->valuestring);
    *has_kid = 1;
    rc = QRL_OK;
  }
  cJSON_Delete(h);
  return rc;
}

qrl_err qrl_jws_verify(const uint8_t pub[65], const char *jws, size_t len, char **payload,
                       size_t *plen) {
  size_t d1, d2, slen;
  cJSON *h = NULL, *alg;
  uint8_t raw[QRL_SIG_RAW_BYTES + 1], der[QRL_SIG_MAX];
  size_t derlen;
  qrl_err rc = QRL_BAD_SIGNATURE;

  *payload = NULL;
  *plen = 0;
  if ((rc = qrl_ec_pub_check(pub, 65))) return rc;
  rc = QRL_BAD_SIGNATURE;
  if (split(jws, len, &d1, &d2) || !(h = header_of(jws, d1))) goto out;
  alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "ES256") != 0) goto out;
  if (cJSON_GetObjectItemCaseSensitive(h, "crit")) goto out; /* nothing we understand */
  slen = len - d2 - 1;
  if (slen != 86) goto out; /* 64 bytes, base64url without padding */
  if (qrl_b64url_decode(jws + d2 + 1, slen, raw, sizeof(raw)) != QRL_SIG_RAW_BYTES) goto out;
  if (qrl_ec_sig_from_raw(raw, der, &derlen)) goto out;
  if ((rc = qrl_ec_verify(pub, jws, d2, der, derlen))) {
    if (rc != QRL_BAD_DEVICE_KEY) rc = QRL_BAD_SIGNATURE;
    goto out;
  }
  rc = payload_of(jws, d1, d2, payload, plen);
out:
  cJSON_Delete(h);
  return rc;
}

/* ---- RS256 and signing with a stored key ------------------------------------ */

#define RSA_B64_MAX 700 /* base64url of a 4096-bit modulus: 683 */

qrl_err qrl_rsa_keygen(int bits, uint8_t **der, size_t *derlen, uint8_t spki[QRL_JWK_PUB_MAX],
                       size_t *spkilen) {
  EVP_PKEY *pk = NULL;
  PKCS8_PRIV_KEY_INFO *p8 = NULL;
  unsigned char *buf = NULL, *p;
  int n = 0, m;
  qrl_err rc = QRL_INVAL;

  *der = NULL;
  *derlen = *spkilen = 0;
  if (bits < QRL_RSA_MIN_BITS || bits > QRL_RSA_MAX_BITS) return QRL_INVAL;
  rc = QRL_CRYPTO;
  if (!(pk = EVP_RSA_gen((unsigned int)bits))) goto out;
  if (!(p8 = EVP_PKEY2PKCS8(pk))) goto out;
  if ((n = i2d_PKCS8_PRIV_KEY_INFO(p8, NULL)) <= 0) goto out;
  rc = QRL_NOMEM;
  if (!(buf = malloc((size_t)n))) goto out;
  rc = QRL_CRYPTO;
  p = buf;
  if (i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != n) goto out;
  if (i2d_PUBKEY(pk, NULL) > QRL_JWK_PUB_MAX) goto out;
  p = spki;
  if ((m = i2d_PUBKEY(pk, &p)) <= 0) goto out;
  *spkilen = (size_t)m;
  *der = buf;
  *derlen = (size_t)n;
  buf = NULL;
  rc = QRL_OK;
out:
  if (buf) {
    qrl_cleanse(buf, (size_t)n);
    free(buf);
  }
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(pk);
  return rc;
}

/* The private key of DER der (PKCS#8 or traditional), or NULL. */
static EVP_PKEY *priv_of(const uint8_t *der, size_t len) {
  const unsigned char *p = der;
  if (!der || len == 0 || len > 8192) return NULL;
  return d2i_AutoPrivateKey(NULL, &p, (long)len);
}

qrl_err qrl_priv_der_public(const uint8_t *der, size_t derlen, uint8_t spki[QRL_JWK_PUB_MAX],
                            size_t *spkilen) {
  EVP_PKEY *pk = priv_of(der, derlen);
  unsigned char *p = spki;
  int n;
  qrl_err rc = QRL_CRYPTO;
  *spkilen = 0;
  if (pk && i2d_PUBKEY(pk, NULL) <= QRL_JWK_PUB_MAX && (n = i2d_PUBKEY(pk, &p)) > 0) {
    *spkilen = (size_t)n;
    rc = QRL_OK;
  }
  EVP_PKEY_free(pk);
  return rc;
}

/* n and e of RSA public key spki, base64url, into n64 and e64. */
static qrl_err rsa_members(const uint8_t *spki, size_t len, char n64[RSA_B64_MAX],
                           char e64[16]) {
  const unsigned char *p = spki;
  EVP_PKEY *pk = len && len <= QRL_JWK_PUB_MAX ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
  BIGNUM *n = NULL, *e = NULL;
  uint8_t nb[QRL_RSA_MAX_BITS / 8], eb[8];
  int nl, el, bits;
  qrl_err rc = QRL_CRYPTO;

  if (!pk || (size_t)(p - spki) != len || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) goto out;
  bits = EVP_PKEY_get_bits(pk);
  if (bits < QRL_RSA_MIN_BITS || bits > QRL_RSA_MAX_BITS) goto out;
  if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) ||
      !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e))
    goto out;
  nl = BN_num_bytes(n);
  el = BN_num_bytes(e);
  if (nl <= 0 || nl > (int)sizeof(nb) || el <= 0 || el > (int)sizeof(eb)) goto out;
  BN_bn2bin(n, nb);
  BN_bn2bin(e, eb);
  if (qrl_b64url_encode(nb, (size_t)nl, n64, RSA_B64_MAX) <= 0 ||
      qrl_b64url_encode(eb, (size_t)el, e64, 16) <= 0)
    goto out;
  rc = QRL_OK;
out:
  BN_free(n);
  BN_free(e);
  EVP_PKEY_free(pk);
  return rc;
}

qrl_err qrl_jwk_rsa_thumbprint(const uint8_t *spki, size_t len, char kid[QRL_JWK_KID_LEN + 1]) {
  char n64[RSA_B64_MAX], e64[16], canon[RSA_B64_MAX + 64];
  uint8_t digest[32];
  qrl_err rc = rsa_members(spki, len, n64, e64);
  int n;
  if (rc) return rc;
  /* RFC 7638 3.2: e, kty, n - lexicographic, no whitespace. */
  n = snprintf(canon, sizeof(canon), "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e64, n64);
  if (n < 0 || (size_t)n >= sizeof(canon)) return QRL_CRYPTO;
  if (qrl_sha256(canon, (size_t)n, digest)) return QRL_CRYPTO;
  if (qrl_b64url_encode(digest, sizeof(digest), kid, QRL_JWK_KID_LEN + 1) != QRL_JWK_KID_LEN)
    return QRL_CRYPTO;
  return QRL_OK;
}

qrl_err qrl_jwk_rsa_public_json(const uint8_t *spki, size_t len, char **out) {
  char n64[RSA_B64_MAX], e64[16], kid[QRL_JWK_KID_LEN + 1];
  size_t cap = RSA_B64_MAX + 160;
  qrl_err rc;
  int n;
  *out = NULL;
  if ((rc = rsa_members(spki, len, n64, e64)) || (rc = qrl_jwk_rsa_thumbprint(spki, len, kid)))
    return rc;
  if (!(*out = malloc(cap))) return QRL_NOMEM;
  n = snprintf(*out, cap,
               "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\",\"kid\":\"%s\",\"use\":\"sig\","
               "\"alg\":\"RS256\"}",
               n64, e64, kid);
  if (n < 0 || (size_t)n >= cap) {
    free(*out);
    *out = NULL;
    return QRL_CRYPTO;
  }
  return QRL_OK;
}

/* The RSA public key of base64url n and e, checked (qrl_jwk_rsa_ok), or
 * NULL. */
static EVP_PKEY *rsa_from_jwk(const char *n64, const char *e64) {
  uint8_t nb[QRL_RSA_MAX_BITS / 8 + 1], eb[5];
  long nl, el;
  BIGNUM *n = NULL, *e = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *pk = NULL;
  size_t n64l = n64 ? strlen(n64) : 0, e64l = e64 ? strlen(e64) : 0;

  if (!n64l || n64l > RSA_B64_MAX || !e64l || e64l > 8) return NULL;
  nl = qrl_b64url_decode(n64, n64l, nb, sizeof(nb));
  el = qrl_b64url_decode(e64, e64l, eb, sizeof(eb));
  if (nl < QRL_RSA_MIN_BITS / 8 || nl > QRL_RSA_MAX_BITS / 8 || nb[0] == 0) return NULL;
  if (el < 1 || el > 4 || eb[0] == 0 || !(eb[el - 1] & 1) || (el == 1 && eb[0] < 3)) return NULL;
  if (!(n = BN_bin2bn(nb, (int)nl, NULL)) || !(e = BN_bin2bn(eb, (int)el, NULL))) goto out;
  if (BN_num_bits(n) < QRL_RSA_MIN_BITS) goto out;
  if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)))
    goto out;
  if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    pk = NULL;
out:
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  return pk;
}

int qrl_jwk_rsa_ok(const char *n, const char *e) {
  EVP_PKEY *pk = rsa_from_jwk(n, e);
  EVP_PKEY_free(pk);
  return pk != NULL;
}

qrl_err qrl_jws_sign_der(const char *alg, const uint8_t *der, size_t derlen, const char *kid,
                         const char *typ, const char *payload, size_t len, char **out) {
  char header[192];
  EVP_PKEY *pk = NULL;
  EVP_MD_CTX *md = NULL;
  uint8_t sig[QRL_RSA_MAX_BITS / 8 + 16], raw[QRL_SIG_RAW_BYTES];
  size_t siglen = sizeof(sig), cap;
  char *buf = NULL, *p, *end;
  int rsa, n;
  qrl_err rc = QRL_INVAL;

  *out = NULL;
  if (!alg || (strcmp(alg, "ES256") && strcmp(alg, "RS256"))) return QRL_INVAL;
  rsa = alg[0] == 'R';
  if (!(pk = priv_of(der, derlen))) return QRL_CRYPTO;
  if (EVP_PKEY_get_base_id(pk) != (rsa ? EVP_PKEY_RSA : EVP_PKEY_EC)) goto out;
  rc = QRL_CRYPTO;
  if (rsa && EVP_PKEY_get_bits(pk) < QRL_RSA_MIN_BITS) goto out;
  if (typ)
    n = snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"%s\"}", alg,
                 kid, typ);
  else
    n = snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
  if (n < 0 || (size_t)n >= sizeof(header) || len > ((size_t)1 << 30)) goto out;
  cap = ((size_t)n + len + sizeof(sig)) / 3 * 4 + 16;
  rc = QRL_NOMEM;
  if (!(buf = malloc(cap))) goto out;
  p = buf;
  end = buf + cap;
  rc = QRL_CRYPTO;
  if (put_b64(&p, header, (size_t)n, end) < 0) goto out;
  *p++ = '.';
  if (put_b64(&p, payload, len, end) < 0) goto out;
  /* RS256 is PKCS#1 v1.5, the RSA default; ES256 gives DER, made raw R||S. */
  if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
      EVP_DigestSign(md, sig, &siglen, (const unsigned char *)buf, (size_t)(p - buf)) != 1)
    goto out;
  *p++ = '.';
  if (!rsa) {
    if ((rc = qrl_ec_sig_to_raw(sig, siglen, raw))) goto out;
    rc = QRL_CRYPTO;
    if (put_b64(&p, raw, sizeof(raw), end) < 0) goto out;
  } else if (put_b64(&p, sig, siglen, end) < 0) {
    goto out;
  }
  *out = buf;
  buf = NULL;
  rc = QRL_OK;
out:
  free(buf);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return rc;
}

qrl_err qrl_jws_verify_rsa(const char *n, const char *e, const char *jws, size_t len,
                           char **payload, size_t *plen) {
  EVP_PKEY *pk = rsa_from_jwk(n, e);
  EVP_MD_CTX *md = NULL;
  size_t d1, d2, slen, mod;
  cJSON *h = NULL, *alg;
  uint8_t sig[QRL_RSA_MAX_BITS / 8 + 4];
  qrl_err rc = QRL_BAD_DEVICE_KEY;

  *payload = NULL;
  *plen = 0;
  if (!pk) return QRL_BAD_DEVICE_KEY;
  rc = QRL_BAD_SIGNATURE;
  mod = (size_t)EVP_PKEY_get_size(pk);
  if (split(jws, len, &d1, &d2) || !(h = header_of(jws, d1))) goto out;
  alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0) goto out;
  if (cJSON_GetObjectItemCaseSensitive(h, "crit")) goto out;
  slen = len - d2 - 1;
  if (slen != (mod * 4 + 2) / 3) goto out; /* base64url without padding */
  if (qrl_b64url_decode(jws + d2 + 1, slen, sig, sizeof(sig)) != (long)mod) goto out;
  if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
      EVP_DigestVerify(md, sig, mod, (const unsigned char *)jws, d2) != 1)
    goto out;
  rc = payload_of(jws, d1, d2, payload, plen);
out:
  cJSON_Delete(h);
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return rc;
}
