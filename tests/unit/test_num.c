/*
 * test_num.c - strict decimal parsing for command lines and prompts: bounds
 * inclusive, digits only, overflow refused, nothing written on a refusal.
 */
#include <limits.h>
#include <stdio.h>

#include "helpers/num.h"
#include "test.h"

TEST(accepts_digits_within_bounds) {
  long v = -1;
  ASSERT_EQ_INT(qrl_parse_long("0", 0, 10, &v), 0);
  ASSERT_EQ_INT(v, 0);
  ASSERT_EQ_INT(qrl_parse_long("10", 0, 10, &v), 0);
  ASSERT_EQ_INT(v, 10);
  ASSERT_EQ_INT(qrl_parse_long("007", 0, 10, &v), 0);
  ASSERT_EQ_INT(v, 7);
  ASSERT_EQ_INT(qrl_parse_long("9223372036854775807", 0, LONG_MAX, &v), 0);
  ASSERT_EQ_INT(v, LONG_MAX);
  return 0;
}

TEST(refuses_anything_else_and_leaves_the_value) {
  static const char *const bad[] = {"",    " 1",  "1 ",  "+1",  "-1", "1x",   "0x1",
                                    "1e3", "1.0", "١",   "11",  "\n", "9223372036854775808",
                                    "99999999999999999999999999"};
  long v = 42;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (qrl_parse_long(bad[i], 0, 10, &v) == 0) TEST_FAIL_("'%s' accepted", bad[i]);
    ASSERT_EQ_INT(v, 42);
  }
  ASSERT_EQ_INT(qrl_parse_long(NULL, 0, 10, &v), -1);
  ASSERT_EQ_INT(qrl_parse_long("4", 5, 10, &v), -1);
  ASSERT_EQ_INT(v, 42);
  return 0;
}

TEST_MAIN(accepts_digits_within_bounds, refuses_anything_else_and_leaves_the_value)
