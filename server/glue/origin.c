/*
 * origin.c - Host and Origin checks (origin.h).
 */
#include "glue/origin.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glue/metrics.h"
#include "glue/services.h"
#include "helpers/errpage.h"
#include "helpers/netaddr.h"
#include "helpers/text.h"
#include "helpers/log.h"

int qrl_host_allowed(const qrl_config *cfg, const char *host) {
  char name[QRL_HOST_NAME_MAX], other[QRL_HOST_NAME_MAX];
  int port;

  if (qrl_host_parse(host, name, &port)) return 0;
  if (cfg->demo && qrl_host_is_loopback(name)) return 1;
  for (size_t i = 0; i < cfg->norigins; i++) {
    const char *auth = strstr(cfg->origins[i], "://");
    if (auth && qrl_host_parse(auth + 3, other, &port) == 0 && strcmp(name, other) == 0)
      return 1;
  }
  for (size_t i = 0; i < cfg->nhosts; i++)
    if (qrl_host_parse(cfg->hosts[i], other, &port) == 0 && strcmp(name, other) == 0)
      return 1;
  return 0;
}

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

/* The token that carries the request's host: Host, or HTTP/2's :authority;
 * -1 if the request has neither. */
static int host_token(struct lws *wsi) {
  if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0) return WSI_TOKEN_HOST;
#if defined(LWS_ROLE_H2)
  /* HTTP/2 (ALPN "h2" on TLS) has no Host header, only :authority. */
  if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COLON_AUTHORITY) > 0)
    return WSI_TOKEN_HTTP_COLON_AUTHORITY;
#endif
  return -1;
}

void qrl_request_host(struct lws *wsi, char *out, size_t cap) {
  int tok = host_token(wsi);
  int n = tok < 0 ? 0 : lws_hdr_total_length(wsi, (enum lws_token_indexes)tok);
  out[0] = '\0';
  if (n <= 0 || (size_t)n >= cap) return; /* none, or longer than any we allow */
  if (lws_hdr_copy(wsi, out, (int)cap, (enum lws_token_indexes)tok) < 0) out[0] = '\0';
}

/* 1 if the request is a person's browser asking for a page: it accepts
 * HTML and its path is not under /api (whose clients read JSON). */
static int wants_page(struct lws *wsi) {
  char accept[256] = "", path[512] = "";
  int tok = WSI_TOKEN_GET_URI, n;
#if defined(LWS_ROLE_H2)
  if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) tok = WSI_TOKEN_HTTP_COLON_PATH;
#endif
  n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_ACCEPT);
  if (n <= 0 || n >= (int)sizeof(accept) ||
      lws_hdr_copy(wsi, accept, sizeof(accept), WSI_TOKEN_HTTP_ACCEPT) < 0 ||
      !strstr(accept, "text/html"))
    return 0;
  n = lws_hdr_total_length(wsi, (enum lws_token_indexes)tok);
  if (n <= 0 || n >= (int)sizeof(path) ||
      lws_hdr_copy(wsi, path, sizeof(path), (enum lws_token_indexes)tok) < 0)
    return 0;
  return strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0;
}

/* Answers the request with status and err's JSON body ({code, message,
 * message_en}, as every /api error) - or, to a person's browser asking for
 * a page, the HTML error page - written now: the caller closes the
 * connection next. 0, or -1 if it could not be written. */
static int answer_now(struct lws *wsi, unsigned int status, qrl_err err) {
  unsigned char buf[LWS_PRE + 4096], *start = &buf[LWS_PRE], *p = start,
                                     *end = &buf[sizeof(buf) - 1];
  cJSON *o = NULL;
  char *body = NULL, len[24];
  const char *type = "application/json; charset=utf-8";
  int h2 = lws_get_network_wsi(wsi) != wsi, rc = -1, n, blen;

  if (wants_page(wsi)) {
    if (!(body = qrl_errpage_html((int)status))) goto out;
    type = "text/html; charset=utf-8";
  } else if (!(o = cJSON_CreateObject()) ||
             !cJSON_AddStringToObject(o, "code", qrl_err_code(err)) ||
             !cJSON_AddStringToObject(o, "message", qrl_err_message_vi(err)) ||
             !cJSON_AddStringToObject(o, "message_en", qrl_strerror(err)) ||
             !(body = cJSON_PrintUnformatted(o))) {
    goto out;
  }
  blen = (int)strlen(body);
  n = snprintf(len, sizeof(len), "%d", blen);
  if (lws_add_http_header_status(wsi, status, &p, end) ||
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                   (const unsigned char *)type, (int)strlen(type), &p, end) ||
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                   (const unsigned char *)len, n, &p, end) ||
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                   (const unsigned char *)"no-store", 8, &p, end) ||
      (!h2 && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                           (const unsigned char *)"close", 5, &p, end)) ||
      lws_finalize_http_header(wsi, &p, end))
    goto out;
  if (h2) {
    /* HTTP/2: the headers are a frame of their own, the body ends the stream. */
    n = (int)(p - start);
    if (lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP_HEADERS) != n) goto out;
    if (blen + 1 > end - start) goto out;
    memcpy(start, body, (size_t)blen);
    if (lws_write(wsi, start, (size_t)blen, LWS_WRITE_HTTP_FINAL) != blen) goto out;
  } else {
    /* HTTP/1: headers and body in one write (as lws_return_http_status). */
    if (blen > end - p) goto out;
    memcpy(p, body, (size_t)blen);
    n = (int)(p - start) + blen;
    if (lws_write(wsi, start, (size_t)n, LWS_WRITE_HTTP) != n) goto out;
  }
  rc = 0;
out:
  free(body);
  cJSON_Delete(o);
  return rc;
}

/* The Host check of every request: 0 if its Host is served here; else the
 * request is answered (400 without a Host, 421 for one not served), the
 * refusal audited as event, and -1. */
static int check_host(const qrl_config *cfg, qrl_audit *audit, const qrl_conn *c,
                      struct lws *wsi, const char *event) {
  char host[QRL_HOST_NAME_MAX + 8] = "", detail[72];
  int tok = host_token(wsi);
  unsigned int status = HTTP_STATUS_BAD_REQUEST;

  if (tok >= 0) {
    int n = lws_hdr_total_length(wsi, (enum lws_token_indexes)tok);
    if (n > 0 && (size_t)n < sizeof(host) &&
        lws_hdr_copy(wsi, host, (int)sizeof(host), (enum lws_token_indexes)tok) < 0)
      host[0] = '\0';
    if (host[0] && qrl_host_allowed(cfg, host)) return 0;
    status = 421; /* Misdirected Request (RFC 9110 15.5.20) */
    /* The sender's text, cleaned and cut, goes into the audit detail. */
    snprintf(detail, sizeof(detail), "host %.60s", host[0] ? host : "(too long)");
    qrl_text_clean(detail, 0);
  } else {
    snprintf(detail, sizeof(detail), "no host");
  }
  qrl_log_kv(qrl_services_of(wsi)->log, QRL_LOG_DEBUG, "refused", "what", event, "ip", c->ip,
             "detail", detail, (const char *)NULL);
  qrl_audit_refusal(audit, c, event, QRL_BAD_HOST, detail);
  qrl_metrics_error(qrl_services_of(wsi)->metrics, QRL_BAD_HOST);
  answer_now(wsi, status, QRL_BAD_HOST);
  return -1;
}

int qrl_host_filter_http(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi) {
  qrl_conn_capture_headers(c, wsi);
  return check_host(cfg, audit, c, wsi, "http_request");
}

int qrl_origin_filter_ws(const qrl_config *cfg, qrl_audit *audit, qrl_conn *c,
                         struct lws *wsi, int required) {
  char host[128] = "";

  qrl_conn_capture_headers(c, wsi);
  if (check_host(cfg, audit, c, wsi, "ws_upgrade")) return -1;
  qrl_request_host(wsi, host, sizeof(host));
  if (!c->origin && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
    /* present but longer than we keep: never allowed */
    qrl_audit_refusal(audit, c, "ws_upgrade", QRL_BAD_ORIGIN, "origin too long");
    qrl_metrics_error(qrl_services_of(wsi)->metrics, QRL_BAD_ORIGIN);
    lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
    return -1;
  }
  if (!c->origin && !required) return 0;
  if (qrl_origin_allowed(cfg, qrl_conn_origin(c), host)) return 0;
  qrl_log_kv(qrl_services_of(wsi)->log, QRL_LOG_DEBUG, "refused", "what", "ws_upgrade", "ip",
             c->ip, "origin", qrl_conn_origin(c), (const char *)NULL);
  qrl_audit_refusal(audit, c, "ws_upgrade", QRL_BAD_ORIGIN, qrl_conn_origin(c));
  qrl_metrics_error(qrl_services_of(wsi)->metrics, QRL_BAD_ORIGIN);
  /* Answer 403 instead of just dropping the socket, so that a client can
   * tell "refused" from "network trouble". */
  lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
  return -1;
}
