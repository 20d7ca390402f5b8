/*
 * throttle.c - takes, settles and refunds bucket tokens; the per-socket
 * message budget.
 */
#include "glue/throttle.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "domain/faillimit.h"
#include "glue/metrics.h"
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

int qrl_throttle_hit(qrl_throttle *t, const qrl_conn *c, const char *kind,
                     const char *value, int limit, int window) {
  char key[QRL_RL_KEY_MAX + 1];
  int n;
  if (t->off) return 1;
  n = snprintf(key, sizeof(key), "%s:%s", kind, value);
  if (n < 0 || (size_t)n >= sizeof(key)) {
    refused(t, c, kind, kind); /* a value this long is no client of ours */
    return 0;
  }
  if (qrl_rl_hit(t->rl, key, qrl_clock_mono_ms(t->clock), limit, window) >= 0) return 1;
  refused(t, c, key, kind);
  return 0;
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
