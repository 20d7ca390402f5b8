/*
 * api_sessions.h - "Không phải tôi" on the web: the citizen's recent web
 * logins, and ending one of them (docs/protocol.md):
 *
 *   GET  /api/sessions         cookie -> {"sessions": [...]}, newest first
 *   POST /api/sessions/revoke  cookie, {"id"} -> that session ends at once
 *
 * A session is named by its public handle "id" (the row number the phone's
 * web_logins shows too), never by its token. A citizen lists and ends only
 * their own sessions (another's id: web_session_unknown, as an unknown one);
 * ending the current one is a logout (the cookie is cleared). The ending is
 * the phone's revoke_web_login, audited the same way ("web_session_revoked",
 * detail "not_me web_session=N"), and portal pages watching the session
 * (ws_browser.h, /portal) are told at once. Accounts of the old portal get
 * forbidden: their sessions are not listed. Every POST passes the router's
 * Origin check (http.h); the cookie is SameSite=Strict.
 */
#ifndef QRLOGIN_API_SESSIONS_H
#define QRLOGIN_API_SESSIONS_H

#include "handlers/http.h"

/* Adds the routes above to h. */
qrl_err qrl_api_sessions_attach(qrl_http *h);

#endif /* QRLOGIN_API_SESSIONS_H */
