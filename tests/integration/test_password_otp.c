/*
 * test_password_otp.c - the second login path against a real qrlogind:
 * 12-digit ID + password, a one-time code sent by SMS (read from the demo
 * mobile network by the real `vneid-sim inbox`), then the session. Wrong
 * codes, expiry, codes of other attempts, resend and password throttles,
 * one answer for unknown IDs and wrong passwords, level rules, bad input.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define AN "001099012345"
#define AN_PHONE "0912345678"
#define BINH "079199001234"
#define PW "MatKhau@2024"

static int has(const char *body, const char *needle) {
  return body && strstr(body, needle) != NULL;
}

SERVER_TEST(id_password_and_sms_code_log_in, NULL) {
  char attempt[23], code[7], cookie[128], *resp = NULL;
  cJSON *me, *d;

  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, &resp), 200);
  ASSERT_TRUE(has(resp, "\"phone\":\"09******78\""));
  ASSERT_TRUE(has(resp, "\"expires_in\":300"));
  ASSERT_TRUE(!has(resp, AN_PHONE)); /* the full number is not shown */
  free(resp);
  ASSERT_EQ_INT(strlen(attempt), 22);
  ASSERT_EQ_INT(qrl_h_otp_code(s, AN_PHONE, code), 0);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, code, cookie, &resp), 200);
  ASSERT_TRUE(has(resp, "/portal.html"));
  free(resp);
  ASSERT_TRUE(strncmp(cookie, "qrl_session=", 12) == 0);

  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "citizen");
  ASSERT_EQ_STR(qrl_h_str(me, "method"), "password_otp");
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "account"), "full_name"),
                "Nguyễn Văn An");
  /* An's verified legacy account was linked at this first VNeID login. */
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "link"), "status"),
                "linked");
  d = cJSON_GetObjectItemCaseSensitive(me, "dossiers");
  ASSERT_EQ_INT(cJSON_GetArraySize(d), 2);
  cJSON_Delete(me);

  /* The code is spent. */
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, code, NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "otp_invalid"));
  free(resp);
  return 0;
}

SERVER_TEST(five_wrong_codes_void_the_attempt, NULL) {
  char attempt[23], code[7], wrong[7], *resp = NULL;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_code(s, AN_PHONE, code), 0);
  snprintf(wrong, sizeof(wrong), "%06u", (unsigned)(atoi(code) + 1) % 1000000u);
  for (int i = 4; i >= 1; i--) {
    char left[32];
    ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, wrong, NULL, &resp), 400);
    snprintf(left, sizeof(left), "\"attempts_left\":%d", i);
    ASSERT_TRUE(has(resp, "otp_wrong") && has(resp, left));
    free(resp);
  }
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, wrong, NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "otp_void"));
  free(resp);
  /* Void means void: the right code no longer works, nor does a resend. */
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, code, NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "otp_void"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/otp/resend", s->http, NULL,
                           "{\"attempt\":\"AAAAAAAAAAAAAAAAAAAAAA\"}", &resp, NULL), 400);
  ASSERT_TRUE(has(resp, "otp_invalid"));
  free(resp);
  /* Malformed codes count as wrong ones (no free probing). */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, "12ab56", NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "\"attempts_left\":4"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, "1234567", NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "\"attempts_left\":3"));
  free(resp);
  return 0;
}

/* ttl 1 s. The server's clock is the one that matters: a browser socket on
 * a 1-second challenge gets an `expired` push when that second has passed
 * on the server, and that event is what the test waits for. */
SERVER_TEST(expired_code_is_refused, "--otp-ttl", "1", "--challenge-ttl", "1", NULL) {
  char attempt[23], code[7], *resp = NULL;
  cJSON *ch = NULL, *m;
  qrl_wsc *clock;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, &resp), 200);
  ASSERT_TRUE(has(resp, "\"expires_in\":1"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_otp_code(s, AN_PHONE, code), 0);
  clock = qrl_h_browser(s, &ch);
  ASSERT_TRUE(clock != NULL);
  m = qrl_h_expect(clock, "expired", QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(m != NULL);
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_wsc_free(clock);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, code, NULL, &resp), 400);
  ASSERT_TRUE(has(resp, "otp_expired"));
  free(resp);
  return 0;
}

/* Two attempts of the same account: each code opens only its own. */
SERVER_TEST(code_of_one_attempt_does_not_open_another, NULL) {
  char a1[23], a2[23], c1[7], c2[7], cookie[128], *resp = NULL;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a1, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_code(s, AN_PHONE, c1), 0);
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a2, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_code(s, AN_PHONE, c2), 0);
  ASSERT_NE_STR(a1, a2);
  if (strcmp(c1, c2) != 0) {
    ASSERT_EQ_INT(qrl_h_otp_verify(s, a2, c1, NULL, &resp), 400);
    ASSERT_TRUE(has(resp, "otp_wrong"));
    free(resp);
  }
  ASSERT_EQ_INT(qrl_h_otp_verify(s, a1, c1, cookie, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, a2, c2, cookie, NULL), 200);
  return 0;
}

SERVER_TEST(resend_is_throttled, NULL) {
  char attempt[23], body[128], *resp = NULL;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, NULL), 200);
  snprintf(body, sizeof(body), "{\"attempt\":\"%s\"}", attempt);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/otp/resend", s->http, NULL, body, &resp, NULL),
                429);
  ASSERT_TRUE(has(resp, "rate_limited") && has(resp, "\"retry_in\":"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/otp/resend", s->http, NULL,
                           "{\"attempt\":\"short\"}", &resp, NULL), 400);
  free(resp);
  return 0;
}

/* Byte-for-byte the same refusal, so an ID cannot be probed; and the same
 * throttle once an ID (known or not) has failed 5 times. */
SERVER_TEST(unknown_id_and_wrong_password_look_the_same, NULL) {
  char a[23], *r1 = NULL, *r2 = NULL;
  int s1 = qrl_h_otp_start(s, "/api/otp/start", "id", "001099099999", PW, a, &r1);
  int s2 = qrl_h_otp_start(s, "/api/otp/start", "id", AN, "MatKhau@2025", a, &r2);
  ASSERT_EQ_INT(s1, 401);
  ASSERT_EQ_INT(s2, 401);
  ASSERT_EQ_STR(r1, r2);
  free(r1);
  free(r2);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, "MatKhau@2025", a, NULL),
                  401);
    ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", "001099099999", PW, a, NULL),
                  401);
  }
  /* Now both are throttled, the real account even with its right password. */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a, &r1), 429);
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", "001099099999", PW, a, &r2),
                429);
  ASSERT_TRUE(has(r1, "rate_limited") && has(r2, "rate_limited"));
  free(r1);
  free(r2);
  /* Another citizen is not affected. */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", BINH, PW, a, NULL), 403);
  return 0;
}

/* Per IP: 20 failed passwords in 15 minutes, whatever the IDs. */
SERVER_TEST(failed_passwords_are_throttled_per_ip, NULL) {
  char a[23], id[13], *r = NULL;
  for (int i = 0; i < 20; i++) {
    snprintf(id, sizeof(id), "0010990%05d", i);
    ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", id, PW, a, NULL), 401);
  }
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a, &r), 429);
  free(r);
  return 0;
}

typedef struct guess {
  const qrl_h_server *s;
  pthread_barrier_t *go;
  int status;
} guess;

static void *guess_once(void *arg) {
  guess *g = arg;
  char a[23];
  pthread_barrier_wait(g->go);
  g->status = qrl_h_otp_start(g->s, "/api/otp/start", "id", AN, "MatKhau@2099", a, NULL);
  return NULL;
}

/* 40 wrong passwords for one ID at the same instant: exactly 5 are tried,
 * the rest are throttled - a check made before any of them had failed
 * would have let them all through. */
SERVER_TEST(parallel_guesses_cannot_outrun_the_throttle, NULL) {
  enum { N = 40 };
  pthread_t th[N];
  guess g[N];
  pthread_barrier_t go;
  int wrong = 0, limited = 0, other = 0;
  char a[23], *r = NULL;

  ASSERT_EQ_INT(pthread_barrier_init(&go, NULL, N), 0);
  for (int i = 0; i < N; i++) {
    g[i].s = s;
    g[i].go = &go;
    g[i].status = 0;
    ASSERT_EQ_INT(pthread_create(&th[i], NULL, guess_once, &g[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    if (g[i].status == 401) wrong++;
    else if (g[i].status == 429) limited++;
    else other++;
  }
  pthread_barrier_destroy(&go);
  ASSERT_EQ_INT(other, 0);
  ASSERT_EQ_INT(wrong, 5);
  ASSERT_EQ_INT(limited, N - 5);
  /* The right password waits its turn too, and is told how long. */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a, &r), 429);
  ASSERT_TRUE(has(r, "\"retry_in\":"));
  free(r);
  return 0;
}

/* The phone app's login counts in the same buckets as the web page's
 * password step: guessing through the app does not get a fresh budget. */
SERVER_TEST(app_login_shares_the_password_throttle, NULL) {
  qrl_h_phone p;
  char err[64], a[23], *r = NULL;
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, "MatKhau@2099", err), -1);
    qrl_h_phone_close(&p);
    ASSERT_EQ_STR(err, "bad_credentials");
  }
  /* The sixth, with the right password: throttled, through either door. */
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, err), -1);
  qrl_h_phone_close(&p);
  ASSERT_EQ_STR(err, "rate_limited");
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a, &r), 429);
  free(r);
  /* Someone else's account is not held up by it. */
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, BINH, PW, err), 0);
  qrl_h_phone_close(&p);
  return 0;
}

SERVER_TEST(level_one_is_refused_by_default, NULL) {
  char a[23], *r = NULL;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", BINH, PW, a, &r), 403);
  ASSERT_TRUE(has(r, "level_too_low"));
  free(r);
  return 0;
}

SERVER_TEST(level_one_is_let_in_when_configured, "--password-level", "1", NULL) {
  char cookie[128];
  cJSON *me;
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", BINH, PW, "0987654321",
                                cookie), 200);
  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "account"), "full_name"),
                "Trần Thị Bình");
  cJSON_Delete(me);
  return 0;
}

SERVER_TEST(bad_input_is_named_before_any_lookup, NULL) {
  char *r = NULL;
  static const struct {
    const char *body, *code;
    int status;
  } cases[] = {
      {"{\"id\":\"12345\",\"password\":\"MatKhau@2024\"}", "invalid_citizen_id", 400},
      {"{\"id\":\"000099012345\",\"password\":\"MatKhau@2024\"}", "invalid_province_code", 400},
      {"{\"id\":\"001099012345\",\"password\":\"short\"}", "bad_password_format", 400},
      {"{\"id\":\"001099012345\",\"password\":\"123456789012345678901\"}",
       "bad_password_format", 400},
      {"{\"id\":\"001099012345\"}", "bad_message", 400},
      {"{\"id\":1,\"password\":\"MatKhau@2024\"}", "bad_message", 400},
      {"[]", "bad_json", 400},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int st = qrl_h_http(s, "POST", "/api/otp/start", s->http, NULL, cases[i].body, &r,
                        NULL);
    if (st != cases[i].status || !has(r, cases[i].code)) {
      fprintf(stderr, "  %s -> %d %s\n", cases[i].body, st, r ? r : "");
      free(r);
      TEST_FAIL_("want %d %s", cases[i].status, cases[i].code);
    }
    free(r);
  }
  /* Vietnamese passwords count characters, not bytes: 8 characters of
   * 2-byte UTF-8 pass the format check (and are then just wrong). */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/otp/start", s->http, NULL,
                           "{\"id\":\"001099012345\",\"password\":\"mậtkhẩuđđ\"}", &r,
                           NULL),
                401);
  free(r);
  /* CSRF: another site's page cannot start a login. */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/otp/start", "http://evil.example", NULL,
                           "{\"id\":\"001099012345\",\"password\":\"MatKhau@2024\"}", &r,
                           NULL),
                403);
  free(r);
  return 0;
}

TEST_MAIN(id_password_and_sms_code_log_in, five_wrong_codes_void_the_attempt,
          expired_code_is_refused, code_of_one_attempt_does_not_open_another,
          resend_is_throttled, unknown_id_and_wrong_password_look_the_same,
          failed_passwords_are_throttled_per_ip, parallel_guesses_cannot_outrun_the_throttle,
          app_login_shares_the_password_throttle, level_one_is_refused_by_default,
          level_one_is_let_in_when_configured, bad_input_is_named_before_any_lookup)
