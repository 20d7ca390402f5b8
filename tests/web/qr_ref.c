/*
 * qr_ref.c - the server's side of web/qr.js's test (tests/web/qr_encoder_test.js):
 *
 *   qrl_qr_ref encode    reads payloads from stdin, one per line as hex bytes,
 *                        and for each prints what the server's qrl_qr_encode()
 *                        (libqrencode, ECC M) makes of it:
 *                        "VERSION WIDTH MODULES" (MODULES: '0'/'1' row-major),
 *                        or "ERR CODE" when it refuses the payload.
 *   qrl_qr_ref decode FILE...
 *                        decodes each PNG with qrl_qr_scan_png() (libzbar, as
 *                        vneid-sim does, but with room for texts of any length)
 *                        and prints the text as hex, or "ERR CODE".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/qr.h"
#include "helpers/qr_scan.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int encode_lines(void) {
  static char line[16384];
  static char text[8192];

  while (fgets(line, sizeof(line), stdin)) {
    size_t n = strcspn(line, "\r\n"), len = 0;
    qrl_qr qr;
    qrl_err rc;

    if (n % 2 || n / 2 > sizeof(text)) {
      fprintf(stderr, "qrl_qr_ref: bad hex line\n");
      return 2;
    }
    for (size_t i = 0; i < n; i += 2) {
      int hi = hexval(line[i]), lo = hexval(line[i + 1]);
      if (hi < 0 || lo < 0) {
        fprintf(stderr, "qrl_qr_ref: bad hex line\n");
        return 2;
      }
      text[len++] = (char)(hi << 4 | lo);
    }
    rc = qrl_qr_encode(text, len, &qr);
    if (rc) {
      printf("ERR %d\n", (int)rc);
      continue;
    }
    printf("%d %d ", qr.version, qr.width);
    for (int i = 0; i < qr.width * qr.width; i++) putchar(qr.modules[i] ? '1' : '0');
    putchar('\n');
    qrl_qr_free(&qr);
  }
  return fflush(stdout) ? 1 : 0;
}

static int decode_files(int argc, char **argv) {
  static char text[8192];

  for (int i = 0; i < argc; i++) {
    qrl_err rc = qrl_qr_scan_png(argv[i], text, sizeof(text));
    if (rc) {
      printf("ERR %d\n", (int)rc);
      continue;
    }
    for (size_t j = 0; text[j]; j++) printf("%02x", (unsigned char)text[j]);
    putchar('\n');
  }
  return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "encode")) return encode_lines();
  if (argc >= 2 && !strcmp(argv[1], "decode")) return decode_files(argc - 2, argv + 2);
  fprintf(stderr, "usage: qrl_qr_ref encode < HEXLINES | qrl_qr_ref decode FILE.png...\n");
  return 2;
}
