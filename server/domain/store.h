/*
 * store.h - where live challenges are kept, and how their events get out.
 *
 * An interface (a table of functions) with two implementations: the
 * in-memory store of one process (store_mem.c, the embedded default) and
 * Redis shared by many qrlogind nodes (glue/store_redis.c, --redis). The
 * contract every implementation keeps:
 *   - put, get and apply answer through a callback, exactly once, on the
 *     loop thread: the in-memory store before the call returns, a shared
 *     store when its server has answered. A caller therefore does its work
 *     in the callback and nothing after the call, and keeps what the
 *     callback needs (apply's arg too) alive until it has run;
 *   - apply() runs a transition atomically: no two applies on one challenge
 *     interleave (a shared store re-reads and runs fn again when another
 *     node changed the challenge in between: fn must depend only on the
 *     challenge and arg), so "consumed exactly once" holds across nodes;
 *   - after a transition that changed the state, the store delivers the event
 *     to the sink of the node that owns the challenge's browser (its own at
 *     once; another node's through the store: at most once, so that node
 *     re-reads the challenge rather than trusting the message);
 *   - a node that is gone (no heartbeat in a shared store) cannot have its
 *     challenge completed: apply refuses the move to COMPLETED with
 *     QRL_BROWSER_GONE and leaves the challenge as it was, so the phone that
 *     confirms is not logged out for a page nobody sees;
 *   - terminal challenges are kept for `linger` seconds, so that late requests
 *     get "used"/"expired" rather than "unknown", then dropped;
 *   - a challenge's secret and binding are wiped from every copy the store
 *     keeps in this process before that memory is freed or reused;
 *   - time is monotonic milliseconds (clock.h), as in challenge.h; a shared
 *     store keeps wall-clock times (nodes' monotonic clocks differ) and
 *     converts.
 * Depends on challenge.h (the in-memory store also on netaddr.h).
 */
#ifndef QRLOGIN_STORE_H
#define QRLOGIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/challenge.h"

typedef struct qrl_store qrl_store;

/* Receives every state change: c is the challenge after the change, prev its
 * state before. Called on the loop thread of the node that owns c's browser
 * (c->node, "" for the in-memory store). */
typedef void (*qrl_store_sink)(void *ud, const qrl_challenge *c,
                               qrl_chal_state prev);

/* What else a challenge's owner is told (qrl_store_tell). */
typedef enum qrl_store_note_kind {
  QRL_STORE_HELD,     /* the citizen is granting web login: the code lives
                         longer (c->expires_ms) */
  QRL_STORE_COMPLETED /* the web session is written: code, or err if not */
} qrl_store_note_kind;

typedef struct qrl_store_note {
  qrl_store_note_kind kind;
  const char *code; /* COMPLETED with err QRL_OK: the one-time code */
  qrl_err err;      /* COMPLETED: QRL_OK or why no session was made */
} qrl_store_note;

typedef void (*qrl_store_note_sink)(void *ud, const qrl_challenge *c,
                                    const qrl_store_note *n);

/* A transition to run under the store's lock: changes *c and returns QRL_OK,
 * or returns an error and leaves *c as it was - except a fail-closed refusal,
 * which returns its error and moves *c to a terminal state (kept). */
typedef qrl_err (*qrl_store_fn)(qrl_challenge *c, void *arg);

/* The answer to put, get and apply: rc, and the challenge as it now is
 * (NULL when absent or when the store could not be reached, rc
 * QRL_UNAVAILABLE). c is valid during the call only. */
typedef void (*qrl_store_cb)(void *ud, qrl_err rc, const qrl_challenge *c);

/* The operations. Implementations fill one of these. */
typedef struct qrl_store_ops {
  /* Adds a copy of c, owned by this node. QRL_SERVER_BUSY if the store holds
   * its maximum of live challenges; QRL_TOO_MANY_CHALLENGES_IP if c's
   * browser network (its browser_ip's qrl_ip_network_key(): the IPv4
   * address, or the IPv6 /64) holds its maximum; QRL_INVAL if the id exists
   * or c breaks its invariants; QRL_UNAVAILABLE (shared store unreachable). */
  void (*put)(qrl_store *s, const qrl_challenge *c, qrl_store_cb cb, void *ud);
  /* Challenge id. QRL_CHALLENGE_UNKNOWN if absent. */
  void (*get)(qrl_store *s, const char *id, qrl_store_cb cb, void *ud);
  /* Runs fn(challenge, arg) atomically; on QRL_OK, or when fn moved the
   * state (fail closed), saves it and, if the state changed, emits the event.
   * Answers fn's result with the challenge as saved (or as it was, if fn
   * refused). QRL_CHALLENGE_UNKNOWN if absent; QRL_BROWSER_GONE (above). */
  void (*apply)(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                qrl_store_cb cb, void *ud);
  /* Tells c's owner note (its note sink). Best effort: a shared store keeps
   * a completion's code with the challenge until it lingers out, so the
   * owner can still read it if the message is lost. */
  void (*tell)(qrl_store *s, const qrl_challenge *c, const qrl_store_note *n);
  /* Expires every live challenge of this node past its expiry at monotonic
   * now_ms (emitting events) and drops terminal ones older than linger.
   * Returns how many expired. */
  size_t (*sweep)(qrl_store *s, int64_t now_ms);
  /* Number of live (non-terminal) challenges (a shared store: this node's). */
  size_t (*live)(qrl_store *s);
  void (*destroy)(qrl_store *s);
} qrl_store_ops;

/* The common head of every store. */
struct qrl_store {
  const qrl_store_ops *ops;
  qrl_store_sink sink;
  void *sink_ud;
  qrl_store_note_sink note_sink;
  void *note_ud;
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

/* The in-memory store's own synchronous face (tests, benchmarks): s must
 * come from qrl_store_mem_new(). */
qrl_err qrl_store_mem_put(qrl_store *s, const qrl_challenge *c);
qrl_err qrl_store_mem_get(qrl_store *s, const char *id, qrl_challenge *out);
/* out (may be NULL): the challenge after fn, in every case it exists. */
qrl_err qrl_store_mem_apply(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                            qrl_challenge *out);
/* Live challenges counted against the network of address ip. */
size_t qrl_store_mem_live_from(qrl_store *s, const char *ip);

/* Where notes go (qrl_store_tell); without one they are dropped. */
void qrl_store_on_note(qrl_store *s, qrl_store_note_sink sink, void *ud);

/* Thin wrappers over ops, so callers read naturally. */
void qrl_store_put(qrl_store *s, const qrl_challenge *c, qrl_store_cb cb, void *ud);
void qrl_store_get(qrl_store *s, const char *id, qrl_store_cb cb, void *ud);
void qrl_store_apply(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                     qrl_store_cb cb, void *ud);
void qrl_store_tell(qrl_store *s, const qrl_challenge *c, const qrl_store_note *n);
size_t qrl_store_sweep(qrl_store *s, int64_t now_ms);
size_t qrl_store_live(qrl_store *s);
/* Destroys s; NULL-safe. */
void qrl_store_free(qrl_store *s);

#endif /* QRLOGIN_STORE_H */
