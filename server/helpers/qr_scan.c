/*
 * qr_scan.c - the simulator's camera: load a PNG (any format, libpng's
 * simplified API, alpha on white), hand the gray pixels to zbar, return the
 * first QR symbol's text. Not here: encoding (qr.c).
 */
#include "helpers/qr_scan.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

qrl_err qrl_qr_scan_png(const char *path, char *out, size_t outlen) {
  png_image img;
  png_color white = {255, 255, 255};
  uint8_t *px = NULL;
  zbar_image_scanner_t *scanner = NULL;
  zbar_image_t *zimg = NULL;
  const zbar_symbol_t *sym;
  qrl_err rc = QRL_IO;

  memset(&img, 0, sizeof(img));
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path)) goto out;
  if (img.width == 0 || img.height == 0 || img.width > 16384 || img.height > 16384)
    goto out;
  img.format = PNG_FORMAT_GRAY;
  px = malloc(PNG_IMAGE_SIZE(img));
  if (!px) {
    rc = QRL_NOMEM;
    goto out;
  }
  if (!png_image_finish_read(&img, &white, px, 0, NULL)) goto out;

  rc = QRL_NOMEM;
  scanner = zbar_image_scanner_create();
  zimg = zbar_image_create();
  if (!scanner || !zimg) goto out;
  zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
  zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
  zbar_image_set_format(zimg, zbar_fourcc('Y', '8', '0', '0'));
  zbar_image_set_size(zimg, img.width, img.height);
  zbar_image_set_data(zimg, px, (unsigned long)img.width * img.height, NULL);
  rc = QRL_BAD_QR;
  if (zbar_scan_image(scanner, zimg) <= 0) goto out;
  for (sym = zbar_image_first_symbol(zimg); sym; sym = zbar_symbol_next(sym)) {
    const char *data;
    unsigned int n;
    if (zbar_symbol_get_type(sym) != ZBAR_QRCODE) continue;
    data = zbar_symbol_get_data(sym);
    n = zbar_symbol_get_data_length(sym);
    if ((size_t)n + 1 > outlen) {
      rc = QRL_NOMEM;
      goto out;
    }
    memcpy(out, data, n);
    out[n] = '\0';
    rc = QRL_OK;
    break;
  }
out:
  if (zimg) zbar_image_destroy(zimg);
  if (scanner) zbar_image_scanner_destroy(scanner);
  png_image_free(&img);
  free(px);
  return rc;
}
