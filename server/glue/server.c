/*
 * server.c - the runtime (server.h): the libuv loop that lws runs on
 * (LWS_SERVER_OPTION_LIBUV with a foreign loop), the vhost built from what
 * the handlers registered, the worker pool with one SQLite handle per
 * worker, the 1 Hz tick, and the shutdown.
 *
 * Workers wake the loop with a uv_async_t (thread-safe, and still valid while
 * lws is being torn down) rather than lws_cancel_service().
 */
#include "glue/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "domain/accounts.h"
#include "glue/audit.h"
#include "helpers/clock.h"
#include "glue/config.h"
#include "glue/conn.h"
#include "glue/listener.h"
#include "glue/lwslog.h"
#include "glue/metrics.h"
#include "glue/notify.h"
#include "glue/origin.h"
#include "glue/peers.h"
#include "glue/redis.h"
#include "helpers/crypto.h"
#include "helpers/keepalive.h"
#include "helpers/log.h"
#include "helpers/tls.h"
#include "domain/legacy.h"
#include "domain/otp.h"
#include "domain/ratelimit.h"
#include "glue/sms_relay.h"
#include "domain/store.h"
#include "glue/store_redis.h"
#include "glue/task.h"
#include "glue/throttle.h"
#include "glue/worker.h"

#define MAX_PROTOCOLS 8
#define MAX_MOUNTS 8
#define MAX_HOOKS 16
#define QUEUE_LIMIT QRL_TASK_QUEUE_LIMIT
#define SHUTDOWN_DRAIN_MS 3000  /* running work and queued writes get this long */
#define SHUTDOWN_POLL_MS 20
#define FD_CEILING (1 << 20)    /* RLIMIT_NOFILE is raised this far at most */
#define FD_HEADROOM 64          /* descriptors kept free beyond those open at start
                                   (static files being sent, the SMS outbox, ...) */
#define REFUSED_LOG_MS 60000    /* refused connections: one log line a minute */

/* What handlers registered: each with its own argument, typed. */
typedef void (*tick_fn)(void *arg, int64_t now_ms);
typedef void (*event_fn)(void *arg, const struct qrl_challenge *c, int prev_state);
typedef void (*free_fn)(void *arg);
typedef struct tick_hook { tick_fn fn; void *arg; } tick_hook;
typedef struct event_hook { event_fn fn; void *arg; } event_hook;
typedef struct free_hook { free_fn fn; void *arg; } free_hook;
typedef size_t (*drain_fn)(void *arg, int first);
typedef struct drain_hook { drain_fn fn; void *arg; } drain_hook;
typedef struct every_hook {
  uv_timer_t timer;
  tick_fn fn;
  void *arg;
  const qrl_clock *clock;
} every_hook;

struct qrl_server {
  qrl_services sv;
  const qrl_config *cfg; /* not owned */
  qrl_log log;           /* the server's log (log.h): every line goes here */
  qrl_config *live;      /* cfg itself: a reload (SIGHUP) changes its log
                            level and format and metrics_allow (loop thread) */
  qrl_tls tls;           /* the certificate served (with --tls-cert) */
  char *tls_cert, *tls_key; /* owned: the files it was loaded from */
  int tls_attached;      /* lws's SSL_CTX takes its certificate from tls */
  const qrl_clock *clock; /* the system's */
  qrl_acct_policy pol;
  qrl_otp_policy opol; /* holds the OTP pepper */
  qrl_conns conns;
  qrl_keepalive alive; /* pings and hang-ups of silent websockets */
  qrl_tasks tasks;
  qrl_throttle thr;
  qrl_audit audit;
  qrl_sms_relay sms;
  qrl_metrics metrics;
  qrl_store *store; /* owned */
  char node[33];    /* this node's id among those sharing a Redis, or "" */
  qrl_workq *wq;    /* owned */
  qrl_listener *listener; /* owned; NULL once closed */
  qrl_peers *peers;       /* owned: open connections per client address */
  uint64_t conn_refused;  /* connections refused by the caps */
  uint64_t refused_logged; /* conn_refused at the last log line */
  int64_t refused_log_ms;  /* monotonic ms of that line */
  int stopping; /* shutdown began: no new work */
  int closing;  /* the sockets are being closed */
  uv_loop_t loop;
  int loop_ok;
  uv_signal_t sig_int, sig_term, sig_hup;
  uv_timer_t tick, drain;
  uv_timer_t audit_gather; /* ends each group commit of audit rows (audit.h) */
  uv_async_t wake; /* workers -> loop: finished work is waiting */
  qrl_notify notify; /* systemd's READY/STOPPING/WATCHDOG */
  uint64_t drain_started;
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  struct lws_protocols protos[MAX_PROTOCOLS + 1]; /* [0] ours, NULL-terminated */
  size_t nprotos;
  struct lws_http_mount mounts[MAX_MOUNTS];
  size_t nmounts;
  tick_hook ticks[MAX_HOOKS];
  event_hook events[MAX_HOOKS];
  free_hook frees[MAX_HOOKS];
  drain_hook drains[MAX_HOOKS];
  size_t ndrains;
  int leaving; /* the shared store is being told this node is gone */
  int left;    /* ... and has answered (or could not be told) */
  every_hook everys[MAX_HOOKS];
  size_t nticks, nevents, nfrees, neverys;
};

int64_t qrl_now(void) { return (int64_t)time(NULL); }

qrl_services *qrl_server_services(qrl_server *srv) { return &srv->sv; }

/* lws's context user pointer is the server, read as its services
 * (services.h): they must be its first member. */
_Static_assert(offsetof(struct qrl_server, sv) == 0, "qrl_services first in qrl_server");

/* ---- registration --------------------------------------------------------- */

/* Protocol 0 gets upgrades without a subprotocol and failed file lookups: it
 * refuses both (otherwise they would reach whichever protocol came first).
 * Every HTTP request starts here too, before any mount: its Host is checked
 * once for the static files and /api alike. */
static int reject_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                           void *in, size_t len) {
  switch (reason) {
  case LWS_CALLBACK_WSI_DESTROY: {
    /* Every connection we adopted ends here, whatever protocol it took:
     * its client's count goes down, and its per-session data (a qrl_conn
     * whatever the protocol, still there) gives back its headers. */
    qrl_peer *peer = lws_get_opaque_user_data(wsi);
    if (user) {
      qrl_server *srv = lws_context_user(lws_get_context(wsi));
      qrl_conn_forget_headers(&srv->conns, user);
    }
    if (peer) {
      qrl_server *srv = lws_context_user(lws_get_context(wsi));
      lws_set_opaque_user_data(wsi, NULL);
      qrl_peers_release(srv->peers, peer);
    }
    return 0;
  }
  case LWS_CALLBACK_FILTER_HTTP_CONNECTION: {
    qrl_server *srv = lws_context_user(lws_get_context(wsi));
    int rc;
    if (!user) return -1; /* lws gives protocol 0 its qrl_conn first: cannot happen */
    rc = qrl_host_filter_http(srv->cfg, &srv->audit, user, wsi);
    /* lws 4.1.6 may free this qrl_conn without a callback when it binds
     * the request to its mount's protocol (a new connection starts on
     * protocol 0 by assignment, not lws_bind_protocol, so no DROP_PROTOCOL
     * comes): its headers go back now. The mount's protocol (or the
     * websocket's filter) captures them again. */
    qrl_conn_forget_headers(&srv->conns, user);
    return rc;
  }
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    return -1; /* no (or an unknown) subprotocol: no upgrade */
  case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: {
    /* The vhost's SSL_CTX (user), once at start: every handshake takes
     * the certificate from srv->tls, which a reload replaces. */
    qrl_server *srv = lws_context_user(lws_get_context(wsi));
    qrl_tls_attach(&srv->tls, user);
    srv->tls_attached = 1;
    return 0;
  }
  case LWS_CALLBACK_HTTP:
    if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

qrl_err qrl_server_add_protocol(qrl_server *srv, const struct lws_protocols *p) {
  if (srv->nprotos >= MAX_PROTOCOLS) return QRL_NOMEM;
  srv->protos[srv->nprotos++] = *p;
  return QRL_OK;
}

qrl_err qrl_server_add_mount(qrl_server *srv, const char *mountpoint,
                             const char *protocol) {
  struct lws_http_mount *m;
  if (srv->nmounts >= MAX_MOUNTS) return QRL_NOMEM;
  m = &srv->mounts[srv->nmounts++];
  memset(m, 0, sizeof(*m));
  m->mountpoint = mountpoint;
  m->mountpoint_len = (unsigned char)strlen(mountpoint);
  m->origin = protocol;
  m->origin_protocol = LWSMPRO_CALLBACK;
  return QRL_OK;
}

qrl_err qrl_server_on_tick(qrl_server *srv, tick_fn fn, void *arg) {
  if (srv->nticks >= MAX_HOOKS) return QRL_NOMEM;
  srv->ticks[srv->nticks++] = (tick_hook){fn, arg};
  return QRL_OK;
}

static void on_every(uv_timer_t *t) {
  every_hook *h = t->data;
  h->fn(h->arg, qrl_clock_mono_ms(h->clock));
}

qrl_err qrl_server_every(qrl_server *srv, int period_ms, tick_fn fn, void *arg) {
  every_hook *h;
  if (period_ms < 10 || period_ms > 1000) return QRL_INVAL;
  if (srv->neverys >= MAX_HOOKS) return QRL_NOMEM;
  h = &srv->everys[srv->neverys++];
  h->fn = fn;
  h->arg = arg;
  h->clock = srv->clock;
  uv_timer_init(&srv->loop, &h->timer);
  h->timer.data = h;
  uv_timer_start(&h->timer, on_every, (uint64_t)period_ms, (uint64_t)period_ms);
  return QRL_OK;
}

/* Stops and closes the every-timers (shutdown, or a server that never ran). */
static void close_everys(qrl_server *srv) {
  for (size_t i = 0; i < srv->neverys; i++) {
    uv_timer_stop(&srv->everys[i].timer);
    uv_close((uv_handle_t *)&srv->everys[i].timer, NULL);
  }
  srv->neverys = 0;
}

qrl_err qrl_server_on_challenge(qrl_server *srv, event_fn fn, void *arg) {
  if (srv->nevents >= MAX_HOOKS) return QRL_NOMEM;
  srv->events[srv->nevents++] = (event_hook){fn, arg};
  return QRL_OK;
}

qrl_err qrl_server_on_drain(qrl_server *srv, drain_fn fn, void *arg) {
  if (srv->ndrains >= MAX_HOOKS) return QRL_NOMEM;
  srv->drains[srv->ndrains++] = (drain_hook){fn, arg};
  return QRL_OK;
}

/* What the handlers still have in flight (first: the drain begins). */
static size_t in_flight(qrl_server *srv, int first) {
  size_t n = 0;
  for (size_t i = 0; i < srv->ndrains; i++) n += srv->drains[i].fn(srv->drains[i].arg, first);
  return n;
}

qrl_err qrl_server_at_free(qrl_server *srv, free_fn fn, void *arg) {
  if (srv->nfrees >= MAX_HOOKS) return QRL_NOMEM;
  srv->frees[srv->nfrees++] = (free_hook){fn, arg};
  return QRL_OK;
}

/* The store's one sink: fans each event out to the listeners. */
static void on_store_event(void *arg, const qrl_challenge *c, qrl_chal_state prev) {
  qrl_server *srv = arg;
  qrl_metrics_challenge(&srv->metrics, c, (int)prev, qrl_clock_mono_ms(srv->clock));
  if (srv->closing) return; /* sockets closing: nobody to tell */
  for (size_t i = 0; i < srv->nevents; i++)
    srv->events[i].fn(srv->events[i].arg, c, (int)prev);
}

/* ---- workers -------------------------------------------------------------- */

static void *worker_init(void *arg, qrl_err *err) {
  qrl_server *srv = arg;
  qrl_worker *w = calloc(1, sizeof(*w));
  if (!w) {
    *err = QRL_NOMEM;
    return NULL;
  }
  w->unwritten = &srv->audit.unwritten;
  *err = qrl_db_open_log(srv->cfg->db_path, &srv->log, &w->db);
  if (*err) {
    free(w);
    return NULL;
  }
  qrl_db_count_busy(w->db, &srv->metrics.sqlite_busy, &srv->metrics.sqlite_busy_timeouts);
  return w;
}

static void worker_fini(void *arg, void *thread_ctx) {
  qrl_worker *w = thread_ctx;
  (void)arg;
  if (!w) return;
  qrl_worker_count_lost(w);
  qrl_db_close(w->db);
  free(w);
}

static void wake_from_worker(void *arg) { uv_async_send(arg); }

static void on_wake(uv_async_t *h) {
  qrl_server *srv = h->data;
  if (srv->wq) qrl_workq_drain(srv->wq);
}

/* ---- the loop ------------------------------------------------------------- */

static void on_tick(uv_timer_t *h) {
  qrl_server *srv = h->data;
  int64_t now_ms = qrl_clock_mono_ms(srv->clock);
  qrl_store_sweep(srv->store, now_ms);
  /* Bounded work per tick: the buckets are swept a slice at a time. */
  qrl_rl_sweep(srv->thr.rl, now_ms, QRL_RL_SWEEP_BUDGET);
  qrl_audit_tick(&srv->audit);
  if (srv->conn_refused != srv->refused_logged &&
      now_ms - srv->refused_log_ms >= REFUSED_LOG_MS) {
    qrl_log_msg(&srv->log, QRL_LOG_WARN, "conn_refused",
                "refused %llu connections over the caps since the last report (%zu open "
                "from %zu addresses)",
                (unsigned long long)(srv->conn_refused - srv->refused_logged),
                qrl_peers_total(srv->peers), qrl_peers_size(srv->peers));
    srv->refused_logged = srv->conn_refused;
    srv->refused_log_ms = now_ms;
  }
  for (size_t i = 0; i < srv->nticks; i++)
    srv->ticks[i].fn(srv->ticks[i].arg, now_ms);
}

static size_t queued_writes(const qrl_conns *reg) {
  size_t n = 0;
  for (size_t b = 0; b < reg->nbuckets; b++)
    for (const qrl_conn *c = reg->buckets[b]; c; c = c->hnext) n += c->out_count;
  return n;
}

static void close_everything(qrl_server *srv) {
  uv_signal_stop(&srv->sig_int);
  uv_signal_stop(&srv->sig_term);
  uv_signal_stop(&srv->sig_hup);
  uv_close((uv_handle_t *)&srv->sig_int, NULL);
  uv_close((uv_handle_t *)&srv->sig_term, NULL);
  uv_close((uv_handle_t *)&srv->sig_hup, NULL);
  /* The last steps are bounded too: a repeated signal must not cut them
   * short and turn a clean exit into a kill. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  uv_timer_stop(&srv->drain);
  uv_close((uv_handle_t *)&srv->drain, NULL);
  qrl_notify_close(&srv->notify);
  srv->closing = 1;
  /* Connections close now (their CLOSED callbacks cancel challenges). */
  lws_context_destroy(srv->ctx);
  /* A shared store's connections close while the loop runs; what waited
   * on them is answered now (before the audit's last rows are written). */
  if (qrl_store_is_redis(srv->store)) {
    srv->thr.redis = NULL; /* the throttle refuses from now on */
    qrl_store_free(srv->store);
    srv->store = srv->sv.store = srv->tasks.store = NULL;
  }
  /* The refusals counted so far get their summary rows; whatever is queued
   * or still runs finishes here. */
  qrl_audit_flush(&srv->audit);
  uv_close((uv_handle_t *)&srv->audit_gather, NULL);
  qrl_workq_free(srv->wq);
  srv->wq = NULL;
  /* What the trail is missing, said once more where an operator looks last. */
  if (srv->audit.unwritten || srv->audit.lost)
    qrl_log_msg(&srv->log, QRL_LOG_WARN, "audit_lost",
                "%llu rows could not be written and %llu could not be queued (each "
                "said above as it happened)",
                (unsigned long long)srv->audit.unwritten, (unsigned long long)srv->audit.lost);
  uv_close((uv_handle_t *)&srv->wake, NULL);
}

/* Shutdown, second half: once no work is left and the answers have been
 * written (or the drain time is up), close. */
static void left(void *arg) {
  qrl_server *srv = arg;
  srv->left = 1;
}

static void on_drain(uv_timer_t *h) {
  qrl_server *srv = h->data;
  uint64_t spent = uv_now(&srv->loop) - srv->drain_started;
  uint64_t bound = (uint64_t)srv->cfg->drain_secs * 1000 + SHUTDOWN_DRAIN_MS;
  size_t logins = in_flight(srv, 0);
  int late = spent >= bound;
  /* Logins in flight first (--drain-secs), then the last work and writes. */
  if (!late && logins && spent < (uint64_t)srv->cfg->drain_secs * 1000) return;
  if (!srv->tasks.stopping) {
    /* Work no worker has started is dropped and answered "unavailable"
     * (until now a login in flight could still send its confirm here). */
    size_t dropped = qrl_tasks_stop(&srv->tasks);
    if (dropped)
      qrl_log_msg(&srv->log, QRL_LOG_NOTICE, "shutdown", "%zu queued requests dropped",
                  dropped);
  }
  if (!late && (qrl_workq_busy(srv->wq) || queued_writes(&srv->conns))) return;
  /* A shared store: this node's heartbeat goes before its pages do, so a
   * confirm from now on is refused (browser_gone) rather than accepted for
   * a page nobody sees. */
  if (qrl_store_is_redis(srv->store) && !srv->left) {
    if (!srv->leaving) {
      srv->leaving = 1;
      qrl_store_redis_leave(srv->store, left, srv);
    }
    if (!late) return;
  }
  if (late || logins)
    qrl_log_msg(&srv->log, QRL_LOG_WARN, "shutdown",
                "%zu logins in flight, %zu jobs, %zu writes still pending after %llu ms",
                logins, qrl_workq_busy(srv->wq), queued_writes(&srv->conns),
                (unsigned long long)spent);
  close_everything(srv);
}

/* ---- reloads (SIGHUP) ----------------------------------------------------- */

/* Loads the certificate and key at cert/key into srv->tls; on success they
 * become the files a reload reads. 0, or -1 with the problem logged and the
 * certificate in use kept. */
static int load_cert(qrl_server *srv, const char *cert, const char *key) {
  char why[512], until[32];
  char *c2, *k2;
  struct tm tm;
  time_t na;
  if (qrl_tls_load(&srv->tls, cert, key, why, sizeof(why))) {
    qrl_log_kv(&srv->log, QRL_LOG_ERROR, "tls_refused", "msg", why, "kept",
               srv->tls.leaf ? srv->tls.sha256 : NULL, (const char *)NULL);
    return -1;
  }
  c2 = strdup(cert);
  k2 = strdup(key);
  if (c2 && k2) {
    free(srv->tls_cert);
    free(srv->tls_key);
    srv->tls_cert = c2;
    srv->tls_key = k2;
  } else {
    free(c2);
    free(k2);
  }
  na = (time_t)srv->tls.not_after;
  gmtime_r(&na, &tm);
  strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
  srv->metrics.tls_not_after = srv->tls.not_after;
  qrl_log_kv(&srv->log, QRL_LOG_NOTICE, "tls_loaded", "cert", cert, "sha256", srv->tls.sha256,
             "not_after", until, (const char *)NULL);
  return 0;
}

/* The config file's live keys into srv: the log's level, format and file,
 * who may read /metrics, the certificate's files. 0, or -1 if one could not
 * be applied (logged; the rest is). */
static int apply_live(qrl_server *srv, const qrl_config *next) {
  int rc = 0;
  const char *path = next->log_file;
  if (!path != !srv->log.path || (path && strcmp(path, srv->log.path) != 0)) {
    if (qrl_log_open(&srv->log, path)) {
      qrl_log_kv(&srv->log, QRL_LOG_ERROR, "reload", "msg", "cannot open the new log file: kept "
                 "the old one", "log_file", path, "error", strerror(errno), (const char *)NULL);
      rc = -1;
    }
  }
  srv->live->log_level = next->log_level;
  srv->live->log_format = next->log_format;
  qrl_log_set(&srv->log, next->log_level, next->log_format);
  memcpy(srv->live->metrics_allow, next->metrics_allow, sizeof(next->metrics_allow));
  srv->live->nmetrics_allow = next->nmetrics_allow;
  /* The certificate from the files the config names now (renewed in
   * place, or new paths). Turning TLS on or off needs a restart. */
  if (srv->cfg->tls_cert && next->tls_cert && load_cert(srv, next->tls_cert, next->tls_key))
    rc = -1;
  return rc;
}

/* SIGHUP: the log file opened again (logrotate), the config file read again
 * and its live keys applied, the certificate loaded again. Whatever is
 * refused leaves the running value in place. */
static void reload(qrl_server *srv) {
  qrl_config next;
  char *said = NULL, restart[512];
  size_t said_len = 0;
  FILE *errs = open_memstream(&said, &said_len);
  int failed = 0;

  if (qrl_log_reopen(&srv->log)) {
    qrl_log_kv(&srv->log, QRL_LOG_ERROR, "reload", "msg", "cannot open the log file again",
               "error", strerror(errno), (const char *)NULL);
    failed = 1;
  }
  if (qrl_config_reread(srv->cfg, &next, errs)) {
    if (errs) fflush(errs);
    qrl_log_kv(&srv->log, QRL_LOG_ERROR, "reload", "msg",
               "the configuration was refused: the running one is kept", "error",
               said && said_len ? said : "(unknown)", (const char *)NULL);
    failed = 1;
    /* A renewed certificate in the same files still loads. */
    if (srv->cfg->tls_cert && load_cert(srv, srv->tls_cert, srv->tls_key)) failed = 1;
  } else {
    if (qrl_config_restart_keys(srv->cfg, &next, restart, sizeof(restart)))
      qrl_log_kv(&srv->log, QRL_LOG_WARN, "reload", "msg",
                 "changed keys that take effect at the next restart", "keys", restart,
                 (const char *)NULL);
    if (apply_live(srv, &next)) failed = 1;
  }
  qrl_config_free(&next);
  if (errs) fclose(errs);
  free(said);
  qrl_metric_inc(&srv->metrics.reloads[failed ? 1 : 0]);
  qrl_log_kv(&srv->log, failed ? QRL_LOG_WARN : QRL_LOG_NOTICE, "reloaded", "result",
             failed ? "partly" : "ok", (const char *)NULL);
}

static void on_hup(uv_signal_t *h, int signum) {
  qrl_server *srv = h->data;
  (void)signum;
  if (srv->stopping) return;
  reload(srv);
}

static void on_signal(uv_signal_t *h, int signum) {
  qrl_server *srv = h->data;
  if (srv->stopping) return; /* already on its way out, within the bound */
  qrl_log_msg(&srv->log, QRL_LOG_NOTICE, "shutdown", "signal %d: shutting down", signum);
  qrl_notify_stopping(&srv->notify);
  srv->stopping = 1;
  /* No new connections: a load balancer sends them to another node. */
  qrl_listener_close(srv->listener);
  srv->listener = NULL;
  uv_timer_stop(&srv->tick);
  uv_close((uv_handle_t *)&srv->tick, NULL);
  close_everys(srv);
  srv->drain_started = uv_now(&srv->loop);
  {
    size_t n = in_flight(srv, 1); /* pages waiting for a scan go elsewhere */
    if (n)
      qrl_log_msg(&srv->log, QRL_LOG_NOTICE, "shutdown",
                  "%zu logins in flight: up to %d s to finish", n, srv->cfg->drain_secs);
  }
  uv_timer_start(&srv->drain, on_drain, 0, SHUTDOWN_POLL_MS);
}

/* No idle policy for lws: its per-socket validity timers sit in one sorted
 * list (O(n) per connect and per pong). keepalive.h pings and hangs up. */
static const lws_retry_bo_t no_idle_policy = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

/* TLS 1.2's suites: ECDHE key exchange, AEAD ciphers only. */
#define TLS12_CIPHERS                                                           \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                  \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                  \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* A connection the listener accepted: counted against its client's cap and
 * the server's, then handed to lws. */
static void on_accept(void *arg, int fd, const struct sockaddr *sa) {
  qrl_server *srv = arg;
  qrl_err why = QRL_OK;
  qrl_peer *peer;
  lws_adopt_desc_t d;
  struct lws *wsi;

  if (srv->stopping) {
    close(fd);
    return;
  }
  if (!(peer = qrl_peers_take(srv->peers, sa, &why))) {
    char ip[INET6_ADDRSTRLEN] = "";
    close(fd);
    srv->conn_refused++;
    qrl_metric_inc(&srv->metrics.refused[why == QRL_SERVER_BUSY ? QRL_REFUSED_SERVER_FULL
                                                                : QRL_REFUSED_PER_ADDRESS]);
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    /* Counted per address and minute, not a row per connection. */
    qrl_audit_refusal_ip(&srv->audit, ip, "connection", why,
                         why == QRL_SERVER_BUSY ? "server full" : "per-address cap");
    return;
  }
  memset(&d, 0, sizeof(d));
  d.vh = srv->vhost;
  d.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP;
  if (srv->cfg->tls_cert) d.type |= LWS_ADOPT_ALLOW_SSL;
  d.fd.sockfd = fd;
  /* lws closes fd itself if it cannot adopt it. The peer is attached only
   * to a wsi that exists, so that WSI_DESTROY releases it exactly once. */
  if (!(wsi = lws_adopt_descriptor_vhost_via_info(&d))) {
    qrl_peers_release(srv->peers, peer);
    return;
  }
  lws_set_opaque_user_data(wsi, peer);
}

static void wait_for_store(qrl_server *srv);

static int listen_and_loop(qrl_server *srv) {
  struct lws_context_creation_info info;
  void *loops[1] = {&srv->loop};
  char url[128];

  /* The handlers' mounts, the login page's files among them
   * (handlers/pages.c): the runtime serves nothing itself. */
  for (size_t i = 0; i + 1 < srv->nmounts; i++) srv->mounts[i].mount_next = &srv->mounts[i + 1];

  memset(&info, 0, sizeof(info));
  /* We listen and accept (listener.h); lws serves what we hand it. */
  info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
  info.protocols = srv->protos;
  info.mounts = srv->nmounts ? &srv->mounts[0] : NULL;
  info.user = srv;
  info.foreign_loops = loops;
  info.retry_and_idle_policy = &no_idle_policy;
  info.timeout_secs = 10; /* handshakes and HTTP exchanges */
  info.options = LWS_SERVER_OPTION_LIBUV |
                 LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                 LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
  info.pcontext = &srv->ctx;
  if (srv->cfg->tls_cert) {
    /* STS: browsers stick to https for this host (HSTS, half a year). */
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_STS;
    /* lws loads these too; each handshake then takes srv->tls's (the
     * same files, checked, until a reload replaces them). */
    info.ssl_cert_filepath = srv->tls_cert;
    info.ssl_private_key_filepath = srv->tls_key;
    /* The TLS policy is the server's, not the system's: TLS 1.2 at least
     * (1.3 preferred), and on 1.2 only forward-secret AEAD suites - no CBC,
     * no SHA-1, no RSA key exchange. */
    info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                           SSL_OP_CIPHER_SERVER_PREFERENCE;
    info.ssl_cipher_list = TLS12_CIPHERS;
    info.tls1_3_plus_cipher_list =
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  }

  /* The socket first: a port in use is said before anything else starts. */
  if (!(srv->listener = qrl_listener_open(&srv->loop, srv->cfg->bind, srv->cfg->port,
                                              &srv->log)))
    return 1;
  wait_for_store(srv);
  srv->ctx = lws_create_context(&info);
  srv->vhost = srv->ctx ? lws_get_vhost_by_name(srv->ctx, "default") : NULL;
  if (srv->vhost && srv->cfg->tls_cert && !srv->tls_attached) {
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "lws made no TLS context to attach to");
    srv->vhost = NULL;
  }
  if (!srv->vhost || qrl_listener_start(srv->listener, on_accept, srv)) {
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "cannot start the server on %s:%d",
                srv->cfg->bind, srv->cfg->port);
    if (srv->ctx) lws_context_destroy(srv->ctx);
    srv->ctx = NULL;
    return 1;
  }
  snprintf(url, sizeof(url), "%s://%s:%d/", srv->cfg->tls_cert ? "https" : "http",
           srv->cfg->bind, qrl_listener_port(srv->listener));
  printf("qrlogind: listening on %s\n", url);
  fflush(stdout);
  qrl_log_kv(&srv->log, QRL_LOG_NOTICE, "listening", "url", url, (const char *)NULL);
  /* The socket listens: a connection made from now on is accepted. */
  qrl_notify_ready(&srv->notify, &srv->loop, url);
  uv_run(&srv->loop, UV_RUN_DEFAULT);
  /* With a foreign loop, lws 4.1.6 finishes tearing the context down only
   * when destroyed a second time, after its handles have closed. */
  lws_context_destroy(srv->ctx);
  srv->ctx = NULL;
  return 0;
}

/* The loop never ran (or could not start): stop the workers and close the
 * handles start_loop() opened. */
static void close_unstarted(qrl_server *srv) {
  srv->stopping = 1;
  qrl_listener_close(srv->listener);
  srv->listener = NULL;
  uv_close((uv_handle_t *)&srv->sig_int, NULL);
  uv_close((uv_handle_t *)&srv->sig_term, NULL);
  uv_close((uv_handle_t *)&srv->sig_hup, NULL);
  uv_close((uv_handle_t *)&srv->tick, NULL);
  uv_close((uv_handle_t *)&srv->drain, NULL);
  /* Built, never run: no callback can have queued a row. */
  uv_timer_stop(&srv->audit_gather);
  uv_close((uv_handle_t *)&srv->audit_gather, NULL);
  qrl_notify_close(&srv->notify);
  close_everys(srv);
  qrl_workq_free(srv->wq);
  srv->wq = NULL;
  srv->thr.redis = NULL;
  if (qrl_store_is_redis(srv->store)) { /* it needs the loop to close */
    qrl_store_free(srv->store);
    srv->store = NULL;
  }
  uv_close((uv_handle_t *)&srv->wake, NULL);
}

int qrl_server_run(qrl_server *srv) {
  srv->protos[srv->nprotos].name = NULL; /* the terminator */
  if (listen_and_loop(srv) == 0) return 0;
  close_unstarted(srv); /* startup failed: tear down what the loop did not */
  uv_run(&srv->loop, UV_RUN_DEFAULT);
  return 1;
}

/* ---- building and freeing -------------------------------------------------- */

/* The page must be there: a login service without its login page is not
 * ready, whatever it says. 0, or -1 (said why). */
static int check_web_dir(qrl_log *log, const char *dir) {
  char index[4096];
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    qrl_log_msg(log, QRL_LOG_ERROR, "startup", "--web %s is not a directory (%s)", dir,
                errno ? strerror(errno) : "not a directory");
    return -1;
  }
  snprintf(index, sizeof(index), "%s/index.html", dir);
  if (access(index, R_OK) != 0) {
    qrl_log_msg(log, QRL_LOG_ERROR, "startup",
                "--web %s has no readable index.html: not the login page", dir);
    return -1;
  }
  return 0;
}

static int seed_and_migrate(qrl_server *srv) {
  qrl_db *db = NULL;
  qrl_err err = qrl_db_open_log(srv->cfg->db_path, &srv->log, &db);
  if (err) {
    char shown[512];
    qrl_db_shown(srv->cfg->db_path, shown, sizeof(shown));
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "cannot open database %s: %s", shown,
                qrl_strerror(err));
    return -1;
  }
  if (srv->cfg->demo && ((err = qrl_db_seed_demo(db, &srv->pol, qrl_now())) ||
                         (err = qrl_legacy_seed_demo(db, &srv->pol, qrl_now())))) {
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "cannot seed demo data: %s",
                qrl_strerror(err));
    qrl_db_close(db);
    return -1;
  }
  qrl_db_close(db);
  return 0;
}

/* Descriptors are the server's capacity: the soft limit goes up to the hard
 * one (at most FD_CEILING), as nginx's worker_rlimit_nofile does. Returns the
 * limit now in force. */
static long raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < FD_CEILING) {
    rlim_t want = rl.rlim_max < FD_CEILING ? rl.rlim_max : FD_CEILING;
    struct rlimit up = {want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl.rlim_cur = want;
  }
  return rl.rlim_cur > FD_CEILING ? FD_CEILING : (long)rl.rlim_cur;
}

/* Descriptors open now (the database handles of the workers, the SMS
 * outbox, libuv's own), from /proc; a guess where there is none. */
static long fds_open(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  long n = 0;
  if (!d) return 64;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own */
}

/* How many connections the server can hold: what the limit leaves after the
 * descriptors open now and a headroom; at least a few. */
static size_t conn_capacity(long limit) {
  long n = limit - fds_open() - FD_HEADROOM;
  return n < 8 ? 8 : (size_t)n;
}

/* Keepalive's actions on a websocket (helpers/keepalive.h). */
static qrl_conn *conn_of_alive(qrl_keepalive_node *n) {
  return (qrl_conn *)((char *)n - offsetof(qrl_conn, alive));
}
static void ws_ping(qrl_keepalive_node *n, void *arg) {
  (void)arg;
  qrl_conn_ping(conn_of_alive(n));
}
static void ws_hangup(qrl_keepalive_node *n, void *arg) {
  (void)arg;
  /* No close frame: a peer this silent reads none. CLOSED stops the node. */
  lws_set_timeout(conn_of_alive(n)->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG,
                  LWS_TO_KILL_ASYNC);
}
static void keepalive_every(void *arg, int64_t now_ms) {
  static const qrl_keepalive_ops ops = {ws_ping, ws_hangup, NULL};
  qrl_keepalive_advance(arg, now_ms, &ops);
}

static int start_loop(qrl_server *srv) {
  qrl_err err = QRL_OK;
  if (uv_loop_init(&srv->loop)) return -1;
  srv->loop_ok = 1;
  uv_async_init(&srv->loop, &srv->wake, on_wake);
  srv->wake.data = srv;
  srv->wq = qrl_workq_new(srv->cfg->workers, worker_init, worker_fini, srv,
                          wake_from_worker, &srv->wake, &err);
  if (!srv->wq) {
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "cannot start workers: %s",
                qrl_strerror(err));
    uv_close((uv_handle_t *)&srv->wake, NULL);
    return -1;
  }
  qrl_workq_set_limit(srv->wq, QUEUE_LIMIT);
  uv_signal_init(&srv->loop, &srv->sig_int);
  uv_signal_init(&srv->loop, &srv->sig_term);
  uv_signal_init(&srv->loop, &srv->sig_hup);
  srv->sig_int.data = srv->sig_term.data = srv->sig_hup.data = srv;
  uv_signal_start(&srv->sig_int, on_signal, SIGINT);
  uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
  uv_signal_start(&srv->sig_hup, on_hup, SIGHUP);
  uv_timer_init(&srv->loop, &srv->tick);
  uv_timer_init(&srv->loop, &srv->drain);
  uv_timer_init(&srv->loop, &srv->audit_gather);
  srv->tick.data = srv->drain.data = srv;
  uv_timer_start(&srv->tick, on_tick, 1000, 1000);
  return 0;
}

/* A node on a shared store listens once the store can serve (in tests and
 * at a rolling restart a request then never meets a store still
 * connecting), but not later than STORE_WAIT_MS: with Redis away it starts
 * anyway, answering `unavailable` (fail closed) until Redis is back. */
#define STORE_WAIT_MS 5000
static void wait_for_store(qrl_server *srv) {
  uint64_t until;
  uv_update_time(&srv->loop);
  until = uv_now(&srv->loop) + STORE_WAIT_MS;
  if (!qrl_store_is_redis(srv->store)) return;
  while (!qrl_store_redis_ready(srv->store) && uv_now(&srv->loop) < until && !srv->stopping)
    uv_run(&srv->loop, UV_RUN_ONCE);
  if (!qrl_store_redis_ready(srv->store))
    qrl_log_msg(&srv->log, QRL_LOG_WARN, "startup",
                "the shared store is not ready after %d ms: serving anyway, logins answer "
                "unavailable until it is", STORE_WAIT_MS);
}

/* Redis' password from --redis-password-file: its first line (without the
 * line end) into addr. 0, or -1 with the problem logged. */
static int load_redis_password(qrl_server *srv, const char *path, qrl_redis_addr *addr) {
  /* read(2) into addr itself: no stdio buffer keeps a copy */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, addr->password, sizeof(addr->password) - 1) : -1;
  if (fd >= 0) close(fd);
  addr->password[n > 0 ? n : 0] = '\0';
  addr->password[strcspn(addr->password, "\r\n")] = '\0';
  if (!addr->password[0]) {
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup",
                "no password on the first line of the --redis-password-file %s", path);
    qrl_cleanse(addr->password, sizeof(addr->password));
    return -1;
  }
  return 0;
}

/* The challenge store: this process's memory, or Redis shared with the
 * other nodes (--redis; on the loop, so after start_loop). */
static int make_store(qrl_server *srv) {
  const qrl_config *cfg = srv->cfg;
  qrl_redis_addr addr;
  char why[160];
  if (!cfg->redis) {
    srv->store = qrl_store_mem_new(cfg->max_challenges, cfg->max_challenges_per_ip, 300,
                                   on_store_event, srv);
    return srv->store ? 0 : -1;
  }
  if (qrl_redis_addr_parse(cfg->redis, &addr, why, sizeof(why))) return -1; /* parsed before */
  if (cfg->redis_password_file && load_redis_password(srv, cfg->redis_password_file, &addr))
    return -1;
  if (cfg->node_id) {
    snprintf(srv->node, sizeof(srv->node), "%s", cfg->node_id);
  } else {
    uint8_t r[8];
    if (qrl_random(r, sizeof(r))) return -1;
    for (size_t i = 0; i < sizeof(r); i++) snprintf(srv->node + 2 * i, 3, "%02x", r[i]);
  }
  srv->store = qrl_store_redis_new(&srv->loop, &addr, srv->node, cfg->max_challenges,
                                   cfg->max_challenges_per_ip, 300, srv->clock, &srv->log,
                                   on_store_event, srv);
  qrl_cleanse(addr.password, sizeof(addr.password)); /* the connections keep their copies */
  if (!srv->store) return -1;
  qrl_log_kv(&srv->log, QRL_LOG_NOTICE, "node", "node_id", srv->node, "redis", cfg->redis,
             (const char *)NULL);
  return 0;
}

/* The SMS codes' key from --otp-key-file: the SHA-256 of its bytes, so that
 * every node given the file checks the codes any of them sent. 0, or -1
 * with the problem logged. */
static int load_otp_key(qrl_server *srv, const char *path) {
  uint8_t buf[4096];
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
  int rc = -1;
  if (f) fclose(f);
  if (n < 32)
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup",
                "cannot read 32 bytes or more from the --otp-key-file %s", path);
  else if (qrl_sha256(buf, n, srv->opol.pepper))
    qrl_log_msg(&srv->log, QRL_LOG_ERROR, "startup", "cannot hash the --otp-key-file");
  else
    rc = 0;
  qrl_cleanse(buf, sizeof(buf));
  return rc;
}

qrl_server *qrl_server_new(qrl_config *cfg) {
  qrl_server *srv = calloc(1, sizeof(*srv));
  long fd_limit;
  qrl_err err;

  if (!srv) return NULL;
  qrl_log_init(&srv->log);
  qrl_log_set(&srv->log, cfg->log_level, cfg->log_format);
  if (cfg->log_file && qrl_log_open(&srv->log, cfg->log_file)) {
    fprintf(stderr, "qrlogind: cannot open the log file %s: %s\n", cfg->log_file,
            strerror(errno));
    free(srv);
    return NULL;
  }
  qrl_lwslog_attach(&srv->log);
  fd_limit = raise_fd_limit();
  srv->cfg = cfg;
  srv->live = cfg;
  srv->clock = qrl_clock_system();
  srv->pol = qrl_acct_policy_default();
  srv->pol.hash_cost_log2 = cfg->hash_cost;
  srv->pol.fresh_device_secs = (int64_t)cfg->fresh_device_hours * 3600;
  srv->pol.required_level = cfg->required_level;
  srv->pol.kiosk_idle_secs = cfg->kiosk_idle_secs;
  srv->pol.web_idle_secs = cfg->web_idle_secs;
  srv->protos[0] = (struct lws_protocols){"qrl-reject", reject_callback, sizeof(qrl_conn),
                                          0, 0, NULL, 0};
  srv->nprotos = 1;

  if (check_web_dir(&srv->log, cfg->web_dir)) goto fail;
  if (cfg->tls_cert && load_cert(srv, cfg->tls_cert, cfg->tls_key)) goto fail;
  /* Create/migrate the schema and seed before any thread or socket. */
  if (seed_and_migrate(srv)) goto fail;
  if ((err = qrl_otp_policy_default(&srv->opol))) goto fail;
  if (cfg->otp_key_file && load_otp_key(srv, cfg->otp_key_file)) goto fail;
  srv->opol.password_level = cfg->password_level;
  srv->opol.cutover = cfg->cutover;
  srv->opol.ttl_secs = cfg->otp_ttl;
  if (qrl_sms_relay_open(&srv->sms, cfg->sms_outbox, cfg->demo, cfg->otp_ttl,
                         &srv->log)) goto fail;
  if (qrl_conns_init(&srv->conns)) goto fail;
  if (start_loop(srv)) goto fail;
  if (make_store(srv)) goto fail;
  if (qrl_keepalive_init(&srv->alive, cfg->ws_ping_secs, qrl_clock_mono_ms(srv->clock)) ||
      qrl_server_every(srv, QRL_KEEPALIVE_SLOT_MS, keepalive_every, &srv->alive))
    goto fail;
  /* After the workers opened their databases: what is left is for clients. */
  if (!(srv->peers = qrl_peers_new((unsigned)cfg->max_conns_per_ip, conn_capacity(fd_limit))))
    goto fail;
  srv->audit = (qrl_audit){.wq = srv->wq, .clock = srv->clock, .log = &srv->log};
  qrl_audit_gather(&srv->audit, &srv->audit_gather);
  srv->thr = (qrl_throttle){.rl = qrl_rl_new(200000), .off = cfg->no_rate_limits,
                            .audit = &srv->audit, .clock = srv->clock,
                            .metrics = &srv->metrics};
  if (!srv->thr.rl) goto fail;
  if (qrl_store_is_redis(srv->store)) { /* the throttles count in Redis too (throttle.h) */
    srv->thr.shared = 1;
    srv->thr.redis = qrl_store_redis_conn(srv->store);
  }
  srv->tasks = (qrl_tasks){srv->wq, &srv->conns, &srv->thr, srv->store, &srv->sv, srv->clock, 0, 0,
                           &srv->metrics.task_wait};
  srv->sv = (qrl_services){cfg,        srv->clock, &srv->pol,   &srv->opol,  srv->store,
                           &srv->conns, &srv->tasks, &srv->thr,  &srv->audit,
                           &srv->sms,   &srv->alive, &srv->closing, &srv->metrics, NULL,
                           NULL,        &srv->log,   NULL};
  return srv;
fail:
  qrl_server_free(srv);
  return NULL;
}

void qrl_server_free(qrl_server *srv) {
  if (!srv) return;
  for (size_t i = srv->nfrees; i-- > 0;) srv->frees[i].fn(srv->frees[i].arg);
  if (srv->loop_ok) {
    if (srv->wq) close_unstarted(srv); /* built, never run */
    uv_run(&srv->loop, UV_RUN_DEFAULT); /* let closing handles finish */
    if (uv_loop_close(&srv->loop))
      qrl_log_msg(&srv->log, QRL_LOG_WARN, "shutdown", "event loop still had handles at exit");
  }
  qrl_workq_free(srv->wq);
  qrl_store_free(srv->store);
  qrl_rl_free(srv->thr.rl);
  free(srv->audit.bursts); /* flushed at shutdown; a server that never ran has none */
  qrl_sms_relay_close(&srv->sms);
  qrl_cleanse(&srv->opol, sizeof(srv->opol));
  qrl_conns_free(&srv->conns);
  qrl_keepalive_free(&srv->alive);
  qrl_peers_free(srv->peers);
  qrl_tls_free(&srv->tls);
  free(srv->tls_cert);
  free(srv->tls_key);
  qrl_lwslog_detach();
  qrl_log_close(&srv->log);
  free(srv);
}
