/*
 * test_challenge.c - the challenge state machine: every legal transition and
 * every illegal one, which must leave the challenge exactly as it was.
 */
#include <string.h>

#include "domain/challenge.h"
#include "crypto_fail.h"
#include "fake_clock.h"
#include "test.h"

#define WALL 1700000000 /* unix seconds */
#define NOW 5000000     /* monotonic ms at creation: far from WALL */
#define S(x) ((int64_t)(x) * 1000) /* seconds of monotonic time */
#define TTL 120
#define AN "001099012345"
#define BINH "079199001234"

static qrl_challenge fresh(void) {
  qrl_challenge c;
  qrl_err rc = qrl_challenge_init(&c, "Cổng DVC", "http://portal", "10.0.0.1",
                                  "Firefox", 7, (qrl_instant){WALL, NOW}, TTL, 2);
  if (rc) memset(&c, 0, sizeof(c));
  return c;
}

/* Scans with the frame the page shows at now. */
static qrl_err scan_at(qrl_challenge *c, const char *who, int64_t dev, uint64_t conn,
                       int64_t now) {
  qrl_qr_payload qp;
  if (qrl_challenge_frame(c, now, &qp)) return QRL_CRYPTO;
  return qrl_challenge_scan(c, &qp, who, dev, conn, now);
}

/* Decides with the number the page shows (the right pick). */
static qrl_err decide_at(qrl_challenge *c, const char *who, int64_t dev, qrl_decision d,
                         int64_t now) {
  return qrl_challenge_decide(c, who, dev, d, c->match, now);
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
  ASSERT_EQ_INT(a.expires_ms, NOW + S(TTL));
  ASSERT_EQ_INT(a.created_ms, NOW);
  ASSERT_EQ_INT(a.created_at, WALL);
  ASSERT_EQ_STR(a.portal_origin, "http://portal");
  ASSERT_EQ_INT(a.browser_conn, 7);
  return 0;
}

TEST(scan_then_confirm_completes) {
  qrl_challenge c = fresh();
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW + S(1)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  ASSERT_EQ_STR(c.citizen_id, AN);
  ASSERT_EQ_INT(c.phone_conn, 9);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + S(2)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_COMPLETED);
  ASSERT_TRUE(qrl_chal_state_terminal(c.state));
  return 0;
}

/* A node whose clock runs a few ms behind the one that made the code (a
 * shared store) scans it as made now: frame 0, scanned at its creation -
 * not a future frame, not a broken challenge. */
TEST(scan_on_a_node_a_little_behind) {
  qrl_challenge c = fresh();
  qrl_qr_payload qp;
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &qp), QRL_OK);
  ASSERT_ERR(qrl_challenge_scan(&c, &qp, AN, 1, 9, NOW - 3), QRL_OK);
  ASSERT_EQ_INT(c.scanned_ms, NOW);
  ASSERT_ERR(qrl_challenge_check(&c), QRL_OK);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW - 2), QRL_OK);
  return 0;
}

TEST(scan_then_decline) {
  qrl_challenge c = fresh();
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_NONE);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_CITIZEN);
  ASSERT_EQ_STR(qrl_chal_why_name(c.why), QRL_DECLINE_CITIZEN);
  /* A refused request leaves the reason as it was. */
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_CHALLENGE_DECLINED);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_CITIZEN);
  return 0;
}

TEST(rescan_by_same_phone_is_idempotent) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW + S(1)), QRL_OK); /* same frame */
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  /* A later frame is recorded; the number on the page stays. */
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW + S(5)), QRL_OK);
  ASSERT_EQ_INT(c.scanned.frame, 2);
  ASSERT_EQ_INT(c.match, before.match);
  return 0;
}

TEST(scan_by_another_account_refused_unchanged) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(scan_at(&c, BINH, 2, 10, NOW), QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_ERR(scan_at(&c, AN, 3, 10, NOW), QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(confirm_by_another_account_refused_unchanged) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(decide_at(&c, BINH, 2, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_ERR(decide_at(&c, AN, 2, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_OTHER_ACCOUNT);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(confirm_before_scan_refused) {
  qrl_challenge c = fresh(), before = c;
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW),
             QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_DECLINE, NOW),
             QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(second_confirm_is_used) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_CHALLENGE_USED);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_CHALLENGE_USED);
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_CHALLENGE_USED);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + S(10 * TTL)), 0);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 0);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(declined_is_final) {
  qrl_challenge c = fresh(), before;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_DECLINE, NOW), QRL_OK);
  before = c;
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW), QRL_CHALLENGE_DECLINED);
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_CHALLENGE_DECLINED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  return 0;
}

TEST(expiry_refuses_scan_and_confirm) {
  qrl_challenge c = fresh(), before = c;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW + S(TTL)), QRL_CHALLENGE_EXPIRED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW + S(TTL - 1)), QRL_OK);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + S(TTL)),
             QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  return 0;
}

TEST(expire_transition) {
  qrl_challenge c = fresh();
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + S(TTL - 1)), 0);
  ASSERT_EQ_INT(c.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + S(TTL)), 1);
  ASSERT_EQ_INT(c.state, QRL_CHAL_EXPIRED);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, NOW + S(TTL + 1)), 0);
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_CHALLENGE_EXPIRED);
  return 0;
}

TEST(cancel_transition) {
  qrl_challenge c = fresh();
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 1);
  ASSERT_EQ_INT(c.state, QRL_CHAL_CANCELLED);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 0);
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_CHALLENGE_CANCELLED);
  c = fresh();
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_EQ_INT(qrl_challenge_cancel(&c), 1);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW),
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

/* Frames: each is an HMAC under the secret; the current one and the one
 * before are accepted, older ones are stale, future ones and forged codes are
 * refused, and none of that changes the challenge. */
TEST(frames_fresh_stale_forged) {
  qrl_challenge c = fresh(), before;
  qrl_qr_payload f0, f1, f5, forged;
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &f0), QRL_OK);
  ASSERT_ERR(qrl_challenge_frame(&c, NOW + S(3), &f1), QRL_OK);
  ASSERT_ERR(qrl_challenge_frame(&c, NOW + S(11), &f5), QRL_OK);
  ASSERT_EQ_INT(f0.frame, 0);
  ASSERT_EQ_INT(f1.frame, 1);
  ASSERT_EQ_INT(f5.frame, 5);
  ASSERT_NE_STR(f0.code, f1.code);
  ASSERT_EQ_INT(strlen(f0.code), QRL_FRAME_CODE_B64LEN);
  ASSERT_TRUE(strstr(f0.code, c.secret) == NULL);
  before = c;
  /* f0 at NOW+4 s is two steps old: stale. f5 at NOW+3 s: from the future. */
  ASSERT_ERR(qrl_challenge_scan(&c, &f0, AN, 1, 9, NOW + S(4)), QRL_FRAME_STALE);
  ASSERT_ERR(qrl_challenge_scan(&c, &f5, AN, 1, 9, NOW + S(3)), QRL_BAD_QR);
  forged = f1;
  forged.code[0] = forged.code[0] == 'A' ? 'B' : 'A';
  ASSERT_ERR(qrl_challenge_scan(&c, &forged, AN, 1, 9, NOW + S(3)), QRL_CHALLENGE_UNKNOWN);
  forged = f1;
  forged.frame = 0; /* f1's code under another frame number */
  ASSERT_ERR(qrl_challenge_scan(&c, &forged, AN, 1, 9, NOW + S(3)), QRL_CHALLENGE_UNKNOWN);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  /* The previous frame is still fine (the camera took a moment). */
  ASSERT_ERR(qrl_challenge_scan(&c, &f0, AN, 1, 9, NOW + S(3)), QRL_OK);
  ASSERT_EQ_INT(c.scanned.frame, 0);
  return 0;
}

/* A frame seen fresh (the scan held while the citizen granted the
 * permission) is judged at the time it was seen, expiry at now; a seen time
 * after now is refused. */
TEST(held_frame_judged_when_seen) {
  qrl_challenge c = fresh(), before;
  qrl_qr_payload f0;
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &f0), QRL_OK);
  before = c;
  ASSERT_ERR(qrl_challenge_scan_seen(&c, &f0, AN, 1, 9, NOW + S(5), NOW + S(4)), QRL_INVAL);
  ASSERT_ERR(qrl_challenge_scan_seen(&c, &f0, AN, 1, 9, NOW + S(4), NOW + S(40)),
             QRL_FRAME_STALE);
  ASSERT_ERR(qrl_challenge_scan_seen(&c, &f0, AN, 1, 9, NOW, NOW + TTL * 1000), QRL_CHALLENGE_EXPIRED);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  ASSERT_ERR(qrl_challenge_scan_seen(&c, &f0, AN, 1, 9, NOW + S(1), NOW + S(40)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  ASSERT_EQ_INT(c.scanned_ms, NOW + S(40));
  return 0;
}

/* The phone's time: extend moves a live code's expiry later, never earlier,
 * and not a finished one's. hold extends a PENDING code only for a frame
 * that would scan, and records no scan. */
TEST(extend_and_hold) {
  qrl_challenge c = fresh(), before;
  qrl_qr_payload f0;
  int64_t first = c.expires_ms;
  ASSERT_EQ_INT(qrl_challenge_extend(&c, first - 1), 0);
  ASSERT_EQ_INT(c.expires_ms, first);
  ASSERT_EQ_INT(qrl_challenge_extend(&c, first + S(300)), 1);
  ASSERT_EQ_INT(c.expires_ms, first + S(300));
  c = fresh();
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &f0), QRL_OK);
  before = c;
  /* Stale by now: refused, nothing changes. */
  ASSERT_ERR(qrl_challenge_hold(&c, &f0, AN, 1, NOW + S(4), S(300)), QRL_FRAME_STALE);
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  ASSERT_ERR(qrl_challenge_hold(&c, &f0, AN, 1, NOW + S(1), S(300)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(c.expires_ms, NOW + S(301));
  ASSERT_EQ_STR(c.citizen_id, "");
  /* Past the first life, a scan judged as of the hold is still in time. */
  ASSERT_ERR(qrl_challenge_scan_seen(&c, &f0, AN, 1, 9, NOW + S(1), NOW + S(TTL + 60)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + S(TTL + 90)), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_COMPLETED);
  ASSERT_EQ_INT(qrl_challenge_extend(&c, NOW + S(900)), 0); /* finished: as it is */
  return 0;
}

/* Number matching: the match is one of three different 2-digit choices; a
 * confirm with another number fails closed (DECLINED), a decline needs none. */
TEST(number_matching) {
  qrl_challenge c = fresh();
  int seen = 0;
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  for (int i = 0; i < QRL_MATCH_CHOICES; i++) {
    ASSERT_TRUE(c.choices[i] >= 10 && c.choices[i] <= 99);
    for (int j = 0; j < i; j++) ASSERT_NE_INT(c.choices[i], c.choices[j]);
    seen += c.choices[i] == c.match;
  }
  ASSERT_EQ_INT(seen, 1);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM,
                                  c.match == 99 ? 98 : c.match + 1, NOW),
             QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(c.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_WRONG_NUMBER); /* the browser is told why */
  ASSERT_EQ_STR(qrl_chal_why_name(c.why), QRL_DECLINE_WRONG_NUMBER);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_CONFIRM, c.match, NOW),
             QRL_CHALLENGE_DECLINED);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_WRONG_NUMBER);
  c = fresh();
  ASSERT_ERR(scan_at(&c, AN, 1, 9, NOW), QRL_OK);
  ASSERT_ERR(qrl_challenge_decide(&c, AN, 1, QRL_DECISION_DECLINE, 0, NOW), QRL_OK);
  ASSERT_EQ_INT(c.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(c.why, QRL_CHAL_WHY_CITIZEN);
  return 0;
}

/* A failed HMAC never yields a frame code: no frame is drawn, and no scan is
 * accepted - not the genuine frame, and not the code a zero-filled HMAC would
 * give (what the old code fell back to, predictable by anyone). The
 * challenge is left exactly as it was. */
TEST(hmac_failure_fails_closed) {
  qrl_challenge c = fresh(), before = c;
  qrl_qr_payload good, zero, qp;
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &good), QRL_OK);
  zero = good;
  memcpy(zero.code, "AAAAAAAAAAAAAAAA", QRL_FRAME_CODE_B64LEN + 1); /* b64url(0^12) */
  qrl_test_digest_fail_after(0);
  ASSERT_ERR(qrl_challenge_frame(&c, NOW, &qp), QRL_CRYPTO);
  ASSERT_EQ_STR(qp.code, "");
  ASSERT_ERR(qrl_challenge_scan(&c, &zero, AN, 1, 9, NOW), QRL_CRYPTO);
  ASSERT_ERR(qrl_challenge_scan(&c, &good, AN, 1, 9, NOW), QRL_CRYPTO);
  qrl_test_digest_ok();
  ASSERT_TRUE(memcmp(&before, &c, sizeof(c)) == 0);
  ASSERT_ERR(qrl_challenge_scan(&c, &zero, AN, 1, 9, NOW), QRL_CHALLENGE_UNKNOWN);
  ASSERT_ERR(qrl_challenge_scan(&c, &good, AN, 1, 9, NOW), QRL_OK);
  return 0;
}

/* Deadlines and frames run on the monotonic clock: stepping the wall clock a
 * day either way neither expires a live challenge nor renumbers its frames;
 * created_at (what the phone shows) is the wall time it was made at; real
 * (monotonic) time passing expires it. */
TEST(wall_clock_steps_do_not_expire_or_renumber) {
  fake_clock f;
  qrl_challenge c;
  qrl_qr_payload qp;
  fake_clock_init(&f, WALL, NOW);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, qrl_clock_now(&f.clk), TTL, 2),
             QRL_OK);
  ASSERT_EQ_INT(c.created_at, WALL);
  for (int step = 1; step >= -1; step -= 2) {
    f.wall = WALL + step * FAKE_DAY;
    f.mono_ms += 1000;
    ASSERT_EQ_INT(qrl_challenge_expire(&c, qrl_clock_mono_ms(&f.clk)), 0);
    ASSERT_ERR(qrl_challenge_frame(&c, qrl_clock_mono_ms(&f.clk), &qp), QRL_OK);
    ASSERT_EQ_INT(qp.frame, (f.mono_ms - NOW) / 2000);
    ASSERT_ERR(qrl_challenge_scan(&c, &qp, AN, 1, 9, qrl_clock_mono_ms(&f.clk)), QRL_OK);
    ASSERT_EQ_INT(c.state, QRL_CHAL_SCANNED);
    ASSERT_EQ_INT(c.created_at, WALL);
  }
  /* A code made after the step back shows the stepped wall time. */
  {
    qrl_challenge d;
    ASSERT_ERR(qrl_challenge_init(&d, "p", "o", "ip", "ua", 1, qrl_clock_now(&f.clk), TTL, 2),
               QRL_OK);
    ASSERT_EQ_INT(d.created_at, WALL - FAKE_DAY);
    ASSERT_EQ_INT(d.expires_ms, f.mono_ms + S(TTL));
  }
  f.mono_ms = NOW + S(TTL) - 1;
  ASSERT_EQ_INT(qrl_challenge_expire(&c, qrl_clock_mono_ms(&f.clk)), 0);
  f.mono_ms = NOW + S(TTL);
  ASSERT_ERR(decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, qrl_clock_mono_ms(&f.clk)),
             QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(qrl_challenge_expire(&c, qrl_clock_mono_ms(&f.clk)), 1);
  return 0;
}

/* A challenge brought to state st by the real transitions. */
static qrl_challenge in_state(qrl_chal_state st) {
  qrl_challenge c = fresh();
  if (st == QRL_CHAL_PENDING) return c;
  if (st == QRL_CHAL_EXPIRED) {
    qrl_challenge_expire(&c, NOW + S(TTL));
    return c;
  }
  if (st == QRL_CHAL_CANCELLED) {
    qrl_challenge_cancel(&c);
    return c;
  }
  scan_at(&c, AN, 1, 2, NOW + S(1));
  if (st == QRL_CHAL_COMPLETED) decide_at(&c, AN, 1, QRL_DECISION_CONFIRM, NOW + S(2));
  if (st == QRL_CHAL_DECLINED) decide_at(&c, AN, 1, QRL_DECISION_DECLINE, NOW + S(2));
  return c;
}

/* Applies event ev through the public function that makes it. */
static void apply_event(qrl_challenge *c, qrl_chal_event ev) {
  switch (ev) {
  case QRL_CHAL_EV_SCAN: scan_at(c, AN, 1, 2, NOW + S(3)); break;
  case QRL_CHAL_EV_CONFIRM: decide_at(c, AN, 1, QRL_DECISION_CONFIRM, NOW + S(3)); break;
  case QRL_CHAL_EV_WRONG_NUMBER:
    qrl_challenge_decide(c, AN, 1, QRL_DECISION_CONFIRM, c->match == 99 ? 98 : c->match + 1,
                         NOW + S(3));
    break;
  case QRL_CHAL_EV_DECLINE: decide_at(c, AN, 1, QRL_DECISION_DECLINE, NOW + S(3)); break;
  case QRL_CHAL_EV_TTL: qrl_challenge_expire(c, NOW + S(TTL)); break;
  case QRL_CHAL_EV_CANCEL: qrl_challenge_cancel(c); break;
  }
}

/* Every (state, event): the functions do exactly what the table says - the
 * table's state, or no change where it has no row - and the result keeps
 * its state's invariants. */
TEST(functions_follow_the_transition_table_exhaustively) {
  int rows = 0;
  for (int st = QRL_CHAL_PENDING; st <= QRL_CHAL_CANCELLED; st++) {
    for (int ev = QRL_CHAL_EV_SCAN; ev <= QRL_CHAL_EV_CANCEL; ev++) {
      qrl_challenge c = in_state((qrl_chal_state)st);
      qrl_chal_state want = (qrl_chal_state)st;
      ASSERT_EQ_INT(c.state, st);
      ASSERT_ERR(qrl_challenge_check(&c), QRL_OK);
      if (qrl_challenge_next((qrl_chal_state)st, (qrl_chal_event)ev, &want)) rows++;
      apply_event(&c, (qrl_chal_event)ev);
      if ((int)c.state != (int)want)
        TEST_FAIL_("%s + event %d: %s, table says %s", qrl_chal_state_name((qrl_chal_state)st),
                   ev, qrl_chal_state_name(c.state), qrl_chal_state_name(want));
      ASSERT_ERR(qrl_challenge_check(&c), QRL_OK);
      ASSERT_TRUE(qrl_challenge_allowed((qrl_chal_state)st, c.state));
    }
  }
  ASSERT_EQ_INT(rows, 9); /* the table's rows, each reached once */
  /* what no event does */
  ASSERT_FALSE(qrl_challenge_allowed(QRL_CHAL_PENDING, QRL_CHAL_COMPLETED));
  ASSERT_FALSE(qrl_challenge_allowed(QRL_CHAL_COMPLETED, QRL_CHAL_PENDING));
  ASSERT_FALSE(qrl_challenge_allowed(QRL_CHAL_EXPIRED, QRL_CHAL_SCANNED));
  return 0;
}

TEST(invariants_catch_a_broken_challenge) {
  qrl_challenge c = in_state(QRL_CHAL_SCANNED);
  qrl_challenge d = c;
  ASSERT_ERR(qrl_challenge_check(&c), QRL_OK);
  d.match = 100; /* not a 2-digit number */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d = c;
  d.citizen_id[0] = '\0'; /* scanned by nobody */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d = c;
  d.state = QRL_CHAL_PENDING; /* pending, yet with a scanner */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d = c;
  d.secret[0] = '\0';
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d = c;
  d.why = QRL_CHAL_WHY_CITIZEN; /* a reason, yet not declined */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d = in_state(QRL_CHAL_DECLINED);
  ASSERT_ERR(qrl_challenge_check(&d), QRL_OK);
  d.why = QRL_CHAL_WHY_NONE; /* declined, nobody knows why */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  d.why = (qrl_chal_why)7; /* a reason with no name */
  ASSERT_ERR(qrl_challenge_check(&d), QRL_INTERNAL);
  return 0;
}

/* The frames a browser socket draws from its copy (qrl_frames) are the
 * challenge's own, frame for frame, and each starts when the clock says. */
TEST(frames_copy_draws_the_same_frames) {
  qrl_challenge c = fresh();
  qrl_frames f;
  qrl_frames_of(&c, &f);
  for (int64_t t = NOW; t < NOW + 30000; t += 333) {
    qrl_qr_payload a, b;
    ASSERT_ERR(qrl_challenge_frame(&c, t, &a), QRL_OK);
    ASSERT_ERR(qrl_frames_at(&f, t, &b), QRL_OK);
    ASSERT_EQ_STR(a.id, b.id);
    ASSERT_TRUE(a.frame == b.frame);
    ASSERT_EQ_STR(a.code, b.code);
    ASSERT_TRUE(qrl_frames_start(&f, b.frame) <= t && t < qrl_frames_start(&f, b.frame + 1));
  }
  return 0;
}

TEST_MAIN(functions_follow_the_transition_table_exhaustively,
          invariants_catch_a_broken_challenge, frames_fresh_stale_forged, held_frame_judged_when_seen,
          extend_and_hold, number_matching, init_makes_distinct_random_tokens,
          scan_then_confirm_completes, scan_on_a_node_a_little_behind, scan_then_decline,
          rescan_by_same_phone_is_idempotent, scan_by_another_account_refused_unchanged,
          confirm_by_another_account_refused_unchanged, confirm_before_scan_refused,
          second_confirm_is_used, declined_is_final, expiry_refuses_scan_and_confirm,
          expire_transition, cancel_transition, state_names, hmac_failure_fails_closed,
          wall_clock_steps_do_not_expire_or_renumber, frames_copy_draws_the_same_frames)
