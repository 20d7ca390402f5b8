/*
 * test_limiter.c - the shared token buckets (glue/limiter.h) against a real
 * redis-server (the harness's: unix socket, temporary directory, no
 * persistence): two clients on two connections - two nodes - share one
 * budget; a take of several buckets is all or none; give-backs and resets;
 * keys expire when their bucket is full; the time is Redis' own; a hit past
 * the budget is counted as a debt; a stalled (SIGSTOP) or killed Redis
 * refuses, and the buckets work again when it is back. Waits are on the
 * loop's events with a deadline, never sleeps.
 */
#define _GNU_SOURCE
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "glue/limiter.h"
#include "glue/redis.h"
#include "harness.h"
#include "redis_loop.h"

#define CHECK(x)                                                                \
  do {                                                                          \
    if (!(x)) {                                                                 \
      fprintf(stderr, "  check failed %s:%d: %s\n", __FILE__, __LINE__, #x);    \
      goto out;                                                                 \
    }                                                                           \
  } while (0)

/* ---- the loop ---------------------------------------------------------------- */

typedef struct got {
  int done;
  qrl_limiter_result r;
} got;

static void on_got(void *arg, const qrl_limiter_result *res) {
  got *g = arg;
  g->done = 1;
  g->r = *res;
}

typedef struct answer {
  int done;
  qrl_err err;
  int type;
  long long integer;
  char str[64];
} answer;

static void on_answer(void *arg, qrl_err err, struct redisReply *reply) {
  answer *a = arg;
  a->done = 1;
  a->err = err;
  if (!reply) return;
  a->type = reply->type;
  a->integer = reply->integer;
  if (reply->type == REDIS_REPLY_STRING)
    snprintf(a->str, sizeof(a->str), "%.*s", (int)reply->len, reply->str);
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) /* TIME */
    snprintf(a->str, sizeof(a->str), "%s%06lld", reply->element[0]->str,
             atoll(reply->element[1]->str));
}

/* Takes the n buckets b through r and waits for Redis' answer. The result's
 * err, or -1 if none came. */
static int take(uv_loop_t *loop, qrl_redis *r, const qrl_limiter_bucket *b, size_t n,
                got *g) {
  qrl_err err;
  memset(g, 0, sizeof(*g));
  if ((err = qrl_limiter_take(r, b, n, on_got, g))) return (int)err;
  if (run_until(loop, &g->done, r, 0, QRL_H_TIMEOUT_MS)) return -1;
  return (int)g->r.err;
}

static int hit(uv_loop_t *loop, qrl_redis *r, const qrl_limiter_bucket *b, got *g) {
  qrl_err err;
  memset(g, 0, sizeof(*g));
  if ((err = qrl_limiter_hit(r, b, on_got, g))) return (int)err;
  if (run_until(loop, &g->done, r, 0, QRL_H_TIMEOUT_MS)) return -1;
  return (int)g->r.err;
}

static int give(uv_loop_t *loop, qrl_redis *r, const qrl_limiter_bucket *b, int reset) {
  got g = {0};
  if (qrl_limiter_give(r, b, &reset, 1, on_got, &g)) return -1;
  if (run_until(loop, &g.done, r, 0, QRL_H_TIMEOUT_MS)) return -1;
  return (int)g.r.err;
}

/* A raw command's answer (waited for). */
static int raw(uv_loop_t *loop, qrl_redis *r, answer *a, const char *cmd, const char *key) {
  memset(a, 0, sizeof(*a));
  if (key ? qrl_redis_cmd(r, on_answer, a, "%s %s", cmd, key)
          : qrl_redis_cmd(r, on_answer, a, "%s", cmd))
    return -1;
  if (run_until(loop, &a->done, r, 0, QRL_H_TIMEOUT_MS)) return -1;
  return a->err ? -1 : 0;
}

/* ---- the tests --------------------------------------------------------------- */

TEST(two_nodes_share_one_budget) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *a = NULL, *b = NULL;
  qrl_limiter_bucket share = {"test:share", 5, 100}, other = {"test:other", 1, 100};
  qrl_limiter_bucket both[2] = {other, share};
  answer ans;
  got g;
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  CHECK(qrl_h_redis_start(&rp, "noeviction") == 0);
  CHECK((a = client(&loop, &rp, 1000)) && (b = client(&loop, &rp, 1000)));
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  CHECK(run_until(&loop, NULL, b, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  /* 5 tokens, spent alternately through the two connections. */
  for (int i = 1; i <= 5; i++) {
    CHECK(take(&loop, i % 2 ? a : b, &share, 1, &g) == QRL_OK);
    /* (5 - i) tokens left, plus what 20 s a token earns back meanwhile. */
    CHECK(g.r.level_milli[0] >= (5 - i) * 1000 - 1 && g.r.level_milli[0] < (5 - i) * 1000 + 100);
  }
  /* The sixth is refused through either, and says when a token is back. */
  CHECK(take(&loop, a, &share, 1, &g) == QRL_RATE_LIMITED);
  CHECK(g.r.refused == 1 && g.r.retry_ms > 18000 && g.r.retry_ms <= 20000);
  CHECK(take(&loop, b, &share, 1, &g) == QRL_RATE_LIMITED);
  /* All or none: the empty bucket refuses, the fresh one is not spent. */
  CHECK(take(&loop, a, both, 2, &g) == QRL_RATE_LIMITED && g.r.refused == 2);
  CHECK(raw(&loop, a, &ans, "EXISTS", QRL_LIMITER_PREFIX "test:other") == 0 &&
        ans.integer == 0);
  CHECK(take(&loop, b, &other, 1, &g) == QRL_OK);
  /* Its key lives until the bucket is full again: at most the window. */
  CHECK(raw(&loop, a, &ans, "PTTL", QRL_LIMITER_PREFIX "test:other") == 0);
  CHECK(ans.integer > 90000 && ans.integer <= 100001);
  /* A token given back through B is taken through A, once. */
  CHECK(give(&loop, b, &share, 0) == QRL_OK);
  CHECK(take(&loop, a, &share, 1, &g) == QRL_OK);
  CHECK(take(&loop, b, &share, 1, &g) == QRL_RATE_LIMITED);
  /* A reset forgets the key: a full bucket again. */
  CHECK(give(&loop, a, &share, 1) == QRL_OK);
  CHECK(raw(&loop, b, &ans, "EXISTS", QRL_LIMITER_PREFIX "test:share") == 0 &&
        ans.integer == 0);
  for (int i = 0; i < 5; i++) CHECK(take(&loop, i % 2 ? a : b, &share, 1, &g) == QRL_OK);
  CHECK(take(&loop, a, &share, 1, &g) == QRL_RATE_LIMITED);
  /* Refunds up to full drop the key: nothing stays behind. */
  for (int i = 0; i < 6; i++) CHECK(give(&loop, i % 2 ? a : b, &share, 0) == QRL_OK);
  CHECK(raw(&loop, b, &ans, "EXISTS", QRL_LIMITER_PREFIX "test:share") == 0 &&
        ans.integer == 0);
  /* Bad buckets are refused before anything is sent. */
  {
    qrl_limiter_bucket bad = {"", 5, 100}, zero = {"k", 0, 100};
    CHECK(qrl_limiter_take(a, &bad, 1, on_got, &g) == QRL_INVAL);
    CHECK(qrl_limiter_take(a, &zero, 1, on_got, &g) == QRL_INVAL);
    CHECK(qrl_limiter_take(a, both, 0, on_got, &g) == QRL_INVAL);
  }
  rc = 0;
out:
  qrl_redis_free(a);
  qrl_redis_free(b);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* The bucket's time is Redis' TIME: the call carries none, and the TAT a
 * take writes is Redis' now plus one token's interval. */
TEST(the_clock_is_redis_own) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *a = NULL;
  qrl_limiter_bucket k = {"test:clock", 4, 8}; /* a token every 2 s */
  answer tat, now;
  got g;
  int rc = 1;
  long long d;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  CHECK(qrl_h_redis_start(&rp, "noeviction") == 0);
  CHECK((a = client(&loop, &rp, 1000)));
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_OK);
  CHECK(raw(&loop, a, &tat, "GET", QRL_LIMITER_PREFIX "test:clock") == 0);
  CHECK(raw(&loop, a, &now, "TIME", NULL) == 0);
  d = atoll(tat.str) - atoll(now.str);
  if (d > 2000000 || d < 1000000) fprintf(stderr, "TAT - TIME = %lld us\n", d);
  CHECK(d <= 2000000 && d > 1000000);
  rc = 0;
out:
  qrl_redis_free(a);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* A hit a node let through is counted even past the budget: a debt that
 * takes wait out, at most another limit tokens deep. */
TEST(a_hit_past_the_budget_is_a_debt) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *a = NULL;
  qrl_limiter_bucket k = {"test:hit", 2, 100};
  got g;
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  CHECK(qrl_h_redis_start(&rp, "noeviction") == 0);
  CHECK((a = client(&loop, &rp, 1000)));
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  CHECK(hit(&loop, a, &k, &g) == QRL_OK && g.r.level_milli[0] >= 999);
  CHECK(hit(&loop, a, &k, &g) == QRL_OK && g.r.level_milli[0] >= -1 && g.r.level_milli[0] < 100);
  CHECK(hit(&loop, a, &k, &g) == QRL_RATE_LIMITED);
  CHECK(g.r.level_milli[0] >= -1001 && g.r.level_milli[0] < -900);
  /* Two tokens to earn back (50 s each) before a take passes. */
  CHECK(take(&loop, a, &k, 1, &g) == QRL_RATE_LIMITED);
  CHECK(g.r.retry_ms > 99000 && g.r.retry_ms <= 100000);
  for (int i = 0; i < 10; i++) CHECK(hit(&loop, a, &k, &g) == QRL_RATE_LIMITED);
  CHECK(g.r.level_milli[0] >= -2001 && g.r.level_milli[0] < -1900);
  rc = 0;
out:
  qrl_redis_free(a);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* Fail closed: a stalled Redis answers unavailable at the deadline and
 * refuses at once after; awake, the bucket works again. Killed: the same,
 * and a restarted Redis is used again. */
TEST(a_stalled_or_killed_redis_refuses_then_works_again) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *a = NULL;
  qrl_limiter_bucket k = {"test:down", 3, 60};
  got g;
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  CHECK(qrl_h_redis_start(&rp, "noeviction") == 0);
  CHECK((a = client(&loop, &rp, 300)));
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_OK);
  kill(rp.pid, SIGSTOP);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_UNAVAILABLE); /* at the deadline */
  CHECK(take(&loop, a, &k, 1, &g) == QRL_UNAVAILABLE); /* at once */
  CHECK(hit(&loop, a, &k, &g) == QRL_UNAVAILABLE);
  kill(rp.pid, SIGCONT);
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_OK && g.r.level_milli[0] < 2000);
  qrl_h_redis_kill(&rp);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_UNAVAILABLE);
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_DOWN, QRL_H_TIMEOUT_MS) == 0);
  CHECK(take(&loop, a, &k, 1, &g) == QRL_UNAVAILABLE);
  CHECK(qrl_h_redis_start(&rp, "noeviction") == 0);
  CHECK(run_until(&loop, NULL, a, QRL_REDIS_UP, QRL_H_TIMEOUT_MS) == 0);
  /* A new Redis without persistence: the budget starts over (production
   * Redis keeps its data; the database keeps the password limits). */
  CHECK(take(&loop, a, &k, 1, &g) == QRL_OK);
  rc = 0;
out:
  qrl_redis_free(a);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST_MAIN(two_nodes_share_one_budget, the_clock_is_redis_own, a_hit_past_the_budget_is_a_debt,
          a_stalled_or_killed_redis_refuses_then_works_again)
