/*
 * metrics.h - the server's counters and histograms, and their rendering in
 * the Prometheus text exposition format 0.0.4 (/metrics).
 *
 * One qrl_metrics per server, owned by the runtime (server.c) and reached
 * through qrl_services. Every label set is fixed at compile time - login
 * methods, error codes (the X-macro of qrlogin/error.h), throttle rules,
 * refusal reasons - never taken from a request, so the number of series is
 * bounded whatever clients send.
 *
 * Threads: a counter is bumped either on the loop thread only (plain
 * increments: qrl_metric_inc) or also on workers (qrl_metric_inc_atomic);
 * each field below says which. Histograms are always updated atomically
 * (workers observe the task wait). Rendering runs on the loop and reads
 * the worker-side fields with atomic loads: a scrape may see one histogram
 * a moment apart from another, never a torn value.
 * Not here: the HTTP route that serves the text (handlers/ops.c), gauges
 * kept by their own modules (live challenges, connections, queue depth),
 * which the rendering reads from qrl_services.
 */
#ifndef QRLOGIN_METRICS_H
#define QRLOGIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

struct qrl_services;

/* How a citizen logs in (label method). */
#define QRL_LOGIN_METHODS(X)                                                    \
  X(QR, "qr")                     /* the QR on the login page */                \
  X(QR_KIOSK, "qr_kiosk")         /* the QR on a kiosk (/kiosk.html) */         \
  X(PASSWORD_OTP, "password_otp") /* citizen ID + password + SMS code */        \
  X(PORTAL_OTP, "portal_otp")     /* portal username + password + SMS code */

typedef enum qrl_login_method {
#define QRL_M_ENUM(name, label) QRL_LOGIN_##name,
  QRL_LOGIN_METHODS(QRL_M_ENUM)
#undef QRL_M_ENUM
  QRL_LOGIN_NMETHODS
} qrl_login_method;

/* What became of a login (one counter family each). */
typedef enum qrl_login_outcome {
  QRL_LOGIN_STARTED,   /* a QR code shown / a one-time code sent */
  QRL_LOGIN_COMPLETED, /* a web session issued */
  QRL_LOGIN_DECLINED,  /* declined on the phone (or a wrong number picked) */
  QRL_LOGIN_EXPIRED,   /* the QR code or the one-time code ran out */
  QRL_LOGIN_CANCELLED, /* the page left or asked for a new code */
  QRL_LOGIN_NOUTCOMES
} qrl_login_outcome;

/* Throttle rules (label rule): the bucket kinds of rules.c and the
 * handlers, "socket" for a websocket's message budget, "other" for a key
 * none of them names. */
#define QRL_THROTTLE_RULES(X)                                                   \
  X(MINT_IP, "mint:ip") X(PHONE_ACCT, "phone:acct") X(PW_USER, "pw:user")       \
  X(PW_ID, "pw:id") X(PW_IP, "pw:ip") X(SMS_IP, "sms:ip") X(OTP_IP, "otp:ip")   \
  X(VID_IP, "vid:ip") X(VID_SESS, "vid:sess") X(SOCKET, "socket")               \
  X(OTHER, "other")

typedef enum qrl_throttle_rule {
#define QRL_R_ENUM(name, label) QRL_RULE_##name,
  QRL_THROTTLE_RULES(QRL_R_ENUM)
#undef QRL_R_ENUM
  QRL_RULE_N
} qrl_throttle_rule;

/* Login steps timed (label step of qrlogin_login_step_seconds). */
typedef enum qrl_login_step {
  QRL_STEP_SHOWN_TO_SCANNED,     /* QR code minted -> first scan */
  QRL_STEP_SCANNED_TO_COMPLETED, /* first scan -> confirmed */
  QRL_STEP_N
} qrl_login_step;

/* Connections refused by the caps (label reason). */
typedef enum qrl_refusal {
  QRL_REFUSED_SERVER_FULL, /* the server's descriptor budget */
  QRL_REFUSED_PER_ADDRESS, /* --max-conns-per-ip */
  QRL_REFUSED_N
} qrl_refusal;

/* Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
#define QRL_HIST_BOUNDS                                                         \
  {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, \
   10, 30, 60}
#define QRL_HIST_NBOUNDS 16

/* A latency histogram: counts per bucket (not cumulative; the last is
 * +Inf), their number and sum in microseconds. Updated atomically. */
typedef struct qrl_histogram {
  uint64_t bucket[QRL_HIST_NBOUNDS + 1];
  uint64_t count;
  uint64_t sum_us;
} qrl_histogram;

/* The registry. Zeroed at start; the runtime owns it. */
typedef struct qrl_metrics {
  uint64_t logins[QRL_LOGIN_NOUTCOMES][QRL_LOGIN_NMETHODS]; /* loop */
  uint64_t errors[QRL_ERR__COUNT]; /* answers with an error code, HTTP and
                                     websocket (loop) */
  uint64_t throttled[QRL_RULE_N]; /* requests refused by a throttle (loop) */
  uint64_t refused[QRL_REFUSED_N]; /* connections refused by the caps (loop) */
  uint64_t throttle_unavailable; /* requests refused because the shared
                                    throttle (Redis) could not count them (loop) */
  uint64_t throttle_late;   /* rate hits this node let through that Redis
                               then found over the shared budget (loop) */
  uint64_t sms_sent, sms_failed;   /* one-time code texts (workers: atomic) */
  qrl_histogram http;                  /* /api request -> answer written */
  qrl_histogram task_wait;             /* request task queued -> a worker runs it */
  qrl_histogram step[QRL_STEP_N];      /* login steps */
  uint64_t reloads[2];      /* SIGHUP reloads: [0] applied, [1] with a refusal (loop) */
  int64_t tls_not_after;    /* unix time the certificate served expires; 0 without TLS */
  uint64_t sqlite_busy;     /* a worker found the database locked and waited
                               (workers: atomic) */
  uint64_t sqlite_busy_timeouts; /* ... and gave up after the busy timeout (atomic) */
  uint64_t bclogout[3];     /* back-channel logout attempts by outcome: delivered,
                               retry, failed (domain/oidc_logout.h's order; the
                               deliverer's thread: atomic) */
} qrl_metrics;

/* Monotonic microseconds (CLOCK_MONOTONIC), for timing. */
int64_t qrl_metrics_now_us(void);

/* Loop-thread counters: a plain increment. */
static inline void qrl_metric_inc(uint64_t *counter) { (*counter)++; }

/* Counters also bumped on workers. */
static inline void qrl_metric_inc_atomic(uint64_t *counter) {
  __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/* Adds one observation of us microseconds (negative counts as 0) to h. Any
 * thread. */
void qrl_histogram_observe(qrl_histogram *h, int64_t us);

/* Counts a login of method reaching outcome (loop thread). */
void qrl_metrics_login(qrl_metrics *m, qrl_login_method method, qrl_login_outcome outcome);

/* The method named label ("qr", "password_otp", ...), or QRL_LOGIN_NMETHODS. */
qrl_login_method qrl_metrics_method_of(const char *label);

/* Counts an answer with error err (loop thread). QRL_OK is not counted. */
void qrl_metrics_error(qrl_metrics *m, qrl_err err);

/* Counts a throttle refusal of the bucket key ("<kind>:<value>", or the
 * kind alone): by its kind, "other" if it is none of QRL_THROTTLE_RULES.
 * NULL-safe in m (loop thread). */
void qrl_metrics_throttled(qrl_metrics *m, const char *key);

/* Counts a QR challenge's state change from prev to c->state at now_ms
 * (monotonic): its outcome by method (kiosk or not) and the step times.
 * Loop thread. */
struct qrl_challenge;
void qrl_metrics_challenge(qrl_metrics *m, const struct qrl_challenge *c, int prev,
                           int64_t now_ms);

/* Renders every metric of the server behind sv (its registry and the
 * gauges its modules keep) as Prometheus text exposition 0.0.4. Returns a
 * NUL-terminated string the caller frees, or NULL on allocation failure.
 * Loop thread. */
char *qrl_metrics_render(const struct qrl_services *sv);

#endif /* QRLOGIN_METRICS_H */
