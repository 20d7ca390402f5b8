/*
 * qrlogin/protocol.h - the wire contract shared by qrlogind, vneid-sim and
 * the tests: websocket subprotocol names, message type names, the QR payload
 * format, and the canonical byte string a phone signs to confirm a login.
 *
 * docs/protocol.md describes every message; this header gives the constants
 * and the two pure functions both ends must agree on byte for byte.
 * It does not know about sockets, JSON or OpenSSL. Depends on libc only.
 */
#ifndef QRLOGIN_PROTOCOL_H
#define QRLOGIN_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

#define QRL_SUBPROTO_BROWSER "qrlogin.browser.v1"
#define QRL_SUBPROTO_PHONE "qrlogin.phone.v1"

/* Largest websocket message either side accepts; larger closes with 1009. */
#define QRL_MAX_MESSAGE 4096

/* Random identifiers: 16 bytes (128 bits) each, base64url without padding. */
#define QRL_TOKEN_BYTES 16
#define QRL_TOKEN_B64LEN 22
/* Session tokens (app and web) are 32 bytes (256 bits): 43 base64url chars. */
#define QRL_SESSION_BYTES 32
#define QRL_SESSION_B64LEN 43

/* QR payload: "QRL1." <challenge id, 22> "." <challenge secret, 22>: 50 bytes. */
#define QRL_QR_PREFIX "QRL1."
#define QRL_QR_PAYLOAD_LEN (5 + QRL_TOKEN_B64LEN + 1 + QRL_TOKEN_B64LEN)

/* A citizen's personal ID number (số định danh cá nhân): 12 ASCII digits. */
#define QRL_CITIZEN_ID_LEN 12
/* A passcode (mã bảo vệ): 6 ASCII digits. */
#define QRL_PASSCODE_LEN 6

/* P-256 public key as an uncompressed point: 65 bytes, 87 base64url chars. */
#define QRL_PUBKEY_BYTES 65

/* Seconds a signed confirm/decline timestamp may differ from server time. */
#define QRL_SIGN_SKEW 300

/* Message types, browser protocol. */
#define QRL_MSG_NEW_CHALLENGE "new_challenge" /* browser -> server */
#define QRL_MSG_CHALLENGE "challenge"         /* server -> browser */
#define QRL_MSG_SCANNED "scanned"             /* server -> browser */
#define QRL_MSG_DECLINED "declined"           /* server -> browser */
#define QRL_MSG_EXPIRED "expired"             /* server -> browser */
#define QRL_MSG_COMPLETED "completed"         /* server -> browser */
#define QRL_MSG_ERROR "error"                 /* server -> either */

/* Message types, phone protocol (request "x" is answered by "x_ok" or "error"). */
#define QRL_MSG_LOGIN "login"
#define QRL_MSG_STATUS "status"
#define QRL_MSG_SCAN "scan"
#define QRL_MSG_SET_PERMISSION "set_permission"
#define QRL_MSG_CONFIRM "confirm"
#define QRL_MSG_DECLINE "decline"
#define QRL_MSG_LOGOUT "logout" /* server -> phone push; also phone -> server */
#define QRL_MSG_SMS_INBOX "sms_inbox" /* demo mobile network: read + subscribe */
#define QRL_MSG_SMS "sms"             /* server -> phone push (demo) */

/* The permission name for "Đăng nhập trên website". */
#define QRL_PERM_WEB_LOGIN "web_login"

/* A parsed QR payload. Both strings are NUL-terminated base64url. */
typedef struct qrl_qr_payload {
  char id[QRL_TOKEN_B64LEN + 1];
  char secret[QRL_TOKEN_B64LEN + 1];
} qrl_qr_payload;

/* Writes the QR payload for id and secret (each QRL_TOKEN_B64LEN base64url
 * chars) into out, NUL-terminated. out must hold QRL_QR_PAYLOAD_LEN + 1 bytes.
 * Returns QRL_OK, or QRL_INVAL if id or secret is malformed. */
qrl_err qrl_qr_payload_format(const char *id, const char *secret, char *out,
                              size_t outlen);

/* Parses text (len bytes, need not be NUL-terminated) as a QR payload into
 * *out. Surrounding whitespace is not accepted. Returns QRL_OK or QRL_BAD_QR. */
qrl_err qrl_qr_payload_parse(const char *text, size_t len, qrl_qr_payload *out);

/* The decisions a phone can sign. */
typedef enum qrl_decision { QRL_DECISION_CONFIRM, QRL_DECISION_DECLINE } qrl_decision;

/* Builds the canonical byte string that the device key signs (ECDSA P-256,
 * SHA-256) to confirm or decline a challenge:
 *
 *   "qrlogin.confirm.v1\n" id "\n" secret "\n" origin "\n" citizen_id "\n"
 *   ts (decimal) "\n" ("confirm" | "decline")
 *
 * Writes at most outlen bytes (NUL-terminated) to out and stores the length
 * without the NUL in *len. Returns QRL_OK, QRL_INVAL if a field contains a
 * newline or is empty, or QRL_NOMEM if out is too small. */
qrl_err qrl_sign_string(const char *id, const char *secret, const char *origin,
                        const char *citizen_id, int64_t ts, qrl_decision decision,
                        char *out, size_t outlen, size_t *len);

/* Returns 1 if s (len bytes) is a well-formed citizen ID (số định danh cá
 * nhân): 12 digits - one of the 63 province codes (001 Hà Nội ... 096 Cà
 * Mau), the century/sex digit, the 2-digit birth year, a 6-digit serial;
 * else 0. */
int qrl_citizen_id_valid(const char *s, size_t len);

/* Returns 1 if s (len bytes) is exactly 6 ASCII digits, else 0. */
int qrl_passcode_valid(const char *s, size_t len);

/* The vneid-sim process exit codes (documented in docs/protocol.md). */
enum qrl_sim_exit {
  QRL_EXIT_OK = 0,
  QRL_EXIT_USAGE = 2,
  QRL_EXIT_DECLINED = 3,
  QRL_EXIT_EXPIRED = 4,       /* challenge expired, used, cancelled or unknown */
  QRL_EXIT_NOT_PERMITTED = 5, /* web-login permission off, or level too low */
  QRL_EXIT_WRONG_PASSCODE = 6,
  QRL_EXIT_LOCKED = 7,
  QRL_EXIT_NOT_LOGGED_IN = 8, /* no app session, or it was revoked */
  QRL_EXIT_NETWORK = 9,       /* network, protocol or server error */
  QRL_EXIT_BAD_CREDENTIALS = 10,
  QRL_EXIT_REFUSED = 11 /* any other refusal by the server */
};

/* Maps a server error to the simulator exit code that reports it. */
int qrl_sim_exit_for(qrl_err err);

#endif /* QRLOGIN_PROTOCOL_H */
