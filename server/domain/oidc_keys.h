/*
 * oidc_keys.h - the OpenID Connect provider's signing keys, in the database:
 * which keys the JWKS publishes, which one signs, and rotation that breaks
 * no token in flight.
 *
 * A key's life is four timestamps, fixed when it is made or when the next
 * key is made, so no job has to run for a key to change state:
 *
 *   created_at ─► NEXT ─activate_at─► ACTIVE ─retire_at─► RETIRED ─expire_at─► gone
 *                 published,          published,         published,         deleted at
 *                 signs nothing       signs              signs nothing      the next rotation
 *
 *   transition            function                 when
 *   (none) -> ACTIVE      qrl_oidc_keys_ensure()   no key at all (first start): signs at once
 *   (none) -> NEXT        qrl_oidc_keys_rotate()   published now, signs from now + publish_secs
 *   ACTIVE -> RETIRED     qrl_oidc_keys_rotate()   retire_at = the new key's activate_at
 *   RETIRED -> gone       qrl_oidc_keys_rotate()   expire_at = retire_at + keep_secs passed
 *
 * So a relying party that cached the JWKS just before a rotation fetches it
 * again (its max-age) before the new key signs anything, and a token signed
 * by the old key still verifies until it has expired. One rotation waits at a
 * time: rotating again while a key is NEXT is refused.
 *
 * Keys are ES256 (P-256) or RS256 (RSA, QRL_OIDC_RSA_BITS), each algorithm
 * with its own chain of keys rotated on its own (the functions without
 * _alg are the ES256 chain's); the private key is stored as PKCS#8 DER and
 * leaves this module only to sign: qrl_oidc_jwt_sign() is the one entry
 * point every signer uses (ID tokens, logout tokens), choosing the chain by
 * the relying portal's algorithm; qrl_oidc_key_signing() hands out the
 * ES256 scalar (tests). The key id is the RFC 7638 thumbprint (jose.h). Every change is
 * one transaction with its audit row. Depends on db.h, crypto.h, jose.h.
 */
#ifndef QRLOGIN_OIDC_KEYS_H
#define QRLOGIN_OIDC_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"

/* Keys in the table at most that a listing returns (with one rotation at a
 * time and expired keys deleted, there are rarely more than three). */
#define QRL_OIDC_KEYS_MAX 16

/* The longest an ID token (or any token these keys sign) may live: whoever
 * issues tokens must not exceed it, since a retired key stays published only
 * this long plus QRL_OIDC_SKEW_SECS. */
#define QRL_OIDC_TOKEN_MAX_SECS 3600
/* Clock difference tolerated between us and a relying party. */
#define QRL_OIDC_SKEW_SECS 300

typedef enum qrl_oidc_key_state {
  QRL_OIDC_KEY_NEXT,    /* published, not yet signing */
  QRL_OIDC_KEY_ACTIVE,  /* published and signing */
  QRL_OIDC_KEY_RETIRED, /* published so its tokens verify, signing no more */
  QRL_OIDC_KEY_EXPIRED  /* unpublished; deleted at the next rotation */
} qrl_oidc_key_state;

/* The RSA keys qrlogin makes (RS256). */
#define QRL_OIDC_RSA_BITS 2048

/* One key's public side and its life (no private key). */
typedef struct qrl_oidc_key {
  char kid[QRL_JWK_KID_LEN + 1];
  char alg[8];                   /* "ES256" or "RS256" */
  uint8_t pub[QRL_JWK_PUB_MAX];  /* ES256: the uncompressed P-256 point (65
                                    bytes); RS256: DER SubjectPublicKeyInfo */
  size_t publen;
  int64_t created_at;  /* unix seconds: published from then */
  int64_t activate_at; /* signs from then */
  int64_t retire_at;   /* signs no more from then; 0: not set (the newest key) */
  int64_t expire_at;   /* unpublished from then; 0: not set */
} qrl_oidc_key;

/* How long keys overlap. */
typedef struct qrl_oidc_key_policy {
  int64_t publish_secs; /* a new key is published this long before it signs:
                           longer than the JWKS max-age plus any server's cache */
  int64_t keep_secs;    /* a retired key stays published this long after it
                           stopped signing: the longest token life plus skew */
} qrl_oidc_key_policy;

/* The defaults: publish 900 s (three times the JWKS max-age of 300 s) before
 * signing; keep QRL_OIDC_TOKEN_MAX_SECS + QRL_OIDC_SKEW_SECS after. */
qrl_oidc_key_policy qrl_oidc_key_policy_default(void);

/* The state of k at now. */
qrl_oidc_key_state qrl_oidc_key_state_at(const qrl_oidc_key *k, int64_t now);

/* "next", "active", "retired" or "expired" (static). */
const char *qrl_oidc_key_state_name(qrl_oidc_key_state s);

/* Every key in the table (expired ones not yet deleted too), oldest first,
 * at most cap into out (caller's array); their number in *n. QRL_OK or
 * QRL_DB. */
qrl_err qrl_oidc_keys_list(qrl_db *db, qrl_oidc_key *out, size_t cap, size_t *n);

/* The keys the JWKS publishes at now (NEXT, ACTIVE and RETIRED), oldest
 * first, at most cap; their number in *n. QRL_OK or QRL_DB. */
qrl_err qrl_oidc_keys_published(qrl_db *db, int64_t now, qrl_oidc_key *out, size_t cap,
                                size_t *n);

/* The key that signs at now (the ACTIVE one) into *key and its private
 * scalar into priv (the caller cleanses it after use). QRL_OK,
 * QRL_NOT_FOUND (no key signs yet), QRL_DB, or QRL_CRYPTO (a stored key that
 * does not decode). */
qrl_err qrl_oidc_key_signing(qrl_db *db, int64_t now, qrl_oidc_key *key,
                             uint8_t priv[QRL_PRIVKEY_BYTES]);

/* Makes the first key, signing at once, if the table has none that signs
 * or will (a first start); *created (may be NULL) says whether it did.
 * agent names who asked, for the audit row ("qrlogind"). QRL_OK, QRL_DB,
 * QRL_CRYPTO or QRL_NOMEM. */
qrl_err qrl_oidc_keys_ensure(qrl_db *db, int64_t now, const char *agent, int *created);

/* Rotates: deletes expired keys; makes a new key, published at once and
 * signing from now + pol->publish_secs (at once if no key signs now); the
 * key signing now retires then and expires keep_secs later. The new key in
 * *out (may be NULL). QRL_OK; QRL_FORBIDDEN if a key is already NEXT (one
 * rotation at a time; that key in *out); QRL_DB, QRL_CRYPTO, QRL_NOMEM. */
qrl_err qrl_oidc_keys_rotate(qrl_db *db, const qrl_oidc_key_policy *pol, int64_t now,
                             const char *agent, qrl_oidc_key *out);

/* 1 if alg is an algorithm these keys sign with ("ES256", "RS256"). */
int qrl_oidc_alg_valid(const char *alg);

/* The public JWK of k as JSON text (malloc'd into *out): EC or RSA by its
 * alg, kid its thumbprint. QRL_OK, QRL_CRYPTO, QRL_NOMEM. */
qrl_err qrl_oidc_key_jwk(const qrl_oidc_key *k, char **out);

/* qrl_oidc_keys_ensure for the chain of alg ("ES256" or "RS256"; QRL_INVAL
 * otherwise). An RSA key takes tens to hundreds of ms to make. */
qrl_err qrl_oidc_keys_ensure_alg(qrl_db *db, const char *alg, int64_t now, const char *agent,
                                 int *created);

/* qrl_oidc_keys_rotate for the chain of alg (QRL_INVAL for another). */
qrl_err qrl_oidc_keys_rotate_alg(qrl_db *db, const char *alg, const qrl_oidc_key_policy *pol,
                                 int64_t now, const char *agent, qrl_oidc_key *out);

/* The one signing entry point: signs payload (the claims' JSON text) at now
 * with the key of alg's chain that signs then, into a compact JWS (*out,
 * malloc'd) whose header carries that key's kid and typ (when not NULL,
 * e.g. "JWT", "logout+jwt"). The private key never leaves this call.
 * QRL_OK; QRL_INVAL (alg); QRL_NOT_FOUND (no key of alg signs yet); QRL_DB;
 * QRL_CRYPTO; QRL_NOMEM. */
qrl_err qrl_oidc_jwt_sign(qrl_db *db, int64_t now, const char *alg, const char *typ,
                          const char *payload, char **out);

#endif /* QRLOGIN_OIDC_KEYS_H */
