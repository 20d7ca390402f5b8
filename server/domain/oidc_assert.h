/*
 * oidc_assert.h - private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9):
 * a relying portal authenticates to the token endpoint with a JWT it signed
 * (ES256 or RS256) with a key of its registered JWK Set.
 *
 * The assertion must verify with one of the client's keys (the one its
 * "kid" names, else any), with "alg" ES256 for an EC key and RS256 for an
 * RSA key, nothing else (so "none", HS256, an alg that does not fit the key
 * or a foreign key are refused); iss and sub are the client id, aud names the
 * token endpoint (or the issuer), exp is in the future and at most
 * QRL_OIDC_ASSERTION_MAX_SECS ahead, and its jti has not been seen: each jti
 * is recorded (hashed) until its exp, so a replay is refused.
 * Not here: client_secret_basic (oidc_clients.h), reading the form.
 */
#ifndef QRLOGIN_OIDC_ASSERT_H
#define QRLOGIN_OIDC_ASSERT_H

#include <stdint.h>

#include "domain/db.h"
#include "domain/oidc_clients.h"
#include "qrlogin/error.h"

#define QRL_OIDC_ASSERTION_MAX_SECS 600 /* exp at most this far ahead */
#define QRL_OIDC_ASSERTION_MAX_LEN 4096

/* Checks client assertion jws (a compact JWS) at now for the token
 * endpoint token_url (or issuer) as aud; client_id (may be NULL or "": then
 * the assertion's sub names it) must be its client. On success writes the
 * client id into out and records the jti. QRL_OK; QRL_BAD_CREDENTIALS
 * (unknown client, not a private_key_jwt client, a signature, alg or claim
 * that does not hold, a jti seen before - one answer for all); QRL_DB,
 * QRL_NOMEM. */
qrl_err qrl_oidc_client_assertion(qrl_db *db, const char *jws, const char *client_id,
                                  const char *token_url, const char *issuer, int64_t now,
                                  char out[QRL_CLIENT_ID_MAX + 1]);

#endif /* QRLOGIN_OIDC_ASSERT_H */
