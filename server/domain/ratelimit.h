/*
 * ratelimit.h - token buckets by key, in memory.
 *
 * The loop thread owns one (no locks): "pw:ip:1.2.3.4", "pw:id:0010...",
 * "mint:ip:...". A rule (limit, window) gives each key a bucket of `limit`
 * tokens that refills at limit/window tokens a second: bursts up to `limit`,
 * `limit` per `window` sustained. A hit spends a token; with none left it is
 * refused.
 *
 * Time is monotonic milliseconds (clock.h, qrl_clock_mono_ms): a wall-clock
 * step neither refills nor drains a bucket. Windows and retry_in are seconds.
 *
 * Size: the table starts small and doubles as keys arrive, up to room for
 * max_keys keys; it never shrinks. A doubling is incremental, as in redis'
 * dict: the larger table is allocated and cleared a few KB per call, then
 * keys move to it a few slots per call while lookups check both tables, and
 * the smaller one is freed a chunk at a time as the move leaves it. Every
 * call (hit, allowed, refund, reset) does at most one such bounded step, so
 * no call costs in proportion to the table: before this, the doubling into
 * 2^19 slots (63 MB) at 131,072 keys blocked one hit for 0.3-0.7 s on the
 * 2-core test VM, nearly all of it first-touch page faults of the new table.
 * qrl_rl_get_stats() shows the steps. A full bucket behaves exactly
 * like an absent key, so it may be dropped at any time: qrl_rl_sweep() drops
 * them a bounded slice at a time (and a doubling drops those it passes), and
 * a new key that finds the table at max_keys sweeps a slice first. If the
 * table is full of live keys, a new key
 * is refused (fail closed) and the caller logs the refusal. Keys longer than
 * QRL_RL_KEY_MAX bytes, and empty keys, are refused, never truncated (two
 * long keys cut to one prefix would share a bucket).
 *
 * With --redis the same buckets are also counted in Redis for all nodes
 * (glue/limiter.h), and qrl_rl_cap() brings a local bucket down to what
 * Redis said. Depends on libc only.
 */
#ifndef QRLOGIN_RATELIMIT_H
#define QRLOGIN_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* The longest key, in bytes without its NUL. Callers building keys use
 * char key[QRL_RL_KEY_MAX + 1]. */
#define QRL_RL_KEY_MAX 95

/* A sweep budget for a 1 Hz timer: slots visited per call (about 10 ns
 * each). The largest table (2^19 slots for 200,000 keys) is swept whole
 * every 64 calls. */
#define QRL_RL_SWEEP_BUDGET 8192

typedef struct qrl_ratelimit qrl_ratelimit;

/* A new, empty table for at most max_keys keys (it starts small and grows);
 * NULL if max_keys is 0 or on allocation failure. Free with qrl_rl_free(). */
qrl_ratelimit *qrl_rl_new(size_t max_keys);

/* Frees rl; NULL-safe. */
void qrl_rl_free(qrl_ratelimit *rl);

/* Spends a token of key at monotonic now_ms. Returns the whole tokens left
 * after it (>= 0), or -1 if the hit is refused (bucket empty, table full of
 * live keys, no memory to grow, or a bad key or rule). Refused hits cost
 * nothing. key is copied. */
int qrl_rl_hit(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
               int64_t window);

/* Whether a hit would be allowed at now_ms, without spending (1 or 0; 0 for
 * a bad key or rule). If not and retry_in is not NULL, *retry_in is the
 * seconds until a token is back (0 for a bad key or rule). */
int qrl_rl_allowed(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window, int64_t *retry_in);

/* Gives back the token a hit took (never above limit; nothing if key is
 * gone). For limits that count failures: take a token when a request
 * arrives - so parallel requests cannot all pass a check made before any of
 * them failed - and refund it when the request turns out not to be one. */
void qrl_rl_refund(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window);

/* Lowers key's bucket to at most tokens at now_ms (a count learnt from
 * elsewhere: the shared buckets in Redis, throttle.h), adding the key if it
 * is absent; a bucket already lower is left alone. tokens may be below 0
 * (a debt, at least -limit): hits wait until it is earned back. 0, or -1 if the key
 * could not be kept (a bad key or rule, or the table full of live keys).
 * key is copied. */
int qrl_rl_cap(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
               int64_t window, double tokens);

/* Forgets key (e.g. after a successful login). */
void qrl_rl_reset(qrl_ratelimit *rl, const char *key);

/* Drops keys whose bucket is full again at now_ms, visiting at most budget
 * slots, starting where the previous call stopped (wrapping around; a
 * slot looked at again after a removal shifted a key into it counts too).
 * During a doubling the budget goes first to moving keys to the larger
 * table (a full bucket is dropped instead of moved), then to the walk of the
 * larger table, which starts over when the doubling starts moving. A bucket
 * full when a call begins is dropped within (slots + keys) / budget + 1
 * calls, slots counting both tables during a doubling, unless a doubling
 * starts meanwhile. Returns how many keys are left. */
size_t qrl_rl_sweep(qrl_ratelimit *rl, int64_t now_ms, size_t budget);

/* Number of keys held. */
size_t qrl_rl_keys(const qrl_ratelimit *rl);

/* Bytes of memory the table holds (its slots, both tables' during a
 * doubling, and itself). */
size_t qrl_rl_bytes(const qrl_ratelimit *rl);

/* What the incremental doubling did, for tests and the benchmark: the work
 * of the last call and the most any call did since qrl_rl_new(). */
typedef struct qrl_rl_stats {
  int growing;        /* 0 no doubling, 1 clearing the larger table, 2 moving keys */
  size_t old_keys;    /* keys still in the smaller table (while moving) */
  size_t last_zeroed; /* slots of the larger table cleared by the last call */
  size_t max_zeroed;
  size_t last_moved;  /* slots of the smaller table moved, dropped or passed */
  size_t max_moved;
  size_t growths;     /* doublings finished */
} qrl_rl_stats;

/* Copies the statistics of rl into *out. */
void qrl_rl_get_stats(const qrl_ratelimit *rl, qrl_rl_stats *out);

#endif /* QRLOGIN_RATELIMIT_H */
