/*
 * test_error.c - the one error table: every error has a wire code, an English
 * and a Vietnamese text; wire codes map back; out-of-range values are safe.
 */
#include <string.h>

#include "qrlogin/error.h"
#include "test.h"

TEST(error_table_is_complete_and_codes_roundtrip) {
  for (int e = 0; e < QRL_ERR__COUNT; e++) {
    const char *code = qrl_err_code((qrl_err)e);
    ASSERT_TRUE(code && *code);
    ASSERT_TRUE(qrl_strerror((qrl_err)e) && *qrl_strerror((qrl_err)e));
    ASSERT_TRUE(qrl_err_message_vi((qrl_err)e) && *qrl_err_message_vi((qrl_err)e));
    /* Codes are machine-readable: lower case, digits and underscores. */
    ASSERT_EQ_INT(strspn(code, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(code));
    /* Internal causes share "internal" on purpose; every other code maps back. */
    if (strcmp(code, "internal") != 0)
      ASSERT_EQ_INT(qrl_err_from_code(code), e);
  }
  ASSERT_EQ_STR(qrl_err_message_vi(QRL_NOT_PERMITTED),
                "Tài khoản của bạn không có quyền đăng nhập trên cổng thông tin định "
                "danh điện tử. Vui lòng cập nhật lại quyền trên thiết bị");
  ASSERT_EQ_STR(qrl_err_code(QRL_NOT_PERMITTED), "web_login_not_permitted");
  ASSERT_EQ_INT(qrl_err_from_code("no_such_code"), QRL_PROTOCOL);
  ASSERT_EQ_INT(qrl_err_from_code(NULL), QRL_PROTOCOL);
  ASSERT_EQ_INT(qrl_err_from_code("internal"), QRL_INTERNAL);
  ASSERT_TRUE(qrl_err_code((qrl_err)-1) != NULL);
  ASSERT_TRUE(qrl_err_code((qrl_err)QRL_ERR__COUNT) != NULL);
  return 0;
}

/* Wire codes are unique except the shared "internal". */
TEST(wire_codes_are_unique) {
  for (int a = 0; a < QRL_ERR__COUNT; a++)
    for (int b = a + 1; b < QRL_ERR__COUNT; b++)
      if (strcmp(qrl_err_code((qrl_err)a), "internal") != 0 &&
          strcmp(qrl_err_code((qrl_err)a), qrl_err_code((qrl_err)b)) == 0)
        TEST_FAIL_("errors %d and %d share the code %s", a, b,
                   qrl_err_code((qrl_err)a));
  return 0;
}

TEST_MAIN(error_table_is_complete_and_codes_roundtrip, wire_codes_are_unique)
