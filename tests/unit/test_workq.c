/*
 * test_workq.c - the worker pool: every job runs exactly once on a worker
 * thread with that worker's context, completions come back through drain()
 * on the caller's thread after a wake, the pending limit refuses extra work,
 * and free() finishes queued jobs. Waits on a condition variable signalled by
 * the wake callback, never on sleeps.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "helpers/workq.h"

typedef struct waker {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long wakes;
} waker;

static void wake(void *arg) {
  waker *w = arg;
  pthread_mutex_lock(&w->mu);
  w->wakes++;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

typedef struct ctx {
  int worker;
  long ran;
} ctx;

static int next_worker;
static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;

static void *init(void *arg, qrl_err *err) {
  ctx *c = calloc(1, sizeof(*c));
  (void)arg;
  if (!c) {
    *err = QRL_NOMEM;
    return NULL;
  }
  pthread_mutex_lock(&init_mu);
  c->worker = ++next_worker;
  pthread_mutex_unlock(&init_mu);
  return c;
}

static long finished_ran;
static void fini(void *arg, void *thread_ctx) {
  ctx *c = thread_ctx;
  (void)arg;
  pthread_mutex_lock(&init_mu);
  finished_ran += c->ran;
  pthread_mutex_unlock(&init_mu);
  free(c);
}

typedef struct job {
  qrl_job base; /* first */
  int runs, dones, worker;
  pthread_t runner;
  long *done_count;
} job;

static void run(void *thread_ctx, qrl_job *j) {
  job *x = (job *)j;
  ctx *c = thread_ctx;
  x->runs++;
  x->worker = c->worker;
  x->runner = pthread_self();
  c->ran++;
}

static void done(qrl_job *j) {
  job *x = (job *)j;
  x->dones++;
  (*x->done_count)++;
}

TEST(every_job_runs_once_and_completes_on_the_drainer) {
  enum { N = 2000 };
  static job jobs[N];
  waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  qrl_err err = QRL_OK;
  long done_count = 0;
  qrl_workq *q;
  int used[5] = {0};

  memset(jobs, 0, sizeof(jobs));
  next_worker = 0;
  finished_ran = 0;
  q = qrl_workq_new(4, init, fini, NULL, wake, &w, &err);
  ASSERT_TRUE(q != NULL);
  for (int i = 0; i < N; i++) {
    jobs[i].base.run = run;
    jobs[i].base.done = done;
    jobs[i].done_count = &done_count;
    ASSERT_ERR(qrl_workq_submit(q, &jobs[i].base), QRL_OK);
  }
  /* Drain on this thread, waiting for wakes in between. */
  while (done_count < N) {
    pthread_mutex_lock(&w.mu);
    while (w.wakes == 0) pthread_cond_wait(&w.cv, &w.mu);
    w.wakes = 0;
    pthread_mutex_unlock(&w.mu);
    qrl_workq_drain(q);
  }
  for (int i = 0; i < N; i++) {
    ASSERT_EQ_INT(jobs[i].runs, 1);
    ASSERT_EQ_INT(jobs[i].dones, 1);
    ASSERT_TRUE(!pthread_equal(jobs[i].runner, pthread_self()));
    ASSERT_TRUE(jobs[i].worker >= 1 && jobs[i].worker <= 4);
    used[jobs[i].worker] = 1;
  }
  ASSERT_EQ_INT(qrl_workq_drain(q), 0);
  qrl_workq_free(q);
  ASSERT_EQ_INT(finished_ran, N); /* each worker's fini saw its own count */
  ASSERT_TRUE(used[1] + used[2] + used[3] + used[4] >= 1);
  return 0;
}

/* free() with work still queued: every job still runs and completes. */
TEST(free_finishes_queued_jobs) {
  enum { N = 500 };
  static job jobs[N];
  waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  qrl_err err = QRL_OK;
  long done_count = 0;
  qrl_workq *q = qrl_workq_new(2, init, fini, NULL, wake, &w, &err);
  ASSERT_TRUE(q != NULL);
  memset(jobs, 0, sizeof(jobs));
  for (int i = 0; i < N; i++) {
    jobs[i].base.run = run;
    jobs[i].base.done = done;
    jobs[i].done_count = &done_count;
    ASSERT_ERR(qrl_workq_submit(q, &jobs[i].base), QRL_OK);
  }
  qrl_workq_free(q);
  ASSERT_EQ_INT(done_count, N);
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(jobs[i].runs, 1);
  return 0;
}

/* A worker that blocks until released, to fill the queue deterministically. */
typedef struct gate {
  qrl_job base;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int entered, open;
} gate;

static void gate_run(void *thread_ctx, qrl_job *j) {
  gate *g = (gate *)j;
  (void)thread_ctx;
  pthread_mutex_lock(&g->mu);
  g->entered = 1;
  pthread_cond_broadcast(&g->cv);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}
static void gate_done(qrl_job *j) {
  (void)j;
}

TEST(pending_limit_refuses_extra_work) {
  waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  gate g = {{.run = gate_run, .done = gate_done}, PTHREAD_MUTEX_INITIALIZER,
            PTHREAD_COND_INITIALIZER, 0, 0};
  static job jobs[3];
  long done_count = 0;
  qrl_err err = QRL_OK;
  qrl_workq *q = qrl_workq_new(1, init, fini, NULL, wake, &w, &err);
  ASSERT_TRUE(q != NULL);
  qrl_workq_set_limit(q, 2);
  ASSERT_ERR(qrl_workq_submit(q, &g.base), QRL_OK);
  pthread_mutex_lock(&g.mu);
  while (!g.entered) pthread_cond_wait(&g.cv, &g.mu); /* the worker is busy */
  pthread_mutex_unlock(&g.mu);
  memset(jobs, 0, sizeof(jobs));
  for (int i = 0; i < 3; i++) {
    jobs[i].base.run = run;
    jobs[i].base.done = done;
    jobs[i].done_count = &done_count;
  }
  ASSERT_ERR(qrl_workq_submit(q, &jobs[0].base), QRL_OK);
  ASSERT_ERR(qrl_workq_submit(q, &jobs[1].base), QRL_OK);
  ASSERT_ERR(qrl_workq_submit(q, &jobs[2].base), QRL_UNAVAILABLE);
  pthread_mutex_lock(&g.mu);
  g.open = 1;
  pthread_cond_broadcast(&g.cv);
  pthread_mutex_unlock(&g.mu);
  qrl_workq_free(q);
  ASSERT_EQ_INT(done_count, 2);
  ASSERT_EQ_INT(jobs[2].runs, 0);
  return 0;
}

TEST_MAIN(every_job_runs_once_and_completes_on_the_drainer, free_finishes_queued_jobs,
          pending_limit_refuses_extra_work)
