/*
 * oidc_logout.h - OpenID Connect logout, in SQLite: which portals hold an ID
 * token of which web session, the durable outbox of back-channel logouts
 * (OpenID Connect Back-Channel Logout 1.0), the logout token itself, the
 * id_token_hint of RP-initiated logout, and the one-time tokens of the
 * "log out?" confirmation.
 *
 *   code issued (session_id kept) ─redeemed─► oidc_rp_sessions(session, portal, sid, sub)
 *   web session revoked (any path, any process: a trigger, same transaction)
 *        ─► oidc_bcl_outbox: one row per portal with a backchannel_logout_uri
 *   qrl_bcl_claim ─► (deliver: glue/bclogout.h) ─► qrl_bcl_settle:
 *        delivered ─► row deleted
 *        failed, attempts and time left ─► next_ms = now + backoff (retry)
 *        failed for good (QRL_BCL_MAX_ATTEMPTS, QRL_BCL_MAX_SECS after the
 *        session ended, or the portal gone) ─► row deleted
 *
 * The outbox lives in the database, not in a process: qrlogin-admin
 * revoking a session writes its rows, and a restarted qrlogind resumes the
 * retries where they were (attempts and next_ms are stored). A claim leases
 * its rows for QRL_BCL_LEASE_MS (next_ms moves ahead) so two servers on one
 * database do not deliver the same row at once, and a server that died
 * mid-delivery leaves the row to be retried after the lease.
 * Depends on db.h, oidc_keys.h, jose.h (signing: the same path as ID tokens).
 */
#ifndef QRLOGIN_OIDC_LOGOUT_H
#define QRLOGIN_OIDC_LOGOUT_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "domain/oidc_clients.h"
#include "domain/oidc_grants.h"
#include "qrlogin/error.h"

#define QRL_BCL_LEASE_MS 30000    /* a claimed row is someone's this long */
#define QRL_BCL_MAX_ATTEMPTS 16   /* deliveries tried at most */
#define QRL_BCL_MAX_SECS 3600     /* given up this long after the session ended */
#define QRL_BCL_MAX_DELAY_MS 600000 /* the longest wait between two attempts */
#define QRL_BCL_TOKEN_SECS 120    /* a logout token's life (exp - iat) */
#define QRL_OIDC_CONFIRM_SECS 600 /* a logout confirmation form's life */
#define QRL_OIDC_CONFIRM_LEN 43   /* its one-time token: 256 bits, base64url */
/* The back-channel logout event (its "events" member's one key). */
#define QRL_BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

/* One back-channel logout to deliver. */
typedef struct qrl_bcl_item {
  int64_t id;
  char client_id[QRL_CLIENT_ID_MAX + 1];
  char uri[QRL_CLIENT_URI_MAX + 1]; /* the portal's backchannel_logout_uri; ""
                                       if the portal is gone or has none now */
  char sid[QRL_OIDC_SID_LEN + 1];
  char sub[QRL_OIDC_SUB_LEN + 1];
  int attempts;       /* counting the one claimed for */
  int64_t created_at; /* unix seconds: when the session ended */
} qrl_bcl_item;

/* What became of one delivery attempt. */
typedef enum qrl_bcl_outcome {
  QRL_BCL_DELIVERED, /* the portal answered 200 or 204: row deleted */
  QRL_BCL_RETRY,     /* failed; tried again later */
  QRL_BCL_FAILED     /* failed for good: row deleted */
} qrl_bcl_outcome;

/* "delivered", "retry" or "failed" (static). */
const char *qrl_bcl_outcome_name(qrl_bcl_outcome o);

/* The wait after the attempts-th failed attempt: base_ms doubled for each
 * attempt after the first (1 s, 2 s, 4 s ... for 1000), at most
 * QRL_BCL_MAX_DELAY_MS (or base_ms if larger). */
int64_t qrl_bcl_backoff_ms(int64_t base_ms, int attempts);

/* Claims up to cap rows due at now_ms (unix milliseconds) into out (caller's
 * array), oldest first, leasing each (attempts + 1, next_ms = now_ms +
 * QRL_BCL_LEASE_MS) in one transaction; their number in *n. QRL_OK or
 * QRL_DB. */
qrl_err qrl_bcl_claim(qrl_db *db, int64_t now_ms, qrl_bcl_item *out, size_t cap, size_t *n);

/* Records the attempt on it: ok (delivered) deletes its row; a failure is
 * retried after qrl_bcl_backoff_ms(retry_ms, it->attempts) unless
 * permanent, or the attempts or QRL_BCL_MAX_SECS are used up (the row is
 * deleted then). The outcome into *out. QRL_OK or QRL_DB. */
qrl_err qrl_bcl_settle(qrl_db *db, const qrl_bcl_item *it, int ok, int permanent,
                       int64_t now_ms, int64_t retry_ms, qrl_bcl_outcome *out);

/* When the earliest row is due (unix ms) into *next_ms: QRL_OK,
 * QRL_NOT_FOUND (the outbox is empty) or QRL_DB. One indexed read. */
qrl_err qrl_bcl_next_due(qrl_db *db, int64_t *next_ms);

/* Forgets which portals hold ID tokens of sessions that ended without a
 * revocation (expired before now): nothing is sent for those. QRL_OK or
 * QRL_DB. */
qrl_err qrl_bcl_forget_ended(qrl_db *db, int64_t now);

/* The logout token of it for issuer at now, signed like an ID token (the
 * signing key of oidc_keys.h) with header typ "logout+jwt": iss, aud (the
 * client), iat, exp (now + QRL_BCL_TOKEN_SECS), jti (128 random bits), sid,
 * sub, events {QRL_BCL_EVENT: {}}; never a nonce. *out is malloc'd, the
 * caller's. QRL_OK, QRL_NOT_FOUND (no key signs), QRL_CRYPTO, QRL_NOMEM,
 * QRL_DB. */
qrl_err qrl_oidc_logout_token(qrl_db *db, const char *issuer, const qrl_bcl_item *it,
                              int64_t now, char **out);

/* The longest id_token_hint taken (an RS256 ID token of 4096-bit key fits). */
#define QRL_OIDC_HINT_MAX 4096

/* What an id_token_hint says. */
typedef struct qrl_oidc_hint {
  char client_id[QRL_CLIENT_ID_MAX + 1]; /* its aud */
  char sid[QRL_OIDC_SID_LEN + 1];
  char sub[QRL_OIDC_SUB_LEN + 1];
} qrl_oidc_hint;

/* Reads the claims of a verified ID token's payload (len bytes of JSON):
 * iss must be issuer, aud one client (a string, or an array of one), sid
 * and sub of our lengths; exp is not looked at (a logout may come after the
 * token expired). QRL_OK or QRL_BAD_MESSAGE. Outside input: fuzzed
 * (tests/fuzz/fuzz_jws.c). */
qrl_err qrl_oidc_hint_claims(const char *payload, size_t len, const char *issuer,
                             qrl_oidc_hint *out);

/* Verifies id_token_hint hint against the keys published at now (the one
 * its kid names) and reads it (qrl_oidc_hint_claims). QRL_OK;
 * QRL_BAD_SIGNATURE (malformed, another alg, an unknown key, a signature
 * that does not hold) or QRL_BAD_MESSAGE (not our ID token); QRL_DB,
 * QRL_NOMEM. */
qrl_err qrl_oidc_hint_check(qrl_db *db, const char *hint, const char *issuer, int64_t now,
                            qrl_oidc_hint *out);

/* The live web session (row id) into *session_id whose ID tokens carry
 * sid: QRL_OK, QRL_NOT_FOUND (ended already, or no portal got one), QRL_DB. */
qrl_err qrl_oidc_session_of_sid(qrl_db *db, const char *sid, int64_t *session_id);

/* Ends web session session_id (RP-initiated logout): revoked at rc->now,
 * audited ("oidc_logout", detail client_id, may be NULL), back-channel
 * logouts queued by the schema's trigger in the same transaction. QRL_OK
 * (also if it had ended already: *ended 0), QRL_DB. */
qrl_err qrl_oidc_logout_session(qrl_db *db, int64_t session_id, const char *client_id,
                                const qrl_req_ctx *rc, int *ended);

/* What a logout confirmation form carries on the server side. */
typedef struct qrl_oidc_confirm {
  int64_t session_id;
  char client_id[QRL_CLIENT_ID_MAX + 1];      /* "" if none */
  char redirect_uri[QRL_CLIENT_URI_MAX + 1];  /* "" if none: a checked one */
  char state[QRL_OIDC_PARAM_MAX + 1];
} qrl_oidc_confirm;

/* Stores c (copied) behind a new one-time token (stored as SHA-256, valid
 * QRL_OIDC_CONFIRM_SECS from now) written to token. QRL_OK, QRL_CRYPTO,
 * QRL_DB. */
qrl_err qrl_oidc_confirm_new(qrl_db *db, const qrl_oidc_confirm *c, int64_t now,
                             char token[QRL_OIDC_CONFIRM_LEN + 1]);

/* Takes (deletes) the confirmation of token, if alive at now, into *out.
 * QRL_OK, QRL_NOT_FOUND (unknown, used or expired), QRL_CRYPTO, QRL_DB. */
qrl_err qrl_oidc_confirm_take(qrl_db *db, const char *token, int64_t now,
                              qrl_oidc_confirm *out);

#endif /* QRLOGIN_OIDC_LOGOUT_H */
