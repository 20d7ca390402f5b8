/*
 * fuzz_jws.c - the JOSE parsers that read what a relying portal sends
 * (helpers/jose.h): the header of a private_key_jwt client assertion (its
 * "kid"), ES256 and RS256 verification of a compact JWS, and an RSA JWK's
 * n and e (a client's JWK Set). Never crashes, never leaks; nothing the
 * fuzzer makes verifies under keys it does not hold (made at start, private
 * halves dropped); a "kid" read fits its buffer. The first byte picks the
 * parser.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "helpers/jose.h"

static uint8_t ec_pub[65];
static char rsa_n[800], rsa_e[16];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  uint8_t priv[QRL_PRIVKEY_BYTES], *der = NULL, spki[QRL_JWK_PUB_MAX];
  size_t derlen = 0, spkilen = 0;
  char *jwk = NULL;
  cJSON *o;
  (void)argc;
  (void)argv;
  if (qrl_ec_keygen(priv, ec_pub)) abort();
  qrl_cleanse(priv, sizeof(priv));
  if (qrl_rsa_keygen(QRL_RSA_MIN_BITS, &der, &derlen, spki, &spkilen)) abort();
  qrl_cleanse(der, derlen);
  free(der);
  if (qrl_jwk_rsa_public_json(spki, spkilen, &jwk) || !(o = cJSON_Parse(jwk))) abort();
  snprintf(rsa_n, sizeof(rsa_n), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "n")));
  snprintf(rsa_e, sizeof(rsa_e), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "e")));
  cJSON_Delete(o);
  free(jwk);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char buf[8192];
  char kid[QRL_JWK_KID_LEN + 1], *payload = NULL;
  size_t len, plen = 0;
  int has_kid = 0;
  if (size < 1 || size - 1 >= sizeof(buf)) return 0;
  len = size - 1;
  memcpy(buf, data + 1, len);
  buf[len] = '\0';
  switch (data[0] % 4) {
  case 0:
    memset(kid, 0x55, sizeof(kid));
    if (qrl_jws_kid(buf, len, kid, sizeof(kid), &has_kid) == QRL_OK && has_kid &&
        !memchr(kid, '\0', sizeof(kid)))
      abort(); /* a kid that does not fit was cut, not overrun */
    break;
  case 1:
    if (qrl_jws_verify(ec_pub, buf, len, &payload, &plen) == QRL_OK) abort(); /* forged */
    if (payload) abort();
    break;
  case 2:
    if (qrl_jws_verify_rsa(rsa_n, rsa_e, buf, len, &payload, &plen) == QRL_OK) abort();
    if (payload) abort();
    break;
  default: {
    /* "n.e": an RSA JWK's members as a client's JWK Set gives them */
    char *dot = strchr(buf, '.');
    if (!dot) return 0;
    *dot = '\0';
    if (qrl_jwk_rsa_ok(buf, dot + 1)) { /* accepted: usable to verify */
      if (qrl_jws_verify_rsa(buf, dot + 1, "e30.e30.AAAA", 12, &payload, &plen) == QRL_OK) abort();
      free(payload);
    }
    break;
  }
  }
  free(payload);
  return 0;
}
