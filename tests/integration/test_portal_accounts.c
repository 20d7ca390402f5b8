/*
 * test_legacy.c - portal-issued accounts against a real qrlogind: linking a
 * verified legacy account at the first VNeID login (QR and password + OTP),
 * no link for an unverified one, "Cập nhật từ CSDL Quốc gia về dân cư" then
 * login links, the cutover for citizens, organizations on both sides of it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define AN "001099012345"
#define AN_PHONE "0912345678"
#define BINH "079199001234"
#define BINH_PHONE "0987654321"
#define ORG "0101234567"
#define ORG_PHONE "0901234567"
#define PW "MatKhau@2024"

static int has(const char *body, const char *needle) {
  return body && strstr(body, needle) != NULL;
}

static int count_rows(const qrl_h_server *s, const char *sql) {
  int64_t n = qrl_h_sql(s, NULL, 0, sql, "");
  return n < 0 ? -1 : (int)n;
}

static const char *link_status(const cJSON *me) {
  return qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "link"), "status");
}

static int ndossiers(const cJSON *me) {
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(me, "dossiers"));
}

/* The QR path links too, once; a later login does not link again. */
SERVER_TEST(verified_legacy_account_is_linked_at_first_qr_login, NULL) {
  cJSON *ch = NULL, *m, *me;
  qrl_wsc *br = qrl_h_browser(s, &ch);
  qrl_h_phone p;
  qrl_qr_payload qp;
  char body[256], cookie[512], pair[128], *resp = NULL;

  ASSERT_TRUE(br != NULL);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM portal_accounts WHERE "
                              "linked_citizen IS NOT NULL"), 0);
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  m = qrl_h_phone_scan_page(&p, br, ch, &qp);
  ASSERT_EQ_STR(qrl_h_type(m), "scan_ok");
  cJSON_Delete(m);
  m = qrl_h_phone_decide(&p, &qp, s->http, (int64_t)time(NULL), qrl_h_scanned_number(br),
                         QRL_DECISION_CONFIRM);
  ASSERT_EQ_STR(qrl_h_type(m), "confirm_ok");
  cJSON_Delete(m);
  m = qrl_h_expect(br, "completed", QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(m != NULL);
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}",
           qrl_h_str(m, "code"), qrl_h_str(ch, "binding"));
  cJSON_Delete(m);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/session", s->http, NULL, body, &resp, cookie),
                200);
  free(resp);
  snprintf(pair, sizeof(pair), "%.*s", (int)strcspn(cookie, ";"), cookie);
  me = qrl_h_me(s, pair);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(link_status(me), "linked");
  ASSERT_EQ_INT(ndossiers(me), 2);
  /* Newest first: the residence registration, then the driving licence. */
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(me, "dossiers"),
                                             1),
                          "title"),
                "Cấp đổi giấy phép lái xe");
  cJSON_Delete(me);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM audit WHERE event='legacy_link'"), 1);

  /* A second VNeID login (password + OTP) links nothing new. */
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, pair), 200);
  me = qrl_h_me(s, pair);
  ASSERT_EQ_INT(ndossiers(me), 2);
  cJSON_Delete(me);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM audit WHERE event='legacy_link'"), 1);

  qrl_h_phone_close(&p);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  return 0;
}

/* Bình's legacy account never had its ID verified: her VNeID login does not
 * get the old dossiers, and the page says why and how to link. */
SERVER_TEST(unverified_legacy_account_is_not_linked, "--password-level", "1", NULL) {
  char cookie[128];
  cJSON *me;
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", BINH, PW, BINH_PHONE, cookie),
                200);
  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(link_status(me), "unverified");
  ASSERT_TRUE(has(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "link"), "message"),
                  "Cập nhật từ CSDL Quốc gia về dân cư"));
  ASSERT_EQ_INT(ndossiers(me), 0);
  cJSON_Delete(me);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM portal_accounts WHERE "
                              "username='tranthibinh' AND linked_citizen IS NULL"), 1);
  return 0;
}

/* Before the cutover: Bình logs in with her portal account, verifies her ID
 * against the population register (a wrong ID is refused), and her next
 * VNeID login links the account. */
SERVER_TEST(verify_then_vneid_login_links, "--cutover", "2099-01-01", "--password-level",
            "1", NULL) {
  char cookie[128], vneid[128], *resp = NULL;
  cJSON *me, *acc;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "tranthibinh", PW,
                                BINH_PHONE, cookie),
                200);
  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "legacy_citizen");
  ASSERT_EQ_STR(qrl_h_str(me, "method"), "portal_otp");
  ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(me, "can_verify_id")));
  acc = cJSON_GetObjectItemCaseSensitive(me, "account");
  ASSERT_EQ_STR(qrl_h_str(acc, "citizen_id"), "0791****1234");
  ASSERT_EQ_INT(ndossiers(me), 1);
  cJSON_Delete(me);

  /* Someone else's ID, and a made-up one: the register says no. */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"" AN "\"}", &resp, NULL), 409);
  ASSERT_TRUE(has(resp, "population_mismatch"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"079199009999\"}", &resp, NULL), 409);
  free(resp);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"79199001234\"}", &resp, NULL), 400);
  ASSERT_TRUE(has(resp, "invalid_citizen_id"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, NULL,
                           "{\"citizen_id\":\"" BINH "\"}", &resp, NULL), 401);
  free(resp);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM portal_accounts WHERE "
                              "username='tranthibinh' AND id_verified_at IS NOT NULL"),
                0);
  /* Her own: verified. */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"" BINH "\"}", &resp, NULL), 200);
  free(resp);
  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(me, "account"), "id_verified")));
  ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(me, "can_verify_id")));
  cJSON_Delete(me);

  /* Now the VNeID login links it. */
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", BINH, PW, BINH_PHONE, vneid),
                200);
  me = qrl_h_me(s, vneid);
  ASSERT_EQ_STR(link_status(me), "linked");
  ASSERT_EQ_INT(ndossiers(me), 1);
  cJSON_Delete(me);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM audit WHERE event='legacy_verify_id'"
                              " AND outcome='population_mismatch'"),
                2);
  return 0;
}

/* After the cutover (the default, 2024-07-01) a legacy citizen account is
 * refused, once the password has been checked; an organization goes on. */
SERVER_TEST(cutover_ends_legacy_citizen_logins_not_organizations, NULL) {
  char a[23], cookie[128], *resp = NULL;
  cJSON *me;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/portal/start", "username", "nguyenvanan", PW, a,
                                &resp),
                403);
  ASSERT_TRUE(has(resp, "legacy_login_closed") && has(resp, "VNeID"));
  free(resp);
  /* The wrong password gets the usual answer: the closure says nothing to a
   * guesser. */
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/portal/start", "username", "nguyenvanan",
                                "WrongPass1", a, &resp),
                401);
  free(resp);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", ORG, PW, ORG_PHONE,
                                cookie),
                200);
  me = qrl_h_me(s, cookie);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "organization");
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "account"), "display_name"),
                "Công ty TNHH Phần mềm Sông Hồng");
  ASSERT_EQ_INT(ndossiers(me), 1);
  ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(me, "can_verify_id")));
  cJSON_Delete(me);
  /* An organization cannot "verify" a citizen ID. */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"" AN "\"}", &resp, NULL), 403);
  free(resp);
  return 0;
}

/* "Cập nhật từ CSDL" answers whether an ID matches: 5 wrong tries per
 * session an hour, then even the right ID waits. */
SERVER_TEST(verify_id_guesses_are_throttled, "--cutover", "2099-01-01", NULL) {
  char cookie[128], body[64], *resp = NULL;
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "tranthibinh", PW,
                                BINH_PHONE, cookie),
                200);
  for (int i = 0; i < 5; i++) {
    snprintf(body, sizeof(body), "{\"citizen_id\":\"07919900%04d\"}", 2000 + i);
    ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie, body,
                             &resp, NULL), 409);
    free(resp);
  }
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"" BINH "\"}", &resp, NULL), 429);
  ASSERT_TRUE(has(resp, "rate_limited") && has(resp, "retry_in"));
  free(resp);
  /* A malformed ID is named without spending anything (and still refused). */
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"12\"}", &resp, NULL), 400);
  free(resp);
  ASSERT_EQ_INT(count_rows(s, "SELECT count(*) FROM portal_accounts WHERE "
                              "username='tranthibinh' AND id_verified_at IS NOT NULL"),
                0);
  return 0;
}

SERVER_TEST(before_cutover_legacy_citizens_and_organizations_log_in, "--cutover",
            "2099-01-01", NULL) {
  char cookie[128];
  cJSON *me;
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "nguyenvanan", PW,
                                AN_PHONE, cookie),
                200);
  me = qrl_h_me(s, cookie);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "legacy_citizen");
  ASSERT_EQ_INT(ndossiers(me), 2);
  cJSON_Delete(me);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", ORG, PW, ORG_PHONE,
                                cookie),
                200);
  /* Bad usernames are named, unknown ones get the usual answer. */
  {
    char a[23], *r = NULL;
    ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/portal/start", "username", "a b", PW, a, &r),
                  400);
    ASSERT_TRUE(has(r, "invalid_username"));
    free(r);
    ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/portal/start", "username", "nobody", PW, a, &r),
                  401);
    free(r);
  }
  return 0;
}

TEST_MAIN(verified_legacy_account_is_linked_at_first_qr_login,
          unverified_legacy_account_is_not_linked, verify_then_vneid_login_links,
          cutover_ends_legacy_citizen_logins_not_organizations, verify_id_guesses_are_throttled,
          before_cutover_legacy_citizens_and_organizations_log_in)
