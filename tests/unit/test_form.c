/*
 * test_form.c - form-urlencoded parameters (helpers/form.h): decoding ("+",
 * escapes, refusals of bad escapes, NUL bytes and overlong values), a
 * parameter found, absent, empty, or repeated (refused), and query
 * parameters appended with their values percent-encoded.
 */
#include <string.h>

#include "helpers/form.h"
#include "test.h"

TEST(decode) {
  char out[16];
  ASSERT_EQ_INT(qrl_form_decode("a+b%2Fc%3d", 10, out, sizeof(out)), 0);
  ASSERT_EQ_STR(out, "a b/c=");
  ASSERT_EQ_INT(qrl_form_decode("", 0, out, sizeof(out)), 0);
  ASSERT_EQ_STR(out, "");
  ASSERT_EQ_INT(qrl_form_decode("%", 1, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_form_decode("%4", 2, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_form_decode("%zz", 3, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_form_decode("a%00b", 5, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_form_decode("0123456789abcdef", 16, out, sizeof(out)), -1);
  ASSERT_EQ_INT(qrl_form_decode("0123456789abcde", 15, out, sizeof(out)), 0);
  return 0;
}

TEST(get) {
  static const char body[] = "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fx"
                             "&empty=&bare&dup=1&dup=2";
  char out[64];
  size_t n = strlen(body);
  ASSERT_EQ_INT(qrl_form_get(body, n, "grant_type", out, sizeof(out)), 1);
  ASSERT_EQ_STR(out, "authorization_code");
  ASSERT_EQ_INT(qrl_form_get(body, n, "redirect_uri", out, sizeof(out)), 1);
  ASSERT_EQ_STR(out, "https://x");
  ASSERT_EQ_INT(qrl_form_get(body, n, "code", out, sizeof(out)), 1);
  ASSERT_EQ_STR(out, "abc");
  ASSERT_EQ_INT(qrl_form_get(body, n, "cod", out, sizeof(out)), 0);
  ASSERT_EQ_INT(qrl_form_get(body, n, "empty", out, sizeof(out)), 1);
  ASSERT_EQ_STR(out, "");
  ASSERT_EQ_INT(qrl_form_get(body, n, "bare", out, sizeof(out)), 1);
  ASSERT_EQ_INT(qrl_form_get(body, n, "dup", out, sizeof(out)), -1);
  ASSERT_EQ_STR(out, "");
  ASSERT_EQ_INT(qrl_form_get(body, n, "code", out, 3), -1); /* too long */
  /* not NUL-terminated: only len bytes are read */
  ASSERT_EQ_INT(qrl_form_get("a=1&b=2", 3, "b", out, sizeof(out)), 0);
  ASSERT_EQ_INT(qrl_form_get("", 0, "a", out, sizeof(out)), 0);
  return 0;
}

TEST(url_add_param) {
  char url[64] = "https://p.example/cb";
  ASSERT_EQ_INT(qrl_url_add_param(url, sizeof(url), "code", "a-b_c.~"), 0);
  ASSERT_EQ_INT(qrl_url_add_param(url, sizeof(url), "state", "x y&z=/"), 0);
  ASSERT_EQ_STR(url, "https://p.example/cb?code=a-b_c.~&state=x%20y%26z%3D%2F");
  ASSERT_EQ_INT(qrl_url_add_param(url, sizeof(url), "iss", "http://127.0.0.1:8080"), -1);
  ASSERT_EQ_STR(url, "https://p.example/cb?code=a-b_c.~&state=x%20y%26z%3D%2F");
  {
    char q[32] = "https://p/cb?x=1";
    ASSERT_EQ_INT(qrl_url_add_param(q, sizeof(q), "e", "é"), 0);
    ASSERT_EQ_STR(q, "https://p/cb?x=1&e=%C3%A9");
  }
  return 0;
}

TEST_MAIN(decode, get, url_add_param)
