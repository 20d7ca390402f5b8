/*
 * fuzz_client_meta.c - what an OpenID Connect client registration carries
 * and the authorization endpoint will compare (domain/oidc_clients.h): a
 * redirect URI and a JWK Set. Never crashes; an accepted URI is absolute
 * http(s) without a fragment, space or control character; an accepted JWK
 * Set has no private "d". The first byte picks the parser.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/oidc_clients.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char buf[QRL_CLIENT_JWKS_MAX + 2];
  if (size < 1 || size - 1 >= sizeof(buf)) return 0;
  memcpy(buf, data + 1, size - 1);
  buf[size - 1] = '\0';
  if (data[0] & 1) {
    cJSON *doc, *k;
    if (qrl_client_jwks_problem(buf)) return 0;
    doc = cJSON_Parse(buf);
    if (!doc) abort();
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(doc, "keys"))
      if (cJSON_GetObjectItemCaseSensitive(k, "d")) abort(); /* a private key let through */
    cJSON_Delete(doc);
    return 0;
  }
  if (qrl_client_uri_problem(buf)) return 0;
  /* (a host name's case does not matter: http://LocalHost is loopback too) */
  if (strncmp(buf, "https://", 8) && strncasecmp(buf, "http://localhost", 16) &&
      strncmp(buf, "http://127.0.0.1", 16))
    abort();
  for (const char *p = buf; *p; p++)
    if (*p == '#' || (unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) abort();
  return 0;
}
