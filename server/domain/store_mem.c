/*
 * store_mem.c - the in-memory challenge store: a chained hash table keyed by
 * challenge id, owned by one thread (the event loop), so "atomic" is simply
 * "not interleaved". Terminal challenges linger so late requests get the
 * precise error; sweep() expires and drops them. Times are monotonic
 * milliseconds (clock.h); linger is in seconds.
 *
 * Live challenges are also counted per browser network (netaddr.h: an IPv4
 * address, an IPv6 /64) in a second table, so that one client cannot hold
 * every live code. A network's count goes up in put() and down at the one
 * place a challenge stops being live (note_change: completed, declined,
 * cancelled by its browser, or expired by sweep); a network whose count
 * drops to zero is forgotten.
 *
 * Secrets: a challenge holds its frame secret and the browser's binding.
 * Every copy this store makes is wiped (qrl_cleanse) before its memory is
 * freed or goes out of scope: entries dropped by sweep or by the store's
 * free, the sweep's event buffer, apply's working copy.
 *
 * Not here: persistence, cross-process fan-out (a Redis store would add both).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "helpers/netaddr.h"
#include "helpers/wheel.h"
#include "domain/store.h"

typedef struct mem_entry {
  qrl_wheel_node due; /* first: when the sweep must look at it next */
  qrl_challenge c;
  char net[QRL_NET_KEY_MAX]; /* the browser's network, counted while live */
  int64_t terminal_ms; /* monotonic ms when a sweep first saw it terminal */
  int terminal_seen;   /* terminal_ms is set */
  struct mem_entry *next;
} mem_entry;

/* The live challenges of one browser network. */
typedef struct net_count {
  char key[QRL_NET_KEY_MAX];
  size_t live; /* >= 1 while in the table */
  struct net_count *next;
} net_count;

typedef struct mem_store {
  qrl_store base; /* first: a mem_store is a qrl_store */
  mem_entry **buckets; /* owned */
  size_t nbuckets;     /* a power of two */
  size_t count;        /* entries, live and terminal */
  size_t nlive;
  size_t max_live;
  net_count **nets;    /* owned: live counts by network */
  size_t nnet_buckets; /* a power of two */
  size_t nnets;        /* networks with live challenges */
  size_t max_per_net;  /* 0: no limit */
  int64_t linger;
  qrl_wheel sweeps;    /* each entry at its expiry, or at the end of its linger */
} mem_store;

/* The sweep looks at an entry only when it is due: at its expiry while it
 * is live, at once when it became terminal (to note the time), then when
 * its linger is over - so a sweep costs what expires, not what is stored. */
#define SWEEP_SLOT_MS 250
#define SWEEP_SLOTS 4096 /* a turn of 17 minutes; longer waits wait a turn */

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

/* ---- live counts per network ---------------------------------------------- */

static net_count **net_slot(mem_store *m, const char *key) {
  net_count **p = &m->nets[hash_id(key) & (m->nnet_buckets - 1)];
  while (*p && strcmp((*p)->key, key) != 0) p = &(*p)->next;
  return p;
}

static size_t net_live(mem_store *m, const char *key) {
  net_count *n = *net_slot(m, key);
  return n ? n->live : 0;
}

static int nets_grow(mem_store *m) {
  size_t n = m->nnet_buckets * 2;
  net_count **nb = calloc(n, sizeof(*nb));
  if (!nb) return -1;
  for (size_t i = 0; i < m->nnet_buckets; i++) {
    net_count *e = m->nets[i];
    while (e) {
      net_count *next = e->next;
      size_t b = hash_id(e->key) & (n - 1);
      e->next = nb[b];
      nb[b] = e;
      e = next;
    }
  }
  free(m->nets);
  m->nets = nb;
  m->nnet_buckets = n;
  return 0;
}

/* Counts one more live challenge of network key. 0, or -1 (no memory:
 * nothing counted). */
static int net_add(mem_store *m, const char *key) {
  net_count **slot, *n;
  if (m->nnets + 1 > m->nnet_buckets && nets_grow(m) != 0) return -1;
  slot = net_slot(m, key);
  if (*slot) {
    (*slot)->live++;
    return 0;
  }
  if (!(n = calloc(1, sizeof(*n)))) return -1;
  memcpy(n->key, key, sizeof(n->key));
  n->live = 1;
  *slot = n;
  m->nnets++;
  return 0;
}

/* Counts one live challenge of network key less; forgets the network at 0. */
static void net_drop(mem_store *m, const char *key) {
  net_count **slot = net_slot(m, key), *n = *slot;
  if (!n) return; /* never counted: cannot happen */
  if (--n->live) return;
  *slot = n->next;
  free(n);
  m->nnets--;
}

/* ---- challenges ------------------------------------------------------------ */

/* Wipes and frees an entry (NULL-safe). */
static void entry_free(mem_entry *e) {
  if (!e) return;
  qrl_cleanse(e, sizeof(*e));
  free(e);
}

/* Records that e's state changed from prev, keeping the live count. The
 * time it became terminal is noted by the next sweep (apply has no clock). */
static void note_change(mem_store *m, mem_entry *e, qrl_chal_state prev) {
  if (!qrl_chal_state_terminal(prev) && qrl_chal_state_terminal(e->c.state)) {
    m->nlive--;
    net_drop(m, e->net);
    if (!e->terminal_seen) qrl_wheel_schedule(&m->sweeps, &e->due, 0); /* the next sweep */
  }
}

static qrl_err mem_put(qrl_store *s, const qrl_challenge *c) {
  mem_store *m = (mem_store *)s;
  mem_entry **slot, *e;
  char net[QRL_NET_KEY_MAX];
  int live = !qrl_chal_state_terminal(c->state);

  if (qrl_challenge_check(c)) return QRL_INVAL;
  if (m->nlive >= m->max_live) return QRL_SERVER_BUSY; /* the server's limit, not the client's */
  qrl_ip_network_key(c->browser_ip, net);
  /* ... and one network's: other networks still get codes. */
  if (live && m->max_per_net && net_live(m, net) >= m->max_per_net)
    return QRL_TOO_MANY_CHALLENGES_IP;
  if (m->count + 1 > m->nbuckets && grow(m) != 0) return QRL_NOMEM;
  slot = find_slot(m, c->id);
  if (*slot) return QRL_INVAL;
  e = calloc(1, sizeof(*e));
  if (!e) return QRL_NOMEM;
  if (live && net_add(m, net) != 0) {
    free(e);
    return QRL_NOMEM;
  }
  e->c = *c;
  memcpy(e->net, net, sizeof(e->net));
  *slot = e;
  m->count++;
  if (live) m->nlive++;
  qrl_wheel_schedule(&m->sweeps, &e->due, live ? c->expires_ms : 0);
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
  /* A change the transition table does not allow, or that breaks the
   * state's invariants, is a bug: refused, the stored challenge untouched. */
  if ((rc == QRL_OK || work.state != prev) &&
      (!qrl_challenge_allowed(prev, work.state) || qrl_challenge_check(&work))) {
    fprintf(stderr, "qrlogin: store: refused an invalid challenge change (%s -> %s)\n",
            qrl_chal_state_name(prev), qrl_chal_state_name(work.state));
    rc = QRL_INTERNAL;
    work = e->c;
  }
  /* Kept on success, and when a refusal still moved the state (a
   * fail-closed transition such as a wrong matching number). */
  if (rc == QRL_OK || work.state != prev) {
    e->c = work;
    note_change(m, e, prev);
  }
  qrl_cleanse(&work, sizeof(work));
  if (out) *out = e->c;
  if (prev != e->c.state && s->sink) s->sink(s->sink_ud, &e->c, prev);
  return rc;
}

/* Grows the event buffer to ncap copies without realloc, which would free
 * the old block unwiped. 0, or -1 (the buffer is left as it was). */
static int events_grow(qrl_challenge **events, size_t *cap, size_t ncap) {
  qrl_challenge *ne = malloc(ncap * sizeof(*ne));
  if (!ne) return -1;
  if (*events) {
    memcpy(ne, *events, *cap * sizeof(*ne));
    qrl_cleanse(*events, *cap * sizeof(**events));
    free(*events);
  }
  *events = ne;
  *cap = ncap;
  return 0;
}

/* What one sweep collects: the expired challenges' copies for the events. */
typedef struct sweep_ctx {
  mem_store *m;
  int64_t now_ms;
  qrl_challenge *events;
  size_t expired, cap;
} sweep_ctx;

/* An entry came due: expire it, note when it became terminal, or drop it
 * once its linger is over; schedule it again for what comes next. */
static void sweep_due(qrl_wheel_node *n, void *arg) {
  sweep_ctx *x = arg;
  mem_store *m = x->m;
  mem_entry *e = (mem_entry *)n;
  int64_t now_ms = x->now_ms;

  if (qrl_challenge_expire(&e->c, now_ms)) {
    note_change(m, e, QRL_CHAL_PENDING);
    e->terminal_ms = now_ms;
    e->terminal_seen = 1;
    if (x->expired == x->cap) events_grow(&x->events, &x->cap, x->cap ? x->cap * 2 : 16);
    if (x->expired < x->cap) x->events[x->expired] = e->c;
    x->expired++;
  } else if (!qrl_chal_state_terminal(e->c.state)) {
    qrl_wheel_schedule(&m->sweeps, n, e->c.expires_ms); /* not yet */
    return;
  } else if (!e->terminal_seen) {
    e->terminal_ms = now_ms;
    e->terminal_seen = 1;
  } else if (now_ms - e->terminal_ms >= m->linger * 1000) {
    mem_entry **p = find_slot(m, e->c.id);
    *p = e->next;
    entry_free(e);
    m->count--;
    return;
  }
  qrl_wheel_schedule(&m->sweeps, n, e->terminal_ms + m->linger * 1000);
}

static size_t mem_sweep(qrl_store *s, int64_t now_ms) {
  mem_store *m = (mem_store *)s;
  sweep_ctx x = {m, now_ms, NULL, 0, 0};

  qrl_wheel_advance(&m->sweeps, now_ms, sweep_due, &x);
  /* Events go out after the walk, so a sink may use the store. */
  for (size_t i = 0; i < x.expired && i < x.cap; i++)
    if (s->sink) s->sink(s->sink_ud, &x.events[i], QRL_CHAL_PENDING);
  if (x.events) qrl_cleanse(x.events, x.cap * sizeof(*x.events));
  free(x.events);
  return x.expired;
}

static size_t mem_live(qrl_store *s) { return ((mem_store *)s)->nlive; }

static size_t mem_live_from(qrl_store *s, const char *ip) {
  char net[QRL_NET_KEY_MAX];
  qrl_ip_network_key(ip, net);
  return net_live((mem_store *)s, net);
}

static void mem_destroy(qrl_store *s) {
  mem_store *m = (mem_store *)s;
  for (size_t i = 0; m->buckets && i < m->nbuckets; i++) {
    mem_entry *e = m->buckets[i];
    while (e) {
      mem_entry *next = e->next;
      entry_free(e);
      e = next;
    }
  }
  for (size_t i = 0; m->nets && i < m->nnet_buckets; i++) {
    net_count *n = m->nets[i];
    while (n) {
      net_count *next = n->next;
      free(n);
      n = next;
    }
  }
  free(m->buckets);
  free(m->nets);
  qrl_wheel_free(&m->sweeps);
  free(m);
}

static const qrl_store_ops mem_ops = {mem_put,  mem_get,       mem_apply,  mem_sweep,
                                      mem_live, mem_live_from, mem_destroy};

qrl_store *qrl_store_mem_new(size_t max_live, size_t max_per_net, int64_t linger,
                             qrl_store_sink sink, void *sink_ud) {
  mem_store *m = calloc(1, sizeof(*m));
  if (!m) return NULL;
  m->base.ops = &mem_ops;
  m->nbuckets = m->nnet_buckets = 64;
  m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
  m->nets = calloc(m->nnet_buckets, sizeof(*m->nets));
  if (!m->buckets || !m->nets ||
      qrl_wheel_init(&m->sweeps, SWEEP_SLOT_MS, SWEEP_SLOTS, 0) != QRL_OK) {
    mem_destroy(&m->base);
    return NULL;
  }
  m->base.sink = sink;
  m->base.sink_ud = sink_ud;
  m->max_live = max_live;
  m->max_per_net = max_per_net;
  m->linger = linger;
  return &m->base;
}
