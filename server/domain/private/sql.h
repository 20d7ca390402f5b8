/*
 * sql.h - SQLite helpers shared by the domain modules (private to
 * server/domain/; glue and tools use the module APIs, never SQL). It sits in
 * server/domain/private/, on the include path of qrl_domain alone, and
 * tests/check_no_sql.cmake fails if a source outside the domain names it or
 * SQLite.
 *
 * Conventions: every operation is one transaction (qrl_sql_begin takes the
 * write lock up front: BEGIN IMMEDIATE); statements are prepared per call;
 * qrl_sql_run steps and finalizes a statement that returns no rows.
 */
#ifndef QRLOGIN_SQL_H
#define QRLOGIN_SQL_H

#include <sqlite3.h>
#include <stddef.h>

#include "domain/db.h"

/* The connection behind db (borrowed). */
sqlite3 *qrl_sql_handle(qrl_db *db);

/* Runs sql (one or more statements without results). 0 or -1. */
int qrl_sql_exec(qrl_db *db, const char *sql);

/* Prepares sql; NULL (and a log line) on error. Caller finalizes. */
sqlite3_stmt *qrl_sql_prep(qrl_db *db, const char *sql);

/* Binds s as text, or NULL if s is NULL (copied). */
void qrl_sql_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Binds n bytes of b as a blob (copied). */
void qrl_sql_bind_blob(sqlite3_stmt *st, int i, const void *b, size_t n);

/* Steps st to completion and finalizes it. QRL_OK, or QRL_DB (also if st is
 * NULL, so a failed prepare flows through). */
qrl_err qrl_sql_run(sqlite3_stmt *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int qrl_sql_begin(qrl_db *db);
qrl_err qrl_sql_commit(qrl_db *db);
void qrl_sql_rollback(qrl_db *db);

/* Copies text column col into dst (cap bytes, NUL-terminated; "" if NULL). */
void qrl_sql_copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap);

#endif /* QRLOGIN_SQL_H */
