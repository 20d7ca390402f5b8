/*
 * test_db.c - the database file itself: the audit trail is append-only
 * (UPDATE and DELETE refused by the schema) and hash-chained (an edit made
 * behind the triggers' back is found, at the right row), and the chain stays
 * whole with several connections writing at once, as the worker threads do.
 * The file and its -wal/-shm are the owner's alone (they hold hashes of
 * passwords and sessions), whatever the umask.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/db.h"
#include "crypto_fail.h"
#include "test.h"

static char dir[] = "/tmp/qrl-test-db-XXXXXX";
static char path[128];

static int fresh(void) {
  char p[160];
  if (strstr(dir, "XXXXXX") && !mkdtemp(dir)) return -1;
  snprintf(path, sizeof(path), "%s/db.sqlite", dir);
  unlink(path);
  snprintf(p, sizeof(p), "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof(p), "%s-shm", path);
  unlink(p);
  return 0;
}

static int raw_exec(const char *sql) {
  sqlite3 *h = NULL;
  int r;
  if (sqlite3_open(path, &h) != SQLITE_OK) return -1;
  r = sqlite3_exec(h, sql, NULL, NULL, NULL);
  sqlite3_close(h);
  return r;
}

TEST(chain_verifies_and_edits_are_found) {
  qrl_db *db = NULL;
  qrl_req_ctx rc = {"10.0.0.1", "ua", 1000, NULL};
  int64_t rows = 0, bad = 0;
  ASSERT_EQ_INT(fresh(), 0);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  for (int i = 0; i < 50; i++) {
    rc.now = 1000 + i;
    ASSERT_ERR(qrl_db_audit(db, "test", i % 3 ? QRL_OK : QRL_BAD_CREDENTIALS,
                            i % 2 ? "001099012345" : NULL, i, "d", &rc),
               QRL_OK);
  }
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT(rows, 50);
  qrl_db_close(db);

  /* The schema refuses edits and deletions. */
  ASSERT_TRUE(raw_exec("UPDATE audit SET outcome='ok' WHERE id=10") != SQLITE_OK);
  ASSERT_TRUE(raw_exec("DELETE FROM audit WHERE id=10") != SQLITE_OK);
  /* Someone with the file drops the triggers and edits row 17: found. */
  ASSERT_EQ_INT(raw_exec("DROP TRIGGER audit_no_update;"
                         "UPDATE audit SET detail='edited' WHERE id=17"),
                SQLITE_OK);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_INTERNAL);
  ASSERT_EQ_INT(bad, 17);
  qrl_db_close(db);
  /* A row cut out of the middle: the next one no longer links. */
  ASSERT_EQ_INT(fresh(), 0);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  for (int i = 0; i < 5; i++) ASSERT_ERR(qrl_db_audit(db, "x", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  qrl_db_close(db);
  ASSERT_EQ_INT(raw_exec("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id=3"),
                SQLITE_OK);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_INTERNAL);
  ASSERT_EQ_INT(bad, 4);
  qrl_db_close(db);
  return 0;
}

static void *writer(void *arg) {
  qrl_db *db = NULL;
  qrl_req_ctx rc = {NULL, NULL, 5, NULL};
  long ok = 0;
  (void)arg;
  if (qrl_db_open(path, &db)) return (void *)0;
  for (int i = 0; i < 200; i++)
    if (qrl_db_audit(db, "concurrent", QRL_OK, NULL, i, NULL, &rc) == QRL_OK) ok++;
  qrl_db_close(db);
  return (void *)ok;
}

/* Four connections appending at once (the workers): no row lost, chain whole. */
TEST(concurrent_writers_keep_the_chain) {
  pthread_t t[4];
  qrl_db *db = NULL;
  int64_t rows = 0, bad = 0;
  long total = 0;
  ASSERT_EQ_INT(fresh(), 0);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK); /* create the schema first */
  qrl_db_close(db);
  for (int i = 0; i < 4; i++) ASSERT_EQ_INT(pthread_create(&t[i], NULL, writer, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    total += (long)r;
  }
  ASSERT_EQ_INT(total, 800);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT(rows, 800);
  qrl_db_close(db);
  return 0;
}

TEST(cleanup) {
  char p[160];
  snprintf(p, sizeof(p), "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof(p), "%s-shm", path);
  unlink(p);
  unlink(path);
  if (!strstr(dir, "XXXXXX")) ASSERT_EQ_INT(rmdir(dir), 0);
  return 0;
}

/* A failed digest writes no audit row (never one chained with a zero hash)
 * and says nothing about the chain; the chain stays whole. */
TEST(digest_failure_writes_no_row) {
  qrl_db *db = NULL;
  qrl_req_ctx rc = {"10.0.0.1", "ua", 1000, NULL};
  int64_t rows = 0, bad = 0;
  ASSERT_EQ_INT(fresh(), 0);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit(db, "a", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  qrl_test_digest_fail_after(0);
  ASSERT_ERR(qrl_db_audit(db, "b", QRL_OK, NULL, 0, NULL, &rc), QRL_CRYPTO);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_CRYPTO);
  qrl_test_digest_ok();
  ASSERT_EQ_INT(qrl_db_audit_count(db, NULL, NULL), 1);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "b", NULL), 0);
  ASSERT_ERR(qrl_db_audit(db, "c", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT(rows, 2);
  qrl_db_close(db);
  return 0;
}

static int mode_of(const char *p) {
  struct stat st;
  return stat(p, &st) ? -1 : (int)(st.st_mode & 0777);
}

/* A batch of rows goes in one transaction and keeps the chain; a batch
 * inside a caller's transaction joins it. */
TEST(rows_in_a_batch_keep_the_chain) {
  qrl_db *db = NULL;
  qrl_audit_rec recs[5];
  int64_t rows = 0, bad = 0;
  ASSERT_EQ_INT(fresh(), 0);
  qrl_test_digest_ok();
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  for (int i = 0; i < 5; i++)
    recs[i] = (qrl_audit_rec){"batch", i == 2 ? QRL_BAD_SIGNATURE : QRL_OK,
                              i ? "001099012345" : NULL, i, i == 3 ? "d" : NULL,
                              {"10.0.0.1", "ua", 1000 + i, i == 4 ? "flow" : NULL}};
  ASSERT_ERR(qrl_db_audit_rows(db, recs, 5), QRL_OK);
  ASSERT_ERR(qrl_db_audit_rows(db, recs, 1), QRL_OK);
  ASSERT_ERR(qrl_db_audit_rows(db, recs, 0), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "batch", NULL), 6);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "batch", "bad_signature"), 1);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT((int)rows, 6);
  ASSERT_EQ_INT((int)qrl_db_audit_lost(db), 0);
  qrl_db_close(db);
  return 0;
}

TEST(the_database_files_are_private_whatever_the_umask) {
  qrl_db *db = NULL;
  qrl_req_ctx rc = {"10.0.0.1", "ua", 1000, NULL};
  char wal[160], shm[160];
  mode_t old = umask(022);
  ASSERT_EQ_INT(fresh(), 0);
  qrl_test_digest_ok();
  snprintf(wal, sizeof(wal), "%s-wal", path);
  snprintf(shm, sizeof(shm), "%s-shm", path);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit(db, "a", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  ASSERT_EQ_INT(mode_of(path), 0600);
  ASSERT_EQ_INT(mode_of(wal), 0600);
  ASSERT_EQ_INT(mode_of(shm), 0600);
  qrl_db_close(db);
  /* one left readable by an older version (or by hand) is tightened */
  ASSERT_EQ_INT(chmod(path, 0644), 0);
  ASSERT_ERR(qrl_db_open(path, &db), QRL_OK);
  ASSERT_EQ_INT(mode_of(path), 0600);
  qrl_db_close(db);
  umask(old);
  return 0;
}

TEST_MAIN(the_database_files_are_private_whatever_the_umask, rows_in_a_batch_keep_the_chain, chain_verifies_and_edits_are_found, concurrent_writers_keep_the_chain,
          digest_failure_writes_no_row, cleanup)
