/*
 * test.h - the tiny test framework of qrlogin's unit and integration tests.
 *
 * A test file defines cases with TEST(name) { ... } and ends with
 *   TEST_MAIN(case_a, case_b, ...)
 * The executable runs every case, or only the one named on its command line
 * (./test_crypto b64_roundtrip). A failed ASSERT_* prints file:line and the
 * values and ends that case; the process exits non-zero if any case failed.
 * Cases run in order, each in the same process; they must not depend on each
 * other. The closing line is "N passed, N failed".
 */
#ifndef QRLOGIN_TEST_H
#define QRLOGIN_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct qrl_test_case {
  const char *name;
  int (*fn)(void);
} qrl_test_case;

#define TEST(name) static int test_##name(void)
#define TEST_ENTRY(name) {#name, test_##name},

#define TEST_FAIL_(...)                                                       \
  do {                                                                        \
    fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                   \
    fprintf(stderr, __VA_ARGS__);                                             \
    fprintf(stderr, "\n");                                                    \
    return 1;                                                                 \
  } while (0)

#define ASSERT_TRUE(x)                                                        \
  do {                                                                        \
    if (!(x)) TEST_FAIL_("expected true: %s", #x);                           \
  } while (0)
#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))
#define ASSERT_EQ_INT(a, b)                                                   \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);       \
  } while (0)
#define ASSERT_NE_INT(a, b)                                                   \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (a_ == b_) TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);              \
  } while (0)
#define ASSERT_EQ_STR(a, b)                                                   \
  do {                                                                        \
    const char *a_ = (a), *b_ = (b);                                          \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                    \
      TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",   \
                 b_ ? b_ : "(null)");                                         \
  } while (0)
#define ASSERT_NE_STR(a, b)                                                   \
  do {                                                                        \
    const char *a_ = (a), *b_ = (b);                                          \
    if (a_ && b_ && strcmp(a_, b_) == 0)                                      \
      TEST_FAIL_("%s != %s: both \"%s\"", #a, #b, a_);                        \
  } while (0)
/* Compares qrl_err values and prints their wire codes. */
#define ASSERT_ERR(a, b)                                                      \
  do {                                                                        \
    int a_ = (int)(a), b_ = (int)(b);                                         \
    if (a_ != b_)                                                             \
      TEST_FAIL_("%s == %s: %s != %s", #a, #b,                                \
                 qrl_strerror((qrl_err)a_), qrl_strerror((qrl_err)b_));       \
  } while (0)

static inline int qrl_test_main_(int argc, char **argv,
                                 const qrl_test_case *cases, size_t n) {
  size_t passed = 0, failed = 0, ran = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strcmp(argv[1], cases[i].name) != 0) continue;
    ran++;
    fprintf(stderr, "[ RUN  ] %s\n", cases[i].name);
    if (cases[i].fn() == 0) {
      passed++;
      fprintf(stderr, "[  OK  ] %s\n", cases[i].name);
    } else {
      failed++;
      fprintf(stderr, "[FAILED] %s\n", cases[i].name);
    }
  }
  if (argc > 1 && ran == 0) {
    fprintf(stderr, "no test case named %s\n", argv[1]);
    return 2;
  }
  printf("%zu passed, %zu failed\n", passed, failed);
  return failed ? 1 : 0;
}

#define TEST_MAIN(...)                                                        \
  int main(int argc, char **argv) {                                           \
    static const qrl_test_case cases_[] = {QRL_TEST_MAP_(__VA_ARGS__)};       \
    return qrl_test_main_(argc, argv, cases_,                                 \
                          sizeof cases_ / sizeof cases_[0]);                  \
  }

/* Up to 40 cases per file. */
#define QRL_TEST_MAP_(...) QRL_TM_N_(__VA_ARGS__, QRL_TM_SEQ_)(__VA_ARGS__)
#define QRL_TM_N_(...) QRL_TM_PICK_(__VA_ARGS__)
#define QRL_TM_PICK_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13,  \
                     _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24,   \
                     _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35,   \
                     _36, _37, _38, _39, _40, N, ...)                         \
  QRL_TM_##N
#define QRL_TM_SEQ_                                                           \
  40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, \
      21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1
#define QRL_TM_1(a) TEST_ENTRY(a)
#define QRL_TM_2(a, ...) TEST_ENTRY(a) QRL_TM_1(__VA_ARGS__)
#define QRL_TM_3(a, ...) TEST_ENTRY(a) QRL_TM_2(__VA_ARGS__)
#define QRL_TM_4(a, ...) TEST_ENTRY(a) QRL_TM_3(__VA_ARGS__)
#define QRL_TM_5(a, ...) TEST_ENTRY(a) QRL_TM_4(__VA_ARGS__)
#define QRL_TM_6(a, ...) TEST_ENTRY(a) QRL_TM_5(__VA_ARGS__)
#define QRL_TM_7(a, ...) TEST_ENTRY(a) QRL_TM_6(__VA_ARGS__)
#define QRL_TM_8(a, ...) TEST_ENTRY(a) QRL_TM_7(__VA_ARGS__)
#define QRL_TM_9(a, ...) TEST_ENTRY(a) QRL_TM_8(__VA_ARGS__)
#define QRL_TM_10(a, ...) TEST_ENTRY(a) QRL_TM_9(__VA_ARGS__)
#define QRL_TM_11(a, ...) TEST_ENTRY(a) QRL_TM_10(__VA_ARGS__)
#define QRL_TM_12(a, ...) TEST_ENTRY(a) QRL_TM_11(__VA_ARGS__)
#define QRL_TM_13(a, ...) TEST_ENTRY(a) QRL_TM_12(__VA_ARGS__)
#define QRL_TM_14(a, ...) TEST_ENTRY(a) QRL_TM_13(__VA_ARGS__)
#define QRL_TM_15(a, ...) TEST_ENTRY(a) QRL_TM_14(__VA_ARGS__)
#define QRL_TM_16(a, ...) TEST_ENTRY(a) QRL_TM_15(__VA_ARGS__)
#define QRL_TM_17(a, ...) TEST_ENTRY(a) QRL_TM_16(__VA_ARGS__)
#define QRL_TM_18(a, ...) TEST_ENTRY(a) QRL_TM_17(__VA_ARGS__)
#define QRL_TM_19(a, ...) TEST_ENTRY(a) QRL_TM_18(__VA_ARGS__)
#define QRL_TM_20(a, ...) TEST_ENTRY(a) QRL_TM_19(__VA_ARGS__)
#define QRL_TM_21(a, ...) TEST_ENTRY(a) QRL_TM_20(__VA_ARGS__)
#define QRL_TM_22(a, ...) TEST_ENTRY(a) QRL_TM_21(__VA_ARGS__)
#define QRL_TM_23(a, ...) TEST_ENTRY(a) QRL_TM_22(__VA_ARGS__)
#define QRL_TM_24(a, ...) TEST_ENTRY(a) QRL_TM_23(__VA_ARGS__)
#define QRL_TM_25(a, ...) TEST_ENTRY(a) QRL_TM_24(__VA_ARGS__)
#define QRL_TM_26(a, ...) TEST_ENTRY(a) QRL_TM_25(__VA_ARGS__)
#define QRL_TM_27(a, ...) TEST_ENTRY(a) QRL_TM_26(__VA_ARGS__)
#define QRL_TM_28(a, ...) TEST_ENTRY(a) QRL_TM_27(__VA_ARGS__)
#define QRL_TM_29(a, ...) TEST_ENTRY(a) QRL_TM_28(__VA_ARGS__)
#define QRL_TM_30(a, ...) TEST_ENTRY(a) QRL_TM_29(__VA_ARGS__)
#define QRL_TM_31(a, ...) TEST_ENTRY(a) QRL_TM_30(__VA_ARGS__)
#define QRL_TM_32(a, ...) TEST_ENTRY(a) QRL_TM_31(__VA_ARGS__)
#define QRL_TM_33(a, ...) TEST_ENTRY(a) QRL_TM_32(__VA_ARGS__)
#define QRL_TM_34(a, ...) TEST_ENTRY(a) QRL_TM_33(__VA_ARGS__)
#define QRL_TM_35(a, ...) TEST_ENTRY(a) QRL_TM_34(__VA_ARGS__)
#define QRL_TM_36(a, ...) TEST_ENTRY(a) QRL_TM_35(__VA_ARGS__)
#define QRL_TM_37(a, ...) TEST_ENTRY(a) QRL_TM_36(__VA_ARGS__)
#define QRL_TM_38(a, ...) TEST_ENTRY(a) QRL_TM_37(__VA_ARGS__)
#define QRL_TM_39(a, ...) TEST_ENTRY(a) QRL_TM_38(__VA_ARGS__)
#define QRL_TM_40(a, ...) TEST_ENTRY(a) QRL_TM_39(__VA_ARGS__)

#endif /* QRLOGIN_TEST_H */
