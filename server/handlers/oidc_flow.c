/*
 * oidc_flow.c - /oauth2/authorize, /oauth2/resume, /oauth2/token and
 * /oauth2/userinfo (oidc_flow.h).
 */
#include "handlers/oidc_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_assert.h"
#include "domain/oidc_clients.h"
#include "domain/oidc_grants.h"
#include "domain/oidc_keys.h"
#include "domain/oidc_logout.h"
#include "domain/websession.h"
#include "glue/config.h"
#include "glue/jsonio.h"
#include "glue/task.h"
#include "handlers/http.h"
#include "handlers/oidc_meta.h"
#include "helpers/b64.h"
#include "helpers/cookie.h"
#include "helpers/crypto.h"
#include "helpers/errpage.h"
#include "helpers/form.h"
#include "helpers/jose.h"

#define ISSUER_MAX 160
#define URL_MAX 4096

/* ---- small parsers ----------------------------------------------------------- */

/* 1 if word is one of the space-separated words of list. */
static int has_word(const char *list, const char *word) {
  size_t wl = strlen(word);
  for (const char *p = list; *p;) {
    size_t n;
    while (*p == ' ') p++;
    n = strcspn(p, " ");
    if (n == wl && memcmp(p, word, n) == 0) return 1;
    p += n;
  }
  return 0;
}

/* A query parameter of c's request into out (cap bytes): 1 found, 0
 * absent (or too long: taken as absent). */
static int query_get(qrl_conn *c, const char *name, char *out, size_t cap) {
  char key[40], *buf = malloc(cap + 64);
  const char *v;
  size_t n;
  int ok = 0;
  snprintf(key, sizeof(key), "%s=", name);
  out[0] = '\0';
  if (!buf) return 0;
  /* lws gives "name=value" in buf and a pointer past "name=" */
  v = lws_get_urlarg_by_name(c->wsi, key, buf, (int)(cap + 64));
  if (v && (n = strlen(v)) < cap) {
    memcpy(out, v, n + 1);
    ok = 1;
  }
  free(buf);
  return ok;
}

/* The opaque session id (sid) of web session token: 128 bits of
 * SHA-256("qrl-oidc-sid:" token), base64url. 0 or -1. */
static int sid_of(const char *token, char sid[QRL_OIDC_SID_LEN + 1]) {
  char buf[32 + QRL_SESSION_B64LEN];
  uint8_t h[QRL_SHA256_LEN];
  int n = snprintf(buf, sizeof(buf), "qrl-oidc-sid:%s", token);
  int rc = qrl_sha256(buf, (size_t)n, h) ? -1 : 0;
  qrl_cleanse(buf, sizeof(buf));
  if (!rc && qrl_b64url_encode(h, 16, sid, QRL_OIDC_SID_LEN + 1) != QRL_OIDC_SID_LEN) rc = -1;
  return rc;
}

/* The first language of ui_locales (space-separated BCP 47 tags, in order
 * of preference) that the login page speaks - "vi" or "en", a region
 * ("en-US") read as its language - into out; "" if none. */
static void pick_locale(const char *ui_locales, char out[8]) {
  out[0] = '\0';
  for (const char *p = ui_locales; *p;) {
    size_t n;
    while (*p == ' ') p++;
    n = strcspn(p, " ");
    if (n >= 2 && (n == 2 || p[2] == '-') &&
        (!strncasecmp(p, "vi", 2) || !strncasecmp(p, "en", 2))) {
      out[0] = (char)(p[0] | 0x20);
      out[1] = (char)(p[1] | 0x20);
      out[2] = '\0';
      return;
    }
    p += n;
  }
}

/* The browser binding cookie for value into out: the browser that started
 * an authorization request is the one that resumes it. */
static void bind_cookie(const qrl_services *sv, const char *value, char *out, size_t cap) {
  snprintf(out, cap, QRL_OIDC_BIND_COOKIE "=%s; HttpOnly; SameSite=Lax; Path=/oauth2%s", value,
           sv->cfg->tls_cert ? "; Secure" : "");
}

/* The OP cookie for session token into out. */
static void op_cookie(const qrl_services *sv, const char *token, char *out, size_t cap) {
  snprintf(out, cap, QRL_OP_COOKIE_NAME "=%s; HttpOnly; SameSite=Lax; Path=/oauth2%s", token,
           sv->cfg->tls_cert ? "; Secure" : "");
}

/* ---- authorize and resume: the worker's part ---------------------------------- */

typedef enum flow_out {
  OUT_PAGE,     /* an HTML error page (t->rc) */
  OUT_ERROR,    /* redirect to the portal with error */
  OUT_CODE,     /* redirect to the portal with code */
  OUT_LOGIN     /* redirect to the login page */
} flow_out;

typedef struct authz_task {
  qrl_task base;
  int resume;                       /* /oauth2/resume: req holds the id */
  char issuer[ISSUER_MAX];
  char session[QRL_SESSION_B64LEN + 1]; /* the cookie, "" if none */
  char req[QRL_OIDC_REQ_ID_LEN + 1];
  char response_type[32], scope[QRL_OIDC_PARAM_MAX + 1], method[16], prompt[32], max_age[16];
  char challenge[64];
  char ui_locales[64];
  char hint[QRL_OIDC_HINT_MAX + 1]; /* id_token_hint, "" if none */
  int request_obj, request_uri; /* a "request" / "request_uri" parameter came */
  char bind[QRL_OIDC_BIND_LEN + 1]; /* the browser's binding cookie, "" if none */
  qrl_oidc_authz a;
  /* out */
  flow_out out;
  const char *error; /* OUT_ERROR: static */
  char code[QRL_OIDC_SECRET_LEN + 1];
  int set_cookie;
  int set_bind; /* OUT_LOGIN: a new binding cookie goes with it */
} authz_task;

/* The citizen's live web session of x's cookie into *w: 1, or 0. */
static int live_session(qrl_db *db, qrl_services *sv, authz_task *x, qrl_web_session *w) {
  qrl_req_ctx rc = qrl_task_req(&x->base);
  if (!x->session[0]) return 0;
  if (qrl_acct_web_session(db, sv->pol, x->session, &rc, w)) return 0;
  return w->citizen.id[0] != '\0'; /* portal accounts have no VNeID identity */
}

/* Issues the code of request x->a for web session w. */
static void issue(qrl_db *db, authz_task *x, const qrl_web_session *w) {
  qrl_oidc_grant g;
  int qr = strncmp(w->method, "qr", 2) == 0;
  memset(&g, 0, sizeof(g));
  snprintf(g.client_id, sizeof(g.client_id), "%s", x->a.client_id);
  snprintf(g.redirect_uri, sizeof(g.redirect_uri), "%s", x->a.redirect_uri);
  snprintf(g.scope, sizeof(g.scope), "%s", x->a.scope);
  snprintf(g.nonce, sizeof(g.nonce), "%s", x->a.nonce);
  snprintf(g.challenge, sizeof(g.challenge), "%s", x->a.challenge);
  snprintf(g.citizen_id, sizeof(g.citizen_id), "%s", w->citizen.id);
  snprintf(g.acr, sizeof(g.acr), "%s", w->citizen.level >= 2 ? "LoA2" : "LoA1");
  /* RFC 8176: the QR login is a software-key signature on another device
   * (multiple-channel), plus the passcode (pin) and so two factors (mfa)
   * when the phone proved it during this login (web_sessions.step_up); the
   * ID + password + SMS path is password plus SMS. */
  snprintf(g.amr, sizeof(g.amr), "%s",
           qr ? (w->step_up ? "swk mca pin mfa" : "swk mca") : "pwd sms mfa");
  g.auth_time = w->created_at;
  g.session_id = w->id; /* back-channel logout when it ends (oidc_logout.h) */
  if (sid_of(x->session, g.sid)) {
    x->base.rc = QRL_CRYPTO;
    return;
  }
  {
    qrl_req_ctx rc = qrl_task_req(&x->base);
    x->base.rc = qrl_oidc_code_issue(db, &g, &rc, x->code);
  }
  if (!x->base.rc) {
    x->out = OUT_CODE;
    x->set_cookie = 1;
  }
}

static void authorize_run(qrl_db *db, authz_task *x, qrl_services *sv) {
  qrl_client cl;
  qrl_web_session w;
  qrl_oidc_hint hint;
  int ok = 0, have, need, other = 0;
  long max_age = -1;

  memset(&cl, 0, sizeof(cl));
  x->out = OUT_PAGE;
  x->base.rc = qrl_client_get(db, x->a.client_id, &cl);
  if (x->base.rc == QRL_NOT_FOUND || (!x->base.rc && !x->a.redirect_uri[0]))
    x->base.rc = QRL_BAD_REQUEST;
  if (x->base.rc) goto out;
  for (size_t i = 0; i < cl.nredirect; i++)
    if (strcmp(cl.redirect[i], x->a.redirect_uri) == 0) ok = 1;
  if (!ok) {
    x->base.rc = QRL_BAD_REQUEST; /* never a redirect to an unregistered URI */
    goto out;
  }
  /* From here on errors go back to the portal. */
  x->out = OUT_ERROR;
  if (strcmp(x->response_type, "code") != 0) {
    x->error = "unsupported_response_type";
    goto out;
  }
  if (!has_word(x->scope, "openid")) {
    x->error = "invalid_scope";
    goto out;
  }
  /* Request objects are not supported (Discovery: request_parameter_supported
   * and request_uri_parameter_supported false): said, not ignored (OpenID
   * Connect Core 3.1.2.6). */
  if (x->request_obj || x->request_uri) {
    x->error = x->request_obj ? "request_not_supported" : "request_uri_not_supported";
    goto out;
  }
  if (strcmp(x->method, "S256") != 0 || !qrl_oidc_challenge_valid(x->challenge)) {
    x->error = "invalid_request"; /* PKCE S256 is required; never plain */
    goto out;
  }
  if (has_word(x->prompt, "none") && has_word(x->prompt, "login")) {
    x->error = "invalid_request";
    goto out;
  }
  if (x->max_age[0]) {
    char *end;
    max_age = strtol(x->max_age, &end, 10);
    if (*end || max_age < 0) {
      x->error = "invalid_request";
      goto out;
    }
  }
  /* id_token_hint (Core 3.1.2.1): an ID token of ours naming the citizen the
   * portal expects (expired ones too). One that is not ours is refused; a
   * live session of another citizen is not reused for it. */
  if (x->hint[0] && qrl_oidc_hint_check(db, x->hint, x->issuer, x->base.now, &hint)) {
    x->error = "invalid_request";
    goto out;
  }
  snprintf(x->a.scope, sizeof(x->a.scope), "%s", x->scope);
  memcpy(x->a.challenge, x->challenge, sizeof(x->a.challenge)); /* valid: 43 + NUL */
  x->a.max_age = max_age;
  x->a.min_level = cl.min_acr >= 2 ? 2 : 1;
  pick_locale(x->ui_locales, x->a.ui_locales);
  need = has_word(x->a.acr_values, "LoA2") ? 2 : x->a.min_level;
  x->base.rc = QRL_OK;
  have = live_session(db, sv, x, &w);
  if (have && x->hint[0]) {
    char sub[QRL_OIDC_SUB_LEN + 1];
    qrl_err r = qrl_oidc_subject_find(db, w.citizen.id, sub);
    if (r && r != QRL_NOT_FOUND) {
      x->base.rc = r;
      goto out;
    }
    other = r == QRL_NOT_FOUND || strcmp(sub, hint.sub) != 0;
  }
  /* A new login for prompt=login, a session older than max_age, or one
   * below the level asked for: the client's --min-acr (which the login
   * must then reach, resume_run) or acr_values=LoA2 (voluntary: the code
   * then says what the login achieved). */
  x->a.force_login = has_word(x->prompt, "login") ||
                     (have && max_age == 0) || /* whole seconds: 0 is always passed */
                     (have && max_age > 0 && x->base.now - w.created_at > max_age) ||
                     (have && w.citizen.level < need) ||
                     (have && other); /* the hint names another citizen */
  if (have && !x->a.force_login) {
    issue(db, x, &w);
    goto out;
  }
  if (has_word(x->prompt, "none")) {
    x->error = "login_required";
    goto out;
  }
  x->a.not_session = have && x->a.force_login ? w.id : 0;
  /* Bound to this browser: its binding cookie (kept if it has one, so
   * requests in two tabs both resume), hashed into the request. */
  if (!x->bind[0]) {
    if ((x->base.rc = qrl_random_token(16, x->bind, sizeof(x->bind)))) goto out;
    x->set_bind = 1;
  }
  if (qrl_sha256(x->bind, strlen(x->bind), x->a.browser_hash)) {
    x->base.rc = QRL_CRYPTO;
    goto out;
  }
  x->base.rc = qrl_oidc_authz_save(db, &x->a, x->base.now, x->req);
  if (!x->base.rc) x->out = OUT_LOGIN;
out:
  if (x->base.rc && x->out != OUT_PAGE) x->out = OUT_ERROR, x->error = "server_error";
  qrl_client_clear(&cl);
}

static void resume_run(qrl_db *db, authz_task *x, qrl_services *sv) {
  qrl_web_session w;
  x->out = OUT_PAGE;
  if ((x->base.rc = qrl_oidc_authz_load(db, x->req, x->base.now, &x->a))) {
    if (x->base.rc == QRL_NOT_FOUND) x->base.rc = QRL_BAD_REQUEST;
    return;
  }
  /* Only the browser that started the request resumes it: a link to
   * someone else's request (login CSRF) ends here, changing nothing. */
  if (!qrl_oidc_authz_browser_ok(&x->a, x->bind)) {
    x->base.rc = QRL_OIDC_OTHER_BROWSER;
    return;
  }
  x->out = OUT_LOGIN;
  if (!live_session(db, sv, x, &w)) return;
  /* A login the request asked for: a session begun since, not the old one. */
  if (x->a.force_login && (w.id == x->a.not_session || w.created_at < x->a.created_at)) return;
  if (w.citizen.level < x->a.min_level) {
    /* The login reached less than the client accepts (a level-1 account's
     * password + SMS login for a --min-acr LoA2 portal): no code. The
     * portal is told (OpenID Connect Core Error Code
     * unmet_authentication_requirements); the request is spent. */
    x->out = OUT_ERROR;
    x->error = "unmet_authentication_requirements";
    x->base.rc = qrl_oidc_authz_done(db, x->req);
    if (x->base.rc) x->error = "server_error";
    return;
  }
  issue(db, x, &w);
  if (!x->base.rc) x->base.rc = qrl_oidc_authz_done(db, x->req);
  if (x->base.rc) x->out = OUT_ERROR, x->error = "server_error";
}

static void authz_run(qrl_task *t, qrl_db *db) {
  authz_task *x = qrl_container_of(t, authz_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  if (x->resume) resume_run(db, x, sv);
  else authorize_run(db, x, sv);
}

static void page_error(qrl_conn *c, int status) {
  char *html = qrl_errpage_html(status);
  if (!html) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  qrl_http_respond_as(c, status, html, "text/html; charset=utf-8");
}

/* 403: the request belongs to another browser (its binding cookie is
 * missing or another one), with what to do. */
static void other_browser_page(qrl_conn *c) {
  char *html = qrl_errpage_html_code(
      403, qrl_err_code(QRL_OIDC_OTHER_BROWSER), "Liên kết đăng nhập không thuộc trình duyệt này",
      qrl_err_message_vi(QRL_OIDC_OTHER_BROWSER), "This login link belongs to another browser",
      "This login was started in another browser. To keep your account safe, go back to the "
      "portal you want to use and press Log in again.");
  if (!html) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  qrl_http_respond_as(c, 403, html, "text/html; charset=utf-8");
}

static void authz_done(qrl_task *t, qrl_conn *c) {
  authz_task *x = qrl_container_of(t, authz_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  char url[URL_MAX], cookie[QRL_SESSION_B64LEN + 96];
  int bad = 0;

  if (!c) goto out;
  if (!t->ran) {
    page_error(c, 503);
    goto out;
  }
  url[0] = '\0';
  switch (x->out) {
  case OUT_PAGE:
    if (t->rc == QRL_OIDC_OTHER_BROWSER) {
      other_browser_page(c);
      goto out;
    }
    page_error(c, t->rc == QRL_BAD_REQUEST ? 400 : qrl_http_status_for(t->rc));
    goto out;
  case OUT_LOGIN:
    snprintf(url, sizeof(url), "/");
    bad = qrl_url_add_param(url, sizeof(url), "oidc", x->req);
    /* The login page opens in the language the portal asked for. */
    if (!bad && x->a.ui_locales[0])
      bad = qrl_url_add_param(url, sizeof(url), "ui_locales", x->a.ui_locales);
    break;
  case OUT_ERROR:
  case OUT_CODE:
    snprintf(url, sizeof(url), "%s", x->a.redirect_uri);
    if (x->out == OUT_CODE) bad = qrl_url_add_param(url, sizeof(url), "code", x->code);
    else bad = qrl_url_add_param(url, sizeof(url), "error", x->error);
    if (!bad && x->a.state[0]) bad = qrl_url_add_param(url, sizeof(url), "state", x->a.state);
    if (!bad) bad = qrl_url_add_param(url, sizeof(url), "iss", x->issuer);
    break;
  }
  if (bad) {
    page_error(c, 400);
    goto out;
  }
  if (x->set_cookie) op_cookie(sv, x->session, cookie, sizeof(cookie));
  else if (x->set_bind && x->out == OUT_LOGIN) bind_cookie(sv, x->bind, cookie, sizeof(cookie));
  qrl_http_redirect(c, url, x->set_cookie || (x->set_bind && x->out == OUT_LOGIN) ? cookie : NULL);
out:
  qrl_cleanse(x->code, sizeof(x->code));
  qrl_cleanse(url, sizeof(url));
}

static const qrl_task_type authz_type = {"oidc_authorize", authz_run, authz_done};

/* A new task for c with the issuer and the cookie; NULL (answered) on
 * failure. */
static authz_task *authz_new(qrl_services *sv, qrl_conn *c) {
  const char *iss = qrl_oidc_issuer(sv, c);
  authz_task *x = iss ? (authz_task *)qrl_task_new(sv->tasks, c, &authz_type, sizeof(*x)) : NULL;
  if (!x) {
    page_error(c, 500);
    return NULL;
  }
  snprintf(x->issuer, sizeof(x->issuer), "%s", iss);
  memcpy(x->session, c->cookie, sizeof(x->session));
  {
    char hdr[1024];
    int n = lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_COOKIE);
    if (n > 0 && n < (int)sizeof(hdr) &&
        lws_hdr_copy(c->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) > 0)
      qrl_cookie_find(hdr, QRL_OIDC_BIND_COOKIE, QRL_OIDC_BIND_LEN, x->bind, sizeof(x->bind));
    qrl_cleanse(hdr, sizeof(hdr));
  }
  return x;
}

/* A parameter of the request into out (cap bytes): from the query of a
 * GET, the form body of a POST. 1 found; 0 absent, too long or (a POST)
 * given twice. */
static int param_get(qrl_conn *c, const char *name, char *out, size_t cap) {
  if (!c->method_post) return query_get(c, name, out, cap);
  if (qrl_form_get(c->body ? c->body : "", c->body ? c->body_len : 0, name, out, cap) == 1)
    return 1;
  out[0] = '\0';
  return 0;
}

/* 1 if parameter name came at all (any value, any length), else 0. */
static int param_present(qrl_conn *c, const char *name) {
  char key[40], probe[4096];
  if (c->method_post)
    return qrl_form_get(c->body ? c->body : "", c->body ? c->body_len : 0, name, probe,
                        sizeof(probe)) != 0;
  snprintf(key, sizeof(key), "%s=", name);
  return lws_get_urlarg_by_name(c->wsi, key, probe, (int)sizeof(probe)) != NULL;
}

/* GET or POST (OpenID Connect Core §3.1.2.1: a form of the same
 * parameters). */
static void authorize_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  authz_task *x = authz_new(sv, c);
  (void)body;
  if (!x) return;
  param_get(c, "client_id", x->a.client_id, sizeof(x->a.client_id));
  param_get(c, "redirect_uri", x->a.redirect_uri, sizeof(x->a.redirect_uri));
  param_get(c, "response_type", x->response_type, sizeof(x->response_type));
  param_get(c, "scope", x->scope, sizeof(x->scope));
  param_get(c, "state", x->a.state, sizeof(x->a.state));
  param_get(c, "nonce", x->a.nonce, sizeof(x->a.nonce));
  param_get(c, "code_challenge", x->challenge, sizeof(x->challenge));
  param_get(c, "code_challenge_method", x->method, sizeof(x->method));
  param_get(c, "prompt", x->prompt, sizeof(x->prompt));
  param_get(c, "max_age", x->max_age, sizeof(x->max_age));
  param_get(c, "acr_values", x->a.acr_values, sizeof(x->a.acr_values));
  param_get(c, "ui_locales", x->ui_locales, sizeof(x->ui_locales));
  if (param_present(c, "id_token_hint") &&
      !param_get(c, "id_token_hint", x->hint, sizeof(x->hint)))
    snprintf(x->hint, sizeof(x->hint), "%s", "-"); /* too long or empty: refused below */
  x->request_obj = param_present(c, "request");
  x->request_uri = param_present(c, "request_uri");
  qrl_http_submit(c, &x->base);
}

static void resume_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  authz_task *x;
  char req[64];
  (void)body;
  if (!query_get(c, "req", req, sizeof(req)) || strlen(req) != QRL_OIDC_REQ_ID_LEN) {
    page_error(c, 400);
    return;
  }
  if (!(x = authz_new(sv, c))) return;
  x->resume = 1;
  memcpy(x->req, req, sizeof(x->req));
  qrl_http_submit(c, &x->base);
}

/* ---- the login page asks whom the citizen logs in to -------------------------- */

typedef struct info_task {
  qrl_task base;
  char req[QRL_OIDC_REQ_ID_LEN + 1];
  char name[QRL_CLIENT_NAME_MAX + 1];
} info_task;

static void info_run(qrl_task *t, qrl_db *db) {
  info_task *i = qrl_container_of(t, info_task, base);
  qrl_oidc_authz a;
  qrl_client cl;
  memset(&cl, 0, sizeof(cl));
  t->rc = qrl_oidc_authz_load(db, i->req, t->now, &a);
  if (!t->rc) t->rc = qrl_client_get(db, a.client_id, &cl);
  if (!t->rc) snprintf(i->name, sizeof(i->name), "%s", cl.name);
  qrl_client_clear(&cl);
}

static void info_done(qrl_task *t, qrl_conn *c) {
  info_task *i = qrl_container_of(t, info_task, base);
  cJSON *o;
  if (!c) return;
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  o = cJSON_CreateObject();
  if (o) cJSON_AddStringToObject(o, "client_name", i->name);
  qrl_http_json(c, o, NULL);
}

static const qrl_task_type info_type = {"oidc_request", info_run, info_done};

/* GET /oauth2/request?req=ID: {"client_name"} of a waiting request (the
 * portal the citizen is logging in to, which the login page shows). */
static void info_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  info_task *i;
  char req[64];
  (void)body;
  if (!query_get(c, "req", req, sizeof(req)) || strlen(req) != QRL_OIDC_REQ_ID_LEN) {
    qrl_http_error(c, QRL_NOT_FOUND, NULL);
    return;
  }
  if (!(i = (info_task *)qrl_task_new(sv->tasks, c, &info_type, sizeof(*i)))) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  memcpy(i->req, req, sizeof(i->req));
  qrl_http_submit(c, &i->base);
}

/* ---- token ------------------------------------------------------------------ */

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct token_task {
  qrl_task base;
  char issuer[ISSUER_MAX];
  char assertion[QRL_OIDC_ASSERTION_MAX_LEN + 1]; /* private_key_jwt; "" for Basic */
  char client_id[QRL_CLIENT_ID_MAX + 1];
  char secret[128];
  char code[QRL_OIDC_SECRET_LEN + 1];
  char redirect_uri[QRL_CLIENT_URI_MAX + 1];
  char verifier[129];
  char access[QRL_OIDC_SECRET_LEN + 1];
  char *id_token; /* owned */
  qrl_oidc_grant g;
} token_task;

/* The ID token of g (malloc'd into *out), signed with the active key of
 * the algorithm the client registered (qrl_oidc_jwt_sign). */
static qrl_err sign_id_token(qrl_db *db, const token_task *k, int64_t now, char **out) {
  qrl_client cl;
  cJSON *o = cJSON_CreateObject(), *amr;
  char *payload = NULL;
  qrl_err rc = QRL_NOMEM;

  if (!o || !(amr = cJSON_AddArrayToObject(o, "amr"))) goto out;
  cJSON_AddStringToObject(o, "iss", k->issuer);
  cJSON_AddStringToObject(o, "sub", k->g.sub);
  cJSON_AddStringToObject(o, "aud", k->g.client_id);
  cJSON_AddNumberToObject(o, "exp", (double)(now + QRL_OIDC_ID_TOKEN_SECS));
  cJSON_AddNumberToObject(o, "iat", (double)now);
  cJSON_AddNumberToObject(o, "auth_time", (double)k->g.auth_time);
  if (k->g.nonce[0]) cJSON_AddStringToObject(o, "nonce", k->g.nonce);
  cJSON_AddStringToObject(o, "acr", k->g.acr);
  for (const char *p = k->g.amr; *p;) {
    char word[16];
    size_t n = strcspn(p, " ");
    if (n && n < sizeof(word)) {
      memcpy(word, p, n);
      word[n] = '\0';
      cJSON_AddItemToArray(amr, cJSON_CreateString(word));
    }
    p += n;
    while (*p == ' ') p++;
  }
  cJSON_AddStringToObject(o, "sid", k->g.sid);
  if (!(payload = cJSON_PrintUnformatted(o))) goto out;
  if ((rc = qrl_client_get(db, k->g.client_id, &cl))) goto out;
  rc = qrl_oidc_jwt_sign(db, now, cl.id_token_alg, "JWT", payload, out);
  qrl_client_clear(&cl);
out:
  free(payload);
  cJSON_Delete(o);
  return rc;
}

static void token_run(qrl_task *t, qrl_db *db) {
  token_task *k = qrl_container_of(t, token_task, base);
  if (k->assertion[0]) {
    char url[ISSUER_MAX + 16], hint[QRL_CLIENT_ID_MAX + 1];
    snprintf(url, sizeof(url), "%s/oauth2/token", k->issuer);
    memcpy(hint, k->client_id, sizeof(hint));
    t->rc = qrl_oidc_client_assertion(db, k->assertion, hint, url, k->issuer, t->now,
                                      k->client_id);
  } else {
    t->rc = qrl_client_check_secret(db, k->client_id, k->secret, strlen(k->secret));
  }
  if (t->rc) return;
  {
    qrl_req_ctx rc = qrl_task_req(t);
    t->rc = qrl_oidc_code_redeem(db, k->code, k->client_id, k->redirect_uri, k->verifier, &rc,
                                 &k->g, k->access);
  }
  if (!t->rc) t->rc = sign_id_token(db, k, t->now, &k->id_token);
}

/* An RFC 6749 §5.2 error answer. */
static void token_error(qrl_conn *c, int status, const char *error, const char *desc) {
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "error", error);
    if (desc) cJSON_AddStringToObject(o, "error_description", desc);
  }
  qrl_http_respond(c, status, qrl_json_take_print(o), NULL);
  if (status == 401) c->resp_auth = "Basic realm=\"qrlogin\"";
}

static void token_done(qrl_task *t, qrl_conn *c) {
  token_task *k = qrl_container_of(t, token_task, base);
  if (!c) goto out;
  if (t->rc == QRL_BAD_CREDENTIALS) token_error(c, 401, "invalid_client", NULL);
  else if (t->rc == QRL_CODE_INVALID)
    token_error(c, 400, "invalid_grant",
                "the code is unknown, used, expired, or not bound to this client, "
                "redirect_uri and code_verifier");
  else if (t->rc) token_error(c, t->ran ? 500 : 503, "server_error", NULL);
  else {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "access_token", k->access);
      cJSON_AddStringToObject(o, "token_type", "Bearer");
      cJSON_AddNumberToObject(o, "expires_in", QRL_OIDC_ACCESS_SECS);
      cJSON_AddStringToObject(o, "id_token", k->id_token);
      cJSON_AddStringToObject(o, "scope", k->g.scope);
    }
    qrl_http_respond(c, 200, qrl_json_take_print(o), NULL);
  }
out:
  free(k->id_token);
  k->id_token = NULL;
  /* the task is wiped when freed */
}

static const qrl_task_type token_type = {"oidc_token", token_run, token_done};

/* client_id and secret from "Authorization: Basic ..." (RFC 6749 §2.3.1:
 * each form-urlencoded). 0 or -1. */
static int basic_auth(qrl_conn *c, token_task *k) {
  char hdr[512], b64[512];
  uint8_t raw[384];
  long n;
  size_t len;
  char *colon;
  int rc = -1;
  if (lws_hdr_copy(c->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0) return -1;
  if (strncasecmp(hdr, "Basic ", 6) != 0) goto out;
  snprintf(b64, sizeof(b64), "%s", hdr + 6);
  len = strlen(b64);
  while (len && b64[len - 1] == '=') b64[--len] = '\0';
  for (size_t i = 0; i < len; i++) {
    if (b64[i] == '+') b64[i] = '-';
    else if (b64[i] == '/') b64[i] = '_';
  }
  n = qrl_b64url_decode(b64, len, raw, sizeof(raw) - 1);
  if (n <= 0) goto out;
  raw[n] = '\0';
  if (memchr(raw, '\0', (size_t)n)) goto out;
  if (!(colon = strchr((char *)raw, ':'))) goto out;
  if (qrl_form_decode((char *)raw, (size_t)(colon - (char *)raw), k->client_id,
                      sizeof(k->client_id)) ||
      qrl_form_decode(colon + 1, strlen(colon + 1), k->secret, sizeof(k->secret)))
    goto out;
  rc = 0;
out:
  qrl_cleanse(hdr, sizeof(hdr));
  qrl_cleanse(b64, sizeof(b64));
  qrl_cleanse(raw, sizeof(raw));
  return rc;
}

static void token_route(qrl_services *sv, qrl_conn *c, const cJSON *body_unused) {
  token_task *k;
  char grant[40], ctype[80] = "", form_client[QRL_CLIENT_ID_MAX + 1];
  const char *b = c->body ? c->body : "";
  size_t len = c->body ? c->body_len : 0;
  int g, cd, ru, cv, fc;
  const char *iss = qrl_oidc_issuer(sv, c);
  (void)body_unused;

  lws_hdr_copy(c->wsi, ctype, sizeof(ctype), WSI_TOKEN_HTTP_CONTENT_TYPE);
  if (strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
    token_error(c, 400, "invalid_request", "the body must be application/x-www-form-urlencoded");
    return;
  }
  if (!iss || !(k = (token_task *)qrl_task_new(sv->tasks, c, &token_type, sizeof(*k)))) {
    token_error(c, 500, "server_error", NULL);
    return;
  }
  snprintf(k->issuer, sizeof(k->issuer), "%s", iss);
  g = qrl_form_get(b, len, "grant_type", grant, sizeof(grant));
  cd = qrl_form_get(b, len, "code", k->code, sizeof(k->code));
  ru = qrl_form_get(b, len, "redirect_uri", k->redirect_uri, sizeof(k->redirect_uri));
  cv = qrl_form_get(b, len, "code_verifier", k->verifier, sizeof(k->verifier));
  fc = qrl_form_get(b, len, "client_id", form_client, sizeof(form_client));
  {
    char atype[80];
    int at = qrl_form_get(b, len, "client_assertion_type", atype, sizeof(atype));
    int as = qrl_form_get(b, len, "client_assertion", k->assertion, sizeof(k->assertion));
    int has_basic = lws_hdr_total_length(c->wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0;
    /* One way to authenticate: Basic, or a private_key_jwt assertion. */
    if (at == 1 && !has_basic) {
      if (strcmp(atype, JWT_BEARER) != 0 || as != 1 || fc < 0) {
        qrl_task_free(&k->base);
        token_error(c, 401, "invalid_client", "a client assertion must be a jwt-bearer");
        return;
      }
      if (fc == 1) snprintf(k->client_id, sizeof(k->client_id), "%s", form_client);
      fc = 0; /* checked against the assertion's iss and sub */
    } else if (at != 0 || as != 0 || basic_auth(c, k)) {
      k->assertion[0] = '\0';
      qrl_task_free(&k->base);
      token_error(c, 401, "invalid_client",
                  "client_secret_basic or private_key_jwt (one of them) is required");
      return;
    }
  }
  if (g == 1 && strcmp(grant, "authorization_code") != 0) {
    qrl_task_free(&k->base);
    token_error(c, 400, "unsupported_grant_type", NULL);
    return;
  }
  /* A code too long to be ours is no code of ours: invalid_grant then. */
  if (cd < 0) k->code[0] = '\0', cd = 1;
  if (g != 1 || cd != 1 || ru != 1 || cv != 1 || fc < 0 ||
      (fc == 1 && strcmp(form_client, k->client_id) != 0)) {
    qrl_task_free(&k->base);
    token_error(c, 400, "invalid_request",
                "grant_type, code, redirect_uri and code_verifier are required, once each");
    return;
  }
  qrl_http_submit(c, &k->base);
}

/* ---- userinfo ---------------------------------------------------------------- */

typedef struct userinfo_task {
  qrl_task base;
  char token[QRL_OIDC_SECRET_LEN + 1];
  qrl_oidc_grant g;
  qrl_oidc_claims cl;
} userinfo_task;

static void userinfo_run(qrl_task *t, qrl_db *db) {
  userinfo_task *u = qrl_container_of(t, userinfo_task, base);
  t->rc = qrl_oidc_access_check(db, u->token, t->now, &u->g);
  if (!t->rc) t->rc = qrl_oidc_citizen_claims(db, u->g.citizen_id, &u->cl);
}

static void bearer_error(qrl_conn *c, int status, const char *auth) {
  qrl_http_respond(c, status, strdup("{\"error\":\"invalid_token\"}"), NULL);
  c->resp_auth = auth;
}

static void userinfo_done(qrl_task *t, qrl_conn *c) {
  userinfo_task *u = qrl_container_of(t, userinfo_task, base);
  cJSON *o;
  if (!c) return;
  if (t->rc == QRL_NOT_AUTHENTICATED || t->rc == QRL_NOT_FOUND) {
    bearer_error(c, 401, "Bearer error=\"invalid_token\"");
    return;
  }
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  if (!(o = cJSON_CreateObject())) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  cJSON_AddStringToObject(o, "sub", u->g.sub);
  if (has_word(u->g.scope, "profile")) {
    cJSON_AddStringToObject(o, "name", u->cl.name);
    if (u->cl.birthdate[0]) cJSON_AddStringToObject(o, "birthdate", u->cl.birthdate);
    cJSON_AddNumberToObject(o, "level", u->cl.level);
  }
  if (has_word(u->g.scope, "citizen_id")) cJSON_AddStringToObject(o, "citizen_id", u->g.citizen_id);
  qrl_http_respond(c, 200, qrl_json_take_print(o), NULL);
}

static const qrl_task_type userinfo_type = {"oidc_userinfo", userinfo_run, userinfo_done};

/* GET or POST; the token in "Authorization: Bearer", or (a POST) as
 * access_token in a form body (RFC 6750 §2.1, §2.2). */
static void userinfo_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  char hdr[128], token[QRL_OIDC_SECRET_LEN + 2] = "";
  userinfo_task *u;
  int n = lws_hdr_copy(c->wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION);
  (void)body;
  if (n > 0 && strncasecmp(hdr, "Bearer ", 7) == 0)
    snprintf(token, sizeof(token), "%.*s", QRL_OIDC_SECRET_LEN + 1, hdr + 7);
  else if (n <= 0 && c->method_post &&
           qrl_form_get(c->body ? c->body : "", c->body ? c->body_len : 0, "access_token", token,
                    sizeof(token)) != 1)
    token[0] = '\0';
  qrl_cleanse(hdr, sizeof(hdr));
  if (!token[0]) {
    bearer_error(c, 401, "Bearer realm=\"qrlogin\"");
    return;
  }
  if (strlen(token) != QRL_OIDC_SECRET_LEN) {
    qrl_cleanse(token, sizeof(token));
    bearer_error(c, 401, "Bearer error=\"invalid_token\"");
    return;
  }
  if (!(u = (userinfo_task *)qrl_task_new(sv->tasks, c, &userinfo_type, sizeof(*u)))) {
    qrl_cleanse(token, sizeof(token));
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  memcpy(u->token, token, sizeof(u->token));
  qrl_cleanse(token, sizeof(token));
  qrl_http_submit(c, &u->base);
}

/* ---- attach ------------------------------------------------------------------ */

/* path, POST?, body, cookie?, handler */
static const qrl_route routes[] = {
    {"/oauth2/authorize", 0, 0, 0, authorize_route},
    {"/oauth2/authorize", 1, QRL_ROUTE_FORM, 0, authorize_route},
    {"/oauth2/resume", 0, 0, 0, resume_route},
    {"/oauth2/request", 0, 0, 0, info_route},
    {"/oauth2/token", 1, QRL_ROUTE_FORM, 0, token_route},
    {"/oauth2/userinfo", 0, 0, 0, userinfo_route},
    {"/oauth2/userinfo", 1, QRL_ROUTE_FORM, 0, userinfo_route},
};

qrl_err qrl_oidc_flow_attach(qrl_http *h) {
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
