/*
 * test_postgresql.c - the database interface on PostgreSQL, against a real
 * cluster of the test's own (initdb in a temporary directory): several
 * writers - one connection each, as several nodes have - keep one unbroken
 * audit hash chain; nodes that start together create the schema once; a
 * database from a newer qrlogind is refused; a restarted server is
 * reconnected to; no server is a clear error.
 * (The whole integration suite runs on PostgreSQL too: integration-pg.*.)
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "domain/db.h"
#include "harness.h"

#define WRITERS 4
#define ROWS 150

typedef struct writer {
  const char *url;
  int k;
  int failed; /* rows that did not go in */
} writer;

static void *write_rows(void *arg) {
  writer *w = arg;
  qrl_db *db = NULL;
  char detail[32];
  if (qrl_db_open(w->url, &db)) {
    w->failed = ROWS;
    return NULL;
  }
  for (int i = 0; i < ROWS; i++) {
    qrl_req_ctx rc = {"127.0.0.1", "test", 1790000000 + i, NULL};
    snprintf(detail, sizeof(detail), "writer=%d row=%d", w->k, i);
    if (qrl_db_audit(db, "pg_test", QRL_OK, NULL, w->k + 1, detail, &rc)) w->failed++;
  }
  qrl_db_close(db);
  return NULL;
}

/* Four connections write at once, each row appended to the chain's head
 * under the write lock: one chain, every row in it, nothing broken. */
TEST(writers_on_several_connections_keep_one_chain) {
  qrl_h_pg pg;
  pthread_t t[WRITERS];
  writer w[WRITERS];
  qrl_db *db = NULL;
  int64_t rows = 0, bad = 0;
  long before;
  ASSERT_EQ_INT(qrl_h_pg_start(&pg), 0);
  ASSERT_ERR(qrl_db_open(pg.url, &db), QRL_OK);
  before = qrl_db_audit_count(db, NULL, NULL);
  ASSERT_TRUE(before >= 0);
  for (int k = 0; k < WRITERS; k++) {
    w[k] = (writer){pg.url, k, 0};
    ASSERT_EQ_INT(pthread_create(&t[k], NULL, write_rows, &w[k]), 0);
  }
  for (int k = 0; k < WRITERS; k++) {
    pthread_join(t[k], NULL);
    ASSERT_EQ_INT(w[k].failed, 0);
  }
  ASSERT_EQ_INT(qrl_db_audit_count(db, "pg_test", NULL), WRITERS * ROWS);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  ASSERT_EQ_INT(rows, before + WRITERS * ROWS);
  ASSERT_EQ_INT(bad, 0);
  /* And the chain does notice an edit (the append-only trigger stops an
   * UPDATE; an operator who drops it to forge a row is caught). */
  {
    qrl_h_server as = {0};
    snprintf(as.db, sizeof(as.db), "%s", pg.url);
    as.pg = pg;
    ASSERT_EQ_INT(qrl_h_sql(&as, NULL, 0, "UPDATE audit SET detail = 'forged' WHERE id = 5", ""),
                  -2);
    ASSERT_TRUE(qrl_h_sql(&as, NULL, 0, "ALTER TABLE audit DISABLE TRIGGER audit_no_update", "") >= 0);
    ASSERT_EQ_INT(qrl_h_sql(&as, NULL, 0, "UPDATE audit SET detail = 'forged' WHERE id = 5", ""), 1);
    ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_INTERNAL);
    ASSERT_EQ_INT(bad, 5);
  }
  qrl_db_close(db);
  qrl_h_pg_cleanup(&pg);
  return 0;
}

typedef struct opener {
  qrl_err rc;
  const char *url;
} opener;

static void *open_at_once(void *arg) {
  opener *o = arg;
  qrl_db *db = NULL;
  o->rc = qrl_db_open(o->url, &db);
  qrl_db_close(db);
  return NULL;
}

/* Nodes that start together on an empty database: one creates the schema
 * (under the write lock), the others find it. A database whose schema is
 * newer than this qrlogind's is refused, not used. */
TEST(schema_made_once_and_a_newer_one_refused) {
  qrl_h_pg pg;
  qrl_h_server as = {0};
  pthread_t t[WRITERS];
  opener o[WRITERS];
  qrl_db *db = NULL;
  ASSERT_EQ_INT(qrl_h_pg_start(&pg), 0);
  for (int k = 0; k < WRITERS; k++) {
    o[k] = (opener){QRL_INTERNAL, pg.url};
    ASSERT_EQ_INT(pthread_create(&t[k], NULL, open_at_once, &o[k]), 0);
  }
  for (int k = 0; k < WRITERS; k++) {
    pthread_join(t[k], NULL);
    ASSERT_ERR(o[k].rc, QRL_OK);
  }
  snprintf(as.db, sizeof(as.db), "%s", pg.url);
  as.pg = pg;
  ASSERT_EQ_INT(qrl_h_sql(&as, NULL, 0, "SELECT count(*) FROM qrl_schema", ""), 1);
  ASSERT_EQ_INT(qrl_h_sql(&as, NULL, 0, "SELECT version FROM qrl_schema", ""),
                QRL_DB_SCHEMA_VERSION);
  /* Only SQLite has the older versions to migrate from. */
  ASSERT_ERR(qrl_db_open_version(pg.url, 3, &db), QRL_DB);
  ASSERT_EQ_INT(qrl_h_sql(&as, NULL, 0, "UPDATE qrl_schema SET version = 99", ""), 1);
  ASSERT_ERR(qrl_db_open(pg.url, &db), QRL_DB);
  ASSERT_TRUE(db == NULL);
  qrl_h_pg_cleanup(&pg);
  return 0;
}

/* The server restarts under an open connection: the next operation opens
 * it again and works; the one that met the broken connection failed and
 * said so, it did not pass. */
TEST(a_restarted_server_is_reconnected_to) {
  qrl_h_pg pg;
  qrl_db *db = NULL;
  qrl_req_ctx rc = {NULL, NULL, 1790000000, NULL};
  int64_t rows = 0, bad = 0;
  ASSERT_EQ_INT(qrl_h_pg_start(&pg), 0);
  ASSERT_ERR(qrl_db_open(pg.url, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit(db, "before", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  ASSERT_EQ_INT(qrl_h_pg_halt(&pg), 0);
  ASSERT_ERR(qrl_db_audit(db, "while_down", QRL_OK, NULL, 0, NULL, &rc), QRL_DB);
  ASSERT_EQ_INT(qrl_db_audit_lost(db), 1);
  ASSERT_EQ_INT(qrl_h_pg_resume(&pg), 0);
  ASSERT_ERR(qrl_db_audit(db, "after", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "while_down", NULL), 0);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "after", NULL), 1);
  ASSERT_ERR(qrl_db_audit_verify(db, &rows, &bad), QRL_OK);
  qrl_db_close(db);
  qrl_h_pg_cleanup(&pg);
  return 0;
}

/* Another connection holds the write lock past lock_timeout (5 s): the
 * write that waited fails and is counted - and the connection is not left
 * in the failed transaction: once the lock is free it writes again. */
TEST(a_write_that_timed_out_on_the_lock_leaves_the_connection_usable) {
  qrl_h_pg pg;
  qrl_db *db = NULL;
  qrl_req_ctx rc = {NULL, NULL, 1790000000, NULL};
  PGconn *holder;
  PGresult *r;
  ASSERT_EQ_INT(qrl_h_pg_start(&pg), 0);
  ASSERT_ERR(qrl_db_open(pg.url, &db), QRL_OK);
  holder = PQconnectdb(pg.url);
  ASSERT_TRUE(PQstatus(holder) == CONNECTION_OK);
  r = PQexec(holder, "BEGIN; SELECT pg_advisory_xact_lock(1903322223)");
  ASSERT_TRUE(PQresultStatus(r) == PGRES_TUPLES_OK);
  PQclear(r);
  ASSERT_ERR(qrl_db_audit(db, "waited", QRL_OK, NULL, 0, NULL, &rc), QRL_DB);
  ASSERT_EQ_INT(qrl_db_audit_lost(db), 1);
  r = PQexec(holder, "COMMIT");
  PQclear(r);
  PQfinish(holder);
  ASSERT_ERR(qrl_db_audit(db, "after", QRL_OK, NULL, 0, NULL, &rc), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "after", NULL), 1);
  qrl_db_close(db);
  qrl_h_pg_cleanup(&pg);
  return 0;
}

/* Text from outside that is not UTF-8 (an Origin header of raw bytes):
 * PostgreSQL would refuse it, so it is stored cleaned - and a batch with
 * such a row loses none of the others. */
TEST(a_row_of_raw_bytes_loses_nothing) {
  qrl_h_pg pg;
  qrl_db *db = NULL;
  qrl_audit_rec rows[3] = {
      {"batch", QRL_OK, NULL, 0, "first", {NULL, NULL, 1790000000, NULL}},
      {"batch", QRL_BAD_ORIGIN, NULL, 0, "http://\xff\xfe\x1b[2J", {NULL, "ua\xc3", 1790000001, NULL}},
      {"batch", QRL_OK, NULL, 0, "third", {NULL, NULL, 1790000002, NULL}},
  };
  qrl_h_server as = {0};
  char detail[64];
  int64_t n = 0, bad = 0;
  ASSERT_EQ_INT(qrl_h_pg_start(&pg), 0);
  ASSERT_ERR(qrl_db_open(pg.url, &db), QRL_OK);
  ASSERT_ERR(qrl_db_audit_rows(db, rows, 3), QRL_OK);
  ASSERT_EQ_INT(qrl_db_audit_count(db, "batch", NULL), 3);
  ASSERT_EQ_INT(qrl_db_audit_lost(db), 0);
  snprintf(as.db, sizeof(as.db), "%s", pg.url);
  as.pg = pg;
  ASSERT_TRUE(qrl_h_sql(&as, detail, sizeof(detail),
                        "SELECT detail FROM audit WHERE event = 'batch' AND at = 1790000001",
                        "") != -2);
  ASSERT_EQ_STR(detail, "http://???[2J");
  ASSERT_ERR(qrl_db_audit_verify(db, &n, &bad), QRL_OK);
  qrl_db_close(db);
  qrl_h_pg_cleanup(&pg);
  return 0;
}

/* Nobody listens there: a failure at once (no socket file), not a handle.
 * (What a URL's password looks like in the messages: unit/test_sql_pg.c.) */
TEST(no_server_is_a_clear_error) {
  qrl_db *db = NULL;
  ASSERT_ERR(qrl_db_open("postgresql://qrlogin:s3cret-pw@/qrlogin?host=/nonexistent-dir", &db),
             QRL_DB);
  ASSERT_TRUE(db == NULL);
  return 0;
}

TEST_MAIN(writers_on_several_connections_keep_one_chain, schema_made_once_and_a_newer_one_refused,
          a_restarted_server_is_reconnected_to,
          a_write_that_timed_out_on_the_lock_leaves_the_connection_usable,
          a_row_of_raw_bytes_loses_nothing, no_server_is_a_clear_error)
