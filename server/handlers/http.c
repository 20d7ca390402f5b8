/*
 * http.c - the /api router and the HTTP answers (http.h).
 */
#include "handlers/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/clock.h"
#include "glue/config.h"
#include "helpers/cookie.h"
#include "helpers/num.h"
#include "glue/jsonio.h"
#include "glue/origin.h"
#include "glue/audit.h"
#include "glue/metrics.h"
#include "helpers/log.h"
#include "glue/services.h"

#define MAX_BODY 4096
#define BODY_SECS 10 /* a request body arrives whole within this */
#define MAX_TABLES 8

typedef struct route_table {
  const qrl_route *routes;
  size_t n;
} route_table;

struct qrl_http {
  route_table tables[MAX_TABLES];
  size_t ntables;
  int api;       /* the /api router (paths under /api, timed); else a top one */
  int operators; /* only for --metrics-allow clients */
  const qrl_http_pages *pages; /* a router of pages for people: HTML errors */
};

qrl_err qrl_http_add_routes(qrl_http *h, const qrl_route *routes, size_t n) {
  if (h->ntables >= MAX_TABLES) return QRL_NOMEM;
  h->tables[h->ntables].routes = routes;
  h->tables[h->ntables].n = n;
  h->ntables++;
  return QRL_OK;
}

/* The route of path for the method (post), else one of path for another
 * method (answered 405), else NULL. */
static const qrl_route *find_route(const qrl_http *h, const char *path, int post) {
  const qrl_route *other = NULL;
  for (size_t t = 0; t < h->ntables; t++)
    for (size_t i = 0; i < h->tables[t].n; i++) {
      const qrl_route *r = &h->tables[t].routes[i];
      if (strcmp(r->path, path) != 0) continue;
      if (r->post == post) return r;
      other = r;
    }
  return other;
}

/* ---- answers: HTTP/1 pipelining ---------------------------------------------
 *
 * An HTTP/1.1 client may send its next requests before the first answer
 * (pipelining, RFC 9112 §9.3.2). lws 4.1.6 keeps the bytes that follow a
 * request and mishandles them: parsed while the first request is still
 * unanswered (a worker may hold it), they make lws run the first request's
 * headers again and stop writing (both answers lost, the socket idle 10 s);
 * and a POST it takes from those bytes is fed its own headers as its body,
 * then completes again and again - the loop thread spins for ever.
 *
 * So, on HTTP/1: reading stops (rx flow control) once a request is whole or
 * answered, and nothing is parsed until the answer is written. Then, if any
 * input is waiting to be parsed, the answer says "Connection: close" and the
 * connection closes after it: the client sends the unanswered requests
 * again on a new connection (§9.3.2). lws tells only whether some
 * connection has input waiting (lws_service_adjust_timeout()): when another
 * one has, this one closes needlessly, which costs the client a reconnect
 * and nothing else. Requests one after another keep their connection.
 * A request lws takes from kept bytes after answering by itself (a static
 * file, a 404) is still parsed: a GET is answered as usual, and a POST is
 * refused by closing (on_body, LWS_CALLBACK_HTTP_BODY_COMPLETION).
 *
 * While reading is stopped lws 4.1.6 also stops an HTTP/1 connection's
 * WRITEABLE callbacks, so its answer is written from the connection's timer
 * (LWS_CALLBACK_TIMER), set when the answer is ready - never inside the
 * handler that made it, since ending the transaction frees c. HTTP/2 has
 * streams of its own (lws ignores flow control there): its answers are
 * written on WRITEABLE.
 */

/* 1 if wsi is an HTTP/1 connection, not a stream of an HTTP/2 one. */
static int is_h1(struct lws *wsi) { return lws_get_network_wsi(wsi) == wsi; }

/* Stops reading c's connection until its answer is written. */
static void hold_rx(qrl_conn *c) {
  if (c->rx_held || !is_h1(c->wsi)) return;
  c->rx_held = 1;
  lws_rx_flow_control(c->wsi, 0);
}

void qrl_http_respond(qrl_conn *c, int status, char *body, const char *cookie) {
  free(c->resp);
  free(c->resp_cookie);
  c->http_status = status;
  c->resp = body ? body : strdup("{}");
  c->resp_cookie = cookie ? strdup(cookie) : NULL;
  c->resp_type = NULL;
  c->resp_cache = NULL;
  free(c->resp_location);
  c->resp_location = NULL;
  c->resp_auth = NULL;
  c->resp_ready = 1;
  hold_rx(c);
  if (!c->rx_held) {
    lws_callback_on_writable(c->wsi);
    return;
  }
  lws_set_timer_usecs(c->wsi, 1);
  /* An answer from a worker comes while lws is not servicing: wake it, or
   * it would see the timer only at its next event. */
  lws_cancel_service(lws_get_context(c->wsi));
}

void qrl_http_respond_as(qrl_conn *c, int status, char *body, const char *type) {
  qrl_http_respond(c, status, body, NULL);
  c->resp_type = type;
}

void qrl_http_redirect(qrl_conn *c, const char *location, const char *cookie) {
  qrl_http_respond(c, 302, strdup(""), cookie);
  c->resp_type = "text/html; charset=utf-8";
  c->resp_location = strdup(location);
  if (!c->resp_location) {
    free(c->resp);
    c->resp = strdup("");
    c->http_status = 500;
  }
}

int qrl_http_status_for(qrl_err err) {
  switch (err) {
  case QRL_OK: return 200;
  case QRL_NOT_AUTHENTICATED:
  case QRL_BAD_CREDENTIALS: return 401;
  case QRL_BAD_ORIGIN:
  case QRL_LEVEL_TOO_LOW:
  case QRL_LEGACY_CLOSED:
  case QRL_FORBIDDEN: return 403;
  case QRL_NO_PHONE:
  case QRL_POPULATION_MISMATCH: return 409;
  case QRL_NOT_FOUND: return 404;
  case QRL_METHOD: return 405;
  case QRL_LENGTH_REQUIRED: return 411;
  case QRL_FRAME_TOO_BIG: return 413;
  case QRL_BAD_HOST: return 421;
  case QRL_RATE_LIMITED:
  case QRL_TOO_MANY_CHALLENGES_IP: return 429;
  case QRL_UNAVAILABLE:
  case QRL_SERVER_BUSY: return 503;
  case QRL_NOMEM: case QRL_INTERNAL: case QRL_DB: case QRL_CRYPTO: return 500;
  default: return 400;
  }
}

void qrl_http_error(qrl_conn *c, qrl_err err, cJSON *extra) {
  cJSON *o = extra ? extra : cJSON_CreateObject();
  qrl_metrics_error(qrl_services_of(c->wsi)->metrics, err);
  if (o) {
    cJSON_AddStringToObject(o, "code", qrl_err_code(err));
    cJSON_AddStringToObject(o, "message", qrl_err_message_vi(err));
    cJSON_AddStringToObject(o, "message_en", qrl_strerror(err));
  }
  qrl_http_respond(c, qrl_http_status_for(err), qrl_json_take_print(o), NULL);
}

/* Answers err as h's clients read it: JSON from the API and the operators'
 * routers, an HTML page from the pages router. */
static void answer_error(const qrl_http *h, qrl_conn *c, qrl_err err) {
  char *html;
  if (!h || !h->pages) {
    qrl_http_error(c, err, NULL);
    return;
  }
  qrl_metrics_error(qrl_services_of(c->wsi)->metrics, err);
  html = h->pages->error_html(qrl_http_status_for(err));
  if (!html) {
    qrl_http_error(c, err, NULL);
    return;
  }
  qrl_http_respond_as(c, qrl_http_status_for(err), html, "text/html; charset=utf-8");
}

void qrl_http_json(qrl_conn *c, cJSON *o, const char *token) {
  char cookie[160];
  int set = token && token[0];
  if (set)
    snprintf(cookie, sizeof(cookie),
             QRL_COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
             qrl_services_of(c->wsi)->cfg->tls_cert ? "; Secure" : "");
  qrl_http_respond(c, 200, qrl_json_take_print(o), set ? cookie : NULL);
}

void qrl_http_logged_in(qrl_conn *c, const char *token) {
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "redirect", "/portal.html");
  }
  qrl_http_json(c, o, token);
}

void qrl_http_submit(qrl_conn *c, qrl_task *t) {
  qrl_err rc = qrl_task_submit(t);
  if (rc) qrl_http_error(c, rc, NULL);
}

qrl_task *qrl_http_cookie_task(qrl_services *sv, qrl_conn *c, const qrl_task_type *type,
                               size_t size, size_t session_at) {
  qrl_task *t = qrl_task_new(sv->tasks, c, type, size);
  if (!t) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return NULL;
  }
  memcpy((char *)t + session_at, c->cookie, QRL_SESSION_B64LEN + 1);
  return t;
}

int qrl_http_throttled(qrl_conn *c, qrl_task *t) {
  int64_t retry = 0;
  cJSON *o;
  if (qrl_task_take(t, c, &retry)) return 0;
  qrl_task_free(t);
  o = cJSON_CreateObject();
  if (o) cJSON_AddNumberToObject(o, "retry_in", (double)retry);
  qrl_http_error(c, QRL_RATE_LIMITED, o);
  return 1;
}

/* ---- refusals ------------------------------------------------------------- */

/* Answers err before the request's body and ends the connection: the answer
 * says "Connection: close"; a body the client still sends is read and
 * dropped until it hangs up (or 10 s pass) - closing at once, with its bytes
 * unread, would reset the connection and could lose the answer. A request
 * pipelined behind it is not answered; "close" tells the client to send it
 * again (RFC 9112 §9.6). */
static void refuse(const qrl_http *h, qrl_conn *c, qrl_err err) {
  c->resp_close = 1;
  c->body_len = MAX_BODY + 1; /* ignore whatever body follows */
  answer_error(h, c, err);
}

/* How the request's body is delimited (RFC 9112 §6), checked before any of
 * it is read: QRL_OK, or the refusal. No Transfer-Encoding is taken: no
 * chunked uploads (411 for a POST without a Content-Length), and one beside
 * a Content-Length is how requests are smuggled past a proxy that reads the
 * other one (400, §6.3). A Content-Length is one plain decimal number (lws
 * would read "+2", "0x2" or a repeated "2,20" as some number); a GET has no
 * body. HTTP/1.1 (it has a Host) POSTs need a Content-Length; HTTP/2 frames
 * carry the length. */
static qrl_err check_framing(struct lws *wsi, int post) {
  char v[24];
  long n = 0;
  int cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);

  if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
    return post && cl <= 0 ? QRL_LENGTH_REQUIRED : QRL_BAD_REQUEST;
  if (cl > 0 && (cl >= (int)sizeof(v) ||
                 lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0 ||
                 qrl_parse_long(v, 0, LONG_MAX, &n)))
    return QRL_BAD_REQUEST;
  if (!post && n > 0) return QRL_BAD_REQUEST;
  if (post && cl <= 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0)
    return QRL_LENGTH_REQUIRED;
  return QRL_OK;
}

/* ---- routing -------------------------------------------------------------- */

/* Our session cookie from the Cookie header (lws_http_cookie_get is
 * unreliable in 4.1.6; the parsing itself is cookie.c, fuzzed). */
static void read_cookie(const qrl_http *h, struct lws *wsi, qrl_conn *c) {
  char hdr[1024];
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);

  c->cookie[0] = '\0';
  if (n <= 0 || n >= (int)sizeof(hdr)) return;
  if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) < 0) return;
  qrl_cookie_find(hdr, QRL_COOKIE_NAME, QRL_SESSION_B64LEN, c->cookie, sizeof(c->cookie));
  /* Outside /api, the OpenID provider's cookie (SameSite=Lax, sent on a
   * portal's cross-site navigation) stands for the session too. */
  if (!c->cookie[0] && !h->api)
    qrl_cookie_find(hdr, QRL_OP_COOKIE_NAME, QRL_SESSION_B64LEN, c->cookie, sizeof(c->cookie));
}

/* A GET, or a POST whose body has arrived: checks it and runs its route. */
static void route(qrl_http *h, struct lws *wsi, qrl_conn *c) {
  qrl_services *sv = qrl_services_of(wsi);
  const qrl_route *r = find_route(h, c->path, c->method_post);
  cJSON *body = NULL;
  char host[128] = "";

  /* The operators' URLs do not exist for anyone else (not even 405). */
  if (h->operators && !qrl_config_metrics_allowed(sv->cfg, c->ip)) r = NULL;
  if (!r) {
    /* Pages are only read: a POST to one is the wrong method. */
    answer_error(h, c, h->pages && c->method_post ? QRL_METHOD : QRL_NOT_FOUND);
    return;
  }
  if (r->post != c->method_post) {
    answer_error(h, c, QRL_METHOD);
    return;
  }
  qrl_request_host(wsi, host, sizeof(host));
  if (r->post && r->body != QRL_ROUTE_FORM && !qrl_origin_allowed(sv->cfg, qrl_conn_origin(c), host)) {
    qrl_audit_refusal(sv->audit, c, "http_post", QRL_BAD_ORIGIN, qrl_conn_origin(c));
    qrl_http_error(c, QRL_BAD_ORIGIN, NULL);
    return;
  }
  if (r->body == QRL_ROUTE_JSON) {
    body = c->body ? cJSON_ParseWithLength(c->body, c->body_len) : NULL;
    if (!cJSON_IsObject(body)) {
      qrl_http_error(c, QRL_BAD_JSON, NULL);
      goto out;
    }
  }
  if (r->cookie && !c->cookie[0]) {
    qrl_http_error(c, QRL_NOT_AUTHENTICATED, NULL);
    goto out;
  }
  r->handle(sv, c, body);
out:
  cJSON_Delete(body);
}

/* Writes c's answer and ends the request. Returns 0 (c may be gone: lws
 * frees it when the connection waits for its next request), or -1 if the
 * connection must close. */
static int write_response(struct lws *wsi, qrl_conn *c) {
  unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *p = start,
                                     *end = &buf[sizeof(buf) - 1];
  size_t blen = c->resp ? strlen(c->resp) : 0;
  unsigned char *out;
  int n, closing, held = c->rx_held;
  int64_t left;

  if (held) {
    /* Reading resumes once the transaction is over; any input already
     * waiting is a pipelined request: this answer is the connection's last. */
    c->rx_held = 0;
    lws_rx_flow_control(wsi, 1);
    if (!lws_service_adjust_timeout(lws_get_context(wsi), 1, 0)) c->resp_close = 1;
  }

  /* Given no length, lws says "connection: close" and closes after the
   * answer; a closing answer declares its length all the same. */
  if (lws_add_http_common_headers(wsi, (unsigned)c->http_status,
                                  c->resp_type ? c->resp_type
                                               : "application/json; charset=utf-8",
                                  c->resp_close ? LWS_ILLEGAL_HTTP_CONTENT_LEN
                                                : (lws_filepos_t)blen,
                                  &p, end) ||
      (c->resp_close &&
       lws_add_http_header_content_length(wsi, (lws_filepos_t)blen, &p, end)))
    return -1;
  if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)(c->resp_cache ? c->resp_cache : "no-store"),
                                  (int)strlen(c->resp_cache ? c->resp_cache : "no-store"), &p, end))
    return -1;
  if (!c->resp_cache &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"pragma:",
                                  (const unsigned char *)"no-cache", 8, &p, end))
    return -1;
  if (c->resp_location &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"location:",
                                  (const unsigned char *)c->resp_location,
                                  (int)strlen(c->resp_location), &p, end))
    return -1;
  if (c->resp_auth &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                  (const unsigned char *)c->resp_auth,
                                  (int)strlen(c->resp_auth), &p, end))
    return -1;
  if (c->resp_cookie &&
      lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                  (const unsigned char *)c->resp_cookie,
                                  (int)strlen(c->resp_cookie), &p, end))
    return -1;
  if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
  out = malloc(LWS_PRE + blen + 1);
  if (!out) return -1;
  memcpy(out + LWS_PRE, c->resp, blen);
  n = lws_write(wsi, out + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL);
  free(out);
  if (n < 0) return -1;
  c->resp_ready = 0;
  c->resp_type = NULL;
  c->resp_cache = NULL;
  if (c->req_start_us) {
    qrl_histogram_observe(&qrl_services_of(wsi)->metrics->http,
                          qrl_metrics_now_us() - c->req_start_us);
    c->req_start_us = 0;
  }
  free(c->resp);
  free(c->resp_cookie);
  free(c->resp_location);
  c->resp = c->resp_cookie = c->resp_location = NULL;
  c->resp_auth = NULL;
  free(c->body);
  c->body = NULL;
  c->body_len = 0;
  /* lws sends what it kept of a long answer only after reading again:
   * such a connection closes once the answer is out (lws flushes first),
   * so that nothing is parsed meanwhile. */
  if (held && lws_partial_buffered(wsi)) return -1;
  closing = c->resp_close;
  left = c->body_deadline - qrl_clock_mono_ms(qrl_services_of(wsi)->clock);
  if (lws_http_transaction_completed(wsi)) return -1;
  /* c may be gone from here on. Still open after a closing answer: lws
   * drops the body still coming, resetting its own timeout at each piece;
   * the body's 10 s stand all the same. */
  if (closing && held) lws_set_timer_usecs(wsi, left > 0 ? (lws_usec_t)left * 1000 : 1);
  return 0;
}

static int on_request(qrl_http *h, struct lws *wsi, qrl_conn *c, const char *in,
                      size_t len) {
  qrl_services *sv = qrl_services_of(wsi);
  size_t n = len < sizeof(c->path) ? len : 0;
  int head;
  qrl_err rc;
  /* lws 4.1.6 hands a GET the whole URI ("/api/me") but a POST only the
   * part under the mount ("/session"): route on the part under /api. */
  if (h->api && n >= 5 && memcmp(in, "/api/", 5) == 0) {
    in += 4;
    n -= 4;
  }
  if (!c->id) qrl_conn_register(sv->conns, c, wsi, QRL_CONN_HTTP);
  qrl_conn_capture_headers(c, wsi);
  read_cookie(h, wsi, c);
  memcpy(c->path, in, n);
  c->path[n] = '\0';
  /* ... and a top-level router's POST nothing useful: its whole path is
   * its POST URI (no query: lws keeps that apart). */
  if (!h->api && !h->pages && lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
    int m = lws_hdr_copy(wsi, c->path, sizeof(c->path), WSI_TOKEN_POST_URI);
    if (m < 0) c->path[0] = '\0';
  }
  free(c->body);
  c->body = NULL;
  c->body_len = 0;
  c->body_done = 0;
  c->req_start_us = h->api ? qrl_metrics_now_us() : 0;
  /* A body, wanted or not, arrives whole within 10 s however it trickles. */
  c->body_deadline = qrl_clock_mono_ms(sv->clock) + BODY_SECS * 1000;
  c->method_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
  /* Pages take a HEAD too (lws sends a file's headers only). */
  head = h->pages && lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
  if (!c->method_post && !head && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
    refuse(h, c, QRL_METHOD); /* HEAD, PUT, DELETE, OPTIONS... */
    return 0;
  }
  if ((rc = check_framing(wsi, c->method_post))) {
    refuse(h, c, rc);
    return 0;
  }
  if (c->method_post) return 0; /* wait for the body */
  if (h->pages) {
    /* A file is sent by lws, which needs the connection read (see above):
     * reading stops only for an answer of ours. */
    if (len >= sizeof(c->path)) answer_error(h, c, QRL_NOT_FOUND); /* no such name */
    else if (h->pages->get(sv, c, wsi) < 0) return -1;
    /* Our answer to a HEAD has its body all the same: the connection
     * closes after it, so that nothing reads that body as an answer. */
    if (head && c->resp_ready) c->resp_close = 1;
    return 0;
  }
  hold_rx(c);
  route(h, wsi, c);
  return 0;
}

/* 1 if a body starts with a POST request line: lws 4.1.6 feeding a request
 * it took from kept bytes its own headers as body (see above). No JSON body
 * starts so. */
static int replayed_request(const char *in, size_t len) {
  while (len && (*in == '\r' || *in == '\n')) {
    in++;
    len--;
  }
  return len >= 5 && memcmp(in, "POST ", 5) == 0;
}

static int on_body(const qrl_http *h, struct lws *wsi, qrl_conn *c, const void *in,
                   size_t len) {
  if (!len) return 0; /* lws passes in == NULL for an empty body */
  if (!c->body_len && replayed_request(in, len)) {
    qrl_log_kv(qrl_services_of(wsi)->log, QRL_LOG_DEBUG, "http_refused", "ip", c->ip, "msg",
               "pipelined POST: closing", (const char *)NULL);
    return -1; /* unanswered: the client sends it again */
  }
  if (qrl_clock_mono_ms(qrl_services_of(wsi)->clock) > c->body_deadline) {
    qrl_log_kv(qrl_services_of(wsi)->log, QRL_LOG_DEBUG, "http_refused", "ip", c->ip, "msg",
               "body too slow: dropped", (const char *)NULL);
    return -1;
  }
  if (c->body_len + len > MAX_BODY) {
    if (c->body_len <= MAX_BODY) answer_error(h, c, QRL_FRAME_TOO_BIG);
    c->body_len = MAX_BODY + 1; /* ignore the rest */
    return 0;
  }
  if (!c->body && !(c->body = malloc(MAX_BODY + 1))) return -1;
  memcpy(c->body + c->body_len, in, len);
  c->body_len += len;
  return 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len) {
  qrl_conn *c = user;
  const struct lws_protocols *p = lws_get_protocol(wsi);
  qrl_http *h = p ? p->user : NULL;

  switch (reason) {
  case LWS_CALLBACK_HTTP:
    return on_request(h, wsi, c, in, len);
  case LWS_CALLBACK_HTTP_BODY:
    return on_body(h, wsi, c, in, len);
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    if (c->body_done++) return -1; /* lws completing a taken request again */
    hold_rx(c);
    if (c->body_len > MAX_BODY) return 0; /* already answered */
    route(h, wsi, c);
    return 0;
  case LWS_CALLBACK_TIMER: /* HTTP/1 */
    if (!c) return 0;
    if (c->resp_ready && c->rx_held) return write_response(wsi, c); /* qrl_http_respond */
    return c->resp_close && !c->resp_ready ? -1 : 0; /* a refused body's 10 s are up */
  case LWS_CALLBACK_HTTP_WRITEABLE: /* HTTP/2 */
    if (!c || !c->resp_ready || c->rx_held) return 0;
    return write_response(wsi, c);
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    if (c) qrl_conn_release(qrl_services_of(wsi)->conns, c);
    return 0;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* A router for protocol name (static) at the NULL-terminated mountpoints. */
static qrl_http *attach(qrl_server *srv, const char *name, const char *const *mounts,
                        int api, int operators, const qrl_http_pages *pages) {
  qrl_http *h = calloc(1, sizeof(*h));
  /* An answer goes out in one send (lws would keep all past rx_buffer_size
   * for later, and a kept answer ends an HTTP/1 connection: see above). */
  struct lws_protocols p = {name, http_callback, sizeof(qrl_conn), 0, 0, NULL, 64 * 1024};
  if (!h) return NULL;
  h->api = api;
  h->operators = operators;
  h->pages = pages;
  p.user = h;
  if (qrl_server_at_free(srv, free, h)) {
    free(h);
    return NULL;
  }
  if (qrl_server_add_protocol(srv, &p)) return NULL; /* freed with srv */
  for (; *mounts; mounts++)
    if (qrl_server_add_mount(srv, *mounts, name)) return NULL;
  return h;
}

qrl_http *qrl_http_attach(qrl_server *srv) {
  static const char *const mounts[] = {"/api", NULL};
  return attach(srv, "qrl-api", mounts, 1, 0, NULL);
}

qrl_http *qrl_http_attach_top(qrl_server *srv, const char *name,
                              const char *const *mountpoints, int operators) {
  return attach(srv, name, mountpoints, 0, operators, NULL);
}

qrl_http *qrl_http_attach_pages(qrl_server *srv, const char *name,
                                const char *const *mountpoints,
                                const qrl_http_pages *pages) {
  return attach(srv, name, mountpoints, 0, 0, pages);
}
