/*
 * fuzz_form.c - form-urlencoded bodies (helpers/form.h): never crashes or
 * reads past the body; a value found decodes to no more than its buffer
 * holds and has no NUL; appending it to a URL encodes only unreserved
 * characters as they are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"grant_type", "code", "redirect_uri", "code_verifier",
                                      "client_id", "access_token", ""};
  char *body = malloc(size ? size : 1), out[256], url[1024];
  if (!body) return 0;
  memcpy(body, data, size); /* exactly size bytes: ASan sees any overread */
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    int r = qrl_form_get(body, size, names[i], out, sizeof(out));
    if (r != 1) {
      if (out[0]) abort();
      continue;
    }
    if (strlen(out) >= sizeof(out)) abort();
    snprintf(url, sizeof(url), "https://p.example/cb");
    if (qrl_url_add_param(url, sizeof(url), "v", out) == 0) {
      for (const char *p = url; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '<' || (unsigned char)*p >= 0x80) abort();
    } else if (strcmp(url, "https://p.example/cb")) {
      abort();
    }
  }
  free(body);
  return 0;
}
