/*
 * sql.h - the one database interface the domain modules use (private to
 * server/domain/; glue and tools use the module APIs, never SQL). It sits in
 * server/domain/private/, on the include path of qrl_domain alone, and
 * tests/check_no_sql.cmake fails if a source outside the domain names it,
 * SQLite or libpq.
 *
 * Two engines stand behind it (db.h): SQLite, a file (the default), and
 * PostgreSQL (a postgresql:// URL, sql_pg.c). The modules write one SQL
 * for both: numbered (?1) or plain (?) parameters, ON CONFLICT instead of
 * INSERT OR ..., RETURNING instead of last_insert_rowid, CASE instead of
 * two-argument max(); qrl_sql_is_pg() picks a text where the two still
 * differ (date arithmetic).
 *
 * Conventions: every operation is one transaction (qrl_sql_begin takes the
 * write lock up front: SQLite's BEGIN IMMEDIATE, or PostgreSQL's transaction
 * advisory lock, so writers are serialized on both as the modules expect);
 * statements come from the handle's cache (qrl_sql_prep) and go back to it
 * (qrl_sql_done), never freed by the caller; qrl_sql_run steps a statement
 * that returns no rows and gives it back.
 */
#ifndef QRLOGIN_SQL_H
#define QRLOGIN_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"

/* A prepared statement of one handle; owned by the handle's cache. */
typedef struct qrl_stmt qrl_stmt;

/* What qrl_sql_step() answers. */
enum {
  QRL_SQL_DONE = 0,  /* no (more) rows: the statement ran */
  QRL_SQL_ROW = 1,   /* a row is ready for the qrl_sql_col_*() readers */
  QRL_SQL_ERROR = -1, /* it failed (said in the log) */
  QRL_SQL_DUP = -2,  /* a PRIMARY KEY or UNIQUE constraint refused it */
};

/* db's SQLite connection (borrowed; NULL on PostgreSQL): for health.c's
 * probe. */
struct sqlite3;
struct sqlite3 *qrl_sql_handle(qrl_db *db);

/* 1 if db is on PostgreSQL, 0 on SQLite. */
int qrl_sql_is_pg(const qrl_db *db);

/* 1 while db has a transaction open. */
int qrl_sql_in_tx(qrl_db *db);

/* Runs sql (one or more statements without results or parameters). 0 or
 * -1. */
int qrl_sql_exec(qrl_db *db, const char *sql);

/* The statement for sql (one statement; sql is copied), from db's cache:
 * prepared once per handle and reused, or - while the cached one is in use,
 * or the cache is full - a one-off. NULL (and a log line) on error. The
 * caller gives it back with qrl_sql_done() on every path. */
qrl_stmt *qrl_sql_prep(qrl_db *db, const char *sql);

/* Gives st (from qrl_sql_prep on db; NULL-safe) back: a cached statement is
 * reset and its bindings cleared (no token or hash of this use stays bound),
 * a one-off is freed. */
void qrl_sql_done(qrl_db *db, qrl_stmt *st);

/* db's statement cache: statements cached, uses served from the cache,
 * statements prepared (cached or one-off). Any pointer may be NULL. */
void qrl_sql_stmt_stats(const qrl_db *db, size_t *cached, uint64_t *hits,
                        uint64_t *prepared);

/* Parameter i (from 1) of st. Text and blobs are copied; text NULL binds
 * NULL. */
void qrl_sql_bind_int64(qrl_stmt *st, int i, int64_t v);
void qrl_sql_bind_double(qrl_stmt *st, int i, double v);
void qrl_sql_bind_null(qrl_stmt *st, int i);
void qrl_sql_bind_text(qrl_stmt *st, int i, const char *s);
void qrl_sql_bind_blob(qrl_stmt *st, int i, const void *b, size_t n);

/* Runs st or moves to its next row: QRL_SQL_ROW, QRL_SQL_DONE, or an error
 * (QRL_SQL_DUP, QRL_SQL_ERROR; st NULL is QRL_SQL_ERROR). */
int qrl_sql_step(qrl_stmt *st);

/* Column col (from 0) of the current row. A NULL reads as 0, NULL text,
 * or a NULL blob of 0 bytes; a boolean as 0 or 1. Text and blobs stay
 * valid until the next step or qrl_sql_done(). */
int64_t qrl_sql_col_int64(qrl_stmt *st, int col);
int qrl_sql_col_int(qrl_stmt *st, int col);
double qrl_sql_col_double(qrl_stmt *st, int col);
const char *qrl_sql_col_text(qrl_stmt *st, int col);
const void *qrl_sql_col_blob(qrl_stmt *st, int col);
int qrl_sql_col_bytes(qrl_stmt *st, int col);
int qrl_sql_col_null(qrl_stmt *st, int col);

/* Rows the last INSERT, UPDATE or DELETE on db changed. */
int64_t qrl_sql_changes(qrl_db *db);

/* The engine's last error message on db (for logs). */
const char *qrl_sql_errmsg(qrl_db *db);

/* Steps st to completion and gives it back (qrl_sql_done). QRL_OK, or QRL_DB
 * (also if st is NULL, so a failed prepare flows through). */
qrl_err qrl_sql_run(qrl_db *db, qrl_stmt *st);

/* Steps st, an INSERT ... RETURNING id, and gives it back: the new row's id
 * in *id (id may be NULL). QRL_OK or QRL_DB, like qrl_sql_run(). */
qrl_err qrl_sql_run_id(qrl_db *db, qrl_stmt *st, int64_t *id);

/* Begins a write transaction (the write lock taken) / COMMIT / ROLLBACK. */
int qrl_sql_begin(qrl_db *db);
qrl_err qrl_sql_commit(qrl_db *db);
void qrl_sql_rollback(qrl_db *db);

/* The last n audit rows of the open transaction will be written again, on
 * their own, after it is rolled back: the rollback does not count them as
 * lost. */
void qrl_sql_audit_retried(qrl_db *db, int n);

/* Copies text column col into dst (cap bytes, NUL-terminated; "" if NULL). */
void qrl_sql_copy_col(qrl_stmt *st, int col, char *dst, size_t cap);

#endif /* QRLOGIN_SQL_H */
