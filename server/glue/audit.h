/*
 * audit.h - audit rows from the event loop: a worker writes them into the
 * hash-chained audit table (db.h qrl_db_audit_rows), so the loop never
 * touches the disk. Rows are gathered for QRL_AUDIT_GATHER_MS (group
 * commit: one transaction, one commit and one worker hand-off for all the
 * rows of those milliseconds) when the writer has a gather timer, else
 * handed to the pool at once; rows queued while a batch still waits for a
 * worker join it, in the same transaction. A batch of QRL_AUDIT_BATCH rows
 * goes at once. Nothing waits on these rows: what must be on disk before an
 * answer (a completed login's confirm, a code exchange) is written by the
 * domain in the answer's own transaction.
 *
 * A row that cannot be queued (allocation, queue full) or written is logged
 * and counted, never dropped in silence. Refusals of requests nobody has
 * authenticated (a bad Origin, a malformed frame, a throttle) are counted per
 * IP and kind: the first of a minute is a row at once, the rest of that
 * minute one summary row ("N more"), so a client cannot flood the
 * hash-chained trail. Not here: rows that belong inside a domain transaction
 * (the domain writes those itself).
 */
#ifndef QRLOGIN_AUDIT_H
#define QRLOGIN_AUDIT_H

#include <stdint.h>
#include <uv.h>

#include "helpers/clock.h"
#include "glue/conn.h"
#include "qrlogin/error.h"
#include "helpers/workq.h"

/* The audit writer: where rows go, and what was lost. One per server. */
typedef struct qrl_audit_burst qrl_audit_burst;

#define QRL_AUDIT_BURSTS 4096       /* (IP, kind) pairs counted at once */
#define QRL_AUDIT_BURST_MS 60000    /* a summary row per pair per minute */

typedef struct qrl_audit_batch qrl_audit_batch;

#define QRL_AUDIT_BATCH 16 /* rows written in one transaction at most */
#define QRL_AUDIT_GATHER_MS 5 /* how long a row may wait for others to share
                                 its commit */

typedef struct qrl_audit {
  qrl_workq *wq;          /* not owned: the runtime's worker pool */
  qrl_audit_batch *open;  /* not owned (the pool's until its done()): the
                             batch last queued, that later rows may join */
  unsigned open_rows;     /* rows in it */
  const qrl_clock *clock; /* not owned: wall time for rows, monotonic for bursts */
  struct qrl_log *log;    /* not owned: lost rows are said here */
  uint64_t queued;        /* rows handed to a worker (loop thread) */
  uint64_t lost;          /* rows that could not be queued (loop thread) */
  uint64_t unwritten;     /* rows the workers could not write, as their
                             database handles count them (atomic) */
  uint64_t coalesced;     /* refusals folded into summary rows */
  qrl_audit_burst *bursts; /* owned: QRL_AUDIT_BURSTS slots, made on first use */
  uint64_t overflow;      /* refusals counted while every slot was taken */
  uv_timer_t *gather;     /* not owned (the server's; NULL: no gathering):
                             hands the held batch to the pool when it fires */
  qrl_audit_batch *held;  /* owned until handed over: the open batch, not yet
                             given to the pool (it is also `open`) */
} qrl_audit;

/* Gives a the timer that ends each gathering (initialised on the loop that
 * runs a's callers; its data is set to a here). Without one, rows go to the
 * pool at once. */
void qrl_audit_gather(qrl_audit *a, uv_timer_t *gather);

/* Queues one audit row: event (a static name of ours, never the sender's
 * text), outcome, and - each may be NULL - the citizen ID, a short detail
 * and the QR login's flow id. c (may be NULL) gives the peer's IP and
 * User-Agent. Everything is copied. */
void qrl_audit_row(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                   const char *citizen_id, const char *detail, const char *flow);

/* Audits a refusal of an unauthenticated request from c (its IP): the first
 * of its (IP, event, outcome) in a minute is a row now, later ones are
 * counted into one summary row written by qrl_audit_tick() when the minute
 * is over. Security events of known accounts use qrl_audit_row(). */
void qrl_audit_refusal(qrl_audit *a, const qrl_conn *c, const char *event, qrl_err outcome,
                       const char *detail);
/* The same for a client known only by its address (a connection refused
 * before it became one). */
void qrl_audit_refusal_ip(qrl_audit *a, const char *ip, const char *event, qrl_err outcome,
                          const char *detail);

/* Loop tick: writes the summary rows of the minutes that are over (bounded
 * work: one pass over QRL_AUDIT_BURSTS slots). */
void qrl_audit_tick(qrl_audit *a);

/* Shutdown: writes every pending summary row now, hands a held batch to
 * the pool, stops the gather timer (the caller closes it) and frees the
 * counters. */
void qrl_audit_flush(qrl_audit *a);

#endif /* QRLOGIN_AUDIT_H */
