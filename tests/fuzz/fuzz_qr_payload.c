/*
 * fuzz_qr_payload.c - the QR text a phone scans (any bytes an attacker can
 * put in a QR code): parse never crashes, and whatever it accepts formats
 * back to exactly the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qrlogin/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qrl_qr_payload p;
  char out[QRL_QR_PAYLOAD_MAX + 1];
  if (qrl_qr_payload_parse((const char *)data, size, &p) != QRL_OK) return 0;
  if (qrl_qr_payload_format(&p, out, sizeof(out)) != QRL_OK) abort();
  if (strlen(out) != size || memcmp(out, data, size) != 0) abort();
  return 0;
}
