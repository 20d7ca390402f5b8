/*
 * test_sql.c - the statement cache behind qrl_sql_prep/qrl_sql_done (sql.h):
 * a statement is prepared once per handle and reused, keyed by its text
 * (not where the text lives); a statement in use is never handed out twice
 * (a nested use of the same query gets a one-off); nothing of one use stays
 * bound or open for the next; a full cache falls back to one-off
 * statements; transactions run on cached BEGIN/COMMIT/ROLLBACK.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "domain/db.h"
#include "sql.h"
#include "test.h"
#include "tmpdb.h"

static qrl_tmpdb tdb; /* one directory for the run; each test a new file in it */

/* A new database: the file of the test before is removed first. */
static qrl_db *fresh(void) {
  qrl_db *db = NULL;
  if (tdb.dir[0]) qrl_tmpdb_remove(&tdb);
  if (qrl_tmpdb_make(&tdb, "sql")) return NULL;
  if (qrl_db_open(tdb.path, &db)) return NULL;
  return db;
}

TEST(a_statement_is_prepared_once_and_reused) {
  qrl_db *db = fresh();
  char sql[64];
  qrl_stmt *a, *b;
  uint64_t hits0, preps0, hits, preps;
  ASSERT_TRUE(db != NULL);
  qrl_sql_stmt_stats(db, NULL, &hits0, &preps0);
  a = qrl_sql_prep(db, "SELECT count(*) FROM citizens");
  ASSERT_TRUE(a != NULL);
  ASSERT_EQ_INT(qrl_sql_step(a), QRL_SQL_ROW);
  qrl_sql_done(db, a);
  /* the same text elsewhere (a caller's buffer) is the same statement */
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", "citizens");
  b = qrl_sql_prep(db, sql);
  ASSERT_TRUE(b == a);
  ASSERT_EQ_INT(qrl_sql_step(b), QRL_SQL_ROW);
  qrl_sql_done(db, b);
  qrl_sql_stmt_stats(db, NULL, &hits, &preps);
  ASSERT_EQ_INT((int)(preps - preps0), 1);
  ASSERT_EQ_INT((int)(hits - hits0), 1);
  qrl_db_close(db);
  return 0;
}

TEST(a_statement_in_use_is_not_handed_out_again) {
  qrl_db *db = fresh();
  const char *sql = "SELECT ?1";
  qrl_stmt *outer, *inner, *again;
  ASSERT_TRUE(db != NULL);
  outer = qrl_sql_prep(db, sql);
  qrl_sql_bind_int64(outer, 1, 7);
  ASSERT_EQ_INT(qrl_sql_step(outer), QRL_SQL_ROW);
  inner = qrl_sql_prep(db, sql); /* nested: a one-off */
  ASSERT_TRUE(inner != NULL && inner != outer);
  qrl_sql_bind_int64(inner, 1, 9);
  ASSERT_EQ_INT(qrl_sql_step(inner), QRL_SQL_ROW);
  ASSERT_EQ_INT(qrl_sql_col_int(inner, 0), 9);
  ASSERT_EQ_INT(qrl_sql_col_int(outer, 0), 7); /* untouched */
  qrl_sql_done(db, inner);                        /* finalized */
  qrl_sql_done(db, outer);                        /* back in the cache */
  again = qrl_sql_prep(db, sql);
  ASSERT_TRUE(again == outer);
  qrl_sql_done(db, again);
  qrl_sql_done(db, NULL);
  qrl_db_close(db);
  return 0;
}

TEST(nothing_of_one_use_stays_for_the_next) {
  qrl_db *db = fresh();
  qrl_stmt *st;
  ASSERT_TRUE(db != NULL);
  ASSERT_EQ_INT(qrl_sql_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1),(2),(3)"), 0);
  st = qrl_sql_prep(db, "SELECT ?1, x FROM t");
  qrl_sql_bind_text(st, 1, "secret-token");
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_ROW); /* stopped after one row */
  qrl_sql_done(db, st);
  st = qrl_sql_prep(db, "SELECT ?1, x FROM t");
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_ROW);
  ASSERT_EQ_INT(qrl_sql_col_null(st, 0), 1); /* bindings cleared */
  ASSERT_EQ_INT(qrl_sql_col_int(st, 1), 1);            /* from the first row */
  qrl_sql_done(db, st);
  qrl_db_close(db);
  return 0;
}

TEST(a_full_cache_falls_back_to_one_offs) {
  qrl_db *db = fresh();
  size_t cached = 0;
  ASSERT_TRUE(db != NULL);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 400; i++) {
      char sql[64];
      qrl_stmt *st;
      snprintf(sql, sizeof(sql), "SELECT %d", i);
      st = qrl_sql_prep(db, sql);
      ASSERT_TRUE(st != NULL);
      ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_ROW);
      ASSERT_EQ_INT(qrl_sql_col_int(st, 0), i);
      qrl_sql_done(db, st);
    }
  qrl_sql_stmt_stats(db, &cached, NULL, NULL);
  ASSERT_TRUE(cached > 0 && cached < 400);
  ASSERT_TRUE(qrl_sql_prep(db, "SELEC nonsense") == NULL);
  qrl_db_close(db); /* every statement finalized: the close succeeds (ASan: no leak) */
  return 0;
}

TEST(transactions_commit_and_roll_back) {
  qrl_db *db = fresh();
  qrl_stmt *st;
  ASSERT_TRUE(db != NULL);
  ASSERT_EQ_INT(qrl_sql_exec(db, "CREATE TABLE t(x)"), 0);
  ASSERT_EQ_INT(qrl_sql_begin(db), 0);
  ASSERT_ERR(qrl_sql_run(db, qrl_sql_prep(db, "INSERT INTO t VALUES(1)")), QRL_OK);
  ASSERT_ERR(qrl_sql_commit(db), QRL_OK);
  ASSERT_EQ_INT(qrl_sql_begin(db), 0);
  ASSERT_ERR(qrl_sql_run(db, qrl_sql_prep(db, "INSERT INTO t VALUES(1)")), QRL_OK);
  qrl_sql_rollback(db);
  qrl_sql_rollback(db); /* none open: nothing happens */
  ASSERT_EQ_INT(qrl_sql_in_tx(db), 0);
  st = qrl_sql_prep(db, "SELECT count(*) FROM t");
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_ROW);
  ASSERT_EQ_INT(qrl_sql_col_int(st, 0), 1);
  qrl_sql_done(db, st);
  ASSERT_ERR(qrl_sql_run(db, NULL), QRL_DB);
  qrl_db_close(db);
  return 0;
}

/* The engine's answers as the interface's: a row, done, a key taken
 * (QRL_SQL_DUP, which the modules turn into "that id is taken"), another
 * error; RETURNING's id; NULL and blob columns; rows changed. */
TEST(steps_and_columns_speak_one_language) {
  qrl_db *db = fresh();
  qrl_stmt *st;
  int64_t id = 0;
  static const unsigned char blob[3] = {0, 0xff, 7};
  ASSERT_TRUE(db != NULL);
  ASSERT_EQ_INT(qrl_sql_exec(db, "CREATE TABLE u(id INTEGER PRIMARY KEY, k TEXT UNIQUE,"
                                 " b BLOB, n INTEGER)"),
                0);
  st = qrl_sql_prep(db, "INSERT INTO u(k, b) VALUES(?1, ?2) RETURNING id");
  qrl_sql_bind_text(st, 1, "a");
  qrl_sql_bind_blob(st, 2, blob, sizeof(blob));
  ASSERT_ERR(qrl_sql_run_id(db, st, &id), QRL_OK);
  ASSERT_EQ_INT(id, 1);
  st = qrl_sql_prep(db, "INSERT INTO u(k) VALUES(?1)");
  qrl_sql_bind_text(st, 1, "a");
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_DUP);
  qrl_sql_done(db, st);
  st = qrl_sql_prep(db, "INSERT INTO nowhere VALUES(1)");
  ASSERT_TRUE(st == NULL); /* SQLite refuses at prepare, said in the log */
  st = qrl_sql_prep(db, "SELECT b, n, k FROM u WHERE id = ?1");
  qrl_sql_bind_int64(st, 1, id);
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_ROW);
  ASSERT_EQ_INT(qrl_sql_col_bytes(st, 0), 3);
  ASSERT_TRUE(memcmp(qrl_sql_col_blob(st, 0), blob, 3) == 0);
  ASSERT_EQ_INT(qrl_sql_col_null(st, 1), 1);
  ASSERT_EQ_INT(qrl_sql_col_int64(st, 1), 0);
  ASSERT_EQ_STR(qrl_sql_col_text(st, 2), "a");
  ASSERT_EQ_INT(qrl_sql_step(st), QRL_SQL_DONE);
  qrl_sql_done(db, st);
  ASSERT_ERR(qrl_sql_run(db, qrl_sql_prep(db, "UPDATE u SET n = 5")), QRL_OK);
  ASSERT_EQ_INT(qrl_sql_changes(db), 1);
  ASSERT_EQ_INT(qrl_sql_is_pg(db), 0);
  qrl_db_close(db);
  return 0;
}

TEST(cleanup) {
  if (tdb.dir[0]) qrl_tmpdb_remove(&tdb);
  return 0;
}

TEST_MAIN(a_statement_is_prepared_once_and_reused, a_statement_in_use_is_not_handed_out_again,
          nothing_of_one_use_stays_for_the_next, a_full_cache_falls_back_to_one_offs,
          transactions_commit_and_roll_back, steps_and_columns_speak_one_language, cleanup)
