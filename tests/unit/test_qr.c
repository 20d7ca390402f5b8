/*
 * test_qr.c - QR rendering and reading: the payload encoded with libqrencode
 * (ECC M), written to a PNG, decoded by libzbar to the same text; the packed
 * bits the page draws match the module matrix; bad images get clear errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/qr.h"
#include "helpers/qr_scan.h"
#include "qrlogin/protocol.h"
#include "test.h"

static char dir[] = "/tmp/qrl-test-qr-XXXXXX";

/* A path in this run's temporary directory (made on first use). */
static void path_in(const char *name, char *out, size_t n) {
  if (strstr(dir, "XXXXXX") && !mkdtemp(dir)) perror("mkdtemp");
  snprintf(out, n, "%s/%s", dir, name);
}

/* A frame payload as the server makes them: random id, an HMAC-sized code. */
static int fresh_payload(char out[QRL_QR_PAYLOAD_MAX + 1]) {
  qrl_qr_payload p;
  uint8_t code[QRL_FRAME_CODE_BYTES];
  if (qrl_random_token(QRL_TOKEN_BYTES, p.id, sizeof(p.id)) ||
      qrl_random(code, sizeof(code)) ||
      qrl_b64url_encode(code, sizeof(code), p.code, sizeof(p.code)) != QRL_FRAME_CODE_B64LEN)
    return -1;
  p.frame = code[0];
  return qrl_qr_payload_format(&p, out, QRL_QR_PAYLOAD_MAX + 1) ? -1 : 0;
}

/* Twenty random payloads, each encoded, written and read back by zbar. */
TEST(encode_png_zbar_roundtrip) {
  for (int i = 0; i < 20; i++) {
    char payload[QRL_QR_PAYLOAD_MAX + 1], back[256], png[300];
    qrl_qr qr;
    ASSERT_EQ_INT(fresh_payload(payload), 0);
    ASSERT_ERR(qrl_qr_encode(payload, strlen(payload), &qr), QRL_OK);
    ASSERT_TRUE(qr.version <= 4); /* <= 50 bytes, 8-bit mode, ECC M */
    ASSERT_TRUE(qr.width <= 33);
    path_in("rt.png", png, sizeof(png));
    ASSERT_ERR(qrl_qr_write_png(&qr, i % 2 ? 3 : 8, 4, png), QRL_OK);
    qrl_qr_free(&qr);
    ASSERT_ERR(qrl_qr_scan_png(png, back, sizeof(back)), QRL_OK);
    ASSERT_EQ_STR(back, payload);
  }
  return 0;
}

/* The page's bits: row-major, MSB first, exactly width*width of them. */
TEST(packed_bits_match_the_modules) {
  char payload[QRL_QR_PAYLOAD_MAX + 1], bits[512];
  uint8_t packed[256];
  qrl_qr qr;
  long n;
  int dark = 0;
  ASSERT_EQ_INT(fresh_payload(payload), 0);
  ASSERT_ERR(qrl_qr_encode(payload, strlen(payload), &qr), QRL_OK);
  ASSERT_ERR(qrl_qr_bits_b64(&qr, bits, sizeof(bits)), QRL_OK);
  n = qrl_b64url_decode(bits, strlen(bits), packed, sizeof(packed));
  ASSERT_EQ_INT(n, (qr.width * qr.width + 7) / 8);
  for (int i = 0; i < qr.width * qr.width; i++) {
    int bit = (packed[i / 8] >> (7 - i % 8)) & 1;
    ASSERT_EQ_INT(bit, qr.modules[i]);
    dark += bit;
  }
  /* Finder pattern corners: the top-left 7x7 has a dark border. */
  for (int k = 0; k < 7; k++) {
    ASSERT_EQ_INT(qr.modules[k], 1);
    ASSERT_EQ_INT(qr.modules[k * qr.width], 1);
  }
  ASSERT_TRUE(dark > qr.width * qr.width / 4 && dark < qr.width * qr.width * 3 / 4);
  ASSERT_ERR(qrl_qr_bits_b64(&qr, bits, 10), QRL_NOMEM);
  qrl_qr_free(&qr);
  return 0;
}

TEST(bad_inputs_get_clear_errors) {
  char back[256], png[300], big[8000];
  qrl_qr qr;
  FILE *f;
  /* Not a PNG, a missing file, a PNG without a QR code. */
  path_in("text.png", png, sizeof(png));
  f = fopen(png, "w");
  ASSERT_TRUE(f != NULL);
  fputs("this is not an image", f);
  fclose(f);
  ASSERT_ERR(qrl_qr_scan_png(png, back, sizeof(back)), QRL_IO);
  path_in("missing.png", png, sizeof(png));
  ASSERT_ERR(qrl_qr_scan_png(png, back, sizeof(back)), QRL_IO);
  {
    qrl_qr blank = {.version = 1, .width = 21, .modules = calloc(21 * 21, 1)};
    ASSERT_TRUE(blank.modules != NULL);
    path_in("blank.png", png, sizeof(png));
    ASSERT_ERR(qrl_qr_write_png(&blank, 4, 4, png), QRL_OK);
    free(blank.modules);
    ASSERT_ERR(qrl_qr_scan_png(png, back, sizeof(back)), QRL_BAD_QR);
  }
  /* Text longer than the caller's buffer. */
  {
    char payload[QRL_QR_PAYLOAD_MAX + 1];
    ASSERT_EQ_INT(fresh_payload(payload), 0);
    ASSERT_ERR(qrl_qr_encode(payload, strlen(payload), &qr), QRL_OK);
    path_in("short.png", png, sizeof(png));
    ASSERT_ERR(qrl_qr_write_png(&qr, 4, 4, png), QRL_OK);
    qrl_qr_free(&qr);
    ASSERT_ERR(qrl_qr_scan_png(png, back, 10), QRL_NOMEM);
  }
  /* More than a QR code can hold. */
  memset(big, 'A', sizeof(big));
  ASSERT_ERR(qrl_qr_encode(big, sizeof(big), &qr), QRL_INVAL);
  /* A write to a directory that does not exist. */
  {
    char payload[QRL_QR_PAYLOAD_MAX + 1];
    ASSERT_EQ_INT(fresh_payload(payload), 0);
    ASSERT_ERR(qrl_qr_encode(payload, strlen(payload), &qr), QRL_OK);
    ASSERT_ERR(qrl_qr_write_png(&qr, 4, 4, "/nonexistent-dir/x.png"), QRL_IO);
    ASSERT_ERR(qrl_qr_write_png(&qr, 0, 4, png), QRL_INVAL);
    qrl_qr_free(&qr);
  }
  return 0;
}

static int cleanup(void) {
  static const char *const files[] = {"rt.png", "text.png", "blank.png", "short.png"};
  char p[300];
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    path_in(files[i], p, sizeof(p));
    unlink(p);
  }
  return rmdir(dir);
}

/* Last: removes the directory (and fails if a test left a stray file). */
TEST(cleanup_temp_dir) {
  if (strstr(dir, "XXXXXX")) return 0;
  ASSERT_EQ_INT(cleanup(), 0);
  return 0;
}

TEST_MAIN(encode_png_zbar_roundtrip, packed_bits_match_the_modules,
          bad_inputs_get_clear_errors, cleanup_temp_dir)
