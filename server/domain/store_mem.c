/*
 * store_mem.c - the in-memory challenge store: a chained hash table keyed by
 * challenge id, owned by one thread (the event loop), so "atomic" is simply
 * "not interleaved". Terminal challenges linger so late requests get the
 * precise error; sweep() expires and drops them. Times are monotonic
 * milliseconds (clock.h); linger is in seconds.
 *
 * Live challenges are also counted per browser network (netaddr.h: an IPv4
 * address, an IPv6 /64) in a second table, so that one client cannot hold
 * every live code. A network's live count goes up in put() and down at the
 * one place a challenge stops being live (note_change: completed, declined,
 * cancelled by its browser, or expired by sweep); a network is forgotten
 * when no entry refers to it any more.
 *
 * Memory (issue 14: a waiting login page must stay small): an entry is not a
 * qrl_challenge (712 bytes, mostly empty or repeated text) but one
 * allocation packed from it - put() packs, get() and apply() unpack:
 *   - the fixed-size fields, and the ids and secrets as they are;
 *   - the portal name and origin and the user agent as pointers to shared
 *     copies (helpers/intern.h: a few portals and browsers serve thousands
 *     of pages);
 *   - a pointer to its network's entry in the per-network table; the browser
 *     address itself only when it is not that network's key (an IPv4
 *     address is its own key, so only IPv6 and odd text are kept);
 *   - what a scan sets (account, device, frame, match number, choices) only
 *     once it is set: a pending page has none of it.
 * A pending page from an IPv4 address is a 224-byte entry, a 32-byte block
 * for its network (unless it shares one) and its share of the two bucket
 * arrays: 289 bytes of heap per page in qrl_bench_store at 100,000 pages
 * (273 before the relying portal's request id became a field: a pointer,
 * NULL for most pages), a user agent of its own adds ~180 (the unpacked
 * entries took 913).
 * An entry that changes size (its first scan) is moved to a new allocation.
 * Strings come back as they went in, up to their NUL; the bytes after it
 * come back zero. Adding a field to qrl_challenge means adding it to
 * pack/unpack: a static assertion on its size says so.
 *
 * Secrets: a challenge holds its frame secret and the browser's binding.
 * Every copy this store makes is wiped (qrl_cleanse) before its memory is
 * freed or goes out of scope: entries dropped by sweep, moved by a scan or
 * freed with the store, the sweep's event buffer, apply's working copy. The
 * shared strings hold no secret.
 *
 * Not here: persistence, cross-process fan-out (a Redis store would add both).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "helpers/intern.h"
#include "helpers/netaddr.h"
#include "helpers/wheel.h"
#include "domain/store.h"

/* pack()/unpack() copy every field of qrl_challenge by name: a new field
 * must be added there (and to the round-trip test), then this size. (A
 * field that fits in padding leaves the size alone - `why` did, after
 * `state` - so read the struct too.) */
_Static_assert(sizeof(qrl_challenge) == 736 || sizeof(void *) != 8,
               "qrl_challenge changed: update pack() and unpack() in store_mem.c");

/* The live challenges of one browser network, and the entries that name it. */
typedef struct net_count {
  struct net_count *next;
  uint32_t refs; /* entries of this network, live or lingering: >= 1 in the table */
  uint32_t live; /* of them, live */
  char key[];    /* qrl_ip_network_key() */
} net_count;

/* What a scan sets, and why a scanned challenge was declined (only a
 * scanned one can be: qrl_challenge_check); absent (all zero) before the
 * first scan. */
typedef struct scan_part {
  int64_t device_id;
  uint64_t phone_conn;
  int64_t scanned_ms;
  qrl_qr_payload scanned;
  int match, far;
  int choices[QRL_MATCH_CHOICES];
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  unsigned char why; /* a qrl_chal_why: in the padding, the part is no bigger */
} scan_part;

enum {
  E_TERMINAL_SEEN = 1, /* a sweep has seen it terminal: its linger runs */
  E_SCAN = 2,          /* a scan_part follows the entry */
  E_IP = 4             /* the browser address (NUL-terminated) follows, after the scan_part */
};

typedef struct mem_entry {
  qrl_wheel_node due; /* first: when the sweep must look at it next */
  struct mem_entry *next;
  net_count *net;            /* the browser's network (shared) */
  const char *portal_name;   /* shared (intern.h), NULL for "" */
  const char *portal_origin; /* shared, NULL for "" */
  const char *browser_ua;    /* shared, NULL for "" */
  const char *oidc_req;      /* shared (one page's), NULL for "" */
  int64_t created_at, created_ms, expires_ms, frame_secs;
  uint64_t browser_conn;
  int kiosk;
  unsigned char state; /* a qrl_chal_state */
  unsigned char flags; /* E_* */
  char id[QRL_TOKEN_B64LEN + 1];
  char secret[QRL_TOKEN_B64LEN + 1];
  char binding[QRL_TOKEN_B64LEN + 1];
  char flow[QRL_UUID_STRLEN + 1];
  /* then a scan_part if E_SCAN, then the browser address if E_IP */
} mem_entry;

_Static_assert(sizeof(mem_entry) % _Alignof(scan_part) == 0, "scan_part follows aligned");

typedef struct mem_store {
  qrl_store base; /* first: a mem_store is a qrl_store */
  mem_entry **buckets; /* owned */
  size_t nbuckets;     /* a power of two */
  size_t count;        /* entries, live and terminal */
  size_t nlive;
  size_t max_live;
  net_count **nets;    /* owned: the networks entries name */
  size_t nnet_buckets; /* a power of two */
  size_t nnets;        /* networks in the table */
  size_t max_per_net;  /* 0: no limit */
  int64_t linger;
  qrl_intern *strs;    /* owned: portal names, origins, user agents */
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
  while (*p && strcmp((*p)->id, id) != 0) p = &(*p)->next;
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
      size_t b = hash_id(e->id) & (n - 1);
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

/* ---- networks --------------------------------------------------------------- */

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

/* One more entry of network key (not counted live yet). Returns the
 * network, or NULL (no memory: nothing taken). */
static net_count *net_take(mem_store *m, const char *key) {
  net_count **slot, *n;
  size_t len = strlen(key);
  if (m->nnets + 1 > m->nnet_buckets && nets_grow(m) != 0) return NULL;
  slot = net_slot(m, key);
  if ((n = *slot)) {
    if (n->refs == UINT32_MAX) return NULL;
    n->refs++;
    return n;
  }
  if (!(n = calloc(1, sizeof(*n) + len + 1))) return NULL;
  memcpy(n->key, key, len + 1);
  n->refs = 1;
  *slot = n;
  m->nnets++;
  return n;
}

/* One entry of network n less; forgets the network when none is left. */
static void net_release(mem_store *m, net_count *n) {
  net_count **slot;
  if (--n->refs) return;
  slot = &m->nets[hash_id(n->key) & (m->nnet_buckets - 1)];
  while (*slot != n) slot = &(*slot)->next;
  *slot = n->next;
  free(n);
  m->nnets--;
}

/* ---- packing ------------------------------------------------------------------ */

static scan_part *scan_of(const mem_entry *e) {
  return (e->flags & E_SCAN) ? (scan_part *)(void *)(e + 1) : NULL;
}

static char *ip_of(const mem_entry *e) {
  return (char *)(e + 1) + ((e->flags & E_SCAN) ? sizeof(scan_part) : 0);
}

/* The length of string field f (an array), up to its NUL or its last byte. */
#define FIELD_LEN(f) strnlen((f), sizeof(f) - 1)

/* Copies string field src (an array) into the array dst of the same size,
 * NUL-terminated; the rest of dst is left as it was. */
#define FIELD_COPY(dst, src)                                                  \
  do {                                                                        \
    size_t n_ = FIELD_LEN(src);                                               \
    memcpy((dst), (src), n_);                                                 \
    (dst)[n_] = '\0';                                                         \
  } while (0)

/* c's scan part, zero (padding too) where unset. 1 if any of it is set. */
static int scan_get(const qrl_challenge *c, scan_part *sp) {
  static const scan_part none;
  memset(sp, 0, sizeof(*sp));
  sp->device_id = c->device_id;
  sp->phone_conn = c->phone_conn;
  sp->scanned_ms = c->scanned_ms;
  FIELD_COPY(sp->scanned.id, c->scanned.id);
  sp->scanned.frame = c->scanned.frame;
  FIELD_COPY(sp->scanned.code, c->scanned.code);
  sp->match = c->match;
  sp->far = c->far;
  memcpy(sp->choices, c->choices, sizeof(sp->choices));
  FIELD_COPY(sp->citizen_id, c->citizen_id);
  sp->why = (unsigned char)c->why;
  return memcmp(sp, &none, sizeof(*sp)) != 0;
}

/* What an entry for c needs besides its fixed part, taken before it is
 * written so that a failure changes nothing. */
typedef struct pack_plan {
  scan_part scan;
  int has_scan;
  size_t ip_len; /* with its NUL; 0 when the address is the network's key */
  size_t size;   /* of the whole entry */
  const char *name, *origin, *ua, *oidc; /* shared references taken for the entry */
} pack_plan;

#define FIELD_SIZE(f) sizeof(((qrl_challenge *)NULL)->f)
_Static_assert(FIELD_SIZE(portal_name) <= FIELD_SIZE(browser_ua) &&
                   FIELD_SIZE(portal_origin) <= FIELD_SIZE(browser_ua),
               "str_take()'s buffer holds any of the shared strings");

/* Takes a shared reference to string field s, or reuses old (a reference the
 * entry already holds) if it is the same text. NULL for "". -1 if no
 * memory. */
static int str_take(mem_store *m, const char *s, size_t cap, const char *old, const char **out) {
  char buf[FIELD_SIZE(browser_ua)];
  size_t n = strnlen(s, cap - 1);
  *out = NULL;
  if (!n) return 0;
  if (old && strncmp(old, s, n) == 0 && old[n] == '\0') {
    *out = old;
    return 0;
  }
  if (s[n] != '\0') { /* an unterminated array: its last byte is cut */
    memcpy(buf, s, n);
    buf[n] = '\0';
    s = buf;
  }
  return (*out = qrl_intern_take(m->strs, s)) ? 0 : -1;
}

/* Drops the shared references of p that old (NULL: none) does not also hold. */
static void plan_drop(mem_store *m, const pack_plan *p, const mem_entry *old) {
  if (p->name != (old ? old->portal_name : NULL)) qrl_intern_drop(m->strs, p->name);
  if (p->origin != (old ? old->portal_origin : NULL)) qrl_intern_drop(m->strs, p->origin);
  if (p->ua != (old ? old->browser_ua : NULL)) qrl_intern_drop(m->strs, p->ua);
  if (p->oidc != (old ? old->oidc_req : NULL)) qrl_intern_drop(m->strs, p->oidc);
}

/* Plans an entry for c in network net, replacing old (NULL: a new entry).
 * 0, or -1 (no memory: nothing taken). */
static int plan(mem_store *m, const qrl_challenge *c, const net_count *net,
                const mem_entry *old, pack_plan *p) {
  size_t ip = FIELD_LEN(c->browser_ip);
  memset(p, 0, sizeof(*p));
  p->has_scan = scan_get(c, &p->scan);
  p->ip_len = strncmp(c->browser_ip, net->key, ip) == 0 && net->key[ip] == '\0' ? 0 : ip + 1;
  p->size = sizeof(mem_entry) + (p->has_scan ? sizeof(scan_part) : 0) + p->ip_len;
  if (str_take(m, c->portal_name, sizeof(c->portal_name), old ? old->portal_name : NULL,
               &p->name) ||
      str_take(m, c->portal_origin, sizeof(c->portal_origin), old ? old->portal_origin : NULL,
               &p->origin) ||
      str_take(m, c->browser_ua, sizeof(c->browser_ua), old ? old->browser_ua : NULL, &p->ua) ||
      str_take(m, c->oidc_req, sizeof(c->oidc_req), old ? old->oidc_req : NULL, &p->oidc)) {
    plan_drop(m, p, old);
    return -1;
  }
  return 0;
}

/* The size of entry e's allocation. */
static size_t entry_size(const mem_entry *e) {
  return sizeof(*e) + ((e->flags & E_SCAN) ? sizeof(scan_part) : 0) +
         ((e->flags & E_IP) ? strlen(ip_of(e)) + 1 : 0);
}

/* Writes c into e (plan p's size), keeping e's links, network, linger
 * fields and E_TERMINAL_SEEN. */
static void pack(mem_entry *e, const qrl_challenge *c, const pack_plan *p) {
  e->portal_name = p->name;
  e->portal_origin = p->origin;
  e->browser_ua = p->ua;
  e->oidc_req = p->oidc;
  e->created_at = c->created_at;
  e->created_ms = c->created_ms;
  e->expires_ms = c->expires_ms;
  e->frame_secs = c->frame_secs;
  e->browser_conn = c->browser_conn;
  e->kiosk = c->kiosk;
  e->state = (unsigned char)c->state;
  FIELD_COPY(e->id, c->id);
  FIELD_COPY(e->secret, c->secret);
  FIELD_COPY(e->binding, c->binding);
  FIELD_COPY(e->flow, c->flow);
  e->flags = (unsigned char)((e->flags & E_TERMINAL_SEEN) | (p->has_scan ? E_SCAN : 0) |
                             (p->ip_len ? E_IP : 0));
  if (p->has_scan) memcpy(scan_of(e), &p->scan, sizeof(p->scan));
  if (p->ip_len) {
    memcpy(ip_of(e), c->browser_ip, p->ip_len - 1);
    ip_of(e)[p->ip_len - 1] = '\0';
  }
}

static void str_out(char *dst, size_t cap, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n >= cap) n = cap - 1; /* cannot happen: packed from such a field */
  memcpy(dst, s ? s : "", n);
}

/* The challenge e holds, into *c (every byte written). */
static void unpack(const mem_entry *e, qrl_challenge *c) {
  const scan_part *sp = scan_of(e);
  memset(c, 0, sizeof(*c));
  memcpy(c->id, e->id, sizeof(c->id));
  memcpy(c->secret, e->secret, sizeof(c->secret));
  memcpy(c->binding, e->binding, sizeof(c->binding));
  memcpy(c->flow, e->flow, sizeof(c->flow));
  str_out(c->portal_name, sizeof(c->portal_name), e->portal_name);
  str_out(c->portal_origin, sizeof(c->portal_origin), e->portal_origin);
  str_out(c->browser_ip, sizeof(c->browser_ip), (e->flags & E_IP) ? ip_of(e) : e->net->key);
  str_out(c->browser_ua, sizeof(c->browser_ua), e->browser_ua);
  str_out(c->oidc_req, sizeof(c->oidc_req), e->oidc_req);
  c->created_at = e->created_at;
  c->created_ms = e->created_ms;
  c->expires_ms = e->expires_ms;
  c->frame_secs = e->frame_secs;
  c->browser_conn = e->browser_conn;
  c->state = (qrl_chal_state)e->state;
  c->kiosk = e->kiosk;
  if (!sp) return;
  memcpy(c->citizen_id, sp->citizen_id, sizeof(c->citizen_id));
  c->device_id = sp->device_id;
  c->phone_conn = sp->phone_conn;
  c->scanned_ms = sp->scanned_ms;
  c->scanned = sp->scanned;
  c->match = sp->match;
  c->far = sp->far;
  memcpy(c->choices, sp->choices, sizeof(c->choices));
  c->why = (qrl_chal_why)sp->why;
}

/* ---- challenges ------------------------------------------------------------ */

/* Wipes and frees entry e. */
static void entry_wipe(mem_entry *e) {
  qrl_cleanse(e, entry_size(e));
  free(e);
}

/* Gives back what e holds (shared strings, its network), then wipes and
 * frees it. */
static void entry_free(mem_store *m, mem_entry *e) {
  qrl_intern_drop(m->strs, e->portal_name);
  qrl_intern_drop(m->strs, e->portal_origin);
  qrl_intern_drop(m->strs, e->browser_ua);
  qrl_intern_drop(m->strs, e->oidc_req);
  net_release(m, e->net);
  entry_wipe(e);
}

/* Records that e's state changed from prev, keeping the live counts. The
 * time it became terminal is noted by the next sweep (apply has no clock). */
static void note_change(mem_store *m, mem_entry *e, qrl_chal_state prev) {
  if (!qrl_chal_state_terminal(prev) && qrl_chal_state_terminal((qrl_chal_state)e->state)) {
    m->nlive--;
    e->net->live--;
    if (!(e->flags & E_TERMINAL_SEEN))
      qrl_wheel_schedule(&m->sweeps, &e->due, 0); /* the next sweep */
  }
}

static qrl_err mem_put(qrl_store *s, const qrl_challenge *c) {
  mem_store *m = (mem_store *)s;
  mem_entry **slot, *e;
  net_count *net;
  pack_plan p;
  char key[QRL_NET_KEY_MAX], ip[sizeof(c->browser_ip)];
  int live = !qrl_chal_state_terminal(c->state);

  if (qrl_challenge_check(c)) return QRL_INVAL;
  if (m->nlive >= m->max_live) return QRL_SERVER_BUSY; /* the server's limit, not the client's */
  FIELD_COPY(ip, c->browser_ip);
  qrl_ip_network_key(ip, key);
  /* ... and one network's: other networks still get codes. */
  if (live && m->max_per_net && net_live(m, key) >= m->max_per_net)
    return QRL_TOO_MANY_CHALLENGES_IP;
  if (m->count + 1 > m->nbuckets && grow(m) != 0) return QRL_NOMEM;
  slot = find_slot(m, c->id);
  if (*slot) return QRL_INVAL;
  if (!(net = net_take(m, key))) return QRL_NOMEM;
  if (plan(m, c, net, NULL, &p) != 0) {
    net_release(m, net);
    return QRL_NOMEM;
  }
  if (!(e = calloc(1, p.size))) {
    plan_drop(m, &p, NULL);
    net_release(m, net);
    qrl_cleanse(&p, sizeof(p));
    return QRL_NOMEM;
  }
  e->net = net;
  pack(e, c, &p);
  qrl_cleanse(&p, sizeof(p));
  *slot = e;
  m->count++;
  if (live) {
    m->nlive++;
    net->live++;
  }
  qrl_wheel_schedule(&m->sweeps, &e->due, live ? c->expires_ms : 0);
  return QRL_OK;
}

static qrl_err mem_get(qrl_store *s, const char *id, qrl_challenge *out) {
  mem_entry *e = *find_slot((mem_store *)s, id);
  if (!e) return QRL_CHALLENGE_UNKNOWN;
  unpack(e, out);
  return QRL_OK;
}

/* Stores c into entry *ep, moving it to a new allocation (*ep updated) if
 * its size changes. 0, or -1 (no memory: the entry is as it was). */
static int entry_update(mem_store *m, mem_entry **ep, const qrl_challenge *c) {
  mem_entry *e = *ep, *ne = e;
  pack_plan p;
  int rc = -1;

  if (plan(m, c, e->net, e, &p) != 0) goto out;
  if (p.size != entry_size(e)) {
    if (!(ne = malloc(p.size))) {
      plan_drop(m, &p, e);
      goto out;
    }
    memcpy(ne, e, sizeof(*e));
    ne->due.next = ne->due.prev = NULL;
    if (qrl_wheel_pending(&e->due)) {
      qrl_wheel_cancel(&m->sweeps, &e->due);
      qrl_wheel_schedule(&m->sweeps, &ne->due, e->due.due_ms);
    }
    *find_slot(m, e->id) = ne;
    *ep = ne;
  }
  /* The shared strings e held and the new one does not. */
  if (e->portal_name != p.name) qrl_intern_drop(m->strs, e->portal_name);
  if (e->portal_origin != p.origin) qrl_intern_drop(m->strs, e->portal_origin);
  if (e->browser_ua != p.ua) qrl_intern_drop(m->strs, e->browser_ua);
  if (ne != e) {
    qrl_cleanse(e, entry_size(e));
    free(e);
  }
  pack(ne, c, &p);
  rc = 0;
out:
  qrl_cleanse(&p, sizeof(p));
  return rc;
}

static qrl_err mem_apply(qrl_store *s, const char *id, qrl_store_fn fn,
                         void *arg, qrl_challenge *out) {
  mem_store *m = (mem_store *)s;
  mem_entry *e = *find_slot(m, id);
  qrl_challenge work;
  qrl_chal_state prev;
  qrl_err rc;

  if (!e) return QRL_CHALLENGE_UNKNOWN;
  unpack(e, &work);
  prev = work.state;
  rc = fn(&work, arg);
  /* A change the transition table does not allow, or that breaks the
   * state's invariants, is a bug: refused, the stored challenge untouched. */
  if ((rc == QRL_OK || work.state != prev) &&
      (!qrl_challenge_allowed(prev, work.state) || qrl_challenge_check(&work))) {
    fprintf(stderr, "qrlogin: store: refused an invalid challenge change (%s -> %s)\n",
            qrl_chal_state_name(prev), qrl_chal_state_name(work.state));
    rc = QRL_INTERNAL;
    unpack(e, &work);
  }
  /* Kept on success, and when a refusal still moved the state (a
   * fail-closed transition such as a wrong matching number). Without the
   * memory to keep it, nothing changes. */
  if (rc == QRL_OK || work.state != prev) {
    if (entry_update(m, &e, &work) == 0)
      note_change(m, e, prev);
    else
      rc = QRL_NOMEM;
  }
  unpack(e, &work); /* as stored: what the caller and the sink see */
  if (out) *out = work;
  if (prev != work.state && s->sink) s->sink(s->sink_ud, &work, prev);
  qrl_cleanse(&work, sizeof(work));
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

  if (!qrl_chal_state_terminal((qrl_chal_state)e->state)) {
    qrl_challenge c;
    int expired;
    unpack(e, &c);
    if ((expired = qrl_challenge_expire(&c, now_ms))) {
      e->state = (unsigned char)c.state; /* the only change expiry makes */
      note_change(m, e, QRL_CHAL_PENDING);
      e->flags |= E_TERMINAL_SEEN;
      if (x->expired == x->cap) events_grow(&x->events, &x->cap, x->cap ? x->cap * 2 : 16);
      if (x->expired < x->cap) x->events[x->expired] = c;
      x->expired++;
    }
    qrl_cleanse(&c, sizeof(c));
    if (!expired) {
      qrl_wheel_schedule(&m->sweeps, n, e->expires_ms); /* not yet */
      return;
    }
  } else if (!(e->flags & E_TERMINAL_SEEN)) {
    e->flags |= E_TERMINAL_SEEN;
  } else {
    /* Seen terminal, then scheduled at the end of its linger (nothing
     * moves a terminal entry's time again): the linger is over. */
    mem_entry **p = find_slot(m, e->id);
    *p = e->next;
    entry_free(m, e);
    m->count--;
    return;
  }
  qrl_wheel_schedule(&m->sweeps, n, now_ms + m->linger * 1000); /* its linger */
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
      entry_wipe(e); /* the tables it refers to go below */
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
  qrl_intern_free(m->strs);
  qrl_wheel_free(&m->sweeps);
  free(m);
}

/* The asynchronous face: every answer at once. */
static void mem_put_cb(qrl_store *s, const qrl_challenge *c, qrl_store_cb cb, void *ud) {
  qrl_err rc = mem_put(s, c);
  if (cb) cb(ud, rc, rc ? NULL : c);
}

static void mem_get_cb(qrl_store *s, const char *id, qrl_store_cb cb, void *ud) {
  qrl_challenge c;
  qrl_err rc = mem_get(s, id, &c);
  if (cb) cb(ud, rc, rc ? NULL : &c);
  qrl_cleanse(&c, sizeof(c));
}

static void mem_apply_cb(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                         qrl_store_cb cb, void *ud) {
  qrl_challenge c;
  qrl_err rc;
  memset(&c, 0, sizeof(c));
  rc = mem_apply(s, id, fn, arg, &c);
  if (cb) cb(ud, rc, c.id[0] ? &c : NULL);
  qrl_cleanse(&c, sizeof(c));
}

/* One process: the owner is always here. */
static void mem_tell(qrl_store *s, const qrl_challenge *c, const qrl_store_note *n) {
  if (s->note_sink) s->note_sink(s->note_ud, c, n);
}

static const qrl_store_ops mem_ops = {mem_put_cb, mem_get_cb, mem_apply_cb, mem_tell,
                                      mem_sweep,  mem_live,   mem_destroy};

qrl_err qrl_store_mem_put(qrl_store *s, const qrl_challenge *c) {
  return s->ops == &mem_ops ? mem_put(s, c) : QRL_INVAL;
}

qrl_err qrl_store_mem_get(qrl_store *s, const char *id, qrl_challenge *out) {
  return s->ops == &mem_ops ? mem_get(s, id, out) : QRL_INVAL;
}

qrl_err qrl_store_mem_apply(qrl_store *s, const char *id, qrl_store_fn fn, void *arg,
                            qrl_challenge *out) {
  return s->ops == &mem_ops ? mem_apply(s, id, fn, arg, out) : QRL_INVAL;
}

size_t qrl_store_mem_live_from(qrl_store *s, const char *ip) {
  return s->ops == &mem_ops ? mem_live_from(s, ip) : 0;
}

qrl_store *qrl_store_mem_new(size_t max_live, size_t max_per_net, int64_t linger,
                             qrl_store_sink sink, void *sink_ud) {
  mem_store *m = calloc(1, sizeof(*m));
  if (!m) return NULL;
  m->base.ops = &mem_ops;
  m->nbuckets = m->nnet_buckets = 64;
  m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
  m->nets = calloc(m->nnet_buckets, sizeof(*m->nets));
  m->strs = qrl_intern_new();
  if (!m->buckets || !m->nets || !m->strs ||
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
