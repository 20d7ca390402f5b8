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

#include "cookie.h"
#include "http.h"
#include "jsonio.h"

#define QRL_MAX_BODY 4096
#define QRL_BODY_SECS 10 /* a request body arrives whole within this */

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

/* Our session cookie from the Cookie header (lws_http_cookie_get is
 * unreliable in 4.1.6; the parsing itself is cookie.c, fuzzed). */
static void read_cookie(struct lws *wsi, qrl_conn *c) {
  char hdr[1024];
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);

  c->cookie[0] = '\0';
  if (n <= 0 || n >= (int)sizeof(hdr)) return;
  if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) < 0) return;
  qrl_cookie_find(hdr, QRL_COOKIE_NAME, QRL_SESSION_B64LEN, c->cookie, sizeof(c->cookie));
}

/* Prepares the response; it is written on the next HTTP_WRITEABLE. */
void qrl_http_respond(qrl_conn *c, int status, char *body, const char *cookie) {
  free(c->resp);
  free(c->resp_cookie);
  c->http_status = status;
  c->resp = body ? body : strdup("{}");
  c->resp_cookie = cookie ? strdup(cookie) : NULL;
  c->resp_ready = 1;
  lws_callback_on_writable(c->wsi);
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
  case QRL_RATE_LIMITED: return 429;
  case QRL_UNAVAILABLE: return 503;
  case QRL_NOMEM: case QRL_INTERNAL: case QRL_DB: case QRL_CRYPTO: return 500;
  default: return 400;
  }
}

void qrl_http_error(qrl_conn *c, qrl_err err, cJSON *extra) {
  cJSON *o = extra ? extra : cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "code", qrl_err_code(err));
    cJSON_AddStringToObject(o, "message", qrl_err_message_vi(err));
    cJSON_AddStringToObject(o, "message_en", qrl_strerror(err));
  }
  qrl_http_respond(c, qrl_http_status_for(err), qrl_json_take_print(o), NULL);
}

void qrl_http_json(qrl_conn *c, cJSON *o, const char *token) {
  char cookie[160];
  if (token && token[0])
    snprintf(cookie, sizeof(cookie),
             QRL_COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
             qrl_server_of(c->wsi)->cfg->tls_cert ? "; Secure" : "");
  qrl_http_respond(c, 200, qrl_json_take_print(o), token && token[0] ? cookie : NULL);
}

static void respond_error(qrl_conn *c, qrl_err err) {
  qrl_http_error(c, err, NULL);
}

/* ---- tasks ---------------------------------------------------------------- */

static void exchange_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  t->rc = qrl_acct_exchange_code(db, &t->srv->pol, t->code, t->binding, &rc,
                                 t->token, &t->web);
}

static void exchange_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o;

  (void)srv;
  if (!c) return;
  if (t->rc) {
    respond_error(c, t->rc);
    return;
  }
  o = cJSON_CreateObject();
  if (o) {
    cJSON_AddBoolToObject(o, "ok", 1);
    cJSON_AddStringToObject(o, "redirect", "/portal.html");
  }
  qrl_http_json(c, o, t->token);
}

static void me_run(qrl_db *db, qrl_task *t) {
  t->rc = qrl_acct_web_session(db, &t->srv->pol, t->session, t->now, &t->web);
  if (!t->rc)
    t->rc = qrl_dossiers_for(db, &t->web, t->dossiers,
                             sizeof(t->dossiers) / sizeof(t->dossiers[0]), &t->ndossiers);
  if (!t->rc && t->web.citizen.id[0])
    t->rc = qrl_legacy_link_state(db, t->web.citizen.id, &t->link);
}

/* 001099012345 -> 0010****2345 */
static void mask_id(const char *id, char out[QRL_CITIZEN_ID_LEN + 1]) {
  if (strlen(id) != QRL_CITIZEN_ID_LEN) {
    out[0] = '\0';
    return;
  }
  snprintf(out, QRL_CITIZEN_ID_LEN + 1, "%.4s****%s", id, id + 8);
}

static const char *link_message(qrl_link_state s) {
  switch (s) {
  case QRL_LINK_LINKED:
    return "Tài khoản cũ của bạn trên Cổng Dịch vụ công quốc gia đã được liên kết: "
           "các hồ sơ đã nộp trước đây hiển thị dưới đây.";
  case QRL_LINK_UNVERIFIED:
    return "Có tài khoản cũ trên Cổng Dịch vụ công quốc gia khai báo số định danh cá "
           "nhân của bạn nhưng chưa được xác thực với CSDL Quốc gia về dân cư, nên chưa "
           "được liên kết và các hồ sơ cũ không hiển thị ở đây. Để liên kết, chủ tài "
           "khoản cũ cần chọn “Cập nhật từ CSDL Quốc gia về dân cư” (hoặc liên hệ bộ "
           "phận hỗ trợ của Cổng để xác thực), sau đó đăng nhập lại bằng VNeID.";
  default:
    return "";
  }
}

static void me_done(qrl_server *srv, qrl_task *t, qrl_conn *c) {
  cJSON *o, *arr, *acc;
  const qrl_web_session *w = &t->web;

  if (!c) return;
  if (t->rc) {
    respond_error(c, t->rc);
    return;
  }
  if (!(o = cJSON_CreateObject())) {
    respond_error(c, QRL_NOMEM);
    return;
  }
  if (w->citizen.id[0]) {
    static const char *const states[] = {"none", "linked", "unverified"};
    cJSON *link;
    cJSON_AddStringToObject(o, "kind", "citizen");
    qrl_json_add_account(o, &w->citizen);
    if ((link = cJSON_AddObjectToObject(o, "link"))) {
      cJSON_AddStringToObject(link, "status", states[t->link]);
      cJSON_AddStringToObject(link, "message", link_message(t->link));
    }
  } else {
    int legacy = strcmp(w->portal.kind, "citizen") == 0;
    cJSON_AddStringToObject(o, "kind", legacy ? "legacy_citizen" : "organization");
    if ((acc = cJSON_AddObjectToObject(o, "account"))) {
      cJSON_AddStringToObject(acc, "username", w->portal.username);
      cJSON_AddStringToObject(acc, "display_name", w->portal.display_name);
      cJSON_AddStringToObject(acc, "kind", legacy ? "legacy_citizen" : "organization");
      if (legacy) {
        char masked[QRL_CITIZEN_ID_LEN + 1];
        mask_id(w->portal.citizen_id, masked);
        cJSON_AddStringToObject(acc, "citizen_id", masked);
        cJSON_AddBoolToObject(acc, "id_verified", w->portal.id_verified);
      }
    }
    cJSON_AddBoolToObject(o, "can_verify_id", legacy && !w->portal.id_verified);
  }
  cJSON_AddStringToObject(o, "method", w->method);
  cJSON_AddNumberToObject(o, "login_at", (double)w->created_at);
  if (strcmp(w->method, "qr_kiosk") == 0) {
    cJSON *k = cJSON_AddObjectToObject(o, "kiosk");
    if (k) {
      cJSON_AddStringToObject(k, "name", srv->cfg->kiosk_name);
      cJSON_AddNumberToObject(k, "idle_secs", srv->cfg->kiosk_idle_secs);
    }
  }
  if ((arr = cJSON_AddArrayToObject(o, "dossiers"))) {
    for (size_t i = 0; i < t->ndossiers; i++) {
      cJSON *d = cJSON_CreateObject();
      if (!d) break;
      cJSON_AddStringToObject(d, "id", t->dossiers[i].id);
      cJSON_AddStringToObject(d, "title", t->dossiers[i].title);
      cJSON_AddStringToObject(d, "status", t->dossiers[i].status);
      cJSON_AddNumberToObject(d, "submitted_at", (double)t->dossiers[i].submitted_at);
      cJSON_AddNumberToObject(d, "updated_at", (double)t->dossiers[i].updated_at);
      cJSON_AddItemToArray(arr, d);
    }
  }
  qrl_http_json(c, o, NULL);
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
  qrl_http_respond(c, 200, strdup("{\"ok\":true}"),
          QRL_COOKIE_NAME "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

void qrl_http_submit(qrl_conn *c, qrl_task *t) {
  qrl_err rc = qrl_task_submit(t);
  if (rc) respond_error(c, rc);
}

/* ---- routing -------------------------------------------------------------- */

static int origin_ok(qrl_server *srv, struct lws *wsi, qrl_conn *c) {
  char host[128] = "";
  qrl_request_host(wsi, host, sizeof(host));
  return qrl_server_origin_allowed(srv, c->origin, host);
}

/* A GET, or a POST whose body has arrived: act on it. Every POST is
 * state-changing and must come from an allowed Origin (CSRF). */
static void route(qrl_server *srv, struct lws *wsi, qrl_conn *c) {
  static const char *const posts[] = {"/session",      "/logout",
                                      "/otp/start",    "/otp/verify",
                                      "/otp/resend",   "/portal/start",
                                      "/portal/verify-id"};
  qrl_task *t = NULL;
  cJSON *body = NULL;
  const char *code, *binding;
  int is_post = 0;

  for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
    if (strcmp(c->path, posts[i]) == 0) is_post = 1;
  if (!is_post && strcmp(c->path, "/me") != 0) {
    respond_error(c, QRL_NOT_FOUND);
    return;
  }
  if (is_post != c->method_post) {
    respond_error(c, QRL_METHOD);
    return;
  }
  if (is_post && !origin_ok(srv, wsi, c)) {
    qrl_server_audit(srv, c, "http_post", QRL_BAD_ORIGIN, NULL, c->origin, NULL);
    respond_error(c, QRL_BAD_ORIGIN);
    return;
  }
  if (is_post && strcmp(c->path, "/logout") != 0) {
    body = c->body ? cJSON_ParseWithLength(c->body, c->body_len) : NULL;
    if (!cJSON_IsObject(body)) {
      respond_error(c, QRL_BAD_JSON);
      goto out;
    }
  }
  if (qrl_http_otp_route(srv, c, c->path, body)) goto out;

  if (strcmp(c->path, "/session") == 0) {
    qrl_err rc = qrl_json_str(body, "code", QRL_SESSION_B64LEN, &code);
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
    qrl_http_submit(c, t);
    goto out;
  }

  /* /me and /logout need the session cookie. */
  if (!c->cookie[0]) {
    if (strcmp(c->path, "/logout") == 0)
      qrl_http_respond(c, 200, strdup("{\"ok\":true}"), NULL);
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
  qrl_http_submit(c, t);
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
    if (!c->method_post && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
      respond_error(c, QRL_METHOD); /* HEAD, PUT, DELETE, OPTIONS... */
      return 0;
    }
    if (c->method_post) {
      /* HTTP/1.1 bodies need their length (no chunked uploads); HTTP/2
       * frames carry it. The whole body gets 10 s, however it trickles. */
      if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0 &&
          lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        respond_error(c, QRL_LENGTH_REQUIRED);
        c->body_len = QRL_MAX_BODY + 1; /* ignore whatever follows */
        return 0;
      }
      c->body_deadline = qrl_now() + QRL_BODY_SECS;
      return 0; /* wait for the body */
    }
    route(srv, wsi, c);
    return 0;
  }
  case LWS_CALLBACK_HTTP_BODY:
    if (!len) return 0; /* lws passes in == NULL for an empty body */
    if (qrl_now() > c->body_deadline) {
      lwsl_notice("http: body from %s too slow, dropped\n", c->ip);
      return -1;
    }
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
