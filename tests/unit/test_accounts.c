/*
 * test_accounts.c - the SQLite account rules, on a real database file in a
 * temporary directory, with the clock passed in: app login and one device at
 * a time, the passcode attempt limit and lock expiry, completing a web login
 * (phone logged out, code bound to the browser, one-time, short-lived), web
 * sessions, audit rows, persistence and idempotent migration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "domain/accounts.h"
#include "domain/websession.h"
#include "helpers/crypto.h"
#include "crypto_fail.h"
#include "test.h"
#include "tmpdb.h"

#define AN "001099012345"
#define BINH "079199001234"
#define PW "MatKhau@2024"
#define T0 1790000000
#define BINDING "AAAAAAAAAAAAAAAAAAAAAA"
#define BINDING2 "BBBBBBBBBBBBBBBBBBBBBB"

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
  qrl_acct_policy pol;
} fixture;

/* A fresh database file with the policy of the tests; no citizens yet. */
static int make_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "acct")) return -1;
  f->pol = qrl_acct_policy_default();
  f->pol.hash_cost_log2 = QRL_HASH_COST_MIN;
  f->pol.fresh_device_secs = 0; /* test_fresh_device covers it */
  return 0;
}

static int open_fixture(fixture *f) {
  if (make_fixture(f) || qrl_db_open(f->t.path, &f->db)) return -1;
  return qrl_db_seed_demo(f->db, &f->pol, T0) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  f->db = NULL;
  qrl_tmpdb_remove(&f->t);
}

static qrl_req_ctx at(int64_t now) {
  qrl_req_ctx rc = {"127.0.0.1", "test", now, NULL};
  return rc;
}

/* Turns "Đăng nhập trên website" on for the app session tok and reads the
 * session back into *a (as the confirm will see it). */
static qrl_err grant(fixture *f, const char *tok, int64_t now, qrl_app_auth *a) {
  qrl_req_ctx rc = at(now);
  qrl_err err = qrl_acct_app_auth(f->db, &f->pol, tok, now, a);
  if (!err) err = qrl_acct_set_web_login(f->db, &f->pol, a, 1, "123456", &rc);
  if (!err) err = qrl_acct_app_auth(f->db, &f->pol, tok, now, a);
  return err;
}

/* Logs in on a fresh device key; returns the token in tok. */
static qrl_err login(fixture *f, const char *id, const char *pw, int64_t now,
                     char tok[QRL_SESSION_B64LEN + 1]) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[QRL_PUBKEY_BYTES];
  qrl_req_ctx rc = at(now);
  qrl_citizen who;
  if (qrl_ec_keygen(priv, pub)) return QRL_CRYPTO;
  return qrl_acct_app_login(f->db, &f->pol, id, pw, pub, "test", &rc, tok, &who);
}

TEST(demo_seed_is_there_and_idempotent) {
  fixture f;
  qrl_citizen c;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(qrl_db_get_citizen(f.db, AN, &c), QRL_OK);
  ASSERT_EQ_STR(c.full_name, "Nguyễn Văn An");
  ASSERT_EQ_INT(c.level, 2);
  ASSERT_EQ_INT(c.web_login, 0);
  ASSERT_EQ_STR(c.phone, "0912345678");
  ASSERT_ERR(qrl_db_get_citizen(f.db, BINH, &c), QRL_OK);
  ASSERT_EQ_STR(c.full_name, "Trần Thị Bình");
  ASSERT_EQ_INT(c.level, 1);
  ASSERT_ERR(qrl_db_seed_demo(f.db, &f.pol, T0), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "citizen_added", "ok"), 2);
  close_fixture(&f);
  return 0;
}

TEST(app_login_checks_credentials_the_same_way) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, "wrong", T0, tok), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(login(&f, "001099099999", PW, T0, tok), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(login(&f, "12345", PW, T0, tok), QRL_INVALID_ID);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_EQ_INT(strlen(tok), QRL_SESSION_B64LEN);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 1, &a), QRL_OK);
  ASSERT_EQ_STR(a.citizen.id, AN);
  /* Expiry of the app session. */
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + f.pol.app_session_secs + 1, &a),
             QRL_SESSION_INVALID);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                               T0, &a),
             QRL_SESSION_INVALID);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "app_login", "bad_credentials"), 2);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "app_login", "ok"), 1);
  {
    /* Guesses show in the trail of the ID that was tried, with no device. */
    sqlite3 *raw = NULL;
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(raw, "SELECT count(*) FROM audit WHERE event ="
                                          " 'app_login' AND outcome = 'bad_credentials'"
                                          " AND citizen_id = '" AN "' AND coalesce(device_id, 0) = 0",
                                     -1, &st, NULL),
                  SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
  {
    uint8_t bad[QRL_PUBKEY_BYTES] = {0x04};
    qrl_req_ctx rc = at(T0);
    qrl_citizen who;
    ASSERT_ERR(qrl_acct_app_login(f.db, &f.pol, AN, PW, bad, "x", &rc, tok, &who),
               QRL_BAD_DEVICE_KEY);
  }
  close_fixture(&f);
  return 0;
}

TEST(one_device_at_a_time) {
  fixture f;
  char t1[QRL_SESSION_B64LEN + 1], t2[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_err e;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, t1), QRL_OK);
  ASSERT_ERR(login(&f, AN, PW, T0 + 5, t2), QRL_OK);
  e = qrl_acct_app_auth(f.db, &f.pol, t1, T0 + 6, &a);
  ASSERT_TRUE(e == QRL_SESSION_INVALID || e == QRL_WRONG_DEVICE);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, t2, T0 + 6, &a), QRL_OK);
  close_fixture(&f);
  return 0;
}

TEST(passcode_limit_locks_then_lock_expires) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &a), QRL_OK);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "12345", &rc),
             QRL_BAD_PASSCODE_FORMAT);
  /* A right passcode in between resets the count. */
  for (int i = 0; i < 4; i++)
    ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc),
               QRL_WRONG_PASSCODE);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 0, "123456", &rc), QRL_OK);
  for (int i = 0; i < 4; i++)
    ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc),
               QRL_WRONG_PASSCODE);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc), QRL_LOCKED);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_LOCKED);
  ASSERT_EQ_INT(a.citizen.web_login, 0);
  /* 15 minutes later the right passcode works. */
  rc = at(T0 + f.pol.passcode_lock_secs - 1);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_LOCKED);
  rc = at(T0 + f.pol.passcode_lock_secs + 1);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_OK);
  ASSERT_EQ_INT(a.citizen.web_login, 1);
  {
    qrl_citizen c;
    ASSERT_ERR(qrl_db_get_citizen(f.db, AN, &c), QRL_OK);
    ASSERT_EQ_INT(c.web_login, 1);
  }
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "set_permission", "wrong_passcode"), 8);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "set_permission", "locked"), 3);
  close_fixture(&f);
  return 0;
}

/* Locks in a row grow: 15 min, then 30, then 60; a right passcode clears the
 * record and the next lock is 15 min again. */
TEST(passcode_locks_grow_until_a_right_passcode) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_req_ctx rc;
  int64_t t = T0, lock = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &a), QRL_OK);
  for (int round = 0; round < 3; round++) {
    rc = at(t);
    for (int i = 0; i < 4; i++)
      ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc),
                 QRL_WRONG_PASSCODE);
    ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc), QRL_LOCKED);
    lock = f.pol.passcode_lock_secs << round;
    rc = at(t + lock - 1);
    ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_LOCKED);
    t += lock;
  }
  rc = at(t);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_OK);
  for (int i = 0; i < 5; i++)
    qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "000000", &rc);
  rc = at(t + f.pol.passcode_lock_secs);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 0, "123456", &rc), QRL_OK);
  close_fixture(&f);
  return 0;
}

TEST(completion_logs_the_phone_out_and_the_code_is_one_time_and_bound) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1],
      web[QRL_SESSION_B64LEN + 1], web2[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_web_session ws;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0, &a), QRL_OK);
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_OK);
  ASSERT_EQ_INT(strlen(code), QRL_SESSION_B64LEN);
  /* The phone is logged out. */
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 1, &a), QRL_SESSION_INVALID);
  /* Another browser's binding: refused, and the code is not burnt. */
  ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING2, &rc, web, &ws),
             QRL_CODE_INVALID);
  ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING, &rc, web, &ws), QRL_OK);
  ASSERT_EQ_STR(ws.citizen.full_name, "Nguyễn Văn An");
  ASSERT_EQ_STR(ws.method, "qr");
  ASSERT_NE_STR(web, code);
  /* Once only. */
  ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING, &rc, web2, &ws),
             QRL_CODE_INVALID);
  rc = at(T0 + 10);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, web, &rc, &ws), QRL_OK);
  /* Past its lifetime (the idle limit is test_websession.c's). */
  f.pol.web_idle_secs = 2 * f.pol.web_session_secs;
  rc = at(T0 + f.pol.web_session_secs + 1);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, web, &rc, &ws), QRL_NOT_AUTHENTICATED);
  rc = at(T0);
  ASSERT_ERR(qrl_acct_web_logout(f.db, web, &rc), QRL_OK);
  rc = at(T0 + 11);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, web, &rc, &ws), QRL_NOT_AUTHENTICATED);
  ASSERT_ERR(qrl_acct_web_logout(f.db, web, &rc), QRL_OK); /* idempotent */
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_login", "ok"), 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "code_exchange", "code_invalid"), 2);
  close_fixture(&f);
  return 0;
}

/* The permission turned off between the scan and the confirm: no web
 * session, and the phone stays logged in (nothing was written). */
TEST(completion_checks_the_account_as_it_is_now) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a, off;
  qrl_req_ctx rc = at(T0);
  long sessions;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0, &a), QRL_OK); /* as at the scan */
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &off), QRL_OK);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &off, 0, "123456", &rc), QRL_OK);
  sessions = qrl_db_audit_count(f.db, "web_login", NULL);
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_NOT_PERMITTED);
  ASSERT_EQ_STR(code, "");
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_login", NULL), sessions);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &off), QRL_OK); /* still in */
  /* A level lowered below the policy's: refused the same way. */
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &off, 1, "123456", &rc), QRL_OK);
  f.pol.required_level = 3;
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_LEVEL_TOO_LOW);
  f.pol.required_level = 2;
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_OK);
  close_fixture(&f);
  return 0;
}

/* The confirm's audit row rides in the completion's transaction; if the
 * completion fails, the row is still written, once, on its own. */
TEST(completion_writes_the_confirm_row_it_is_given) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a, off;
  qrl_req_ctx rc = at(T0);
  qrl_audit_rec confirm = {"confirm", QRL_OK, AN, 0, NULL, rc};
  int64_t rows, bad;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0, &a), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &off), QRL_OK);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &off, 0, "123456", &rc), QRL_OK);
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, &confirm, code),
             QRL_NOT_PERMITTED);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "confirm", "ok"), 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_login", NULL), 0);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &off, 1, "123456", &rc), QRL_OK);
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, &confirm, code),
             QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "confirm", "ok"), 2);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_login", "ok"), 1);
  ASSERT_EQ_INT((int)qrl_db_audit_lost(f.db), 0);
  ASSERT_ERR(qrl_db_audit_verify(f.db, &rows, &bad), QRL_OK);
  close_fixture(&f);
  return 0;
}

TEST(completion_code_expires) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1], web[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_web_session ws;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0, &a), QRL_OK);
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_OK);
  rc = at(T0 + f.pol.code_secs + 1);
  ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING, &rc, web, &ws),
             QRL_CODE_INVALID);
  close_fixture(&f);
  return 0;
}

TEST(app_logout_ends_the_session) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, BINH, PW, T0, tok), QRL_OK);
  ASSERT_ERR(qrl_acct_app_logout(f.db, tok, &rc), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &a), QRL_SESSION_INVALID);
  close_fixture(&f);
  return 0;
}

/* Data survives a reopen; opening again does not re-migrate or duplicate. */
TEST(persists_across_reopen) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  long audits;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  audits = qrl_db_audit_count(f.db, NULL, NULL);
  ASSERT_TRUE(audits >= 3);
  qrl_db_close(f.db);
  ASSERT_ERR(qrl_db_open(f.t.path, &f.db), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 1, &a), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, NULL, NULL), audits);
  ASSERT_ERR(qrl_db_seed_demo(f.db, &f.pol, T0), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "citizen_added", NULL), 2);
  close_fixture(&f);
  /* A file that is not a database is refused, not clobbered. */
  {
    qrl_db *db = NULL;
    FILE *fp = fopen("/tmp/qrl-test-notadb", "w");
    ASSERT_TRUE(fp != NULL);
    fputs("definitely not sqlite, just text long enough to have a header....", fp);
    fclose(fp);
    ASSERT_TRUE(qrl_db_open("/tmp/qrl-test-notadb", &db) != QRL_OK);
    qrl_db_close(db);
    unlink("/tmp/qrl-test-notadb");
  }
  return 0;
}

/* A database made by the first release (schema v1), with a citizen and a
 * finished QR web session in it, is migrated in place on open: data kept,
 * user_version bumped, the later columns usable. */
TEST(migrates_a_v1_database) {
  fixture f;
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_req_ctx rc = at(T0);
  int version = -1, sessions = -1, has_flow = 0;

  ASSERT_EQ_INT(make_fixture(&f), 0);
  ASSERT_ERR(qrl_db_open_version(f.t.path, 1, &f.db), QRL_OK);
  qrl_db_close(f.db);
  /* A citizen and a web session row, as v1 wrote them (today's code writes
   * columns v1 did not have, so the rows are made by hand). */
  {
    char pw[QRL_HASH_STR_MAX], pc[QRL_HASH_STR_MAX], sql[1024];
    ASSERT_ERR(qrl_hash_secret(PW, strlen(PW), QRL_HASH_COST_MIN, pw, sizeof(pw)), QRL_OK);
    ASSERT_ERR(qrl_hash_secret("123456", 6, QRL_HASH_COST_MIN, pc, sizeof(pc)), QRL_OK);
    snprintf(sql, sizeof(sql),
             "INSERT INTO citizens(id, full_name, level, phone, password_hash,"
             " passcode_hash, created_at, updated_at) VALUES('" AN "',"
             " 'Nguyễn Văn An', 2, '0912345678', '%s', '%s', 1, 1);"
             "INSERT INTO web_sessions(citizen_id, method, code_hash,"
             " binding_hash, code_expires_at, created_at)"
             " VALUES('" AN "', 'qr', x'01', x'02', 1, 1);",
             pw, pc);
    ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
  }

  ASSERT_ERR(qrl_db_open(f.t.path, &f.db), QRL_OK);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0 + 1, &a), QRL_OK);
  rc.flow = "3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5b";
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_OK);
  qrl_db_close(f.db);
  f.db = NULL;

  ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  ASSERT_EQ_INT(sqlite3_prepare_v2(raw,
                                   "SELECT count(*) FROM audit WHERE event='web_login'"
                                   " AND flow='3f2b8c1e-9d4a-4b7e-8a6f-0c1d2e3f4a5b'",
                                   -1, &st, NULL),
                SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) has_flow = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  ASSERT_EQ_INT(sqlite3_prepare_v2(raw, "SELECT count(*) FROM web_sessions", -1, &st,
                                   NULL),
                SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW) sessions = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(raw);
  ASSERT_EQ_INT(version, QRL_DB_SCHEMA_VERSION);
  ASSERT_EQ_INT(has_flow, 1);
  ASSERT_EQ_INT(sessions, 2); /* the v1 row survived the table rebuild */

  /* A database from a newer qrlogind is refused, not downgraded. */
  ASSERT_EQ_INT(sqlite3_open(f.t.path, &raw), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_exec(raw, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(raw);
  ASSERT_TRUE(qrl_db_open(f.t.path, &f.db) != QRL_OK);
  f.db = NULL;
  close_fixture(&f);
  return 0;
}

/* A phone registered a moment ago cannot turn web login on (turning it off
 * is fine), and its QR login does not link old portal accounts; a day later
 * it can. */
TEST(fresh_device_cannot_open_web_login) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a;
  qrl_req_ctx rc = at(T0 + 60);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  f.pol.fresh_device_secs = 24 * 3600;
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 60, &a), QRL_OK);
  ASSERT_EQ_INT(a.device_since, T0);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_DEVICE_TOO_NEW);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 0, "123456", &rc), QRL_OK);
  rc = at(T0 + 24 * 3600);
  ASSERT_ERR(qrl_acct_set_web_login(f.db, &f.pol, &a, 1, "123456", &rc), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "set_permission", "device_too_new"), 1);
  (void)code;
  close_fixture(&f);
  return 0;
}

/* A failed digest of a token, code or binding aborts the operation: no web
 * session row with a zero hash (which any later failed hash would match), no
 * code handed out, the phone not logged out, no session accepted. */
TEST(digest_failure_fails_closed) {
  fixture f;
  char tok[QRL_SESSION_B64LEN + 1], code[QRL_SESSION_B64LEN + 1],
      web[QRL_SESSION_B64LEN + 1];
  qrl_app_auth a, a2;
  qrl_web_session ws;
  qrl_req_ctx rc = at(T0);
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(login(&f, AN, PW, T0, tok), QRL_OK);
  ASSERT_ERR(grant(&f, tok, T0, &a), QRL_OK);
  qrl_test_digest_fail_after(0);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &a2), QRL_CRYPTO);
  /* The code's hash fails, then (k = 1) the binding's. */
  for (long k = 0; k < 2; k++) {
    qrl_test_digest_fail_after(k);
    ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
               QRL_CRYPTO);
    ASSERT_EQ_STR(code, "");
  }
  qrl_test_digest_ok();
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "web_login", NULL), 0);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0, &a2), QRL_OK); /* still logged in */
  ASSERT_ERR(qrl_acct_complete_web_login(f.db, &f.pol, &a, BINDING, "qr", &rc, NULL, code),
             QRL_OK);
  /* Exchanging the code: its hash, then the binding's, then the new token's. */
  for (long k = 0; k < 3; k++) {
    qrl_test_digest_fail_after(k);
    ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING, &rc, web, &ws),
               QRL_CRYPTO);
    ASSERT_EQ_STR(web, "");
  }
  qrl_test_digest_ok();
  ASSERT_ERR(qrl_acct_exchange_code(f.db, &f.pol, code, BINDING, &rc, web, &ws), QRL_OK);
  rc = at(T0 + 1);
  qrl_test_digest_fail_after(0);
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, web, &rc, &ws), QRL_CRYPTO);
  qrl_test_digest_ok();
  ASSERT_ERR(qrl_acct_web_session(f.db, &f.pol, web, &rc, &ws), QRL_OK);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(fresh_device_cannot_open_web_login, demo_seed_is_there_and_idempotent,
          app_login_checks_credentials_the_same_way, one_device_at_a_time,
          passcode_limit_locks_then_lock_expires,
          passcode_locks_grow_until_a_right_passcode,
          completion_logs_the_phone_out_and_the_code_is_one_time_and_bound,
          completion_checks_the_account_as_it_is_now,
          completion_writes_the_confirm_row_it_is_given, completion_code_expires,
          app_logout_ends_the_session, persists_across_reopen, migrates_a_v1_database,
          digest_failure_fails_closed)
