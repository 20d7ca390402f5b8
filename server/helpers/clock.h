/*
 * clock.h - the two clocks qrlogin reads, behind one injectable struct.
 *
 * Wall time (unix seconds) is what people read and what is stored: audit
 * rows, created_at shown to the phone, anything persisted in SQLite (OTP
 * windows, sessions). Monotonic time (CLOCK_MONOTONIC, milliseconds) drives
 * every in-memory deadline and rate: token buckets, challenge TTLs, the QR
 * frame numbering. It never steps, so an NTP correction or an operator
 * setting the date cannot refill a throttle or expire (or revive) a QR code.
 *
 * A qrl_clock is a pair of reader functions with an argument: the system
 * clock, or a fake one a test steps by hand. Domain code never reads a clock
 * itself: callers read one here and pass the values in.
 * Not here: timers, time zones, formatting. Depends on libc only.
 */
#ifndef QRLOGIN_CLOCK_H
#define QRLOGIN_CLOCK_H

#include <stdint.h>

/* A source of time. Both readers are called with arg. */
typedef struct qrl_clock {
  int64_t (*wall)(void *arg);    /* unix time, seconds */
  int64_t (*mono_ms)(void *arg); /* monotonic time, milliseconds (any origin) */
  void *arg;
} qrl_clock;

/* Both clocks read at one moment. */
typedef struct qrl_instant {
  int64_t wall;    /* unix seconds: for people and storage */
  int64_t mono_ms; /* monotonic milliseconds: for deadlines and rates */
} qrl_instant;

/* The system clocks (time(2)-like CLOCK_REALTIME and CLOCK_MONOTONIC). The
 * struct is static and read-only: never NULL, never freed. */
const qrl_clock *qrl_clock_system(void);

/* Reads clk's wall clock: unix seconds. */
int64_t qrl_clock_wall(const qrl_clock *clk);

/* Reads clk's monotonic clock: milliseconds. */
int64_t qrl_clock_mono_ms(const qrl_clock *clk);

/* Reads both of clk's clocks. */
qrl_instant qrl_clock_now(const qrl_clock *clk);

#endif /* QRLOGIN_CLOCK_H */
