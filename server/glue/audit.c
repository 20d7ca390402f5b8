/*
 * audit.c - audit rows as small worker jobs (a few hundred bytes each, not a
 * request task).
 */
#include "glue/audit.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers/uuid.h"
#include "glue/worker.h"

typedef struct audit_job {
  qrl_job job; /* first */
  int64_t now;
  qrl_err outcome;
  char event[32];
  char citizen_id[16];
  char detail[96];
  char flow[QRL_UUID_STRLEN + 1];
  char ip[48];
  char ua[160];
} audit_job;

static void audit_run(void *thread_ctx, qrl_job *job) {
  audit_job *j = (audit_job *)job;
  qrl_worker *w = thread_ctx;
  qrl_req_ctx rc = {j->ip, j->ua, j->now, j->flow[0] ? j->flow : NULL};
  qrl_err e = qrl_db_audit(w->db, j->event, j->outcome,
                           j->citizen_id[0] ? j->citizen_id : NULL, 0,
                           j->detail[0] ? j->detail : NULL, &rc);
  if (e) /* worker thread: stderr, not the loop's lws log */
    fprintf(stderr, "qrlogind: audit row '%s' not written: %s\n", j->event,
            qrl_strerror(e));
}

static void audit_done(qrl_job *job) { free(job); }

void qrl_audit_row(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                   const char *citizen_id, const char *detail, const char *flow) {
  audit_job *j = calloc(1, sizeof(*j));
  if (!j) {
    a->lost++;
    lwsl_warn("audit row lost (no memory): %s\n", event);
    return;
  }
  j->job.run = audit_run;
  j->job.done = audit_done;
  j->job.flags = QRL_JOB_ESSENTIAL; /* written even when shutdown drops requests */
  j->now = qrl_clock_wall(a->clock);
  j->outcome = outcome;
  snprintf(j->event, sizeof(j->event), "%s", event);
  if (citizen_id) snprintf(j->citizen_id, sizeof(j->citizen_id), "%s", citizen_id);
  if (detail) snprintf(j->detail, sizeof(j->detail), "%s", detail);
  if (flow) snprintf(j->flow, sizeof(j->flow), "%s", flow);
  if (c) {
    snprintf(j->ip, sizeof(j->ip), "%s", c->ip);
    snprintf(j->ua, sizeof(j->ua), "%s", c->ua);
  }
  if (qrl_workq_submit(a->wq, &j->job)) {
    a->lost++;
    lwsl_warn("audit row lost (queue full or stopping): %s\n", event);
    free(j);
    return;
  }
  a->queued++;
}
