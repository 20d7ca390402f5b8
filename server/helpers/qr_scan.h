/*
 * qr_scan.h - reading a QR code out of a PNG image with libzbar (+ libpng).
 *
 * The phone simulator's camera: it takes an image file (a screenshot of the
 * login page, or a PNG written by qrl_qr_write_png) and returns the text of
 * the first QR symbol found. Depends on libc + libzbar + libpng only.
 */
#ifndef QRLOGIN_QR_SCAN_H
#define QRLOGIN_QR_SCAN_H

#include <stddef.h>

#include "qrlogin/error.h"

/* Decodes the first QR code in the PNG file at path (any PNG colour type and
 * bit depth; alpha is composited on white) and writes its text, NUL-terminated,
 * to out (outlen bytes). Returns QRL_OK, QRL_IO (unreadable or not a PNG),
 * QRL_BAD_QR (no QR code found), or QRL_NOMEM (text longer than out). */
qrl_err qrl_qr_scan_png(const char *path, char *out, size_t outlen);

#endif /* QRLOGIN_QR_SCAN_H */
