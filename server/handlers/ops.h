/*
 * ops.h - the operators' URLs, outside /api:
 *
 *   GET /healthz  200 "ok" while the event loop runs (touches nothing else);
 *                 for anyone (a liveness probe may come from anywhere)
 *   GET /readyz   200 {"ready":true} when a worker can read the database
 *                 and the workers are not saturated; else 503
 *                 {"ready":false,"reason":"database"|"workers"|"stopping"}
 *   GET /metrics  the Prometheus text exposition (glue/metrics.h)
 *
 * /readyz and /metrics answer only clients in --metrics-allow (default this
 * machine); others get 404, as for a URL that does not exist. The database
 * check (domain/health.h) runs on a worker, never on the loop, and its
 * answer is kept for a second: however many probes arrive, at most one
 * check a second runs, and probes that arrive while it runs wait for it.
 * Not here: the counters themselves, the router (http.h).
 */
#ifndef QRLOGIN_OPS_H
#define QRLOGIN_OPS_H

#include "glue/server.h"

/* Registers the three URLs with srv (their router, and the readiness
 * state, live as long as srv). QRL_OK or QRL_NOMEM. */
qrl_err qrl_ops_attach(qrl_server *srv);

#endif /* QRLOGIN_OPS_H */
