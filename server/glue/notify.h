/*
 * notify.h - tells systemd how qrlogind is doing (sd_notify, a unit of
 * Type=notify): READY=1 once the port accepts connections, STOPPING=1 when
 * the shutdown starts, and WATCHDOG=1 from the event loop at half the unit's
 * WatchdogSec (WATCHDOG_USEC), so a loop that hangs stops the pings and
 * systemd restarts the service.
 *
 * Without libsystemd at build time (QRL_HAVE_SYSTEMD unset, CMake
 * -DQRL_SYSTEMD=OFF or not found) every call does nothing; without
 * NOTIFY_SOCKET at run time (not started by systemd) libsystemd sends
 * nothing. Not here: socket activation. Loop thread only. Depends on libuv
 * and, optionally, libsystemd.
 */
#ifndef QRLOGIN_NOTIFY_H
#define QRLOGIN_NOTIFY_H

#include <stdint.h>
#include <uv.h>

typedef struct qrl_notify {
  uv_timer_t watchdog; /* pings WATCHDOG=1; a handle of the loop once timer_on */
  int timer_on;        /* the timer was started (and must be closed) */
} qrl_notify;

/* Sends READY=1 with STATUS=listening on URL (url: copied into the message)
 * and, if systemd asked for a watchdog, starts pinging it from loop every
 * WATCHDOG_USEC / 2. Call once the listening socket accepts connections. */
void qrl_notify_ready(qrl_notify *n, uv_loop_t *loop, const char *url);

/* Sends STOPPING=1: the shutdown has begun. The watchdog pings go on until
 * qrl_notify_close(), so a long drain is not mistaken for a hang. */
void qrl_notify_stopping(qrl_notify *n);

/* Stops the pings and closes the timer's handle (uv_close: the loop must run
 * once more to finish it). Safe if never started, and twice. */
void qrl_notify_close(qrl_notify *n);

/* The watchdog period asked of a process with this environment: half of
 * WATCHDOG_USEC in ms, or 0 if none (no watchdog, or no libsystemd). */
uint64_t qrl_notify_watchdog_ms(void);

#endif /* QRLOGIN_NOTIFY_H */
