/*
 * oidc_logout.h - OpenID Connect logout at the provider:
 *
 *   GET or POST /oauth2/logout  RP-initiated logout 1.0: id_token_hint,
 *        client_id, post_logout_redirect_uri, state, ui_locales
 *
 * With an id_token_hint that verifies with one of our published keys (an
 * expired one too: the spec lets a logout come late), the web session its
 * sid names is ended at once: the hint is the proof a portal holding an ID
 * token of that session asks (logout CSRF needs it, and only the portal
 * has it). Without a hint, a browser with a live session gets a
 * confirmation page: a POST form carrying a one-time token bound to that
 * session (10 minutes); only the form's POST ends the session. A
 * post_logout_redirect_uri must be one the client (the hint's aud, or
 * client_id) registered, byte for byte - else an error page, never a
 * redirect; the redirect carries state. Without one: "Đã đăng xuất /
 * Logged out". After the confirmation form the portal is a link on that
 * page (our pages' CSP has form-action 'self': a browser would refuse to
 * follow a form's redirect to the portal). The qrl_op cookie is cleared
 * when its session ends.
 *
 * Ending a session queues a back-channel logout for every portal that got
 * an ID token in it (the schema's trigger: domain/oidc_logout.h), which the
 * deliverer (glue/bclogout.h) started here sends - as it does for sessions
 * ended anywhere else, by any process.
 * Not here: the tokens (domain/oidc_logout.h), delivery.
 */
#ifndef QRLOGIN_OIDC_LOGOUT_HANDLER_H
#define QRLOGIN_OIDC_LOGOUT_HANDLER_H

#include "glue/server.h"
#include "handlers/http.h"

/* Starts the back-channel logout deliverer of srv and adds /oauth2/logout
 * to router (the provider's: oidc_meta.h). QRL_OK, QRL_NOMEM or
 * QRL_INTERNAL (the thread would not start). */
qrl_err qrl_oidc_logout_attach(qrl_server *srv, qrl_http *router);

#endif /* QRLOGIN_OIDC_LOGOUT_HANDLER_H */
