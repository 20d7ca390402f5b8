/*
 * otp.h - the second login path: ID (or portal username) + password, then a
 * one-time code sent by SMS to the account's registered phone.
 *
 * An attempt is created when the password is right. The browser holds the
 * attempt token (128-bit, CSPRNG; only its SHA-256 is stored); the code is 6
 * digits from the CSPRNG, stored as HMAC-SHA256(pepper, token ":" code) so a
 * leaked database does not give the codes away (the pepper lives in the
 * server's memory: a restart voids pending codes, which live 5 minutes).
 * A code is good once, for its attempt only, until it expires; wrong codes are
 * counted and the 5th voids the attempt; a resend replaces the code, at most
 * once a minute and 5 times per attempt; a phone gets at most
 * phone_sends_per_hour codes an hour across attempts.
 * Per-IP and per-ID throttles of failed passwords sit in front, in the glue
 * (ratelimit.h), so that unknown IDs are throttled exactly like real ones.
 *
 * Functions run on worker threads. Depends on db.h, accounts.h, legacy.h.
 */
#ifndef QRLOGIN_OTP_H
#define QRLOGIN_OTP_H

#include <stdint.h>

#include "domain/accounts.h"
#include "domain/db.h"

#define QRL_OTP_DIGITS 6

typedef struct qrl_otp_policy {
  int ttl_secs;             /* code lifetime: 300 */
  int max_failures;         /* wrong codes before the attempt is void: 5 */
  int resend_secs;          /* least time between two sends: 60 */
  int max_sends;            /* sends per attempt: 5 */
  int attempt_secs;         /* an attempt (one password check) can be resent
                               within this long, never after: 1800 */
  int phone_sends_per_hour; /* codes per phone number per hour: 10 */
  int password_level;       /* level the ID + password path needs: 2 */
  int64_t cutover;          /* unix time after which legacy citizen
                               accounts cannot log in: 2024-07-01 00:00 +07 */
  uint8_t pepper[32];       /* HMAC key for stored codes (random per process) */
} qrl_otp_policy;

/* Production defaults with a fresh random pepper. QRL_OK or QRL_CRYPTO. */
qrl_err qrl_otp_policy_default(qrl_otp_policy *p);

/* What the caller needs after a send: the handle for the browser and what
 * to put in the SMS. Cleanse it after use (it holds the code). */
typedef struct qrl_otp_sent {
  char attempt[QRL_TOKEN_B64LEN + 1];
  char phone[16];
  char phone_masked[16];
  char code[QRL_OTP_DIGITS + 1];
  int expires_in;
  int resend_in;
  char citizen_id[QRL_CITIZEN_ID_LEN + 1]; /* audit: whose attempt */
  char username[65];
} qrl_otp_sent;

/* Returns 1 if pw has an acceptable length for a password: 8..20 characters
 * (UTF-8 code points; 80 bytes at most). */
int qrl_password_format_ok(const char *pw);

/* Starts a VNeID ID + password login: checks the ID format, the password
 * (the same work for an unknown ID), the level, that the account has a phone
 * and that the phone is under its hourly cap; then makes the attempt and its
 * code. QRL_OK, QRL_INVALID_ID, QRL_BAD_PASSWORD_FORMAT, QRL_BAD_CREDENTIALS,
 * QRL_LEVEL_TOO_LOW, QRL_NO_PHONE, QRL_RATE_LIMITED, QRL_DB. Slow (scrypt).
 * Audited ("otp_start"). */
qrl_err qrl_otp_start_citizen(qrl_db *db, const qrl_acct_policy *apol,
                              const qrl_otp_policy *opol, const char *id,
                              const char *password, const qrl_req_ctx *rc,
                              qrl_otp_sent *out);

/* Starts a portal-account login (organizations; legacy citizen accounts
 * before the cutover). QRL_OK, QRL_INVALID_USERNAME, QRL_BAD_PASSWORD_FORMAT,
 * QRL_BAD_CREDENTIALS, QRL_LEGACY_CLOSED (a citizen account after the
 * cutover; said only after the password was right), QRL_NO_PHONE,
 * QRL_RATE_LIMITED, QRL_DB. Slow. Audited ("otp_start"). */
qrl_err qrl_otp_start_portal(qrl_db *db, const qrl_acct_policy *apol,
                             const qrl_otp_policy *opol, const char *username,
                             const char *password, const qrl_req_ctx *rc,
                             qrl_otp_sent *out);

/* A new code for the attempt. QRL_OK, QRL_OTP_INVALID (unknown or used),
 * QRL_OTP_VOID, QRL_OTP_EXPIRED (the attempt is older than attempt_secs: the
 * password must be typed again), QRL_RATE_LIMITED (*retry_in set: too soon,
 * too many sends for the attempt or the phone). Audited ("otp_resend"). */
/* The SMS of the attempt's last code could not be sent: the attempt is void
 * (the citizen starts again once the gateway is back) and that send does not
 * count against the phone's hourly limit. Audited ("otp_sms", unavailable). */
qrl_err qrl_otp_undeliverable(qrl_db *db, const char *attempt, const qrl_req_ctx *rc);

qrl_err qrl_otp_resend(qrl_db *db, const qrl_otp_policy *opol, const char *attempt,
                       const qrl_req_ctx *rc, qrl_otp_sent *out, int64_t *retry_in);

/* Checks code for the attempt. On success opens the web session (method
 * "password_otp" or "portal_otp"), links legacy accounts for a citizen, spends
 * the attempt, writes the session token and fills *ws. Otherwise
 * QRL_OTP_WRONG (*left = wrong codes still allowed), QRL_OTP_VOID (this was
 * the last one, or it was void already), QRL_OTP_EXPIRED, QRL_OTP_INVALID
 * (unknown or used attempt), QRL_LEGACY_CLOSED (cutover passed meanwhile).
 * Audited ("otp_verify"). */
qrl_err qrl_otp_verify(qrl_db *db, const qrl_acct_policy *apol,
                       const qrl_otp_policy *opol, const char *attempt,
                       const char *code, const qrl_req_ctx *rc,
                       char token[QRL_SESSION_B64LEN + 1], qrl_web_session *ws,
                       int *left);

/* qrl_otp_verify() at a kiosk (the kiosk page's password path): a citizen's
 * session is opened with method "otp_kiosk" - the kiosk's lifetime and idle
 * limit. A portal account's is refused (QRL_FORBIDDEN, audited; the attempt
 * is left as it was): the kiosk offers only the citizen ID. */
qrl_err qrl_otp_verify_kiosk(qrl_db *db, const qrl_acct_policy *apol,
                             const qrl_otp_policy *opol, const char *attempt,
                             const char *code, const qrl_req_ctx *rc,
                             char token[QRL_SESSION_B64LEN + 1], qrl_web_session *ws,
                             int *left);

#endif /* QRLOGIN_OTP_H */
