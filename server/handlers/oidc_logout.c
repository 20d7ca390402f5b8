/*
 * oidc_logout.c - /oauth2/logout and the back-channel logout deliverer's
 * start (oidc_logout.h).
 */
#include "handlers/oidc_logout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_clients.h"
#include "domain/oidc_logout.h"
#include "domain/websession.h"
#include "glue/bclogout.h"
#include "glue/config.h"
#include "glue/metrics.h"
#include "glue/task.h"
#include "handlers/oidc_meta.h"
#include "handlers/ws_browser.h"
#include "helpers/crypto.h"
#include "helpers/errpage.h"
#include "helpers/form.h"
#include "helpers/logoutpage.h"

#define ISSUER_MAX 160
#define URL_MAX 4096
#define HINT_MAX QRL_OIDC_HINT_MAX

typedef enum logout_out {
  OUT_ERROR,      /* an error page (t->rc) */
  OUT_LOGGED_OUT, /* "Đã đăng xuất", with the portal's link if url */
  OUT_CONFIRM,    /* the confirmation form */
  OUT_REDIRECT    /* 302 to url */
} logout_out;

typedef struct logout_task {
  qrl_task base;
  char issuer[ISSUER_MAX];
  char session[QRL_SESSION_B64LEN + 1]; /* the cookie's token, "" if none */
  char hint[HINT_MAX + 1];
  char client_id[QRL_CLIENT_ID_MAX + 1];
  char state[QRL_OIDC_PARAM_MAX + 1];
  char confirm[QRL_OIDC_CONFIRM_LEN + 2]; /* the form's one-time token */
  qrl_oidc_confirm c;  /* c.redirect_uri: the post_logout_redirect_uri asked */
  /* out */
  logout_out out;
  int64_t ended;       /* the session ended, 0 if none */
  int clear_cookie;
  char token[QRL_OIDC_CONFIRM_LEN + 1];
} logout_task;

/* 1 if uri is one of cl's registered post-logout redirect URIs. */
static int registered(const qrl_client *cl, const char *uri) {
  for (size_t i = 0; i < cl->npost_logout; i++)
    if (strcmp(cl->post_logout[i], uri) == 0) return 1;
  return 0;
}

/* Ends session id for client; l->ended and the cookie as it went. */
static void end_session(qrl_db *db, logout_task *l, int64_t id, int64_t cookie_id) {
  qrl_req_ctx rc = qrl_task_req(&l->base);
  int ended = 0;
  if ((l->base.rc = qrl_oidc_logout_session(db, id, l->c.client_id, &rc, &ended))) return;
  if (ended) l->ended = id;
  if (id == cookie_id) l->clear_cookie = 1;
}

/* The confirmation form came back. */
static void confirm_run(qrl_db *db, logout_task *l, qrl_services *sv, int64_t cookie_id) {
  (void)sv;
  l->out = OUT_ERROR;
  l->base.rc = qrl_oidc_confirm_take(db, l->confirm, l->base.now, &l->c);
  if (l->base.rc == QRL_NOT_FOUND || (!l->base.rc && l->c.session_id != cookie_id)) {
    l->base.rc = QRL_BAD_REQUEST; /* only the browser of that session may */
    return;
  }
  if (l->base.rc) return;
  end_session(db, l, l->c.session_id, cookie_id);
  if (!l->base.rc) l->out = OUT_LOGGED_OUT;
}

static void logout_run(qrl_task *t, qrl_db *db) {
  logout_task *l = qrl_container_of(t, logout_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_oidc_hint h;
  qrl_client cl;
  int64_t cookie_id = 0, target = 0;

  memset(&cl, 0, sizeof(cl));
  l->out = OUT_ERROR;
  if (l->session[0] && qrl_acct_web_session_peek(db, sv->pol, l->session, t->now, &cookie_id))
    cookie_id = 0;
  if (l->confirm[0]) {
    confirm_run(db, l, sv, cookie_id);
    goto out;
  }
  if (l->hint[0]) {
    if ((t->rc = qrl_oidc_hint_check(db, l->hint, l->issuer, t->now, &h))) {
      if (t->rc != QRL_DB && t->rc != QRL_NOMEM) t->rc = QRL_BAD_REQUEST;
      goto out;
    }
    if (l->client_id[0] && strcmp(l->client_id, h.client_id) != 0) {
      t->rc = QRL_BAD_REQUEST; /* client_id and the hint's aud disagree */
      goto out;
    }
    memcpy(l->client_id, h.client_id, sizeof(l->client_id));
  }
  if (l->client_id[0]) {
    t->rc = qrl_client_get(db, l->client_id, &cl);
    if (t->rc == QRL_NOT_FOUND) t->rc = QRL_BAD_REQUEST;
    if (t->rc) goto out;
  }
  if (l->c.redirect_uri[0] && (!l->client_id[0] || !registered(&cl, l->c.redirect_uri))) {
    t->rc = QRL_BAD_REQUEST; /* never a redirect to an unregistered URI */
    goto out;
  }
  memcpy(l->c.client_id, l->client_id, sizeof(l->c.client_id));
  memcpy(l->c.state, l->state, sizeof(l->c.state));
  t->rc = QRL_OK;
  if (l->hint[0]) {
    /* The portal holds an ID token of that session: it ends now. */
    t->rc = qrl_oidc_session_of_sid(db, h.sid, &target);
    if (t->rc == QRL_NOT_FOUND) t->rc = QRL_OK; /* ended already */
    if (!t->rc && target) end_session(db, l, target, cookie_id);
  } else if (cookie_id) {
    /* No proof the request is the portal's: ask the citizen. */
    l->c.session_id = cookie_id;
    if (!(t->rc = qrl_oidc_confirm_new(db, &l->c, t->now, l->token))) l->out = OUT_CONFIRM;
    goto out;
  }
  if (!t->rc) l->out = l->c.redirect_uri[0] ? OUT_REDIRECT : OUT_LOGGED_OUT;
out:
  qrl_client_clear(&cl);
}

static void page_error(qrl_conn *c, int status) {
  char *html = qrl_errpage_html(status);
  if (!html) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  qrl_http_respond_as(c, status, html, "text/html; charset=utf-8");
}

static void logout_done(qrl_task *t, qrl_conn *c) {
  logout_task *l = qrl_container_of(t, logout_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  char url[URL_MAX], cookie[160];
  char *html = NULL;

  if (l->ended) {
    /* The page of that session learns it ended; deliver its logouts now. */
    qrl_browser_push_session_ended(sv->conns, l->ended, "revoked");
    if (!qrl_bclogout_has_issuer(sv->bclogout)) qrl_bclogout_set_issuer(sv->bclogout, l->issuer);
    qrl_bclogout_kick(sv->bclogout);
  }
  if (!c) goto out;
  if (!t->ran) {
    page_error(c, 503);
    goto out;
  }
  if (l->clear_cookie)
    snprintf(cookie, sizeof(cookie),
             QRL_OP_COOKIE_NAME "=; Max-Age=0; HttpOnly; SameSite=Lax; Path=/oauth2%s",
             sv->cfg->tls_cert ? "; Secure" : "");
  url[0] = '\0';
  if (l->out == OUT_REDIRECT || (l->out == OUT_LOGGED_OUT && l->c.redirect_uri[0])) {
    snprintf(url, sizeof(url), "%s", l->c.redirect_uri);
    if (l->c.state[0] && qrl_url_add_param(url, sizeof(url), "state", l->c.state)) {
      page_error(c, 400);
      goto out;
    }
  }
  switch (l->out) {
  case OUT_ERROR:
    page_error(c, t->rc == QRL_BAD_REQUEST ? 400 : qrl_http_status_for(t->rc));
    goto out;
  case OUT_REDIRECT:
    qrl_http_redirect(c, url, l->clear_cookie ? cookie : NULL);
    goto out;
  case OUT_CONFIRM:
    html = qrl_logout_confirm_html(l->token);
    break;
  case OUT_LOGGED_OUT:
    html = qrl_logout_page_html(url[0] ? url : NULL);
    break;
  }
  if (!html) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    goto out;
  }
  qrl_http_respond_as(c, 200, html, "text/html; charset=utf-8");
  if (l->clear_cookie) {
    free(c->resp_cookie);
    c->resp_cookie = strdup(cookie);
  }
out:
  qrl_cleanse(l->token, sizeof(l->token));
}

static const qrl_task_type logout_type = {"oidc_logout", logout_run, logout_done};

/* A parameter of the request: the query of a GET, the form of a POST. 1
 * found; 0 absent; -1 too long, or (a POST) given twice. */
static int param(qrl_conn *c, const char *name, char *out, size_t cap) {
  char key[48];
  out[0] = '\0';
  if (c->method_post)
    return qrl_form_get(c->body ? c->body : "", c->body ? c->body_len : 0, name, out, cap);
  snprintf(key, sizeof(key), "%s=", name);
  {
    char *buf = malloc(HINT_MAX + 64);
    const char *v;
    int r = 0;
    if (!buf) return -1;
    v = lws_get_urlarg_by_name(c->wsi, key, buf, HINT_MAX + 64);
    if (v) {
      size_t n = strlen(v);
      if (n >= cap) r = -1;
      else {
        memcpy(out, v, n + 1);
        r = 1;
      }
    }
    free(buf);
    return r;
  }
}

static void logout_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  const char *iss = qrl_oidc_issuer(sv, c);
  char locales[64];
  logout_task *l;
  int bad = 0;
  (void)body;
  if (!iss || !(l = (logout_task *)qrl_task_new(sv->tasks, c, &logout_type, sizeof(*l)))) {
    page_error(c, 500);
    return;
  }
  snprintf(l->issuer, sizeof(l->issuer), "%s", iss);
  memcpy(l->session, c->cookie, sizeof(l->session));
  bad |= param(c, "id_token_hint", l->hint, sizeof(l->hint)) < 0;
  bad |= param(c, "client_id", l->client_id, sizeof(l->client_id)) < 0;
  bad |= param(c, "post_logout_redirect_uri", l->c.redirect_uri, sizeof(l->c.redirect_uri)) < 0;
  bad |= param(c, "state", l->state, sizeof(l->state)) < 0;
  /* ui_locales: the pages say everything in Vietnamese and English. */
  bad |= param(c, "ui_locales", locales, sizeof(locales)) < 0;
  if (c->method_post) bad |= param(c, "confirm", l->confirm, sizeof(l->confirm)) < 0;
  if (bad) {
    qrl_task_free(&l->base);
    page_error(c, 400);
    return;
  }
  qrl_http_submit(c, &l->base);
}

/* ---- the deliverer ------------------------------------------------------------- */

typedef struct logout_state {
  qrl_services *sv;
  qrl_bclogout *b;
} logout_state;

/* Once a second: tells the deliverer the issuer once it is known. */
static void on_tick(void *arg, int64_t now_ms) {
  logout_state *s = arg;
  const char *iss;
  (void)now_ms;
  if (qrl_bclogout_has_issuer(s->b)) return;
  if ((iss = qrl_oidc_issuer_known(s->sv))) qrl_bclogout_set_issuer(s->b, iss);
}

static void state_free(void *arg) {
  logout_state *s = arg;
  qrl_bclogout_stop(s->b);
  s->sv->bclogout = NULL;
  free(s);
}

/* GET or POST: POST as a form (a portal's, or our confirmation form; the
 * one-time token, not the Origin, is what guards it). */
static const qrl_route routes[] = {
    {"/oauth2/logout", 0, 0, 0, logout_route},
    {"/oauth2/logout", 1, QRL_ROUTE_FORM, 0, logout_route},
};

qrl_err qrl_oidc_logout_attach(qrl_server *srv, qrl_http *router) {
  qrl_services *sv = qrl_server_services(srv);
  logout_state *s = calloc(1, sizeof(*s));
  qrl_bclogout_opts o;
  if (!s) return QRL_NOMEM;
  memset(&o, 0, sizeof(o));
  o.db_path = sv->cfg->db_path;
  o.log = sv->log;
  o.counters = sv->metrics->bclogout;
  o.retry_ms = sv->cfg->bclogout_retry_ms;
  o.poll_ms = 1000;
  o.connect_ms = 2000;
  o.total_ms = 5000;
  s->sv = sv;
  if (!(s->b = qrl_bclogout_start(&o))) {
    free(s);
    return QRL_INTERNAL;
  }
  if (qrl_server_at_free(srv, state_free, s)) {
    qrl_bclogout_stop(s->b);
    free(s);
    return QRL_NOMEM;
  }
  sv->bclogout = s->b;
  if (qrl_server_on_tick(srv, on_tick, s)) return QRL_NOMEM;
  return qrl_http_add_routes(router, routes, sizeof(routes) / sizeof(routes[0]));
}
