/*
 * api_session.h - the web session over HTTP (docs/protocol.md):
 *
 *   POST /api/session  {"code","binding"} -> web session cookie
 *   GET  /api/me       cookie -> who is logged in, their dossiers
 *   POST /api/logout   cookie -> session ended server-side, cookie cleared
 *
 * The session cookie is HttpOnly, SameSite=Strict, Path=/ (Secure on TLS).
 */
#ifndef QRLOGIN_API_SESSION_H
#define QRLOGIN_API_SESSION_H

#include "handlers/http.h"

/* Adds the routes above to h. */
qrl_err qrl_api_session_attach(qrl_http *h);

#endif /* QRLOGIN_API_SESSION_H */
