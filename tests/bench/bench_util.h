/*
 * bench_util.h - what every benchmark program needs: a monotonic clock in
 * milliseconds and the comparison qsort() sorts latencies with.
 */
#ifndef QRL_BENCH_UTIL_H
#define QRL_BENCH_UTIL_H

#include <time.h>

static inline double bench_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#endif /* QRL_BENCH_UTIL_H */
