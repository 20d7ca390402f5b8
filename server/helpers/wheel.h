/*
 * wheel.h - a hashed timing wheel: many deadlines on a monotonic clock, each
 * scheduled, moved and cancelled in O(1), fired in due order slot by slot.
 * For the animated QR: every waiting login page has its next frame on its
 * own phase, and one short timer walks only the slots that came due -
 * never every page each second.
 *
 * A node is embedded in its owner (container_of); the wheel neither
 * allocates nor frees nodes. Deadlines further ahead than one turn of the
 * wheel wait in their slot and are looked at once a turn. Not thread-safe:
 * one owner thread. Depends on libc.
 */
#ifndef QRLOGIN_WHEEL_H
#define QRLOGIN_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

typedef struct qrl_wheel_node {
  struct qrl_wheel_node *next, *prev; /* NULL when not scheduled */
  int64_t due_ms;
} qrl_wheel_node;

typedef struct qrl_wheel {
  qrl_wheel_node *slots; /* owned: nslots list heads (sentinels) */
  size_t nslots;         /* a power of two */
  int64_t slot_ms;       /* the resolution */
  int64_t cursor_ms;     /* slots before this time have been walked */
  size_t count;          /* nodes scheduled */
} qrl_wheel;

/* A wheel of nslots (rounded up to a power of two) slots of slot_ms, its
 * clock starting at now_ms. QRL_OK, QRL_INVAL or QRL_NOMEM. */
qrl_err qrl_wheel_init(qrl_wheel *w, int64_t slot_ms, size_t nslots, int64_t now_ms);
/* Frees the slots (the nodes are their owners'). */
void qrl_wheel_free(qrl_wheel *w);

/* Schedules n at due_ms (moving it if it was scheduled). A time already
 * past fires at the next qrl_wheel_advance(). */
void qrl_wheel_schedule(qrl_wheel *w, qrl_wheel_node *n, int64_t due_ms);
/* Unschedules n; nothing if it was not scheduled. */
void qrl_wheel_cancel(qrl_wheel *w, qrl_wheel_node *n);
/* 1 if n is scheduled. */
int qrl_wheel_pending(const qrl_wheel_node *n);

/* Fires every node due at or before now_ms: each is unscheduled, then
 * fire(n, arg) is called (it may schedule n again, or any other node).
 * Walks only the slots between the last call and now (at most one turn).
 * Returns how many fired. */
size_t qrl_wheel_advance(qrl_wheel *w, int64_t now_ms,
                         void (*fire)(qrl_wheel_node *n, void *arg), void *arg);

#endif /* QRLOGIN_WHEEL_H */
