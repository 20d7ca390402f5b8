/*
 * qr.c - QR encoding with libqrencode (8-bit mode, ECC M), the packed module
 * bits the page draws, and a grayscale PNG writer (libpng). Not here:
 * decoding (qr_scan.c).
 */
#include "helpers/qr.h"

#include <png.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"

qrl_err qrl_qr_encode(const char *text, size_t len, qrl_qr *out) {
  QRcode *code;
  size_t n;

  memset(out, 0, sizeof(*out));
  if (!text || len == 0 || len > 2048) return QRL_INVAL;
  code = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
  if (!code) return QRL_INVAL;
  n = (size_t)code->width * (size_t)code->width;
  out->modules = malloc(n);
  if (!out->modules) {
    QRcode_free(code);
    return QRL_NOMEM;
  }
  for (size_t i = 0; i < n; i++) out->modules[i] = code->data[i] & 1;
  out->version = code->version;
  out->width = code->width;
  QRcode_free(code);
  return QRL_OK;
}

void qrl_qr_free(qrl_qr *qr) {
  if (!qr) return;
  free(qr->modules);
  qr->modules = NULL;
  qr->width = qr->version = 0;
}

qrl_err qrl_qr_bits_b64(const qrl_qr *qr, char *out, size_t outlen) {
  uint8_t packed[(177 * 177 + 7) / 8];
  size_t n = (size_t)qr->width * (size_t)qr->width, nbytes = (n + 7) / 8;

  if (!qr->modules || nbytes > sizeof(packed)) return QRL_INVAL;
  memset(packed, 0, nbytes);
  for (size_t i = 0; i < n; i++)
    if (qr->modules[i]) packed[i / 8] |= (uint8_t)(0x80u >> (i % 8));
  return qrl_b64url_encode(packed, nbytes, out, outlen) < 0 ? QRL_NOMEM : QRL_OK;
}

/* The libpng part, kept apart so that no local changes after setjmp. */
static qrl_err write_rows(FILE *f, const qrl_qr *qr, int scale, int margin,
                          int side, png_bytep row) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;

  if (!png || !info) {
    png_destroy_write_struct(&png, NULL);
    return QRL_NOMEM;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return QRL_IO;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)side, (png_uint_32)side, 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < side; y++) {
    int my = y / scale - margin;
    for (int x = 0; x < side; x++) {
      int mx = x / scale - margin;
      int dark = my >= 0 && my < qr->width && mx >= 0 && mx < qr->width &&
                 qr->modules[(size_t)my * (size_t)qr->width + (size_t)mx];
      row[x] = dark ? 0 : 255;
    }
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return QRL_OK;
}

qrl_err qrl_qr_write_png(const qrl_qr *qr, int scale, int margin,
                         const char *path) {
  FILE *f = NULL;
  png_bytep row = NULL;
  qrl_err rc = QRL_INVAL;
  int side;

  if (!qr->modules || scale < 1 || scale > 64 || margin < 0 || margin > 16)
    return rc;
  side = (qr->width + 2 * margin) * scale;
  rc = QRL_NOMEM;
  row = malloc((size_t)side);
  if (!row) goto out;
  rc = QRL_IO;
  f = fopen(path, "wb");
  if (!f) goto out;
  rc = write_rows(f, qr, scale, margin, side, row);
out:
  free(row);
  if (f && fclose(f) != 0 && rc == QRL_OK) rc = QRL_IO;
  return rc;
}
