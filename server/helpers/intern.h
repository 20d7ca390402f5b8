/*
 * intern.h - a table of shared, reference-counted strings: each distinct
 * string is kept once, however many holders use it.
 *
 * For the challenge store: thousands of waiting login pages name the same
 * portal, the same few origins and a few dozen browser user agents, and
 * each would otherwise keep its own copy. A holder takes a string
 * (qrl_intern_take: one more reference) and gives it back
 * (qrl_intern_drop); the last drop frees it. Not for secrets: a string is
 * freed without being wiped. Not thread-safe: one owner thread.
 * Depends on libc.
 */
#ifndef QRLOGIN_INTERN_H
#define QRLOGIN_INTERN_H

#include <stddef.h>

typedef struct qrl_intern qrl_intern;

/* A new empty table, or NULL if out of memory. Free with qrl_intern_free(). */
qrl_intern *qrl_intern_new(void);
/* Frees t and every string still in it (holders' pointers go stale);
 * NULL-safe. */
void qrl_intern_free(qrl_intern *t);

/* Takes a reference to the shared copy of s (NUL-terminated; copied into the
 * table on first use). Returns the copy - equal to s, valid until the
 * matching qrl_intern_drop() - or NULL if out of memory. */
const char *qrl_intern_take(qrl_intern *t, const char *s);
/* Gives back one reference to str, a pointer qrl_intern_take() returned;
 * the string is freed when none is left. NULL is ignored. */
void qrl_intern_drop(qrl_intern *t, const char *str);

/* The number of distinct strings held. */
size_t qrl_intern_count(const qrl_intern *t);
/* The references held to str (a pointer qrl_intern_take() returned). */
size_t qrl_intern_refs(const char *str);

#endif /* QRLOGIN_INTERN_H */
