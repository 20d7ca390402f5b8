/*
 * operator.c - the SQL behind operator.h: the operator's views (citizens,
 * devices, sessions, audit rows) read into arrays of plain rows, and the
 * operator's changes, each BEGIN IMMEDIATE, the writes, the audit row, COMMIT
 * - or a ROLLBACK of all of it. Not here: formatting, and what other modules
 * already do (adding citizens, reading one, verifying a portal account).
 */
#include "domain/operator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "domain/legacy.h"
#include "domain/otp.h"
#include "sql.h"

/* The audit context of an operator's change. */
static qrl_req_ctx op_ctx(int64_t now) {
  qrl_req_ctx rc = {NULL, QRL_OP_AGENT, now, NULL};
  return rc;
}

/* ---- reading rows --------------------------------------------------------- */

/* Copies text column col into *out (owned), or NULL for SQL NULL. 0, or -1
 * out of memory. */
static int dup_col(qrl_stmt *st, int col, char **out) {
  const char *s;
  *out = NULL;
  if (qrl_sql_col_null(st, col)) return 0;
  if (!(s = qrl_sql_col_text(st, col))) return -1;
  *out = strdup(s);
  return *out ? 0 : -1;
}

/* Reads the current result row of st into row; 0 or -1 out of memory (what
 * it copied stays in row for the release). */
typedef int (*read_fn)(qrl_stmt *st, void *row);
/* Frees n rows of an array and the array. */
typedef void (*release_fn)(void *rows, size_t n);

/* Steps st to the end and gives it back to db, reading each result row with read
 * into a new array of size-byte rows. QRL_OK with *out (caller frees with
 * release) and *n; QRL_NOMEM or QRL_DB (also for st NULL) with *out NULL and
 * *n 0. */
static qrl_err fetch(qrl_db *db, qrl_stmt *st, size_t size, read_fn read, release_fn release,
                     void **out, size_t *n) {
  void *rows = NULL;
  size_t cap = 0, used = 0;
  qrl_err err = QRL_OK;
  int r;

  *out = NULL;
  *n = 0;
  if (!st) return QRL_DB;
  while ((r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    void *row;
    if (used == cap) {
      size_t c = cap ? cap * 2 : 16;
      void *p = realloc(rows, c * size);
      if (!p) {
        err = QRL_NOMEM;
        goto out;
      }
      rows = p;
      cap = c;
    }
    row = (char *)rows + used * size;
    memset(row, 0, size);
    used++;
    if (read(st, row)) {
      err = QRL_NOMEM;
      goto out;
    }
  }
  if (r != QRL_SQL_DONE) err = QRL_DB;
out:
  qrl_sql_done(db, st);
  if (err) {
    release(rows, used);
  } else {
    *out = rows;
    *n = used;
  }
  return err;
}

#define CITIZEN_COLS                                                           \
  "id, full_name, level, phone, web_login, passcode_failures,"                 \
  " passcode_locked_until, passcode_locks"

static int read_citizen(qrl_stmt *st, void *row) {
  qrl_op_citizen *c = row;
  c->level = qrl_sql_col_int(st, 2);
  c->web_login = qrl_sql_col_int(st, 4) != 0;
  c->passcode_failures = qrl_sql_col_int(st, 5);
  c->passcode_locked_until = qrl_sql_col_int64(st, 6);
  c->passcode_locks = qrl_sql_col_int(st, 7);
  return dup_col(st, 0, &c->id) || dup_col(st, 1, &c->full_name) ||
                 dup_col(st, 3, &c->phone)
             ? -1
             : 0;
}

void qrl_op_citizen_clear(qrl_op_citizen *c) {
  if (!c) return;
  free(c->id);
  free(c->full_name);
  free(c->phone);
  memset(c, 0, sizeof(*c));
}

void qrl_op_citizens_free(qrl_op_citizen *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) qrl_op_citizen_clear(&rows[i]);
  free(rows);
}

static void release_citizens(void *rows, size_t n) { qrl_op_citizens_free(rows, n); }

qrl_err qrl_op_citizens(qrl_db *db, qrl_op_citizen **rows, size_t *n) {
  void *out;
  qrl_err err = fetch(db, qrl_sql_prep(db, "SELECT " CITIZEN_COLS " FROM citizens ORDER BY id"),
                      sizeof(**rows), read_citizen, release_citizens, &out, n);
  *rows = out;
  return err;
}

qrl_err qrl_op_citizen_get(qrl_db *db, const char *id, qrl_op_citizen *out) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT " CITIZEN_COLS " FROM citizens WHERE id = ?");
  void *rows = NULL;
  size_t n = 0;
  qrl_err err;

  memset(out, 0, sizeof(*out));
  if (st) qrl_sql_bind_text(st, 1, id);
  if ((err = fetch(db, st, sizeof(*out), read_citizen, release_citizens, &rows, &n))) goto out;
  if (n == 0) {
    err = QRL_NOT_FOUND;
    goto out;
  }
  *out = *(qrl_op_citizen *)rows; /* the id is the key: one row */
  n = 0;                          /* its strings now belong to *out */
out:
  qrl_op_citizens_free(rows, n);
  return err;
}

static int read_device(qrl_stmt *st, void *row) {
  qrl_op_device *d = row;
  d->id = qrl_sql_col_int64(st, 0);
  d->created_at = qrl_sql_col_int64(st, 2);
  d->revoked_at = qrl_sql_col_int64(st, 3);
  return dup_col(st, 1, &d->name);
}

void qrl_op_devices_free(qrl_op_device *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) free(rows[i].name);
  free(rows);
}

static void release_devices(void *rows, size_t n) { qrl_op_devices_free(rows, n); }

qrl_err qrl_op_devices(qrl_db *db, const char *citizen_id, qrl_op_device **rows,
                       size_t *n) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT id, name, created_at, revoked_at FROM devices"
                                      " WHERE citizen_id = ? ORDER BY id");
  void *out;
  qrl_err err;
  if (st) qrl_sql_bind_text(st, 1, citizen_id);
  err = fetch(db, st, sizeof(**rows), read_device, release_devices, &out, n);
  *rows = out;
  return err;
}

static int read_session(qrl_stmt *st, void *row) {
  qrl_op_session *s = row;
  qrl_sql_copy_col(st, 0, s->kind, sizeof(s->kind));
  s->device_id = qrl_sql_col_int64(st, 1);
  s->created_at = qrl_sql_col_int64(st, 2);
  s->expires_at = qrl_sql_col_int64(st, 3);
  s->revoked_at = qrl_sql_col_int64(st, 4);
  return dup_col(st, 5, &s->note);
}

void qrl_op_sessions_free(qrl_op_session *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) free(rows[i].note);
  free(rows);
}

static void release_sessions(void *rows, size_t n) { qrl_op_sessions_free(rows, n); }

qrl_err qrl_op_sessions(qrl_db *db, const char *citizen_id, qrl_op_session **rows,
                        size_t *n) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT 'app', device_id, created_at, expires_at, revoked_at, revoke_reason"
      " FROM app_sessions WHERE citizen_id = ?1"
      " UNION ALL SELECT 'web', NULL, created_at, expires_at, revoked_at, method"
      " FROM web_sessions WHERE citizen_id = ?1 ORDER BY 3");
  void *out;
  qrl_err err;
  if (st) qrl_sql_bind_text(st, 1, citizen_id);
  err = fetch(db, st, sizeof(**rows), read_session, release_sessions, &out, n);
  *rows = out;
  return err;
}

static int read_audit(qrl_stmt *st, void *row) {
  qrl_op_audit_row *a = row;
  a->at = qrl_sql_col_int64(st, 0);
  return dup_col(st, 1, &a->event) || dup_col(st, 2, &a->outcome) ||
                 dup_col(st, 3, &a->ip) || dup_col(st, 4, &a->detail) ||
                 dup_col(st, 5, &a->flow)
             ? -1
             : 0;
}

void qrl_op_audit_free(qrl_op_audit_row *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) {
    free(rows[i].event);
    free(rows[i].outcome);
    free(rows[i].ip);
    free(rows[i].detail);
    free(rows[i].flow);
  }
  free(rows);
}

static void release_audit(void *rows, size_t n) { qrl_op_audit_free(rows, n); }

qrl_err qrl_op_audit(qrl_db *db, const char *citizen_id, int limit,
                     qrl_op_audit_row **rows, size_t *n) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT at, event, outcome, ip, detail, flow FROM audit WHERE citizen_id = ?"
      " ORDER BY id DESC LIMIT ?");
  void *out;
  qrl_err err;
  if (st) {
    qrl_sql_bind_text(st, 1, citizen_id);
    qrl_sql_bind_int64(st, 2, limit);
  }
  err = fetch(db, st, sizeof(**rows), read_audit, release_audit, &out, n);
  *rows = out;
  return err;
}

/* A text column, or NULL for SQL NULL (borrowed until the next step). */
static const char *col_text(qrl_stmt *st, int col) {
  return qrl_sql_col_null(st, col) ? NULL
                                                      : qrl_sql_col_text(st, col);
}

qrl_err qrl_op_audit_each(qrl_db *db, int64_t after_id, int64_t limit,
                          int (*visit)(const qrl_op_audit_full *row, void *arg), void *arg) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT id, at, event, outcome, citizen_id, device_id, ip, user_agent, detail, flow,"
      " row_hash FROM audit WHERE id > ? ORDER BY id LIMIT ?");
  qrl_err err = QRL_OK;
  int r;
  if (!st) return QRL_DB;
  qrl_sql_bind_int64(st, 1, after_id);
  qrl_sql_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX); /* no limit */
  while ((r = qrl_sql_step(st)) == QRL_SQL_ROW) {
    qrl_op_audit_full row = {0};
    row.id = qrl_sql_col_int64(st, 0);
    row.at = qrl_sql_col_int64(st, 1);
    row.event = col_text(st, 2);
    row.outcome = col_text(st, 3);
    row.citizen_id = col_text(st, 4);
    row.device_id = qrl_sql_col_int64(st, 5);
    row.ip = col_text(st, 6);
    row.user_agent = col_text(st, 7);
    row.detail = col_text(st, 8);
    row.flow = col_text(st, 9);
    row.row_hash = qrl_sql_col_blob(st, 10);
    row.row_hash_len = (size_t)qrl_sql_col_bytes(st, 10);
    if (!row.event || !row.outcome) { /* NOT NULL columns: out of memory */
      err = QRL_NOMEM;
      break;
    }
    if (visit(&row, arg)) break;
  }
  if (!err && r != QRL_SQL_ROW && r != QRL_SQL_DONE) err = QRL_DB;
  qrl_sql_done(db, st);
  return err;
}

static int read_stat(qrl_stmt *st, void *row) {
  qrl_op_stat *a = row;
  const char *day = col_text(st, 0);
  snprintf(a->day, sizeof(a->day), "%s", day ? day : "");
  a->count = qrl_sql_col_int64(st, 3);
  return dup_col(st, 1, &a->event) || dup_col(st, 2, &a->outcome) ? -1 : 0;
}

void qrl_op_stats_free(qrl_op_stat *rows, size_t n) {
  for (size_t i = 0; rows && i < n; i++) {
    free(rows[i].event);
    free(rows[i].outcome);
  }
  free(rows);
}

static void release_stats(void *rows, size_t n) { qrl_op_stats_free(rows, n); }

qrl_err qrl_op_stats(qrl_db *db, int64_t since, qrl_op_stat **rows, size_t *n) {
  /* Days begin at midnight in Vietnam (UTC+7, no daylight saving). */
  qrl_stmt *st = qrl_sql_prep(db, qrl_sql_is_pg(db)
      ? "SELECT to_char(to_timestamp(at + 25200) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,"
        " event, outcome, count(*) FROM audit"
        " WHERE at >= ? GROUP BY day, event, outcome ORDER BY day, event, outcome"
      : "SELECT date(at + 25200, 'unixepoch') AS day, event, outcome, count(*) FROM audit"
        " WHERE at >= ? GROUP BY day, event, outcome ORDER BY day, event, outcome");
  void *out;
  qrl_err err;
  if (st) qrl_sql_bind_int64(st, 1, since);
  err = fetch(db, st, sizeof(**rows), read_stat, release_stats, &out, n);
  *rows = out;
  return err;
}

/* ---- changes -------------------------------------------------------------- */

/* Runs UPDATE sql (?1 = text id, ?2 = now, ?3 = num) that must touch a row,
 * plus the audit row, in one transaction. QRL_NOT_FOUND if it touched none. */
static qrl_err change(qrl_db *db, const char *sql, const char *id, int64_t now,
                      int64_t num, const char *event, const char *detail) {
  qrl_req_ctx rc = op_ctx(now);
  qrl_stmt *st;
  qrl_err err;

  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, sql);
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_int64(st, 2, now);
    qrl_sql_bind_int64(st, 3, num);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  if (qrl_sql_changes(db) == 0) {
    err = QRL_NOT_FOUND;
    goto out;
  }
  if ((err = qrl_db_audit(db, event, QRL_OK, id, 0, detail, &rc))) goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_op_set_level(qrl_db *db, const char *id, int level, int64_t now) {
  char detail[16];
  if (level != 1 && level != 2) return QRL_INVAL;
  snprintf(detail, sizeof(detail), "level=%d", level);
  return change(db, "UPDATE citizens SET level = ?3, updated_at = ?2 WHERE id = ?1", id,
                now, level, "admin_set_level", detail);
}

qrl_err qrl_op_unlock(qrl_db *db, const char *id, int64_t now) {
  return change(db, "UPDATE citizens SET passcode_failures = 0, passcode_locked_until = 0,"
                    " passcode_locks = ?3, updated_at = ?2 WHERE id = ?1",
                id, now, 0, "admin_unlock", NULL);
}

/* Runs sql (?1 = text id, ?2 = now) that needs no rows touched. */
static qrl_err run_id_now(qrl_db *db, const char *sql, const char *id, int64_t now) {
  qrl_stmt *st = qrl_sql_prep(db, sql);
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_int64(st, 2, now);
  }
  return qrl_sql_run(db, st);
}

/* A new password (passcode = 0) or passcode (1) for citizen id. */
static qrl_err set_secret(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                          int passcode, const char *value, int64_t now) {
  /* A reset password ends what the old one opened: app sessions, web
   * sessions, and password + SMS attempts still waiting for a code. */
  static const char *const ends[] = {
      "UPDATE app_sessions SET revoked_at = ?2, revoke_reason = 'password_reset'"
      " WHERE citizen_id = ?1 AND revoked_at IS NULL",
      "UPDATE web_sessions SET revoked_at = ?2 WHERE citizen_id = ?1"
      " AND revoked_at IS NULL",
      "UPDATE otp_logins SET void_at = ?2 WHERE citizen_id = ?1"
      " AND used_at IS NULL AND void_at IS NULL"};
  char hash[QRL_HASH_STR_MAX] = "";
  qrl_req_ctx rc = op_ctx(now);
  qrl_citizen c;
  qrl_stmt *st;
  qrl_err err;
  int in_tx = 0;

  if (!value ||
      (passcode ? !qrl_passcode_valid(value, strlen(value)) : !qrl_password_format_ok(value)))
    return passcode ? QRL_BAD_PASSCODE_FORMAT : QRL_BAD_PASSWORD_FORMAT;
  if ((err = qrl_db_get_citizen(db, id, &c))) return err;
  /* Hash before the transaction: it is the slow part. */
  if ((err = qrl_hash_secret(value, strlen(value), pol->hash_cost_log2, hash, sizeof(hash))))
    goto out;
  if (qrl_sql_begin(db)) {
    err = QRL_DB;
    goto out;
  }
  in_tx = 1;
  st = qrl_sql_prep(db, passcode
                            ? "UPDATE citizens SET passcode_hash = ?1, updated_at = ?2 WHERE id = ?3"
                            : "UPDATE citizens SET password_hash = ?1, updated_at = ?2 WHERE id = ?3");
  if (st) {
    qrl_sql_bind_text(st, 1, hash);
    qrl_sql_bind_int64(st, 2, now);
    qrl_sql_bind_text(st, 3, id);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  for (size_t i = 0; !passcode && i < sizeof(ends) / sizeof(ends[0]); i++)
    if ((err = run_id_now(db, ends[i], id, now))) goto out;
  if ((err = qrl_db_audit(db, passcode ? "admin_set_passcode" : "admin_set_password", QRL_OK,
                          id, 0, NULL, &rc)))
    goto out;
  err = qrl_sql_commit(db);
out:
  if (err && in_tx) qrl_sql_rollback(db);
  qrl_cleanse(hash, sizeof(hash));
  return err;
}

qrl_err qrl_op_set_password(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                            const char *password, int64_t now) {
  return set_secret(db, pol, id, 0, password, now);
}

qrl_err qrl_op_set_passcode(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                            const char *passcode, int64_t now) {
  return set_secret(db, pol, id, 1, passcode, now);
}

qrl_err qrl_op_device_revoke(qrl_db *db, int64_t device, int64_t now) {
  qrl_req_ctx rc = op_ctx(now);
  char citizen[QRL_CITIZEN_ID_LEN + 1] = "", detail[32];
  qrl_stmt *st;
  qrl_err err = QRL_NOT_FOUND;

  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "SELECT citizen_id FROM devices WHERE id = ? AND revoked_at IS NULL");
  if (!st) {
    err = QRL_DB;
    goto out;
  }
  qrl_sql_bind_int64(st, 1, device);
  if (qrl_sql_step(st) == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, citizen, sizeof(citizen));
    err = QRL_OK;
  }
  qrl_sql_done(db, st);
  if (err) goto out;
  st = qrl_sql_prep(db, "UPDATE devices SET revoked_at = ?2 WHERE id = ?1");
  if (st) {
    qrl_sql_bind_int64(st, 1, device);
    qrl_sql_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  st = qrl_sql_prep(db, "UPDATE app_sessions SET revoked_at = ?2, revoke_reason ="
                        " 'device_revoked' WHERE device_id = ?1 AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_int64(st, 1, device);
    qrl_sql_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  snprintf(detail, sizeof(detail), "device=%lld", (long long)device);
  if ((err = qrl_db_audit(db, "admin_device_revoke", QRL_OK, citizen, device, detail, &rc)))
    goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_op_session_revoke(qrl_db *db, const char *id, int64_t now, int *n) {
  static const char *const revokes[] = {
      "UPDATE app_sessions SET revoked_at = ?2, revoke_reason = 'admin'"
      " WHERE citizen_id = ?1 AND revoked_at IS NULL",
      "UPDATE web_sessions SET revoked_at = ?2 WHERE citizen_id = ?1"
      " AND revoked_at IS NULL"};
  qrl_req_ctx rc = op_ctx(now);
  qrl_citizen c;
  char detail[32];
  qrl_err err;

  *n = 0;
  if ((err = qrl_db_get_citizen(db, id, &c))) return err;
  if (qrl_sql_begin(db)) return QRL_DB;
  for (size_t i = 0; i < sizeof(revokes) / sizeof(revokes[0]); i++) {
    if ((err = run_id_now(db, revokes[i], id, now))) goto out;
    *n += qrl_sql_changes(db);
  }
  snprintf(detail, sizeof(detail), "sessions=%d", *n);
  if ((err = qrl_db_audit(db, "admin_session_revoke", QRL_OK, id, 0, detail, &rc))) goto out;
  err = qrl_sql_commit(db);
out:
  if (err) {
    qrl_sql_rollback(db);
    *n = 0;
  }
  return err;
}

qrl_err qrl_op_portal_verify(qrl_db *db, const char *username, const char *citizen_id,
                             int64_t now) {
  qrl_req_ctx rc = op_ctx(now);
  qrl_portal_account a;
  qrl_err err = qrl_portal_find(db, username, &a);
  if (err) return err;
  return qrl_portal_verify_id(db, a.id, citizen_id, &rc);
}
