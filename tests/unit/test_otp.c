/*
 * test_otp.c - the password + SMS code rules on a real database file, with
 * the clock in the test's hands: code format and uniqueness, storage (never
 * the code itself), expiry, wrong-code limit, resend timing and caps, the
 * per-phone hourly cap, the cutover for legacy citizen accounts.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers/crypto.h"
#include "crypto_fail.h"
#include "domain/legacy.h"
#include "domain/otp.h"
#include "domain/websession.h"
#include "sql.h"
#include "test.h"
#include "tmpdb.h"

#define AN "001099012345"
#define PW "MatKhau@2024"
#define T0 1790000000 /* after the default cutover */

typedef struct fx {
  qrl_tmpdb t;
  qrl_db *db;
  qrl_acct_policy ap;
  qrl_otp_policy op;
} fx;

static int fx_open(fx *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "otp")) return -1;
  f->ap = qrl_acct_policy_default();
  f->ap.hash_cost_log2 = QRL_HASH_COST_MIN;
  if (qrl_otp_policy_default(&f->op)) return -1;
  if (qrl_db_open(f->t.path, &f->db) || qrl_db_seed_demo(f->db, &f->ap, T0) ||
      qrl_legacy_seed_demo(f->db, &f->ap, T0))
    return -1;
  return 0;
}

static void fx_close(fx *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

static qrl_req_ctx at(int64_t now) {
  qrl_req_ctx rc = {"10.0.0.1", "test", now, NULL};
  return rc;
}

static qrl_err verify(fx *f, const char *attempt, const char *code, int64_t now,
                      int *left) {
  char token[QRL_SESSION_B64LEN + 1];
  qrl_web_session ws;
  qrl_req_ctx rc = at(now);
  return qrl_otp_verify(f->db, &f->ap, &f->op, attempt, code, &rc, token, &ws, left);
}

TEST(codes_are_six_digits_and_stored_only_as_a_mac) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  sqlite3_stmt *st;
  int seen_same = 0;
  char first[7];
  ASSERT_EQ_INT(fx_open(&f), 0);
  f.op.phone_sends_per_hour = 1000;
  for (int i = 0; i < 30; i++) {
    ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
    ASSERT_EQ_INT(strlen(s.code), 6);
    ASSERT_EQ_INT(strspn(s.code, "0123456789"), 6);
    ASSERT_EQ_STR(s.phone, "0912345678");
    ASSERT_EQ_STR(s.phone_masked, "09******78");
    if (i == 0) memcpy(first, s.code, 7);
    else if (!strcmp(first, s.code)) seen_same++;
  }
  ASSERT_TRUE(seen_same < 3); /* 30 draws from 10^6 */
  /* Neither the last code nor its attempt token appears anywhere in the
   * table, in any encoding the row could hold it. */
  {
    sqlite3 *raw = NULL;
    int hits = -1;
    ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(raw,
                                     "SELECT count(*) FROM otp_logins WHERE"
                                     " instr(hex(otp_mac), hex(?1)) OR"
                                     " instr(hex(attempt_hash), hex(?2)) OR"
                                     " instr(hex(otp_mac), hex(?2))",
                                     -1, &st, NULL),
                  SQLITE_OK);
    sqlite3_bind_text(st, 1, s.code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, s.attempt, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) hits = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    ASSERT_EQ_INT(hits, 0);
  }
  fx_close(&f);
  return 0;
}

TEST(right_code_once_wrong_codes_counted_and_void_at_five) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  int left = -1;
  char wrong[7];
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  snprintf(wrong, sizeof(wrong), "%s", s.code);
  wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
  ASSERT_ERR(verify(&f, s.attempt, wrong, T0 + 1, &left), QRL_OTP_WRONG);
  ASSERT_EQ_INT(left, 4);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 2, &left), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 3, &left), QRL_OTP_INVALID);

  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  for (int i = 0; i < 4; i++) ASSERT_ERR(verify(&f, s.attempt, "", T0 + 1, &left), QRL_OTP_WRONG);
  ASSERT_ERR(verify(&f, s.attempt, "000000x", T0 + 1, &left), QRL_OTP_VOID);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 1, &left), QRL_OTP_VOID);
  ASSERT_ERR(verify(&f, "AAAAAAAAAAAAAAAAAAAAAA", s.code, T0 + 1, &left), QRL_OTP_INVALID);
  ASSERT_ERR(verify(&f, "short", s.code, T0 + 1, &left), QRL_OTP_INVALID);
  fx_close(&f);
  return 0;
}

TEST(code_expires_after_its_ttl) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  int left;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 300, &left), QRL_OTP_EXPIRED);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 299, &left), QRL_OK);
  fx_close(&f);
  return 0;
}

/* A resend waits a minute, replaces the code (the old one stops working),
 * restarts the clock, keeps the wrong-code count, and stops after 5 sends. */
TEST(resend_timing_replacement_and_cap) {
  fx f;
  qrl_otp_sent s, r;
  qrl_req_ctx rc = at(T0);
  int64_t retry = 0;
  int left;
  char old[7];
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  memcpy(old, s.code, 7);
  rc = at(T0 + 30);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_RATE_LIMITED);
  ASSERT_EQ_INT(retry, 30);
  ASSERT_ERR(verify(&f, s.attempt, "999999", T0 + 31, &left), strcmp(old, "999999")
                                                                   ? QRL_OTP_WRONG
                                                                   : QRL_OK);
  rc = at(T0 + 60);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_OK);
  ASSERT_EQ_STR(r.attempt, s.attempt);
  if (strcmp(old, r.code) != 0)
    ASSERT_ERR(verify(&f, s.attempt, old, T0 + 61, &left), QRL_OTP_WRONG);
  ASSERT_EQ_INT(left, 3); /* two wrong so far: they keep counting */
  /* Resent at T0+60: valid until T0+360, not T0+300. */
  ASSERT_ERR(verify(&f, s.attempt, r.code, T0 + 330, &left), QRL_OK);

  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  for (int i = 1; i < 5; i++) {
    rc = at(T0 + 60 + 60 * i);
    ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_OK);
  }
  rc = at(T0 + 60 + 60 * 5);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_RATE_LIMITED);
  fx_close(&f);
  return 0;
}

/* A password check buys codes for attempt_secs, not for ever. */
TEST(attempt_can_be_resent_only_while_young) {
  fx f;
  qrl_otp_sent s, r;
  qrl_req_ctx rc = at(T0);
  int64_t retry = 0;
  int left;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_EQ_INT(f.op.attempt_secs, 1800);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  rc = at(T0 + 1799);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_OK);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  rc = at(T0 + 1799 + 1800);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_OTP_EXPIRED);
  rc = at(T0 + 86400 * 7);
  ASSERT_ERR(qrl_otp_resend(f.db, &f.op, s.attempt, &rc, &r, &retry), QRL_OTP_EXPIRED);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 86400 * 7, &left), QRL_OTP_EXPIRED);
  fx_close(&f);
  return 0;
}

/* A code that could not be sent: the attempt is void, the failure is on
 * record, and the phone's hourly budget is not spent by it. */
TEST(undeliverable_code_voids_the_attempt_not_the_phone_budget) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  int left;
  ASSERT_EQ_INT(fx_open(&f), 0);
  for (int i = 0; i < 12; i++) {
    ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
    ASSERT_ERR(qrl_otp_undeliverable(f.db, s.attempt, &rc), QRL_OK);
  }
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 1, &left), QRL_OTP_VOID);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "otp_sms", "unavailable"), 12);
  ASSERT_ERR(qrl_otp_undeliverable(f.db, "AAAAAAAAAAAAAAAAAAAAAA", &rc), QRL_OTP_INVALID);
  /* Twelve failed sends later, the phone can still get its ten. */
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 1, &left), QRL_OK);
  fx_close(&f);
  return 0;
}

/* At most 10 codes to one phone number an hour, whatever the attempts. */
TEST(phone_hourly_cap) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(fx_open(&f), 0);
  for (int i = 0; i < 10; i++)
    ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_RATE_LIMITED);
  ASSERT_EQ_STR(s.attempt, "");
  rc = at(T0 + 3601);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  fx_close(&f);
  return 0;
}

/* The cutover: a legacy citizen account works the day before, not the day
 * of; an organization works on both; a code sent before the cutover cannot
 * be used after it. */
TEST(cutover_for_legacy_citizens_only) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc;
  int left;
  ASSERT_EQ_INT(fx_open(&f), 0);
  f.op.cutover = T0 + 100;
  rc = at(T0);
  ASSERT_ERR(qrl_otp_start_portal(f.db, &f.ap, &f.op, "nguyenvanan", PW, &rc, &s), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 100, &left), QRL_LEGACY_CLOSED);
  rc = at(T0 + 100);
  ASSERT_ERR(qrl_otp_start_portal(f.db, &f.ap, &f.op, "nguyenvanan", PW, &rc, &s),
             QRL_LEGACY_CLOSED);
  ASSERT_ERR(qrl_otp_start_portal(f.db, &f.ap, &f.op, "nguyenvanan", "WrongPass1", &rc, &s),
             QRL_BAD_CREDENTIALS);
  ASSERT_ERR(qrl_otp_start_portal(f.db, &f.ap, &f.op, "0101234567", PW, &rc, &s), QRL_OK);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 101, &left), QRL_OK);
  fx_close(&f);
  return 0;
}

TEST(password_format) {
  ASSERT_TRUE(qrl_password_format_ok("12345678"));
  ASSERT_TRUE(qrl_password_format_ok("12345678901234567890"));
  ASSERT_FALSE(qrl_password_format_ok("1234567"));
  ASSERT_FALSE(qrl_password_format_ok("123456789012345678901"));
  ASSERT_TRUE(qrl_password_format_ok("mậtkhẩuđđ"));   /* 9 characters, 15 bytes */
  ASSERT_FALSE(qrl_password_format_ok("mậtkhẩu"));    /* 7 characters */
  ASSERT_FALSE(qrl_password_format_ok(NULL));
  return 0;
}

/* A failed digest while a code is made (the attempt's hash, then the code's
 * HMAC) makes no attempt: no row that a zero MAC could match, no code sent;
 * a failed HMAC at verify gives no verdict and counts no failure. */
TEST(digest_failure_fails_closed) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  int left = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);
  for (long k = 0; k < 2; k++) {
    qrl_test_digest_fail_after(k);
    ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_CRYPTO);
    qrl_test_digest_ok();
    ASSERT_EQ_STR(s.code, "");
    ASSERT_EQ_STR(s.attempt, "");
  }
  {
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_prepare_v2(qrl_sql_handle(f.db), "SELECT count(*) FROM otp_logins",
                                     -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
  }
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  qrl_test_digest_fail_after(1); /* the attempt's hash passes, the code's HMAC fails */
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 1, &left), QRL_CRYPTO);
  qrl_test_digest_ok();
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 1, &left), QRL_OK);
  fx_close(&f);
  return 0;
}

/* The kiosk's password path: a kiosk's session (method, short lifetime);
 * a portal account's attempt is refused there and left usable. */
TEST(a_kiosk_verify_opens_a_kiosk_session) {
  fx f;
  qrl_otp_sent s;
  qrl_req_ctx rc = at(T0);
  qrl_web_session ws;
  char token[QRL_SESSION_B64LEN + 1];
  int left;
  ASSERT_EQ_INT(fx_open(&f), 0);
  f.ap.kiosk_session_secs = 600;
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.ap, &f.op, AN, PW, &rc, &s), QRL_OK);
  ASSERT_ERR(qrl_otp_verify_kiosk(f.db, &f.ap, &f.op, s.attempt, s.code, &rc, token, &ws,
                                  &left),
             QRL_OK);
  ASSERT_EQ_STR(ws.method, "otp_kiosk");
  ASSERT_TRUE(qrl_web_method_kiosk(ws.method));
  rc = at(T0 + 60);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.ap, token, &rc, &ws), QRL_OK);
  rc = at(T0 + 600);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.ap, token, &rc, &ws), QRL_NOT_AUTHENTICATED);
  rc = at(T0 + 600);
  ASSERT_ERR(qrl_otp_start_portal(f.db, &f.ap, &f.op, "0101234567", PW, &rc, &s), QRL_OK);
  ASSERT_ERR(qrl_otp_verify_kiosk(f.db, &f.ap, &f.op, s.attempt, s.code, &rc, token, &ws,
                                  &left),
             QRL_FORBIDDEN);
  ASSERT_ERR(verify(&f, s.attempt, s.code, T0 + 601, &left), QRL_OK);
  fx_close(&f);
  return 0;
}

TEST_MAIN(a_kiosk_verify_opens_a_kiosk_session, codes_are_six_digits_and_stored_only_as_a_mac,
          right_code_once_wrong_codes_counted_and_void_at_five,
          code_expires_after_its_ttl, resend_timing_replacement_and_cap,
          phone_hourly_cap, cutover_for_legacy_citizens_only, password_format,
          attempt_can_be_resent_only_while_young,
          undeliverable_code_voids_the_attempt_not_the_phone_budget,
          digest_failure_fails_closed)
