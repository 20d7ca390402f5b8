/*
 * b64.c - strict base64url without padding (RFC 4648 §5).
 */
#include "helpers/b64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long qrl_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen) {
  size_t need = QRL_B64_ENCLEN(len), o = 0, i = 0;

  if (!out || outlen < need + 1) return -1;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
    out[o++] = alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = alphabet[(v >> 18) & 63];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o++] = alphabet[(v >> 6) & 63];
  }
  out[o] = '\0';
  return (long)o;
}

static int val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

long qrl_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen) {
  size_t rem = inlen % 4, full = inlen - rem, o = 0;
  size_t need = inlen / 4 * 3 + (rem ? rem - 1 : 0);
  int v[4];

  if (rem == 1 || need > outlen || (!out && need)) return -1;
  for (size_t i = 0; i < full; i += 4) {
    for (int k = 0; k < 4; k++)
      if ((v[k] = val(in[i + k])) < 0) return -1;
    out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
    out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
    out[o++] = (uint8_t)(v[2] << 6 | v[3]);
  }
  if (rem) {
    for (size_t k = 0; k < rem; k++)
      if ((v[k] = val(in[full + k])) < 0) return -1;
    out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
    if (rem == 2 && (v[1] & 15)) return -1; /* non-canonical trailing bits */
    if (rem == 3) {
      out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
      if (v[2] & 3) return -1;
    }
  }
  return (long)o;
}
