/*
 * bclogout.c - the back-channel logout deliverer (bclogout.h).
 */
#include "glue/bclogout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/db.h"
#include "domain/oidc_logout.h"
#include "helpers/crypto.h"
#include "helpers/form.h"
#include "helpers/httpc.h"
#include "helpers/log.h"

#define BATCH 16
#define ISSUER_MAX 160
#define FORGET_EVERY_MS 60000 /* ended sessions' portal lists swept this often */

struct qrl_bclogout {
  qrl_bclogout_opts o;
  char *db_path;            /* owned */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;        /* on CLOCK_MONOTONIC */
  int stop, kicked;         /* under mu */
  char issuer[ISSUER_MAX];  /* under mu; "" until set */
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(void *arg) {
  qrl_bclogout *b = arg;
  int s;
  pthread_mutex_lock(&b->mu);
  s = b->stop;
  pthread_mutex_unlock(&b->mu);
  return s;
}

/* Sends it; the attempt's outcome recorded in the outbox, counted, logged. */
static void deliver(qrl_bclogout *b, qrl_db *db, const char *issuer, const qrl_bcl_item *it) {
  qrl_httpc_opts ho = {b->o.connect_ms, b->o.total_ms, 0, stopping, b};
  char *token = NULL, *body = NULL, why[160] = "", status_s[16] = "";
  long status = 0;
  int ok = 0, permanent = 0;
  qrl_bcl_outcome out;
  qrl_err rc;
  int64_t now_ms = wall_ms();

  if (!it->uri[0]) {
    snprintf(why, sizeof(why), "the portal is gone or has no backchannel_logout_uri");
    permanent = 1;
  } else if ((rc = qrl_oidc_logout_token(db, issuer, it, now_ms / 1000, &token))) {
    snprintf(why, sizeof(why), "cannot sign: %s", qrl_strerror(rc));
  } else {
    size_t cap = strlen(token) + 32;
    if (!(body = malloc(cap))) {
      snprintf(why, sizeof(why), "out of memory");
    } else {
      body[0] = '\0';
      /* "?logout_token=..." built by the URL helper, then the "?" dropped */
      if (qrl_url_add_param(body, cap, "logout_token", token)) {
        snprintf(why, sizeof(why), "token too long");
      } else {
        rc = qrl_httpc_post_form(it->uri, body + 1, strlen(body + 1), &ho, &status, why,
                                 sizeof(why));
        if (rc == QRL_INVAL) permanent = 1;
        ok = !rc && (status == 200 || status == 204);
        if (!rc && !ok) snprintf(why, sizeof(why), "HTTP status %ld", status);
      }
    }
  }
  if (token) qrl_cleanse(token, strlen(token));
  if (body) qrl_cleanse(body, strlen(body));
  free(token);
  free(body);
  if (stopping(b) && !ok) return; /* an aborted attempt: the lease retries it */
  now_ms = wall_ms();
  if ((rc = qrl_bcl_settle(db, it, ok, permanent, now_ms, b->o.retry_ms, &out))) {
    qrl_log_kv(b->o.log, QRL_LOG_ERROR, "oidc_backchannel_logout", "client", it->client_id,
               "error", qrl_strerror(rc), (const char *)NULL);
    return;
  }
  if (b->o.counters) __atomic_add_fetch(&b->o.counters[out], 1, __ATOMIC_RELAXED);
  snprintf(status_s, sizeof(status_s), "%ld", status);
  {
    char attempt[16];
    snprintf(attempt, sizeof(attempt), "%d", it->attempts);
    qrl_log_kv(b->o.log, out == QRL_BCL_DELIVERED ? QRL_LOG_INFO : QRL_LOG_WARN,
               "oidc_backchannel_logout", "client", it->client_id, "result",
               qrl_bcl_outcome_name(out), "status", status_s, "attempt", attempt, "why",
               ok ? "" : why, (const char *)NULL);
  }
}

/* Delivers every row due now. The earliest due time left into *next_ms (0:
 * none). */
static void round_once(qrl_bclogout *b, qrl_db *db, const char *issuer, int64_t *next_ms) {
  qrl_bcl_item items[BATCH];
  size_t n = 0;
  *next_ms = 0;
  do {
    if (qrl_bcl_claim(db, wall_ms(), items, BATCH, &n)) break;
    for (size_t i = 0; i < n && !stopping(b); i++) deliver(b, db, issuer, &items[i]);
  } while (n == BATCH && !stopping(b));
  if (qrl_bcl_next_due(db, next_ms)) *next_ms = 0;
}

static void *run(void *arg) {
  qrl_bclogout *b = arg;
  qrl_db *db = NULL;
  int64_t last_forget = 0;
  qrl_err rc = qrl_db_open_log(b->db_path, b->o.log, &db);
  if (rc) {
    qrl_log_kv(b->o.log, QRL_LOG_ERROR, "oidc_backchannel_logout", "error",
               "cannot open the database", (const char *)NULL);
    return NULL;
  }
  pthread_mutex_lock(&b->mu);
  while (!b->stop) {
    char issuer[ISSUER_MAX];
    int64_t next = 0, wait_ms = b->o.poll_ms, now;
    struct timespec ts;
    memcpy(issuer, b->issuer, sizeof(issuer));
    b->kicked = 0;
    pthread_mutex_unlock(&b->mu);
    now = wall_ms();
    if (now - last_forget >= FORGET_EVERY_MS) {
      qrl_bcl_forget_ended(db, now / 1000);
      last_forget = now;
    }
    if (issuer[0]) {
      round_once(b, db, issuer, &next);
      now = wall_ms();
      if (next && next - now < wait_ms) wait_ms = next - now;
      if (wait_ms < 1) wait_ms = 1;
    }
    pthread_mutex_lock(&b->mu);
    if (b->stop || b->kicked) continue;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&b->cv, &b->mu, &ts);
  }
  pthread_mutex_unlock(&b->mu);
  qrl_db_close(db);
  return NULL;
}

qrl_bclogout *qrl_bclogout_start(const qrl_bclogout_opts *o) {
  qrl_bclogout *b = calloc(1, sizeof(*b));
  pthread_condattr_t ca;
  int mu = 0, cv = 0;
  if (!b) return NULL;
  b->o = *o;
  if (!(b->db_path = strdup(o->db_path)) || qrl_httpc_global_init()) goto fail;
  if (pthread_mutex_init(&b->mu, NULL)) goto fail;
  mu = 1;
  if (pthread_condattr_init(&ca)) goto fail;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  cv = pthread_cond_init(&b->cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!cv) goto fail;
  if (pthread_create(&b->thread, NULL, run, b)) goto fail;
  return b;
fail:
  qrl_log_kv(o->log, QRL_LOG_ERROR, "startup", "what", "cannot start the back-channel logout thread",
             (const char *)NULL);
  if (cv) pthread_cond_destroy(&b->cv);
  if (mu) pthread_mutex_destroy(&b->mu);
  free(b->db_path);
  free(b);
  return NULL;
}

void qrl_bclogout_set_issuer(qrl_bclogout *b, const char *issuer) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  snprintf(b->issuer, sizeof(b->issuer), "%s", issuer);
  b->kicked = 1;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

int qrl_bclogout_has_issuer(qrl_bclogout *b) {
  int h;
  if (!b) return 0;
  pthread_mutex_lock(&b->mu);
  h = b->issuer[0] != '\0';
  pthread_mutex_unlock(&b->mu);
  return h;
}

void qrl_bclogout_kick(qrl_bclogout *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->kicked = 1;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void qrl_bclogout_stop(qrl_bclogout *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->stop = 1;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b->db_path);
  free(b);
}
