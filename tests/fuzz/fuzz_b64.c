/*
 * fuzz_b64.c - base64url decoding of tokens, keys and signatures: never
 * crashes, never writes past the buffer, and what it accepts is canonical
 * (re-encoding gives the same text).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t bin[1024];
  char back[1500];
  long n = qrl_b64url_decode((const char *)data, size, bin, sizeof(bin));
  if (n < 0) return 0;
  if (qrl_b64url_encode(bin, (size_t)n, back, sizeof(back)) != (long)size) abort();
  if (memcmp(back, data, size) != 0) abort();
  return 0;
}
