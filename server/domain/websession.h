/*
 * websession.h - the browser's side of a login, in SQLite: the one-time
 * completion code exchanged for the session cookie's token, sessions opened
 * directly by the SMS-code paths, resolving and ending a session, and the
 * citizen's recent web logins with "Không phải tôi".
 *
 * Tokens and codes are stored as SHA-256, never as they are. Every change is
 * one transaction with its audit row (open_web_session joins its caller's).
 *
 * Idle limit: besides its lifetime, a session ends when unused for
 * pol->web_idle_secs (pol->kiosk_idle_secs for a kiosk's, method
 * "qr_kiosk" or "otp_kiosk"). Every use (qrl_acct_web_session) checks it against the
 * recorded last use, exactly: unused for the limit or longer and the session
 * is revoked then and there (audited) and refused. A use is recorded only
 * when the record is qrl_web_touch_secs() old or more - one write a minute
 * at most per session, not one per request - so the record may lag the last
 * request by less than that step, and a session can end up to one step
 * before the limit since its very last request, never after it.
 * Not here: the phone's side - app sessions, the permission, completing a QR
 * login (accounts.h).
 */
#ifndef QRLOGIN_WEBSESSION_H
#define QRLOGIN_WEBSESSION_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "domain/identity.h"
#include "domain/policy.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"

/* Exchanges a completion code and its browser binding secret for a web
 * session token (a new random token, distinct from the code). The code works
 * once, within pol->code_secs. Returns QRL_OK (token written, *out filled) or
 * QRL_CODE_INVALID. Audited. */
qrl_err qrl_acct_exchange_code(qrl_db *db, const qrl_acct_policy *pol,
                               const char *code, const char *binding,
                               const qrl_req_ctx *rc,
                               char token[QRL_SESSION_B64LEN + 1],
                               qrl_web_session *out);

/* Opens a web session for a citizen (citizen_id) or a portal account
 * (portal_account != 0) directly (the OTP paths, where the browser itself
 * proved the login); writes the new token. A kiosk's method gets the
 * kiosk's lifetime. Call inside the caller's
 * transaction. Returns QRL_OK, QRL_CRYPTO or QRL_DB. */
qrl_err qrl_acct_open_web_session(qrl_db *db, const qrl_acct_policy *pol,
                                  const char *citizen_id, int64_t portal_account,
                                  const char *method, const qrl_req_ctx *rc,
                                  char token[QRL_SESSION_B64LEN + 1]);

/* One of a citizen's recent web logins, as the phone lists them. */
typedef struct qrl_web_login {
  int64_t id;
  int64_t at;        /* when the browser got its session */
  char ip[48];
  char user_agent[160];
  char method[16];
  int active;        /* not revoked, not expired */
} qrl_web_login;

/* The citizen's web logins of the last 30 days, newest first, at most cap;
 * active means usable now (not revoked, not expired, not idle past pol's
 * limit). Fast. */
qrl_err qrl_acct_web_logins(qrl_db *db, const qrl_acct_policy *pol, const char *citizen_id,
                            int64_t now, qrl_web_login *out, size_t cap, size_t *n);

/* "Không phải tôi": ends web session id of citizen_id at once. QRL_OK,
 * QRL_NOT_FOUND (not theirs, or already ended). Audited. */
qrl_err qrl_acct_revoke_web_login(qrl_db *db, const char *citizen_id, int64_t id,
                                  const qrl_req_ctx *rc);

/* 1 if method is a kiosk's ("qr_kiosk": the QR on /kiosk.html; "otp_kiosk":
 * ID + password + SMS code there): a shared machine's session, short and
 * ended early when unused. */
int qrl_web_method_kiosk(const char *method);

/* The idle limit, in seconds, of a web session opened by method (a kiosk's:
 * pol->kiosk_idle_secs; any other: pol->web_idle_secs). */
int64_t qrl_web_idle_secs(const qrl_acct_policy *pol, const char *method);

/* How old the record of a session's last use may grow before a use writes
 * it again, for an idle limit of idle_secs: a twentieth of it, at least 1 s
 * and at most 60 s. */
int64_t qrl_web_touch_secs(int64_t idle_secs);

/* Resolves a web session token (a citizen's or a portal account's) for a
 * request at rc->now, and counts as a use of it: a session unused for its
 * idle limit is revoked (audited "web_session_revoked", detail "idle ...")
 * and refused; a live one has its last use recorded when due (see above).
 * Returns QRL_OK (fills *out), QRL_NOT_AUTHENTICATED (unknown, revoked,
 * expired or idle), QRL_CRYPTO or QRL_DB. */
qrl_err qrl_acct_web_session(qrl_db *db, const qrl_acct_policy *pol,
                             const char *token, const qrl_req_ctx *rc,
                             qrl_web_session *out);

/* Finds the live session of token at now without counting it as a use (a
 * page watching for its session's end is not the citizen using it): writes
 * its row id to *id. QRL_OK, QRL_NOT_AUTHENTICATED (unknown, revoked,
 * expired or idle past its limit), QRL_CRYPTO or QRL_DB. Nothing written. */
qrl_err qrl_acct_web_session_peek(qrl_db *db, const qrl_acct_policy *pol, const char *token,
                                  int64_t now, int64_t *id);

/* Ends a web session server-side (one past its idle limit too). Unknown
 * tokens are not an error. Audited. */
qrl_err qrl_acct_web_logout(qrl_db *db, const char *token, const qrl_req_ctx *rc);

#endif /* QRLOGIN_WEBSESSION_H */
