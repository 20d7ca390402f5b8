/*
 * db.h - the qrlogin database file (SQLite, WAL) and its audit trail.
 *
 * One qrl_db is one connection: open one per thread (each worker has its
 * own). Opening creates the schema or migrates an older one (PRAGMA
 * user_version) in one transaction; a file from a newer qrlogind is refused.
 * The domain modules on top: accounts.h (VNeID identities and sessions),
 * otp.h (ID + password + SMS OTP logins), legacy.h (portal accounts, dossiers,
 * the population register, linking, organizations), operator.h (what
 * qrlogin-admin reads and changes), faillimit.h (per-account failure limits
 * that outlive the process).
 * Depends on SQLite and helpers.
 */
#ifndef QRLOGIN_DB_H
#define QRLOGIN_DB_H

#include <stddef.h>
#include <stdint.h>

#include "qrlogin/error.h"

typedef struct qrl_db qrl_db;

/* Context of a request, for the audit trail. Strings may be NULL. */
typedef struct qrl_req_ctx {
  const char *ip;
  const char *user_agent;
  int64_t now;      /* unix seconds */
  const char *flow; /* the QR login's flow id (uuid.h), if the request has one */
} qrl_req_ctx;

/* 1 if path is a PostgreSQL URL (postgresql://... or postgres://...), 0 if
 * it is a SQLite file. */
int qrl_db_is_pg_url(const char *path);

/* path as logs and messages may show it: a PostgreSQL URL's password, if
 * it has one, replaced by "***" (out: cap bytes). */
void qrl_db_shown(const char *path, char *out, size_t cap);

/* Opens (creating if needed) the database at path (a file, or on
 * PostgreSQL a postgresql:// URL: libpq's, e.g.
 * postgresql://qrlogin@db.example/qrlogin or
 * postgresql:///qrlogin?host=/run/postgresql), sets WAL mode, foreign
 * keys and a busy timeout, and creates or migrates the schema. On success
 * *out is a new handle the caller frees with qrl_db_close(). */
qrl_err qrl_db_open(const char *path, qrl_db **out);

/* qrl_db_open() whose problems, and later the audited events (one line per
 * committed audit row: event, outcome, masked citizen ID, device, IP, flow,
 * detail) and lost rows, go to log (not owned; must outlive the handle). */
struct qrl_log;
qrl_err qrl_db_open_log(const char *path, struct qrl_log *log, qrl_db **out);

/* Sends db's log lines to log from now on (NULL: none). */
void qrl_db_set_log(qrl_db *db, struct qrl_log *log);

/* The log db writes to (NULL: none; a qrl_log_*() call then writes plain
 * text to stderr). */
struct qrl_log *qrl_db_log(const qrl_db *db);

/* Counts, from now on, each time db found the file locked by another writer
 * and waited (*busy), and each time it gave up after 5 s (*timeouts); both
 * added to atomically (the counters may be shared by threads; not owned). */
void qrl_db_count_busy(qrl_db *db, uint64_t *busy, uint64_t *timeouts);

/* Like qrl_db_open(), but migrates no further than schema version target:
 * for testing each migration on a database made by an older release. */
qrl_err qrl_db_open_version(const char *path, int target, qrl_db **out);

/* The schema version qrl_db_open() migrates to. */
#define QRL_DB_SCHEMA_VERSION 13

/* Closes db; NULL-safe. */
void qrl_db_close(qrl_db *db);

/* Appends an audit row: event name ("app_login", "scan", "confirm",
 * "set_permission", "web_login", "bad_frame", ...), the outcome as an error
 * (QRL_OK for success; stored as its wire code), optional citizen and device,
 * and a short detail (never a secret). Text fields that are not clean UTF-8
 * (control characters, broken sequences: text.h) are stored with '?' in
 * their place. */
qrl_err qrl_db_audit(qrl_db *db, const char *event, qrl_err outcome,
                     const char *citizen_id, int64_t device_id,
                     const char *detail, const qrl_req_ctx *rc);

/* One audit row as qrl_db_audit() takes it; the strings are borrowed. */
typedef struct qrl_audit_rec {
  const char *event;
  qrl_err outcome;
  const char *citizen_id; /* may be NULL */
  int64_t device_id;      /* 0 for none */
  const char *detail;     /* may be NULL */
  qrl_req_ctx rc;
} qrl_audit_rec;

/* Appends n audit rows in one transaction (the rows the loop queued close
 * together: one commit instead of n). A row that cannot be inserted is said
 * and counted (qrl_db_audit_lost); the transaction is then rolled back and
 * every other row - before it and after it - is written one by one, so one
 * bad row loses no other. QRL_OK if every row was written. Text that is
 * not clean UTF-8 (text.h) is stored cleaned, as in qrl_db_audit(). */
qrl_err qrl_db_audit_rows(qrl_db *db, const qrl_audit_rec *rows, size_t n);

/* Audit rows db could not write, since it was opened: a row whose insert
 * failed, or that was in a transaction that did not commit (a full disk, an
 * I/O error, a rollback). Each is also said on stderr as it happens. An
 * operation whose row is part of its meaning (a login, a permission, a link,
 * a revocation, a lock) writes the row in its own transaction and fails
 * with it. Read it on db's thread, or after that thread is done with db. */
uint64_t qrl_db_audit_lost(const qrl_db *db);

/* Checks the audit hash chain from its first chained row: every row's
 * prev_hash is the row before's row_hash and its row_hash matches its
 * content. Returns QRL_OK with the number of rows checked in *rows, or
 * QRL_INTERNAL with the first broken row's id in *bad_id (QRL_DB on a read
 * error, QRL_CRYPTO if a digest failed: nothing is then said about the
 * chain). The chain shows edits and deletions inside it; to notice rows cut
 * off the end, keep the head hash elsewhere too. */
qrl_err qrl_db_audit_verify(qrl_db *db, int64_t *rows, int64_t *bad_id);

/* Counts audit rows with this event and outcome (either may be NULL for any);
 * for tests and the admin view. Returns the count, or -1 on error. */
long qrl_db_audit_count(qrl_db *db, const char *event, const char *outcome);

#endif /* QRLOGIN_DB_H */
