/*
 * api_session.c - /api/session, /api/me, /api/logout (api_session.h).
 * Database work goes to a worker; the answer is written when it comes back.
 */
#include "handlers/api_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/legacy.h"
#include "domain/policy.h"
#include "domain/websession.h"
#include "glue/config.h"
#include "glue/jsonio.h"

/* ---- POST /api/session: the one-time code for the cookie ------------------ */

typedef struct exchange_task {
  qrl_task base;
  char code[QRL_SESSION_B64LEN + 1];
  char binding[QRL_TOKEN_B64LEN + 1];
  char token[QRL_SESSION_B64LEN + 1];
  qrl_web_session web;
} exchange_task;

static void exchange_run(qrl_task *t, qrl_db *db) {
  exchange_task *x = qrl_container_of(t, exchange_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_exchange_code(db, sv->pol, x->code, x->binding, &rc, x->token, &x->web);
}

static void exchange_done(qrl_task *t, qrl_conn *c) {
  exchange_task *x = qrl_container_of(t, exchange_task, base);
  if (!c) return;
  if (t->rc) qrl_http_error(c, t->rc, NULL);
  else qrl_http_logged_in(c, x->token);
}

static const qrl_task_type exchange_type = {"session", exchange_run, exchange_done};

static void session_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  const char *code, *binding;
  exchange_task *x;
  qrl_err rc = qrl_json_str(body, "code", QRL_SESSION_B64LEN, &code);
  if (!rc) rc = qrl_json_str(body, "binding", QRL_TOKEN_B64LEN, &binding);
  if (rc) {
    qrl_http_error(c, rc, NULL);
    return;
  }
  x = (exchange_task *)qrl_task_new(sv->tasks, c, &exchange_type, sizeof(*x));
  if (!x) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  snprintf(x->code, sizeof(x->code), "%s", code);
  snprintf(x->binding, sizeof(x->binding), "%s", binding);
  qrl_http_submit(c, &x->base);
}

/* ---- GET /api/me ----------------------------------------------------------- */

typedef struct me_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_web_session web;
  qrl_dossier dossiers[32];
  size_t ndossiers;
  qrl_link_state link;
} me_task;

static void me_run(qrl_task *t, qrl_db *db) {
  me_task *m = qrl_container_of(t, me_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_web_session(db, sv->pol, m->session, &rc, &m->web);
  if (!t->rc)
    t->rc = qrl_dossiers_for(db, &m->web, m->dossiers,
                             sizeof(m->dossiers) / sizeof(m->dossiers[0]), &m->ndossiers);
  if (!t->rc && m->web.citizen.id[0])
    t->rc = qrl_legacy_link_state(db, m->web.citizen.id, &m->link);
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

static void add_who(cJSON *o, const me_task *m) {
  const qrl_web_session *w = &m->web;
  cJSON *acc;
  if (w->citizen.id[0]) {
    static const char *const states[] = {"none", "linked", "unverified"};
    cJSON *link;
    cJSON_AddStringToObject(o, "kind", "citizen");
    qrl_json_add_account(o, &w->citizen);
    if ((link = cJSON_AddObjectToObject(o, "link"))) {
      cJSON_AddStringToObject(link, "status", states[m->link]);
      cJSON_AddStringToObject(link, "message", link_message(m->link));
    }
    return;
  }
  {
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
}

static void add_dossiers(cJSON *o, const me_task *m) {
  cJSON *arr = cJSON_AddArrayToObject(o, "dossiers");
  for (size_t i = 0; arr && i < m->ndossiers; i++) {
    const qrl_dossier *d = &m->dossiers[i];
    cJSON *j = cJSON_CreateObject();
    if (!j) break;
    cJSON_AddStringToObject(j, "id", d->id);
    cJSON_AddStringToObject(j, "title", d->title);
    cJSON_AddStringToObject(j, "status", d->status);
    cJSON_AddNumberToObject(j, "submitted_at", (double)d->submitted_at);
    cJSON_AddNumberToObject(j, "updated_at", (double)d->updated_at);
    cJSON_AddItemToArray(arr, j);
  }
}

static void me_done(qrl_task *t, qrl_conn *c) {
  me_task *m = qrl_container_of(t, me_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  cJSON *o;

  if (!c) return;
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  if (!(o = cJSON_CreateObject())) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  add_who(o, m);
  cJSON_AddStringToObject(o, "method", m->web.method);
  cJSON_AddNumberToObject(o, "login_at", (double)m->web.created_at);
  /* The server's idle limit, and how stale its record of the last use may
   * be: the page keeps an active citizen's session alive with that. */
  {
    int64_t idle = qrl_web_idle_secs(sv->pol, m->web.method);
    cJSON_AddNumberToObject(o, "idle_secs", (double)idle);
    cJSON_AddNumberToObject(o, "idle_touch_secs", (double)qrl_web_touch_secs(idle));
  }
  if (qrl_web_method_kiosk(m->web.method)) {
    cJSON *k = cJSON_AddObjectToObject(o, "kiosk");
    if (k) {
      cJSON_AddStringToObject(k, "name", sv->cfg->kiosk_name);
      cJSON_AddNumberToObject(k, "idle_secs", (double)sv->pol->kiosk_idle_secs);
    }
  }
  add_dossiers(o, m);
  qrl_http_json(c, o, NULL);
}

static const qrl_task_type me_type = {"me", me_run, me_done};

static void me_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_task *t =
      qrl_http_cookie_task(sv, c, &me_type, sizeof(me_task), offsetof(me_task, session));
  (void)body;
  if (t) qrl_http_submit(c, t);
}

/* ---- POST /api/logout ------------------------------------------------------ */

typedef struct logout_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
} logout_task;

static void logout_run(qrl_task *t, qrl_db *db) {
  logout_task *l = qrl_container_of(t, logout_task, base);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_web_logout(db, l->session, &rc);
}

static void logout_done(qrl_task *t, qrl_conn *c) {
  if (!c) return;
  if (t->rc) {
    qrl_http_error(c, t->rc, NULL);
    return;
  }
  qrl_http_respond(c, 200, strdup("{\"ok\":true}"),
                   QRL_COOKIE_NAME "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

static const qrl_task_type logout_type = {"logout", logout_run, logout_done};

static void logout_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_task *t;
  (void)body;
  if (!c->cookie[0]) { /* nothing to end */
    qrl_http_respond(c, 200, strdup("{\"ok\":true}"), NULL);
    return;
  }
  if ((t = qrl_http_cookie_task(sv, c, &logout_type, sizeof(logout_task),
                                offsetof(logout_task, session))))
    qrl_http_submit(c, t);
}

/* path, POST?, JSON body?, cookie?, handler */
static const qrl_route routes[] = {
    {"/session", 1, 1, 0, session_route},
    {"/me", 0, 0, 1, me_route},
    {"/logout", 1, 0, 0, logout_route},
};

qrl_err qrl_api_session_attach(qrl_http *h) {
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
