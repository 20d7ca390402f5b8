/*
 * redis_loop.h - driving a Redis connection (glue/redis.h) on a test's own
 * libuv loop, for the tests of the Redis transport and of what is built on
 * it (test_redis, test_limiter): a client of the harness's redis-server,
 * running the loop until an answer or a state arrives (with a deadline,
 * never a sleep), and closing the loop. Header-only, like admin_run.h.
 */
#ifndef QRL_TEST_REDIS_LOOP_H
#define QRL_TEST_REDIS_LOOP_H

#include <stdio.h>
#include <uv.h>

#include "glue/redis.h"
#include "harness.h"

static inline void qrl_rl_on_guard(uv_timer_t *t) { (void)t; }

/* Runs loop until *flag is set, or until r's state is want (flag NULL),
 * within ms. 0, or -1. */
static inline int run_until(uv_loop_t *loop, const int *flag, qrl_redis *r,
                            qrl_redis_state want, int ms) {
  uv_timer_t guard;
  int64_t end = qrl_h_mono_ms() + ms;
  int rc = -1;
  uv_timer_init(loop, &guard);
  uv_timer_start(&guard, qrl_rl_on_guard, 20, 20); /* wakes the loop to look at the clock */
  while (qrl_h_mono_ms() < end) {
    if (flag ? *flag : qrl_redis_state_of(r) == want) {
      rc = 0;
      break;
    }
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return rc;
}

/* Lets the clients' handles close, then closes the loop. */
static inline void close_loop(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
}

/* A client of rp with a 1 s connect deadline and command_ms for commands. */
static inline qrl_redis *client(uv_loop_t *loop, const qrl_h_redis *rp, int command_ms) {
  qrl_redis_addr a;
  char why[200];
  if (qrl_redis_addr_parse(rp->url, &a, why, sizeof(why))) return NULL;
  return qrl_redis_new(loop, &a, 1000, command_ms, NULL);
}

#endif /* QRL_TEST_REDIS_LOOP_H */
