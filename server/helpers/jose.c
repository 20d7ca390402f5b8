/*
 * jose.c - ES256 compact JWS and P-256 JWKs (jose.h).
 */
#include "helpers/jose.h"

#include <cjson/cJSON.h>
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
  char *body = NULL;
  long n;
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
  rc = QRL_NOMEM;
  if (!(body = malloc((d2 - d1 - 1) / 4 * 3 + 4))) goto out;
  rc = QRL_BAD_SIGNATURE;
  n = qrl_b64url_decode(jws + d1 + 1, d2 - d1 - 1, (uint8_t *)body, (d2 - d1 - 1) / 4 * 3 + 3);
  if (n < 0) goto out;
  body[n] = '\0';
  *payload = body;
  *plen = (size_t)n;
  body = NULL;
  rc = QRL_OK;
out:
  free(body);
  cJSON_Delete(h);
  return rc;
}
