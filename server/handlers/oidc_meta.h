/*
 * oidc_meta.h - what the OpenID Connect provider says about itself:
 *
 *   GET /.well-known/openid-configuration  the discovery document (OpenID
 *        Connect Discovery 1.0 §3): the issuer (--issuer) and every endpoint
 *        under it, what is supported; cached by clients for 5 minutes
 *   GET /oauth2/jwks  the public signing keys (RFC 7517): each published
 *        key (domain/oidc_keys.h) as an EC P-256 JWK with kid = its RFC 7638
 *        thumbprint, "use":"sig", "alg":"ES256"; never a private member;
 *        Cache-Control max-age 300, far below the 900 s a new key waits
 *        before it signs
 *
 * At attach, before the loop runs, the signing keys are loaded (the first
 * one made if there is none) and, with --demo, the demo provincial portal
 * registered as a client (oidc_clients.h) unless it is there. Each key set
 * request reads the published keys on a worker, so a rotation by
 * qrlogin-admin shows at once, without a restart; requests that arrive
 * while a read runs wait for it and share its
 * answer (at most one read at a time, whatever the request rate, and
 * relying parties cache the answer). If the read fails, the last key set
 * read is served.
 * Not here: signing tokens, the authorization and token endpoints.
 */
#ifndef QRLOGIN_OIDC_META_H
#define QRLOGIN_OIDC_META_H

#include "glue/conn.h"
#include "glue/server.h"
#include "handlers/http.h"

/* Cache-Control of the discovery document and the key set. */
#define QRL_OIDC_META_MAX_AGE 300

/* Loads (or makes) the signing keys from the database and registers both
 * URLs with srv, through a router mounted at the discovery URL and at
 * "/oauth2" (given in *router, may be NULL, for the flow's routes:
 * oidc_flow.h; other /oauth2 paths answer 404); their state lives as long
 * as srv. QRL_OK, or the error (said on stderr): the database's,
 * QRL_CRYPTO, QRL_NOMEM. */
qrl_err qrl_oidc_meta_attach(qrl_server *srv, qrl_http **router);

/* The issuer (--issuer, else http(s)://<bind>:<the port c came in on>),
 * owned by sv's provider; NULL if it cannot be known (or the provider is
 * not attached). Loop thread. */
const char *qrl_oidc_issuer(qrl_services *sv, qrl_conn *c);

/* The issuer if it is known without a connection (--issuer or --port
 * given, or a request already told the port), else NULL. Loop thread. */
const char *qrl_oidc_issuer_known(qrl_services *sv);

#endif /* QRLOGIN_OIDC_META_H */
