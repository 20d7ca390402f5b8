/*
 * ratelimit.c - see ratelimit.h. Token buckets: a key holds up to `limit`
 * tokens and earns them back at limit/window per second; a hit spends one.
 * Open addressing with linear probing over a power-of-two table at most half
 * full; deletion by backward shift so probes never need tombstones. The
 * table doubles (rehash) when an insert would pass half full, up to the
 * size max_keys needs; sweep walks a slice of it per call behind a cursor.
 * Times are monotonic milliseconds.
 */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 16
/* Slots a new key sweeps when the table is at max_keys: bounded work on the
 * hit path, and a flood of new keys sweeps the table as it goes. */
#define FULL_SWEEP_BUDGET 256

typedef struct slot {
  char key[QRL_RL_KEY_MAX + 1]; /* "" = empty */
  double tokens;                /* as of `last` */
  int64_t last;                 /* ms: when tokens was computed */
  int64_t full_at;              /* ms: when the bucket is full again: droppable */
} slot;

struct qrl_ratelimit {
  slot *slots;     /* owned */
  size_t cap;      /* power of two */
  size_t max_cap;  /* the cap max_keys needs at half load */
  size_t used;
  size_t max_keys;
  size_t cursor;   /* where the next sweep starts */
};

/* Tokens in s at now_ms for this rule. */
static double level(const slot *s, int64_t now_ms, int limit, int64_t window) {
  int64_t dt = now_ms > s->last ? now_ms - s->last : 0;
  double t = s->tokens + (double)dt * (double)limit / ((double)window * 1000.0);
  return t > limit ? limit : t;
}

/* When s, with its tokens as of now_ms, is full again (rounded up, plus a
 * millisecond: dropping a bucket early would hand out tokens). */
static int64_t full_at(const slot *s, int64_t now_ms, int limit, int64_t window) {
  double ms = (limit - s->tokens) * (double)window * 1000.0 / (double)limit;
  return now_ms + (int64_t)ceil(ms) + 1;
}

/* FNV-1a, then a 64-bit finalizer (murmur3 fmix64): FNV's low bits - the
 * ones the mask keeps - barely change between keys like "ip:10.0.4.1" and
 * "ip:10.0.4.2", and linear probing turns such clusters into long scans. */
static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/* 1 if key can be a key: not NULL, not empty, at most QRL_RL_KEY_MAX. */
static int key_ok(const char *key) {
  return key && key[0] && strnlen(key, QRL_RL_KEY_MAX + 1) <= QRL_RL_KEY_MAX;
}

static int rule_ok(const char *key, int limit, int64_t window) {
  return key_ok(key) && limit > 0 && window > 0;
}

qrl_ratelimit *qrl_rl_new(size_t max_keys) {
  qrl_ratelimit *rl = NULL;
  size_t max_cap = MIN_SLOTS;

  if (!max_keys || max_keys > ((size_t)-1) / (4 * sizeof(slot))) return NULL;
  while (max_cap < max_keys * 2) max_cap *= 2;
  rl = calloc(1, sizeof(*rl));
  if (!rl) return NULL;
  rl->slots = calloc(MIN_SLOTS, sizeof(slot));
  if (!rl->slots) {
    free(rl);
    return NULL;
  }
  rl->cap = MIN_SLOTS;
  rl->max_cap = max_cap;
  rl->max_keys = max_keys;
  return rl;
}

void qrl_rl_free(qrl_ratelimit *rl) {
  if (!rl) return;
  free(rl->slots);
  free(rl);
}

static size_t find(const qrl_ratelimit *rl, const char *key, int *found) {
  size_t i = (size_t)hash(key) & (rl->cap - 1);
  while (rl->slots[i].key[0]) {
    if (strcmp(rl->slots[i].key, key) == 0) {
      *found = 1;
      return i;
    }
    i = (i + 1) & (rl->cap - 1);
  }
  *found = 0;
  return i;
}

/* Doubles the table and reinserts every key. 0, or -1 on allocation failure
 * (the table is left as it was). The sweep starts over: positions moved. */
static int grow(qrl_ratelimit *rl) {
  size_t ncap = rl->cap * 2;
  slot *ns = calloc(ncap, sizeof(slot));
  if (!ns) return -1;
  for (size_t i = 0; i < rl->cap; i++) {
    size_t j;
    if (!rl->slots[i].key[0]) continue;
    j = (size_t)hash(rl->slots[i].key) & (ncap - 1);
    while (ns[j].key[0]) j = (j + 1) & (ncap - 1);
    ns[j] = rl->slots[i];
  }
  free(rl->slots);
  rl->slots = ns;
  rl->cap = ncap;
  rl->cursor = 0;
  return 0;
}

static void remove_at(qrl_ratelimit *rl, size_t i) {
  size_t j = i;
  rl->slots[i].key[0] = '\0';
  rl->used--;
  /* Shift back the entries whose probe chain passed through i. */
  for (;;) {
    size_t home;
    j = (j + 1) & (rl->cap - 1);
    if (!rl->slots[j].key[0]) return;
    home = (size_t)hash(rl->slots[j].key) & (rl->cap - 1);
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      rl->slots[i] = rl->slots[j];
      rl->slots[j].key[0] = '\0';
      i = j;
    }
  }
}

int qrl_rl_allowed(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window, int64_t *retry_in) {
  int found;
  size_t i;
  double t;
  if (retry_in) *retry_in = 0;
  if (!rule_ok(key, limit, window)) return 0;
  i = find(rl, key, &found);
  if (!found) return 1;
  t = level(&rl->slots[i], now_ms, limit, window);
  if (t >= 1.0) return 1;
  /* Seconds until one whole token has been earned back. */
  if (retry_in) {
    double secs = (1.0 - t) * (double)window / (double)limit;
    *retry_in = (int64_t)ceil(secs);
    if (*retry_in < 1) *retry_in = 1;
  }
  return 0;
}

int qrl_rl_hit(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
               int64_t window) {
  int found;
  size_t i;
  slot *s;
  double t;
  if (!rule_ok(key, limit, window)) return -1;
  i = find(rl, key, &found);
  if (!found) {
    if (rl->used >= rl->max_keys) {
      qrl_rl_sweep(rl, now_ms, FULL_SWEEP_BUDGET);
      if (rl->used >= rl->max_keys) return -1; /* full of live keys */
    }
    if ((rl->used + 1) * 2 > rl->cap && rl->cap < rl->max_cap && grow(rl) != 0)
      return -1; /* no memory: refused, not let through */
    i = find(rl, key, &found);
    s = &rl->slots[i];
    memset(s, 0, sizeof(*s));
    memcpy(s->key, key, strlen(key) + 1);
    s->tokens = limit;
    s->last = now_ms;
    rl->used++;
  }
  s = &rl->slots[i];
  t = level(s, now_ms, limit, window);
  if (t < 1.0) return -1;
  s->tokens = t - 1.0;
  s->last = now_ms;
  s->full_at = full_at(s, now_ms, limit, window);
  return (int)s->tokens;
}

void qrl_rl_refund(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window) {
  int found;
  size_t i;
  slot *s;
  double t;
  if (!rule_ok(key, limit, window)) return;
  i = find(rl, key, &found);
  if (!found) return; /* swept: already full */
  s = &rl->slots[i];
  t = level(s, now_ms, limit, window) + 1.0;
  s->tokens = t > limit ? limit : t;
  s->last = now_ms;
  s->full_at = full_at(s, now_ms, limit, window);
}

void qrl_rl_reset(qrl_ratelimit *rl, const char *key) {
  int found;
  size_t i;
  if (!key_ok(key)) return;
  i = find(rl, key, &found);
  if (found) remove_at(rl, i);
}

size_t qrl_rl_sweep(qrl_ratelimit *rl, int64_t now_ms, size_t budget) {
  size_t i = rl->cursor & (rl->cap - 1);
  while (budget-- > 0 && rl->used > 0) {
    /* remove_at may shift a later entry into i: look at i again then (it
     * counts against the budget, so a call stays bounded). */
    if (rl->slots[i].key[0] && rl->slots[i].full_at <= now_ms) remove_at(rl, i);
    else i = (i + 1) & (rl->cap - 1);
  }
  rl->cursor = i;
  return rl->used;
}

size_t qrl_rl_keys(const qrl_ratelimit *rl) { return rl->used; }

size_t qrl_rl_bytes(const qrl_ratelimit *rl) {
  return sizeof(*rl) + rl->cap * sizeof(slot);
}
