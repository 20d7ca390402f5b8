/*
 * api_identity.c - GET /api/identity (api_identity.h): the web session and
 * its identity link are read on a worker; the answer is written when it
 * comes back. Not here: linking itself (at VNeID login, otp.c/login) and
 * "Cập nhật từ CSDL Quốc gia về dân cư" (api_otp.c).
 */
#include "handlers/api_identity.h"

#include <stddef.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/legacy.h"
#include "domain/otp.h"
#include "domain/websession.h"
#include "glue/config.h"
#include "glue/jsonio.h"
#include "helpers/vndate.h"

typedef struct identity_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  qrl_web_session web;
  qrl_identity_link link;
} identity_task;

static void identity_run(qrl_task *t, qrl_db *db) {
  identity_task *it = qrl_container_of(t, identity_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_req_ctx rc = qrl_task_req(t);
  t->rc = qrl_acct_web_session(db, sv->pol, it->session, &rc, &it->web);
  if (!t->rc) t->rc = qrl_legacy_identity(db, &it->web, &it->link);
}

static void add_time_or_null(cJSON *o, const char *name, int64_t t) {
  if (t) cJSON_AddNumberToObject(o, name, (double)t);
  else cJSON_AddNullToObject(o, name);
}

static void identity_done(qrl_task *t, qrl_conn *c) {
  static const char *const states[] = {"none", "linked", "verified", "unverified",
                                       "organization"};
  identity_task *it = qrl_container_of(t, identity_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  const qrl_web_session *w = &it->web;
  char day[11];
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
  cJSON_AddStringToObject(o, "kind", w->citizen.id[0] ? "citizen"
                                     : strcmp(w->portal.kind, "citizen") == 0
                                         ? "legacy_citizen"
                                         : "organization");
  cJSON_AddStringToObject(o, "status", states[it->link.status]);
  cJSON_AddStringToObject(o, "username", it->link.username);
  add_time_or_null(o, "verified_at", it->link.verified_at);
  add_time_or_null(o, "linked_at", it->link.linked_at);
  cJSON_AddBoolToObject(o, "vneid_notice",
                        qrl_legacy_vneid_notice(w, &it->link, t->now, sv->opol->cutover));
  qrl_vndate_format(sv->cfg->accounts_close, day);
  cJSON_AddStringToObject(o, "accounts_close", day);
  qrl_vndate_format(sv->opol->cutover, day);
  cJSON_AddStringToObject(o, "cutover", day);
  cJSON_AddBoolToObject(o, "cutover_passed", t->now >= sv->opol->cutover);
  qrl_http_json(c, o, NULL);
}

static const qrl_task_type identity_type = {"identity", identity_run, identity_done};

static void identity_route(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_task *t = qrl_http_cookie_task(sv, c, &identity_type, sizeof(identity_task),
                                     offsetof(identity_task, session));
  (void)body;
  if (t) qrl_http_submit(c, t);
}

/* path, POST?, JSON body?, cookie?, handler */
static const qrl_route routes[] = {
    {"/identity", 0, 0, 1, identity_route},
};

qrl_err qrl_api_identity_attach(qrl_http *h) {
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
