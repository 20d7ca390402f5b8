/*
 * test_operator.c - the operator's reads and changes (operator.h) on a real
 * database file: the rows each view returns (NULLs kept, order, limits,
 * nothing for an unknown ID), each change's effect and its one audit row
 * (event, detail, user agent "qrlogin-admin"), and that every refused change
 * commits nothing at all - watched through a connection of the test's own
 * (PRAGMA data_version moves on any commit by another connection) and the
 * audit row count.
 */
#include <sqlite3.h>
#include <string.h>

#include "helpers/crypto.h"
#include "domain/legacy.h"
#include "domain/operator.h"
#include "domain/websession.h"
#include "domain/otp.h"
#include "test.h"
#include "tmpdb.h"

#define AN "001099012345"
#define BINH "079199001234"
#define NOBODY "001099099999"
#define PW "MatKhau@2024"
#define T0 1790000000

typedef struct fx {
  qrl_tmpdb t;
  qrl_db *db;
  qrl_acct_policy pol;
  sqlite3 *raw; /* the test's own connection: reads what was committed */
} fx;

/* A database with the demo citizens (An level 2, Bình level 1, both
 * "MatKhau@2024" / "123456") and the demo portal accounts. */
static int fx_open(fx *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "operator")) return -1;
  f->pol = qrl_acct_policy_default();
  f->pol.hash_cost_log2 = QRL_HASH_COST_MIN;
  if (qrl_db_open(f->t.path, &f->db) || qrl_db_seed_demo(f->db, &f->pol, T0) ||
      qrl_legacy_seed_demo(f->db, &f->pol, T0))
    return -1;
  return sqlite3_open_v2(f->t.path, &f->raw, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK ? 0
                                                                                       : -1;
}

static void fx_close(fx *f) {
  sqlite3_close(f->raw);
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

static qrl_req_ctx at(int64_t now) {
  qrl_req_ctx rc = {"10.0.0.9", "test", now, NULL};
  return rc;
}

/* The first column of the first row of sql on the test's connection, as an
 * integer; -1 on error. */
static long long scalar(fx *f, const char *sql) {
  sqlite3_stmt *st = NULL;
  long long v = -1;
  if (sqlite3_prepare_v2(f->raw, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Runs sql on the test's connection (setting up states the API cannot). */
static int raw_exec(fx *f, const char *sql) {
  return sqlite3_exec(f->raw, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* What has been committed so far, as seen from outside. */
typedef struct mark {
  long long version; /* PRAGMA data_version: moves on another connection's commit */
  long long audit;   /* audit rows */
} mark;

static mark mark_now(fx *f) {
  mark m = {scalar(f, "PRAGMA data_version"), scalar(f, "SELECT count(*) FROM audit")};
  return m;
}

/* 1 if nothing was committed since m. */
static int nothing_since(fx *f, mark m) {
  mark n = mark_now(f);
  return m.version >= 0 && n.version == m.version && n.audit == m.audit;
}

/* The newest audit row, as written. */
typedef struct audit_row {
  char event[40], outcome[40], citizen[16], agent[40], detail[80];
  long long device;
} audit_row;

static int last_audit(fx *f, audit_row *a) {
  sqlite3_stmt *st = NULL;
  int rc = -1;
  memset(a, 0, sizeof(*a));
  if (sqlite3_prepare_v2(f->raw, "SELECT event, outcome, citizen_id, user_agent, detail,"
                                 " device_id FROM audit ORDER BY id DESC LIMIT 1",
                         -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    char *const dst[5] = {a->event, a->outcome, a->citizen, a->agent, a->detail};
    const size_t cap[5] = {sizeof(a->event), sizeof(a->outcome), sizeof(a->citizen),
                           sizeof(a->agent), sizeof(a->detail)};
    for (int i = 0; i < 5; i++) {
      const unsigned char *s = sqlite3_column_text(st, i);
      snprintf(dst[i], cap[i], "%s", s ? (const char *)s : "");
    }
    a->device = sqlite3_column_int64(st, 5);
    rc = 0;
  }
  sqlite3_finalize(st);
  return rc;
}

/* App login for id on a fresh device key; the token in tok. */
static qrl_err login(fx *f, const char *id, int64_t now, const char *device,
                     char tok[QRL_SESSION_B64LEN + 1]) {
  uint8_t priv[QRL_PRIVKEY_BYTES], pub[QRL_PUBKEY_BYTES];
  qrl_req_ctx rc = at(now);
  qrl_citizen who;
  if (qrl_ec_keygen(priv, pub)) return QRL_CRYPTO;
  return qrl_acct_app_login(f->db, &f->pol, id, PW, pub, device, &rc, tok, &who);
}

/* A web session for id, made as the OTP path makes one. */
static qrl_err web_session(fx *f, const char *id, int64_t now) {
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_req_ctx rc = at(now);
  return qrl_acct_open_web_session(f->db, &f->pol, id, 0, "password_otp", &rc, tok);
}

/* ---- reads ---------------------------------------------------------------- */

TEST(citizens_are_listed_by_id_with_their_passcode_state) {
  fx f;
  qrl_op_citizen *rows = NULL;
  size_t n = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_db_add_citizen(f.db, &f.pol, "001099000001", "Không Điện Thoại", 2, NULL,
                                PW, "123456", 1, T0),
             QRL_OK);
  ASSERT_EQ_INT(raw_exec(&f, "UPDATE citizens SET passcode_failures = 3,"
                             " passcode_locked_until = 1790000900, passcode_locks = 2"
                             " WHERE id = '079199001234'"),
                0);
  ASSERT_ERR(qrl_op_citizens(f.db, &rows, &n), QRL_OK);
  ASSERT_EQ_INT(n, 3);
  ASSERT_EQ_STR(rows[0].id, "001099000001");
  ASSERT_TRUE(rows[0].phone == NULL); /* NULL stays NULL */
  ASSERT_EQ_INT(rows[0].web_login, 1);
  ASSERT_EQ_STR(rows[1].id, AN);
  ASSERT_EQ_STR(rows[1].full_name, "Nguyễn Văn An");
  ASSERT_EQ_INT(rows[1].level, 2);
  ASSERT_EQ_STR(rows[1].phone, "0912345678");
  ASSERT_EQ_INT(rows[1].web_login, 0);
  ASSERT_EQ_INT(rows[1].passcode_locked_until, 0);
  ASSERT_EQ_STR(rows[2].id, BINH);
  ASSERT_EQ_INT(rows[2].level, 1);
  ASSERT_EQ_INT(rows[2].passcode_failures, 3);
  ASSERT_EQ_INT(rows[2].passcode_locked_until, T0 + 900);
  ASSERT_EQ_INT(rows[2].passcode_locks, 2);
  qrl_op_citizens_free(rows, n);
  fx_close(&f);
  return 0;
}

TEST(one_citizen_is_read_or_not_found) {
  fx f;
  qrl_op_citizen c;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_op_citizen_get(f.db, BINH, &c), QRL_OK);
  ASSERT_EQ_STR(c.id, BINH);
  ASSERT_EQ_STR(c.full_name, "Trần Thị Bình");
  ASSERT_EQ_STR(c.phone, "0987654321");
  ASSERT_EQ_INT(c.level, 1);
  ASSERT_EQ_INT(c.passcode_failures, 0);
  qrl_op_citizen_clear(&c);
  ASSERT_TRUE(c.id == NULL);
  ASSERT_ERR(qrl_op_citizen_get(f.db, NOBODY, &c), QRL_NOT_FOUND);
  ASSERT_TRUE(c.id == NULL && c.full_name == NULL);
  qrl_op_citizen_clear(&c); /* nothing to release, and safe */
  qrl_op_citizen_clear(NULL);
  fx_close(&f);
  return 0;
}

TEST(devices_and_sessions_are_listed_with_their_state) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_op_device *devs = NULL;
  qrl_op_session *ses = NULL;
  size_t nd = 0, ns = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  ASSERT_ERR(login(&f, AN, T0 + 20, NULL, tok), QRL_OK); /* replaces the Pixel */
  ASSERT_ERR(web_session(&f, AN, T0 + 30), QRL_OK);
  ASSERT_ERR(login(&f, BINH, T0 + 40, "Bình's", tok), QRL_OK);

  ASSERT_ERR(qrl_op_devices(f.db, AN, &devs, &nd), QRL_OK);
  ASSERT_EQ_INT(nd, 2);
  ASSERT_EQ_STR(devs[0].name, "Pixel");
  ASSERT_EQ_INT(devs[0].created_at, T0 + 10);
  ASSERT_EQ_INT(devs[0].revoked_at, T0 + 20);
  ASSERT_TRUE(devs[1].id > devs[0].id);
  ASSERT_TRUE(devs[1].name == NULL);
  ASSERT_EQ_INT(devs[1].revoked_at, 0);

  ASSERT_ERR(qrl_op_sessions(f.db, AN, &ses, &ns), QRL_OK);
  ASSERT_EQ_INT(ns, 3); /* oldest first; Bình's are not An's */
  ASSERT_EQ_STR(ses[0].kind, "app");
  ASSERT_EQ_INT(ses[0].device_id, devs[0].id);
  ASSERT_EQ_INT(ses[0].created_at, T0 + 10);
  ASSERT_EQ_INT(ses[0].revoked_at, T0 + 20);
  ASSERT_EQ_STR(ses[0].note, "replaced_by_new_device");
  ASSERT_EQ_STR(ses[1].kind, "app");
  ASSERT_EQ_INT(ses[1].device_id, devs[1].id);
  ASSERT_EQ_INT(ses[1].revoked_at, 0);
  ASSERT_EQ_INT(ses[1].expires_at, T0 + 20 + f.pol.app_session_secs);
  ASSERT_TRUE(ses[1].note == NULL);
  ASSERT_EQ_STR(ses[2].kind, "web");
  ASSERT_EQ_INT(ses[2].device_id, 0);
  ASSERT_EQ_INT(ses[2].created_at, T0 + 30);
  ASSERT_EQ_INT(ses[2].expires_at, T0 + 30 + f.pol.web_session_secs);
  ASSERT_EQ_STR(ses[2].note, "password_otp");
  qrl_op_devices_free(devs, nd);
  qrl_op_sessions_free(ses, ns);
  fx_close(&f);
  return 0;
}

TEST(audit_rows_come_newest_first_up_to_the_limit) {
  fx f;
  qrl_op_audit_row *rows = NULL;
  size_t n = 0;
  qrl_req_ctx rc = {"192.0.2.7", "ua", T0 + 50, "6f1c9a2e-0000-4000-8000-000000000001"};
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, AN, 1, "proximity=same", &rc), QRL_OK);
  rc.now = T0 + 60;
  ASSERT_ERR(qrl_db_audit(f.db, "confirm", QRL_WRONG_PASSCODE, AN, 0, NULL, &rc), QRL_OK);
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, BINH, 0, NULL, &rc), QRL_OK);

  ASSERT_ERR(qrl_op_audit(f.db, AN, 50, &rows, &n), QRL_OK);
  ASSERT_EQ_INT(n, 4); /* citizen_added, portal_account_added (seeds), scan, confirm */
  ASSERT_EQ_STR(rows[0].event, "confirm");
  ASSERT_EQ_STR(rows[0].outcome, "wrong_passcode");
  ASSERT_EQ_INT(rows[0].at, T0 + 60);
  ASSERT_TRUE(rows[0].detail == NULL);
  ASSERT_EQ_STR(rows[1].event, "scan");
  ASSERT_EQ_STR(rows[1].ip, "192.0.2.7");
  ASSERT_EQ_STR(rows[1].detail, "proximity=same");
  ASSERT_EQ_STR(rows[1].flow, "6f1c9a2e-0000-4000-8000-000000000001");
  ASSERT_EQ_STR(rows[3].event, "citizen_added");
  ASSERT_TRUE(rows[3].ip == NULL && rows[3].flow == NULL && rows[3].detail == NULL);
  qrl_op_audit_free(rows, n);

  ASSERT_ERR(qrl_op_audit(f.db, AN, 1, &rows, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(rows[0].event, "confirm");
  qrl_op_audit_free(rows, n);
  fx_close(&f);
  return 0;
}

typedef struct walk {
  int64_t ids[64];
  int n, stop_at; /* stop_at: the visit that returns 1 (0: never) */
  int hashes;     /* rows with a 32-byte chain hash */
} walk;

static int visit(const qrl_op_audit_full *r, void *arg) {
  walk *w = arg;
  if (w->n < 64) w->ids[w->n] = r->id;
  w->n++;
  if (r->row_hash && r->row_hash_len == 32) w->hashes++;
  return w->stop_at && w->n == w->stop_at;
}

/* The export walk: every row once in id order from after_id, at most limit,
 * stopped when the visitor says so; each row has its chain hash. */
TEST(audit_rows_are_walked_in_order_from_an_id) {
  fx f;
  walk w = {0};
  qrl_req_ctx rc = at(T0 + 5);
  int total;
  ASSERT_EQ_INT(fx_open(&f), 0);
  for (int i = 0; i < 5; i++)
    ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, AN, 0, NULL, &rc), QRL_OK);
  total = (int)scalar(&f, "SELECT count(*) FROM audit");
  ASSERT_ERR(qrl_op_audit_each(f.db, 0, 0, visit, &w), QRL_OK);
  ASSERT_EQ_INT(w.n, total);
  ASSERT_EQ_INT(w.hashes, total);
  for (int i = 1; i < w.n; i++) ASSERT_TRUE(w.ids[i] > w.ids[i - 1]);
  memset(&w, 0, sizeof(w));
  ASSERT_ERR(qrl_op_audit_each(f.db, 3, 2, visit, &w), QRL_OK);
  ASSERT_EQ_INT(w.n, 2);
  ASSERT_EQ_INT(w.ids[0], 4);
  ASSERT_EQ_INT(w.ids[1], 5);
  memset(&w, 0, sizeof(w));
  w.stop_at = 3;
  ASSERT_ERR(qrl_op_audit_each(f.db, 0, 0, visit, &w), QRL_OK);
  ASSERT_EQ_INT(w.n, 3);
  memset(&w, 0, sizeof(w));
  ASSERT_ERR(qrl_op_audit_each(f.db, total, 0, visit, &w), QRL_OK);
  ASSERT_EQ_INT(w.n, 0);
  fx_close(&f);
  return 0;
}

/* Stats count by the day in Vietnam: 16:59:59 UTC is still that day there,
 * 17:00:00 UTC the next; rows before `since` are not counted. */
TEST(stats_count_rows_by_vietnam_day_event_and_outcome) {
  fx f;
  qrl_op_stat *rows = NULL;
  size_t n = 0;
  const int64_t midnight_vn = 1790010000; /* 2026-09-21T17:00:00Z */
  qrl_req_ctx rc = at(midnight_vn - 1);
  ASSERT_EQ_INT(fx_open(&f), 0); /* the seeds' rows are at T0, 2026-09-21 21:13 in Vietnam */
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, AN, 0, NULL, &rc), QRL_OK);
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, AN, 0, NULL, &rc), QRL_OK);
  rc.now = midnight_vn;
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_OK, AN, 0, NULL, &rc), QRL_OK);
  ASSERT_ERR(qrl_db_audit(f.db, "scan", QRL_WRONG_PASSCODE, AN, 0, NULL, &rc), QRL_OK);

  ASSERT_ERR(qrl_op_stats(f.db, T0 + 1, &rows, &n), QRL_OK); /* the seeds left out */
  ASSERT_EQ_INT(n, 3);
  ASSERT_EQ_STR(rows[0].day, "2026-09-21");
  ASSERT_EQ_STR(rows[0].event, "scan");
  ASSERT_EQ_STR(rows[0].outcome, "ok");
  ASSERT_EQ_INT(rows[0].count, 2);
  ASSERT_EQ_STR(rows[1].day, "2026-09-22");
  ASSERT_EQ_STR(rows[1].outcome, "ok");
  ASSERT_EQ_INT(rows[1].count, 1);
  ASSERT_EQ_STR(rows[2].day, "2026-09-22");
  ASSERT_EQ_STR(rows[2].outcome, "wrong_passcode");
  ASSERT_EQ_INT(rows[2].count, 1);
  qrl_op_stats_free(rows, n);

  ASSERT_ERR(qrl_op_stats(f.db, 0, &rows, &n), QRL_OK); /* the seeds too */
  ASSERT_TRUE(n > 3);
  ASSERT_EQ_STR(rows[0].day, "2026-09-21");
  qrl_op_stats_free(rows, n);
  fx_close(&f);
  return 0;
}

TEST(an_unknown_citizen_has_no_rows) {
  fx f;
  qrl_op_device *d = NULL;
  qrl_op_session *s = NULL;
  qrl_op_audit_row *a = NULL;
  size_t n = 9;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_op_devices(f.db, NOBODY, &d, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  n = 9;
  ASSERT_ERR(qrl_op_sessions(f.db, NOBODY, &s, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  n = 9;
  ASSERT_ERR(qrl_op_audit(f.db, NOBODY, 50, &a, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  qrl_op_devices_free(d, 0);
  qrl_op_sessions_free(s, 0);
  qrl_op_audit_free(a, 0);
  fx_close(&f);
  return 0;
}

/* ---- changes -------------------------------------------------------------- */

TEST(set_level_changes_it_with_one_audit_row) {
  fx f;
  qrl_citizen c;
  audit_row a;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_set_level(f.db, BINH, 2, T0 + 5), QRL_OK);
  ASSERT_ERR(qrl_db_get_citizen(f.db, BINH, &c), QRL_OK);
  ASSERT_EQ_INT(c.level, 2);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_set_level");
  ASSERT_EQ_STR(a.outcome, "ok");
  ASSERT_EQ_STR(a.citizen, BINH);
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  ASSERT_EQ_STR(a.detail, "level=2");
  ASSERT_EQ_INT(scalar(&f, "SELECT updated_at FROM citizens WHERE id = '079199001234'"),
                T0 + 5);
  fx_close(&f);
  return 0;
}

TEST(set_level_refusals_write_nothing) {
  fx f;
  qrl_citizen c;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_set_level(f.db, NOBODY, 1, T0 + 5), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_op_set_level(f.db, AN, 3, T0 + 5), QRL_INVAL);
  ASSERT_ERR(qrl_op_set_level(f.db, AN, 0, T0 + 5), QRL_INVAL);
  ASSERT_TRUE(nothing_since(&f, m));
  ASSERT_ERR(qrl_db_get_citizen(f.db, AN, &c), QRL_OK);
  ASSERT_EQ_INT(c.level, 2);
  fx_close(&f);
  return 0;
}

TEST(set_password_replaces_it_and_ends_what_the_old_one_opened) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_otp_policy opol;
  qrl_otp_sent sent;
  qrl_req_ctx rc = at(T0 + 30);
  qrl_citizen who;
  qrl_app_auth auth;
  audit_row a;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_otp_policy_default(&opol), QRL_OK);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  ASSERT_ERR(web_session(&f, AN, T0 + 20), QRL_OK);
  ASSERT_ERR(qrl_otp_start_citizen(f.db, &f.pol, &opol, AN, PW, &rc, &sent), QRL_OK);
  qrl_cleanse(&sent, sizeof(sent));
  m = mark_now(&f);

  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, AN, "MoiHon@2025", T0 + 100), QRL_OK);
  ASSERT_ERR(qrl_acct_check_password(f.db, &f.pol, AN, "MoiHon@2025", &who), QRL_OK);
  ASSERT_ERR(qrl_acct_check_password(f.db, &f.pol, AN, PW, &who), QRL_BAD_CREDENTIALS);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 101, &auth), QRL_SESSION_INVALID);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM app_sessions WHERE revoked_at = 1790000100"
                           " AND revoke_reason = 'password_reset'"),
                1);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM web_sessions WHERE revoked_at IS NULL"), 0);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM otp_logins WHERE void_at = 1790000100"), 1);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_set_password");
  ASSERT_EQ_STR(a.citizen, AN);
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  ASSERT_EQ_STR(a.detail, ""); /* no secret, no detail */
  fx_close(&f);
  return 0;
}

TEST(set_password_refusals_write_nothing) {
  fx f;
  qrl_citizen who;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, AN, "short", T0), QRL_BAD_PASSWORD_FORMAT);
  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, AN, "123456789012345678901", T0),
             QRL_BAD_PASSWORD_FORMAT);
  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, AN, NULL, T0), QRL_BAD_PASSWORD_FORMAT);
  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, NOBODY, "MoiHon@2025", T0), QRL_NOT_FOUND);
  ASSERT_TRUE(nothing_since(&f, m));
  ASSERT_ERR(qrl_acct_check_password(f.db, &f.pol, AN, PW, &who), QRL_OK);
  fx_close(&f);
  return 0;
}

TEST(set_passcode_replaces_it_and_keeps_the_sessions) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_req_ctx rc = at(T0 + 200);
  qrl_app_auth auth;
  audit_row a;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_set_passcode(f.db, &f.pol, AN, "987654", T0 + 100), QRL_OK);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_set_passcode");
  ASSERT_EQ_STR(a.citizen, AN);
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  /* The app session lives on, and the new passcode is the one that works. */
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 200, &auth), QRL_OK);
  ASSERT_ERR(qrl_acct_check_passcode(f.db, &f.pol, &auth, "987654", &rc), QRL_OK);
  ASSERT_ERR(qrl_acct_check_passcode(f.db, &f.pol, &auth, "123456", &rc), QRL_WRONG_PASSCODE);
  fx_close(&f);
  return 0;
}

TEST(set_passcode_refusals_write_nothing) {
  fx f;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_set_passcode(f.db, &f.pol, AN, "12345", T0), QRL_BAD_PASSCODE_FORMAT);
  ASSERT_ERR(qrl_op_set_passcode(f.db, &f.pol, AN, "12345a", T0), QRL_BAD_PASSCODE_FORMAT);
  ASSERT_ERR(qrl_op_set_passcode(f.db, &f.pol, NOBODY, "987654", T0), QRL_NOT_FOUND);
  ASSERT_TRUE(nothing_since(&f, m));
  fx_close(&f);
  return 0;
}

TEST(unlock_clears_failures_lock_and_history) {
  fx f;
  qrl_op_citizen c;
  audit_row a;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_EQ_INT(raw_exec(&f, "UPDATE citizens SET passcode_failures = 4,"
                             " passcode_locked_until = 1790009999, passcode_locks = 3"
                             " WHERE id = '001099012345'"),
                0);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_unlock(f.db, AN, T0 + 5), QRL_OK);
  ASSERT_ERR(qrl_op_citizen_get(f.db, AN, &c), QRL_OK);
  ASSERT_EQ_INT(c.passcode_failures, 0);
  ASSERT_EQ_INT(c.passcode_locked_until, 0);
  ASSERT_EQ_INT(c.passcode_locks, 0);
  qrl_op_citizen_clear(&c);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_unlock");
  ASSERT_EQ_STR(a.citizen, AN);
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  /* Unknown: nothing written. */
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_unlock(f.db, NOBODY, T0 + 6), QRL_NOT_FOUND);
  ASSERT_TRUE(nothing_since(&f, m));
  fx_close(&f);
  return 0;
}

TEST(device_revoke_ends_the_device_and_its_app_sessions) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_op_device *d = NULL;
  qrl_op_session *s = NULL;
  size_t nd = 0, ns = 0;
  qrl_app_auth auth;
  audit_row a;
  char detail[32];
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  ASSERT_ERR(qrl_op_devices(f.db, AN, &d, &nd), QRL_OK);
  ASSERT_EQ_INT(nd, 1);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_device_revoke(f.db, d[0].id, T0 + 50), QRL_OK);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 51, &auth), QRL_SESSION_INVALID);
  ASSERT_ERR(qrl_op_sessions(f.db, AN, &s, &ns), QRL_OK);
  ASSERT_EQ_INT(ns, 1);
  ASSERT_EQ_INT(s[0].revoked_at, T0 + 50);
  ASSERT_EQ_STR(s[0].note, "device_revoked");
  ASSERT_EQ_INT(scalar(&f, "SELECT revoked_at FROM devices"), T0 + 50);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_device_revoke");
  ASSERT_EQ_STR(a.citizen, AN); /* under the device's citizen */
  ASSERT_EQ_INT(a.device, d[0].id);
  snprintf(detail, sizeof(detail), "device=%lld", (long long)d[0].id);
  ASSERT_EQ_STR(a.detail, detail);
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  /* Revoked already, or no such device: nothing written. */
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_device_revoke(f.db, d[0].id, T0 + 60), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_op_device_revoke(f.db, 999, T0 + 60), QRL_NOT_FOUND);
  ASSERT_TRUE(nothing_since(&f, m));
  ASSERT_EQ_INT(scalar(&f, "SELECT revoked_at FROM devices"), T0 + 50);
  qrl_op_devices_free(d, nd);
  qrl_op_sessions_free(s, ns);
  fx_close(&f);
  return 0;
}

TEST(session_revoke_ends_every_live_session_of_the_citizen) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1], btok[QRL_SESSION_B64LEN + 1];
  qrl_app_auth auth;
  audit_row a;
  mark m;
  int n = -1;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  ASSERT_ERR(login(&f, AN, T0 + 11, "Pixel 2", tok), QRL_OK); /* the first one: revoked */
  ASSERT_ERR(web_session(&f, AN, T0 + 20), QRL_OK);
  ASSERT_ERR(web_session(&f, AN, T0 + 21), QRL_OK);
  ASSERT_ERR(login(&f, BINH, T0 + 22, "Bình's", btok), QRL_OK);
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_session_revoke(f.db, AN, T0 + 100, &n), QRL_OK);
  ASSERT_EQ_INT(n, 3); /* one live app session, two web sessions */
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, tok, T0 + 101, &auth), QRL_SESSION_INVALID);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM app_sessions WHERE revoke_reason = 'admin'"),
                1);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM web_sessions WHERE revoked_at = 1790000100"),
                2);
  ASSERT_ERR(qrl_acct_app_auth(f.db, &f.pol, btok, T0 + 101, &auth), QRL_OK); /* Bình's */
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "admin_session_revoke");
  ASSERT_EQ_STR(a.citizen, AN);
  ASSERT_EQ_STR(a.detail, "sessions=3");
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  /* Nothing left: still done, and on record. */
  ASSERT_ERR(qrl_op_session_revoke(f.db, AN, T0 + 110, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.detail, "sessions=0");
  /* Unknown: nothing written. */
  m = mark_now(&f);
  n = -1;
  ASSERT_ERR(qrl_op_session_revoke(f.db, NOBODY, T0 + 120, &n), QRL_NOT_FOUND);
  ASSERT_EQ_INT(n, 0);
  ASSERT_TRUE(nothing_since(&f, m));
  fx_close(&f);
  return 0;
}

TEST(portal_verify_checks_the_register_as_the_operator) {
  fx f;
  qrl_portal_account pa;
  audit_row a;
  mark m;
  ASSERT_EQ_INT(fx_open(&f), 0);
  /* Unknown username, malformed ID: nothing written. */
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_portal_verify(f.db, "nobody", BINH, T0 + 5), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_op_portal_verify(f.db, "tranthibinh", "123", T0 + 5), QRL_INVALID_ID);
  ASSERT_TRUE(nothing_since(&f, m));
  /* A mismatch changes nothing but is on record (legacy.c's refusal row). */
  m = mark_now(&f);
  ASSERT_ERR(qrl_op_portal_verify(f.db, "tranthibinh", AN, T0 + 6), QRL_POPULATION_MISMATCH);
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit") - m.audit, 1);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "legacy_verify_id");
  ASSERT_EQ_STR(a.outcome, "population_mismatch");
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &pa), QRL_OK);
  ASSERT_EQ_INT(pa.id_verified, 0);
  /* The right ID: verified, audited under it. */
  ASSERT_ERR(qrl_op_portal_verify(f.db, "tranthibinh", BINH, T0 + 7), QRL_OK);
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &pa), QRL_OK);
  ASSERT_EQ_INT(pa.id_verified, 1);
  ASSERT_EQ_STR(pa.citizen_id, BINH);
  ASSERT_EQ_INT(last_audit(&f, &a), 0);
  ASSERT_EQ_STR(a.event, "legacy_verify_id");
  ASSERT_EQ_STR(a.outcome, "ok");
  ASSERT_EQ_STR(a.citizen, BINH);
  ASSERT_EQ_STR(a.detail, "tranthibinh");
  ASSERT_EQ_STR(a.agent, QRL_OP_AGENT);
  fx_close(&f);
  return 0;
}

TEST(the_audit_chain_holds_after_every_change) {
  fx f;
  char tok[QRL_SESSION_B64LEN + 1];
  qrl_op_device *d = NULL;
  size_t nd = 0;
  int64_t rows = 0, bad = 0;
  int n = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(login(&f, AN, T0 + 10, "Pixel", tok), QRL_OK);
  ASSERT_ERR(qrl_op_devices(f.db, AN, &d, &nd), QRL_OK);
  ASSERT_ERR(qrl_op_set_level(f.db, BINH, 2, T0 + 20), QRL_OK);
  ASSERT_ERR(qrl_op_set_password(f.db, &f.pol, BINH, "MoiHon@2025", T0 + 21), QRL_OK);
  ASSERT_ERR(qrl_op_set_passcode(f.db, &f.pol, BINH, "987654", T0 + 22), QRL_OK);
  ASSERT_ERR(qrl_op_unlock(f.db, BINH, T0 + 23), QRL_OK);
  ASSERT_ERR(qrl_op_device_revoke(f.db, d[0].id, T0 + 24), QRL_OK);
  ASSERT_ERR(qrl_op_session_revoke(f.db, AN, T0 + 25, &n), QRL_OK);
  ASSERT_ERR(qrl_db_audit_verify(f.db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT(bad, 0);
  ASSERT_EQ_INT(rows, scalar(&f, "SELECT count(*) FROM audit"));
  ASSERT_EQ_INT(scalar(&f, "SELECT count(*) FROM audit WHERE event LIKE 'admin\\_%' ESCAPE '\\'"
                           " AND outcome = 'ok' AND user_agent = 'qrlogin-admin'"),
                6);
  qrl_op_devices_free(d, nd);
  fx_close(&f);
  return 0;
}

TEST_MAIN(citizens_are_listed_by_id_with_their_passcode_state, one_citizen_is_read_or_not_found,
          devices_and_sessions_are_listed_with_their_state,
          audit_rows_come_newest_first_up_to_the_limit, audit_rows_are_walked_in_order_from_an_id,
          stats_count_rows_by_vietnam_day_event_and_outcome, an_unknown_citizen_has_no_rows,
          set_level_changes_it_with_one_audit_row, set_level_refusals_write_nothing,
          set_password_replaces_it_and_ends_what_the_old_one_opened,
          set_password_refusals_write_nothing, set_passcode_replaces_it_and_keeps_the_sessions,
          set_passcode_refusals_write_nothing, unlock_clears_failures_lock_and_history,
          device_revoke_ends_the_device_and_its_app_sessions,
          session_revoke_ends_every_live_session_of_the_citizen,
          portal_verify_checks_the_register_as_the_operator,
          the_audit_chain_holds_after_every_change)
