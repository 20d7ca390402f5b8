/*
 * audit.h - audit rows from the event loop: each row is a small job that a
 * worker writes into the hash-chained audit table (db.h qrl_db_audit), so
 * the loop never touches the disk.
 *
 * A row that cannot be queued (allocation, queue full) or written is logged
 * and counted, never dropped in silence. Not here: rows that belong inside a
 * domain transaction (the domain writes those itself).
 */
#ifndef QRLOGIN_AUDIT_H
#define QRLOGIN_AUDIT_H

#include <stdint.h>

#include "helpers/clock.h"
#include "glue/conn.h"
#include "qrlogin/error.h"
#include "helpers/workq.h"

/* The audit writer: where rows go, and what was lost. One per server. */
typedef struct qrl_audit {
  qrl_workq *wq;          /* not owned: the runtime's worker pool */
  const qrl_clock *clock; /* not owned: the rows' wall time */
  uint64_t queued;        /* rows handed to a worker (loop thread) */
  uint64_t lost;          /* rows that could not be queued (loop thread) */
} qrl_audit;

/* Queues one audit row: event (a static name of ours, never the sender's
 * text), outcome, and - each may be NULL - the citizen ID, a short detail
 * and the QR login's flow id. c (may be NULL) gives the peer's IP and
 * User-Agent. Everything is copied. */
void qrl_audit_row(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                   const char *citizen_id, const char *detail, const char *flow);

#endif /* QRLOGIN_AUDIT_H */
