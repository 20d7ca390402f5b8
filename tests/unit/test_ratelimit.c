/*
 * test_ratelimit.c - the in-memory token buckets: bursts, the sustained
 * rate, refills that never overflow, resets, sweeping, a full table that fails closed, and
 * many keys with deletions (the backward-shift delete keeps lookups right).
 */
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "test.h"

/* 3 per 60 s: a burst of 3, then one token every 20 s. */
TEST(burst_then_steady_rate) {
  qrl_ratelimit *rl = qrl_rl_new(100);
  int64_t retry = 0;
  ASSERT_TRUE(rl != NULL);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1000, 3, 60), 2);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1000, 3, 60), 1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1000, 3, 60), 0);
  ASSERT_TRUE(!qrl_rl_allowed(rl, "pw:id:1", 1001, 3, 60, &retry));
  ASSERT_TRUE(retry >= 19 && retry <= 20);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1001, 3, 60), -1); /* refused, costs nothing */
  /* Other keys are independent. */
  ASSERT_TRUE(qrl_rl_allowed(rl, "pw:id:2", 1001, 3, 60, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:2", 1001, 3, 60), 2);
  /* One token back after 20 s, not before. */
  ASSERT_TRUE(!qrl_rl_allowed(rl, "pw:id:1", 1019, 3, 60, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1020, 3, 60), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 1021, 3, 60), -1);
  /* A long pause refills to the burst, never beyond. */
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:1", 5000, 3, 60), 2);
  qrl_rl_free(rl);
  return 0;
}

/* A steady stream at the sustained rate is never refused; one faster is. */
TEST(sustained_rate) {
  qrl_ratelimit *rl = qrl_rl_new(10);
  int refused = 0;
  ASSERT_TRUE(rl != NULL);
  for (int64_t t = 0; t < 600; t += 6) /* 10 per minute */
    if (qrl_rl_hit(rl, "k", t, 10, 60) < 0) refused++;
  ASSERT_EQ_INT(refused, 0);
  for (int64_t t = 600; t < 1200; t += 3) /* 20 per minute */
    if (qrl_rl_hit(rl, "k", t, 10, 60) < 0) refused++;
  ASSERT_TRUE(refused >= 90 && refused <= 110);
  qrl_rl_free(rl);
  return 0;
}

TEST(reset_and_sweep) {
  qrl_ratelimit *rl = qrl_rl_new(100);
  ASSERT_TRUE(rl != NULL);
  qrl_rl_hit(rl, "a", 0, 1, 10);
  qrl_rl_hit(rl, "b", 5, 1, 10);
  ASSERT_TRUE(!qrl_rl_allowed(rl, "a", 1, 1, 10, NULL));
  qrl_rl_reset(rl, "a");
  ASSERT_TRUE(qrl_rl_allowed(rl, "a", 1, 1, 10, NULL));
  ASSERT_EQ_INT(qrl_rl_sweep(rl, 12), 1);  /* "b" is full again at 16 */
  ASSERT_EQ_INT(qrl_rl_sweep(rl, 16), 0);
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
    ASSERT_TRUE(qrl_rl_hit(rl, k, 100, 5, 10) >= 0);
  }
  ASSERT_EQ_INT(qrl_rl_hit(rl, "new", 100, 5, 10), -1);
  ASSERT_TRUE(qrl_rl_hit(rl, "k3", 100, 5, 10) >= 0);
  ASSERT_TRUE(qrl_rl_hit(rl, "new", 110, 5, 10) >= 0); /* expired ones swept */
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
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, 0, 2, 1000), 1);
  }
  for (int i = 0; i < N; i += 2) {
    snprintf(k, sizeof(k), "ip:10.0.%d.%d", i / 256, i % 256);
    qrl_rl_reset(rl, k);
  }
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof(k), "ip:10.0.%d.%d", i / 256, i % 256);
    /* deleted keys start again at 1 left; survivors have 0 left */
    ASSERT_EQ_INT(qrl_rl_hit(rl, k, 1, 2, 1000), i % 2 ? 0 : 1);
  }
  qrl_rl_free(rl);
  return 0;
}

TEST(bad_keys_are_refused) {
  qrl_ratelimit *rl = qrl_rl_new(4);
  char big[200];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  ASSERT_EQ_INT(qrl_rl_hit(rl, big, 0, 5, 10), -1);
  ASSERT_EQ_INT(qrl_rl_hit(rl, NULL, 0, 5, 10), -1);
  ASSERT_FALSE(qrl_rl_allowed(rl, big, 0, 5, 10, NULL));
  ASSERT_EQ_INT(qrl_rl_hit(rl, "k", 0, 0, 10), -1);
  qrl_rl_free(rl);
  ASSERT_TRUE(qrl_rl_new(0) == NULL);
  return 0;
}

/* Take on arrival, refund what turned out not to be a failure: the bucket
 * never goes above its limit, and an unknown key is left alone. */
TEST(refund_gives_back_one_token_up_to_the_limit) {
  qrl_ratelimit *rl = qrl_rl_new(16);
  ASSERT_TRUE(rl != NULL);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900) >= 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900), -1);
  qrl_rl_refund(rl, "pw:id:x", 1000, 5, 900);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900), 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900), -1);
  /* Refunds beyond the limit are capped. */
  for (int i = 0; i < 20; i++) qrl_rl_refund(rl, "pw:id:x", 1000, 5, 900);
  for (int i = 0; i < 5; i++) ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900) >= 0);
  ASSERT_EQ_INT(qrl_rl_hit(rl, "pw:id:x", 1000, 5, 900), -1);
  /* A key never hit stays unknown; a full bucket can be swept again. */
  qrl_rl_refund(rl, "pw:id:y", 1000, 5, 900);
  ASSERT_TRUE(qrl_rl_allowed(rl, "pw:id:y", 1000, 5, 900, NULL));
  ASSERT_TRUE(qrl_rl_hit(rl, "pw:id:z", 1000, 5, 900) >= 0);
  qrl_rl_refund(rl, "pw:id:z", 1000, 5, 900);
  ASSERT_EQ_INT(qrl_rl_sweep(rl, 1001), 1); /* z is full again: dropped */
  qrl_rl_free(rl);
  return 0;
}

TEST_MAIN(burst_then_steady_rate, sustained_rate, reset_and_sweep, full_table_fails_closed,
          many_keys_with_deletions, bad_keys_are_refused,
          refund_gives_back_one_token_up_to_the_limit)
