/*
 * faillimit.h - failure limits per account kept in SQLite, so that a
 * restart hands out no fresh attempts: the persisted half of the
 * per-account wrong-password limit (glue/rules.h), beside the in-memory
 * token buckets (ratelimit.h) that hold it - and the per-IP limits, which
 * may start over - on the event loop.
 *
 * A key ("pw:id:<citizen ID>", "pw:user:<username>"; the ID as typed, known
 * or not) has a token bucket of `limit` tokens earned back at limit/window a
 * second, as in ratelimit.h, stored as the failures not yet earned back as
 * of a time:
 *
 *   failures(now) = max(0, failures - (now - at) * limit / window)
 *
 * and a take is allowed while failures(now) <= limit - 1. A check takes its
 * token when it starts - a failure counted in advance, so that checks
 * running at once on several workers cannot all pass one made before any of
 * them failed - and, once its outcome is known, keeps it (a failure), gives
 * it back (anything else) or clears the key (a success). A process that
 * dies in between leaves the token taken: it fails closed.
 *
 * Time is wall time (unix seconds): a record that outlives the process
 * cannot be kept on a monotonic clock. A wall clock stepped back does not
 * hold a record off: the next take or give-back counts from the new time
 * (a record "in the future" is moved back to now). A clock stepped forward
 * refills like time passing; within one process the in-memory buckets, on
 * the monotonic clock, still hold.
 *
 * Rows whose bucket is full again are deleted a few at a time by takes.
 * Each call is one short transaction; worker threads only (SQLite).
 */
#ifndef QRLOGIN_FAILLIMIT_H
#define QRLOGIN_FAILLIMIT_H

#include <stdint.h>

#include "domain/db.h"
#include "qrlogin/error.h"

/* Takes a token of key (limit per window seconds) at now. QRL_OK (taken);
 * QRL_RATE_LIMITED with *retry_in the seconds until a token is back (>= 1);
 * QRL_INVAL for a bad key or rule; QRL_DB. key is copied. */
qrl_err qrl_faillimit_take(qrl_db *db, const char *key, int limit, int64_t window,
                           int64_t now, int64_t *retry_in);

/* Gives back a token a take took (the outcome was no failure); never above
 * the bucket's size. Nothing if key has no record. QRL_OK, QRL_INVAL, QRL_DB. */
qrl_err qrl_faillimit_give_back(qrl_db *db, const char *key, int limit, int64_t window,
                                int64_t now);

/* Forgets key (a right password clears its record). QRL_OK, QRL_DB. */
qrl_err qrl_faillimit_clear(qrl_db *db, const char *key);

/* Whole tokens key has at now (limit if it has no record); -1 on error.
 * Changes nothing: for tests and operators. */
int qrl_faillimit_left(qrl_db *db, const char *key, int limit, int64_t window, int64_t now);

/* Keys with a record at all (full buckets not yet swept included); -1 on
 * error. */
long qrl_faillimit_keys(qrl_db *db);

#endif /* QRLOGIN_FAILLIMIT_H */
