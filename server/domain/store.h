/*
 * store.h - where live challenges are kept, and how their events get out.
 *
 * An interface (a table of functions) so that a shared store - Redis with
 * pub/sub, for several qrlogind processes - can replace the in-memory one
 * without touching protocol code. The contract every implementation keeps:
 *   - apply() runs a transition atomically: no two applies on one challenge
 *     interleave, so "consumed exactly once" holds across processes;
 *   - after a transition that changed the state, the store delivers the event
 *     to the sink (in the process that owns the affected sockets);
 *   - terminal challenges are kept for `linger` seconds, so that late requests
 *     get "used"/"expired" rather than "unknown", then dropped;
 *   - a challenge's secret and binding are wiped from every copy the store
 *     keeps before that memory is freed or reused;
 *   - time is monotonic milliseconds (clock.h), as in challenge.h.
 * Depends on challenge.h (the in-memory store also on netaddr.h).
 */
#ifndef QRLOGIN_STORE_H
#define QRLOGIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/challenge.h"

typedef struct qrl_store qrl_store;

/* Receives every state change: c is the challenge after the change, prev its
 * state before. Called synchronously from apply/sweep/cancel on the caller's
 * thread. */
typedef void (*qrl_store_sink)(void *ud, const qrl_challenge *c,
                               qrl_chal_state prev);

/* A transition to run under the store's lock: changes *c and returns QRL_OK,
 * or returns an error and leaves *c as it was - except a fail-closed refusal,
 * which returns its error and moves *c to a terminal state (kept). */
typedef qrl_err (*qrl_store_fn)(qrl_challenge *c, void *arg);

/* The operations. Implementations fill one of these. */
typedef struct qrl_store_ops {
  /* Adds a copy of c. QRL_SERVER_BUSY if the store holds its maximum of live
   * challenges; QRL_TOO_MANY_CHALLENGES_IP if c's browser network (its
   * browser_ip's qrl_ip_network_key(): the IPv4 address, or the IPv6 /64)
   * holds its maximum; QRL_INVAL if the id exists or c breaks its
   * invariants. */
  qrl_err (*put)(qrl_store *s, const qrl_challenge *c);
  /* Copies challenge id into *out. QRL_CHALLENGE_UNKNOWN if absent. */
  qrl_err (*get)(qrl_store *s, const char *id, qrl_challenge *out);
  /* Runs fn(challenge, arg) atomically; on QRL_OK, or when fn moved the
   * state (fail closed), saves it and, if the state changed, emits the event.
   * Returns fn's result; copies the challenge to *out (may be NULL) in every
   * case. QRL_CHALLENGE_UNKNOWN if absent. */
  qrl_err (*apply)(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                   qrl_challenge *out);
  /* Expires every live challenge past its expiry at monotonic now_ms
   * (emitting events) and drops terminal ones older than linger. Returns how
   * many expired. */
  size_t (*sweep)(qrl_store *s, int64_t now_ms);
  /* Number of live (non-terminal) challenges. */
  size_t (*live)(qrl_store *s);
  /* Number of live challenges counted against the network of address ip
   * (the per-network maximum of put). */
  size_t (*live_from)(qrl_store *s, const char *ip);
  void (*destroy)(qrl_store *s);
} qrl_store_ops;

/* The common head of every store. */
struct qrl_store {
  const qrl_store_ops *ops;
  qrl_store_sink sink;
  void *sink_ud;
};

/* Makes the in-memory store: at most max_live live challenges, and at most
 * max_per_net of them from one browser network (0: no such limit); terminal
 * ones kept linger seconds (of monotonic time, counted from the first sweep
 * that sees them terminal). A sweep looks only at the challenges that came
 * due (expired, became terminal, lingered out: helpers/wheel.h), so its cost
 * follows what expires, not what is stored. Events go to sink(sink_ud,
 * ...). Returns NULL on allocation failure. Free with qrl_store_free(). */
qrl_store *qrl_store_mem_new(size_t max_live, size_t max_per_net, int64_t linger,
                             qrl_store_sink sink, void *sink_ud);

/* Thin wrappers over ops, so callers read naturally. */
qrl_err qrl_store_put(qrl_store *s, const qrl_challenge *c);
qrl_err qrl_store_get(qrl_store *s, const char *id, qrl_challenge *out);
qrl_err qrl_store_apply(qrl_store *s, const char *id, qrl_store_fn fn,
                        void *arg, qrl_challenge *out);
size_t qrl_store_sweep(qrl_store *s, int64_t now_ms);
size_t qrl_store_live(qrl_store *s);
size_t qrl_store_live_from(qrl_store *s, const char *ip);
/* Destroys s; NULL-safe. */
void qrl_store_free(qrl_store *s);

#endif /* QRLOGIN_STORE_H */
