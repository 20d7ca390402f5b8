/*
 * fuzz_logout_hint.c - an id_token_hint as /oauth2/logout gets it: compact JWS
 * parsing (helpers/jose.h: qrl_jws_kid, qrl_jws_verify with a fixed key)
 * and the claims of a verified hint (domain/oidc_logout.h:
 * qrl_oidc_hint_claims, also fed the input as a payload directly, since a
 * random input never carries a valid signature). Never crashes or reads
 * past the input; a refusal leaves no claims; accepted claims fit their
 * buffers and have the lengths they must.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_logout.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"

#define ISS "https://xacthuc.example"

/* A valid P-256 point (the generator), so verification gets past the key. */
static const uint8_t pub[65] = {
    4,    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
    0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
    0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
    0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
    0x68, 0x37, 0xbf, 0x51, 0xf5};

static void check_claims(const char *p, size_t n) {
  qrl_oidc_hint h;
  if (qrl_oidc_hint_claims(p, n, ISS, &h) != QRL_OK) {
    if (h.client_id[0] || h.sid[0] || h.sub[0]) abort();
    return;
  }
  if (!h.client_id[0] || strlen(h.sid) != QRL_OIDC_SID_LEN || strlen(h.sub) != QRL_OIDC_SUB_LEN)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = malloc(size + 1), kid[QRL_JWK_KID_LEN + 1], *payload = NULL;
  size_t plen = 0;
  int has_kid = 0;
  if (!in) return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  if (qrl_jws_kid(in, size, kid, sizeof(kid), &has_kid) == QRL_OK && has_kid &&
      strlen(kid) > QRL_JWK_KID_LEN)
    abort();
  if (qrl_jws_verify(pub, in, size, &payload, &plen) == QRL_OK) {
    check_claims(payload, plen);
    free(payload);
  } else if (payload) {
    abort();
  }
  check_claims((const char *)data, size);
  free(in);
  return 0;
}
