/*
 * test_websession.c - the idle limit of web sessions, on a real database
 * file, with the time read from a fake clock (fake_clock.h) that the test
 * steps by hand: a session unused for its limit is refused and revoked for
 * good, exactly at the limit; uses keep it alive while its last use is
 * written at most once per step; a kiosk's session has the kiosk's limit;
 * the phone's list shows an idle session as ended; a wall-clock step back
 * does not hold the limit off; sessions open before the upgrade count from
 * their start.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/websession.h"
#include "fake_clock.h"
#include "helpers/crypto.h"
#include "rows.h" /* qrl_token_hash: how tokens are stored */
#include "test.h"
#include "tmpdb.h"

#define AN "001099012345"
#define T0 1790000000

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
  qrl_acct_policy pol;
  fake_clock clock;
} fixture;

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "websession")) return -1;
  f->pol = qrl_acct_policy_default();
  f->pol.hash_cost_log2 = QRL_HASH_COST_MIN;
  fake_clock_init(&f->clock, T0, 5000000);
  if (qrl_db_open(f->t.path, &f->db)) return -1;
  return qrl_db_seed_demo(f->db, &f->pol, T0) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  f->db = NULL;
  qrl_tmpdb_remove(&f->t);
}

/* A request now, by the fixture's clock. */
static qrl_req_ctx now(fixture *f) {
  qrl_req_ctx rc = {"127.0.0.1", "test", qrl_clock_wall(&f->clock.clk), NULL};
  return rc;
}

/* Opens a session of method for An at the clock's time. */
static qrl_err open_session(fixture *f, const char *method, char tok[QRL_SESSION_B64LEN + 1]) {
  qrl_req_ctx rc = now(f);
  return qrl_acct_open_web_session(f->db, &f->pol, AN, 0, method, &rc, tok);
}

/* A use of tok at the clock's time. */
static qrl_err use(fixture *f, const char *tok) {
  qrl_req_ctx rc = now(f);
  qrl_web_session ws;
  return qrl_acct_web_session(f->db, &f->pol, tok, &rc, &ws);
}

/* The recorded last use of tok's session (white-box), or -1. */
static int64_t last_seen(fixture *f, const char *tok) {
  uint8_t th[QRL_SHA256_LEN];
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  if (qrl_token_hash(tok, th) || sqlite3_open(f->t.path, &raw) != SQLITE_OK) goto out;
  if (sqlite3_prepare_v2(raw, "SELECT last_seen_at FROM web_sessions WHERE token_hash = ?",
                         -1, &st, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_blob(st, 1, th, sizeof(th), SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
out:
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return v;
}

TEST(touch_step_is_a_twentieth_between_one_second_and_a_minute) {
  ASSERT_EQ_INT(qrl_web_touch_secs(10), 1);
  ASSERT_EQ_INT(qrl_web_touch_secs(19), 1);
  ASSERT_EQ_INT(qrl_web_touch_secs(120), 6);
  ASSERT_EQ_INT(qrl_web_touch_secs(1200), 60);
  ASSERT_EQ_INT(qrl_web_touch_secs(1800), 60);
  ASSERT_EQ_INT(qrl_web_touch_secs(28800), 60);
  return 0;
}

/* Unused one second short of the limit: alive. Unused for the limit: refused,
 * revoked and audited - and a longer limit (a restart with another
 * --web-idle-secs) does not bring it back. */
TEST(an_idle_session_is_refused_exactly_at_the_limit_and_for_good) {
  fixture f;
  char a[QRL_SESSION_B64LEN + 1], b[QRL_SESSION_B64LEN + 1];
  int64_t idle;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  idle = f.pol.web_idle_secs;
  ASSERT_EQ_INT(idle, 1800);
  ASSERT_ERR(open_session(&f, "password_otp", a), QRL_OK);
  ASSERT_ERR(open_session(&f, "password_otp", b), QRL_OK);
  f.clock.wall += idle - 1;
  ASSERT_ERR(use(&f, a), QRL_OK);
  f.clock.wall += 1; /* b: unused for exactly the limit */
  ASSERT_ERR(use(&f, b), QRL_NOT_AUTHENTICATED);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_session_revoked", "ok"), 1);
  f.pol.web_idle_secs = 8 * 3600;
  ASSERT_ERR(use(&f, b), QRL_NOT_AUTHENTICATED);
  f.pol.web_idle_secs = idle;
  /* a was used one second ago: it runs on, to the limit from that use */
  ASSERT_ERR(use(&f, a), QRL_OK);
  f.clock.wall += idle - 2;
  ASSERT_ERR(use(&f, a), QRL_OK);
  /* the monotonic clock plays no part: sessions are stored in wall time */
  f.clock.mono_ms += 10LL * idle * 1000;
  ASSERT_ERR(use(&f, a), QRL_OK);
  /* ... and the limit holds through a restart (the record is in the file) */
  qrl_db_close(f.db);
  ASSERT_ERR(qrl_db_open(f.t.path, &f.db), QRL_OK);
  f.clock.wall += idle;
  ASSERT_ERR(use(&f, a), QRL_NOT_AUTHENTICATED);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_session_revoked", "ok"), 2);
  /* ending an ended session again is no error, and writes nothing */
  {
    qrl_req_ctx rc = now(&f);
    ASSERT_ERR(qrl_acct_web_logout(f.db, a, &rc), QRL_OK);
    ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_logout", NULL), 0);
  }
  close_fixture(&f);
  return 0;
}

/* A citizen who keeps using the portal every 50 s stays logged in for hours
 * (up to the session's lifetime); the last use is written once per step at
 * most, never lags the last request by a step or more, and the limit is
 * counted from that record exactly. */
TEST(uses_keep_it_alive_with_one_write_per_step_at_most) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  int64_t step, rec, prev, writes = 0, last_use = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  step = qrl_web_touch_secs(f.pol.web_idle_secs);
  ASSERT_EQ_INT(step, 60);
  ASSERT_ERR(open_session(&f, "qr", tok), QRL_OK);
  prev = last_seen(&f, tok);
  ASSERT_EQ_INT(prev, T0);
  for (int i = 0; i < 4 * 3600 / 50; i++) {
    f.clock.wall += 50;
    ASSERT_ERR(use(&f, tok), QRL_OK);
    last_use = f.clock.wall;
    rec = last_seen(&f, tok);
    if (rec != prev) {
      writes++;
      ASSERT_TRUE(rec - prev >= step); /* spaced */
      ASSERT_EQ_INT(rec, last_use);
    }
    ASSERT_TRUE(last_use - rec < step); /* lags less than a step */
    prev = rec;
  }
  /* 288 uses, one write per 100 s (every other use) */
  ASSERT_EQ_INT(writes, 144);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_session_revoked", NULL), 0);
  /* Unused from here: the limit counts from the record. */
  f.clock.wall = last_seen(&f, tok) + f.pol.web_idle_secs;
  ASSERT_ERR(use(&f, tok), QRL_NOT_AUTHENTICATED);
  close_fixture(&f);
  return 0;
}

/* A kiosk's session ("qr_kiosk") has the kiosk's limit, any other the web
 * one. */
TEST(a_kiosk_session_has_the_kiosk_limit) {
  fixture f;
  char kiosk[QRL_SESSION_B64LEN + 1], desk[QRL_SESSION_B64LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  f.pol.kiosk_idle_secs = 10;
  ASSERT_EQ_INT(qrl_web_idle_secs(&f.pol, "qr_kiosk"), 10);
  ASSERT_EQ_INT(qrl_web_idle_secs(&f.pol, "qr"), 1800);
  ASSERT_EQ_INT(qrl_web_idle_secs(&f.pol, "portal_otp"), 1800);
  ASSERT_ERR(open_session(&f, "qr_kiosk", kiosk), QRL_OK);
  ASSERT_ERR(open_session(&f, "qr", desk), QRL_OK);
  f.clock.wall += 9;
  ASSERT_ERR(use(&f, kiosk), QRL_OK);
  f.clock.wall += 9;
  ASSERT_ERR(use(&f, kiosk), QRL_OK); /* 9 s after the last use */
  f.clock.wall += 10;
  ASSERT_ERR(use(&f, kiosk), QRL_NOT_AUTHENTICATED);
  ASSERT_ERR(use(&f, desk), QRL_OK); /* 28 s: nothing for a desk */
  close_fixture(&f);
  return 0;
}

/* "Không phải tôi" lists a session past its limit as ended, even before
 * anyone has tried to use it. */
TEST(the_phone_lists_an_idle_session_as_ended) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_web_login l[4];
  size_t n = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(open_session(&f, "password_otp", tok), QRL_OK);
  f.clock.wall += f.pol.web_idle_secs - 1;
  ASSERT_ERR(qrl_acct_web_logins(f.db, &f.pol, AN, f.clock.wall, l, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_INT(l[0].active, 1);
  f.clock.wall += 1;
  ASSERT_ERR(qrl_acct_web_logins(f.db, &f.pol, AN, f.clock.wall, l, 4, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_INT(l[0].active, 0);
  close_fixture(&f);
  return 0;
}

/* The date set back a day after a use (NTP, an operator): the record, now
 * in the future, is moved back to the new time at the next use, so the
 * session still ends one limit after it - not a day later. */
TEST(a_wall_clock_step_back_does_not_hold_the_limit_off) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(open_session(&f, "qr", tok), QRL_OK);
  f.clock.wall -= FAKE_DAY;
  ASSERT_ERR(use(&f, tok), QRL_OK);
  ASSERT_EQ_INT(last_seen(&f, tok), T0 - FAKE_DAY);
  f.clock.wall += f.pol.web_idle_secs;
  ASSERT_ERR(use(&f, tok), QRL_NOT_AUTHENTICATED);
  close_fixture(&f);
  return 0;
}

/* A session open when the server is upgraded to schema v6 has no record of
 * its last use: it counts from its start, so the upgrade lengthens none. */
TEST(sessions_open_before_the_upgrade_count_from_their_start) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  uint8_t th[QRL_SHA256_LEN];
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  memset(&f, 0, sizeof(f));
  ASSERT_EQ_INT(qrl_tmpdb_make(&f.t, "websession-v5"), 0);
  f.pol = qrl_acct_policy_default();
  f.pol.hash_cost_log2 = QRL_HASH_COST_MIN;
  fake_clock_init(&f.clock, T0, 0);
  ASSERT_ERR(qrl_db_open_version(f.t.path, 5, &f.db), QRL_OK);
  ASSERT_ERR(qrl_db_seed_demo(f.db, &f.pol, T0), QRL_OK);
  qrl_db_close(f.db);
  f.db = NULL;
  /* a v5 session row, as v5 wrote it (no last_seen_at yet) */
  ASSERT_ERR(qrl_random_token(QRL_SESSION_BYTES, tok, sizeof(tok)), QRL_OK);
  ASSERT_ERR(qrl_token_hash(tok, th), QRL_OK);
  ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_prepare_v2(raw,
                                   "INSERT INTO web_sessions(citizen_id, method, token_hash,"
                                   " created_at, expires_at) VALUES(?, 'password_otp', ?, ?, ?)",
                                   -1, &st, NULL),
                SQLITE_OK);
  sqlite3_bind_text(st, 1, AN, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, th, sizeof(th), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, T0);
  sqlite3_bind_int64(st, 4, T0 + 8 * 3600);
  ASSERT_EQ_INT(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(raw);
  ASSERT_ERR(qrl_db_open(f.t.path, &f.db), QRL_OK); /* migrates */
  ASSERT_EQ_INT(last_seen(&f, tok), T0);
  f.clock.wall += f.pol.web_idle_secs;
  ASSERT_ERR(use(&f, tok), QRL_NOT_AUTHENTICATED);
  close_fixture(&f);
  return 0;
}

/* The portal page's socket looks its session up without using it: the
 * record of the last use stays, the idle limit still ends it, and the id is
 * the one a use reports and the list shows. */
TEST(a_peek_finds_the_session_without_using_it) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_req_ctx rc;
  qrl_web_session ws;
  qrl_web_login l[2];
  size_t n = 0;
  int64_t id = -1;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(open_session(&f, "password_otp", tok), QRL_OK);
  f.clock.wall += 120;
  ASSERT_ERR(qrl_acct_web_session_peek(f.db, &f.pol, tok, f.clock.wall, &id), QRL_OK);
  ASSERT_EQ_INT(last_seen(&f, tok), T0); /* not a use */
  rc = now(&f);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, tok, &rc, &ws), QRL_OK);
  ASSERT_EQ_INT(ws.id, id);
  ASSERT_ERR(qrl_acct_web_logins(f.db, &f.pol, AN, f.clock.wall, l, 2, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_INT(l[0].id, id);
  ASSERT_ERR(qrl_acct_web_session_peek(f.db, &f.pol, "short", f.clock.wall, &id),
             QRL_NOT_AUTHENTICATED);
  /* idle past the limit: refused, and ended only by a use */
  f.clock.wall += f.pol.web_idle_secs;
  ASSERT_ERR(qrl_acct_web_session_peek(f.db, &f.pol, tok, f.clock.wall, &id),
             QRL_NOT_AUTHENTICATED);
  ASSERT_EQ_INT(id, 0);
  /* "Không phải tôi": refused after */
  f.clock.wall -= f.pol.web_idle_secs;
  rc = now(&f);
  ASSERT_ERR(qrl_acct_revoke_web_login(f.db, AN, l[0].id, &rc), QRL_OK);
  ASSERT_ERR(qrl_acct_web_session_peek(f.db, &f.pol, tok, f.clock.wall, &id),
             QRL_NOT_AUTHENTICATED);
  ASSERT_ERR(qrl_acct_revoke_web_login(f.db, AN, l[0].id, &rc), QRL_NOT_FOUND);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(touch_step_is_a_twentieth_between_one_second_and_a_minute,
          an_idle_session_is_refused_exactly_at_the_limit_and_for_good,
          uses_keep_it_alive_with_one_write_per_step_at_most,
          a_kiosk_session_has_the_kiosk_limit, the_phone_lists_an_idle_session_as_ended,
          a_wall_clock_step_back_does_not_hold_the_limit_off,
          sessions_open_before_the_upgrade_count_from_their_start,
          a_peek_finds_the_session_without_using_it)
