/*
 * http.h - the JSON API under /api: a router that other handlers give their
 * routes to, and the answers they write.
 *
 * A route is one row - path, method, whether it takes a JSON body and needs
 * the session cookie, and its handler - in its module's table. The router
 * checks, in this order: the path, the method, the Origin of every POST
 * (CSRF), the body (a JSON object, at most 4 KB, whole within 10 s), the
 * cookie; then the handler runs on the loop thread and either answers at
 * once or hands a task to a worker whose done() answers. Before the routes,
 * the request's framing: no Transfer-Encoding, one plain Content-Length, no
 * body on a GET (else 411 or 400, and the connection closes). The answer is
 * written on the connection's next timer callback (HTTP/1: nothing more is
 * read until then, and pipelined requests are refused by closing after it)
 * or HTTP_WRITEABLE (an HTTP/2 stream).
 * Every error answer is counted by its code (metrics.h), and every /api
 * request's time to its answer.
 * A router of pages (pages.h) answers its errors as HTML pages instead.
 * Not here: static files (pages.c), websockets.
 */
#ifndef QRLOGIN_HTTP_H
#define QRLOGIN_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "glue/conn.h"
#include "glue/server.h"
#include "glue/task.h"

#define QRL_COOKIE_NAME "qrl_session"
/* The OpenID provider's copy of the session token: SameSite=Lax, Path=/oauth2
 * (set by handlers/oidc_flow.c), read by the top-level routers only. */
#define QRL_OP_COOKIE_NAME "qrl_op"

/* What a POST route takes as its body (qrl_route.body). */
#define QRL_ROUTE_NOBODY 0
#define QRL_ROUTE_JSON 1 /* a JSON object; the Origin is checked (CSRF) */
#define QRL_ROUTE_FORM 2 /* anything, left in c->body (c->body_len bytes, not
                            NUL-terminated): for clients that are not browsers
                            and prove who they are otherwise (the OpenID token
                            endpoint): no Origin check */

typedef struct qrl_http qrl_http;

/* One API route. A path may have two: one for GET, one for POST. */
typedef struct qrl_route {
  const char *path; /* under /api, e.g. "/session" */
  int post;         /* 1: POST (must come from an allowed Origin); 0: GET */
  int body;         /* POST: QRL_ROUTE_NOBODY, _JSON (required) or _FORM */
  int cookie;       /* the session cookie is required (c->cookie is set) */
  /* Loop thread. body is the parsed object, or NULL when the route takes
   * none; it is deleted after the call. */
  void (*handle)(qrl_services *sv, qrl_conn *c, const cJSON *body);
} qrl_route;

/* Registers the API protocol and its /api mount with srv. The router lives
 * as long as srv. NULL on allocation failure. */
qrl_http *qrl_http_attach(qrl_server *srv);

/* Registers another router, for URLs at the top level (/healthz, /metrics:
 * each of the NULL-terminated mountpoints, static strings, is matched
 * whole), as lws protocol name (a static string). With operators set, its
 * routes exist only for clients in --metrics-allow: others get 404 whatever
 * they ask. Its answers are not timed as /api requests. NULL on allocation
 * failure. */
qrl_http *qrl_http_attach_top(qrl_server *srv, const char *name,
                              const char *const *mountpoints, int operators);

/* What makes a router one of pages for people (pages.h) rather than of
 * JSON: how it answers a GET, and its errors' HTML. */
typedef struct qrl_http_pages {
  /* Loop thread, for every GET (c->path holds its path; no routes are
   * looked at): answers c (qrl_http_respond_as) and returns 0, has lws send
   * a file (lws_serve_http_file) and returns 0, or returns -1 to close. */
  int (*get)(qrl_services *sv, qrl_conn *c, struct lws *wsi);
  /* The error page for HTTP status: caller frees; NULL if out of memory
   * (the error is answered as JSON then). */
  char *(*error_html)(int status);
} qrl_http_pages;

/* Registers a router of pages at mountpoints (as qrl_http_attach_top; pages
 * is static and not copied): its errors - a POST, an unknown method, bad
 * framing, a body too big - are HTML pages. NULL on allocation failure. */
qrl_http *qrl_http_attach_pages(qrl_server *srv, const char *name,
                                const char *const *mountpoints,
                                const qrl_http_pages *pages);

/* Adds n routes (static table, not copied). QRL_NOMEM if the router is
 * full. */
qrl_err qrl_http_add_routes(qrl_http *h, const qrl_route *routes, size_t n);

/* Answers with status and body (taken over; NULL means "{}") and an optional
 * Set-Cookie value (copied). */
void qrl_http_respond(qrl_conn *c, int status, char *body, const char *cookie);

/* Answers with status and body (taken over; must not be NULL) of
 * Content-Type type (a static string, e.g. "text/plain; charset=utf-8"). */
void qrl_http_respond_as(qrl_conn *c, int status, char *body, const char *type);

/* After qrl_http_respond*(): c->resp_cache (a static string) sets the
 * answer's Cache-Control instead of "no-store". */

/* Answers {"code","message","message_en"} for err with its HTTP status;
 * extra (may be NULL) gives more fields and is deleted. */
void qrl_http_error(qrl_conn *c, qrl_err err, cJSON *extra);

/* Answers 200 with o (deleted), and the session cookie for token if set. */
void qrl_http_json(qrl_conn *c, cJSON *o, const char *token);

/* Answers a completed login: {"ok":true,"redirect":"/portal.html"} with the
 * session cookie for token. */
void qrl_http_logged_in(qrl_conn *c, const char *token);

/* Hands t to a worker, or answers the error (t is freed then). */
void qrl_http_submit(qrl_conn *c, qrl_task *t);

/* A new task of type (size bytes) for a request that acts on the caller's
 * web session: c's session cookie is copied into the task's
 * char[QRL_SESSION_B64LEN + 1] member at offset session_at. Returns it, not
 * submitted (the caller may add fields, then qrl_http_submit), or NULL
 * with the error answered. */
qrl_task *qrl_http_cookie_task(qrl_services *sv, qrl_conn *c, const qrl_task_type *type,
                               size_t size, size_t session_at);

/* Answers rate_limited with retry_in unless t's hold can be taken; returns
 * 1 if it answered (t is freed then), 0 to go on. */
int qrl_http_throttled(qrl_conn *c, qrl_task *t);

/* Answers 302 to location (copied) with an optional Set-Cookie value
 * (copied). */
void qrl_http_redirect(qrl_conn *c, const char *location, const char *cookie);

/* The HTTP status for err. */
int qrl_http_status_for(qrl_err err);

#endif /* QRLOGIN_HTTP_H */
