/*
 * test_challenge.c - the challenge state machine: every legal transition and
 * every illegal one, which must leave the challenge exactly as it was.
 */
#include <string.h>

#include "challenge.h"
#include "test.h"

#define NOW 1700000000
#define TTL 120
#define AN "001099012345"
#define BINH "079199001234"

static qrl_challenge fresh(void) {
  qrl_challenge c;
  qrl_err rc = qrl_challenge_init(&c, "Cổng DVC", "http://portal", "10.0.0.1",
                                  "Firefox", 7, NOW, TTL);
  if (rc) memset(&c, 0, sizeof(c));
  return c;
}

TEST(init_makes_distinct_random_tokens) {
  qrl_challenge a = fresh(), b = fresh();
  ASSERT_EQ_INT(a.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(strlen(a.id), QRL_TOKEN_B64LEN);
  ASSERT_EQ_INT(strlen(a.secret), QRL_TOKEN_B64LEN);
  ASSERT_EQ_INT(strlen(a.binding), QRL_TOKEN_B64LEN);
  ASSERT_NE_STR(a.id, b.id);
  ASSERT_NE_STR(a.id, a.secret);
  ASSERT_NE_STR(a.secret, a.binding);
  ASSERT_EQ_INT(a.expires_at, NOW + TTL);
  ASSERT_EQ_STR(a.portal_origin, "http://portal");
  ASSERT_EQ_INT(a.browser_conn, 7);
  return 0;
}

TEST(scan_then_confirm_completes) {
  qrl_challenge c = fresh();
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW + 1), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  ASSERT_EQ_STR(c.citizen_id, AN);
  ASSERT_EQ_INT(c.phone_conn, 9);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + 2), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_COMPLETED);
  ASSERT_TRUE(qrl_chal_state_terminal(c.state));
  return 0;
}

TEST(scan_then_decline) {
  qrl_challenge c = fresh();
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_DECLINED);
  return 0;
}

TEST(rescan_by_same_phone_is_idempotent) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW + 5), QRL_OK);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(scan_by_another_account_refused_unchanged) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_scan(&c, BINH, 2, 10, NOW), QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 3, 10, NOW), QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(confirm_by_another_account_refused_unchanged) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_decide(&c, BINH, 2, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 2, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(confirm_before_scan_refused) {
  qrl_challenge c = fresh(), before = c;
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_DECLINE, NOW),
             QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(second_confirm_is_used) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_CHALLENGE_USED);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_CHALLENGE_USED);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_CHALLENGE_USED);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + 10 * TTL), 0);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 0);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(declined_is_final) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_CHALLENGE_DECLINED);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_CHALLENGE_DECLINED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(expiry_refuses_scan_and_confirm) {
  qrl_challenge c = fresh(), before = c;
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW + TTL), QRL_CHALLENGE_EXPIRED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW + TTL - 1), QRL_OK);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + TTL),
             QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  return 0;
}

TEST(expire_transition) {
  qrl_challenge c = fresh();
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + TTL - 1), 0);
  ASSERT_EQ_INT(c.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + TTL), 1);
  ASSERT_EQ_INT(c.state, QRL_CHAL_EXPIRED);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + TTL + 1), 0);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_CHALLENGE_EXPIRED);
  return 0;
}

TEST(cancel_transition) {
  qrl_challenge c = fresh();
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 1);
  ASSERT_EQ_INT(c.state, QRL_CHAL_CANCELLED);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 0);
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_CHALLENGE_CANCELLED);
  c = fresh();
  ASSERT_ERR(qrl_challenge_scan(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 1);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_CANCELLED);
  return 0;
}

TEST(state_names) {
  ASSERT_EQ_STR(qrl_chal_state_name(QRL_CHAL_PENDING), "pending");
  ASSERT_EQ_STR(qrl_chal_state_name(QRL_CHAL_COMPLETED), "completed");
  ASSERT_FALSE(qrl_chal_state_terminal(QRL_CHAL_SCANNED));
  ASSERT_TRUE(qrl_chal_state_terminal(QRL_CHAL_EXPIRED));
  return 0;
}

TEST_MAIN(init_makes_distinct_random_tokens, scan_then_confirm_completes,
          scan_then_decline, rescan_by_same_phone_is_idempotent,
          scan_by_another_account_refused_unchanged,
          confirm_by_another_account_refused_unchanged,
          confirm_before_scan_refused, second_confirm_is_used,
          declined_is_final, expiry_refuses_scan_and_confirm, expire_transition,
          cancel_transition, state_names)
