/*
 * throttle.c - takes, settles and refunds bucket tokens, here and (shared)
 * in Redis; the per-socket message budget.
 */
#include "glue/throttle.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/faillimit.h"
#include "glue/limiter.h"
#include "glue/metrics.h"
#include "glue/redis.h"
#include "helpers/log.h"

qrl_rule *qrl_hold_add(qrl_hold *h, const char *kind, const char *value, int limit,
                       int window) {
  qrl_rule *r;
  int n;
  if (h->n >= QRL_HOLD_MAX) return NULL;
  r = &h->rules[h->n++];
  memset(r, 0, sizeof(*r));
  r->limit = limit;
  r->window = window;
  n = snprintf(r->key, sizeof(r->key), "%s:%s", kind, value);
  if (n < 0 || (size_t)n >= sizeof(r->key)) {
    r->key[0] = '\0'; /* never taken: see qrl_throttle_take */
    return NULL;
  }
  return r;
}

/* Logs and audits a refusal; detail is the bucket's kind, or its whole key
 * for holds (an operator can see which account is being guessed at). */
static void refused(qrl_throttle *t, const qrl_conn *c, const char *key,
                    const char *detail) {
  t->refused++;
  qrl_metrics_throttled(t->metrics, key);
  qrl_log_kv(t->audit->log, QRL_LOG_DEBUG, "throttled", "rule", detail, "ip", c ? c->ip : NULL,
             (const char *)NULL);
  qrl_audit_refusal(t->audit, c, "throttled", QRL_RATE_LIMITED, detail);
}

/* Logs and audits a request refused because Redis could not count it. */
static void unavailable(qrl_throttle *t, const qrl_conn *c, const char *detail) {
  if (t->metrics) qrl_metric_inc(&t->metrics->throttle_unavailable);
  qrl_log_kv(t->audit->log, QRL_LOG_DEBUG, "throttle_unavailable", "rule", detail, "ip",
             c ? c->ip : NULL, (const char *)NULL);
  qrl_audit_refusal(t->audit, c, "throttle_unavailable", QRL_UNAVAILABLE, detail);
}

/* A hit in flight to Redis: its bucket, to bring down to Redis' count. */
typedef struct hit_call {
  qrl_throttle *t;
  char key[QRL_RL_KEY_MAX + 1];
  int limit, window;
} hit_call;

static void on_hit_reply(void *arg, const qrl_limiter_result *res) {
  hit_call *h = arg;
  qrl_throttle *t = h->t;
  if (res->err == QRL_OK || res->err == QRL_RATE_LIMITED) {
    qrl_rl_cap(t->rl, h->key, qrl_clock_mono_ms(t->clock), h->limit, h->window,
               (double)res->level_milli[0] / 1000.0);
    if (res->err == QRL_RATE_LIMITED && t->metrics) qrl_metric_inc(&t->metrics->throttle_late);
  }
  /* QRL_UNAVAILABLE: the connection dropped; the hits after it refuse. */
  free(h);
}

/* Counts an allowed hit of key in Redis: QRL_OK (sent), or QRL_UNAVAILABLE. */
static qrl_err hit_shared(qrl_throttle *t, const char *key, int limit, int window) {
  qrl_limiter_bucket b = {key, limit, window};
  hit_call *h;
  if (!t->redis || qrl_redis_state_of(t->redis) != QRL_REDIS_UP) return QRL_UNAVAILABLE;
  if (!(h = calloc(1, sizeof(*h)))) return QRL_UNAVAILABLE;
  h->t = t;
  memcpy(h->key, key, strlen(key) + 1);
  h->limit = limit;
  h->window = window;
  if (qrl_limiter_hit(t->redis, &b, on_hit_reply, h)) {
    free(h);
    return QRL_UNAVAILABLE;
  }
  return QRL_OK;
}

qrl_err qrl_throttle_hit_err(qrl_throttle *t, const qrl_conn *c, const char *kind,
                             const char *value, int limit, int window) {
  char key[QRL_RL_KEY_MAX + 1];
  int64_t now;
  int n;
  if (t->off) return QRL_OK;
  n = snprintf(key, sizeof(key), "%s:%s", kind, value);
  if (n < 0 || (size_t)n >= sizeof(key)) {
    refused(t, c, kind, kind); /* a value this long is no client of ours */
    return QRL_RATE_LIMITED;
  }
  now = qrl_clock_mono_ms(t->clock);
  if (qrl_rl_hit(t->rl, key, now, limit, window) < 0) {
    refused(t, c, key, kind);
    return QRL_RATE_LIMITED;
  }
  if (!t->shared || hit_shared(t, key, limit, window) == QRL_OK) return QRL_OK;
  qrl_rl_refund(t->rl, key, now, limit, window); /* refused: costs nothing */
  unavailable(t, c, kind);
  return QRL_UNAVAILABLE;
}

int qrl_throttle_hit(qrl_throttle *t, const qrl_conn *c, const char *kind,
                     const char *value, int limit, int window) {
  return qrl_throttle_hit_err(t, c, kind, value, limit, window) == QRL_OK;
}

int qrl_throttle_take(qrl_throttle *t, const qrl_conn *c, qrl_hold *h,
                      int64_t *retry_in) {
  int64_t now = qrl_clock_mono_ms(t->clock);
  size_t i;

  *retry_in = 0;
  h->taken = 0;
  if (t->off) return 1;
  for (i = 0; i < h->n; i++) {
    const qrl_rule *r = &h->rules[i];
    if (!r->key[0] || qrl_rl_hit(t->rl, r->key, now, r->limit, r->window) < 0) break;
  }
  if (i == h->n) {
    h->taken = 1;
    return 1;
  }
  if (h->rules[i].key[0])
    qrl_rl_allowed(t->rl, h->rules[i].key, now, h->rules[i].limit, h->rules[i].window,
                   retry_in);
  if (*retry_in <= 0) *retry_in = h->rules[i].window; /* table full of live keys */
  for (size_t k = 0; k < i; k++) /* all or none */
    qrl_rl_refund(t->rl, h->rules[k].key, now, h->rules[k].limit, h->rules[k].window);
  refused(t, c, h->rules[i].key[0] ? h->rules[i].key : "bad-key",
          h->rules[i].key[0] ? h->rules[i].key : "bad-key");
  return 0;
}

/* Whether outcome spends r's token for good. */
static int keeps(const qrl_rule *r, qrl_err outcome) {
  for (int k = 0; k < r->nkeep; k++)
    if (r->keep[k] == outcome) return 1;
  return 0;
}

static void on_give_reply(void *arg, const qrl_limiter_result *res) {
  qrl_throttle *t = arg;
  if (res->err) /* the tokens stay taken until they refill: fail closed */
    qrl_log_kv(t->audit->log, QRL_LOG_WARN, "throttle_unsettled", "where", "redis", "error",
               qrl_strerror(res->err), (const char *)NULL);
}

/* Gives back in Redis the tokens of h's shared buckets that outcome does
 * not keep (one EVAL, none if all keep theirs). */
static void settle_shared(qrl_throttle *t, qrl_hold *h, qrl_err outcome) {
  qrl_limiter_bucket b[QRL_HOLD_MAX];
  int reset[QRL_HOLD_MAX];
  size_t n = 0;
  h->shared = 0;
  for (size_t i = 0; i < h->n; i++) {
    const qrl_rule *r = &h->rules[i];
    if (r->persist || keeps(r, outcome)) continue;
    b[n] = (qrl_limiter_bucket){r->key, r->limit, r->window};
    reset[n++] = outcome == QRL_OK && r->reset_on_ok;
  }
  if (!n) return;
  if (!t->redis || qrl_limiter_give(t->redis, b, reset, n, on_give_reply, t)) {
    qrl_log_kv(t->audit->log, QRL_LOG_WARN, "throttle_unsettled", "where", "redis", "error",
               qrl_strerror(QRL_UNAVAILABLE), (const char *)NULL);
    return;
  }
}

void qrl_throttle_settle(qrl_throttle *t, qrl_hold *h, qrl_err outcome) {
  int64_t now;
  if (!h->taken) return;
  h->taken = 0;
  if (t->off) return;
  now = qrl_clock_mono_ms(t->clock);
  for (size_t i = 0; i < h->n; i++) {
    const qrl_rule *r = &h->rules[i];
    if (keeps(r, outcome)) continue;
    if (outcome == QRL_OK && r->reset_on_ok) qrl_rl_reset(t->rl, r->key);
    else qrl_rl_refund(t->rl, r->key, now, r->limit, r->window);
  }
  if (h->shared) settle_shared(t, h, outcome);
}

int qrl_throttle_shared_needed(const qrl_throttle *t, const qrl_hold *h) {
  if (!t->shared || t->off || !h->taken) return 0;
  for (size_t i = 0; i < h->n; i++)
    if (!h->rules[i].persist) return 1;
  return 0;
}

/* A shared take in flight: the hold and which of its rules were sent. */
typedef struct take_call {
  qrl_hold *h;
  size_t idx[QRL_HOLD_MAX];
  qrl_throttle_shared_cb cb;
  void *arg;
} take_call;

static void on_take_reply(void *arg, const qrl_limiter_result *res) {
  take_call *k = arg;
  int64_t retry_in = 0;
  qrl_err err = res->err;
  if (err == QRL_OK) {
    k->h->shared = 1;
  } else if (err == QRL_RATE_LIMITED) {
    k->h->refused = (int)k->idx[res->refused - 1] + 1;
    retry_in = (res->retry_ms + 999) / 1000;
  } else {
    err = QRL_UNAVAILABLE;
  }
  k->cb(k->arg, err, retry_in);
  free(k);
}

qrl_err qrl_throttle_take_shared(qrl_throttle *t, qrl_hold *h, qrl_throttle_shared_cb cb,
                                 void *arg) {
  qrl_limiter_bucket b[QRL_HOLD_MAX];
  take_call *k;
  size_t n = 0;
  h->refused = 0;
  h->shared = 0;
  if (!t->redis || !(k = calloc(1, sizeof(*k)))) return QRL_UNAVAILABLE;
  for (size_t i = 0; i < h->n; i++) {
    if (h->rules[i].persist) continue;
    b[n] = (qrl_limiter_bucket){h->rules[i].key, h->rules[i].limit, h->rules[i].window};
    k->idx[n++] = i;
  }
  k->h = h;
  k->cb = cb;
  k->arg = arg;
  if (!n || qrl_limiter_take(t->redis, b, n, on_take_reply, k)) {
    free(k);
    return QRL_UNAVAILABLE;
  }
  return QRL_OK;
}

void qrl_throttle_note_shared(qrl_throttle *t, const qrl_conn *c, const qrl_hold *h,
                              qrl_err err) {
  const char *c1, *c2;
  char kind[24] = "hold";
  if (err == QRL_RATE_LIMITED) {
    qrl_throttle_note_persisted(t, c, h);
    return;
  }
  /* The first shared bucket's kind ("pw:ip"), not the address after it. */
  for (size_t i = 0; i < h->n; i++) {
    if (h->rules[i].persist) continue;
    c1 = strchr(h->rules[i].key, ':');
    c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    snprintf(kind, sizeof(kind), "%.*s",
             c2 ? (int)(c2 - h->rules[i].key) : (int)strlen(h->rules[i].key), h->rules[i].key);
    break;
  }
  unavailable(t, c, kind);
}

qrl_err qrl_hold_take_persisted(qrl_hold *h, qrl_db *db, int64_t now, int64_t *retry_in) {
  qrl_err err = QRL_OK;
  size_t i;
  *retry_in = 0;
  h->refused = 0;
  if (!h->taken) return QRL_OK; /* not counted (--no-rate-limits) */
  for (i = 0; i < h->n; i++) {
    const qrl_rule *r = &h->rules[i];
    if (!r->persist) continue;
    if ((err = qrl_faillimit_take(db, r->key, r->limit, r->window, now, retry_in))) break;
  }
  if (!err) {
    h->persisted = 1;
    return QRL_OK;
  }
  if (err == QRL_RATE_LIMITED) h->refused = (int)i + 1;
  for (size_t k = 0; k < i; k++) /* all or none */
    if (h->rules[k].persist)
      qrl_faillimit_give_back(db, h->rules[k].key, h->rules[k].limit, h->rules[k].window,
                              now);
  return err;
}

void qrl_hold_settle_persisted(qrl_hold *h, qrl_db *db, int64_t now, qrl_err outcome) {
  if (!h->persisted) return;
  h->persisted = 0;
  for (size_t i = 0; i < h->n; i++) {
    const qrl_rule *r = &h->rules[i];
    qrl_err err;
    if (!r->persist || keeps(r, outcome)) continue;
    if (outcome == QRL_OK && r->reset_on_ok) err = qrl_faillimit_clear(db, r->key);
    else err = qrl_faillimit_give_back(db, r->key, r->limit, r->window, now);
    if (err) { /* a worker: the log its database handle writes to */
      /* The key's kind ("pw:id"), not the account or address after it. */
      const char *c1 = strchr(r->key, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      char kind[24];
      snprintf(kind, sizeof(kind), "%.*s", c2 ? (int)(c2 - r->key) : (int)strlen(r->key),
               r->key);
      qrl_log_kv(qrl_db_log(db), QRL_LOG_WARN, "throttle_unsettled", "rule", kind, "error",
                 qrl_strerror(err), (const char *)NULL);
    }
  }
}

void qrl_throttle_note_persisted(qrl_throttle *t, const qrl_conn *c, const qrl_hold *h) {
  const qrl_rule *r;
  if (!h->refused || (size_t)h->refused > h->n) return;
  r = &h->rules[h->refused - 1];
  refused(t, c, r->key, r->key);
}

int qrl_throttle_socket(qrl_throttle *t, qrl_conn *c, int msgs, int window, int strikes) {
  int64_t now;
  double tokens;
  if (t->off) return 1;
  now = qrl_clock_mono_ms(t->clock);
  tokens = c->msg_tokens + (double)(now - c->msg_last) * msgs / (window * 1000.0);
  if (!c->msg_last) tokens = msgs; /* a new socket starts full */
  if (tokens > msgs) tokens = msgs;
  c->msg_last = now;
  if (tokens >= 1.0) {
    c->msg_tokens = tokens - 1.0;
    return 1;
  }
  c->msg_tokens = tokens;
  qrl_metrics_throttled(t->metrics, "socket"); /* every message refused */
  if (++c->msg_strikes > strikes) {
    t->refused++;
    qrl_audit_refusal(t->audit, c, "socket_flood", QRL_RATE_LIMITED, NULL);
    return -1;
  }
  return 0;
}
