/*
 * workq.h - a fixed pool of worker threads for slow work (scrypt, SQLite)
 * that must stay off the event-loop thread.
 *
 * The loop submits a job; a worker runs job->run(thread_ctx, job); the
 * finished job goes on a done queue and, if that queue was empty, the pool
 * calls wake(wake_arg) (the server passes a uv_async_send). The loop thread
 * then calls qrl_workq_drain(), which runs job->done(job) for each finished
 * job, on the loop thread, in completion order. Each worker has its own thread context
 * made by thread_init (the server gives each worker its own SQLite handle).
 * Depends on libc + pthreads only.
 */
#ifndef QRLOGIN_WORKQ_H
#define QRLOGIN_WORKQ_H

#include <stddef.h>

#include "qrlogin/error.h"

typedef struct qrl_workq qrl_workq;
typedef struct qrl_job qrl_job;

/* A job. Embed it as the first member of your own struct. The pool never
 * frees a job: done() (or the caller of qrl_workq_free()) owns it again. */
struct qrl_job {
  void (*run)(void *thread_ctx, qrl_job *job); /* on a worker thread */
  void (*done)(qrl_job *job);                  /* on the draining thread */
  unsigned flags;                              /* QRL_JOB_* */
  int cancelled; /* set by qrl_workq_cancel: run() never ran */
  qrl_job *next;                               /* private to the pool */
};

/* A job qrl_workq_cancel() leaves queued (small and must happen: audit rows). */
#define QRL_JOB_ESSENTIAL 1u

/* Per-thread context hooks: init returns the context (NULL is allowed only if
 * the jobs need none) and sets *err on failure; fini releases it. */
typedef void *(*qrl_workq_thread_init)(void *arg, qrl_err *err);
typedef void (*qrl_workq_thread_fini)(void *arg, void *thread_ctx);

/* Starts nthreads workers. wake is called (from a worker) when a finished
 * job lands on an empty done queue: jobs that finish before the loop drains
 * share one wake. Returns NULL and sets *err on failure. */
qrl_workq *qrl_workq_new(int nthreads, qrl_workq_thread_init init,
                         qrl_workq_thread_fini fini, void *init_arg,
                         void (*wake)(void *), void *wake_arg, qrl_err *err);

/* Queues job. Returns QRL_OK, or QRL_UNAVAILABLE if the pool is stopping or
 * more than max_pending jobs wait (set by qrl_workq_set_limit). */
qrl_err qrl_workq_submit(qrl_workq *q, qrl_job *job);

/* Sets the most jobs that may wait to run; 0 means no limit (the default). */
void qrl_workq_set_limit(qrl_workq *q, size_t max_pending);

/* Takes every waiting job that is not QRL_JOB_ESSENTIAL off the queue, as
 * uv_cancel does: each gets cancelled = 1 and its done() runs now, on the
 * calling thread, without run(). Jobs already running are not touched.
 * Returns how many were cancelled. */
size_t qrl_workq_cancel(qrl_workq *q);

/* Jobs waiting, running or finished but not yet drained. */
size_t qrl_workq_busy(qrl_workq *q);

/* Runs done() of every finished job. Call on the loop thread. Returns how many
 * ran. */
size_t qrl_workq_drain(qrl_workq *q);

/* Waits for queued and running jobs to finish, stops the workers, runs the
 * remaining done() callbacks on the calling thread, and frees q. NULL-safe. */
void qrl_workq_free(qrl_workq *q);

#endif /* QRLOGIN_WORKQ_H */
