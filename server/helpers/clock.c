/*
 * clock.c - see clock.h. The system clock reads CLOCK_REALTIME and
 * CLOCK_MONOTONIC; the rest forwards to the clock's readers. No state.
 */
#include "helpers/clock.h"

#include <time.h>

static int64_t sys_wall(void *arg) {
  struct timespec ts;
  (void)arg;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (int64_t)time(NULL);
  return (int64_t)ts.tv_sec;
}

static int64_t sys_mono_ms(void *arg) {
  struct timespec ts;
  (void)arg;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail on Linux for this id */
  return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

static const qrl_clock system_clock = {sys_wall, sys_mono_ms, NULL};

const qrl_clock *qrl_clock_system(void) { return &system_clock; }

int64_t qrl_clock_wall(const qrl_clock *clk) { return clk->wall(clk->arg); }

int64_t qrl_clock_mono_ms(const qrl_clock *clk) { return clk->mono_ms(clk->arg); }

qrl_instant qrl_clock_now(const qrl_clock *clk) {
  qrl_instant t;
  t.wall = qrl_clock_wall(clk);
  t.mono_ms = qrl_clock_mono_ms(clk);
  return t;
}
