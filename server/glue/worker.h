/*
 * worker.h - what a worker thread hands the jobs it runs: its own SQLite
 * handle. The runtime (server.c) makes one per worker thread; audit rows and
 * request tasks read it. Not here: the pool itself (helpers/workq.h).
 */
#ifndef QRLOGIN_WORKER_H
#define QRLOGIN_WORKER_H

#include <stdint.h>

#include "domain/db.h"

/* The thread context of a qrlogind worker (qrl_job run()'s thread_ctx). */
typedef struct qrl_worker {
  qrl_db *db; /* owned by the worker thread */
  uint64_t *unwritten; /* not owned: the server's count of audit rows its
                          workers could not write (qrl_audit.unwritten) */
  uint64_t lost_seen;  /* db's qrl_db_audit_lost() already added to it */
} qrl_worker;

/* Adds the audit rows w's database lost since the last call to the
 * server's count (atomically: /metrics reads it). Worker thread, after a
 * job. */
static inline void qrl_worker_count_lost(qrl_worker *w) {
  uint64_t n = qrl_db_audit_lost(w->db);
  if (n <= w->lost_seen || !w->unwritten) return;
  __atomic_add_fetch(w->unwritten, n - w->lost_seen, __ATOMIC_RELAXED);
  w->lost_seen = n;
}

#endif /* QRLOGIN_WORKER_H */
