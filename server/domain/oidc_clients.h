/*
 * oidc_clients.h - the relying portals registered with the OpenID Connect
 * provider: what each may ask for and how it proves who it is.
 *
 * A client has an id (3..64 of A-Z a-z 0-9 . _ -, starting with a letter or
 * digit), the name citizens see, its exact redirect URIs (one at least) and
 * post-logout redirect URIs, an optional back-channel logout URI, the lowest
 * assurance level it accepts (LoA1 or LoA2), and how it authenticates at the
 * token endpoint: client_secret_basic (a secret of 256 random bits from
 * OpenSSL's CSPRNG, shown once and stored as its SHA-256 - a fast hash is
 * enough for a secret nobody chose - compared in constant time) or
 * private_key_jwt (its public keys, a JWK Set of EC P-256 keys for ES256
 * and RSA keys of 2048..4096 bits for RS256; no secret), and the algorithm
 * its ID tokens (and logout tokens) are signed with: ES256 (the default) or
 * RS256.
 *
 * Every URI is absolute, https - or http on localhost or 127.0.0.1, for
 * development - with no fragment, user name, space or control character.
 * The validators are pure functions (qrlogin-admin calls them first, to say
 * exactly what is wrong); the changes check again and refuse with
 * QRL_INVAL. Every change is one transaction with its audit row. Not here:
 * the authorization and token endpoints that use it.
 * Depends on db.h, crypto.h, b64.h, text.h and cJSON.
 */
#ifndef QRLOGIN_OIDC_CLIENTS_H
#define QRLOGIN_OIDC_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"

#define QRL_CLIENT_ID_MIN 3
#define QRL_CLIENT_ID_MAX 64
#define QRL_CLIENT_NAME_MAX 120   /* bytes of UTF-8 */
#define QRL_CLIENT_URI_MAX 512
#define QRL_CLIENT_URIS_MAX 16    /* redirect URIs, and post-logout ones, each */
#define QRL_CLIENT_JWKS_MAX 16384 /* bytes of the JWK Set */
#define QRL_CLIENT_SECRET_BYTES 32
#define QRL_CLIENT_SECRET_LEN 43  /* its base64url */

/* The demo provincial portal --demo registers (if it is not there yet). Its
 * secret is public (README): a demo only. */
#define QRL_DEMO_CLIENT_ID "dongnai-demo"
#define QRL_DEMO_CLIENT_NAME "Cổng Dịch vụ công tỉnh Đồng Nai (demo)"
#define QRL_DEMO_CLIENT_SECRET "dongnai-demo-secret-for-the-demo-only"
#define QRL_DEMO_CLIENT_ORIGIN "http://localhost:8081"

typedef enum qrl_client_auth {
  QRL_CLIENT_SECRET_BASIC, /* "client_secret_basic" */
  QRL_CLIENT_PRIVATE_KEY_JWT /* "private_key_jwt" */
} qrl_client_auth;

/* A client to register; every string borrowed. */
typedef struct qrl_client_spec {
  const char *id;
  const char *name;
  const char *redirect[QRL_CLIENT_URIS_MAX];
  size_t nredirect; /* 1 at least */
  const char *post_logout[QRL_CLIENT_URIS_MAX];
  size_t npost_logout;
  const char *backchannel; /* NULL: none */
  qrl_client_auth auth;
  const char *jwks; /* private_key_jwt: the JWK Set's JSON text; else NULL */
  int min_acr;      /* 1 (LoA1) or 2 (LoA2) */
  const char *id_token_alg; /* "ES256" or "RS256"; NULL: "ES256" */
} qrl_client_spec;

/* A registered client as stored (no secret, not even its hash). */
typedef struct qrl_client {
  char id[QRL_CLIENT_ID_MAX + 1];
  char name[QRL_CLIENT_NAME_MAX + 1];
  char redirect[QRL_CLIENT_URIS_MAX][QRL_CLIENT_URI_MAX + 1];
  size_t nredirect;
  char post_logout[QRL_CLIENT_URIS_MAX][QRL_CLIENT_URI_MAX + 1];
  size_t npost_logout;
  char backchannel[QRL_CLIENT_URI_MAX + 1]; /* "" for none */
  qrl_client_auth auth;
  char *jwks; /* owned (qrl_client_clear): the JWK Set, or NULL */
  int min_acr;
  char id_token_alg[8]; /* "ES256" or "RS256" */
  int64_t created_at;
  int64_t secret_at; /* when its secret was made or last replaced; 0: none */
} qrl_client;

/* One line of the list. */
typedef struct qrl_client_row {
  char id[QRL_CLIENT_ID_MAX + 1];
  char name[QRL_CLIENT_NAME_MAX + 1];
  qrl_client_auth auth;
  int min_acr;
  size_t nredirect;
  int64_t created_at;
} qrl_client_row;

/* "client_secret_basic" or "private_key_jwt" (static). */
const char *qrl_client_auth_name(qrl_client_auth a);
/* Parses one of those names into *a: 0, or -1. */
int qrl_client_auth_parse(const char *s, qrl_client_auth *a);

/* 1 if id is a valid client id, else 0. */
int qrl_client_id_valid(const char *id);

/* 1 if name is 1..QRL_CLIENT_NAME_MAX bytes of UTF-8 without control
 * characters, else 0. */
int qrl_client_name_valid(const char *name);

/* NULL if uri may be registered (redirect, post-logout or back-channel
 * logout URI), else why not (static English text). */
const char *qrl_client_uri_problem(const char *uri);

/* NULL if json (its text) is a JWK Set of 1..8 public signing keys, else
 * why not (static): EC P-256 (kty "EC", crv "P-256", x and y a point on the
 * curve; alg, if given, "ES256") or RSA (kty "RSA", n of 2048..4096 bits, e;
 * alg, if given, "RS256"); no private member ("d", "p", "q", ...). */
const char *qrl_client_jwks_problem(const char *json);

/* NULL if spec may be registered (every rule above; no URI twice; jwks with
 * private_key_jwt and only then), else why not (static). */
const char *qrl_client_spec_problem(const qrl_client_spec *spec);

/* Registers spec at now. With client_secret_basic a new secret goes into
 * secret (QRL_CLIENT_SECRET_LEN + 1 bytes; "" for private_key_jwt, which
 * may pass NULL): the only time it exists in clear. QRL_OK; QRL_INVAL (spec
 * refused: see qrl_client_spec_problem; spec NULL; or secret NULL for a
 * client_secret_basic client - nothing written);
 * QRL_BAD_MESSAGE (the id is taken); QRL_DB, QRL_CRYPTO. */
qrl_err qrl_client_add(qrl_db *db, const qrl_client_spec *spec, int64_t now,
                       char secret[QRL_CLIENT_SECRET_LEN + 1]);

/* Registers the demo portal (QRL_DEMO_CLIENT_*, redirect URI
 * QRL_DEMO_CLIENT_ORIGIN/callback) unless a client of that id exists (what
 * an operator changed stays). QRL_OK or the error. */
qrl_err qrl_client_seed_demo(qrl_db *db, int64_t now);

/* Reads client id into *out (which the caller clears with
 * qrl_client_clear). QRL_OK, QRL_NOT_FOUND, QRL_DB, QRL_NOMEM. */
qrl_err qrl_client_get(qrl_db *db, const char *id, qrl_client *out);

/* Frees what c owns; c may be read again. NULL-safe. */
void qrl_client_clear(qrl_client *c);

/* Every client, by id: *rows malloc'd (caller frees; NULL for none), their
 * number in *n. QRL_OK, QRL_DB, QRL_NOMEM. */
qrl_err qrl_client_list(qrl_db *db, qrl_client_row **rows, size_t *n);

/* Replaces client id's secret with a new one, into secret (the old one
 * stops working at once). QRL_OK, QRL_NOT_FOUND, QRL_FORBIDDEN (a
 * private_key_jwt client has no secret), QRL_DB, QRL_CRYPTO. */
qrl_err qrl_client_rotate_secret(qrl_db *db, const char *id, int64_t now,
                                 char secret[QRL_CLIENT_SECRET_LEN + 1]);

/* Removes client id and its URIs. QRL_OK, QRL_NOT_FOUND, QRL_DB. */
qrl_err qrl_client_remove(qrl_db *db, const char *id, int64_t now);

/* Checks secret (len bytes) against client id's, in constant time.
 * QRL_OK; QRL_BAD_CREDENTIALS (unknown client, no secret, or another
 * secret - one answer for all); QRL_DB, QRL_CRYPTO. */
qrl_err qrl_client_check_secret(qrl_db *db, const char *id, const char *secret, size_t len);

#endif /* QRLOGIN_OIDC_CLIENTS_H */
