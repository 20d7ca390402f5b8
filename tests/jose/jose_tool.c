/*
 * jose_tool.c - the C side of tests/jose/interop.mjs:
 *   qrl_jose_tool sign CLAIMS     a new P-256 key; prints {"jwk":...,
 *                                 "token":...} (the token signed over CLAIMS)
 *   qrl_jose_tool verify JWK TOKEN  exit 0 and the payload on stdout if TOKEN
 *                                 verifies with the public JWK, else exit 1
 *                                 and the error code
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/jose.h"

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "sign")) {
    uint8_t priv[QRL_PRIVKEY_BYTES], pub[65];
    char kid[QRL_JWK_KID_LEN + 1], *jwk = NULL, *tok = NULL;
    if (qrl_ec_keygen(priv, pub) || qrl_jwk_thumbprint(pub, kid) ||
        qrl_jwk_public_json(pub, &jwk) ||
        qrl_jws_sign(priv, kid, "JWT", argv[2], strlen(argv[2]), &tok))
      return 2;
    printf("{\"jwk\":%s,\"token\":\"%s\"}\n", jwk, tok);
    free(jwk);
    free(tok);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "verify")) {
    cJSON *j = cJSON_Parse(argv[2]), *x, *y;
    uint8_t pub[65] = {0x04};
    char *payload = NULL;
    size_t n = 0;
    qrl_err rc;
    if (!j) return 2;
    x = cJSON_GetObjectItem(j, "x");
    y = cJSON_GetObjectItem(j, "y");
    if (!cJSON_IsString(x) || !cJSON_IsString(y) ||
        qrl_b64url_decode(x->valuestring, strlen(x->valuestring), pub + 1, 32) != 32 ||
        qrl_b64url_decode(y->valuestring, strlen(y->valuestring), pub + 33, 32) != 32)
      return 2;
    cJSON_Delete(j);
    rc = qrl_jws_verify(pub, argv[3], strlen(argv[3]), &payload, &n);
    if (rc) {
      printf("%s\n", qrl_err_code(rc));
      return 1;
    }
    fwrite(payload, 1, n, stdout);
    free(payload);
    return 0;
  }
  fprintf(stderr, "usage: qrl_jose_tool sign CLAIMS | verify JWK TOKEN\n");
  return 2;
}
