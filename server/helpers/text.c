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

/* Combining marks (zero width) and East Asian wide ranges (two columns):
 * what aligning names and device names needs, not all of Unicode's tables. */
static int cp_width(unsigned long cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0x200B || cp == 0x200D)
    return 0;
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
      (cp >= 0x20000 && cp <= 0x3FFFD))
    return 2;
  return 1;
}

size_t qrl_text_width(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  size_t w = 0;
  while (*p) {
    unsigned long cp;
    int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                         : (*p & 0xF8) == 0xF0 ? 4 : 0;
    int ok = n > 0;
    cp = n == 1 ? *p : n == 2 ? (*p & 0x1Fu) : n == 3 ? (*p & 0x0Fu) : (*p & 0x07u);
    for (int i = 1; ok && i < n; i++) {
      if ((p[i] & 0xC0) != 0x80) ok = 0;
      else cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (!ok) { /* not UTF-8 here: one column for the byte */
      w++;
      p++;
      continue;
    }
    w += (size_t)cp_width(cp);
    p += n;
  }
  return w;
}
