/*
 * fuzz_cookie.c - the Cookie header: never crashes, and a value it returns is
 * exactly a session-token-shaped string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char hdr[2048], out[64];
  if (size >= sizeof(hdr)) return 0;
  memcpy(hdr, data, size);
  hdr[size] = '\0';
  if (!qrl_cookie_find(hdr, "qrl_session", 43, out, sizeof(out))) return 0;
  if (strlen(out) != 43) abort();
  for (size_t i = 0; i < 43; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", out[i]))
      abort();
  return 0;
}
