/*
 * ratelimit.c - see ratelimit.h. Token buckets: a key holds up to `limit`
 * tokens and earns them back at limit/window per second; a hit spends one.
 * Times are monotonic milliseconds.
 *
 * A table is open addressing with linear probing over a power-of-two number
 * of slots kept at most half full; deletion by backward shift, so probes
 * never need tombstones. Its slots live in chunks of CHUNK_SLOTS (a table
 * smaller than that is one chunk), so a table is allocated, cleared and
 * freed a chunk at a time.
 *
 * Growth is incremental, like redis' dict, in three phases; every call
 * (hit, allowed, refund, reset) does one bounded step of the current one:
 *
 *   IDLE ──key past 1/4 load──► PREPARING ──t[1] cleared──► MOVING ──t[0] done──► IDLE
 *          (directory of t[1])  STEP_ZERO slots per step     STEP_MOVE slots per step
 *
 *   PREPARING  t[1] (twice the slots) gets its chunks, malloc'ed and cleared
 *              STEP_ZERO slots per step: first-touch page faults are paid a
 *              few KB per call, never for the whole table. Keys still go to
 *              t[0].
 *   MOVING     new keys go to t[1]; t[0] only loses keys. A step first looks
 *              for an empty slot of t[0] (`start`: no probe run crosses it,
 *              as t[0] takes no inserts), then walks t[0] cyclically from it,
 *              moving each key to t[1] (or dropping it if its bucket is full)
 *              and clearing its slot without a backward shift. The `moved`
 *              slots after start are the done region: a lookup in t[0] whose
 *              home is there starts probing at the first slot not done (the
 *              run it was in carries on there), others probe as usual and
 *              stop at start at the latest. A chunk of t[0] is freed when
 *              the walk leaves it (start's chunk at the end).
 *
 * The deadlines hold by counting: growth starts when a key would pass 1/4
 * of t[0]; t[0] may reach 1/2, so at least cap/4 more keys (each a step)
 * arrive before it is full, while preparing takes 2*cap/STEP_ZERO = cap/16
 * steps and moving (cap + the search for start)/STEP_MOVE <= cap/8 steps.
 * If a table would pass half full anyway (an allocation kept failing), the
 * new key is refused. A sweep spends its budget on moving first (dropping
 * full buckets as it goes), then walks the current table behind a cursor.
 */
#include "domain/ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 16
#define CHUNK_SHIFT 9
#define CHUNK_SLOTS ((size_t)1 << CHUNK_SHIFT) /* 60 KB of slots */
/* Slots of the new table cleared per step (~3.75 KB: one or two pages). */
#define STEP_ZERO 32
/* Slots of the old table moved (or passed, if empty) per step. */
#define STEP_MOVE 16
/* Slots a new key sweeps when the table is at max_keys: bounded work on the
 * hit path, and a flood of new keys sweeps the table as it goes. */
#define FULL_SWEEP_BUDGET 256
#define NONE ((size_t)-1) /* no slot */

typedef struct slot {
  char key[QRL_RL_KEY_MAX + 1]; /* "" = empty */
  double tokens;                /* as of `last` */
  int64_t last;                 /* ms: when tokens was computed */
  int64_t full_at;              /* ms: when the bucket is full again: droppable */
} slot;

typedef struct table {
  slot **chunk; /* owned: cap / chunk_slots() pointers, each owned or NULL */
  size_t cap;   /* power of two */
  size_t used;
} table;

enum { IDLE, PREPARING, MOVING };

struct qrl_ratelimit {
  table t[2];      /* t[0]: the table, the old one while MOVING; t[1]: the new one */
  int phase;
  size_t zeroed;   /* PREPARING: slots of t[1] cleared so far */
  size_t scan;     /* MOVING: next slot of t[0] looked at for start */
  size_t start;    /* MOVING: an empty slot of t[0], or NONE until found */
  size_t moved;    /* MOVING: slots of t[0] done from start on */
  size_t max_cap;  /* the cap max_keys needs at half load */
  size_t used;     /* keys in both tables */
  size_t max_keys;
  size_t cursor;   /* where the next sweep starts in the current table */
  size_t bytes;    /* held: this struct, directories, chunks */
  qrl_rl_stats st;
};

static size_t chunk_slots(const table *t) {
  return t->cap < CHUNK_SLOTS ? t->cap : CHUNK_SLOTS;
}

static size_t nchunks(const table *t) { return t->cap / chunk_slots(t); }

static slot *at(const table *t, size_t i) {
  return &t->chunk[i >> CHUNK_SHIFT][i & (CHUNK_SLOTS - 1)];
}

/* The table new keys go to and the sweep walks. */
static table *current(qrl_ratelimit *rl) {
  return rl->phase == MOVING ? &rl->t[1] : &rl->t[0];
}

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
  rl->t[0].chunk = calloc(1, sizeof(slot *));
  if (rl->t[0].chunk) rl->t[0].chunk[0] = calloc(MIN_SLOTS, sizeof(slot));
  if (!rl->t[0].chunk || !rl->t[0].chunk[0]) {
    free(rl->t[0].chunk);
    free(rl);
    return NULL;
  }
  rl->t[0].cap = MIN_SLOTS;
  rl->max_cap = max_cap;
  rl->max_keys = max_keys;
  rl->bytes = sizeof(*rl) + sizeof(slot *) + MIN_SLOTS * sizeof(slot);
  return rl;
}

/* Frees every chunk of t and its directory (the destructor's walk). */
static void table_free(table *t) {
  if (!t->chunk) return;
  for (size_t c = 0; c < nchunks(t); c++) free(t->chunk[c]);
  free(t->chunk);
  t->chunk = NULL;
}

void qrl_rl_free(qrl_ratelimit *rl) {
  if (!rl) return;
  table_free(&rl->t[0]);
  table_free(&rl->t[1]);
  free(rl);
}

/* The index of key's slot in t, probing from slot i; NONE if absent. */
static size_t probe(const table *t, size_t i, const char *key) {
  for (;; i = (i + 1) & (t->cap - 1)) {
    const slot *s = at(t, i);
    if (!s->key[0]) return NONE;
    if (strcmp(s->key, key) == 0) return i;
  }
}

/* The slot of key (hash h) in whichever table holds it, or NULL; *in is its
 * table and *pos its index there. */
static slot *lookup(qrl_ratelimit *rl, const char *key, uint64_t h, table **in,
                    size_t *pos) {
  table *o = &rl->t[0];
  size_t mask = o->cap - 1, i = (size_t)h & mask;
  if (rl->phase == MOVING && rl->start != NONE &&
      ((i - rl->start) & mask) < rl->moved)
    i = (rl->start + rl->moved) & mask; /* home already done: its run goes on here */
  *in = o;
  *pos = probe(o, i, key);
  if (*pos == NONE && rl->phase == MOVING) {
    *in = &rl->t[1];
    *pos = probe(*in, (size_t)h & ((*in)->cap - 1), key);
  }
  return *pos == NONE ? NULL : at(*in, *pos);
}

/* The empty slot key (hash h, known absent) goes to in t. */
static slot *place(table *t, uint64_t h) {
  size_t i = (size_t)h & (t->cap - 1);
  while (at(t, i)->key[0]) i = (i + 1) & (t->cap - 1);
  return at(t, i);
}

/* Empties slot i of t, shifting back the entries whose run passed it. */
static void remove_at(qrl_ratelimit *rl, table *t, size_t i) {
  size_t j = i, mask = t->cap - 1;
  at(t, i)->key[0] = '\0';
  t->used--;
  rl->used--;
  for (;;) {
    size_t home;
    j = (j + 1) & mask;
    if (!at(t, j)->key[0]) return;
    home = (size_t)hash(at(t, j)->key) & mask;
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      *at(t, i) = *at(t, j);
      at(t, j)->key[0] = '\0';
      i = j;
    }
  }
}

/* Starts a doubling: t[1] gets its (empty) directory; its chunks come in
 * prepare(). Nothing happens on allocation failure (tried again later). */
static void grow_start(qrl_ratelimit *rl) {
  table *n = &rl->t[1];
  n->cap = rl->t[0].cap * 2;
  n->used = 0;
  n->chunk = calloc(nchunks(n), sizeof(slot *));
  if (!n->chunk) {
    n->cap = 0;
    return;
  }
  rl->bytes += nchunks(n) * sizeof(slot *);
  rl->zeroed = 0;
  rl->phase = PREPARING;
}

/* Clears up to n more slots of t[1], allocating chunks as it reaches them;
 * when all are clear, moving starts and the sweep walk starts over in t[1]. */
static void prepare(qrl_ratelimit *rl, size_t n) {
  table *t = &rl->t[1];
  size_t cs = chunk_slots(t);
  while (n > 0 && rl->zeroed < t->cap) {
    size_t c = rl->zeroed / cs, off = rl->zeroed % cs, k = cs - off;
    if (!t->chunk[c]) {
      t->chunk[c] = malloc(cs * sizeof(slot));
      if (!t->chunk[c]) return; /* no memory: try again next step */
      rl->bytes += cs * sizeof(slot);
    }
    if (k > n) k = n;
    memset(&t->chunk[c][off], 0, k * sizeof(slot));
    rl->zeroed += k;
    rl->st.last_zeroed += k;
    n -= k;
  }
  if (rl->zeroed < t->cap) return;
  rl->phase = MOVING;
  rl->scan = 0;
  rl->start = NONE;
  rl->moved = 0;
  rl->cursor = 0;
}

/* t[0] is empty: t[1] takes its place. */
static void grow_finish(qrl_ratelimit *rl) {
  table *o = &rl->t[0];
  free(o->chunk[rl->start / chunk_slots(o)]);
  rl->bytes -= chunk_slots(o) * sizeof(slot) + nchunks(o) * sizeof(slot *);
  free(o->chunk);
  *o = rl->t[1];
  memset(&rl->t[1], 0, sizeof(rl->t[1]));
  rl->phase = IDLE;
  rl->st.growths++;
}

/* Does up to n slots of the MOVING walk over t[0]: keys move to t[1], or
 * are dropped if their bucket is full at now_ms. Returns the slots done. */
static size_t move(qrl_ratelimit *rl, int64_t now_ms, size_t n) {
  table *o = &rl->t[0];
  size_t done = 0, cs = chunk_slots(o), mask = o->cap - 1;
  while (done < n && rl->phase == MOVING) {
    size_t i;
    slot *s;
    done++;
    if (rl->start == NONE) { /* t[0] is at most half full: one is empty */
      if (!at(o, rl->scan)->key[0]) rl->start = rl->scan;
      else rl->scan++;
      continue;
    }
    i = (rl->start + rl->moved) & mask;
    s = at(o, i);
    if (s->key[0]) {
      if (s->full_at <= now_ms) {
        rl->used--;
      } else {
        *place(&rl->t[1], hash(s->key)) = *s;
        rl->t[1].used++;
      }
      s->key[0] = '\0';
      o->used--;
    }
    if (i % cs == cs - 1 && i / cs != rl->start / cs) {
      free(o->chunk[i / cs]); /* the walk has left this chunk for good */
      o->chunk[i / cs] = NULL;
      rl->bytes -= cs * sizeof(slot);
    }
    if (++rl->moved == o->cap) grow_finish(rl);
  }
  rl->st.last_moved += done;
  return done;
}

/* One bounded step of the growth under way, if any. */
static void step(qrl_ratelimit *rl, int64_t now_ms) {
  if (rl->phase == PREPARING) prepare(rl, STEP_ZERO);
  else if (rl->phase == MOVING) move(rl, now_ms, STEP_MOVE);
}

static void call_begin(qrl_ratelimit *rl) {
  rl->st.last_zeroed = 0;
  rl->st.last_moved = 0;
}

static void call_end(qrl_ratelimit *rl) {
  if (rl->st.last_zeroed > rl->st.max_zeroed) rl->st.max_zeroed = rl->st.last_zeroed;
  if (rl->st.last_moved > rl->st.max_moved) rl->st.max_moved = rl->st.last_moved;
}

static size_t sweep(qrl_ratelimit *rl, int64_t now_ms, size_t budget) {
  table *t;
  size_t i;
  if (rl->phase == MOVING) budget -= move(rl, now_ms, budget);
  t = current(rl);
  i = rl->cursor & (t->cap - 1);
  while (budget-- > 0 && t->used > 0) {
    /* remove_at may shift a later entry into i: look at i again then (it
     * counts against the budget, so a call stays bounded). */
    if (at(t, i)->key[0] && at(t, i)->full_at <= now_ms) remove_at(rl, t, i);
    else i = (i + 1) & (t->cap - 1);
  }
  rl->cursor = i;
  return rl->used;
}

int qrl_rl_allowed(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window, int64_t *retry_in) {
  int rc = 1;
  table *in;
  size_t pos;
  slot *s;
  double t;
  if (retry_in) *retry_in = 0;
  if (!rule_ok(key, limit, window)) return 0;
  call_begin(rl);
  step(rl, now_ms);
  s = lookup(rl, key, hash(key), &in, &pos);
  if (!s) goto out;
  t = level(s, now_ms, limit, window);
  if (t >= 1.0) goto out;
  rc = 0;
  /* Seconds until one whole token has been earned back. */
  if (retry_in) {
    double secs = (1.0 - t) * (double)window / (double)limit;
    *retry_in = (int64_t)ceil(secs);
    if (*retry_in < 1) *retry_in = 1;
  }
out:
  call_end(rl);
  return rc;
}

/* key's slot, added with a full bucket if absent; NULL if the table is full
 * of live keys or cannot grow. */
static slot *find_or_add(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit) {
  uint64_t h = hash(key);
  table *in;
  size_t pos;
  slot *s = lookup(rl, key, h, &in, &pos);
  if (s) return s;
  if (rl->used >= rl->max_keys) {
    sweep(rl, now_ms, FULL_SWEEP_BUDGET);
    if (rl->used >= rl->max_keys) return NULL; /* full of live keys */
  }
  if (rl->phase == IDLE && rl->t[0].cap < rl->max_cap && (rl->used + 1) * 4 > rl->t[0].cap)
    grow_start(rl);
  in = current(rl);
  if ((in->used + 1) * 2 > in->cap) return NULL; /* no memory to grow */
  s = place(in, h);
  memset(s, 0, sizeof(*s));
  memcpy(s->key, key, strlen(key) + 1);
  s->tokens = limit;
  s->last = now_ms;
  in->used++;
  rl->used++;
  return s;
}

int qrl_rl_hit(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
               int64_t window) {
  int rc = -1;
  slot *s;
  double t;
  if (!rule_ok(key, limit, window)) return -1;
  call_begin(rl);
  step(rl, now_ms);
  if (!(s = find_or_add(rl, key, now_ms, limit))) goto out;
  t = level(s, now_ms, limit, window);
  if (t < 1.0) goto out;
  s->tokens = t - 1.0;
  s->last = now_ms;
  s->full_at = full_at(s, now_ms, limit, window);
  rc = (int)s->tokens;
out:
  call_end(rl);
  return rc;
}

void qrl_rl_refund(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
                   int64_t window) {
  table *in;
  size_t pos;
  slot *s;
  double t;
  if (!rule_ok(key, limit, window)) return;
  call_begin(rl);
  step(rl, now_ms);
  s = lookup(rl, key, hash(key), &in, &pos);
  if (s) { /* else swept: already full */
    t = level(s, now_ms, limit, window) + 1.0;
    s->tokens = t > limit ? limit : t;
    s->last = now_ms;
    s->full_at = full_at(s, now_ms, limit, window);
  }
  call_end(rl);
}

int qrl_rl_cap(qrl_ratelimit *rl, const char *key, int64_t now_ms, int limit,
               int64_t window, double tokens) {
  int rc = 0;
  slot *s;
  if (!rule_ok(key, limit, window)) return -1;
  if (tokens < -limit) tokens = -limit;
  if (tokens >= limit) return 0; /* a full bucket is no lower than any */
  call_begin(rl);
  step(rl, now_ms);
  if (!(s = find_or_add(rl, key, now_ms, limit))) {
    rc = -1;
    goto out;
  }
  if (level(s, now_ms, limit, window) > tokens) {
    s->tokens = tokens;
    s->last = now_ms;
    s->full_at = full_at(s, now_ms, limit, window);
  }
out:
  call_end(rl);
  return rc;
}

void qrl_rl_reset(qrl_ratelimit *rl, const char *key) {
  table *in;
  size_t pos;
  slot *s;
  if (!key_ok(key)) return;
  call_begin(rl);
  step(rl, INT64_MIN); /* no time here: moves keys, drops none */
  s = lookup(rl, key, hash(key), &in, &pos);
  if (s) remove_at(rl, in, pos);
  call_end(rl);
}

size_t qrl_rl_sweep(qrl_ratelimit *rl, int64_t now_ms, size_t budget) {
  size_t left;
  call_begin(rl);
  left = sweep(rl, now_ms, budget);
  call_end(rl);
  return left;
}

size_t qrl_rl_keys(const qrl_ratelimit *rl) { return rl->used; }

size_t qrl_rl_bytes(const qrl_ratelimit *rl) { return rl->bytes; }

void qrl_rl_get_stats(const qrl_ratelimit *rl, qrl_rl_stats *out) {
  *out = rl->st;
  out->growing = rl->phase;
  out->old_keys = rl->phase == MOVING ? rl->t[0].used : 0;
}
