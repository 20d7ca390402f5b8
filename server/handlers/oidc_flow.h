/*
 * oidc_flow.h - the OpenID Connect provider's flow: /oauth2/authorize (GET),
 * /oauth2/resume (the login page's way back once the citizen has logged in),
 * /oauth2/token (POST, client_secret_basic) and /oauth2/userinfo (GET,
 * Bearer). The authorization code flow only, PKCE S256 required.
 *
 * authorize checks the client and its exact redirect_uri (else an HTML error
 * page, never a redirect), then the request (errors redirect back with
 * error, state and iss). With a live web session of a citizen (the
 * qrl_session cookie, or the qrl_op one - SameSite=Lax, Path=/oauth2, so a
 * portal's cross-site navigation carries it) and neither prompt=login nor an
 * exceeded max_age, the code is issued at once (SSO); prompt=none without
 * one answers login_required; otherwise the request is stored and the
 * browser sent to the login page, "/?oidc=<request id>", which after the
 * login goes to /oauth2/resume?req=<id> (GET /oauth2/request?req=<id> tells
 * it the portal's name, {"client_name"}). Every redirect to a portal carries
 * iss (RFC 9207) and state. Database work and signing run on workers.
 * Not here: discovery and the key set (oidc_meta.h), the codes' storage
 * (domain/oidc_grants.h), logout.
 */
#ifndef QRLOGIN_OIDC_FLOW_H
#define QRLOGIN_OIDC_FLOW_H

#include "handlers/http.h"

/* ID tokens live this long (at most QRL_OIDC_TOKEN_MAX_SECS). */
#define QRL_OIDC_ID_TOKEN_SECS 600

/* Adds the flow's routes to h, the provider's router (qrl_oidc_meta_attach,
 * mounted at "/oauth2"). QRL_OK or QRL_NOMEM. */
qrl_err qrl_oidc_flow_attach(qrl_http *h);

#endif /* QRLOGIN_OIDC_FLOW_H */
