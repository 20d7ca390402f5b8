/*
 * ratelimit.h - token buckets by key, in memory.
 *
 * The loop thread owns one (no locks): "pw:ip:1.2.3.4", "pw:id:0010...",
 * "mint:ip:...". A rule (limit, window) gives each key a bucket of `limit`
 * tokens that refills at limit/window tokens a second: bursts up to `limit`,
 * `limit` per `window` sustained. A hit spends a token; with none left it is
 * refused. The table holds at most max_keys keys; full buckets are dropped by
 * qrl_rl_sweep() and when space is needed. If it is full of live keys, a new
 * key is refused (fail closed) and the caller logs the refusal.
 * A shared store (Redis) would implement the same calls for several
 * qrlogind processes. Depends on libc only.
 */
#ifndef QRLOGIN_RATELIMIT_H
#define QRLOGIN_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct qrl_ratelimit qrl_ratelimit;

/* A new, empty table for at most max_keys keys; NULL on allocation failure.
 * Free with qrl_rl_free(). */
qrl_ratelimit *qrl_rl_new(size_t max_keys);
void qrl_rl_free(qrl_ratelimit *rl);

/* Spends a token of key at now. Returns the whole tokens left after it
 * (>= 0), or -1 if the hit is refused (bucket empty, or table full). Refused
 * hits cost nothing. */
int qrl_rl_hit(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
               int64_t window);

/* Whether a hit would be allowed now, without spending. If not and retry_in
 * is not NULL, *retry_in is the seconds until a token is back. */
int qrl_rl_allowed(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
                   int64_t window, int64_t *retry_in);

/* Gives back the token a hit took (never above limit; nothing if key is
 * gone). For limits that count failures: take a token when a request
 * arrives - so parallel requests cannot all pass a check made before any of
 * them failed - and refund it when the request turns out not to be one. */
void qrl_rl_refund(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
                   int64_t window);

/* Forgets key (e.g. after a successful login). */
void qrl_rl_reset(qrl_ratelimit *rl, const char *key);

/* Drops keys whose bucket is full again at now. Returns how many are left. */
size_t qrl_rl_sweep(qrl_ratelimit *rl, int64_t now);

#endif /* QRLOGIN_RATELIMIT_H */
