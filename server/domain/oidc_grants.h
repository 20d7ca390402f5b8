/*
 * oidc_grants.h - what the OpenID Connect provider hands out, in SQLite:
 * authorization requests waiting for the citizen's login, authorization
 * codes, access tokens, and the opaque per-citizen subject (sub).
 *
 *   authorize ─► request (id, ≤ 600 s) ─login─► code (≤ 60 s, one use) ─► access token (≤ 3600 s)
 *
 * A request is kept by a random 128-bit id (a handle, not a credential: the
 * code is issued only to the browser holding a live web session). Codes and
 * access tokens are 256-bit random, stored as SHA-256 only. A code is bound
 * to its client, redirect_uri, PKCE S256 challenge, nonce, web session (sid),
 * auth_time, acr and amr; it is consumed once by one UPDATE ... WHERE used = 0
 * in a write transaction: of concurrent redemptions exactly one wins. A code
 * redeemed again revokes the tokens it gave; a redemption that fails any
 * binding (wrong verifier, client, redirect_uri, or late) burns it all the
 * same. sub is a random 128-bit id made at a citizen's first grant and kept:
 * stable per citizen, the same for every portal, never the citizen ID.
 * Not here: parsing requests, signing ID tokens (handlers/oidc_flow.c).
 */
#ifndef QRLOGIN_OIDC_GRANTS_H
#define QRLOGIN_OIDC_GRANTS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "domain/oidc_clients.h"
#include "helpers/crypto.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"

#define QRL_OIDC_REQ_ID_LEN 22   /* 128 bits, base64url */
#define QRL_OIDC_SECRET_LEN 43   /* a code or an access token: 256 bits, base64url */
#define QRL_OIDC_SUB_LEN 22      /* 128 bits, base64url */
#define QRL_OIDC_SID_LEN 22
#define QRL_OIDC_CHALLENGE_LEN 43 /* base64url SHA-256 */
#define QRL_OIDC_PARAM_MAX 255   /* state, nonce, scope */
#define QRL_OIDC_REQ_SECS 600    /* a request waits this long for the login */
#define QRL_OIDC_CODE_SECS 60
#define QRL_OIDC_ACCESS_SECS 3600

/* An accepted authorization request, waiting for a login. */
typedef struct qrl_oidc_authz {
  char client_id[QRL_CLIENT_ID_MAX + 1];
  char redirect_uri[QRL_CLIENT_URI_MAX + 1];
  char scope[QRL_OIDC_PARAM_MAX + 1];
  char state[QRL_OIDC_PARAM_MAX + 1];
  char nonce[QRL_OIDC_PARAM_MAX + 1];
  char challenge[QRL_OIDC_CHALLENGE_LEN + 1];
  char acr_values[32];
  int force_login;   /* prompt=login or max_age passed: a login after
                        created_at, in a session other than not_session */
  int64_t not_session; /* the web session (row id) present at the request; 0 */
  int64_t max_age;   /* -1: none */
  int64_t created_at;
  int min_level;     /* the client's --min-acr (1 or 2): a login below it
                        gets no code (unmet_authentication_requirements) */
  char ui_locales[8]; /* the first of ui_locales we speak: "vi", "en"; "" */
  uint8_t browser_hash[QRL_SHA256_LEN]; /* SHA-256 of the browser binding
                                           cookie set with the request */
} qrl_oidc_authz;

/* What a code, and then its access token, carries. */
typedef struct qrl_oidc_grant {
  char client_id[QRL_CLIENT_ID_MAX + 1];
  char redirect_uri[QRL_CLIENT_URI_MAX + 1];
  char scope[QRL_OIDC_PARAM_MAX + 1];
  char nonce[QRL_OIDC_PARAM_MAX + 1];
  char challenge[QRL_OIDC_CHALLENGE_LEN + 1];
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  char sid[QRL_OIDC_SID_LEN + 1];
  char sub[QRL_OIDC_SUB_LEN + 1]; /* filled by qrl_oidc_code_issue */
  char acr[8];                    /* "LoA1" or "LoA2" */
  char amr[40];                   /* RFC 8176 values, space-separated */
  int64_t auth_time;
  int64_t session_id; /* the web session (row id) behind sid; 0 if unknown.
                         Kept with the code: the session's end then sends
                         back-channel logout to the portal (oidc_logout.h) */
} qrl_oidc_grant;

/* A citizen's claims for a portal. */
typedef struct qrl_oidc_claims {
  char name[128];
  char birthdate[11]; /* YYYY-MM-DD, "" if unknown */
  int level;
} qrl_oidc_claims;

/* Stores request a (copied) at now; its new id into id. QRL_OK, QRL_CRYPTO,
 * QRL_DB. */
qrl_err qrl_oidc_authz_save(qrl_db *db, const qrl_oidc_authz *a, int64_t now,
                            char id[QRL_OIDC_REQ_ID_LEN + 1]);

/* Reads request id, if still waiting at now, into *out. QRL_OK,
 * QRL_NOT_FOUND (unknown, expired or done), QRL_DB. */
qrl_err qrl_oidc_authz_load(qrl_db *db, const char *id, int64_t now, qrl_oidc_authz *out);

/* The browser binding of a stored request: the random value
 * (QRL_OIDC_BIND_LEN characters of base64url, 128 bits) of the cookie
 * QRL_OIDC_BIND_COOKIE that /oauth2/authorize sets (HttpOnly, Path=/oauth2,
 * SameSite=Lax) and whose SHA-256 the request keeps; the request is resumed
 * only by a browser that sends it back. */
#define QRL_OIDC_BIND_COOKIE "qrl_oidc_bind"
#define QRL_OIDC_BIND_LEN 22

/* 1 if cookie (the binding cookie's value, may be NULL or "") is the one
 * request a was stored with (SHA-256 compared in constant time), else 0. */
int qrl_oidc_authz_browser_ok(const qrl_oidc_authz *a, const char *cookie);

/* Forgets request id (its code was issued). QRL_OK or QRL_DB. */
qrl_err qrl_oidc_authz_done(qrl_db *db, const char *id);

/* The subject (sub) of citizen_id, if an ID token was ever made for them:
 * QRL_OK; QRL_NOT_FOUND (none yet: no portal has seen this citizen);
 * QRL_DB. */
qrl_err qrl_oidc_subject_find(qrl_db *db, const char *citizen_id,
                              char sub[QRL_OIDC_SUB_LEN + 1]);

/* Issues a code for g (g->sub is filled with the citizen's subject, made on
 * a first grant) at rc->now, into code. Audited ("oidc_code", detail the
 * client). QRL_OK, QRL_CRYPTO, QRL_DB. */
qrl_err qrl_oidc_code_issue(qrl_db *db, qrl_oidc_grant *g, const qrl_req_ctx *rc,
                            char code[QRL_OIDC_SECRET_LEN + 1]);

/* Redeems code for client_id with redirect_uri and the PKCE verifier at
 * rc->now, audited ("oidc_token": the client, or why it was refused - no
 * secret): on success fills *out and a new access token (stored hashed, valid
 * QRL_OIDC_ACCESS_SECS) into access. The code is used up either way.
 * QRL_OK; QRL_CODE_INVALID (unknown, used before - then the tokens it gave
 * are revoked -, expired, another client or redirect_uri, a wrong
 * verifier); QRL_CRYPTO, QRL_DB. */
qrl_err qrl_oidc_code_redeem(qrl_db *db, const char *code, const char *client_id,
                             const char *redirect_uri, const char *verifier,
                             const qrl_req_ctx *rc, qrl_oidc_grant *out,
                             char access[QRL_OIDC_SECRET_LEN + 1]);

/* Resolves access token at now into *out (client, scope, citizen, sub).
 * QRL_OK; QRL_NOT_AUTHENTICATED (unknown, expired, revoked); QRL_CRYPTO,
 * QRL_DB. */
qrl_err qrl_oidc_access_check(qrl_db *db, const char *token, int64_t now, qrl_oidc_grant *out);

/* The claims of citizen_id. QRL_OK, QRL_NOT_FOUND, QRL_DB. */
qrl_err qrl_oidc_citizen_claims(qrl_db *db, const char *citizen_id, qrl_oidc_claims *out);

/* 1 if verifier is a well-formed PKCE verifier (RFC 7636 §4.1: 43 to 128 of
 * A-Z a-z 0-9 - . _ ~) whose S256 is challenge; else 0. */
int qrl_oidc_pkce_ok(const char *verifier, const char *challenge);

/* 1 if s is a well-formed S256 code_challenge (43 base64url characters). */
int qrl_oidc_challenge_valid(const char *s);

#endif /* QRLOGIN_OIDC_GRANTS_H */
