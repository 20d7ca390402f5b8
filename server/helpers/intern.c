/*
 * intern.c - shared reference-counted strings: a chained hash table of
 * nodes, each a header and its string in one allocation, so that a string
 * pointer leads back to its node without a lookup. The table doubles when
 * it holds more strings than buckets; it does not shrink.
 */
#include "helpers/intern.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
  struct node *next;
  uint32_t hash;
  uint32_t refs; /* >= 1 while in the table */
  char str[];    /* NUL-terminated */
} node;

struct qrl_intern {
  node **buckets; /* owned */
  size_t nbuckets; /* a power of two */
  size_t count;
};

static uint32_t hash_str(const char *s, size_t *len) {
  uint32_t h = 2166136261u;
  const char *p = s;
  for (; *p; p++) {
    h ^= (unsigned char)*p;
    h *= 16777619u;
  }
  *len = (size_t)(p - s);
  return h;
}

static node *node_of(const char *str) { return (node *)(void *)(str - offsetof(node, str)); }

qrl_intern *qrl_intern_new(void) {
  qrl_intern *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->nbuckets = 16;
  if (!(t->buckets = calloc(t->nbuckets, sizeof(*t->buckets)))) {
    free(t);
    return NULL;
  }
  return t;
}

void qrl_intern_free(qrl_intern *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nbuckets; i++) {
    node *n = t->buckets[i];
    while (n) {
      node *next = n->next;
      free(n);
      n = next;
    }
  }
  free(t->buckets);
  free(t);
}

static int grow(qrl_intern *t) {
  size_t n = t->nbuckets * 2;
  node **nb = calloc(n, sizeof(*nb));
  if (!nb) return -1;
  for (size_t i = 0; i < t->nbuckets; i++) {
    node *e = t->buckets[i];
    while (e) {
      node *next = e->next;
      e->next = nb[e->hash & (n - 1)];
      nb[e->hash & (n - 1)] = e;
      e = next;
    }
  }
  free(t->buckets);
  t->buckets = nb;
  t->nbuckets = n;
  return 0;
}

const char *qrl_intern_take(qrl_intern *t, const char *s) {
  size_t len;
  uint32_t h = hash_str(s, &len);
  node **p = &t->buckets[h & (t->nbuckets - 1)], *n;

  for (n = *p; n; n = n->next)
    if (n->hash == h && strcmp(n->str, s) == 0) {
      if (n->refs == UINT32_MAX) return NULL;
      n->refs++;
      return n->str;
    }
  if (t->count + 1 > t->nbuckets) {
    if (grow(t) != 0) return NULL;
    p = &t->buckets[h & (t->nbuckets - 1)];
  }
  if (!(n = malloc(sizeof(*n) + len + 1))) return NULL;
  n->hash = h;
  n->refs = 1;
  memcpy(n->str, s, len + 1);
  n->next = *p;
  *p = n;
  t->count++;
  return n->str;
}

void qrl_intern_drop(qrl_intern *t, const char *str) {
  node *n, **p;
  if (!str) return;
  n = node_of(str);
  if (--n->refs) return;
  for (p = &t->buckets[n->hash & (t->nbuckets - 1)]; *p != n; p = &(*p)->next) {
  }
  *p = n->next;
  t->count--;
  free(n);
}

size_t qrl_intern_count(const qrl_intern *t) { return t->count; }

size_t qrl_intern_refs(const char *str) { return node_of(str)->refs; }
