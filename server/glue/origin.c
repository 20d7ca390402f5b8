/*
 * origin.c - Host and Origin checks (origin.h).
 */
#include "glue/origin.h"

#include <stdio.h>
#include <string.h>

int qrl_origin_allowed(const qrl_config *cfg, const char *origin, const char *host) {
  char self[160];

  if (!origin || !*origin) return 0;
  if (cfg->norigins) {
    for (size_t i = 0; i < cfg->norigins; i++)
      if (strcmp(origin, cfg->origins[i]) == 0) return 1;
    return 0;
  }
  if (!host || !*host) return 0;
  if (snprintf(self, sizeof(self), "%s://%s", cfg->tls_cert ? "https" : "http", host) >=
      (int)sizeof(self))
    return 0;
  return strcmp(origin, self) == 0;
}

void qrl_request_host(struct lws *wsi, char *out, size_t cap) {
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
  enum lws_token_indexes tok = WSI_TOKEN_HOST;
#if defined(LWS_ROLE_H2)
  /* HTTP/2 (ALPN "h2" on TLS) has no Host header, only :authority. */
  if (n <= 0) {
    tok = WSI_TOKEN_HTTP_COLON_AUTHORITY;
    n = lws_hdr_total_length(wsi, tok);
  }
#endif
  out[0] = '\0';
  if (n <= 0 || (size_t)n >= cap) return; /* none, or longer than any we allow */
  if (lws_hdr_copy(wsi, out, (int)cap, tok) < 0) out[0] = '\0';
}

int qrl_origin_filter_ws(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi, int required) {
  char host[128] = "";

  qrl_conn_capture_headers(c, wsi);
  qrl_request_host(wsi, host, sizeof(host));
  if (!c->origin[0] && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
    /* present but longer than we keep: never allowed */
    qrl_audit_refusal(audit, c, "ws_upgrade", QRL_BAD_ORIGIN, "origin too long");
    lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
    return -1;
  }
  if (!c->origin[0] && !required) return 0;
  if (qrl_origin_allowed(cfg, c->origin, host)) return 0;
  lwsl_notice("refused websocket upgrade from %s: origin '%s'\n", c->ip, c->origin);
  qrl_audit_refusal(audit, c, "ws_upgrade", QRL_BAD_ORIGIN, c->origin);
  /* Answer 403 instead of just dropping the socket, so that a client can
   * tell "refused" from "network trouble". */
  lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
  return -1;
}
