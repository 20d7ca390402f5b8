/*
 * wheel.c - the hashed timing wheel (wheel.h): a circular doubly linked list
 * per slot, a node in the slot of its due time modulo the wheel's span.
 */
#include "helpers/wheel.h"

#include <stdlib.h>

static size_t slot_of(const qrl_wheel *w, int64_t t) {
  int64_t s = t / w->slot_ms;
  return (size_t)s & (w->nslots - 1);
}

qrl_err qrl_wheel_init(qrl_wheel *w, int64_t slot_ms, size_t nslots, int64_t now_ms) {
  size_t n = 1;
  w->slots = NULL;
  w->count = 0;
  if (slot_ms <= 0 || nslots == 0 || nslots > ((size_t)1 << 24)) return QRL_INVAL;
  while (n < nslots) n <<= 1;
  if (!(w->slots = calloc(n, sizeof(*w->slots)))) return QRL_NOMEM;
  for (size_t i = 0; i < n; i++) w->slots[i].next = w->slots[i].prev = &w->slots[i];
  w->nslots = n;
  w->slot_ms = slot_ms;
  w->cursor_ms = now_ms - now_ms % slot_ms;
  return QRL_OK;
}

void qrl_wheel_free(qrl_wheel *w) {
  free(w->slots);
  w->slots = NULL;
  w->count = 0;
}

int qrl_wheel_pending(const qrl_wheel_node *n) { return n->next != NULL; }

static void unlink_node(qrl_wheel_node *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = NULL;
}

void qrl_wheel_cancel(qrl_wheel *w, qrl_wheel_node *n) {
  if (!n->next) return;
  unlink_node(n);
  w->count--;
}

void qrl_wheel_schedule(qrl_wheel *w, qrl_wheel_node *n, int64_t due_ms) {
  qrl_wheel_node *head;
  qrl_wheel_cancel(w, n);
  /* A time already walked past goes in the next slot to walk. */
  head = &w->slots[slot_of(w, due_ms < w->cursor_ms ? w->cursor_ms : due_ms)];
  n->due_ms = due_ms;
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
  w->count++;
}

size_t qrl_wheel_advance(qrl_wheel *w, int64_t now_ms,
                         void (*fire)(qrl_wheel_node *n, void *arg), void *arg) {
  size_t fired = 0, walked = 0;
  while (w->cursor_ms <= now_ms && walked < w->nslots) {
    qrl_wheel_node *head = &w->slots[slot_of(w, w->cursor_ms)];
    qrl_wheel_node due = {&due, &due, 0}; /* what fires, taken out first */
    qrl_wheel_node *n = head->next;
    while (n != head) {
      qrl_wheel_node *next = n->next;
      if (n->due_ms <= now_ms) { /* later turns stay for their turn */
        unlink_node(n);
        n->prev = due.prev;
        n->next = &due;
        due.prev->next = n;
        due.prev = n;
      }
      n = next;
    }
    while (due.next != &due) {
      n = due.next;
      unlink_node(n);
      w->count--;
      fired++;
      fire(n, arg);
    }
    walked++;
    /* The slot of now stays to be walked again: more may come due in it. */
    if (w->cursor_ms + w->slot_ms > now_ms) break;
    w->cursor_ms += w->slot_ms;
  }
  if (walked == w->nslots && w->cursor_ms + w->slot_ms <= now_ms)
    w->cursor_ms = now_ms - now_ms % w->slot_ms; /* a long stall: one turn walked */
  return fired;
}
