/*
 * fuzz_json_request.c - a websocket message of either subprotocol, or an
 * HTTP JSON body, as it enters qrlogind: parsed (cJSON, size-capped), its
 * "type" read, then every field the handlers read validated the way they
 * do it (jsonio.h) and handed to the shape checks (QR payload, citizen ID,
 * passcode, base64url). Nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/b64.h"
#include "glue/jsonio.h"
#include "qrlogin/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const struct {
    const char *name;
    size_t max;
  } strs[] = {{"session", QRL_SESSION_B64LEN}, {"qr", 256},      {"id", 32},
              {"password", 128},               {"device_key", 128}, {"device_name", 64},
              {"permission", 32},              {"passcode", 16}, {"challenge", QRL_TOKEN_B64LEN},
              {"sig", 128},                    {"code", QRL_SESSION_B64LEN},
              {"binding", QRL_TOKEN_B64LEN},   {"attempt", QRL_TOKEN_B64LEN},
              {"otp", 16},                     {"username", 64}, {"citizen_id", 16},
              {"phone", 15}};
  cJSON *msg = NULL;
  const char *type = NULL, *v;
  long long n;
  int b;
  uint8_t buf[256];
  qrl_qr_payload qp;

  if (size > QRL_MAX_MESSAGE) return 0;
  if (qrl_json_parse_request((const char *)data, size, &msg, &type) != QRL_OK) return 0;
  if (!type) abort();
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
    if (qrl_json_str(msg, strs[i].name, strs[i].max, &v) != QRL_OK) continue;
    if (strlen(v) > strs[i].max) abort();
    qrl_qr_payload_parse(v, strlen(v), &qp);
    qrl_citizen_id_valid(v, strlen(v));
    qrl_passcode_valid(v, strlen(v));
    qrl_b64url_decode(v, strlen(v), buf, sizeof(buf));
  }
  qrl_json_str_opt(msg, "device_name", 64, &v);
  qrl_json_int(msg, "ts", 0, 4102444800.0, &n);
  qrl_json_int(msg, "number", 10, 99, &n);
  qrl_json_int(msg, "after", 0, 9007199254740991.0, &n);
  qrl_json_bool(msg, "value", &b);
  cJSON_Delete(msg);
  return 0;
}
