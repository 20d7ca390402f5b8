/*
 * test_cookie.c - the session cookie out of a Cookie header: exact name at a
 * pair boundary, exact length, token characters only; the first pair wins.
 */
#include <string.h>

#include "helpers/cookie.h"
#include "test.h"

#define TOK "RMcs2lGd3Zm2P8Obdorjcs6SdJmjDpbDoDiXhjHx6kA"

TEST(finds_the_session_cookie) {
  char out[64];
  ASSERT_TRUE(qrl_cookie_find("qrl_session=" TOK, "qrl_session", 43, out, sizeof(out)));
  ASSERT_EQ_STR(out, TOK);
  ASSERT_TRUE(qrl_cookie_find("a=1; qrl_session=" TOK "; b=2", "qrl_session", 43, out,
                              sizeof(out)));
  ASSERT_EQ_STR(out, TOK);
  ASSERT_TRUE(qrl_cookie_find("a=1;qrl_session=" TOK " ", "qrl_session", 43, out,
                              sizeof(out)));
  return 0;
}

TEST(refuses_look_alikes) {
  char out[64];
  ASSERT_FALSE(qrl_cookie_find("xqrl_session=" TOK, "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_sessionx=" TOK, "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_session=" TOK "A", "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_session=short", "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_session=RMcs2lGd3Zm2P8Obdorjcs6SdJmjDpbDoDiXhjHx6k\"",
                               "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("", "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_session", "qrl_session", 43, out, sizeof(out)));
  ASSERT_FALSE(qrl_cookie_find("qrl_session=" TOK, "qrl_session", 43, out, 43));
  /* The first pair decides: a planted second one cannot override it. */
  ASSERT_FALSE(qrl_cookie_find("qrl_session=bad; qrl_session=" TOK, "qrl_session", 43, out,
                               sizeof(out)));
  ASSERT_EQ_STR(out, "");
  return 0;
}

TEST_MAIN(finds_the_session_cookie, refuses_look_alikes)
