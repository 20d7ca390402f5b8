/*
 * test_throttle_restart.c - the per-account limit on wrong passwords (5 per
 * citizen ID or portal username a quarter of an hour) outlives a restart of
 * qrlogind: before, the buckets were in memory only, and every restart gave
 * an attacker 5 fresh guesses per account. The per-IP limit may start over;
 * the other accounts are not affected; a right password still clears the
 * account's record, on disk too.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define AN "001099012345"
#define BINH "079199001234"
#define UNKNOWN "001099099999"
#define PW "MatKhau@2024"
#define WRONG "MatKhau@2099"

static int has(const char *body, const char *needle) {
  return body && strstr(body, needle) != NULL;
}

static int id_start(const qrl_h_server *s, const char *id, const char *pw, char **resp) {
  char a[23];
  return qrl_h_otp_start(s, "/api/otp/start", "id", id, pw, a, resp);
}

static int user_start(const qrl_h_server *s, const char *user, const char *pw) {
  char a[23];
  return qrl_h_otp_start(s, "/api/portal/start", "username", user, pw, a, NULL);
}

SERVER_TEST(wrong_passwords_still_count_after_a_restart, NULL) {
  qrl_h_phone p;
  char err[64], *r = NULL;
  /* Five wrong passwords each: a citizen ID, an ID nobody has, a portal
   * username. */
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ_INT(id_start(s, AN, WRONG, NULL), 401);
    ASSERT_EQ_INT(id_start(s, UNKNOWN, WRONG, NULL), 401);
    ASSERT_EQ_INT(user_start(s, "tranthibinh", WRONG), 401);
  }
  ASSERT_EQ_INT(qrl_h_restart(s, NULL), 0);
  /* Still held, even with the right password, through either door. */
  ASSERT_EQ_INT(id_start(s, AN, PW, &r), 429);
  ASSERT_TRUE(has(r, "\"code\":\"rate_limited\""));
  ASSERT_TRUE(has(r, "\"retry_in\":"));
  free(r);
  r = NULL;
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, err), -1);
  qrl_h_phone_close(&p);
  ASSERT_EQ_STR(err, "rate_limited");
  ASSERT_EQ_INT(id_start(s, UNKNOWN, PW, NULL), 429); /* unknown IDs alike */
  ASSERT_EQ_INT(user_start(s, "tranthibinh", PW), 429);
  /* Other accounts are not: Bình logs in on her phone, the organization on
   * the web page. */
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, BINH, PW, err), 0);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(user_start(s, "0101234567", PW), 200);
  /* And a second restart changes nothing either. */
  ASSERT_EQ_INT(qrl_h_restart(s, NULL), 0);
  ASSERT_EQ_INT(id_start(s, AN, PW, NULL), 429);
  /* The refusals are audited like the in-memory ones, naming the account
   * (the first of a minute from an IP is a row, the rest a summary). */
  ASSERT_EQ_INT(qrl_h_settle(s), 0);
  /* a row in each run after a restart */
  ASSERT_TRUE(qrl_h_sql(s, NULL, 0,
                        "SELECT count(*) FROM audit WHERE event = 'throttled'"
                        " AND outcome = 'rate_limited' AND detail = 'pw:id:" AN "'", "") >= 2);
  return 0;
}

/* The right password clears the account's record, on disk too: after a
 * restart the citizen has the whole budget again, not what was left. */
SERVER_TEST(a_right_password_clears_the_record_for_good, NULL) {
  for (int i = 0; i < 4; i++) ASSERT_EQ_INT(id_start(s, AN, WRONG, NULL), 401);
  ASSERT_EQ_INT(id_start(s, AN, PW, NULL), 200);
  ASSERT_EQ_INT(qrl_h_restart(s, NULL), 0);
  for (int i = 0; i < 5; i++) ASSERT_EQ_INT(id_start(s, AN, WRONG, NULL), 401);
  ASSERT_EQ_INT(id_start(s, AN, PW, NULL), 429);
  return 0;
}

TEST_MAIN(wrong_passwords_still_count_after_a_restart,
          a_right_password_clears_the_record_for_good)
