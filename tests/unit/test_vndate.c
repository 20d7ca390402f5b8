/*
 * test_vndate.c - Vietnam calendar days: a configured day is its midnight
 * at UTC+7, a moment reads as its Vietnamese day, whatever TZ says.
 */
#include <stdint.h>
#include <stdlib.h>

#include "helpers/vndate.h"
#include "test.h"

TEST(days_begin_at_midnight_in_vietnam) {
  int64_t t = 0;
  ASSERT_EQ_INT(qrl_vndate_parse("2024-07-01", &t), 0);
  ASSERT_EQ_INT(t, 1719766800);
  ASSERT_EQ_INT(qrl_vndate_parse("2024-06-15", &t), 0);
  ASSERT_EQ_INT(t, 1718384400);
  ASSERT_EQ_INT(qrl_vndate_parse("2024-02-29", &t), 0);
  ASSERT_EQ_INT(t, 1709139600);
  return 0;
}

TEST(bad_days_are_refused_and_leave_the_value) {
  static const char *const bad[] = {"2024-7-01", "2024-02-30", "2023-02-29", "1999-12-31",
                                    "2101-01-01", "2024-07-01x", "15/06/2024", "", NULL};
  int64_t t = 42;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (qrl_vndate_parse(bad[i], &t) == 0) TEST_FAIL_("'%s' accepted", bad[i] ? bad[i] : "NULL");
    ASSERT_EQ_INT(t, 42);
  }
  return 0;
}

TEST(moments_read_as_the_vietnamese_day) {
  char d[11];
  setenv("TZ", "America/Los_Angeles", 1); /* ignored, as it must be */
  qrl_vndate_format(1719766800, d);
  ASSERT_EQ_STR(d, "01/07/2024");
  qrl_vndate_format(1719766799, d); /* 23:59:59 the day before */
  ASSERT_EQ_STR(d, "30/06/2024");
  qrl_vndate_format(1718384400, d);
  ASSERT_EQ_STR(d, "15/06/2024");
  qrl_vndate_format(1709139600 + 86399, d);
  ASSERT_EQ_STR(d, "29/02/2024");
  qrl_vndate_format(0, d);
  ASSERT_EQ_STR(d, "01/01/1970");
  return 0;
}

TEST_MAIN(days_begin_at_midnight_in_vietnam, bad_days_are_refused_and_leave_the_value,
          moments_read_as_the_vietnamese_day)
