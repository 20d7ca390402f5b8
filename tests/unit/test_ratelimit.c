/*
 * test_ratelimit.c - the in-memory token buckets: bursts, the sustained
 * rate, refills that never overflow, resets, sweeping, a full table that fails closed,
 * many keys with deletions (the backward-shift delete keeps lookups right),
 * growth on demand, the budgeted sweep, the key length limit, and monotonic
 * time (a wall-clock step changes nothing). Times are monotonic ms.
 * Incremental growth: lookups, hits, refunds, resets and sweeps in the middle
 * of a doubling (keys split between two tables), and the bound on the
 * growth work one call does (counted by qrl_rl_get_stats(), not timed).
 */
#include <stdio.h>
#include <string.h>

#include "fake_clock.h"
#include "domain/ratelimit.h"
#include "test.h"

/* Times are monotonic milliseconds: S(x) is x seconds. */
#define S(x) ((int64_t)(x) * 1000)
/* A budget that sweeps the small tables of these tests whole. */
#define ALL ((size_t)1 << 20)

/* 3 per 60 s: a burst of 3, then one token every 20 s. */
TEST(burst_then_steady_rate) {
  qrl_ratelimit *rl = qrl_rl_new(100);
  int64_t retry = 0;
  ASSERT_TRUE(rl != NULL);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1000), 3, 60), 2);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1000), 3, 60), 1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1000), 3, 60), 0);
  ASSERT_TRUE(!qrl_rl_allowed(rl, "pw:id:1", S(1001), 3, 60, &retry));
  ASSERT_TRUE(retry >= 19 && retry <= 20);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1001), 3, 60), -1); /* refused, costs nothing */
  /* Other keys are independent. */
  ASSERT_TRUE(qrl_rl_allowed(rl, "pw:id:2", S(1001), 3, 60, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:2", S(1001), 3, 60), 2);
  /* One token back after 20 s, not before. */
  ASSERT_TRUE(!qrl_rl_allowed(rl, "pw:id:1", S(1019), 3, 60, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1020), 3, 60), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(1021), 3, 60), -1);
  /* A long pause refills to the burst, never beyond. */
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", S(5000), 3, 60), 2);
  qrl_rl_free(rl);
  return 0;
}

/* A steady stream at the sustained rate is never refused; one faster is. */
TEST(sustained_rate) {
  qrl_ratelimit *rl = qrl_rl_new(10);
  int refused = 0;
  ASSERT_TRUE(rl != NULL);
  for (int64_t t = 0; t < 600; t += 6) /* 10 per minute */
    if (qrl_rl_hit(rl, "k", S(t), 10, 60) < 0) refused++;
  ASSERT_EQ_INT(refused, 0);
  for (int64_t t = 600; t < 1200; t += 3) /* 20 per minute */
    if (qrl_rl_hit(rl, "k", S(t), 10, 60) < 0) refused++;
  ASSERT_TRUE(refused >= 90 && refused <= 110);
  qrl_rl_free(rl);
  return 0;
}

TEST(reset_and_sweep) {
  qrl_ratelimit *rl = qrl_rl_new(100);
  ASSERT_TRUE(rl != NULL);
  qrl_rl_hit(rl, "a", S(0), 1, 10);
  qrl_rl_hit(rl, "b", S(5), 1, 10);
  ASSERT_TRUE(!qrl_rl_allowed(rl, "a", S(1), 1, 10, NULL));
  qrl_rl_reset(rl, "a");
  ASSERT_TRUE(qrl_rl_allowed(rl, "a", S(1), 1, 10, NULL));
  ASSERT_EQ_INT(qrl_rl_sweep(rl, S(12), ALL), 1);  /* "b" is full again at 16 */
  ASSERT_EQ_INT(qrl_rl_sweep(rl, S(16), ALL), 0);
  qrl_rl_free(rl);
  return 0;
}

/* Full of live keys: a new key is refused (fail closed), old keys still
 * work, and room comes back when windows end. */
TEST(full_table_fails_closed) {
  qrl_ratelimit *rl = qrl_rl_new(8);
  char k[16];
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < 8; i++) {
    snprintf(k, sizeof(k), "k%d", i);
    ASSERT_TRUE(qrl_rl_hit(rl, k, S(100), 5, 10) >= 0);
  }
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new", S(100), 5, 10), -1);
  ASSERT_TRUE(qrl_rl_hit(rl, "k3", S(100), 5, 10) >= 0);
  ASSERT_TRUE(qrl_rl_hit(rl, "new", S(110), 5, 10) >= 0); /* expired ones swept */
  qrl_rl_free(rl);
  return 0;
}

/* Thousands of keys, half deleted in a scattered order: every survivor is
 * still found with its count, every deleted one is gone. */
TEST(many_keys_with_deletions) {
  enum { N = 5000 };
  qrl_ratelimit *rl = qrl_rl_new(N);
  char k[32];
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "ip:10.0.%d.%d", i / 256, i % 256);
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 2, 1000), 1);
  }
  for (int i = 0; i < N; i += 2) {
    snprintf(k, sizeof(k), "ip:10.0.%d.%d", i / 256, i % 256);
    qrl_rl_reset(rl, k);
  }
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "ip:10.0.%d.%d", i / 256, i % 256);
    /* deleted keys start again at 1 left; survivors have 0 left */
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(1), 2, 1000), i % 2 ? 0 : 1);
  }
  qrl_rl_free(rl);
  return 0;
}

TEST(bad_keys_are_refused) {
  qrl_ratelimit *rl = qrl_rl_new(4);
  char big[200];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  ASSERT_EQ_INT(qrl_rl_hit(rl, big, S(0), 5, 10), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, NULL, S(0), 5, 10), -1);
  ASSERT_FALSE(qrl_rl_allowed(rl, big, S(0), 5, 10, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "k", S(0), 0, 10), -1);
  qrl_rl_free(rl);
  ASSERT_TRUE(qrl_rl_new(0) == NULL);
  return 0;
}

/* Take on arrival, refund what turned out not to be a failure: the bucket
 * never goes above its limit, and an unknown key is left alone. */
TEST(refund_gives_back_one_token_up_to_the_limit) {
  qrl_ratelimit *rl = qrl_rl_new(16);
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900) >= 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900), -1);
  qrl_rl_refund(rl, "pw:id:x", S(1000), 5, 900);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900), -1);
  /* Refunds beyond the limit are capped. */
  for (int i = 0; i < 20; i++) qrl_rl_refund(rl, "pw:id:x", S(1000), 5, 900);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900) >= 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", S(1000), 5, 900), -1);
  /* A key never hit stays unknown; a full bucket can be swept again. */
  qrl_rl_refund(rl, "pw:id:y", S(1000), 5, 900);
  ASSERT_TRUE(qrl_rl_allowed(rl, "pw:id:y", S(1000), 5, 900, NULL));
  ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:z", S(1000), 5, 900) >= 0);
  qrl_rl_refund(rl, "pw:id:z", S(1000), 5, 900);
  ASSERT_EQ_INT(qrl_rl_sweep(rl, S(1001), ALL), 1); /* z is full again: dropped */
  qrl_rl_free(rl);
  return 0;
}

/* A count learnt from Redis (throttle.h) lowers a bucket, never raises it;
 * a debt below zero is waited out at the bucket's rate; an absent key is
 * added. */
TEST(cap_lowers_a_bucket_to_a_count_learnt_elsewhere) {
  qrl_ratelimit *rl = qrl_rl_new(16);
  int64_t retry = 0;
  ASSERT_TRUE(rl != NULL);
  ASSERT_TRUE(qrl_rl_hit(rl, "mint:ip:a", S(1000), 30, 60) >= 0); /* 29 left here */
  ASSERT_EQ_INT(qrl_rl_cap(rl, "mint:ip:a", S(1000), 30, 60, 0.5), 0); /* Redis: 0.5 */
  ASSERT_FALSE(qrl_rl_allowed(rl, "mint:ip:a", S(1000), 30, 60, &retry));
  ASSERT_EQ_INT(retry, 1); /* half a token at 2 s a token */
  ASSERT_EQ_INT(qrl_rl_hit(rl, "mint:ip:a", S(1000), 30, 60), -1);
  ASSERT_TRUE(qrl_rl_hit(rl, "mint:ip:a", S(1001), 30, 60) >= 0);
  /* A higher count does not raise it. */
  ASSERT_EQ_INT(qrl_rl_cap(rl, "mint:ip:a", S(1001), 30, 60, 25), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "mint:ip:a", S(1001), 30, 60), -1);
  /* A debt of 2 tokens: 3 tokens' time (6 s) before the next hit. */
  ASSERT_EQ_INT(qrl_rl_cap(rl, "mint:ip:b", S(1000), 30, 60, -2), 0);
  ASSERT_EQ_INT(qrl_rl_keys(rl), 2);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "mint:ip:b", S(1005), 30, 60), -1);
  ASSERT_TRUE(qrl_rl_hit(rl, "mint:ip:b", S(1006), 30, 60) >= 0);
  /* Deeper than the limit counts as -limit; a full count adds nothing. */
  ASSERT_EQ_INT(qrl_rl_cap(rl, "mint:ip:c", S(1000), 2, 60, -50), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "mint:ip:c", S(1089), 2, 60), -1);
  ASSERT_TRUE(qrl_rl_hit(rl, "mint:ip:c", S(1090), 2, 60) >= 0);
  ASSERT_EQ_INT(qrl_rl_cap(rl, "mint:ip:d", S(1000), 2, 60, 2), 0);
  ASSERT_EQ_INT(qrl_rl_keys(rl), 3);
  ASSERT_EQ_INT(qrl_rl_cap(rl, "", S(1000), 2, 60, 0), -1);
  qrl_rl_free(rl);
  return 0;
}

/* The table grows as keys arrive: every key keeps its bucket and its count
 * through each rehash. */
TEST(growth_keeps_every_key_and_its_count) {
  enum { N = 20000 };
  qrl_ratelimit *rl = qrl_rl_new(50000);
  size_t small;
  char k[32];
  ASSERT_TRUE(rl != NULL);
  small = qrl_rl_bytes(rl);
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "ip:10.%d.%d", i / 256, i % 256);
    for (int h = 0; h <= i % 3; h++) ASSERT_TRUE(qrl_rl_hit(rl, k, S(0), 5, 1000) >= 0);
  }
  ASSERT_EQ_INT(qrl_rl_keys(rl), N);
  ASSERT_TRUE(qrl_rl_bytes(rl) > 8 * small);
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "ip:10.%d.%d", i / 256, i % 256);
    /* 1..3 tokens spent, one more now: 3..1 left */
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 5, 1000), 5 - (i % 3 + 1) - 1);
  }
  ASSERT_EQ_INT(qrl_rl_keys(rl), N);
  qrl_rl_free(rl);
  return 0;
}

/* Room for 200,000 keys costs nothing until keys come: a new table is a few
 * KB (it was ~54 MB of slots once touched). */
TEST(new_limiter_is_small) {
  qrl_ratelimit *rl = qrl_rl_new(200000);
  ASSERT_TRUE(rl != NULL);
  ASSERT_TRUE(qrl_rl_bytes(rl) < 4096);
  ASSERT_TRUE(qrl_rl_hit(rl, "k", S(0), 5, 10) >= 0);
  ASSERT_TRUE(qrl_rl_bytes(rl) < 4096);
  qrl_rl_free(rl);
  return 0;
}

/* A sweep looks at no more than its budget of slots and carries on where it
 * stopped: every call drops at most `budget` keys, the count only goes down,
 * full buckets are all gone within (slots + keys) / budget + 1 calls, and
 * live buckets stay with their counts. */
TEST(sweep_with_budget_makes_progress_and_drops_every_full_bucket) {
  enum { N = 10000, BUDGET = 100 };
  qrl_ratelimit *rl = qrl_rl_new(N);
  size_t left = N, calls = 0, slots_max = 4 * N;
  char k[32];
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "k%d", i);
    /* odd keys: a long window (live at S(100)); even ones: full again by then */
    ASSERT_TRUE(qrl_rl_hit(rl, k, S(0), 2, i % 2 ? 100000 : 10) >= 0);
  }
  ASSERT_EQ_INT(qrl_rl_sweep(rl, S(100), 0), N); /* a zero budget does nothing */
  while (left > N / 2) {
    size_t now_left = qrl_rl_sweep(rl, S(100), BUDGET);
    ASSERT_TRUE(now_left <= left);
    ASSERT_TRUE(left - now_left <= BUDGET);
    left = now_left;
    calls++;
    ASSERT_TRUE(calls <= (slots_max + N) / BUDGET + 1);
  }
  ASSERT_EQ_INT(left, N / 2);
  ASSERT_TRUE(calls > 1); /* it took several bounded steps, not one walk */
  for (int i = 1; i < N; i += 2) {
    snprintf(k, sizeof(k), "k%d", i);
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(100), 2, 100000), 0); /* kept its count */
  }
  qrl_rl_free(rl);
  return 0;
}

/* A big table full of live keys refuses a new key (fail closed) after
 * growing to its maximum; once the old windows end, a new key's own bounded
 * sweep makes room. */
TEST(full_table_of_live_keys_refuses_a_new_key) {
  enum { MAX = 1000 };
  qrl_ratelimit *rl = qrl_rl_new(MAX);
  char k[32];
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < MAX; i++) {
    snprintf(k, sizeof(k), "k%d", i);
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 1, 60), 0); /* empty until S(60) */
  }
  ASSERT_EQ_INT(qrl_rl_keys(rl), MAX);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new", S(1), 1, 60), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new", S(59), 1, 60), -1);
  ASSERT_EQ_INT(qrl_rl_keys(rl), MAX);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "k7", S(59), 1, 60), -1); /* old keys keep their state */
  qrl_rl_reset(rl, "k7");
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new", S(59), 1, 60), 0); /* one place free */
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new2", S(59), 1, 60), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new2", S(61), 1, 60), 0); /* old windows over */
  qrl_rl_free(rl);
  return 0;
}

/* QRL_RL_KEY_MAX bytes is the longest key; longer ones are refused, never
 * cut to a shared prefix (which would put two keys in one bucket). */
TEST(long_keys_are_refused_not_truncated) {
  qrl_ratelimit *rl = qrl_rl_new(16);
  char max[QRL_RL_KEY_MAX + 1], a[QRL_RL_KEY_MAX + 30], b[QRL_RL_KEY_MAX + 30];
  int64_t retry = -1;
  ASSERT_TRUE(rl != NULL);
  memset(max, 'm', QRL_RL_KEY_MAX);
  max[QRL_RL_KEY_MAX] = '\0';
  ASSERT_EQ_INT(qrl_rl_hit(rl, max, S(0), 1, 10), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, max, S(0), 1, 10), -1);
  memset(a, 'x', sizeof(a) - 1);
  a[sizeof(a) - 1] = '\0';
  memcpy(b, a, sizeof(b));
  b[sizeof(b) - 2] = 'y'; /* same first QRL_RL_KEY_MAX bytes */
  ASSERT_EQ_INT(qrl_rl_hit(rl, a, S(0), 5, 10), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, b, S(0), 5, 10), -1);
  a[QRL_RL_KEY_MAX + 1] = '\0'; /* one byte too long */
  ASSERT_EQ_INT(qrl_rl_hit(rl, a, S(0), 5, 10), -1);
  ASSERT_FALSE(qrl_rl_allowed(rl, a, S(0), 5, 10, &retry));
  ASSERT_EQ_INT(retry, 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "", S(0), 5, 10), -1);
  ASSERT_EQ_INT(qrl_rl_keys(rl), 1);
  qrl_rl_free(rl);
  return 0;
}

/* Buckets run on the monotonic clock: a wall-clock step of a day either way
 * (NTP, an operator) neither refills an empty bucket nor drains a full one;
 * monotonic time passing refills it. A reading older than the bucket's
 * (impossible on a monotonic clock) does not drain it either. */
TEST(wall_clock_steps_neither_refill_nor_drain) {
  qrl_ratelimit *rl = qrl_rl_new(16);
  fake_clock f;
  ASSERT_TRUE(rl != NULL);
  fake_clock_init(&f, 1700000000, 123456);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(qrl_rl_hit(rl, "empty", qrl_clock_mono_ms(&f.clk), 3, 60) >= 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "one", qrl_clock_mono_ms(&f.clk), 3, 60), 2);
  f.wall += FAKE_DAY;
  f.mono_ms += 1000;
  ASSERT_EQ_INT(qrl_rl_hit(rl, "empty", qrl_clock_mono_ms(&f.clk), 3, 60), -1);
  f.wall -= 2 * FAKE_DAY;
  f.mono_ms += 1000;
  ASSERT_EQ_INT(qrl_rl_hit(rl, "empty", qrl_clock_mono_ms(&f.clk), 3, 60), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "one", qrl_clock_mono_ms(&f.clk), 3, 60), 1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "one", qrl_clock_mono_ms(&f.clk) - S(3600), 3, 60), 0);
  f.mono_ms += S(20);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "empty", qrl_clock_mono_ms(&f.clk), 3, 60), 0);
  qrl_rl_free(rl);
  return 0;
}

/* Key i of the growth tests. */
static void gkey(char *k, size_t n, int i) { snprintf(k, n, "pw:ip:10.%d.%d", i / 256, i % 256); }

/* Inserts keys until, past min keys, a doubling is moving keys and more
 * than half of them are still in the old table; returns how many were
 * inserted (-1 if that never happened). Key i gets one hit with limit lim
 * and a window of 10 s (even i: full again at S(10)) or 100,000 s (odd i). */
static int fill_until_moving(qrl_ratelimit *rl, int max, int min, int lim) {
  qrl_rl_stats st;
  char k[32];
  for (int i = 0; i < max; i++) {
    gkey(k, sizeof(k), i);
    if (qrl_rl_hit(rl, k, S(0), lim, i % 2 ? 100000 : 10) != lim - 1) return -1;
    qrl_rl_get_stats(rl, &st);
    if (i > min && st.growing == 2 && st.old_keys > (size_t)i / 2) return i + 1;
  }
  return -1;
}

/* Through several doublings, with lookups of old keys between every two
 * inserts (many of them while keys are split between the two tables), every
 * key keeps its bucket and its count. */
TEST(growth_with_interleaved_lookups_keeps_every_key_and_count) {
  enum { N = 40000 };
  qrl_ratelimit *rl = qrl_rl_new(N);
  qrl_rl_stats st;
  int mid = 0;
  char k[32];
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < N; i++) {
    gkey(k, sizeof(k), i);
    for (int h = 0; h <= i % 3; h++) ASSERT_TRUE(qrl_rl_hit(rl, k, S(0), 5, 1000) >= 0);
    /* An older key: one more hit shows its count; a refund gives it back. */
    int j = (int)(((unsigned)i * 2654435761u) % (unsigned)(i + 1));
    gkey(k, sizeof(k), j);
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 5, 1000), 5 - (j % 3 + 1) - 1);
    qrl_rl_refund(rl, k, S(0), 5, 1000);
    ASSERT_FALSE(qrl_rl_allowed(rl, "never-hit", S(0), 5, 1000, NULL) == 0);
    qrl_rl_get_stats(rl, &st);
    if (st.growing == 2 && st.old_keys > 0) mid++;
  }
  qrl_rl_get_stats(rl, &st);
  ASSERT_TRUE(st.growths >= 5);
  ASSERT_TRUE(mid > 1000); /* the checks above ran mid-move many times */
  ASSERT_EQ_INT(qrl_rl_keys(rl), N);
  for (int i = 0; i < N; i++) {
    gkey(k, sizeof(k), i);
    /* refunds are capped: a key's count is its own hits only */
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 5, 1000), 5 - (i % 3 + 1) - 1);
  }
  qrl_rl_free(rl);
  return 0;
}

/* A sweep in the middle of a doubling drops the full buckets still in the
 * old table (and those already moved) within its bound, and live ones keep
 * their counts. */
TEST(sweep_during_growth_drops_full_buckets) {
  enum { MAX = 50000, BUDGET = 256 };
  qrl_ratelimit *rl = qrl_rl_new(MAX);
  qrl_rl_stats st;
  size_t left, calls = 0, bound;
  char k[32];
  int n;
  ASSERT_TRUE(rl != NULL);
  n = fill_until_moving(rl, MAX, 1000, 2);
  ASSERT_TRUE(n > 0);
  qrl_rl_get_stats(rl, &st);
  ASSERT_EQ_INT(st.growing, 2);
  /* slots of both tables (bytes / slot size overcounts) plus keys */
  bound = (qrl_rl_bytes(rl) / (QRL_RL_KEY_MAX + 1 + 24) + (size_t)n) / BUDGET + 2;
  left = qrl_rl_sweep(rl, S(100), BUDGET);
  qrl_rl_get_stats(rl, &st);
  ASSERT_TRUE(left < (size_t)n);        /* the first call already dropped some */
  ASSERT_EQ_INT(st.last_moved, BUDGET); /* spent on the old table first */
  calls = 1;
  while (left > (size_t)(n / 2)) {
    left = qrl_rl_sweep(rl, S(100), BUDGET);
    ASSERT_TRUE(++calls <= bound);
  }
  ASSERT_EQ_INT(left, n / 2);
  for (int i = 0; i < n; i++) {
    gkey(k, sizeof(k), i);
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(100), 2, i % 2 ? 100000 : 10), i % 2 ? 0 : 1);
  }
  qrl_rl_free(rl);
  return 0;
}

/* Refunds and resets of keys still in the old table, in the middle of a
 * doubling, act on the right bucket and leave the others as they were
 * (a reset's backward shift in the old table keeps its probe runs whole). */
TEST(refund_and_reset_mid_growth) {
  enum { MAX = 100000 };
  qrl_ratelimit *rl = qrl_rl_new(MAX);
  qrl_rl_stats st;
  char k[32];
  int n;
  ASSERT_TRUE(rl != NULL);
  n = fill_until_moving(rl, MAX, 10000, 1); /* every bucket empty */
  ASSERT_TRUE(n > 0);
  /* A few thousand calls, each moving at most a few slots: the old table
   * (2^16 slots here) is still being emptied when they are done. */
  for (int i = 0; i < n; i++) {
    gkey(k, sizeof(k), i);
    if (i % 15 == 0) qrl_rl_reset(rl, k);
    else if (i % 15 == 1) qrl_rl_refund(rl, k, S(1), 1, i % 2 ? 100000 : 10);
  }
  qrl_rl_get_stats(rl, &st);
  ASSERT_EQ_INT(st.growing, 2);
  ASSERT_TRUE(st.old_keys > 0);
  ASSERT_EQ_INT(qrl_rl_keys(rl), n - (n + 14) / 15);
  for (int i = 0; i < n; i++) {
    gkey(k, sizeof(k), i);
    /* reset: a fresh bucket; refunded: its token back; untouched: empty
     * (at S(1), even the 10 s windows have earned nothing back) */
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(1), 1, i % 2 ? 100000 : 10), i % 15 < 2 ? 0 : -1);
  }
  qrl_rl_free(rl);
  return 0;
}

/* No call does growth work in proportion to the table: filling 300,000 keys
 * (doublings up to 2^20 slots) with hits, refunds, lookups and resets mixed
 * in, no call clears more than a few KB of the new table, moves more than a
 * few slots of the old one, or takes more than a chunk of memory at once. */
TEST(growth_work_per_call_is_bounded) {
  enum { N = 300000, ZERO_MAX = 32, MOVE_MAX = 16 };
  qrl_ratelimit *rl = qrl_rl_new(N);
  qrl_rl_stats st;
  size_t bytes, prev;
  char k[32];
  ASSERT_TRUE(rl != NULL);
  prev = qrl_rl_bytes(rl);
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "k%d", i);
    ASSERT_TRUE(qrl_rl_hit(rl, k, S(0), 3, 1000) >= 0);
    qrl_rl_get_stats(rl, &st);
    ASSERT_TRUE(st.last_zeroed <= ZERO_MAX && st.last_moved <= MOVE_MAX);
    bytes = qrl_rl_bytes(rl);
    ASSERT_TRUE(bytes <= prev + 128 * 1024); /* a chunk (and a directory) at most */
    prev = bytes;
    if (i % 7 == 0) {
      qrl_rl_allowed(rl, k, S(0), 3, 1000, NULL);
      qrl_rl_refund(rl, k, S(0), 3, 1000);
      qrl_rl_get_stats(rl, &st);
      ASSERT_TRUE(st.last_zeroed <= ZERO_MAX && st.last_moved <= MOVE_MAX);
    }
  }
  qrl_rl_reset(rl, "k1");
  qrl_rl_get_stats(rl, &st);
  ASSERT_TRUE(st.growths >= 15);
  ASSERT_TRUE(st.max_zeroed > 0 && st.max_zeroed <= ZERO_MAX);
  ASSERT_TRUE(st.max_moved > 0 && st.max_moved <= MOVE_MAX);
  ASSERT_EQ_INT(qrl_rl_keys(rl), N - 1);
  /* Honest size: 2^20 slots of 120 bytes and a directory, nothing left over. */
  ASSERT_TRUE(qrl_rl_bytes(rl) >= ((size_t)1 << 20) * 120);
  ASSERT_TRUE(qrl_rl_bytes(rl) < ((size_t)1 << 20) * 120 + 64 * 1024);
  qrl_rl_free(rl);
  return 0;
}

/* Many small limiters, random hits, refunds and resets against a model:
 * small tables double in few steps, so lookups often land on a key whose
 * home the move has passed while it still sits in the old table, and resets
 * shift runs in a table half moved. Every answer and the key count match. */
TEST(random_ops_match_a_model_across_doublings) {
  enum { LIMITERS = 3000, OPS = 200, KEYS = 60, MAX = 40 };
  uint32_t r = 12345;
  char k[16];
  for (int l = 0; l < LIMITERS; l++) {
    qrl_ratelimit *rl = qrl_rl_new(MAX);
    int tok[KEYS], n = 0; /* -1: absent */
    ASSERT_TRUE(rl != NULL);
    for (int i = 0; i < KEYS; i++) tok[i] = -1;
    for (int o = 0; o < OPS; o++) {
      int op, j;
      r = r * 1103515245u + 12345u;
      op = (int)(r >> 16) % 10;
      j = (int)((r >> 4) % KEYS);
      snprintf(k, sizeof(k), "%d:%d", l, j);
      if (op < 6) {
        int want = tok[j] < 0 ? (n < MAX ? 2 : -1) : tok[j] >= 1 ? tok[j] - 1 : -1;
        ASSERT_EQ_INT(qrl_rl_hit(rl, k, S(0), 3, 100000), want);
        if (tok[j] < 0 && want >= 0) n++;
        if (want >= 0) tok[j] = want;
      } else if (op < 8) {
        qrl_rl_refund(rl, k, S(0), 3, 100000);
        if (tok[j] >= 0 && tok[j] < 3) tok[j]++;
      } else {
        qrl_rl_reset(rl, k);
        if (tok[j] >= 0) n--;
        tok[j] = -1;
      }
      ASSERT_EQ_INT(qrl_rl_keys(rl), n);
    }
    qrl_rl_free(rl);
  }
  return 0;
}

TEST_MAIN(burst_then_steady_rate, sustained_rate, reset_and_sweep, full_table_fails_closed,
          many_keys_with_deletions, bad_keys_are_refused,
          refund_gives_back_one_token_up_to_the_limit,
          cap_lowers_a_bucket_to_a_count_learnt_elsewhere, growth_keeps_every_key_and_its_count, new_limiter_is_small,
          sweep_with_budget_makes_progress_and_drops_every_full_bucket,
          full_table_of_live_keys_refuses_a_new_key, long_keys_are_refused_not_truncated,
          wall_clock_steps_neither_refill_nor_drain,
          growth_with_interleaved_lookups_keeps_every_key_and_count,
          sweep_during_growth_drops_full_buckets, refund_and_reset_mid_growth,
          growth_work_per_call_is_bounded, random_ops_match_a_model_across_doublings)
