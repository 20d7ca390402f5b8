/*
 * audit.c - audit rows as small worker jobs (not request tasks): rows of a
 * few milliseconds, and rows queued while the last job waits for a worker,
 * join it and go in one transaction.
 */
#include "glue/audit.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/log.h"
#include "helpers/uuid.h"
#include "glue/worker.h"

typedef struct audit_data {
  int64_t now;
  qrl_err outcome;
  char event[32];
  char citizen_id[16];
  char detail[96];
  char flow[QRL_UUID_STRLEN + 1];
  char ip[48];
  char ua[160];
} audit_data;

/* A batch of rows, written by one worker in one transaction. The loop adds
 * rows to the batch it submitted last for as long as no worker has taken it:
 * state counts the rows published (each row is written before the count that
 * covers it goes up), and the worker that takes the batch sets TAKEN in the
 * same word, so a row is either in the count it reads or added to a new
 * batch. Freed on the loop, in done(). */
#define BATCH_TAKEN 0x80000000u

struct qrl_audit_batch {
  qrl_job job;       /* first */
  qrl_audit *a;      /* the writer: done() forgets the batch there */
  unsigned state;    /* rows published | BATCH_TAKEN (atomic) */
  audit_data rows[QRL_AUDIT_BATCH];
};

static void audit_run(void *thread_ctx, qrl_job *job) {
  qrl_audit_batch *b = (qrl_audit_batch *)job;
  qrl_worker *w = thread_ctx;
  qrl_audit_rec recs[QRL_AUDIT_BATCH];
  unsigned n = __atomic_fetch_or(&b->state, BATCH_TAKEN, __ATOMIC_ACQ_REL) & ~BATCH_TAKEN;

  for (unsigned i = 0; i < n; i++) {
    const audit_data *d = &b->rows[i];
    recs[i] = (qrl_audit_rec){d->event,
                              d->outcome,
                              d->citizen_id[0] ? d->citizen_id : NULL,
                              0,
                              d->detail[0] ? d->detail : NULL,
                              {d->ip[0] ? d->ip : NULL, d->ua[0] ? d->ua : NULL, d->now,
                               d->flow[0] ? d->flow : NULL}};
  }
  /* A row that cannot be written is said and counted by the database
   * handle (qrl_db_audit_lost), which /metrics reads through
   * qrl_worker_count_lost. */
  (void)qrl_db_audit_rows(w->db, recs, n);
  qrl_worker_count_lost(w);
}

static void audit_done(qrl_job *job) {
  qrl_audit_batch *b = (qrl_audit_batch *)job;
  if (b->a->open == b) b->a->open = NULL;
  free(b);
}

/* Fills d with one row. */
static void fill_row(audit_data *d, qrl_audit *a, const char *ip, const char *ua,
                     const char *event, qrl_err outcome, const char *citizen_id,
                     const char *detail, const char *flow) {
  memset(d, 0, sizeof(*d));
  d->now = qrl_clock_wall(a->clock);
  d->outcome = outcome;
  snprintf(d->event, sizeof(d->event), "%s", event);
  if (citizen_id) snprintf(d->citizen_id, sizeof(d->citizen_id), "%s", citizen_id);
  if (detail) snprintf(d->detail, sizeof(d->detail), "%s", detail);
  if (flow) snprintf(d->flow, sizeof(d->flow), "%s", flow);
  if (ip) snprintf(d->ip, sizeof(d->ip), "%s", ip);
  if (ua) snprintf(d->ua, sizeof(d->ua), "%s", ua);
}

/* Adds one row to the open batch if no worker has taken it yet. 1 if added. */
static int add_to_open(qrl_audit *a, const char *ip, const char *ua, const char *event,
                       qrl_err outcome, const char *citizen_id, const char *detail,
                       const char *flow) {
  qrl_audit_batch *b = a->open;
  unsigned k = a->open_rows;
  if (!b || k >= QRL_AUDIT_BATCH) return 0;
  fill_row(&b->rows[k], a, ip, ua, event, outcome, citizen_id, detail, flow);
  if (!__atomic_compare_exchange_n(&b->state, &k, k + 1, 0, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED))
    return 0; /* taken: this row goes in a new batch */
  a->open_rows++;
  return 1;
}

/* Hands the held batch to the pool. */
static void release_held(qrl_audit *a) {
  qrl_audit_batch *b = a->held;
  if (!b) return;
  a->held = NULL;
  if (a->gather) uv_timer_stop(a->gather);
  if (qrl_workq_submit(a->wq, &b->job)) {
    unsigned n = __atomic_fetch_or(&b->state, BATCH_TAKEN, __ATOMIC_ACQ_REL) & ~BATCH_TAKEN;
    a->lost += n;
    a->queued -= n;
    qrl_log_kv(a->log, QRL_LOG_WARN, "audit_lost", "audit_event", b->rows[0].event, "msg",
               "queue full or stopping", (const char *)NULL);
    if (a->open == b) a->open = NULL;
    free(b);
  }
}

static void on_gathered(uv_timer_t *t) { release_held(t->data); }

void qrl_audit_gather(qrl_audit *a, uv_timer_t *gather) {
  a->gather = gather;
  if (gather) gather->data = a;
}

/* Queues one row from ip and ua (may be NULL). */
static void queue_row(qrl_audit *a, const char *ip, const char *ua, const char *event,
                      qrl_err outcome, const char *citizen_id, const char *detail,
                      const char *flow) {
  qrl_audit_batch *b;
  if (add_to_open(a, ip, ua, event, outcome, citizen_id, detail, flow)) {
    a->queued++;
    if (a->held && a->open_rows >= QRL_AUDIT_BATCH) release_held(a); /* full */
    return;
  }
  release_held(a); /* full, or (cannot be) taken: this row starts the next */
  b = malloc(sizeof(*b));
  if (!b) {
    a->lost++;
    qrl_log_kv(a->log, QRL_LOG_WARN, "audit_lost", "audit_event", event, "msg", "no memory",
               (const char *)NULL);
    return;
  }
  memset(&b->job, 0, sizeof(b->job));
  b->job.run = audit_run;
  b->job.done = audit_done;
  b->job.flags = QRL_JOB_ESSENTIAL; /* written even when shutdown drops requests */
  b->a = a;
  b->state = 1;
  fill_row(&b->rows[0], a, ip, ua, event, outcome, citizen_id, detail, flow);
  if (a->gather) { /* held for the others of the next few milliseconds */
    a->held = a->open = b;
    a->open_rows = 1;
    a->queued++;
    uv_timer_start(a->gather, on_gathered, QRL_AUDIT_GATHER_MS, 0);
    return;
  }
  if (qrl_workq_submit(a->wq, &b->job)) {
    a->lost++;
    qrl_log_kv(a->log, QRL_LOG_WARN, "audit_lost", "audit_event", event, "msg",
               "queue full or stopping", (const char *)NULL);
    free(b);
    return;
  }
  a->open = b;
  a->open_rows = 1;
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
  release_held(a);
  if (a->gather) uv_timer_stop(a->gather);
  a->gather = NULL; /* a row after this (none is expected) goes at once */
  free(a->bursts);
  a->bursts = NULL;
}
