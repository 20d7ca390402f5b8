/*
 * protocol.c - the pure functions of the wire contract: QR payload format and
 * parse, the canonical signed string, ID and passcode shapes, and the
 * simulator's exit code for each error. No I/O, no allocation.
 */
#include "qrlogin/protocol.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int b64url_char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static int token_ok(const char *s, size_t len) {
  if (len != QRL_TOKEN_B64LEN) return 0;
  for (size_t i = 0; i < len; i++)
    if (!b64url_char(s[i])) return 0;
  return 1;
}

static int code_ok(const char *s, size_t len) {
  if (len != QRL_FRAME_CODE_B64LEN) return 0;
  for (size_t i = 0; i < len; i++)
    if (!b64url_char(s[i])) return 0;
  return 1;
}

qrl_err qrl_qr_payload_format(const qrl_qr_payload *p, char *out, size_t outlen) {
  if (!p || !out || outlen < QRL_QR_PAYLOAD_MAX + 1) return QRL_INVAL;
  if (!token_ok(p->id, strlen(p->id)) || !code_ok(p->code, strlen(p->code)) ||
      p->frame < 0 || p->frame > QRL_FRAME_MAX)
    return QRL_INVAL;
  snprintf(out, outlen, "%s%s.%" PRId64 ".%s", QRL_QR_PREFIX, p->id, p->frame, p->code);
  return QRL_OK;
}

size_t qrl_frame_message(const qrl_qr_payload *p, char *out, size_t outlen) {
  char payload[QRL_QR_PAYLOAD_MAX + 1];
  int n;
  /* Every field is base64url or digits: nothing to escape. */
  if (outlen < QRL_FRAME_MSG_MAX || qrl_qr_payload_format(p, payload, sizeof(payload)))
    return 0;
  n = snprintf(out, outlen,
               "{\"type\":\"" QRL_MSG_FRAME "\",\"id\":\"%s\",\"qr\":{\"payload\":\"%s\","
               "\"frame\":%" PRId64 "}}",
               p->id, payload, p->frame);
  return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

qrl_err qrl_qr_payload_parse(const char *text, size_t len, qrl_qr_payload *out) {
  const size_t plen = sizeof(QRL_QR_PREFIX) - 1;
  const char *id, *num, *code;
  size_t nlen;
  int64_t frame = 0;

  if (!text || len < plen + QRL_TOKEN_B64LEN + 3 + QRL_FRAME_CODE_B64LEN ||
      len > QRL_QR_PAYLOAD_MAX)
    return QRL_BAD_QR;
  if (memcmp(text, QRL_QR_PREFIX, plen) != 0) return QRL_BAD_QR;
  id = text + plen;
  if (!token_ok(id, QRL_TOKEN_B64LEN) || id[QRL_TOKEN_B64LEN] != '.') return QRL_BAD_QR;
  num = id + QRL_TOKEN_B64LEN + 1;
  code = text + len - QRL_FRAME_CODE_B64LEN;
  if (code[-1] != '.' || !code_ok(code, QRL_FRAME_CODE_B64LEN)) return QRL_BAD_QR;
  nlen = (size_t)(code - 1 - num);
  if (nlen < 1 || nlen > 6 || (nlen > 1 && num[0] == '0')) return QRL_BAD_QR;
  for (size_t i = 0; i < nlen; i++) {
    if (num[i] < '0' || num[i] > '9') return QRL_BAD_QR;
    frame = frame * 10 + (num[i] - '0');
  }
  memcpy(out->id, id, QRL_TOKEN_B64LEN);
  out->id[QRL_TOKEN_B64LEN] = '\0';
  out->frame = frame;
  memcpy(out->code, code, QRL_FRAME_CODE_B64LEN);
  out->code[QRL_FRAME_CODE_B64LEN] = '\0';
  return QRL_OK;
}

static int field_ok(const char *s) { return s && *s && !strchr(s, '\n'); }

qrl_err qrl_sign_string(const qrl_qr_payload *qr, const char *origin,
                        const char *citizen_id, int number, int64_t ts,
                        qrl_decision decision, char *out, size_t outlen, size_t *len) {
  int n;

  if (!qr || !field_ok(qr->id) || !field_ok(qr->code) || !field_ok(origin) ||
      !field_ok(citizen_id) || !out || !len || number < 0 || number > 99)
    return QRL_INVAL;
  n = snprintf(out, outlen,
               "qrlogin.confirm.v2\n%s\n%" PRId64 "\n%s\n%s\n%s\n%d\n%" PRId64 "\n%s",
               qr->id, qr->frame, qr->code, origin, citizen_id, number, ts,
               decision == QRL_DECISION_CONFIRM ? "confirm" : "decline");
  if (n < 0 || (size_t)n >= outlen) return QRL_NOMEM;
  *len = (size_t)n;
  return QRL_OK;
}

/* The 63 province codes of the 12-digit personal ID (Thông tư 07/2016/TT-BCA,
 * Phụ lục I): 001 Hà Nội ... 096 Cà Mau. Codes in between are unassigned. */
static const unsigned char provinces[] = {
    1,  2,  4,  6,  8,  10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25,
    26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48,
    49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75,
    77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96};

qrl_err qrl_citizen_id_check(const char *s, size_t len) {
  int province;

  /* 3 digits province, 1 digit century and sex, 2 digits year of birth,
   * 6 digits serial: all digits; only the province code has holes. */
  if (!s || len != QRL_CITIZEN_ID_LEN) return QRL_INVALID_ID;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return QRL_INVALID_ID;
  province = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
  for (size_t i = 0; i < sizeof(provinces); i++)
    if (provinces[i] == province) return QRL_OK;
  return QRL_BAD_PROVINCE;
}

int qrl_citizen_id_valid(const char *s, size_t len) {
  return qrl_citizen_id_check(s, len) == QRL_OK;
}

int qrl_passcode_valid(const char *s, size_t len) {
  if (!s || len != QRL_PASSCODE_LEN) return 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

int qrl_sim_exit_for(qrl_err err) {
  switch (err) {
  case QRL_OK: return QRL_EXIT_OK;
  case QRL_INVAL: return QRL_EXIT_USAGE;
  case QRL_DECLINED_BY_USER:
  case QRL_CHALLENGE_DECLINED: return QRL_EXIT_DECLINED;
  case QRL_CHALLENGE_EXPIRED:
  case QRL_CHALLENGE_USED:
  case QRL_CHALLENGE_CANCELLED:
  case QRL_CHALLENGE_UNKNOWN:
  case QRL_CHALLENGE_OTHER_ACCOUNT:
  case QRL_CHALLENGE_NOT_SCANNED:
  case QRL_FRAME_STALE: /* a photo of an old frame: scan the screen again */
  case QRL_BAD_QR: return QRL_EXIT_EXPIRED; /* not a (live) login QR */
  case QRL_NOT_PERMITTED:
  case QRL_LEVEL_TOO_LOW: return QRL_EXIT_NOT_PERMITTED;
  case QRL_WRONG_PASSCODE: return QRL_EXIT_WRONG_PASSCODE;
  case QRL_LOCKED: return QRL_EXIT_LOCKED;
  case QRL_SESSION_INVALID:
  case QRL_WRONG_DEVICE:
  case QRL_NOT_LOGGED_IN: return QRL_EXIT_NOT_LOGGED_IN;
  case QRL_NETWORK:
  case QRL_PROTOCOL:
  case QRL_INTERNAL:
  case QRL_NOMEM:
  case QRL_DB:
  case QRL_CRYPTO:
  case QRL_UNAVAILABLE:
  case QRL_IO: return QRL_EXIT_NETWORK;
  case QRL_BAD_CREDENTIALS:
  case QRL_INVALID_ID: return QRL_EXIT_BAD_CREDENTIALS;
  default: return QRL_EXIT_REFUSED;
  }
}
