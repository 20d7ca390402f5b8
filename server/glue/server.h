/*
 * server.h - the qrlogind runtime: the libuv loop that lws runs on, the
 * worker threads, signals, the 1 Hz tick, and the services the handlers
 * share. The runtime never names a handler: handlers (server/handlers/)
 * attach themselves before qrl_server_run() - their lws protocol, a mount,
 * a tick, a listener for challenge events - the way h2o handlers register
 * with h2o_create_handler.
 *
 * Reload (SIGHUP): the log file opened again, the config file read again
 * and its live keys applied (the others, if changed, are named in a warning:
 * they need a restart), the TLS certificate and key loaded again - new
 * connections get the new one, open ones keep theirs; a certificate that
 * fails its checks is refused and the old one kept.
 *
 * Shutdown (SIGINT/SIGTERM): requests no worker has started are dropped and
 * answered "unavailable", running ones finish and are answered, queued
 * writes get a moment to leave, then the sockets close - all within a few
 * seconds however long the queue was.
 */
#ifndef QRLOGIN_SERVER_H
#define QRLOGIN_SERVER_H

#include <libwebsockets.h>
#include <stdint.h>

#include "qrlogin/error.h"

#include "glue/services.h"

struct qrl_challenge;
typedef struct qrl_server qrl_server;

/* Request tasks waiting for a worker at most: more are refused
 * ("unavailable"). /readyz says not ready from half of it. */
#define QRL_TASK_QUEUE_LIMIT 10000

/* Builds a server for cfg (not owned; must outlive it): opens the log,
 * loads the TLS certificate, creates/migrates the database, seeds it with
 * --demo, opens the SMS gateways, starts the workers. NULL on failure, said
 * in the log. A reload (SIGHUP, on the loop) changes cfg's live keys: log
 * level and format, metrics_allow. */
qrl_server *qrl_server_new(struct qrl_config *cfg);

/* The services of srv. */
qrl_services *qrl_server_services(qrl_server *srv);

/* Handler registration, before qrl_server_run(). Each returns QRL_OK or
 * QRL_NOMEM (no room left). */

/* Adds protocol p (copied; its name and user pointer must outlive srv).
 * Protocol 0, which refuses upgrades without a known subprotocol and answers
 * 404, is the runtime's own. */
qrl_err qrl_server_add_protocol(qrl_server *srv, const struct lws_protocols *p);

/* Serves URLs under mountpoint (static string) with the HTTP callback of
 * protocol (a static name). The runtime serves no files itself: the login
 * page is a handler's mount at "/" (handlers/pages.h). lws 4.1.6 gives a
 * request to the last registered mount that matches, so "/" is registered
 * first. */
qrl_err qrl_server_add_mount(qrl_server *srv, const char *mountpoint,
                             const char *protocol);

/* Calls fn(arg, now_ms) every second on the loop (now_ms: monotonic). */
qrl_err qrl_server_on_tick(qrl_server *srv, void (*fn)(void *arg, int64_t now_ms),
                           void *arg);

/* Calls fn(arg, now_ms) every period_ms (10..1000) on the loop (now_ms:
 * monotonic): for work that must be on time to a few ms and is spread over
 * time by its owner (the QR frames, helpers/wheel.h). */
qrl_err qrl_server_every(qrl_server *srv, int period_ms,
                         void (*fn)(void *arg, int64_t now_ms), void *arg);

/* Calls fn(arg, challenge, prev) for every challenge state change. */
qrl_err qrl_server_on_challenge(qrl_server *srv,
                                void (*fn)(void *arg, const struct qrl_challenge *c,
                                           int prev_state),
                                void *arg);

/* At shutdown (SIGTERM) srv drains: fn(arg, first) is called when it
 * begins (first = 1: stop starting things, tell clients to go elsewhere) and
 * then every few ms (first = 0) while it returns work still in flight that
 * is worth waiting for (--drain-secs at most). */
qrl_err qrl_server_on_drain(qrl_server *srv, size_t (*fn)(void *arg, int first), void *arg);

/* Calls fn(arg) once when srv is freed (a handler's own state). */
qrl_err qrl_server_at_free(qrl_server *srv, void (*fn)(void *arg), void *arg);

/* Listens, prints "qrlogind: listening on URL" once listening, and runs until
 * SIGINT/SIGTERM. Returns the process exit status: 0 after a clean
 * shutdown, 1 if it could not start. */
int qrl_server_run(qrl_server *srv);

/* Frees srv and everything it owns. NULL-safe. */
void qrl_server_free(qrl_server *srv);

/* Current unix time in seconds (audit rows, what people read). */
int64_t qrl_now(void);

#endif /* QRLOGIN_SERVER_H */
