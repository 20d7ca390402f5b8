/*
 * workq.c - a fixed pthread pool: FIFO of waiting jobs, FIFO of finished
 * ones, a wake callback when the done queue goes from empty to not. Not here: what the jobs do.
 */
#include "helpers/workq.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct worker {
  qrl_workq *q;
  pthread_t tid;
  void *ctx;
  int started;
} worker;

struct qrl_workq {
  pthread_mutex_t mu;
  pthread_cond_t cv;       /* jobs waiting, or stopping */
  pthread_cond_t ready_cv; /* a worker finished its init */
  qrl_job *todo_head, *todo_tail;
  qrl_job *done_head, *done_tail;
  size_t pending, max_pending;
  size_t running, finished; /* in run(); on the done queue */
  int stopping;
  int nthreads, ninit, init_failed;
  qrl_err init_err;
  worker *workers; /* owned */
  qrl_workq_thread_init init;
  qrl_workq_thread_fini fini;
  void *init_arg;
  void (*wake)(void *);
  void *wake_arg;
};

static void push(qrl_job **head, qrl_job **tail, qrl_job *j) {
  j->next = NULL;
  if (*tail) (*tail)->next = j;
  else *head = j;
  *tail = j;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  qrl_workq *q = w->q;
  qrl_err err = QRL_OK;

  w->ctx = q->init ? q->init(q->init_arg, &err) : NULL;
  pthread_mutex_lock(&q->mu);
  q->ninit++;
  if (err) {
    q->init_failed = 1;
    q->init_err = err;
  }
  pthread_cond_broadcast(&q->ready_cv);
  pthread_mutex_unlock(&q->mu);
  if (err) return NULL;

  pthread_mutex_lock(&q->mu);
  for (;;) {
    qrl_job *j;
    int first;
    while (!q->todo_head && !q->stopping) pthread_cond_wait(&q->cv, &q->mu);
    if (!q->todo_head) break; /* stopping and nothing left */
    j = q->todo_head;
    q->todo_head = j->next;
    if (!q->todo_head) q->todo_tail = NULL;
    q->pending--;
    q->running++;
    pthread_mutex_unlock(&q->mu);
    j->run(w->ctx, j);
    pthread_mutex_lock(&q->mu);
    q->running--;
    q->finished++;
    /* One wake per batch: if the done queue already held jobs, the loop has
     * been woken for them and has not drained yet (drain empties the queue
     * under the lock, so the first job after it wakes again). */
    first = !q->done_head;
    push(&q->done_head, &q->done_tail, j);
    pthread_mutex_unlock(&q->mu);
    if (first && q->wake) q->wake(q->wake_arg);
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  if (q->fini) q->fini(q->init_arg, w->ctx);
  return NULL;
}

static void stop_and_join(qrl_workq *q) {
  pthread_mutex_lock(&q->mu);
  q->stopping = 1;
  pthread_cond_broadcast(&q->cv);
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < q->nthreads; i++)
    if (q->workers[i].started) pthread_join(q->workers[i].tid, NULL);
}

qrl_workq *qrl_workq_new(int nthreads, qrl_workq_thread_init init,
                         qrl_workq_thread_fini fini, void *init_arg,
                         void (*wake)(void *), void *wake_arg, qrl_err *err) {
  qrl_workq *q = NULL;
  int started = 0;

  *err = QRL_INVAL;
  if (nthreads < 1 || nthreads > 256) return NULL;
  *err = QRL_NOMEM;
  q = calloc(1, sizeof(*q));
  if (!q) return NULL;
  q->workers = calloc((size_t)nthreads, sizeof(*q->workers));
  if (!q->workers) {
    free(q);
    return NULL;
  }
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  pthread_cond_init(&q->ready_cv, NULL);
  q->init = init;
  q->fini = fini;
  q->init_arg = init_arg;
  q->wake = wake;
  q->wake_arg = wake_arg;
  q->nthreads = nthreads;
  for (int i = 0; i < nthreads; i++) {
    q->workers[i].q = q;
    if (pthread_create(&q->workers[i].tid, NULL, worker_main, &q->workers[i]) != 0)
      break;
    q->workers[i].started = 1;
    started++;
  }
  pthread_mutex_lock(&q->mu);
  while (q->ninit < started) pthread_cond_wait(&q->ready_cv, &q->mu);
  pthread_mutex_unlock(&q->mu);
  if (started < nthreads || q->init_failed) {
    *err = q->init_failed ? q->init_err : QRL_INTERNAL;
    stop_and_join(q);
    pthread_cond_destroy(&q->cv);
    pthread_cond_destroy(&q->ready_cv);
    pthread_mutex_destroy(&q->mu);
    free(q->workers);
    free(q);
    return NULL;
  }
  *err = QRL_OK;
  return q;
}

void qrl_workq_set_limit(qrl_workq *q, size_t max_pending) {
  pthread_mutex_lock(&q->mu);
  q->max_pending = max_pending;
  pthread_mutex_unlock(&q->mu);
}

qrl_err qrl_workq_submit(qrl_workq *q, qrl_job *job) {
  qrl_err rc = QRL_OK;
  pthread_mutex_lock(&q->mu);
  if (q->stopping || (q->max_pending && q->pending >= q->max_pending)) {
    rc = QRL_UNAVAILABLE;
  } else {
    push(&q->todo_head, &q->todo_tail, job);
    q->pending++;
    pthread_cond_signal(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

size_t qrl_workq_drain(qrl_workq *q) {
  qrl_job *j;
  size_t n = 0;

  pthread_mutex_lock(&q->mu);
  j = q->done_head;
  q->done_head = q->done_tail = NULL;
  q->finished = 0;
  pthread_mutex_unlock(&q->mu);
  while (j) {
    qrl_job *next = j->next;
    j->done(j);
    j = next;
    n++;
  }
  return n;
}

size_t qrl_workq_cancel(qrl_workq *q) {
  qrl_job *keep_head = NULL, *keep_tail = NULL, *gone_head = NULL, *gone_tail = NULL;
  qrl_job *j, *next;
  size_t n = 0, kept = 0;

  pthread_mutex_lock(&q->mu);
  for (j = q->todo_head; j; j = next) {
    next = j->next;
    if (j->flags & QRL_JOB_ESSENTIAL) {
      push(&keep_head, &keep_tail, j);
      kept++;
    } else {
      push(&gone_head, &gone_tail, j);
    }
  }
  q->todo_head = keep_head;
  q->todo_tail = keep_tail;
  q->pending = kept;
  pthread_mutex_unlock(&q->mu);
  for (j = gone_head; j; j = next) {
    next = j->next;
    j->cancelled = 1;
    j->done(j);
    n++;
  }
  return n;
}

size_t qrl_workq_busy(qrl_workq *q) {
  size_t n;
  pthread_mutex_lock(&q->mu);
  n = q->pending + q->running + q->finished;
  pthread_mutex_unlock(&q->mu);
  return n;
}

void qrl_workq_free(qrl_workq *q) {
  if (!q) return;
  stop_and_join(q);
  qrl_workq_drain(q);
  pthread_cond_destroy(&q->cv);
  pthread_cond_destroy(&q->ready_cv);
  pthread_mutex_destroy(&q->mu);
  free(q->workers);
  free(q);
}
