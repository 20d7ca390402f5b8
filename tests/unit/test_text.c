/*
 * test_text.c - outside text made safe to show: terminal escapes, bells,
 * C1 controls, bidi overrides and broken UTF-8 become '?', Vietnamese
 * stays exactly as it is, and newlines are kept only when asked.
 */
#include <string.h>

#include "helpers/text.h"
#include "test.h"

static const char *clean(const char *in, int keep, size_t *n) {
  static char buf[256];
  snprintf(buf, sizeof(buf), "%s", in);
  *n = qrl_text_clean(buf, keep);
  return buf;
}

TEST(controls_and_escapes_become_question_marks) {
  size_t n;
  ASSERT_EQ_STR(clean("Chrome\x1b[2J\x07", 0, &n), "Chrome?[2J?");
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_STR(clean("a\x7f" "b", 0, &n), "a?b");
  ASSERT_EQ_STR(clean("CSI \xc2\x9b" "31m", 0, &n), "CSI ?31m"); /* C1, 2 bytes -> 1 */
  ASSERT_EQ_STR(clean("safe\xe2\x80\xae" "exe.pdf", 0, &n), "safe?exe.pdf"); /* RLO */
  ASSERT_EQ_STR(clean("x\xe2\x81\xa6y", 0, &n), "x?y"); /* LRI */
  ASSERT_EQ_STR(clean("line\nnext\ttab", 0, &n), "line?next?tab");
  ASSERT_EQ_STR(clean("line\nnext\ttab", 1, &n), "line\nnext\ttab");
  ASSERT_EQ_INT(n, 0);
  ASSERT_EQ_STR(clean("still\x1b", 1, &n), "still?");
  return 0;
}

TEST(broken_utf8_is_replaced_byte_by_byte) {
  size_t n;
  ASSERT_EQ_STR(clean("a\xff" "b", 0, &n), "a?b");
  ASSERT_EQ_STR(clean("cut \xe1\xba", 0, &n), "cut ??");             /* truncated */
  ASSERT_EQ_STR(clean("over\xc0\xaf", 0, &n), "over??");             /* overlong '/' */
  ASSERT_EQ_STR(clean("sur\xed\xa0\x80", 0, &n), "sur???");          /* a surrogate */
  ASSERT_EQ_INT(n, 3);
  return 0;
}

TEST(vietnamese_and_ordinary_text_stay_as_they_are) {
  const char *vi = "Nguyễn Văn An — Cổng Dịch vụ công quốc gia, UBND phường Bến Nghé 😀";
  size_t n;
  ASSERT_EQ_STR(clean(vi, 0, &n), vi);
  ASSERT_EQ_INT(n, 0);
  ASSERT_TRUE(qrl_text_is_clean(vi));
  ASSERT_FALSE(qrl_text_is_clean("Chrome\x1b[2J"));
  ASSERT_FALSE(qrl_text_is_clean("a\xff"));
  ASSERT_TRUE(qrl_text_is_clean(""));
  return 0;
}

/* Table columns line up: a Vietnamese name is as wide as its letters,
 * written precomposed (NFC) or with combining marks (NFD). */
TEST(width_counts_columns_not_bytes) {
  ASSERT_EQ_INT(qrl_text_width(""), 0);
  ASSERT_EQ_INT(qrl_text_width("Nguyen Van An"), 13);
  ASSERT_EQ_INT(qrl_text_width("Nguyễn Văn An"), 13);            /* NFC: 17 bytes */
  ASSERT_EQ_INT(qrl_text_width("Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An"), 13); /* NFD */
  ASSERT_EQ_INT(qrl_text_width("Trần Thị Bình"), 13);
  ASSERT_EQ_INT(qrl_text_width("\xe4\xb8\xad\xe6\x96\x87"), 4); /* two wide characters */
  ASSERT_EQ_INT(qrl_text_width("a\xff" "b"), 3);                 /* a stray byte: one */
  return 0;
}

TEST_MAIN(width_counts_columns_not_bytes, controls_and_escapes_become_question_marks, broken_utf8_is_replaced_byte_by_byte,
          vietnamese_and_ordinary_text_stay_as_they_are)
