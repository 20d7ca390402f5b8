/*
 * origin.h - where a request comes from: the Host it named and whether its
 * Origin may act here (CSRF on POSTs, cross-site websocket hijacking on
 * upgrades). Not here: cookies (cookie.h), throttles (throttle.h).
 */
#ifndef QRLOGIN_ORIGIN_H
#define QRLOGIN_ORIGIN_H

#include <libwebsockets.h>
#include <stddef.h>

#include "glue/audit.h"
#include "glue/config.h"
#include "glue/conn.h"

/* Returns 1 if origin is allowed for a request to host: in cfg's --origin
 * allowlist if one was given, else equal to "http(s)://" host. */
int qrl_origin_allowed(const qrl_config *cfg, const char *origin, const char *host);

/* The request's host as the client named it: Host, or HTTP/2's :authority.
 * "" if absent or not shorter than cap. */
void qrl_request_host(struct lws *wsi, char *out, size_t cap);

/* For FILTER_PROTOCOL_CONNECTION of a websocket: captures the headers into c
 * and checks the upgrade's Origin (a missing one is refused when required).
 * A refusal is answered 403 and audited. Returns 0 to accept, -1 to refuse. */
int qrl_origin_filter_ws(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi, int required);

#endif /* QRLOGIN_ORIGIN_H */
