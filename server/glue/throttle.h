/*
 * throttle.h - the loop's throttles over the token buckets (ratelimit.h):
 * plain hits for rates (QR codes minted, phone requests), holds for limits
 * on failures, and each socket's message budget.
 *
 * A hold is the set of buckets one request is counted in. Its tokens are
 * taken when the request arrives - all or none - so that parallel requests
 * cannot all pass a check made before any of them failed; when the request
 * ends, qrl_throttle_settle() keeps the tokens the outcome counts against
 * and gives the rest back. A request task carries its hold (task.h), so a
 * request that never runs (queue full, shutdown) gets its tokens back in the
 * same place. Refusals are logged and audited here. With --no-rate-limits
 * every call allows and nothing is counted. Loop thread only, but for the
 * two qrl_hold_*_persisted calls.
 *
 * A rule may also persist (the per-account password limit): then its bucket
 * is kept in the database too (faillimit.h), so that a restart, which
 * empties the in-memory buckets, gives no fresh attempts. The worker that
 * runs the request takes that token in the database before the work and
 * settles it after, by the same keep[] and reset_on_ok (task.c); a request
 * the database refuses is answered rate_limited without running, and gets
 * its in-memory tokens back.
 *
 * Shared (--redis: t->shared, with t->redis borrowed): every bucket but the
 * persisting ones (the database already shares those) is counted in Redis
 * too (limiter.h), on Redis' clock, for all nodes; the local bucket stays
 * and still refuses first. Fail closed: Redis not up, or a call answered
 * QRL_UNAVAILABLE, refuses - never passes - and counts
 * metrics.throttle_unavailable.
 *   - A hold: taken locally on arrival as above, then in Redis before its
 *     task goes to a worker (qrl_throttle_take_shared, from
 *     qrl_task_submit): one EVAL for all its buckets, all or none. A Redis
 *     refusal answers the task QRL_RATE_LIMITED with retry_in, as the
 *     database's does; no answer, QRL_UNAVAILABLE. The settle gives the
 *     Redis tokens back by the same keep[] and reset_on_ok (one EVAL, none
 *     when every bucket keeps its token); a give-back that fails leaves the
 *     tokens taken until they refill (fail closed).
 *   - A hit stays synchronous: it is decided on this node's bucket, which
 *     the reply to each of its hits brings down to Redis' count
 *     (qrl_rl_cap). Every hit it lets through is counted in Redis (one
 *     EVAL per hit), past the budget too, as a debt every node then waits
 *     out (limiter.h). The bound: a node lets through a hit the shared
 *     budget no longer has only while its view is stale (other nodes spent
 *     the tokens after its last reply); the reply to its first such hit -
 *     one round trip, at most the command deadline (1 s) after which the
 *     connection drops and every hit refuses - brings it to Redis' count.
 *     So for a key, over N nodes and any interval: hits <= the budget + the
 *     sum over the nodes of the hits each let through within one round trip
 *     of its first hit past the budget (each term at most limit); a page
 *     that waits for its answer before the next request adds at most one
 *     per node. The extra hits are a debt: the long-run rate stays limit
 *     per window. metrics.throttle_late counts them.
 *   - Per-socket message budgets stay local: a socket lives on one node.
 * Not here: which buckets qrlogind has (rules.h), the scripts (limiter.h).
 */
#ifndef QRLOGIN_THROTTLE_H
#define QRLOGIN_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "glue/audit.h"
#include "helpers/clock.h"
#include "glue/conn.h"
#include "qrlogin/error.h"
#include "domain/db.h"
#include "domain/ratelimit.h"

struct qrl_redis;

/* One bucket a request is counted in: "<kind>:<value>", limit tokens per
 * window seconds, and what the request's outcome does with its token. */
typedef struct qrl_rule {
  char key[QRL_RL_KEY_MAX + 1];
  int limit;
  int window;
  qrl_err keep[2]; /* outcomes that spend the token for good ... */
  int nkeep;       /* ... (how many of keep[] are set); any other gives it back */
  int reset_on_ok; /* QRL_OK forgets the key (a right password clears its record) */
  int persist;     /* also kept in the database: outlives a restart */
} qrl_rule;

#define QRL_HOLD_MAX 3

/* The buckets of one request and whether their tokens are taken. */
typedef struct qrl_hold {
  qrl_rule rules[QRL_HOLD_MAX];
  size_t n;
  int taken;     /* 1 between a successful take and the settle */
  int persisted; /* worker: 1 between qrl_hold_take_persisted and its settle */
  int refused;   /* 1 + the index of the rule the database (or Redis) refused;
                    0 if none */
  int shared;    /* 1 between a successful qrl_throttle_take_shared and the settle */
} qrl_hold;

typedef struct qrl_throttle {
  qrl_ratelimit *rl;      /* owned */
  int off;                /* --no-rate-limits */
  qrl_audit *audit;       /* not owned: refusals are audited */
  const qrl_clock *clock; /* not owned: buckets run on its monotonic time */
  uint64_t refused;       /* requests refused */
  struct qrl_metrics *metrics; /* not owned, may be NULL: refusals by rule */
  int shared;              /* --redis: buckets are counted in Redis too */
  struct qrl_redis *redis; /* not owned: the connection (NULL once it is
                              closed at shutdown: shared buckets refuse) */
} qrl_throttle;

/* Adds bucket "<kind>:<value>" to h. Returns the rule (to set keep[] and
 * reset_on_ok), or NULL if h is full or the key too long - then the hold can
 * never be taken (fail closed). */
qrl_rule *qrl_hold_add(qrl_hold *h, const char *kind, const char *value, int limit,
                       int window);

/* Spends a token of "<kind>:<value>". 1 if allowed; else 0, and the refusal
 * is logged and audited for c (may be NULL). */
int qrl_throttle_hit(qrl_throttle *t, const qrl_conn *c, const char *kind,
                     const char *value, int limit, int window);

/* qrl_throttle_hit() saying why: QRL_OK (allowed), QRL_RATE_LIMITED, or
 * QRL_UNAVAILABLE (shared and Redis cannot count it: refused too). */
qrl_err qrl_throttle_hit_err(qrl_throttle *t, const qrl_conn *c, const char *kind,
                             const char *value, int limit, int window);

/* Takes a token of every bucket of h, all or none. 1 if taken; else 0, with
 * *retry_in the seconds until a token is back, and the refusal logged and
 * audited. A hold with a bad rule (qrl_hold_add returned NULL) is refused. */
int qrl_throttle_take(qrl_throttle *t, const qrl_conn *c, qrl_hold *h,
                      int64_t *retry_in);

/* Ends h's request with outcome: each bucket keeps its token if outcome is in
 * its keep[], forgets the key on QRL_OK if reset_on_ok, and gets the token
 * back otherwise. Does nothing unless h is taken; then h is no longer taken. */
void qrl_throttle_settle(qrl_throttle *t, qrl_hold *h, qrl_err outcome);

/* Worker thread, with that worker's db, before the request's work: takes a
 * token of every persisting rule of h in the database (faillimit.h) at now
 * (unix seconds), all or none, if h is taken (nothing with
 * --no-rate-limits). QRL_OK; QRL_RATE_LIMITED with *retry_in set and
 * h->refused naming the rule; or QRL_DB (fail closed). */
qrl_err qrl_hold_take_persisted(qrl_hold *h, qrl_db *db, int64_t now, int64_t *retry_in);

/* Worker thread, after the work: settles the database tokens a
 * qrl_hold_take_persisted took, by outcome as qrl_throttle_settle does. A
 * failed write is logged: the token then stays taken (fail closed). */
void qrl_hold_settle_persisted(qrl_hold *h, qrl_db *db, int64_t now, qrl_err outcome);

/* Loop thread: logs and audits, for c (may be NULL), a request the database
 * refused (h->refused), as a refusal of qrl_throttle_take is. Nothing if it
 * was not refused. */
void qrl_throttle_note_persisted(qrl_throttle *t, const qrl_conn *c, const qrl_hold *h);

/* 1 if h, taken, must also be taken in Redis (t shared, a bucket that does
 * not persist) before its work runs. */
int qrl_throttle_shared_needed(const qrl_throttle *t, const qrl_hold *h);

/* What a shared take came to: err QRL_OK (h->shared set), QRL_RATE_LIMITED
 * (h->refused names the bucket, retry_in the seconds until it has a token)
 * or QRL_UNAVAILABLE. Loop thread, never inside qrl_throttle_take_shared. */
typedef void (*qrl_throttle_shared_cb)(void *arg, qrl_err err, int64_t retry_in);

/* Sends the take of h's buckets that do not persist to Redis (one EVAL).
 * QRL_OK: cb will be called (h must live until then). QRL_UNAVAILABLE:
 * Redis is not up - counted; the caller answers unavailable and settles h. */
qrl_err qrl_throttle_take_shared(qrl_throttle *t, qrl_hold *h, qrl_throttle_shared_cb cb,
                                 void *arg);

/* Loop thread: logs and audits, for c (may be NULL), a request the shared
 * take refused: QRL_RATE_LIMITED as qrl_throttle_note_persisted does,
 * QRL_UNAVAILABLE as "throttle_unavailable". */
void qrl_throttle_note_shared(qrl_throttle *t, const qrl_conn *c, const qrl_hold *h,
                              qrl_err err);

/* A websocket's message budget: msgs per window seconds (QRL_RL_SOCKET_* in
 * rules.h). 1 if the message may be handled; 0 if refused (the caller tells
 * the client, if there is a request to answer); -1 once more than strikes
 * messages were refused: the socket must close (audited). */
int qrl_throttle_socket(qrl_throttle *t, qrl_conn *c, int msgs, int window, int strikes);

#endif /* QRLOGIN_THROTTLE_H */
