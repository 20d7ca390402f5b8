/*
 * test_messages.c - messages that tell the citizen what happened (issue 10,
 * item 10): an ID whose first 3 digits are no province code is refused as
 * such (invalid_province_code, its own Vietnamese message) on the web, on
 * the phone's login and in vneid-sim, while an ID of the wrong length keeps
 * invalid_citizen_id; a wrong passcode says how many tries are left and a
 * lock says until when, in the phone's local time (dd/mm/yyyy HH:MM); and
 * scan_ok says when the login request reached the server (requested_at,
 * the phone's "Thời gian"), not only when the page showed its QR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define AN "001099012345"
#define PW "MatKhau@2024"
#define SET_WRONG "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"000000\""

static int has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

SERVER_TEST(an_id_with_a_bad_province_code_says_so, NULL) {
  char attempt[23], err[64] = "", *resp = NULL;
  cJSON *out = NULL;
  qrl_h_phone p;

  /* the web page's password step */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", "000099012345", PW, attempt, &resp),
                400);
  ASSERT_TRUE(has(resp, "\"code\":\"invalid_province_code\""));
  ASSERT_TRUE(has(resp, "Mã tỉnh, thành phố nơi đăng ký khai sinh (3 chữ số đầu)"));
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", "00109901234", PW, attempt, &resp),
                400);
  ASSERT_TRUE(has(resp, "\"code\":\"invalid_citizen_id\""));
  free(resp);
  /* the phone's login */
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, "003099012345", PW, err), -1);
  qrl_h_phone_close(&p);
  ASSERT_EQ_STR(err, "invalid_province_code");
  /* vneid-sim says so before asking the server */
  ASSERT_EQ_INT(qrl_h_sim(s, "x", NULL, &out, "login", "--id", "097099012345", "--password",
                          PW, NULL),
                QRL_EXIT_USAGE);
  ASSERT_EQ_STR(qrl_h_str(out, "code"), "invalid_province_code");
  cJSON_Delete(out);
  return 0;
}

SERVER_TEST(a_wrong_passcode_says_the_tries_left_and_a_lock_until_when, NULL) {
  char err[64] = "", want[80], when[32];
  qrl_h_phone p;
  cJSON *m, *out = NULL;
  double until;
  time_t t;
  struct tm tm;

  /* The server's answer: the count and a message that says it. */
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, err), 0);
  m = qrl_h_phone_call(&p, "set_permission", SET_WRONG);
  qrl_h_phone_close(&p);
  ASSERT_EQ_STR(qrl_h_str(m, "code"), "wrong_passcode");
  ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "tries_left")));
  ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(m, "tries_left")->valueint, 4);
  ASSERT_EQ_STR(qrl_h_str(m, "message"), "Mã bảo vệ không đúng. Bạn còn 4 lần thử.");
  ASSERT_EQ_STR(qrl_h_str(m, "message_en"), "wrong passcode: 4 tries left");
  cJSON_Delete(m);

  /* The phone (vneid-sim) says it, three more times... */
  ASSERT_EQ_INT(qrl_h_sim(s, "an", NULL, NULL, "login", "--id", AN, "--password", PW, NULL), 0);
  for (int left = 3; left >= 1; left--) {
    ASSERT_EQ_INT(qrl_h_sim(s, "an", NULL, &out, "settings", "web-login", "on", "--passcode",
                            "000000", NULL),
                  QRL_EXIT_WRONG_PASSCODE);
    snprintf(want, sizeof(want), "Mã bảo vệ không đúng. Bạn còn %d lần thử.", left);
    ASSERT_EQ_STR(qrl_h_str(out, "message"), want);
    ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(out, "tries_left")->valueint, left);
    snprintf(want, sizeof(want), "wrong passcode: %d %s left", left, left == 1 ? "try" : "tries");
    ASSERT_EQ_STR(qrl_h_str(out, "detail"), want);
    cJSON_Delete(out);
    out = NULL;
  }
  /* ...then the lock, until a time shown as this machine's local time. */
  ASSERT_EQ_INT(qrl_h_sim(s, "an", NULL, &out, "settings", "web-login", "on", "--passcode",
                          "000000", NULL),
                QRL_EXIT_LOCKED);
  ASSERT_EQ_STR(qrl_h_str(out, "code"), "locked");
  ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(out, "locked_until")));
  until = cJSON_GetObjectItemCaseSensitive(out, "locked_until")->valuedouble;
  ASSERT_TRUE(until >= (double)time(NULL) + 14 * 60 && until <= (double)time(NULL) + 16 * 60);
  t = (time_t)until;
  ASSERT_TRUE(localtime_r(&t, &tm) != NULL);
  ASSERT_TRUE(strftime(when, sizeof(when), "%d/%m/%Y %H:%M", &tm) > 0);
  ASSERT_EQ_STR(qrl_h_str(out, "locked_until_local"), when);
  ASSERT_TRUE(has(qrl_h_str(out, "message"), when));
  ASSERT_TRUE(has(qrl_h_str(out, "message"), "Tài khoản tạm khoá đến"));
  snprintf(want, sizeof(want), "locked until %s (local time)", when);
  ASSERT_TRUE(has(qrl_h_str(out, "detail"), want));
  cJSON_Delete(out);
  out = NULL;
  /* Locked: even the right passcode is refused, with the same end. */
  ASSERT_EQ_INT(qrl_h_sim(s, "an", NULL, &out, "settings", "web-login", "on", "--passcode",
                          "123456", NULL),
                QRL_EXIT_LOCKED);
  ASSERT_EQ_STR(qrl_h_str(out, "locked_until_local"), when);
  cJSON_Delete(out);
  return 0;
}

SERVER_TEST(scan_ok_says_when_the_request_reached_the_server, NULL) {
  cJSON *challenge = NULL, *m;
  qrl_wsc *br = qrl_h_browser(s, &challenge);
  qrl_h_phone p;
  const cJSON *req, *created;
  int64_t before;

  ASSERT_TRUE(br != NULL);
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  before = (int64_t)time(NULL);
  m = qrl_h_phone_scan_page(&p, br, challenge, NULL);
  ASSERT_EQ_STR(qrl_h_str(m, "type"), "scan_ok");
  req = cJSON_GetObjectItemCaseSensitive(m, "requested_at");
  created = cJSON_GetObjectItemCaseSensitive(m, "created_at");
  ASSERT_TRUE(cJSON_IsNumber(req) && cJSON_IsNumber(created));
  ASSERT_TRUE(req->valuedouble >= (double)before && req->valuedouble <= (double)time(NULL));
  ASSERT_TRUE(req->valuedouble >= created->valuedouble);
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  qrl_wsc_free(br);
  cJSON_Delete(challenge);
  return 0;
}

TEST_MAIN(an_id_with_a_bad_province_code_says_so,
          a_wrong_passcode_says_the_tries_left_and_a_lock_until_when,
          scan_ok_says_when_the_request_reached_the_server)
