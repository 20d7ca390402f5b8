/*
 * task.c - request tasks over the worker pool (task.h).
 */
#include "glue/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "glue/metrics.h"
#include "glue/worker.h"

static void task_done(qrl_job *job);

static void wipe_free(qrl_task *t) {
  qrl_cleanse(t, t->size); /* passwords, passcodes, tokens */
  free(t);
}

static void task_run(void *thread_ctx, qrl_job *job) {
  qrl_task *t = qrl_container_of(job, qrl_task, job);
  qrl_worker *w = thread_ctx;
  if (t->pool->wait) qrl_histogram_observe(t->pool->wait, qrl_metrics_now_us() - t->queued_us);
  /* The buckets that outlive a restart are counted in the database, here,
   * around the work they limit (throttle.h). */
  if ((t->rc = qrl_hold_take_persisted(&t->hold, w->db, t->now, &t->retry_in))) return;
  t->type->run(t, w->db);
  t->ran = 1;
  qrl_hold_settle_persisted(&t->hold, w->db, t->now, t->rc);
  qrl_worker_count_lost(w);
}

qrl_task *qrl_task_new(qrl_tasks *pool, const qrl_conn *c, const qrl_task_type *type,
                       size_t size) {
  qrl_task *t;
  if (size < sizeof(*t)) return NULL;
  t = calloc(1, size);
  if (!t) return NULL;
  t->job.run = task_run;
  t->job.done = task_done;
  t->pool = pool;
  t->type = type;
  t->size = size;
  t->now = qrl_clock_wall(pool->clock);
  if (c) {
    t->conn_id = c->id;
    memcpy(t->ip, c->ip, sizeof(t->ip));
    snprintf(t->ua, sizeof(t->ua), "%s", qrl_conn_ua(c));
  }
  return t;
}

int qrl_task_take(qrl_task *t, const qrl_conn *c, int64_t *retry_in) {
  return qrl_throttle_take(t->pool->thr, c, &t->hold, retry_in);
}

/* Runs t's done() with its connection (if still open), then frees t
 * unless done() kept it. */
/* t's connection, if it is still open. */
static qrl_conn *conn_of(const qrl_task *t) {
  return t->conn_id ? qrl_conn_find(t->pool->conns, t->conn_id) : NULL;
}

static void finish(qrl_task *t) {
  qrl_conn *c = conn_of(t);
  qrl_throttle_note_persisted(t->pool->thr, c, &t->hold);
  qrl_throttle_settle(t->pool->thr, &t->hold, t->rc);
  t->in_done = 1;
  t->type->done(t, c);
  t->in_done = 0;
  if (c && t->rc == QRL_OK) qrl_conn_proven(c);
  if (!t->kept) wipe_free(t);
}

static void task_done(qrl_job *job) {
  qrl_task *t = qrl_container_of(job, qrl_task, job);
  if (job->cancelled) t->rc = QRL_UNAVAILABLE;
  finish(t);
}

void qrl_task_keep(qrl_task *t) { t->kept = 1; }

void qrl_task_end(qrl_task *t) {
  if (t->in_done) t->kept = 0; /* freed as done() returns */
  else wipe_free(t);
}

/* Queues t; if it cannot be, t's client is answered through done(). */
static void submit_or_answer(qrl_task *t) {
  t->queued_us = qrl_metrics_now_us();
  if (!t->pool->stopping && qrl_workq_submit(t->pool->wq, &t->job) == QRL_OK) return;
  t->pool->refused++;
  t->rc = QRL_UNAVAILABLE;
  finish(t); /* its hold is settled there as never counted */
}

static void on_fetched(void *ud, qrl_err rc, const qrl_challenge *c) {
  qrl_task *t = ud;
  t->fetched(t, rc, c);
  submit_or_answer(t);
}

void qrl_task_fetch(qrl_task *t, const char *id, qrl_task_fetched fn) {
  snprintf(t->fetch_id, sizeof(t->fetch_id), "%s", id);
  t->fetched = fn;
}

/* Past the shared take (if any): the challenge's read (if any), then a
 * worker. */
static void fetch_then_submit(qrl_task *t) {
  if (t->fetched) qrl_store_get(t->pool->store, t->fetch_id, on_fetched, t);
  else submit_or_answer(t);
}

/* The shared (Redis) take of t's hold came back (throttle.h): on to its
 * fetch and its worker, or answered now through done() - rate_limited
 * with retry_in, or unavailable - without running. */
static void on_shared_taken(void *arg, qrl_err err, int64_t retry_in) {
  qrl_task *t = arg;
  if (err) {
    if (err != QRL_RATE_LIMITED) /* a refusal by a bucket is noted in finish() */
      qrl_throttle_note_shared(t->pool->thr, conn_of(t), &t->hold, err);
    t->rc = err;
    t->retry_in = retry_in;
    finish(t);
    return;
  }
  fetch_then_submit(t);
}

qrl_err qrl_task_submit(qrl_task *t) {
  qrl_err rc;
  if (!t->pool->stopping && qrl_throttle_shared_needed(t->pool->thr, &t->hold)) {
    /* Counted in Redis first; the store and the worker get it after. */
    if ((rc = qrl_throttle_take_shared(t->pool->thr, &t->hold, on_shared_taken, t)) == QRL_OK)
      return QRL_OK;
    qrl_throttle_note_shared(t->pool->thr, conn_of(t), &t->hold, rc);
    qrl_task_free(t);
    return rc;
  }
  if (t->fetched) {
    fetch_then_submit(t);
    return QRL_OK;
  }
  t->queued_us = qrl_metrics_now_us();
  rc = t->pool->stopping ? QRL_UNAVAILABLE : qrl_workq_submit(t->pool->wq, &t->job);
  if (rc) {
    t->pool->refused++;
    qrl_task_free(t);
  }
  return rc;
}

void qrl_task_free(qrl_task *t) {
  if (!t) return;
  qrl_throttle_settle(t->pool->thr, &t->hold, QRL_UNAVAILABLE); /* never counted */
  wipe_free(t);
}

qrl_req_ctx qrl_task_req(const qrl_task *t) {
  qrl_req_ctx rc = {t->ip, t->ua, t->now, t->flow[0] ? t->flow : NULL};
  return rc;
}

void *qrl_task_ctx(const qrl_task *t) { return t->pool->ctx; }

size_t qrl_tasks_stop(qrl_tasks *pool) {
  pool->stopping = 1;
  return qrl_workq_cancel(pool->wq);
}
