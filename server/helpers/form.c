/*
 * form.c - form-urlencoded parameters (form.h).
 */
#include "helpers/form.h"

#include <stdio.h>
#include <string.h>

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int qrl_form_decode(const char *in, size_t n, char *out, size_t cap) {
  size_t o = 0;
  if (!cap) return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = in[i];
    if (ch == '+') ch = ' ';
    else if (ch == '%') {
      int hi, lo;
      if (i + 2 >= n) return -1;
      hi = hexval(in[i + 1]);
      lo = hexval(in[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      ch = (char)(hi * 16 + lo);
      i += 2;
    }
    if (ch == '\0' || o + 1 >= cap) return -1;
    out[o++] = ch;
  }
  out[o] = '\0';
  return 0;
}

int qrl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name), i = 0;
  int found = 0;
  if (!cap) return -1;
  out[0] = '\0';
  while (i < len) {
    size_t end = i, eq;
    while (end < len && body[end] != '&') end++;
    for (eq = i; eq < end && body[eq] != '='; eq++) {}
    if (eq - i == nl && memcmp(body + i, name, nl) == 0) {
      if (found) {
        out[0] = '\0';
        return -1;
      }
      if (eq == end) out[0] = '\0';
      else if (qrl_form_decode(body + eq + 1, end - eq - 1, out, cap)) {
        out[0] = '\0';
        return -1;
      }
      found = 1;
    }
    i = end + 1;
  }
  return found;
}

int qrl_url_add_param(char *url, size_t cap, const char *name, const char *value) {
  size_t start = strlen(url), n = start;
  int w = snprintf(url + n, cap - n, "%s%s=", strchr(url, '?') ? "&" : "?", name);
  if (w < 0 || (size_t)w >= cap - n) goto full;
  n += (size_t)w;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      if (n + 1 >= cap) goto full;
      url[n++] = (char)*p;
    } else {
      if (n + 3 >= cap) goto full;
      snprintf(url + n, 4, "%%%02X", *p);
      n += 3;
    }
  }
  url[n] = '\0';
  return 0;
full:
  url[start] = '\0';
  return -1;
}
