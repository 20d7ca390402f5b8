/*
 * fake_clock.h - a qrl_clock (clock.h) the test sets and steps by hand, to
 * show what a wall-clock step does (nothing, to deadlines and rates) and
 * what monotonic time passing does.
 *
 *   fake_clock f;
 *   fake_clock_init(&f, 1700000000, 5000000);
 *   qrl_instant t = qrl_clock_now(&f.clk);   // {1700000000, 5000000}
 *   f.wall += 86400;                          // NTP / an operator steps the date
 *   f.mono_ms += 1000;                        // one real second passes
 *
 * The caller owns the struct; clk.arg points into it, so do not copy it
 * after fake_clock_init().
 */
#ifndef QRLOGIN_TEST_FAKE_CLOCK_H
#define QRLOGIN_TEST_FAKE_CLOCK_H

#include "helpers/clock.h"

typedef struct fake_clock {
  qrl_clock clk;
  int64_t wall;    /* unix seconds */
  int64_t mono_ms; /* monotonic ms */
} fake_clock;

static inline int64_t fake_clock_wall_(void *arg) { return ((fake_clock *)arg)->wall; }
static inline int64_t fake_clock_mono_(void *arg) { return ((fake_clock *)arg)->mono_ms; }

/* Sets f to read wall and mono_ms. */
static inline void fake_clock_init(fake_clock *f, int64_t wall, int64_t mono_ms) {
  f->clk.wall = fake_clock_wall_;
  f->clk.mono_ms = fake_clock_mono_;
  f->clk.arg = f;
  f->wall = wall;
  f->mono_ms = mono_ms;
}

#define FAKE_DAY 86400 /* seconds */

#endif /* QRLOGIN_TEST_FAKE_CLOCK_H */
