/*
 * text.c - cleaning outside text (text.h).
 */
#include "helpers/text.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4) and its code point, or 0 if
 * s does not start one (overlong forms and surrogates are invalid). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp) {
  size_t n;
  uint32_t c;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if (s[0] >= 0xC2 && s[0] <= 0xDF) n = 2, c = s[0] & 0x1F;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF) n = 3, c = s[0] & 0x0F;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4) n = 4, c = s[0] & 0x07;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
    c = (c << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return n;
}

static int unsafe(uint32_t c, int keep_lines) {
  if (keep_lines && (c == '\n' || c == '\t')) return 0;
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || /* C0, DEL, C1 */
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || /* bidi */
         c == 0x2028 || c == 0x2029; /* line/paragraph separators */
}

size_t qrl_text_clean(char *s, int keep_lines) {
  unsigned char *in = (unsigned char *)s, *out = (unsigned char *)s;
  size_t replaced = 0;
  while (*in) {
    uint32_t cp = 0;
    size_t n = utf8_seq(in, &cp);
    if (n == 0 || unsafe(cp, keep_lines)) {
      *out++ = '?';
      in += n ? n : 1;
      replaced++;
      continue;
    }
    memmove(out, in, n);
    out += n;
    in += n;
  }
  *out = '\0';
  return replaced;
}

int qrl_text_is_clean(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    uint32_t cp = 0;
    size_t n = utf8_seq(p, &cp);
    if (n == 0 || unsafe(cp, 0)) return 0;
    p += n;
  }
  return 1;
}
