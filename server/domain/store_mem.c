/*
 * store_mem.c - the in-memory challenge store: a chained hash table keyed by
 * challenge id, owned by one thread (the event loop), so "atomic" is simply
 * "not interleaved". Terminal challenges linger so late requests get the
 * precise error; sweep() expires and drops them.
 *
 * Not here: persistence, cross-process fan-out (a Redis store would add both).
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

typedef struct mem_entry {
  qrl_challenge c;
  int64_t terminal_at; /* when a sweep first saw it terminal; 0 before */
  struct mem_entry *next;
} mem_entry;

typedef struct mem_store {
  qrl_store base; /* first: a mem_store is a qrl_store */
  mem_entry **buckets; /* owned */
  size_t nbuckets;     /* a power of two */
  size_t count;        /* entries, live and terminal */
  size_t nlive;
  size_t max_live;
  int64_t linger;
} mem_store;

static uint64_t hash_id(const char *id) {
  uint64_t h = 1469598103934665603ULL;
  for (; *id; id++) {
    h ^= (unsigned char)*id;
    h *= 1099511628211ULL;
  }
  return h;
}

static mem_entry **find_slot(mem_store *m, const char *id) {
  mem_entry **p = &m->buckets[hash_id(id) & (m->nbuckets - 1)];
  while (*p && strcmp((*p)->c.id, id) != 0) p = &(*p)->next;
  return p;
}

static int grow(mem_store *m) {
  size_t n = m->nbuckets * 2;
  mem_entry **nb = calloc(n, sizeof(*nb));
  if (!nb) return -1;
  for (size_t i = 0; i < m->nbuckets; i++) {
    mem_entry *e = m->buckets[i];
    while (e) {
      mem_entry *next = e->next;
      size_t b = hash_id(e->c.id) & (n - 1);
      e->next = nb[b];
      nb[b] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = nb;
  m->nbuckets = n;
  return 0;
}

/* Records that e's state changed from prev, keeping the live count. The
 * time it became terminal is noted by the next sweep (apply has no clock). */
static void note_change(mem_store *m, mem_entry *e, qrl_chal_state prev) {
  if (!qrl_chal_state_terminal(prev) && qrl_chal_state_terminal(e->c.state))
    m->nlive--;
}

static qrl_err mem_put(qrl_store *s, const qrl_challenge *c) {
  mem_store *m = (mem_store *)s;
  mem_entry **slot, *e;

  if (m->nlive >= m->max_live) return QRL_RATE_LIMITED;
  if (m->count + 1 > m->nbuckets && grow(m) != 0) return QRL_NOMEM;
  slot = find_slot(m, c->id);
  if (*slot) return QRL_INVAL;
  e = calloc(1, sizeof(*e));
  if (!e) return QRL_NOMEM;
  e->c = *c;
  *slot = e;
  m->count++;
  if (!qrl_chal_state_terminal(c->state)) m->nlive++;
  return QRL_OK;
}

static qrl_err mem_get(qrl_store *s, const char *id, qrl_challenge *out) {
  mem_entry *e = *find_slot((mem_store *)s, id);
  if (!e) return QRL_CHALLENGE_UNKNOWN;
  *out = e->c;
  return QRL_OK;
}

static qrl_err mem_apply(qrl_store *s, const char *id, qrl_store_fn fn,
                         void *arg, qrl_challenge *out) {
  mem_store *m = (mem_store *)s;
  mem_entry *e = *find_slot(m, id);
  qrl_challenge work;
  qrl_chal_state prev;
  qrl_err rc;

  if (!e) return QRL_CHALLENGE_UNKNOWN;
  work = e->c;
  prev = work.state;
  rc = fn(&work, arg);
  /* Kept on success, and when a refusal still moved the state (a
   * fail-closed transition such as a wrong matching number). */
  if (rc == QRL_OK || work.state != prev) {
    e->c = work;
    note_change(m, e, prev);
  }
  if (out) *out = e->c;
  if (prev != e->c.state && s->sink) s->sink(s->sink_ud, &e->c, prev);
  return rc;
}

static size_t mem_sweep(qrl_store *s, int64_t now) {
  mem_store *m = (mem_store *)s;
  size_t expired = 0, cap = 0;
  qrl_challenge *events = NULL;

  for (size_t i = 0; i < m->nbuckets; i++) {
    mem_entry **p = &m->buckets[i];
    while (*p) {
      mem_entry *e = *p;
      if (qrl_challenge_expire(&e->c, now)) {
        note_change(m, e, QRL_CHAL_PENDING);
        e->terminal_at = now;
        if (expired == cap) {
          size_t ncap = cap ? cap * 2 : 16;
          qrl_challenge *ne = realloc(events, ncap * sizeof(*ne));
          if (ne) {
            events = ne;
            cap = ncap;
          }
        }
        if (expired < cap) events[expired] = e->c;
        expired++;
      } else if (qrl_chal_state_terminal(e->c.state) && !e->terminal_at) {
        e->terminal_at = now;
      } else if (e->terminal_at && now - e->terminal_at >= m->linger) {
        *p = e->next;
        free(e);
        m->count--;
        continue;
      }
      p = &e->next;
    }
  }
  /* Events go out after the walk, so a sink may use the store. */
  for (size_t i = 0; i < expired && i < cap; i++)
    if (s->sink) s->sink(s->sink_ud, &events[i], QRL_CHAL_PENDING);
  free(events);
  return expired;
}

static size_t mem_live(qrl_store *s) { return ((mem_store *)s)->nlive; }

static void mem_destroy(qrl_store *s) {
  mem_store *m = (mem_store *)s;
  for (size_t i = 0; i < m->nbuckets; i++) {
    mem_entry *e = m->buckets[i];
    while (e) {
      mem_entry *next = e->next;
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  free(m);
}

static const qrl_store_ops mem_ops = {mem_put,   mem_get,  mem_apply,
                                      mem_sweep, mem_live, mem_destroy};

qrl_store *qrl_store_mem_new(size_t max_live, int64_t linger,
                             qrl_store_sink sink, void *sink_ud) {
  mem_store *m = calloc(1, sizeof(*m));
  if (!m) return NULL;
  m->nbuckets = 64;
  m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
  if (!m->buckets) {
    free(m);
    return NULL;
  }
  m->base.ops = &mem_ops;
  m->base.sink = sink;
  m->base.sink_ud = sink_ud;
  m->max_live = max_live;
  m->linger = linger;
  return &m->base;
}
