/*
 * worker.h - what a worker thread hands the jobs it runs: its own SQLite
 * handle. The runtime (server.c) makes one per worker thread; audit rows and
 * request tasks read it. Not here: the pool itself (helpers/workq.h).
 */
#ifndef QRLOGIN_WORKER_H
#define QRLOGIN_WORKER_H

#include "domain/db.h"

/* The thread context of a qrlogind worker (qrl_job run()'s thread_ctx). */
typedef struct qrl_worker {
  qrl_db *db; /* owned by the worker thread */
} qrl_worker;

#endif /* QRLOGIN_WORKER_H */
