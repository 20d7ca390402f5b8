/*
 * accounts.h - citizens, devices, permissions and sessions in SQLite.
 *
 * The account store of qrlogind: one qrl_db is one SQLite connection to the
 * database file (WAL mode); every worker thread opens its own. Opening creates
 * the schema and migrates older versions (PRAGMA user_version). The functions
 * here are the account operations the login flow needs, each one transaction,
 * each audited: app login on a device (one device at a time), app-session
 * checks, the "Đăng nhập trên website" permission guarded by the passcode
 * (attempt-limited), completion of a web login (one-time code bound to the
 * browser, the phone logged out), the phone's logout. The browser's side -
 * the code-for-cookie exchange, web sessions - is websession.h.
 *
 * Secrets are never stored: passwords and passcodes as scrypt strings, tokens
 * and codes as SHA-256. Functions that verify a password or passcode are slow
 * by design (scrypt) and must run off the event-loop thread.
 *
 * Not here: challenges (memory, see challenge.h), sockets, JSON.
 * Depends on helpers (crypto, b64), protocol.h and SQLite.
 */
#ifndef QRLOGIN_ACCOUNTS_H
#define QRLOGIN_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "domain/identity.h"
#include "domain/policy.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"


/* What an app session token stands for. */
typedef struct qrl_app_auth {
  qrl_citizen citizen;
  int64_t device_id;
  int64_t device_since;                 /* when the device was registered */
  uint8_t device_pub[QRL_PUBKEY_BYTES]; /* the device's P-256 public point */
  uint8_t session_hash[32];             /* SHA-256 of the app session token */
  /* After a passcode check (qrl_acct_set_web_login, qrl_acct_check_passcode):
   * the tries left before the lock (QRL_WRONG_PASSCODE), and when the lock
   * ends, unix seconds (QRL_LOCKED); else 0. */
  int passcode_left;
  int64_t passcode_locked_until;
  /* Set by the caller, not read from the database: the phone proved the
   * passcode during the login this auth completes (a permission grant on
   * its socket since the challenge was made, or the confirm's proximity
   * step-up). qrl_acct_complete_web_login records it on the web session. */
  int step_up;
} qrl_app_auth;




/* Adds a citizen. Hashes password and passcode with pol->hash_cost_log2 (slow).
 * Returns QRL_OK, QRL_INVALID_ID, QRL_BAD_PASSCODE_FORMAT, QRL_INVAL (level not
 * 1 or 2, empty name or password), QRL_BAD_MESSAGE (ID already exists) or
 * QRL_DB. Nothing is written on failure. */
qrl_err qrl_db_add_citizen(qrl_db *db, const qrl_acct_policy *pol,
                           const char *id, const char *full_name, int level,
                           const char *phone, const char *password,
                           const char *passcode, int web_login, int64_t now);

/* Adds the demo citizens if they are absent (idempotent):
 * Nguyễn Văn An 001099012345 level 2, web-login off; Trần Thị Bình
 * 079199001234 level 1; both password MatKhau@2024, passcode 123456. */
qrl_err qrl_db_seed_demo(qrl_db *db, const qrl_acct_policy *pol, int64_t now);

/* Reads citizen id into *out. Returns QRL_OK or QRL_NOT_FOUND. */
qrl_err qrl_db_get_citizen(qrl_db *db, const char *id, qrl_citizen *out);


/* Checks a citizen's ID + password, spending the same work for an unknown ID
 * as for a wrong password. QRL_OK (fills *who), QRL_BAD_CREDENTIALS, QRL_DB.
 * The ID must already be well-formed. Slow (scrypt). Not audited. */
qrl_err qrl_acct_check_password(qrl_db *db, const qrl_acct_policy *pol,
                                const char *id, const char *password,
                                qrl_citizen *who);

/* App login on a device: checks the ID format, the password (the same time is
 * spent for an unknown ID as for a wrong password), and the public key; then
 * registers the device as the citizen's only device (revoking earlier devices
 * and their app sessions) and opens an app session. Writes the new session
 * token (QRL_SESSION_B64LEN chars + NUL) to token and the citizen to *who.
 * Returns QRL_OK, QRL_INVALID_ID, QRL_BAD_CREDENTIALS, QRL_BAD_DEVICE_KEY or
 * QRL_DB. Slow (scrypt). Audited. */
qrl_err qrl_acct_app_login(qrl_db *db, const qrl_acct_policy *pol,
                           const char *id, const char *password,
                           const uint8_t pub[QRL_PUBKEY_BYTES],
                           const char *device_name, const qrl_req_ctx *rc,
                           char token[QRL_SESSION_B64LEN + 1], qrl_citizen *who);

/* Resolves an app session token. Returns QRL_OK (fills *out),
 * QRL_SESSION_INVALID (unknown, expired or revoked) or QRL_WRONG_DEVICE (the
 * session's device is no longer the citizen's device). Fast. */
qrl_err qrl_acct_app_auth(qrl_db *db, const qrl_acct_policy *pol,
                          const char *token, int64_t now, qrl_app_auth *out);

/* Turns the web-login permission on or off for auth's citizen, after checking
 * the passcode: a locked account gets QRL_LOCKED (even with the right
 * passcode); a wrong one counts a failure and gets QRL_WRONG_PASSCODE, or
 * QRL_LOCKED when it reaches pol->passcode_max_failures (then locked for
 * pol->passcode_lock_secs); the right one resets the count. Malformed passcode:
 * QRL_BAD_PASSCODE_FORMAT (not counted). Slow (scrypt). Audited. On success
 * auth->citizen.web_login is updated. */
qrl_err qrl_acct_set_web_login(qrl_db *db, const qrl_acct_policy *pol,
                               qrl_app_auth *auth, int on, const char *passcode,
                               const qrl_req_ctx *rc);

/* The passcode alone, with the same counting and locks as above: the step-up
 * a risky confirm asks for. Audited ("step_up"). Slow (scrypt). */
qrl_err qrl_acct_check_passcode(qrl_db *db, const qrl_acct_policy *pol,
                                qrl_app_auth *auth, const char *passcode,
                                const qrl_req_ctx *rc);

/* Completes a QR web login for auth's citizen: creates a pending web session
 * holding a new one-time completion code (QRL_SESSION_B64LEN chars) bound to
 * SHA-256 of the browser binding secret, revokes the app session that confirmed
 * (the phone is logged out), and audits. Writes the code to code. before (may
 * be NULL; borrowed) is the audit row of the step that led here (the
 * confirm), written first in the same transaction - or on its own if the
 * transaction fails. */
qrl_err qrl_acct_complete_web_login(qrl_db *db, const qrl_acct_policy *pol,
                                    const qrl_app_auth *auth,
                                    const char *binding, const char *method,
                                    const qrl_req_ctx *rc, const qrl_audit_rec *before,
                                    char code[QRL_SESSION_B64LEN + 1]);

/* Ends an app session server-side (the phone's own logout). Audited. */
qrl_err qrl_acct_app_logout(qrl_db *db, const char *token, const qrl_req_ctx *rc);


#endif /* QRLOGIN_ACCOUNTS_H */
