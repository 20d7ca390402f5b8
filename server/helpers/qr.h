/*
 * qr.h - QR code rendering with libqrencode (and libpng for PNG files).
 *
 * The server pushes the module matrix (small) and lets the page draw it; the
 * PNG writer serves tests and the simulator's demo path. ECC level M.
 * Depends on libc + libqrencode + libpng only.
 */
#ifndef QRLOGIN_QR_H
#define QRLOGIN_QR_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

/* An encoded QR symbol: width x width modules, row-major, one byte per module
 * (1 = dark, 0 = light), without the quiet zone. */
typedef struct qrl_qr {
  int version;
  int width;
  uint8_t *modules; /* owned: width * width bytes */
} qrl_qr;

/* Encodes text (len bytes, 8-bit mode, ECC M) into a new symbol in *out.
 * The caller frees it with qrl_qr_free(). Returns QRL_OK, QRL_INVAL (too long
 * to encode) or QRL_NOMEM. */
qrl_err qrl_qr_encode(const char *text, size_t len, qrl_qr *out);

/* Releases the modules of qr (qr itself is the caller's); NULL-safe. */
void qrl_qr_free(qrl_qr *qr);

/* Packs the modules row-major, 8 per byte, most significant bit first, and
 * writes them base64url-encoded, NUL-terminated, to out (outlen bytes).
 * Returns QRL_OK or QRL_NOMEM if out is too small. This is what the page gets. */
qrl_err qrl_qr_bits_b64(const qrl_qr *qr, char *out, size_t outlen);

/* Writes qr as an 8-bit grayscale PNG to path: scale pixels per module and a
 * quiet zone of margin modules on each side. Returns QRL_OK, QRL_INVAL or
 * QRL_IO. */
qrl_err qrl_qr_write_png(const qrl_qr *qr, int scale, int margin, const char *path);

#endif /* QRLOGIN_QR_H */
