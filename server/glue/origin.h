/*
 * origin.h - where a request comes from: whether the Host it named is served
 * here (DNS rebinding: a page on the attacker's name, resolved to this
 * server, is same-origin with its own requests) and whether its Origin may
 * act here (CSRF on POSTs, cross-site websocket hijacking on upgrades).
 *
 * Hosts served: the host names of the --origin allowlist and the --host
 * names, on any port; with --demo also the loopback names, localhost,
 * 127.0.0.0/8 and [::1], which no DNS answer can rebind (a server without
 * --demo must be given names: config.h). The port is left to the Origin
 * check: a rebinding attacker's problem is the name, which is theirs.
 * Not here: cookies (cookie.h), throttles (throttle.h).
 */
#ifndef QRLOGIN_ORIGIN_H
#define QRLOGIN_ORIGIN_H

#include <libwebsockets.h>
#include <stddef.h>

#include "glue/audit.h"
#include "glue/config.h"
#include "glue/conn.h"

/* Returns 1 if a request whose Host (or :authority) is host may be served
 * (see the top of this file), else 0; a malformed or empty host is not. */
int qrl_host_allowed(const qrl_config *cfg, const char *host);

/* Returns 1 if origin is allowed for a request to host: in cfg's --origin
 * allowlist if one was given, else equal to "http(s)://" host. */
int qrl_origin_allowed(const qrl_config *cfg, const char *origin, const char *host);

/* The request's host as the client named it: Host, or HTTP/2's :authority.
 * "" if absent or not shorter than cap. */
void qrl_request_host(struct lws *wsi, char *out, size_t cap);

/* For FILTER_HTTP_CONNECTION, which lws calls for every HTTP request before
 * any mount (the static files too) serves it: captures the peer into c (the
 * per-session data of the request's protocol, not registered) and checks
 * the Host. A request without one is answered 400, one whose Host is not
 * served 421 (Misdirected Request), both with the JSON error body bad_host,
 * and audited (qrl_audit_refusal). Returns 0 to go on, -1 to close. */
int qrl_host_filter_http(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi);

/* For FILTER_PROTOCOL_CONNECTION of a websocket: captures the headers into c,
 * checks the Host as qrl_host_filter_http() does (400/421), then the
 * upgrade's Origin (a missing one is refused when required: 403). A refusal
 * is answered and audited. Returns 0 to accept, -1 to refuse. */
int qrl_origin_filter_ws(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi, int required);

#endif /* QRLOGIN_ORIGIN_H */
