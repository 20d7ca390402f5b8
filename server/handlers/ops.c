/*
 * ops.c - /healthz, /readyz and /metrics (ops.h).
 */
#include "handlers/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/health.h"
#include "glue/config.h"
#include "glue/metrics.h"
#include "glue/store_redis.h"
#include "glue/task.h"
#include "handlers/http.h"
#include "helpers/clock.h"
#include "helpers/workq.h"

#define READY_CACHE_MS 1000 /* a check's answer serves this long */
#define READY_WAITERS 64    /* probes waiting for one check at most */
/* Not ready once this many jobs wait: requests already queue for seconds. */
#define READY_QUEUE_MAX (QRL_TASK_QUEUE_LIMIT / 2)

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define TEXT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* The readiness cache. One per server. */
struct qrl_ops {
  int64_t checked_ms; /* monotonic ms of the last finished check; 0: none yet */
  qrl_err db;         /* its answer */
  int checking;       /* a check is queued or running */
  uint64_t waiting[READY_WAITERS]; /* connection ids of probes waiting for it */
  size_t nwaiting;
};

typedef struct check_task {
  qrl_task base;
  qrl_ops *ops;
} check_task;

/* 200 {"ready":true} if reason is NULL, else 503 naming it (a static word). */
static void answer_ready(qrl_conn *c, const char *reason) {
  char body[64];
  if (reason) snprintf(body, sizeof(body), "{\"ready\":false,\"reason\":\"%s\"}", reason);
  else snprintf(body, sizeof(body), "{\"ready\":true}");
  qrl_http_respond(c, reason ? 503 : 200, strdup(body), NULL);
}

static void check_run(qrl_task *t, qrl_db *db) {
  qrl_services *sv = qrl_task_ctx(t);
  t->rc = qrl_db_health(db, sv->cfg->db_path);
}

static void check_done(qrl_task *t, qrl_conn *c_unused) {
  check_task *k = qrl_container_of(t, check_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_ops *o = k->ops;
  const char *reason = NULL;
  (void)c_unused;
  o->checking = 0;
  if (t->ran) {
    o->db = t->rc;
    o->checked_ms = qrl_clock_mono_ms(sv->clock);
    if (t->rc) reason = "database";
  } else {
    reason = "stopping"; /* dropped at shutdown */
  }
  for (size_t i = 0; i < o->nwaiting; i++) {
    qrl_conn *c = qrl_conn_find(sv->conns, o->waiting[i]);
    if (c) answer_ready(c, reason);
  }
  o->nwaiting = 0;
}

static const qrl_task_type check_type = {"readyz", check_run, check_done};

/* Queues a database check unless one is on its way. 0, or -1 (no worker
 * takes it: the caller answers). */
static int start_check(qrl_services *sv, qrl_ops *o) {
  check_task *k;
  if (o->checking) return 0;
  k = (check_task *)qrl_task_new(sv->tasks, NULL, &check_type, sizeof(*k));
  if (!k) return -1;
  k->ops = o;
  if (qrl_task_submit(&k->base)) return -1; /* freed there */
  o->checking = 1;
  return 0;
}

static void healthz(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  (void)sv;
  (void)body;
  qrl_http_respond_as(c, 200, strdup("ok\n"), TEXT_PLAIN);
}

static void readyz(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_ops *o = sv->ops;
  int64_t now = qrl_clock_mono_ms(sv->clock);
  (void)body;
  if (*sv->closing || sv->tasks->stopping) {
    answer_ready(c, "stopping");
    return;
  }
  if (qrl_workq_busy(sv->tasks->wq) >= READY_QUEUE_MAX) {
    answer_ready(c, "workers");
    return;
  }
  /* A node whose shared store is away would answer every login
   * `unavailable`: the load balancer sends pages elsewhere. */
  if (qrl_store_is_redis(sv->store) && !qrl_store_redis_ready(sv->store)) {
    answer_ready(c, "store");
    return;
  }
  if (o->checked_ms && now - o->checked_ms < READY_CACHE_MS) {
    answer_ready(c, o->db ? "database" : NULL);
    return;
  }
  if (o->nwaiting == READY_WAITERS) { /* a storm: the last answer will do */
    answer_ready(c, !o->checked_ms ? "workers" : o->db ? "database" : NULL);
    return;
  }
  if (start_check(sv, o)) {
    answer_ready(c, "workers");
    return;
  }
  o->waiting[o->nwaiting++] = c->id;
}

static void metrics(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  char *text = qrl_metrics_render(sv);
  (void)body;
  if (!text) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  qrl_http_respond_as(c, 200, text, TEXT_METRICS);
}

/* path, POST?, JSON body?, cookie?, handler */
static const qrl_route public_routes[] = {
    {"/healthz", 0, 0, 0, healthz},
};
static const qrl_route operator_routes[] = {
    {"/readyz", 0, 0, 0, readyz},
    {"/metrics", 0, 0, 0, metrics},
};

qrl_err qrl_ops_attach(qrl_server *srv) {
  static const char *const public_mounts[] = {"/healthz", NULL};
  static const char *const operator_mounts[] = {"/readyz", "/metrics", NULL};
  qrl_ops *o = calloc(1, sizeof(*o));
  qrl_http *pub, *ops;
  if (!o) return QRL_NOMEM;
  if (qrl_server_at_free(srv, free, o)) {
    free(o);
    return QRL_NOMEM;
  }
  qrl_server_services(srv)->ops = o;
  if (!(pub = qrl_http_attach_top(srv, "qrl-health", public_mounts, 0)) ||
      !(ops = qrl_http_attach_top(srv, "qrl-ops", operator_mounts, 1)))
    return QRL_NOMEM;
  if (qrl_http_add_routes(pub, public_routes, 1)) return QRL_NOMEM;
  return qrl_http_add_routes(ops, operator_routes, 2);
}
