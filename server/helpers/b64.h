/*
 * b64.h - base64url (RFC 4648 §5) without padding.
 *
 * Used for every token, key and signature on the wire. Strict: decoding
 * refuses padding, whitespace and characters outside the url-safe alphabet,
 * and non-canonical trailing bits. No allocation. Depends on libc only.
 */
#ifndef QRLOGIN_B64_H
#define QRLOGIN_B64_H

#include <stddef.h>
#include <stdint.h>

/* Number of characters (without NUL) that encoding n bytes produces. */
#define QRL_B64_ENCLEN(n) (((n) * 4 + 2) / 3)

/* Encodes len bytes of in into out as base64url without padding and
 * NUL-terminates it. outlen must be at least QRL_B64_ENCLEN(len) + 1.
 * Returns the number of characters written (without NUL), or -1 if out is
 * too small. */
long qrl_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen);

/* Decodes inlen characters of in into out. Returns the number of bytes
 * written, or -1 if in is not canonical unpadded base64url or out (outlen
 * bytes) is too small. */
long qrl_b64url_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

#endif /* QRLOGIN_B64_H */
