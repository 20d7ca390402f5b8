/*
 * bclogout.h - the back-channel logout deliverer: a thread of its own (with
 * its own database handle) that POSTs each row of the durable outbox
 * (domain/oidc_logout.h) as logout_token=... to the portal's
 * backchannel_logout_uri, and records the outcome: 200 or 204 delivered,
 * anything else retried with backoff (--bclogout-retry-ms, doubling, as the
 * outbox says) until the attempts or the hour are used up.
 *
 * It never runs on the event loop: it wakes when a row is due, when the
 * server itself ended a session (qrl_bclogout_kick), and at least every
 * poll_ms to see rows another process wrote (qrlogin-admin revoking a
 * session): one indexed read of the outbox's earliest due time. Until the
 * issuer is known (qrl_bclogout_set_issuer) nothing is sent.
 * Counts every outcome (metrics: qrlogin_oidc_backchannel_logout_total)
 * and logs one line per attempt (event "oidc_backchannel_logout": the
 * portal, the result, the HTTP status or why; never the token).
 * Not here: what is queued (the schema's trigger), the HTTP client
 * (helpers/httpc.h).
 */
#ifndef QRLOGIN_BCLOGOUT_H
#define QRLOGIN_BCLOGOUT_H

#include <stdint.h>

#include "qrlogin/error.h"

struct qrl_log;
typedef struct qrl_bclogout qrl_bclogout;

/* How the deliverer works. */
typedef struct qrl_bclogout_opts {
  const char *db_path;   /* copied */
  struct qrl_log *log;   /* not owned; outlives the deliverer; may be NULL */
  uint64_t *counters;    /* not owned: [delivered, retry, failed], bumped
                            atomically; may be NULL */
  int64_t retry_ms;      /* the first retry's wait (then doubling) */
  int64_t poll_ms;       /* the longest sleep: how soon another process's
                            rows are seen */
  long connect_ms, total_ms; /* each POST's limits */
} qrl_bclogout_opts;

/* Starts the thread (libcurl's global set-up first: call before other
 * threads use libcurl). NULL on failure (said on the log). */
qrl_bclogout *qrl_bclogout_start(const qrl_bclogout_opts *o);

/* The issuer logout tokens carry (copied); any thread. Wakes the thread. */
void qrl_bclogout_set_issuer(qrl_bclogout *b, const char *issuer);

/* 1 once an issuer was set. Any thread. */
int qrl_bclogout_has_issuer(qrl_bclogout *b);

/* Wakes the thread at once (rows were just queued). Any thread, NULL-safe. */
void qrl_bclogout_kick(qrl_bclogout *b);

/* Stops the thread (an attempt in flight is aborted) and frees b.
 * NULL-safe. */
void qrl_bclogout_stop(qrl_bclogout *b);

#endif /* QRLOGIN_BCLOGOUT_H */
