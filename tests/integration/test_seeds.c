/*
 * test_seeds.c - the seeds' remaining screens against a real qrlogind (issue
 * 10 items 1-3): GET /api/identity ("Thông tin định danh") for portal and
 * VNeID sessions before and after "Cập nhật từ CSDL Quốc gia về dân cư" and
 * the link; the VNeID notice a verified portal account gets before the
 * cutover, and the refusal after it that points to VNeID; the two dates; the
 * one-stop desk's `qrlogin-admin portal-account add` and its closing day.
 */
#include <stdlib.h>
#include <string.h>

#include "admin_run.h"
#include "harness.h"

#define BINH "079199001234"
#define BINH_PHONE "0987654321"
#define AN_PHONE "0912345678"
#define ORG "0101234567"
#define ORG_PHONE "0901234567"
#define PW "MatKhau@2024"
#define DESK_PW "Desk@Pass2024"

static int has(const char *body, const char *needle) {
  return body && strstr(body, needle) != NULL;
}

/* GET /api/identity with cookie: the parsed body on 200, else NULL. */
static cJSON *identity(const qrl_h_server *s, const char *cookie) {
  char *resp = NULL;
  cJSON *j = NULL;
  if (qrl_h_http(s, "GET", "/api/identity", s->http, cookie, NULL, &resp, NULL) == 200)
    j = cJSON_Parse(resp);
  free(resp);
  return j;
}

static int is_true(const cJSON *o, const char *name) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static int is_null(const cJSON *o, const char *name) {
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Bình before the cutover: unverified, then verified (the notice, at this
 * and at her next portal login), then her VNeID login links the account
 * and her VNeID session shows it linked since then. */
SERVER_TEST(identity_and_vneid_notice_follow_verification, "--cutover", "2099-01-01",
            "--password-level", "1", "--accounts-close", "2098-12-15", NULL) {
  char cookie[128], again[128], vneid[128], *resp = NULL;
  cJSON *id;

  ASSERT_EQ_INT(qrl_h_http(s, "GET", "/api/identity", s->http, NULL, NULL, &resp, NULL), 401);
  free(resp);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "tranthibinh", PW,
                                BINH_PHONE, cookie),
                200);
  id = identity(s, cookie);
  ASSERT_TRUE(id != NULL);
  ASSERT_EQ_STR(qrl_h_str(id, "kind"), "legacy_citizen");
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "unverified");
  ASSERT_EQ_STR(qrl_h_str(id, "username"), "tranthibinh");
  ASSERT_TRUE(is_null(id, "linked_at") && is_null(id, "verified_at"));
  ASSERT_TRUE(!is_true(id, "vneid_notice"));
  ASSERT_EQ_STR(qrl_h_str(id, "cutover"), "01/01/2099");
  ASSERT_EQ_STR(qrl_h_str(id, "accounts_close"), "15/12/2098");
  ASSERT_TRUE(!is_true(id, "cutover_passed"));
  cJSON_Delete(id);

  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/portal/verify-id", s->http, cookie,
                           "{\"citizen_id\":\"" BINH "\"}", &resp, NULL), 200);
  free(resp);
  id = identity(s, cookie);
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "verified");
  ASSERT_TRUE(!is_null(id, "verified_at") && is_null(id, "linked_at"));
  ASSERT_TRUE(is_true(id, "vneid_notice"));
  cJSON_Delete(id);
  /* The next portal-account login is told too. */
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "tranthibinh", PW,
                                BINH_PHONE, again),
                200);
  id = identity(s, again);
  ASSERT_TRUE(is_true(id, "vneid_notice"));
  cJSON_Delete(id);

  /* VNeID: linked now, since this login; a VNeID session gets no notice. */
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", BINH, PW, BINH_PHONE, vneid), 200);
  id = identity(s, vneid);
  ASSERT_TRUE(id != NULL);
  ASSERT_EQ_STR(qrl_h_str(id, "kind"), "citizen");
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "linked");
  ASSERT_EQ_STR(qrl_h_str(id, "username"), "tranthibinh");
  ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(id, "linked_at")));
  ASSERT_TRUE(!is_true(id, "vneid_notice"));
  cJSON_Delete(id);
  /* The portal session sees the link too, and is still told. */
  id = identity(s, again);
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "linked");
  ASSERT_TRUE(is_true(id, "vneid_notice"));
  cJSON_Delete(id);
  return 0;
}

/* After the cutover (the default 01/07/2024) the verified account's login
 * is refused with a message that points to VNeID; an organization's session
 * has nothing to link and sees both default dates. */
SERVER_TEST(after_cutover_refusal_points_to_vneid, NULL) {
  char a[23], cookie[128], *resp = NULL;
  cJSON *id;
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/portal/start", "username", "nguyenvanan", PW, a,
                                &resp),
                403);
  ASSERT_TRUE(has(resp, "legacy_login_closed"));
  ASSERT_TRUE(has(resp, "Vui lòng đăng nhập bằng tài khoản định danh điện tử VNeID"));
  free(resp);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", ORG, PW, ORG_PHONE,
                                cookie),
                200);
  id = identity(s, cookie);
  ASSERT_TRUE(id != NULL);
  ASSERT_EQ_STR(qrl_h_str(id, "kind"), "organization");
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "organization");
  ASSERT_TRUE(!is_true(id, "vneid_notice"));
  ASSERT_EQ_STR(qrl_h_str(id, "accounts_close"), "15/06/2024");
  ASSERT_EQ_STR(qrl_h_str(id, "cutover"), "01/07/2024");
  ASSERT_TRUE(is_true(id, "cutover_passed"));
  cJSON_Delete(id);
  return 0;
}

/* A VNeID citizen with no old portal account. */
SERVER_TEST(identity_of_a_citizen_without_an_old_account, "--password-level", "1", NULL) {
  char cookie[128];
  cJSON *id;
  qrl_admin_out o;
  qrl_h_secret("Cuong@2024x");
  qrl_h_secret("654321");
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "citizen", "add", "--id", "001201000123", "--name",
                              "Lê Văn Cường", "--level", "1", "--phone", "0911111111",
                              "--password", "Cuong@2024x", "--passcode", "654321", NULL),
                0);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", "001201000123", "Cuong@2024x",
                                "0911111111", cookie),
                200);
  id = identity(s, cookie);
  ASSERT_TRUE(id != NULL);
  ASSERT_EQ_STR(qrl_h_str(id, "status"), "none");
  ASSERT_EQ_STR(qrl_h_str(id, "username"), "");
  cJSON_Delete(id);
  return 0;
}

/* The one-stop desk: citizens' accounts refused from the closing day (the
 * default 2024-06-15 has passed), organizations' made; a later closing day
 * lets a citizen's through; bad dates and missing roles are usage errors. */
SERVER_TEST(desk_accounts_close_for_citizens, NULL) {
  qrl_admin_out o;
  char cookie[128];
  cJSON *me;
  qrl_h_secret(DESK_PW);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "levancuong", "--kind",
                              "citizen", "--name", "Lê Văn Cường", "--phone", "0911111111",
                              "--password", DESK_PW, "--by-desk", "canbo.motcua01", NULL),
                1);
  ASSERT_TRUE(has(o.err, "15/06/2024") && has(o.err, "citizen_accounts_closed") &&
              has(o.err, "VNeID"));
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "0309999999", "--kind",
                              "organization", "--name", "Công ty TNHH Thử Nghiệm", "--phone",
                              "0281234567", "--password", DESK_PW, "--by-desk",
                              "canbo.motcua01", "--json", NULL),
                0);
  ASSERT_TRUE(has(o.out, "0309999999"));
  /* The organization logs in with it. */
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/portal/start", "username", "0309999999", DESK_PW,
                                "0281234567", cookie),
                200);
  me = qrl_h_me(s, cookie);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "organization");
  cJSON_Delete(me);
  /* A closing day still ahead: the citizen's account is made. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "levancuong", "--kind",
                              "citizen", "--name", "Lê Văn Cường", "--phone", "0911111111",
                              "--password", DESK_PW, "--by-desk", "canbo.motcua01",
                              "--accounts-close", "2099-01-01", "--dob", "2001-11-02", NULL),
                0);
  /* Usage errors: exit 2, naming what is wrong. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "x1234", "--kind", "citizen",
                              "--name", "X", "--phone", "0911111111", "--password", DESK_PW,
                              "--by-desk", "canbo", "--accounts-close", "2024-13-01", NULL),
                2);
  ASSERT_TRUE(has(o.err, "--accounts-close wants a date YYYY-MM-DD") &&
              has(o.err, "2024-13-01"));
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "x1234", "--kind", "citizen",
                              "--name", "X", "--phone", "0911111111", "--password", DESK_PW,
                              "--accounts-close", "15/06/2024", "--by-desk", "canbo", NULL),
                2);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "x1234", "--kind", "citizen",
                              "--name", "X", "--phone", "0911111111", "--password", DESK_PW,
                              NULL),
                2);
  ASSERT_TRUE(has(o.err, "--by-desk"));
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "add", "x1234", "--kind", "person",
                              "--name", "X", "--phone", "0911111111", "--password", DESK_PW,
                              "--by-desk", "canbo", NULL),
                2);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "portal-account", "remove", "x1234", NULL), 2);
  return 0;
}

TEST_MAIN(identity_and_vneid_notice_follow_verification, after_cutover_refusal_points_to_vneid,
          identity_of_a_citizen_without_an_old_account, desk_accounts_close_for_citizens)
