/*
 * limiter.h - token buckets kept in Redis, shared by every qrlogind node
 * that uses the same Redis (issue 13). One Lua script per call: a take of
 * up to QRL_LIMITER_MAX buckets, all or none, and a give-back (refund or
 * reset) of any of them. Time is Redis' own (redis.call('TIME') inside the
 * script): nodes whose clocks disagree still share one budget, and nothing
 * here takes a time from the caller.
 *
 * A bucket is GCRA, the token bucket of ratelimit.h in one number: key
 * "qrl:thr:<kind>:<value>" holds the theoretical arrival time (TAT, unix
 * microseconds) and expires when the bucket is full again, so a key lives
 * no longer than its window and nothing leaks. limit tokens per window
 * seconds, bursts up to limit; a refused take spends nothing.
 *
 * Asynchronous over the transport (redis.h): the loop never waits. Loop
 * thread only. Not here: which buckets a request is counted in (rules.h),
 * the local buckets and what a refusal answers (throttle.h).
 */
#ifndef QRLOGIN_LIMITER_H
#define QRLOGIN_LIMITER_H

#include <stddef.h>
#include <stdint.h>

#include "glue/redis.h"
#include "qrlogin/error.h"

/* Buckets per call at most (a throttle hold's, throttle.h). */
#define QRL_LIMITER_MAX 3

/* The prefix of every throttle key in Redis. */
#define QRL_LIMITER_PREFIX "qrl:thr:"

/* One bucket: key "<kind>:<value>" (borrowed for the call; at most 95
 * bytes), limit tokens per window seconds (both > 0). */
typedef struct qrl_limiter_bucket {
  const char *key;
  int limit;
  int window;
} qrl_limiter_bucket;

/* What Redis answered. */
typedef struct qrl_limiter_result {
  qrl_err err;      /* QRL_OK: counted; QRL_RATE_LIMITED: refused, nothing
                       spent; QRL_UNAVAILABLE: no answer (timeout, connection
                       lost) or a reply not understood - callers fail closed */
  int refused;      /* QRL_RATE_LIMITED: 1 + the index of the bucket that refused */
  int64_t retry_ms; /* QRL_RATE_LIMITED: until that bucket has a token again */
  /* Tokens left, in thousandths, as Redis saw them: after the take for each
   * bucket (QRL_OK), or in the refusing bucket (QRL_RATE_LIMITED: < 1000);
   * after a hit (may be below 0). */
  int64_t level_milli[QRL_LIMITER_MAX];
} qrl_limiter_result;

/* Called once per accepted call, on the loop, never from inside the call
 * that sent it. res is valid during the call. */
typedef void (*qrl_limiter_cb)(void *arg, const qrl_limiter_result *res);

/* Takes a token of each of the n (1..QRL_LIMITER_MAX) buckets in b, all or
 * none: one EVAL. QRL_OK: cb will be called. QRL_UNAVAILABLE: Redis is not
 * up (cb not called); QRL_INVAL: a bad bucket or n. */
qrl_err qrl_limiter_take(qrl_redis *r, const qrl_limiter_bucket *b, size_t n,
                         qrl_limiter_cb cb, void *arg);

/* Counts a hit of bucket b that this node already let through (throttle.h:
 * qrl_throttle_hit decides on its local view): a token is spent even if
 * the bucket has none - a debt of at most another limit tokens, that the
 * next hits on every node wait out. One EVAL. cb hears QRL_OK (it was
 * within the budget) or QRL_RATE_LIMITED (past it), level_milli[0] the
 * tokens left after it (below 0 for a debt); or QRL_UNAVAILABLE. Returns as
 * qrl_limiter_take. */
qrl_err qrl_limiter_hit(qrl_redis *r, const qrl_limiter_bucket *b, qrl_limiter_cb cb,
                        void *arg);

/* Gives back a token of each of the n buckets in b (never above its limit;
 * the key goes once the bucket is full), or forgets the bucket where
 * reset[i] is 1: one EVAL. cb (may be NULL) hears err QRL_OK or
 * QRL_UNAVAILABLE. Returns as qrl_limiter_take. */
qrl_err qrl_limiter_give(qrl_redis *r, const qrl_limiter_bucket *b, const int *reset,
                         size_t n, qrl_limiter_cb cb, void *arg);

#endif /* QRLOGIN_LIMITER_H */
