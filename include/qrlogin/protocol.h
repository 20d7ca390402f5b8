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

/* The QR payload prefix (version 2: animated frames; see qrl_qr_payload). */
#define QRL_QR_PREFIX "QRL2."

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
#define QRL_MSG_FRAME "frame"                 /* server -> browser: next QR frame */
#define QRL_MSG_SCANNED "scanned"             /* server -> browser */
#define QRL_MSG_HELD "held"                   /* server -> browser */
#define QRL_MSG_RECONNECT "reconnect"         /* server -> browser: this node is
                                                 stopping; connect again (to
                                                 another node) for a new code */
#define QRL_MSG_DECLINED "declined"           /* server -> browser, with a reason (below) */
#define QRL_MSG_EXPIRED "expired"             /* server -> browser */
#define QRL_MSG_COMPLETED "completed"         /* server -> browser */
#define QRL_MSG_ERROR "error"                 /* server -> either */
/* The portal page's socket (path /portal): no code, only news of its own
 * session. */
#define QRL_MSG_WATCHING "watching"           /* server -> portal page: session found */
#define QRL_MSG_SESSION_ENDED "session_ended" /* server -> portal page: it was ended
                                                 ("Không phải tôi"), or is not live */

/* The `reason` of a `declined` push: why the challenge ended, so that the
 * page can say what happened. Stable names; a page that does not know a
 * reason says "declined on the phone". */
#define QRL_DECLINE_CITIZEN "citizen"           /* the citizen declined on the phone */
#define QRL_DECLINE_WRONG_NUMBER "wrong_number" /* the phone picked another number than
                                                   the page showed: fail closed */

/* Message types, phone protocol (request "x" is answered by "x_ok" or "error"). */
#define QRL_MSG_LOGIN "login"
#define QRL_MSG_STATUS "status"
#define QRL_MSG_SCAN "scan"
#define QRL_MSG_SET_PERMISSION "set_permission"
#define QRL_MSG_CONFIRM "confirm"
#define QRL_MSG_DECLINE "decline"
#define QRL_MSG_LOGOUT "logout" /* server -> phone push; also phone -> server */
#define QRL_MSG_SMS_INBOX "sms_inbox" /* demo mobile network: read + subscribe */
#define QRL_MSG_WEB_LOGINS "web_logins"             /* recent web logins */
#define QRL_MSG_REVOKE_WEB_LOGIN "revoke_web_login" /* "Không phải tôi" */
#define QRL_MSG_SMS "sms"             /* server -> phone push (demo) */

/* The permission name for "Đăng nhập trên website". */
#define QRL_PERM_WEB_LOGIN "web_login"

/* The QR code is animated: every few seconds the page shows a new frame
 *
 *   QRL2.<challenge id>.<frame number>.<frame code>
 *
 * where the frame code is HMAC-SHA256(challenge secret, "qrlogin.frame.v2\n"
 * id "\n" frame), truncated to 12 bytes, base64url (16 chars). The secret
 * never leaves the server; a frame older than the freshness window is
 * refused at scan (frame_stale), so a photographed or relayed QR dies within
 * seconds. At most QRL_QR_PAYLOAD_MAX bytes. */
#define QRL_FRAME_CODE_BYTES 12
#define QRL_FRAME_CODE_B64LEN 16
#define QRL_QR_PAYLOAD_MAX (5 + QRL_TOKEN_B64LEN + 1 + 6 + 1 + QRL_FRAME_CODE_B64LEN)
#define QRL_FRAME_MAX 999999

/* A parsed QR payload (one frame). Strings are NUL-terminated base64url. */
typedef struct qrl_qr_payload {
  char id[QRL_TOKEN_B64LEN + 1];
  int64_t frame; /* 0..QRL_FRAME_MAX */
  char code[QRL_FRAME_CODE_B64LEN + 1];
} qrl_qr_payload;

/* Writes the payload of p into out (outlen >= QRL_QR_PAYLOAD_MAX + 1),
 * NUL-terminated. Returns QRL_OK, or QRL_INVAL if a field is malformed. */
qrl_err qrl_qr_payload_format(const qrl_qr_payload *p, char *out, size_t outlen);

/* The longest frame message qrl_frame_message() writes, with its NUL. */
#define QRL_FRAME_MSG_MAX (64 + QRL_TOKEN_B64LEN + QRL_QR_PAYLOAD_MAX)

/* Writes the browser's frame message for p into out (outlen >=
 * QRL_FRAME_MSG_MAX): {"type":"frame","id":ID,"qr":{"payload":P,"frame":N}}.
 * The page draws the QR from the payload. Returns its length, or 0 if a
 * field of p is malformed. */
size_t qrl_frame_message(const qrl_qr_payload *p, char *out, size_t outlen);

/* Parses text (len bytes, need not be NUL-terminated) as a QR payload into
 * *out. Nothing else is accepted (no whitespace, no leading zeros in the
 * frame number). Returns QRL_OK or QRL_BAD_QR. */
qrl_err qrl_qr_payload_parse(const char *text, size_t len, qrl_qr_payload *out);

/* The decisions a phone can sign. */
typedef enum qrl_decision { QRL_DECISION_CONFIRM, QRL_DECISION_DECLINE } qrl_decision;

/* Number matching: after a scan the browser shows a 2-digit number; the
 * phone offers it among QRL_MATCH_CHOICES and the user picks it. The pick is
 * signed. A decline signs 0. */
#define QRL_MATCH_CHOICES 3

/* Builds the canonical byte string that the device key signs (ECDSA P-256,
 * SHA-256) to confirm or decline a challenge:
 *
 *   "qrlogin.confirm.v2\n" id "\n" frame "\n" frame code "\n" origin "\n"
 *   citizen_id "\n" number "\n" ts "\n" ("confirm" | "decline")
 *
 * (the frame that was scanned, decimal numbers). It binds the decision to
 * this QR frame, this portal, this account, the number the user saw on the
 * screen and this time. Writes at most outlen bytes (NUL-terminated) to out
 * and the length without the NUL to *len. Returns QRL_OK, QRL_INVAL if a
 * field contains a newline or is empty, or QRL_NOMEM if out is too small. */
qrl_err qrl_sign_string(const qrl_qr_payload *qr, const char *origin,
                        const char *citizen_id, int number, int64_t ts,
                        qrl_decision decision, char *out, size_t outlen, size_t *len);

/* Returns 1 if s (len bytes) is a well-formed citizen ID (số định danh cá
 * nhân): 12 digits - one of the 63 province codes (001 Hà Nội ... 096 Cà
 * Mau), the century/sex digit, the 2-digit birth year, a 6-digit serial;
 * else 0. */
int qrl_citizen_id_valid(const char *s, size_t len);

/* What is wrong with s (len bytes) as a citizen ID, for the citizen:
 * QRL_OK if it is well-formed (qrl_citizen_id_valid), QRL_INVALID_ID if it
 * is not 12 digits, QRL_BAD_PROVINCE if its first 3 digits are no province
 * code (000, 003, 097...). */
qrl_err qrl_citizen_id_check(const char *s, size_t len);

/* Returns 1 if s (len bytes) is exactly 6 ASCII digits, else 0. */
int qrl_passcode_valid(const char *s, size_t len);

/* The vneid-sim process exit codes (documented in docs/protocol.md). */
enum qrl_sim_exit {
  QRL_EXIT_OK = 0,
  QRL_EXIT_USAGE = 2,
  QRL_EXIT_DECLINED = 3,
  QRL_EXIT_EXPIRED = 4,       /* challenge expired, used, cancelled or unknown;
                                 a stale frame; text that is no login QR */
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
