/*
 * api_sessions.c - /api/sessions and /api/sessions/revoke (api_sessions.h).
 * Database work goes to a worker; the answer is written when it comes back.
 */
#include "handlers/api_sessions.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "domain/websession.h"
#include "glue/jsonio.h"
#include "handlers/ws_browser.h"
#include "helpers/useragent.h"

#define MAX_LISTED 20

/* ---- GET /api/sessions ------------------------------------------------------ */

typedef struct list_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_web_session web;
  qrl_web_login logins[MAX_LISTED];
  size_t n;
} list_task;

/* The citizen of the cookie's session (a use of it): QRL_OK, or
 * QRL_NOT_AUTHENTICATED, QRL_FORBIDDEN (an old portal account), QRL_DB... */
static qrl_err citizen_of(qrl_db *db, qrl_task *t, const char *session,
                          qrl_web_session *web) {
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  qrl_err err = qrl_acct_web_session(db, sv->pol, session, &rc, web);
  if (!err && !web->citizen.id[0]) err = QRL_FORBIDDEN;
  return err;
}

static void list_run(qrl_task *t, qrl_db *db) {
  list_task *l = qrl_container_of(t, list_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  t->rc = citizen_of(db, t, l->session, &l->web);
  if (!t->rc)
    t->rc = qrl_acct_web_logins(db, sv->pol, l->web.citizen.id, t->now, l->logins,
                                MAX_LISTED, &l->n);
}

/* One listed login: its handle, when, from where, on what, how, and whether
 * it is live and is the asking browser's. */
static cJSON *login_json(const qrl_web_login *w, int64_t current) {
  char browser[48], os[24], summary[96];
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  qrl_ua_parts(w->user_agent, browser, sizeof(browser), os, sizeof(os));
  qrl_ua_summary(w->user_agent, summary, sizeof(summary));
  cJSON_AddNumberToObject(j, "id", (double)w->id);
  cJSON_AddNumberToObject(j, "at", (double)w->at);
  cJSON_AddStringToObject(j, "ip", w->ip);
  cJSON_AddStringToObject(j, "browser", browser);
  cJSON_AddStringToObject(j, "os", os);
  cJSON_AddStringToObject(j, "summary", summary);
  cJSON_AddStringToObject(j, "method", w->method);
  cJSON_AddBoolToObject(j, "active", w->active);
  cJSON_AddBoolToObject(j, "current", w->id == current);
  return j;
}

static void list_done(qrl_task *t, qrl_conn *c) {
  list_task *l = qrl_container_of(t, list_task, base);
  cJSON *o = NULL, *arr;
  qrl_err err = t->rc;

  if (!c) return;
  if (err) goto out;
  err = QRL_NOMEM;
  if (!(o = cJSON_CreateObject()) || !(arr = cJSON_AddArrayToObject(o, "sessions"))) goto out;
  for (size_t i = 0; i < l->n; i++) {
    cJSON *j = login_json(&l->logins[i], l->web.id);
    if (!j) goto out;
    cJSON_AddItemToArray(arr, j);
  }
  qrl_http_json(c, o, NULL);
  o = NULL;
  err = QRL_OK;
out:
  cJSON_Delete(o);
  if (err) qrl_http_error(c, err, NULL);
}

static const qrl_task_type list_type = {"sessions", list_run, list_done};

static void list_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_task *t =
      qrl_http_cookie_task(sv, c, &list_type, sizeof(list_task), offsetof(list_task, session));
  (void)body;
  if (t) qrl_http_submit(c, t);
}

/* ---- POST /api/sessions/revoke ---------------------------------------------- */

typedef struct revoke_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  int64_t target;
  int current; /* the target was the asking browser's own session */
} revoke_task;

static void revoke_run(qrl_task *t, qrl_db *db) {
  revoke_task *r = qrl_container_of(t, revoke_task, base);
  qrl_req_ctx rc = qrl_task_req(t);
  qrl_web_session web;
  t->rc = citizen_of(db, t, r->session, &web);
  if (t->rc) return;
  r->current = web.id == r->target;
  /* Not theirs, or already ended: one answer for both. */
  t->rc = qrl_acct_revoke_web_login(db, web.citizen.id, r->target, &rc);
  if (t->rc == QRL_NOT_FOUND) t->rc = QRL_WEB_SESSION_UNKNOWN;
}

static void revoke_done(qrl_task *t, qrl_conn *c) {
  revoke_task *r = qrl_container_of(t, revoke_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  cJSON *o;

  /* Its pages learn it even if the asking one has gone meanwhile. */
  if (!t->rc) qrl_browser_push_session_ended(sv->conns, r->target, "revoked");
  if (!c) return;
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  if (!(o = cJSON_CreateObject())) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  cJSON_AddBoolToObject(o, "ok", 1);
  cJSON_AddNumberToObject(o, "id", (double)r->target);
  cJSON_AddBoolToObject(o, "logged_out", r->current);
  if (!r->current) {
    qrl_http_json(c, o, NULL);
    return;
  }
  /* Ending one's own session is a logout: the cookie goes too. */
  qrl_http_respond(c, 200, qrl_json_take_print(o),
                   QRL_COOKIE_NAME "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

static const qrl_task_type revoke_type = {"sessions_revoke", revoke_run, revoke_done};

static void revoke_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  long long id = 0;
  revoke_task *r;
  qrl_task *t;
  qrl_err rc = qrl_json_int(body, "id", 1, 9007199254740991.0, &id);
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  if (!(t = qrl_http_cookie_task(sv, c, &revoke_type, sizeof(revoke_task),
                                  offsetof(revoke_task, session))))
    return;
  r = qrl_container_of(t, revoke_task, base);
  r->target = id;
  qrl_http_submit(c, &r->base);
}

/* path, POST?, JSON body?, cookie?, handler */
static const qrl_route routes[] = {
    {"/sessions", 0, 0, 1, list_route},
    {"/sessions/revoke", 1, 1, 1, revoke_route},
};

qrl_err qrl_api_sessions_attach(qrl_http *h) {
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
