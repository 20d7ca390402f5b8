/*
 * audit.c - audit rows as small worker jobs (a few hundred bytes each, not a
 * request task).
 */
#include "glue/audit.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  /* A row that cannot be written is said and counted by the database
   * handle (qrl_db_audit_lost), which /metrics reads through
   * qrl_worker_count_lost. */
  (void)qrl_db_audit(w->db, j->event, j->outcome, j->citizen_id[0] ? j->citizen_id : NULL,
                     0, j->detail[0] ? j->detail : NULL, &rc);
  qrl_worker_count_lost(w);
}

static void audit_done(qrl_job *job) { free(job); }

/* Queues one row from ip and ua (may be NULL). */
static void queue_row(qrl_audit *a, const char *ip, const char *ua, const char *event,
                      qrl_err outcome, const char *citizen_id, const char *detail,
                      const char *flow) {
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
  if (ip) snprintf(j->ip, sizeof(j->ip), "%s", ip);
  if (ua) snprintf(j->ua, sizeof(j->ua), "%s", ua);
  if (qrl_workq_submit(a->wq, &j->job)) {
    a->lost++;
    lwsl_warn("audit row lost (queue full or stopping): %s\n", event);
    free(j);
    return;
  }
  a->queued++;
}

void qrl_audit_row(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                   const char *citizen_id, const char *detail, const char *flow) {
  queue_row(a, c ? c->ip : NULL, c ? c->ua : NULL, event, outcome, citizen_id, detail, flow);
}

/* ---- refusals of unauthenticated requests, counted ----------------------- */

struct qrl_audit_burst {
  char ip[48];
  char event[32];
  qrl_err outcome;
  uint32_t more;    /* refusals since the row that opened the minute */
  int64_t since_ms; /* 0: a free slot */
};

static size_t burst_hash(const char *ip, const char *event, qrl_err outcome) {
  size_t h = 1469598103934665603ULL ^ (size_t)outcome;
  for (const char *p = ip; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  for (const char *p = event; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return h;
}

static void summary_row(qrl_audit *a, const qrl_audit_burst *b) {
  char detail[64];
  snprintf(detail, sizeof(detail), "%u more in %d s", b->more, QRL_AUDIT_BURST_MS / 1000);
  queue_row(a, b->ip, NULL, b->event, b->outcome, NULL, detail, NULL);
}

static void refusal(qrl_audit *a, const char *ip, const char *ua, const char *event,
                    qrl_err outcome, const char *detail) {
  int64_t now = qrl_clock_mono_ms(a->clock);
  size_t i, free_slot = QRL_AUDIT_BURSTS;
  if (!a->bursts && !(a->bursts = calloc(QRL_AUDIT_BURSTS, sizeof(*a->bursts)))) {
    queue_row(a, ip, ua, event, outcome, NULL, detail, NULL); /* uncounted: a row each */
    return;
  }
  i = burst_hash(ip, event, outcome) % QRL_AUDIT_BURSTS;
  for (size_t probe = 0; probe < 8; probe++, i = (i + 1) % QRL_AUDIT_BURSTS) {
    qrl_audit_burst *b = &a->bursts[i];
    if (!b->since_ms) {
      if (free_slot == QRL_AUDIT_BURSTS) free_slot = i;
      continue;
    }
    if (b->outcome == outcome && strcmp(b->ip, ip) == 0 && strcmp(b->event, event) == 0) {
      b->more++;
      a->coalesced++;
      return;
    }
  }
  if (free_slot == QRL_AUDIT_BURSTS) { /* every nearby slot busy: count it all the same */
    a->overflow++;
    a->coalesced++;
    return;
  }
  {
    qrl_audit_burst *b = &a->bursts[free_slot];
    snprintf(b->ip, sizeof(b->ip), "%s", ip);
    snprintf(b->event, sizeof(b->event), "%s", event);
    b->outcome = outcome;
    b->more = 0;
    b->since_ms = now ? now : 1;
  }
  queue_row(a, ip, ua, event, outcome, NULL, detail, NULL);
}

void qrl_audit_refusal(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                       const char *detail) {
  refusal(a, c ? c->ip : "", c ? c->ua : NULL, event, outcome, detail);
}

void qrl_audit_refusal_ip(qrl_audit *a, const char *ip, const char *event, qrl_err outcome,
                          const char *detail) {
  refusal(a, ip ? ip : "", NULL, event, outcome, detail);
}

static void drain_bursts(qrl_audit *a, int all) {
  int64_t now = qrl_clock_mono_ms(a->clock);
  if (a->bursts) {
    for (size_t i = 0; i < QRL_AUDIT_BURSTS; i++) {
      qrl_audit_burst *b = &a->bursts[i];
      if (!b->since_ms || (!all && now - b->since_ms < QRL_AUDIT_BURST_MS)) continue;
      if (b->more) summary_row(a, b);
      memset(b, 0, sizeof(*b));
    }
  }
  if (a->overflow) {
    qrl_audit_burst o;
    memset(&o, 0, sizeof(o));
    snprintf(o.event, sizeof(o.event), "%s", "refusals");
    o.outcome = QRL_RATE_LIMITED;
    o.more = (uint32_t)a->overflow;
    summary_row(a, &o);
    a->overflow = 0;
  }
}

void qrl_audit_tick(qrl_audit *a) { drain_bursts(a, 0); }

void qrl_audit_flush(qrl_audit *a) {
  drain_bursts(a, 1);
  free(a->bursts);
  a->bursts = NULL;
}
