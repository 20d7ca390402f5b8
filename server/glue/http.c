/*
 * http.c - the HTTP side of qrlogind: the refusing default protocol and the
 * small JSON API under /api (static files are an lws mount, see server.c).
 *
 *   POST /api/session  {"code","binding"} -> web session cookie
 *   GET  /api/me       cookie -> who is logged in
 *   POST /api/logout   cookie -> session ended server-side, cookie cleared
 *
 * State-changing requests must carry an allowed Origin (CSRF). The session
 * cookie is HttpOnly, SameSite=Strict, Path=/. Database work goes to a worker;
 * the answer is written when it comes back. Not here: the websockets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonio.h"
#include "server.h"

#define QRL_COOKIE_NAME "qrl_session"
#define QRL_MAX_BODY 4096

int qrl_reject_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len) {
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    return -1; /* no (or an unknown) subprotocol: no upgrade */
  case LWS_CALLBACK_HTTP:
    if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Finds our cookie in the Cookie header (lws_http_cookie_get is unreliable in
 * 4.1.6): exact name match at a pair boundary, a token-shaped value. */
static void read_cookie(struct lws *wsi, qrl_conn *c) {
  char hdr[1024];
  const char *p;
  size_t nlen = strlen(QRL_COOKIE_NAME);
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);

  c->cookie[0] = '\0';
  if (n <= 0 || n >= (int)sizeof(hdr)) return;
  if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) < 0) return;
  for (p = hdr; *p;) {
    while (*p == ' ' || *p == ';') p++;
    if (strncmp(p, QRL_COOKIE_NAME, nlen) == 0 && p[nlen] == '=') {
      const char *v = p + nlen + 1;
      size_t vl = strcspn(v, ";");
      while (vl && v[vl - 1] == ' ') vl--;
      if (vl == QRL_SESSION_B64LEN) {
        memcpy(c->cookie, v, vl);
        c->cookie[vl] = '\0';
      }
      return;
    }
    p += strcspn(p, ";");
  }
}

/* Prepares the response; it is written on the next HTTP_WRITEABLE. */
static void respond(qrl_conn *c, int status, char *body, const char *cookie) {
  free(c->resp);
  free(c->resp_cookie);
  c->http_status = status;
  c->resp = body ? body : strdup("{}");
  c->resp_cookie = cookie ? strdup(cookie) : NULL;
  c->resp_ready = 1;
  lws_callback_on_writable(c->wsi);
}

static int status_for(qrl_err err) {
  switch (err) {
  case QRL_OK: return 200;
  case QRL_NOT_AUTHENTICATED: return 401;
  case QRL_BAD_ORIGIN: return 403;
  case QRL_NOT_FOUND: return 404;
  case QRL_METHOD: return 405;
  case QRL_FRAME_TOO_BIG: return 413;
  case QRL_RATE_LIMITED: return 429;
  case QRL_UNAVAILABLE: return 503;
  case QRL_NOMEM: case QRL_INTERNAL: case QRL_DB: case QRL_CRYPTO: return 500;
  default: return 400;
  }
}

static void respond_error(qrl_conn *c, qrl_err err) {
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "code", qrl_err_code(err));
    cJSON_AddStringToObject(o, "message", qrl_err_message_vi(err));
  }
  respond(c, status_for(err), qrl_json_take_print(o), NULL);
}

/* ---- tasks ---------------------------------------------------------------- */

static void exchange_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_exchange_code(db, &t->srv->pol, t->code, t->binding, &rc,
                                 t->token, &t->web);
}

static void exchange_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  char cookie[160];
  cJSON *o;

  (void)srv;
  if (!c) return;
  if (t->rc) {
    respond_error(c, t->rc);
    return;
  }
  snprintf(cookie, sizeof(cookie),
           QRL_COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/", t->token);
  o = cJSON_CreateObject();
  if (o) {
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "redirect", "/portal.html");
  }
  respond(c, 200, qrl_json_take_print(o), cookie);
}

static void me_run(qrl_db *db, qrl_task *t) {
  t->rc = qrl_acct_web_session(db, &t->srv->pol, t->session, t->now, &t->web);
}

static void me_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o;

  (void)srv;
  if (!c) return;
  if (t->rc) {
    respond_error(c, t->rc);
    return;
  }
  o = cJSON_CreateObject();
  if (o) {
    qrl_json_add_account(o, &t->web.citizen);
    cJSON_AddStringToObject(o, "method", t->web.method);
    cJSON_AddNumberToObject(o, "login_at", (double)t->web.created_at);
  }
  respond(c, 200, qrl_json_take_print(o), NULL);
}

static void logout_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_web_logout(db, t->session, &rc);
}

static void logout_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  (void)srv;
  if (!c) return;
  if (t->rc) {
    respond_error(c, t->rc);
    return;
  }
  respond(c, 200, strdup("{\"ok\":true}"),
          QRL_COOKIE_NAME "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

static void submit_or_fail(qrl_conn *c, qrl_task *t) {
  qrl_err rc = qrl_task_submit(t);
  if (rc) respond_error(c, rc);
}

/* ---- routing -------------------------------------------------------------- */

static int origin_ok(qrl_server *srv, struct lws *wsi, qrl_conn *c) {
  char host[128] = "";
  if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) < (int)sizeof(host))
    lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST);
  return qrl_server_origin_allowed(srv, c->origin, host);
}

/* A GET, or a POST whose body has arrived: act on it. */
static void route(qrl_server *srv, struct lws *wsi, qrl_conn *c) {
  qrl_task *t = NULL;
  cJSON *body = NULL;
  const char *code, *binding;

  if (strcmp(c->path, "/session") == 0 || strcmp(c->path, "/logout") == 0) {
    if (!c->method_post) {
      respond_error(c, QRL_METHOD);
      return;
    }
    if (!origin_ok(srv, wsi, c)) {
      qrl_server_audit(srv, c, "http_post", QRL_BAD_ORIGIN, NULL, c->origin, NULL);
      respond_error(c, QRL_BAD_ORIGIN);
      return;
    }
  } else if (strcmp(c->path, "/me") == 0) {
    if (c->method_post) {
      respond_error(c, QRL_METHOD);
      return;
    }
  } else {
    respond_error(c, QRL_NOT_FOUND);
    return;
  }

  if (strcmp(c->path, "/session") == 0) {
    qrl_err rc;
    body = c->body ? cJSON_ParseWithLength(c->body, c->body_len) : NULL;
    if (!cJSON_IsObject(body)) {
      respond_error(c, QRL_BAD_JSON);
      goto out;
    }
    rc = qrl_json_str(body, "code", QRL_SESSION_B64LEN, &code);
    if (!rc) rc = qrl_json_str(body, "binding", QRL_TOKEN_B64LEN, &binding);
    if (rc) {
      respond_error(c, rc);
      goto out;
    }
    t = qrl_task_new(srv, c, "session");
    if (!t) {
      respond_error(c, QRL_NOMEM);
      goto out;
    }
    snprintf(t->code, sizeof(t->code), "%s", code);
    snprintf(t->binding, sizeof(t->binding), "%s", binding);
    t->run = exchange_run;
    t->done = exchange_done;
    submit_or_fail(c, t);
    goto out;
  }

  /* /me and /logout need the session cookie. */
  if (!c->cookie[0]) {
    if (strcmp(c->path, "/logout") == 0)
      respond(c, 200, strdup("{\"ok\":true}"), NULL);
    else
      respond_error(c, QRL_NOT_AUTHENTICATED);
    goto out;
  }
  t = qrl_task_new(srv, c, c->path + 1);
  if (!t) {
    respond_error(c, QRL_NOMEM);
    goto out;
  }
  memcpy(t->session, c->cookie, sizeof(t->session));
  if (strcmp(c->path, "/me") == 0) {
    t->run = me_run;
    t->done = me_done;
  } else {
    t->run = logout_run;
    t->done = logout_done;
  }
  submit_or_fail(c, t);
out:
  cJSON_Delete(body);
}

static int write_response(struct lws *wsi, qrl_conn *c) {
  unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *p = start,
                                     *end = &buf[sizeof(buf) - 1];
  size_t blen = c->resp ? strlen(c->resp) : 0;
  unsigned char *out;
  int n;

  if (lws_add_http_common_headers(wsi, (unsigned)c->http_status,
                                  "application/json; charset=utf-8",
                                  (lws_filepos_t)blen, &p, end))
    return -1;
  if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &p, end))
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
  free(c->resp);
  free(c->resp_cookie);
  c->resp = c->resp_cookie = NULL;
  free(c->body);
  c->body = NULL;
  c->body_len = 0;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int qrl_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len) {
  qrl_conn *c = user;
  qrl_server *srv = qrl_server_of(wsi);

  switch (reason) {
  case LWS_CALLBACK_HTTP: {
    size_t n = len < sizeof(c->path) ? len : 0;
    /* lws 4.1.6 hands a GET the whole URI ("/api/me") but a POST only the
     * part under the mount ("/session"): route on the part under /api. */
    if (n >= 5 && memcmp(in, "/api/", 5) == 0) {
      in = (char *)in + 4;
      n -= 4;
    }
    if (!c->id) qrl_conn_register(&srv->conns, c, wsi, QRL_CONN_HTTP);
    qrl_conn_capture_headers(c, wsi);
    read_cookie(wsi, c);
    memcpy(c->path, in, n);
    c->path[n] = '\0';
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->method_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (c->method_post) return 0; /* wait for the body */
    route(srv, wsi, c);
    return 0;
  }
  case LWS_CALLBACK_HTTP_BODY:
    if (!len) return 0; /* lws passes in == NULL for an empty body */
    if (c->body_len + len > QRL_MAX_BODY) {
      if (c->body_len <= QRL_MAX_BODY) respond_error(c, QRL_FRAME_TOO_BIG);
      c->body_len = QRL_MAX_BODY + 1; /* ignore the rest */
      return 0;
    }
    if (!c->body && !(c->body = malloc(QRL_MAX_BODY + 1))) return -1;
    memcpy(c->body + c->body_len, in, len);
    c->body_len += len;
    return 0;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    if (c->body_len > QRL_MAX_BODY) return 0; /* already answered 413 */
    route(srv, wsi, c);
    return 0;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    if (!c->resp_ready) return 0;
    return write_response(wsi, c);
  case LWS_CALLBACK_CLOSED_HTTP:
  case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    if (c) qrl_conn_release(&srv->conns, c);
    return 0;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}
