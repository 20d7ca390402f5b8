/*
 * task.h - a request's slow work (scrypt, SQLite) as a worker job: one small
 * header that every request kind embeds first in its own payload struct, as
 * libuv's uv_work_t is embedded and found again with container_of.
 *
 *   loop:   qrl_task_new(pool, conn, &type, sizeof(payload)) ... fill ...
 *           [qrl_task_take: the throttle hold, taken on arrival]
 *           qrl_task_submit(t)
 *           [--redis: the hold taken in Redis too (throttle.h), then
 *           queued; a refusal reaches done() without run(), t->rc
 *           QRL_RATE_LIMITED with t->retry_in, or QRL_UNAVAILABLE]
 *   worker: [the hold's persisting buckets taken in the database: if one
 *           is empty, t->rc = QRL_RATE_LIMITED and run() is skipped]
 *           type->run(t, db)            - t->rc says how it went
 *           [the persisting buckets settled with t->rc]
 *   loop:   the hold is settled with t->rc, then type->done(t, conn or NULL)
 *           and the task is wiped and freed.
 *
 * A task that never runs - the queue was full, or shutdown dropped it before
 * a worker took it - gets its throttle tokens back in the same place; a
 * dropped one still reaches done() with t->rc = QRL_UNAVAILABLE and
 * t->ran = 0, so its client is answered. Tasks refer to their connection by
 * id: it may have closed by the time done() runs.
 * Not here: what any request does (server/handlers/).
 */
#ifndef QRLOGIN_TASK_H
#define QRLOGIN_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "helpers/clock.h"
#include "glue/conn.h"
#include "domain/db.h"
#include "domain/store.h"
#include "glue/throttle.h"
#include "helpers/uuid.h"
#include "helpers/workq.h"

#define qrl_container_of(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

typedef struct qrl_task qrl_task;

/* What a kind of request does. Static, one per kind. */
typedef struct qrl_task_type {
  const char *name; /* request type (static): errors name it */
  /* Worker thread, with that worker's database handle. Sets t->rc. */
  void (*run)(qrl_task *t, qrl_db *db);
  /* Loop thread; c is the requesting connection, NULL if it has gone (side
   * effects such as a browser waiting for a completion still matter). */
  void (*done)(qrl_task *t, qrl_conn *c);
} qrl_task_type;

/* The tasks of one server: the pool they run on, the connections they
 * answer, the throttle their holds belong to. Owned by the runtime. */
typedef struct qrl_tasks {
  qrl_workq *wq;          /* not owned */
  qrl_conns *conns;       /* not owned */
  qrl_throttle *thr;      /* not owned */
  qrl_store *store;       /* not owned: where qrl_task_fetch reads */
  void *ctx;              /* what handlers reach through qrl_task_ctx() */
  const qrl_clock *clock; /* not owned: t->now is its wall time */
  int stopping;           /* set at shutdown: submits are refused */
  uint64_t refused;       /* submits refused (queue full, stopping) */
  struct qrl_histogram *wait; /* not owned, may be NULL: how long tasks wait
                                 for a worker (metrics.h; atomic) */
} qrl_tasks;

/* The common head of every task. */
struct qrl_task {
  qrl_job job; /* first: the pool's view */
  qrl_tasks *pool;
  const qrl_task_type *type;
  size_t size;      /* of the whole allocation (payload included): wiped at free */
  uint64_t conn_id; /* who to answer; 0 for nobody */
  qrl_err rc;
  int ran;          /* 1 once run() has run */
  int64_t retry_in; /* refused by a persisting bucket: seconds until a token
                       is back (t->rc QRL_RATE_LIMITED, run() skipped) */
  int64_t now;      /* unix seconds when the request arrived */
  char ip[48];
  char ua[160];
  char flow[QRL_UUID_STRLEN + 1]; /* the QR login's flow id, if known */
  qrl_hold hold;    /* throttle buckets taken on arrival (may be empty) */
  int64_t queued_us; /* monotonic us when submitted (metrics.h) */
  int kept;          /* done() asked to outlive it (qrl_task_keep) */
  int in_done;       /* done() is running */
  /* qrl_task_fetch: the challenge to read before the worker, and what
   * takes it */
  char fetch_id[QRL_TOKEN_B64LEN + 1];
  void (*fetched)(qrl_task *t, qrl_err rc, const qrl_challenge *c);
};

/* Allocates a zeroed task of size bytes (>= sizeof(qrl_task); the payload
 * struct that embeds it first) for a request of type from c (may be NULL:
 * then nobody is answered), with c's IP, User-Agent and the time filled in.
 * NULL on allocation failure. Free with qrl_task_free() until submitted. */
qrl_task *qrl_task_new(qrl_tasks *pool, const qrl_conn *c, const qrl_task_type *type,
                       size_t size);

/* Takes the tokens of t->hold (fill it first; rules.h): 1 if taken; else 0,
 * *retry_in set and the refusal audited - the caller answers and frees t. */
int qrl_task_take(qrl_task *t, const qrl_conn *c, int64_t *retry_in);

/* Hands t to a worker (with a shared throttle, once Redis has counted its
 * hold; then after its fetch, if it has one: then QRL_OK, and a later
 * failure - a refusal by Redis too - is answered through done()). On
 * QRL_OK the pool owns t until done() has run. On failure (QRL_UNAVAILABLE:
 * queue full, shutting down, or the shared throttle's Redis not up) t's
 * hold is given back, t is wiped and freed here, and the caller answers. */
qrl_err qrl_task_submit(qrl_task *t);

/* What a request needs from the challenge store before its worker runs:
 * fn(t, rc, c) (loop) copies what it needs of challenge c (NULL when rc is
 * an error) into t's payload. */
typedef void (*qrl_task_fetched)(qrl_task *t, qrl_err rc, const qrl_challenge *c);

/* Before t goes to a worker, qrl_task_submit() reads challenge id (copied)
 * from the pool's store and gives it to fn - when the store answers, which
 * the in-memory store does at once. If t then cannot be queued, done()
 * runs with rc QRL_UNAVAILABLE and ran 0 (as for a dropped task), so its
 * client is answered. */
void qrl_task_fetch(qrl_task *t, const char *id, qrl_task_fetched fn);

/* Called in done(): t outlives done() (it waits for another answer, such
 * as the store's); whoever waits ends it with qrl_task_end(). Its
 * connection may close meanwhile: find it again by t->conn_id. */
void qrl_task_keep(qrl_task *t);

/* Wipes and frees a kept task; called while its done() still runs (the
 * store answered at once), it is freed when done() returns. */
void qrl_task_end(qrl_task *t);

/* Gives back t's hold, wipes and frees t (a task never submitted). NULL-safe. */
void qrl_task_free(qrl_task *t);

/* The audit context of t: its IP, User-Agent, time and flow id. Points into
 * t. */
qrl_req_ctx qrl_task_req(const qrl_task *t);

/* The pool's ctx (the handlers' shared services). */
void *qrl_task_ctx(const qrl_task *t);

/* Shutdown: drops every task no worker has started (done() runs now with
 * QRL_UNAVAILABLE) and refuses new ones. Returns how many were dropped. */
size_t qrl_tasks_stop(qrl_tasks *pool);

#endif /* QRLOGIN_TASK_H */
