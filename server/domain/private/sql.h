/*
 * sql.h - SQLite helpers shared by the domain modules (private to
 * server/domain/; glue and tools use the module APIs, never SQL). It sits in
 * server/domain/private/, on the include path of qrl_domain alone, and
 * tests/check_no_sql.cmake fails if a source outside the domain names it or
 * SQLite.
 *
 * Conventions: every operation is one transaction (qrl_sql_begin takes the
 * write lock up front: BEGIN IMMEDIATE); statements come from the handle's
 * cache (qrl_sql_prep) and go back to it (qrl_sql_done), never finalized by
 * the caller; qrl_sql_run steps a statement that returns no rows and gives
 * it back.
 */
#ifndef QRLOGIN_SQL_H
#define QRLOGIN_SQL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"

/* The connection behind db (borrowed). */
sqlite3 *qrl_sql_handle(qrl_db *db);

/* Runs sql (one or more statements without results). 0 or -1. */
int qrl_sql_exec(qrl_db *db, const char *sql);

/* The statement for sql (one statement; sql is copied), from db's cache:
 * prepared once per handle and reused, or - while the cached one is in use,
 * or the cache is full - a one-off. NULL (and a log line) on error. The
 * caller gives it back with qrl_sql_done() on every path. */
sqlite3_stmt *qrl_sql_prep(qrl_db *db, const char *sql);

/* Gives st (from qrl_sql_prep on db; NULL-safe) back: a cached statement is
 * reset and its bindings cleared (no token or hash of this use stays bound),
 * a one-off is finalized. */
void qrl_sql_done(qrl_db *db, sqlite3_stmt *st);

/* db's statement cache: statements cached, uses served from the cache,
 * statements prepared (cached or one-off). Any pointer may be NULL. */
void qrl_sql_stmt_stats(const qrl_db *db, size_t *cached, uint64_t *hits,
                        uint64_t *prepared);

/* Binds s as text, or NULL if s is NULL (copied). */
void qrl_sql_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Binds n bytes of b as a blob (copied). */
void qrl_sql_bind_blob(sqlite3_stmt *st, int i, const void *b, size_t n);

/* Steps st to completion and gives it back (qrl_sql_done). QRL_OK, or QRL_DB
 * (also if st is NULL, so a failed prepare flows through). */
qrl_err qrl_sql_run(qrl_db *db, sqlite3_stmt *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int qrl_sql_begin(qrl_db *db);
qrl_err qrl_sql_commit(qrl_db *db);
void qrl_sql_rollback(qrl_db *db);

/* The last n audit rows of the open transaction will be written again, on
 * their own, after it is rolled back: the rollback does not count them as
 * lost. */
void qrl_sql_audit_retried(qrl_db *db, int n);

/* Copies text column col into dst (cap bytes, NUL-terminated; "" if NULL). */
void qrl_sql_copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap);

#endif /* QRLOGIN_SQL_H */
