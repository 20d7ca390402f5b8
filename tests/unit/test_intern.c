/*
 * test_intern.c - shared strings (helpers/intern.h): one copy per distinct
 * string, counted references, freed at the last drop, many strings across
 * table growth, the empty string and long ones.
 */
#include <stdio.h>
#include <string.h>

#include "helpers/intern.h"
#include "test.h"

TEST(one_copy_counted_and_freed_at_last_drop) {
  qrl_intern *t = qrl_intern_new();
  char buf[16];
  const char *a, *b, *c;
  ASSERT_TRUE(t != NULL);
  snprintf(buf, sizeof(buf), "%s", "Mozilla/5.0");
  a = qrl_intern_take(t, buf);
  ASSERT_TRUE(a != NULL && a != buf);
  ASSERT_EQ_STR(a, "Mozilla/5.0");
  buf[0] = 'X'; /* a copy: the caller's buffer is its own */
  ASSERT_EQ_STR(a, "Mozilla/5.0");
  b = qrl_intern_take(t, "Mozilla/5.0");
  ASSERT_TRUE(a == b);
  ASSERT_EQ_INT(qrl_intern_refs(a), 2);
  c = qrl_intern_take(t, "Mozilla/5.01");
  ASSERT_TRUE(c != a);
  ASSERT_EQ_INT(qrl_intern_count(t), 2);
  qrl_intern_drop(t, b);
  ASSERT_EQ_INT(qrl_intern_refs(a), 1);
  ASSERT_EQ_INT(qrl_intern_count(t), 2);
  qrl_intern_drop(t, a);
  ASSERT_EQ_INT(qrl_intern_count(t), 1); /* freed (ASan would see a leak or a reuse) */
  qrl_intern_drop(t, NULL);
  a = qrl_intern_take(t, "Mozilla/5.0"); /* taken afresh */
  ASSERT_EQ_INT(qrl_intern_refs(a), 1);
  ASSERT_EQ_INT(qrl_intern_count(t), 2);
  qrl_intern_drop(t, a);
  qrl_intern_drop(t, c);
  ASSERT_EQ_INT(qrl_intern_count(t), 0);
  qrl_intern_free(t);
  qrl_intern_free(NULL);
  return 0;
}

TEST(many_strings_through_growth) {
  enum { N = 5000 };
  static const char *p[N];
  qrl_intern *t = qrl_intern_new();
  char s[32];
  ASSERT_TRUE(t != NULL);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < N; i++) {
      snprintf(s, sizeof(s), "ua-%d", i);
      const char *x = qrl_intern_take(t, s);
      ASSERT_TRUE(x != NULL);
      ASSERT_EQ_STR(x, s);
      if (round) ASSERT_TRUE(x == p[i]);
      p[i] = x;
    }
  ASSERT_EQ_INT(qrl_intern_count(t), N);
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(qrl_intern_refs(p[i]), 2);
  for (int i = 0; i < N; i++) qrl_intern_drop(t, p[i]);
  ASSERT_EQ_INT(qrl_intern_count(t), N);
  for (int i = N - 1; i >= 0; i--) qrl_intern_drop(t, p[i]);
  ASSERT_EQ_INT(qrl_intern_count(t), 0);
  qrl_intern_free(t);
  return 0;
}

/* Strings still held when the table goes are freed with it (LeakSanitizer
 * checks), and the empty string and a long one are strings like others. */
TEST(empty_long_and_freed_with_the_table) {
  qrl_intern *t = qrl_intern_new();
  char big[4097];
  const char *e, *l;
  ASSERT_TRUE(t != NULL);
  memset(big, 'u', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  e = qrl_intern_take(t, "");
  l = qrl_intern_take(t, big);
  ASSERT_TRUE(e != NULL && l != NULL);
  ASSERT_EQ_STR(e, "");
  ASSERT_EQ_INT(strlen(l), 4096);
  ASSERT_EQ_INT(qrl_intern_count(t), 2);
  qrl_intern_free(t);
  return 0;
}

TEST_MAIN(one_copy_counted_and_freed_at_last_drop, many_strings_through_growth,
          empty_long_and_freed_with_the_table)
