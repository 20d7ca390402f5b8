/*
 * peers.c - open connections per client address (peers.h): a chained hash
 * table of peers, grown by doubling, keyed by the 16-byte address (IPv4 as
 * IPv4-mapped IPv6, IPv6 cut to its /64).
 */
#include "glue/peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"

struct qrl_peer {
  uint8_t key[16];
  unsigned count;
  struct qrl_peer *next;
};

struct qrl_peers {
  qrl_peer **buckets; /* owned, nbuckets (a power of two) */
  size_t nbuckets;
  size_t size;  /* peers in the table */
  size_t total; /* connections counted */
  unsigned per_peer;
  size_t max_total;
  uint64_t seed[2];
};

#define FIRST_BUCKETS 64

qrl_peers *qrl_peers_new(unsigned per_peer, size_t total) {
  qrl_peers *p = calloc(1, sizeof(*p));
  if (!p) return NULL;
  p->buckets = calloc(FIRST_BUCKETS, sizeof(*p->buckets));
  if (!p->buckets || qrl_random((uint8_t *)p->seed, sizeof(p->seed))) {
    free(p->buckets);
    free(p);
    return NULL;
  }
  p->nbuckets = FIRST_BUCKETS;
  p->per_peer = per_peer;
  p->max_total = total;
  return p;
}

void qrl_peers_free(qrl_peers *p) {
  if (!p) return;
  for (size_t i = 0; i < p->nbuckets; i++) {
    qrl_peer *e = p->buckets[i];
    while (e) {
      qrl_peer *next = e->next;
      free(e);
      e = next;
    }
  }
  free(p->buckets);
  free(p);
}

/* The peer of sa as 16 bytes; -1 for another family. */
static int peer_key(const struct sockaddr *sa, uint8_t key[16]) {
  memset(key, 0, 16);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &in->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) memcpy(key, &in6->sin6_addr, 16);
    else memcpy(key, &in6->sin6_addr, 8); /* the /64 */
    return 0;
  }
  return -1;
}

static size_t slot(const qrl_peers *p, const uint8_t key[16]) {
  uint64_t a, b, h;
  memcpy(&a, key, 8);
  memcpy(&b, key + 8, 8);
  h = (a ^ p->seed[0]) * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 29;
  h = (h ^ b ^ p->seed[1]) * 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return (size_t)h & (p->nbuckets - 1);
}

/* Doubles the table when it holds more peers than buckets. Best effort: a
 * table that cannot grow still works, with longer chains. */
static void grow(qrl_peers *p) {
  size_t old_n = p->nbuckets;
  qrl_peer **old = p->buckets;
  qrl_peer **nb;
  if (p->size <= old_n || old_n > SIZE_MAX / 2 / sizeof(*nb)) return;
  if (!(nb = calloc(old_n * 2, sizeof(*nb)))) return;
  p->buckets = nb;
  p->nbuckets = old_n * 2;
  for (size_t i = 0; i < old_n; i++) {
    qrl_peer *e = old[i];
    while (e) {
      qrl_peer *next = e->next;
      size_t s = slot(p, e->key);
      e->next = nb[s];
      nb[s] = e;
      e = next;
    }
  }
  free(old);
}

qrl_peer *qrl_peers_take(qrl_peers *p, const struct sockaddr *sa, qrl_err *why) {
  uint8_t key[16];
  qrl_peer *e;
  size_t s;
  qrl_err dummy;
  if (!why) why = &dummy;
  if (!sa || peer_key(sa, key)) {
    *why = QRL_INVAL;
    return NULL;
  }
  if (p->total >= p->max_total) {
    *why = QRL_SERVER_BUSY;
    return NULL;
  }
  s = slot(p, key);
  for (e = p->buckets[s]; e; e = e->next)
    if (memcmp(e->key, key, 16) == 0) break;
  if (e) {
    if (p->per_peer && e->count >= p->per_peer) {
      *why = QRL_RATE_LIMITED;
      return NULL;
    }
    e->count++;
    p->total++;
    return e;
  }
  if (!(e = calloc(1, sizeof(*e)))) {
    *why = QRL_NOMEM;
    return NULL;
  }
  memcpy(e->key, key, 16);
  e->count = 1;
  e->next = p->buckets[s];
  p->buckets[s] = e;
  p->size++;
  p->total++;
  grow(p);
  return e;
}

void qrl_peers_release(qrl_peers *p, qrl_peer *e) {
  qrl_peer **pp;
  if (!e) return;
  p->total--;
  if (--e->count) return;
  for (pp = &p->buckets[slot(p, e->key)]; *pp; pp = &(*pp)->next)
    if (*pp == e) {
      *pp = e->next;
      break;
    }
  p->size--;
  free(e);
}

unsigned qrl_peer_count(const qrl_peer *e) { return e ? e->count : 0; }
size_t qrl_peers_total(const qrl_peers *p) { return p->total; }
size_t qrl_peers_size(const qrl_peers *p) { return p->size; }

void qrl_peer_name(const qrl_peer *e, char *out, size_t cap) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (!cap) return;
  out[0] = '\0';
  if (!e) return;
  if (memcmp(e->key, mapped, 12) == 0) {
    if (inet_ntop(AF_INET, e->key + 12, buf, sizeof(buf)))
      snprintf(out, cap, "%s", buf);
  } else if (inet_ntop(AF_INET6, e->key, buf, sizeof(buf))) {
    snprintf(out, cap, "%s/64", buf);
  }
}
