/*
 * store_redis.h - the challenge store (domain/store.h) shared by many
 * qrlogind nodes through Redis (--redis), on the server's loop.
 *
 * What lives where (docs/architecture.md, "Many nodes"):
 *   qrl:ch:{id}     a hash: v (version), d (the challenge, JSON, wall-clock
 *                   times), o (the node that owns its page), and once the
 *                   login is done c (its one-time code) or e (why not);
 *                   expires with the challenge plus its linger
 *   qrl:live        a sorted set of live ids by expiry (the --max-challenges cap)
 *   qrl:net:{key}   the same per browser network (--max-challenges-per-ip)
 *   qrl:alive:{node} a node's heartbeat (a second, kept 3 s)
 *   qrl:ev:{node}   the channel a node hears "challenge X changed" on
 * Every transition is challenge.c's, run here on a copy and written back by a
 * Lua compare-and-set on v: if another node wrote in between, the copy is
 * read again and the transition run again (at most 8 times), so a challenge
 * is consumed exactly once however many nodes try. A move to COMPLETED of
 * another node's challenge also needs that node's heartbeat (else
 * QRL_BROWSER_GONE). The owner hears an id on its channel and re-reads the
 * record (a lost message is healed by the next re-read: every owned live
 * challenge is re-read when the subscription comes back). Redis down: every
 * call answers QRL_UNAVAILABLE at once or at its deadline (fail closed).
 *
 * Loop thread only. Depends on glue/redis.h, domain/store.h, cJSON.
 */
#ifndef QRLOGIN_STORE_REDIS_H
#define QRLOGIN_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "domain/store.h"
#include "glue/redis.h"

struct qrl_log;

/* What the Redis store has sent: the cost of a login in Redis operations. */
typedef struct qrl_store_redis_stats {
  uint64_t calls;     /* commands and scripts sent */
  uint64_t cas_retry; /* compare-and-sets lost to another writer, run again */
  uint64_t published; /* events sent to another node */
  uint64_t heard;     /* events heard from other nodes */
  uint64_t gone;      /* completions refused: the page's node had no heartbeat */
} qrl_store_redis_stats;

/* Makes the store on loop, talking to Redis at addr (two connections: one
 * for commands, one subscribed to this node's events), as node (copied,
 * 1..32 of [A-Za-z0-9_-]). Limits as qrl_store_mem_new(); linger in
 * seconds. Events go to sink(sink_ud, ...). clock: the server's (monotonic
 * times are converted to wall-clock ones in Redis). log (may be NULL).
 * NULL without memory. Free with qrl_store_free() (the loop must then run
 * a little longer for its handles to close). */
qrl_store *qrl_store_redis_new(uv_loop_t *loop, const qrl_redis_addr *addr, const char *node,
                               size_t max_live, size_t max_per_net, int64_t linger,
                               const qrl_clock *clock, struct qrl_log *log,
                               qrl_store_sink sink, void *sink_ud);

/* Its counters, and its command connection's state (for /readyz, metrics).
 * s must come from qrl_store_redis_new(). */
const qrl_store_redis_stats *qrl_store_redis_stats_of(const qrl_store *s);
qrl_redis_state qrl_store_redis_state(const qrl_store *s);

/* 1 once it can serve: both connections up, this node's events subscribed
 * and its heartbeat written (the log says "store_ready" at each such
 * change, "store_unavailable" when it goes). */
int qrl_store_redis_ready(const qrl_store *s);

/* The node is leaving (the end of its drain): its heartbeat is deleted, so
 * that from now on a confirm of one of its pages is refused
 * (QRL_BROWSER_GONE); the heartbeat stops. done(arg) is called when Redis
 * has answered, or at once if it cannot be reached. */
void qrl_store_redis_leave(qrl_store *s, void (*done)(void *arg), void *arg);

/* Its command connection, which the shared throttles borrow (throttle.h:
 * one command connection per node). Valid until qrl_store_free(s). */
qrl_redis *qrl_store_redis_conn(qrl_store *s);

/* 1 if s is a Redis store. */
int qrl_store_is_redis(const qrl_store *s);

#endif /* QRLOGIN_STORE_REDIS_H */
