/*
 * ratelimit.c - see ratelimit.h. Token buckets: a key holds up to `limit`
 * tokens and earns them back at limit/window per second; a hit spends one.
 * Open addressing with linear probing over a power-of-two table at most half
 * full; deletion by backward shift so probes never need tombstones.
 */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#define KEY_MAX 80

typedef struct slot {
  char key[KEY_MAX]; /* "" = empty */
  double tokens;     /* as of `last` */
  int64_t last;      /* when tokens was computed */
  int64_t full_at;   /* when the bucket is full again: droppable */
} slot;

/* Tokens in s at now for this rule. */
static double level(const slot *s, int64_t now, int limit, int64_t window) {
  double t = s->tokens + (double)(now - s->last) * (double)limit / (double)window;
  return t > limit ? limit : t;
}

struct qrl_ratelimit {
  slot *slots;
  size_t cap;  /* power of two */
  size_t used;
  size_t max_keys;
};

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

qrl_ratelimit *qrl_rl_new(size_t max_keys) {
  qrl_ratelimit *rl = calloc(1, sizeof(*rl));
  size_t cap = 16;
  if (!rl || !max_keys) {
    free(rl);
    return NULL;
  }
  while (cap < max_keys * 2) cap *= 2;
  rl->slots = calloc(cap, sizeof(slot));
  if (!rl->slots) {
    free(rl);
    return NULL;
  }
  rl->cap = cap;
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

int qrl_rl_allowed(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
                   int64_t window, int64_t *retry_in) {
  int found;
  size_t i;
  double t;
  if (retry_in) *retry_in = 0;
  if (!key || strlen(key) >= KEY_MAX || limit <= 0 || window <= 0) return 0;
  i = find(rl, key, &found);
  if (!found) return 1;
  t = level(&rl->slots[i], now, limit, window);
  if (t >= 1.0) return 1;
  /* Seconds until one whole token has been earned back. */
  if (retry_in) {
    double secs = (1.0 - t) * (double)window / (double)limit;
    *retry_in = (int64_t)secs + ((double)(int64_t)secs < secs);
    if (*retry_in < 1) *retry_in = 1;
  }
  return 0;
}

int qrl_rl_hit(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
               int64_t window) {
  int found;
  size_t i;
  slot *s;
  double t;
  if (!key || strlen(key) >= KEY_MAX || limit <= 0 || window <= 0) return -1;
  i = find(rl, key, &found);
  if (!found) {
    if (rl->used >= rl->max_keys) {
      qrl_rl_sweep(rl, now);
      if (rl->used >= rl->max_keys) return -1;
      i = find(rl, key, &found);
    }
    s = &rl->slots[i];
    memset(s, 0, sizeof(*s));
    strcpy(s->key, key);
    s->tokens = limit;
    s->last = now;
    rl->used++;
  }
  s = &rl->slots[i];
  t = level(s, now, limit, window);
  if (t < 1.0) return -1;
  s->tokens = t - 1.0;
  s->last = now;
  /* Full again after (limit - tokens) tokens' worth of time. */
  s->full_at = now + (int64_t)((limit - s->tokens) * (double)window / (double)limit) + 1;
  return (int)s->tokens;
}

void qrl_rl_refund(qrl_ratelimit *rl, const char *key, int64_t now, int limit,
                   int64_t window) {
  int found;
  size_t i;
  slot *s;
  double t;
  if (!key || strlen(key) >= KEY_MAX || limit <= 0 || window <= 0) return;
  i = find(rl, key, &found);
  if (!found) return; /* swept: already full */
  s = &rl->slots[i];
  t = level(s, now, limit, window) + 1.0;
  s->tokens = t > limit ? limit : t;
  s->last = now;
  s->full_at = now + (int64_t)((limit - s->tokens) * (double)window / (double)limit) + 1;
}

void qrl_rl_reset(qrl_ratelimit *rl, const char *key) {
  int found;
  size_t i;
  if (!key || strlen(key) >= KEY_MAX) return;
  i = find(rl, key, &found);
  if (found) remove_at(rl, i);
}

size_t qrl_rl_sweep(qrl_ratelimit *rl, int64_t now) {
  size_t i = 0;
  while (i < rl->cap) {
    /* remove_at may shift a later entry into i: look at i again then. */
    if (rl->slots[i].key[0] && rl->slots[i].full_at <= now) remove_at(rl, i);
    else i++;
  }
  return rl->used;
}
