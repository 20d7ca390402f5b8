/*
 * cookie.c - see cookie.h.
 */
#include "helpers/cookie.h"

#include <string.h>

static int token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

int qrl_cookie_find(const char *header, const char *name, size_t want_len,
                    char *out, size_t outlen) {
  size_t nlen = name ? strlen(name) : 0;
  const char *p = header;

  if (!header || !nlen || !out || outlen <= want_len) return 0;
  out[0] = '\0';
  while (*p) {
    const char *v;
    size_t vl;
    while (*p == ' ' || *p == ';') p++;
    if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      v = p + nlen + 1;
      vl = strcspn(v, ";");
      while (vl && v[vl - 1] == ' ') vl--;
      if (vl != want_len) return 0;
      for (size_t i = 0; i < vl; i++)
        if (!token_char(v[i])) return 0;
      memcpy(out, v, vl);
      out[vl] = '\0';
      return 1;
    }
    p += strcspn(p, ";");
  }
  return 0;
}
