/*
 * notify.c - sd_notify() for a Type=notify unit (notify.h): the READY /
 * STOPPING / WATCHDOG messages, or nothing when built without libsystemd.
 */
#include "glue/notify.h"

#include <stdio.h>

#ifdef QRL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

uint64_t qrl_notify_watchdog_ms(void) {
#ifdef QRL_HAVE_SYSTEMD
  uint64_t usec = 0;
  /* > 0 only if WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is ours). */
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    uint64_t ms = usec / 2000;
    return ms ? ms : 1;
  }
#endif
  return 0;
}

#ifdef QRL_HAVE_SYSTEMD
static void on_watchdog(uv_timer_t *t) {
  (void)t;
  sd_notify(0, "WATCHDOG=1");
}
#endif

void qrl_notify_ready(qrl_notify *n, uv_loop_t *loop, const char *url) {
#ifdef QRL_HAVE_SYSTEMD
  uint64_t period = qrl_notify_watchdog_ms();
  char msg[300];
  snprintf(msg, sizeof(msg), "READY=1\nSTATUS=listening on %s", url);
  sd_notify(0, msg);
  if (period && !n->timer_on) {
    uv_timer_init(loop, &n->watchdog);
    uv_timer_start(&n->watchdog, on_watchdog, period, period);
    n->timer_on = 1;
  }
#else
  (void)n;
  (void)loop;
  (void)url;
#endif
}

void qrl_notify_stopping(qrl_notify *n) {
  (void)n;
#ifdef QRL_HAVE_SYSTEMD
  sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
#endif
}

void qrl_notify_close(qrl_notify *n) {
  if (!n->timer_on) return;
  uv_timer_stop(&n->watchdog);
  uv_close((uv_handle_t *)&n->watchdog, NULL);
  n->timer_on = 0;
}
