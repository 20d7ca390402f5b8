/*
 * pg.h - PostgreSQL under sql.h (sql_pg.c): one libpq connection and the
 * statements on it. Private to server/domain: db.c is its only user, and
 * the modules reach it through sql.h alone.
 *
 * A statement is written as for SQLite (? and ?NNN parameters) and sent as
 * PostgreSQL's $N, with each parameter's type taken from how it was bound
 * (int8, float8, text, bytea; NULL untyped), results as text. Depends on
 * libpq and helpers/log.
 */
#ifndef QRLOGIN_PG_H
#define QRLOGIN_PG_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

struct qrl_log;
typedef struct qrl_pg qrl_pg;   /* a connection */
typedef struct qrl_pgq qrl_pgq; /* a statement on it */

/* 1 if path names a PostgreSQL database (postgresql:// or postgres://). */
int qrl_pg_is_url(const char *path);

/* Copies url into out (cap bytes) with any password replaced by "***":
 * what logs may show. */
void qrl_pg_redact(const char *url, char *out, size_t cap);

/* Connects to url (libpq's URI; its connect_timeout defaults to 5 s here)
 * and sets the session's lock and statement timeouts. QRL_OK with *out
 * owned by the caller (qrl_pg_close), or QRL_DB (said on log). */
qrl_err qrl_pg_connect(const char *url, struct qrl_log *log, qrl_pg **out);
void qrl_pg_close(qrl_pg *pg);

/* Runs sql (no parameters, any number of statements). 0 or -1. If it
 * begins with "COMMIT", 0 only if the transaction did commit (PostgreSQL
 * answers a COMMIT of a failed transaction with ROLLBACK). */
int qrl_pg_exec(qrl_pg *pg, const char *sql);

/* 1 while pg has a transaction open (also one that failed). */
int qrl_pg_in_tx(qrl_pg *pg);

/* The last error message on pg ("" if none). */
const char *qrl_pg_errmsg(qrl_pg *pg);

/* Rows the last statement on pg changed. */
int64_t qrl_pg_changes(qrl_pg *pg);

/* sql with SQLite's ?NNN and ? parameters as PostgreSQL's $NNN (a plain ?
 * is one more than the largest number before it, as SQLite counts them);
 * quoted text is left alone. Owned by the caller (free); *n: the
 * parameters. NULL if out of memory or a number is above 999. */
char *qrl_pg_translate(const char *sql, int *n);

/* A statement for sql (translated, copied). NULL if out of memory or the
 * SQL's parameters are not well-formed. */
qrl_pgq *qrl_pg_prepare(qrl_pg *pg, const char *sql);
void qrl_pg_free(qrl_pgq *q);

/* q is kept for the connection's life (a cached statement): it is run as
 * a server-side prepared statement, parsed and planned once. */
void qrl_pg_keep(qrl_pgq *q);

/* Drops q's result and bindings (it can be run again). */
void qrl_pg_reset(qrl_pgq *q);

void qrl_pg_bind_int64(qrl_pgq *q, int i, int64_t v);
void qrl_pg_bind_double(qrl_pgq *q, int i, double v);
void qrl_pg_bind_null(qrl_pgq *q, int i);
void qrl_pg_bind_text(qrl_pgq *q, int i, const char *s); /* NULL: a NULL text */
void qrl_pg_bind_blob(qrl_pgq *q, int i, const void *b, size_t n);

/* sql.h's step: runs q on its first call, then walks its rows.
 * QRL_SQL_ROW / QRL_SQL_DONE / QRL_SQL_DUP / QRL_SQL_ERROR. */
int qrl_pg_step(qrl_pgq *q);

int qrl_pg_col_null(qrl_pgq *q, int col);
int64_t qrl_pg_col_int64(qrl_pgq *q, int col);
double qrl_pg_col_double(qrl_pgq *q, int col);
const char *qrl_pg_col_text(qrl_pgq *q, int col);
const void *qrl_pg_col_blob(qrl_pgq *q, int col, int *len);

/* The schema, the same tables, columns and constraints as SQLite's at
 * QRL_DB_SCHEMA_VERSION, in PostgreSQL's words (sql_pg.c). */
extern const char qrl_pg_schema[];

#endif /* QRLOGIN_PG_H */
