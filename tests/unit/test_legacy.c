/*
 * test_legacy.c - portal-issued accounts on a real database file: adding
 * them (every refusal writes nothing), the password check (an unknown
 * username answers like a wrong password), "Cập nhật từ CSDL Quốc gia về dân
 * cư" against the population register, linking to a VNeID identity (only
 * verified, idempotent, never re-pointed), the link state the portal page
 * shows, whose dossiers a session sees, and idempotent demo seeds.
 */
#include <sqlite3.h>
#include <string.h>

#include "helpers/crypto.h"
#include "domain/accounts.h"
#include "domain/legacy.h"
#include "test.h"
#include "tmpdb.h"

#define AN "001099012345"
#define BINH "079199001234"
#define CUONG "001201000123" /* in the register, no portal account */
#define PW "MatKhau@2024"
#define T0 1790000000

typedef struct fx {
  qrl_tmpdb t;
  qrl_db *db;
  qrl_acct_policy pol;
} fx;

/* A database with the demo VNeID citizens (An, Bình), the register,
 * portal accounts and dossiers. */
static int fx_open(fx *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "legacy")) return -1;
  f->pol = qrl_acct_policy_default();
  f->pol.hash_cost_log2 = QRL_HASH_COST_MIN;
  if (qrl_db_open(f->t.path, &f->db) || qrl_db_seed_demo(f->db, &f->pol, T0)) return -1;
  return qrl_legacy_seed_demo(f->db, &f->pol, T0) ? -1 : 0;
}

static void fx_close(fx *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

static qrl_req_ctx at(int64_t now) {
  qrl_req_ctx rc = {"10.0.0.9", "test", now, NULL};
  return rc;
}

static int64_t account_id(fx *f, const char *username) {
  qrl_portal_account a;
  return qrl_portal_find(f->db, username, &a) == QRL_OK ? a.id : -1;
}

/* Rows in table, read through a connection of the test's own (as an
 * operator's sqlite3 shell would see the file). -1 on error. */
static long count_rows(fx *f, const char *table) {
  char sql[96];
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  long n = -1;
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
  if (sqlite3_open_v2(f->t.path, &raw, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(raw, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return n;
}

TEST(usernames_are_checked_by_shape) {
  ASSERT_TRUE(qrl_portal_username_valid("nguyenvanan"));
  ASSERT_TRUE(qrl_portal_username_valid("0101234567-001"));
  ASSERT_TRUE(qrl_portal_username_valid("an.nguyen@example.vn"));
  ASSERT_TRUE(qrl_portal_username_valid("abc"));
  ASSERT_FALSE(qrl_portal_username_valid("ab"));
  ASSERT_FALSE(qrl_portal_username_valid(NULL));
  ASSERT_FALSE(qrl_portal_username_valid(""));
  ASSERT_FALSE(qrl_portal_username_valid("an nguyen"));
  ASSERT_FALSE(qrl_portal_username_valid("an'--"));
  ASSERT_FALSE(qrl_portal_username_valid("nguyễn"));
  {
    char longer[66];
    memset(longer, 'a', 65);
    longer[65] = '\0';
    ASSERT_FALSE(qrl_portal_username_valid(longer));
    longer[64] = '\0';
    ASSERT_TRUE(qrl_portal_username_valid(longer));
  }
  return 0;
}

/* Each refusal is named and leaves the tables as they were. */
TEST(refused_accounts_write_nothing) {
  fx f;
  long accounts, audits;
  int64_t id = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);
  accounts = count_rows(&f, "portal_accounts");
  audits = qrl_db_audit_count(f.db, NULL, NULL);
  ASSERT_EQ_INT(accounts, 3);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "nguyenvanan", "Someone Else", PW,
                            "0912000000", NULL, NULL, 0, T0, &id),
             QRL_BAD_MESSAGE); /* taken */
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "x y", "X", PW, NULL, NULL, NULL,
                            0, T0, &id),
             QRL_INVALID_USERNAME);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "newone", "X", PW, NULL, NULL,
                            "001099", 1, T0, &id),
             QRL_INVALID_ID);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "newone", "X", PW, NULL, NULL,
                            "999099012345", 1, T0, &id),
             QRL_BAD_PROVINCE); /* no such province */
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "robot", "newone", "X", PW, NULL, NULL, NULL,
                            0, T0, &id),
             QRL_INVAL);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "newone", "", PW, NULL, NULL, NULL,
                            0, T0, &id),
             QRL_INVAL);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "newone", "X", "", NULL, NULL, NULL,
                            0, T0, &id),
             QRL_INVAL);
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "citizen", "newone", "X", PW, NULL,
                            "15/03/1999", NULL, 0, T0, &id),
             QRL_INVAL);
  ASSERT_EQ_INT(id, 0);
  ASSERT_EQ_INT(count_rows(&f, "portal_accounts"), accounts);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, NULL, NULL), audits);
  /* And one that is right is written, with its audit row. */
  ASSERT_ERR(qrl_portal_add(f.db, &f.pol, "organization", "0312345678", "Công ty CP Mê Kông",
                            PW, "0281234567", NULL, NULL, 0, T0, &id),
             QRL_OK);
  ASSERT_TRUE(id > 0);
  ASSERT_EQ_INT(account_id(&f, "0312345678"), id);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "portal_account_added", "ok"), 4);
  fx_close(&f);
  return 0;
}

TEST(password_check_does_not_tell_unknown_from_wrong) {
  fx f;
  qrl_portal_account a;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_portal_check_password(f.db, &f.pol, "nguyenvanan", PW, &a), QRL_OK);
  ASSERT_EQ_STR(a.username, "nguyenvanan");
  ASSERT_EQ_STR(a.kind, "citizen");
  ASSERT_EQ_STR(a.display_name, "Nguyễn Văn An");
  ASSERT_EQ_STR(a.citizen_id, AN);
  ASSERT_TRUE(a.id_verified);
  ASSERT_ERR(qrl_portal_check_password(f.db, &f.pol, "nguyenvanan", "MatKhau@2025", &a),
             QRL_BAD_CREDENTIALS);
  ASSERT_EQ_INT(a.id, 0); /* nothing leaks out on a refusal */
  ASSERT_ERR(qrl_portal_check_password(f.db, &f.pol, "nobody-here", PW, &a),
             QRL_BAD_CREDENTIALS);
  ASSERT_EQ_INT(a.id, 0);
  ASSERT_ERR(qrl_portal_check_password(f.db, &f.pol, "0101234567", PW, &a), QRL_OK);
  ASSERT_EQ_STR(a.kind, "organization");
  fx_close(&f);
  return 0;
}

/* The register must have the ID with the account's own name and date of
 * birth; an ID it does not have answers like a mismatch. */
TEST(verify_id_against_the_population_register) {
  fx f;
  qrl_portal_account a;
  qrl_req_ctx rc = at(T0 + 10);
  int64_t binh, org;
  ASSERT_EQ_INT(fx_open(&f), 0);
  binh = account_id(&f, "tranthibinh");
  org = account_id(&f, "0101234567");
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &a), QRL_OK);
  ASSERT_FALSE(a.id_verified);

  ASSERT_ERR(qrl_portal_verify_id(f.db, binh, "0791990012", &rc), QRL_INVALID_ID);
  ASSERT_ERR(qrl_portal_verify_id(f.db, binh, AN, &rc), QRL_POPULATION_MISMATCH);
  ASSERT_ERR(qrl_portal_verify_id(f.db, binh, "079199009999", &rc), QRL_POPULATION_MISMATCH);
  ASSERT_ERR(qrl_portal_verify_id(f.db, org, BINH, &rc), QRL_FORBIDDEN);
  ASSERT_ERR(qrl_portal_verify_id(f.db, 987654, BINH, &rc), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &a), QRL_OK);
  ASSERT_FALSE(a.id_verified);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "legacy_verify_id", "population_mismatch"), 2);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "legacy_verify_id", "forbidden"), 1);

  ASSERT_ERR(qrl_portal_verify_id(f.db, binh, BINH, &rc), QRL_OK);
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &a), QRL_OK);
  ASSERT_TRUE(a.id_verified);
  ASSERT_EQ_STR(a.citizen_id, BINH);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "legacy_verify_id", "ok"), 1);
  fx_close(&f);
  return 0;
}

TEST(only_verified_accounts_are_linked_once) {
  fx f;
  qrl_req_ctx rc = at(T0 + 20);
  qrl_link_state ls;
  qrl_portal_account a;
  int linked = -1;
  ASSERT_EQ_INT(fx_open(&f), 0);

  /* Before any VNeID login: An's account is verified but not linked. */
  ASSERT_ERR(qrl_legacy_link_state(f.db, AN, &ls), QRL_OK);
  ASSERT_EQ_INT(ls, QRL_LINK_NONE);
  ASSERT_ERR(qrl_legacy_link(f.db, AN, &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 1);
  ASSERT_ERR(qrl_legacy_link_state(f.db, AN, &ls), QRL_OK);
  ASSERT_EQ_INT(ls, QRL_LINK_LINKED);
  ASSERT_ERR(qrl_portal_find(f.db, "nguyenvanan", &a), QRL_OK);
  ASSERT_EQ_STR(a.linked_citizen, AN);
  /* Idempotent: a second login links nothing more and writes no row. */
  ASSERT_ERR(qrl_legacy_link(f.db, AN, &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 0);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "legacy_link", "ok"), 1);

  /* Bình's account declares her ID but was never verified: no link, and
   * the page is told why. */
  ASSERT_ERR(qrl_legacy_link(f.db, BINH, &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 0);
  ASSERT_ERR(qrl_legacy_link_state(f.db, BINH, &ls), QRL_OK);
  ASSERT_EQ_INT(ls, QRL_LINK_UNVERIFIED);
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &a), QRL_OK);
  ASSERT_EQ_STR(a.linked_citizen, "");
  /* Verified, the next login links it. */
  ASSERT_ERR(qrl_portal_verify_id(f.db, a.id, BINH, &rc), QRL_OK);
  ASSERT_ERR(qrl_legacy_link(f.db, BINH, &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 1);
  ASSERT_ERR(qrl_legacy_link_state(f.db, BINH, &ls), QRL_OK);
  ASSERT_EQ_INT(ls, QRL_LINK_LINKED);

  /* Somebody with no portal account at all. */
  ASSERT_ERR(qrl_legacy_link_state(f.db, CUONG, &ls), QRL_OK);
  ASSERT_EQ_INT(ls, QRL_LINK_NONE);
  fx_close(&f);
  return 0;
}

/* A linked account keeps its identity: re-verifying the same ID is fine,
 * verifying another person's ID is refused and changes nothing. */
TEST(linked_account_is_never_repointed) {
  fx f;
  qrl_req_ctx rc = at(T0 + 30);
  qrl_portal_account a;
  int64_t an;
  int linked;
  ASSERT_EQ_INT(fx_open(&f), 0);
  an = account_id(&f, "nguyenvanan");
  ASSERT_ERR(qrl_legacy_link(f.db, AN, &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 1);
  ASSERT_ERR(qrl_portal_verify_id(f.db, an, AN, &rc), QRL_OK);
  /* A register entry with An's name and birthday but another ID, so that
   * the register check passes and only the link rule can refuse. */
  ASSERT_ERR(qrl_population_add(f.db, "001099054321", "Nguyễn Văn An", "1999-03-15"), QRL_OK);
  ASSERT_ERR(qrl_portal_verify_id(f.db, an, "001099054321", &rc), QRL_FORBIDDEN);
  ASSERT_ERR(qrl_portal_find(f.db, "nguyenvanan", &a), QRL_OK);
  ASSERT_EQ_STR(a.citizen_id, AN);
  ASSERT_EQ_STR(a.linked_citizen, AN);
  /* A second VNeID identity with that ID finds nothing to link. */
  ASSERT_ERR(qrl_db_add_citizen(f.db, &f.pol, "001099054321", "Nguyễn Văn An", 2,
                                "0912000111", PW, "654321", 0, T0),
             QRL_OK);
  ASSERT_ERR(qrl_legacy_link(f.db, "001099054321", &rc, &linked), QRL_OK);
  ASSERT_EQ_INT(linked, 0);
  fx_close(&f);
  return 0;
}

/* A citizen sees the dossiers of the portal accounts linked to them, newest
 * first; an organization its own; nobody else's. */
TEST(dossiers_follow_the_link) {
  fx f;
  qrl_req_ctx rc = at(T0 + 40);
  qrl_web_session ws;
  qrl_dossier d[8];
  size_t n = 99;
  int linked;
  ASSERT_EQ_INT(fx_open(&f), 0);

  memset(&ws, 0, sizeof(ws));
  strcpy(ws.citizen.id, AN);
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 8, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0); /* not linked yet */
  ASSERT_ERR(qrl_legacy_link(f.db, AN, &rc, &linked), QRL_OK);
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 8, &n), QRL_OK);
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_STR(d[0].id, "G01.99-240110-0107"); /* newest first */
  ASSERT_EQ_STR(d[1].id, "G01.99-230315-0042");
  ASSERT_EQ_STR(d[0].status, "Đang xử lý");
  ASSERT_TRUE(d[0].submitted_at > d[1].submitted_at);
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 1, &n), QRL_OK); /* cap */
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(d[0].id, "G01.99-240110-0107");

  strcpy(ws.citizen.id, BINH); /* unverified: nothing */
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 8, &n), QRL_OK);
  ASSERT_EQ_INT(n, 0);

  memset(&ws, 0, sizeof(ws));
  ws.portal.id = account_id(&f, "0101234567");
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 8, &n), QRL_OK);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(d[0].id, "G01.01-240205-0009");

  ASSERT_ERR(qrl_dossier_add(f.db, ws.portal.id, "", "t", "s", T0, T0), QRL_INVAL);
  ASSERT_ERR(qrl_dossier_add(f.db, ws.portal.id, "X-1", "t", "s", T0, T0), QRL_OK);
  ASSERT_ERR(qrl_dossier_add(f.db, ws.portal.id, "X-1", "t", "s", T0, T0), QRL_DB); /* id taken */
  ASSERT_ERR(qrl_dossiers_for(f.db, &ws, d, 8, &n), QRL_OK);
  ASSERT_EQ_INT(n, 2);
  fx_close(&f);
  return 0;
}

TEST(population_register_validates_and_seeds_are_idempotent) {
  fx f;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_population_add(f.db, "12345", "X", "2000-01-01"), QRL_INVALID_ID);
  ASSERT_ERR(qrl_population_add(f.db, CUONG, "", "2000-01-01"), QRL_INVAL);
  ASSERT_ERR(qrl_population_add(f.db, CUONG, "X", "2000-1-1"), QRL_INVAL);
  ASSERT_ERR(qrl_population_add(f.db, CUONG, "X", NULL), QRL_INVAL);
  ASSERT_ERR(qrl_legacy_seed_demo(f.db, &f.pol, T0 + 50), QRL_OK);
  ASSERT_ERR(qrl_legacy_seed_demo(f.db, &f.pol, T0 + 60), QRL_OK);
  ASSERT_EQ_INT(count_rows(&f, "portal_accounts"), 3);
  ASSERT_EQ_INT(count_rows(&f, "dossiers"), 4);
  ASSERT_EQ_INT(count_rows(&f, "population"), 3);
  fx_close(&f);
  return 0;
}

/* --- seeds (h-seeds) --- */

/* "Thông tin định danh": a portal session sees its own account's state,
 * a VNeID session the old account that names its ID; the VNeID notice is
 * for a verified citizen account's portal session before the cutover. */
TEST(identity_section_follows_verify_and_link) {
  fx f;
  qrl_req_ctx rc = at(T0 + 40);
  qrl_web_session ws;
  qrl_identity_link l;
  int linked = 0;
  ASSERT_EQ_INT(fx_open(&f), 0);

  /* Bình's own portal session: unverified, no notice. */
  memset(&ws, 0, sizeof(ws));
  ASSERT_ERR(qrl_portal_find(f.db, "tranthibinh", &ws.portal), QRL_OK);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_UNVERIFIED);
  ASSERT_EQ_STR(l.username, "tranthibinh");
  ASSERT_EQ_INT(l.linked_at, 0);
  ASSERT_EQ_INT(qrl_legacy_vneid_notice(&ws, &l, T0, T0 + 100), 0);
  /* Verified: not linked yet, and told to use VNeID - until the cutover. */
  ASSERT_ERR(qrl_portal_verify_id(f.db, ws.portal.id, BINH, &rc), QRL_OK);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_VERIFIED);
  ASSERT_EQ_INT(l.verified_at, T0 + 40);
  ASSERT_EQ_INT(qrl_legacy_vneid_notice(&ws, &l, T0 + 99, T0 + 100), 1);
  ASSERT_EQ_INT(qrl_legacy_vneid_notice(&ws, &l, T0 + 100, T0 + 100), 0);

  /* Her VNeID session before the link sees the verified account ... */
  memset(&ws, 0, sizeof(ws));
  snprintf(ws.citizen.id, sizeof(ws.citizen.id), "%s", BINH);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_VERIFIED);
  /* ... and after it, linked since the login; no notice on a VNeID session. */
  rc.now = T0 + 50;
  ASSERT_ERR(qrl_legacy_link(f.db, BINH, &rc, &linked), QRL_OK);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_LINKED);
  ASSERT_EQ_INT(l.linked_at, T0 + 50);
  ASSERT_EQ_STR(l.username, "tranthibinh");
  ASSERT_EQ_INT(qrl_legacy_vneid_notice(&ws, &l, T0, T0 + 100), 0);

  /* Cường has no old account; the organization has nothing to link. */
  snprintf(ws.citizen.id, sizeof(ws.citizen.id), "%s", CUONG);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_NONE);
  ASSERT_EQ_STR(l.username, "");
  memset(&ws, 0, sizeof(ws));
  ASSERT_ERR(qrl_portal_find(f.db, "0101234567", &ws.portal), QRL_OK);
  ASSERT_ERR(qrl_legacy_identity(f.db, &ws, &l), QRL_OK);
  ASSERT_EQ_INT(l.status, QRL_IDENT_ORG);
  ASSERT_EQ_INT(qrl_legacy_vneid_notice(&ws, &l, T0, T0 + 100), 0);
  fx_close(&f);
  return 0;
}

/* A one-stop desk: citizens' accounts until the closing day, organizations'
 * after it too; each act and refusal audited with the official. */
TEST(desk_accounts_close_for_citizens_not_organizations) {
  fx f;
  long before;
  ASSERT_EQ_INT(fx_open(&f), 0);
  ASSERT_ERR(qrl_portal_accounts_open("citizen", T0 - 1, T0), QRL_OK);
  ASSERT_ERR(qrl_portal_accounts_open("citizen", T0, T0), QRL_ACCOUNTS_CLOSED);
  ASSERT_ERR(qrl_portal_accounts_open("organization", T0 + 1, T0), QRL_OK);

  ASSERT_ERR(qrl_portal_add_at_desk(f.db, &f.pol, "canbo01", T0 + 10, "citizen", "levancuong",
                                    "Lê Văn Cường", PW, "0911111111", "2001-11-02", CUONG,
                                    T0, NULL),
             QRL_OK);
  before = count_rows(&f, "portal_accounts");
  ASSERT_ERR(qrl_portal_add_at_desk(f.db, &f.pol, "canbo01", T0, "citizen", "cuong2",
                                    "Lê Văn Cường", PW, "0911111111", "2001-11-02", CUONG,
                                    T0, NULL),
             QRL_ACCOUNTS_CLOSED);
  ASSERT_EQ_INT(count_rows(&f, "portal_accounts"), before);
  ASSERT_ERR(qrl_portal_add_at_desk(f.db, &f.pol, "canbo01", T0, "organization", "0309999999",
                                    "Công ty TNHH Thử", PW, "0281234567", NULL, NULL, T0 + 5,
                                    NULL),
             QRL_OK);
  ASSERT_EQ_INT(count_rows(&f, "portal_accounts"), before + 1);
  ASSERT_ERR(qrl_portal_add_at_desk(f.db, &f.pol, "", T0 + 10, "citizen", "x123", "X", PW,
                                    NULL, NULL, NULL, T0, NULL),
             QRL_INVAL);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "portal_account_desk", "ok"), 2);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "portal_account_desk", "citizen_accounts_closed"), 1);
  fx_close(&f);
  return 0;
}

TEST_MAIN(identity_section_follows_verify_and_link,
          desk_accounts_close_for_citizens_not_organizations,
          usernames_are_checked_by_shape, refused_accounts_write_nothing,
          password_check_does_not_tell_unknown_from_wrong,
          verify_id_against_the_population_register, only_verified_accounts_are_linked_once,
          linked_account_is_never_repointed, dossiers_follow_the_link,
          population_register_validates_and_seeds_are_idempotent)
