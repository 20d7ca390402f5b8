/*
 * test_clock.c - the clocks: the system clock's wall reading is unix time
 * and its monotonic one never goes back; an injected clock is what every
 * reader returns.
 */
#include <time.h>

#include "helpers/clock.h"
#include "fake_clock.h"
#include "test.h"

static int64_t mono_ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(system_clock_reads_wall_and_monotonic_time) {
  const qrl_clock *c = qrl_clock_system();
  int64_t t0 = (int64_t)time(NULL), w = qrl_clock_wall(c), before, m, after;
  ASSERT_TRUE(c != NULL && c == qrl_clock_system());
  ASSERT_TRUE(w >= t0 && w <= t0 + 1);
  /* CLOCK_MONOTONIC in milliseconds: between two direct readings (no waiting:
   * the bracket proves the unit and the clock). */
  before = mono_ms_now();
  m = qrl_clock_mono_ms(c);
  after = mono_ms_now();
  ASSERT_TRUE(before <= m && m <= after);
  ASSERT_TRUE(qrl_clock_now(c).mono_ms >= m); /* never goes back */
  return 0;
}

TEST(injected_clock_is_what_callers_read) {
  fake_clock f;
  qrl_instant t;
  fake_clock_init(&f, 1700000000, 5000);
  t = qrl_clock_now(&f.clk);
  ASSERT_EQ_INT(t.wall, 1700000000);
  ASSERT_EQ_INT(t.mono_ms, 5000);
  f.wall -= FAKE_DAY;
  f.mono_ms += 1;
  ASSERT_EQ_INT(qrl_clock_wall(&f.clk), 1700000000 - FAKE_DAY);
  ASSERT_EQ_INT(qrl_clock_mono_ms(&f.clk), 5001);
  return 0;
}

TEST_MAIN(system_clock_reads_wall_and_monotonic_time, injected_clock_is_what_callers_read)
