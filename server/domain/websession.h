/*
 * websession.h - the browser's side of a login, in SQLite: the one-time
 * completion code exchanged for the session cookie's token, sessions opened
 * directly by the SMS-code paths, resolving and ending a session, and the
 * citizen's recent web logins with "Không phải tôi".
 *
 * Tokens and codes are stored as SHA-256, never as they are. Every change is
 * one transaction with its audit row (open_web_session joins its caller's).
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
 * proved the login); writes the new token. Call inside the caller's
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

/* The citizen's web logins of the last 30 days, newest first, at most cap.
 * Fast. */
qrl_err qrl_acct_web_logins(qrl_db *db, const char *citizen_id, int64_t now,
                            qrl_web_login *out, size_t cap, size_t *n);

/* "Không phải tôi": ends web session id of citizen_id at once. QRL_OK,
 * QRL_NOT_FOUND (not theirs, or already ended). Audited. */
qrl_err qrl_acct_revoke_web_login(qrl_db *db, const char *citizen_id, int64_t id,
                                  const qrl_req_ctx *rc);

/* Resolves a web session token (a citizen's or a portal account's). Returns
 * QRL_OK or QRL_NOT_AUTHENTICATED. */
qrl_err qrl_acct_web_session(qrl_db *db, const qrl_acct_policy *pol,
                             const char *token, int64_t now,
                             qrl_web_session *out);

/* Ends a web session server-side. Unknown tokens are not an error. Audited. */
qrl_err qrl_acct_web_logout(qrl_db *db, const char *token, const qrl_req_ctx *rc);

#endif /* QRLOGIN_WEBSESSION_H */
