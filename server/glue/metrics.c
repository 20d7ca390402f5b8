/*
 * metrics.c - the registry's updates and its text exposition (metrics.h).
 */
#include "glue/metrics.h"
#include "glue/store_redis.h"

#include "helpers/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/challenge.h"
#include "domain/store.h"
#include "glue/audit.h"
#include "glue/config.h"
#include "glue/conn.h"
#include "glue/services.h"
#include "glue/sms_relay.h"
#include "glue/task.h"
#include "glue/throttle.h"
#include "helpers/keepalive.h"
#include "helpers/workq.h"

static const double hist_bounds[QRL_HIST_NBOUNDS] = QRL_HIST_BOUNDS;

static const char *const method_labels[QRL_LOGIN_NMETHODS] = {
#define QRL_M_LABEL(name, label) label,
    QRL_LOGIN_METHODS(QRL_M_LABEL)
#undef QRL_M_LABEL
};

static const char *const rule_labels[QRL_RULE_N] = {
#define QRL_R_LABEL(name, label) label,
    QRL_THROTTLE_RULES(QRL_R_LABEL)
#undef QRL_R_LABEL
};

int64_t qrl_metrics_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void qrl_histogram_observe(qrl_histogram *h, int64_t us) {
  size_t i = 0;
  if (us < 0) us = 0;
  while (i < QRL_HIST_NBOUNDS && (double)us > hist_bounds[i] * 1e6) i++;
  __atomic_add_fetch(&h->bucket[i], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&h->sum_us, (uint64_t)us, __ATOMIC_RELAXED);
  __atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

void qrl_metrics_login(qrl_metrics *m, qrl_login_method method, qrl_login_outcome outcome) {
  if (!m || (unsigned)method >= QRL_LOGIN_NMETHODS ||
      (unsigned)outcome >= QRL_LOGIN_NOUTCOMES)
    return;
  qrl_metric_inc(&m->logins[outcome][method]);
}

qrl_login_method qrl_metrics_method_of(const char *label) {
  /* The kiosk's password path is counted with the password path. */
  if (label && strcmp(label, "otp_kiosk") == 0) return QRL_LOGIN_PASSWORD_OTP;
  for (int i = 0; i < QRL_LOGIN_NMETHODS; i++)
    if (label && strcmp(label, method_labels[i]) == 0) return (qrl_login_method)i;
  return QRL_LOGIN_NMETHODS;
}

void qrl_metrics_error(qrl_metrics *m, qrl_err err) {
  if (!m || err == QRL_OK || (unsigned)err >= QRL_ERR__COUNT) return;
  qrl_metric_inc(&m->errors[err]);
}

void qrl_metrics_throttled(qrl_metrics *m, const char *key) {
  int i;
  if (!m) return;
  for (i = 0; i < QRL_RULE_OTHER; i++) {
    size_t n = strlen(rule_labels[i]);
    if (key && strncmp(key, rule_labels[i], n) == 0 && (key[n] == ':' || key[n] == '\0'))
      break;
  }
  qrl_metric_inc(&m->throttled[i]);
}

void qrl_metrics_challenge(qrl_metrics *m, const qrl_challenge *c, int prev,
                           int64_t now_ms) {
  qrl_login_method method = c->kiosk ? QRL_LOGIN_QR_KIOSK : QRL_LOGIN_QR;
  switch (c->state) {
  case QRL_CHAL_SCANNED:
    if (prev == QRL_CHAL_PENDING)
      qrl_histogram_observe(&m->step[QRL_STEP_SHOWN_TO_SCANNED],
                            (c->scanned_ms - c->created_ms) * 1000);
    break;
  case QRL_CHAL_COMPLETED:
    qrl_metrics_login(m, method, QRL_LOGIN_COMPLETED);
    qrl_histogram_observe(&m->step[QRL_STEP_SCANNED_TO_COMPLETED],
                          (now_ms - c->scanned_ms) * 1000);
    break;
  case QRL_CHAL_DECLINED: qrl_metrics_login(m, method, QRL_LOGIN_DECLINED); break;
  case QRL_CHAL_EXPIRED: qrl_metrics_login(m, method, QRL_LOGIN_EXPIRED); break;
  case QRL_CHAL_CANCELLED: qrl_metrics_login(m, method, QRL_LOGIN_CANCELLED); break;
  default: break;
  }
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct text {
  char *buf;
  size_t len, cap;
  int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
  va_list ap;
  int n;
  if (t->failed) return;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)n < t->cap - t->len) break;
    {
      size_t cap = t->cap * 2 + (size_t)n;
      char *b = realloc(t->buf, cap);
      if (!b) {
        t->failed = 1;
        return;
      }
      t->buf = b;
      t->cap = cap;
    }
  }
  t->len += (size_t)n;
}

static uint64_t load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static void head(text *t, const char *name, const char *type, const char *help) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(text *t, const char *name, const char *type, const char *help,
                   uint64_t v) {
  head(t, name, type, help);
  put(t, "%s %llu\n", name, (unsigned long long)v);
}

/* One histogram series: cumulative buckets, sum and count. labels is ""
 * or `name="value",` (with the trailing comma). */
static void hist_series(text *t, const char *name, const char *labels,
                        const qrl_histogram *h) {
  uint64_t cum = 0, count, sum;
  for (size_t i = 0; i <= QRL_HIST_NBOUNDS; i++) {
    cum += load(&h->bucket[i]);
    if (i < QRL_HIST_NBOUNDS)
      put(t, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, hist_bounds[i],
          (unsigned long long)cum);
    else
      put(t, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
  }
  /* The count is the buckets' total, so that +Inf and _count agree even
   * while a worker is between its increments. */
  count = cum;
  sum = load(&h->sum_us);
  {
    size_t n = strlen(labels);
    if (n) /* without the trailing comma */
      put(t, "%s_sum{%.*s} %.6f\n%s_count{%.*s} %llu\n", name, (int)(n - 1), labels,
          (double)sum / 1e6, name, (int)(n - 1), labels, (unsigned long long)count);
    else
      put(t, "%s_sum %.6f\n%s_count %llu\n", name, (double)sum / 1e6, name,
          (unsigned long long)count);
  }
}

static void logins(text *t, const qrl_metrics *m, qrl_login_outcome o, const char *name,
                   const char *help) {
  head(t, name, "counter", help);
  for (int i = 0; i < QRL_LOGIN_NMETHODS; i++)
    put(t, "%s{method=\"%s\"} %llu\n", name, method_labels[i],
        (unsigned long long)m->logins[o][i]);
}

/* Errors by wire code: several errors share one ("internal"), summed. */
static void errors(text *t, const qrl_metrics *m) {
  head(t, "qrlogin_errors_total", "counter",
       "Requests answered with an error, by the error code the API answers with "
       "(HTTP and websocket).");
  for (int i = 1; i < QRL_ERR__COUNT; i++) {
    const char *code = qrl_err_code((qrl_err)i);
    uint64_t n = 0;
    int first = 1;
    for (int j = 1; j < i && first; j++)
      if (strcmp(qrl_err_code((qrl_err)j), code) == 0) first = 0;
    if (!first) continue;
    for (int j = i; j < QRL_ERR__COUNT; j++)
      if (strcmp(qrl_err_code((qrl_err)j), code) == 0) n += m->errors[j];
    put(t, "qrlogin_errors_total{code=\"%s\"} %llu\n", code, (unsigned long long)n);
  }
}

char *qrl_metrics_render(const qrl_services *sv) {
  const qrl_metrics *m = sv->metrics;
  text t = {malloc(16384), 0, 16384, 0};
  static const char *const step_labels[QRL_STEP_N] = {"shown_to_scanned",
                                                       "scanned_to_completed"};
  static const char *const refusal_labels[QRL_REFUSED_N] = {"server_full", "per_address"};

  if (!t.buf) return NULL;
  logins(&t, m, QRL_LOGIN_STARTED, "qrlogin_logins_started_total",
         "Logins started: a QR code shown, or a one-time code sent.");
  logins(&t, m, QRL_LOGIN_COMPLETED, "qrlogin_logins_completed_total",
         "Logins completed: a web session issued.");
  logins(&t, m, QRL_LOGIN_DECLINED, "qrlogin_logins_declined_total",
         "QR logins declined on the phone (or ended by a wrong number).");
  logins(&t, m, QRL_LOGIN_EXPIRED, "qrlogin_logins_expired_total",
         "Logins whose QR code or one-time code ran out.");
  logins(&t, m, QRL_LOGIN_CANCELLED, "qrlogin_logins_cancelled_total",
         "QR logins whose page left or asked for a new code.");
  errors(&t, m);

  head(&t, "qrlogin_throttled_total", "counter", "Requests refused by a throttle, by rule.");
  for (int i = 0; i < QRL_RULE_N; i++)
    put(&t, "qrlogin_throttled_total{rule=\"%s\"} %llu\n", rule_labels[i],
        (unsigned long long)m->throttled[i]);

  scalar(&t, "qrlogin_throttle_unavailable_total", "counter",
         "Requests refused because the shared throttle (Redis) could not count them.",
         m->throttle_unavailable);
  scalar(&t, "qrlogin_throttle_late_total", "counter",
         "Rate hits let through on this node's last known count that Redis then refused.",
         m->throttle_late);

  head(&t, "qrlogin_connections_refused_total", "counter",
       "Connections refused by the connection caps, by reason.");
  for (int i = 0; i < QRL_REFUSED_N; i++)
    put(&t, "qrlogin_connections_refused_total{reason=\"%s\"} %llu\n", refusal_labels[i],
        (unsigned long long)m->refused[i]);

  scalar(&t, "qrlogin_challenges_live", "gauge", "Live QR login challenges.",
         (uint64_t)qrl_store_live(sv->store));
  if (qrl_store_is_redis(sv->store)) {
    const qrl_store_redis_stats *rs = qrl_store_redis_stats_of(sv->store);
    scalar(&t, "qrlogin_store_ready", "gauge",
           "1 while the shared store (Redis) can serve: connected, subscribed, heartbeat "
           "written.",
           (uint64_t)qrl_store_redis_ready(sv->store));
    scalar(&t, "qrlogin_store_redis_calls_total", "counter",
           "Commands and scripts the challenge store sent to Redis.", rs->calls);
    scalar(&t, "qrlogin_store_cas_retries_total", "counter",
           "Challenge writes lost to another node's and run again.", rs->cas_retry);
    scalar(&t, "qrlogin_store_events_sent_total", "counter",
           "Challenge events sent to the node that owns the page.", rs->published);
    scalar(&t, "qrlogin_store_events_heard_total", "counter",
           "Challenge events heard from other nodes.", rs->heard);
    scalar(&t, "qrlogin_store_browser_gone_total", "counter",
           "Confirms refused because the page's node had no heartbeat.", rs->gone);
  }
  head(&t, "qrlogin_connections", "gauge", "Open connections, by kind.");
  put(&t, "qrlogin_connections{kind=\"browser\"} %zu\n", sv->conns->by_kind[QRL_CONN_BROWSER]);
  put(&t, "qrlogin_connections{kind=\"phone\"} %zu\n", sv->conns->by_kind[QRL_CONN_PHONE]);
  put(&t, "qrlogin_connections{kind=\"http\"} %zu\n", sv->conns->by_kind[QRL_CONN_HTTP]);
  scalar(&t, "qrlogin_connection_strings", "gauge",
         "Distinct User-Agent and Origin strings the open connections share.",
         (uint64_t)(sv->conns->strs ? qrl_intern_count(sv->conns->strs) : 0));
  scalar(&t, "qrlogin_worker_jobs", "gauge",
         "Worker jobs waiting, running, or finished and not yet answered.",
         (uint64_t)qrl_workq_busy(sv->tasks->wq));
  scalar(&t, "qrlogin_workers", "gauge", "Worker threads.", (uint64_t)sv->cfg->workers);
  scalar(&t, "qrlogin_tasks_refused_total", "counter",
         "Requests refused because the worker queue was full or the server stopping.",
         sv->tasks->refused);

  head(&t, "qrlogin_worker_wait_seconds", "histogram",
       "Time a request task waited for a worker.");
  hist_series(&t, "qrlogin_worker_wait_seconds", "", &m->task_wait);
  head(&t, "qrlogin_http_request_duration_seconds", "histogram",
       "/api requests: from the request to its answer written.");
  hist_series(&t, "qrlogin_http_request_duration_seconds", "", &m->http);
  head(&t, "qrlogin_login_step_seconds", "histogram",
       "QR login steps: code shown to first scan, first scan to confirm.");
  for (int i = 0; i < QRL_STEP_N; i++) {
    char labels[48];
    snprintf(labels, sizeof(labels), "step=\"%s\",", step_labels[i]);
    hist_series(&t, "qrlogin_login_step_seconds", labels, &m->step[i]);
  }

  scalar(&t, "qrlogin_sms_sent_total", "counter",
         "One-time code texts at least one gateway took.", load(&sv->sms->sent));
  scalar(&t, "qrlogin_sms_failed_total", "counter",
         "One-time code texts no gateway took.", load(&sv->sms->failed));
  head(&t, "qrlogin_audit_rows_lost_total", "counter",
       "Audit rows lost: not queued (no memory, queue full) or not written by a worker.");
  put(&t, "qrlogin_audit_rows_lost_total{reason=\"queue\"} %llu\n",
      (unsigned long long)sv->audit->lost);
  put(&t, "qrlogin_audit_rows_lost_total{reason=\"write\"} %llu\n",
      (unsigned long long)load(&sv->audit->unwritten));
  scalar(&t, "qrlogin_ws_pings_total", "counter", "Pings sent to silent websockets.",
         sv->alive->pings);
  scalar(&t, "qrlogin_ws_hangups_total", "counter",
         "Websockets hung up on after a ping went unanswered.", sv->alive->hangups);
  head(&t, "qrlogin_reloads_total", "counter",
       "SIGHUP reloads, by result: ok, or partly (something refused, the rest applied).");
  put(&t, "qrlogin_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)m->reloads[0]);
  put(&t, "qrlogin_reloads_total{result=\"partly\"} %llu\n", (unsigned long long)m->reloads[1]);
  if (m->tls_not_after)
    scalar(&t, "qrlogin_tls_certificate_expiry_timestamp_seconds", "gauge",
           "When the TLS certificate served expires (unix time).", (uint64_t)m->tls_not_after);
  scalar(&t, "qrlogin_sqlite_busy_total", "counter",
         "Times a worker found the database locked by another writer and waited.",
         load(&m->sqlite_busy));
  scalar(&t, "qrlogin_sqlite_busy_timeouts_total", "counter",
         "Times a worker gave up waiting for the database lock (the request failed).",
         load(&m->sqlite_busy_timeouts));
  head(&t, "qrlogin_oidc_backchannel_logout_total", "counter",
       "OpenID Connect back-channel logouts sent to portals, by result: delivered, retry "
       "(failed, tried again later), failed (given up).");
  put(&t, "qrlogin_oidc_backchannel_logout_total{result=\"delivered\"} %llu\n",
      (unsigned long long)load(&m->bclogout[0]));
  put(&t, "qrlogin_oidc_backchannel_logout_total{result=\"retry\"} %llu\n",
      (unsigned long long)load(&m->bclogout[1]));
  put(&t, "qrlogin_oidc_backchannel_logout_total{result=\"failed\"} %llu\n",
      (unsigned long long)load(&m->bclogout[2]));
  scalar(&t, "qrlogin_log_lines_failed_total", "counter",
         "Log lines that could not be written whole (a full disk, a closed stderr).",
         sv->log ? load(&sv->log->failed) : 0);
  if (t.failed) {
    free(t.buf);
    return NULL;
  }
  return t.buf;
}
