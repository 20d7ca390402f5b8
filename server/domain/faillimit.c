/*
 * faillimit.c - failure limits per account in SQLite (faillimit.h).
 */
#include "domain/faillimit.h"

#include <math.h>
#include <string.h>

#include "sql.h"

/* Rows whose bucket is full again, deleted per take: bounded work that
 * outpaces the rows takes can add (one each). */
#define PRUNE_ROWS 16
/* Slack for the float arithmetic of a level (elapsed times are whole
 * seconds, the rates fractions of a token). */
#define EPS 1e-9

typedef struct record {
  int found;
  double failures; /* as of at */
  int64_t at;
} record;

static int rule_ok(const char *key, int limit, int64_t window) {
  return key && key[0] && limit > 0 && window > 0;
}

/* key's record. QRL_OK (r->found 0 if none) or QRL_DB. */
static qrl_err load(qrl_db *db, const char *key, record *r) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT failures, at FROM failure_limits WHERE key = ?");
  int step;
  memset(r, 0, sizeof(*r));
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, key);
  step = qrl_sql_step(st);
  if (step == QRL_SQL_ROW) {
    r->found = 1;
    r->failures = qrl_sql_col_double(st, 0);
    r->at = qrl_sql_col_int64(st, 1);
  }
  qrl_sql_done(db, st);
  return step == QRL_SQL_ROW || step == QRL_SQL_DONE ? QRL_OK : QRL_DB;
}

/* The failures of r not yet earned back at now. A record ahead of now (the
 * wall clock was stepped back) counts as of now. */
static double level(const record *r, int limit, int64_t window, int64_t now) {
  double f;
  if (!r->found) return 0.0;
  f = r->failures;
  if (now > r->at) f -= (double)(now - r->at) * (double)limit / (double)window;
  return f > EPS ? f : 0.0;
}

/* Writes key's record: failures as of now, or deletes it if none are left. */
static qrl_err store(qrl_db *db, const char *key, double failures, int limit, int64_t window,
                     int64_t now) {
  qrl_stmt *st;
  if (failures <= EPS) {
    st = qrl_sql_prep(db, "DELETE FROM failure_limits WHERE key = ?");
    if (st) qrl_sql_bind_text(st, 1, key);
    return qrl_sql_run(db, st);
  }
  st = qrl_sql_prep(db, "INSERT INTO failure_limits(key, failures, at, clear_at)"
                        " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET"
                        " failures = ?2, at = ?3, clear_at = ?4");
  if (st) {
    qrl_sql_bind_text(st, 1, key);
    qrl_sql_bind_double(st, 2, failures);
    qrl_sql_bind_int64(st, 3, now);
    /* every failure earned back: the bucket is full, the row may go */
    qrl_sql_bind_int64(st, 4, now + (int64_t)ceil(failures * (double)window / limit - 1e-6));
  }
  return qrl_sql_run(db, st);
}

static qrl_err prune(qrl_db *db, int64_t now) {
  qrl_stmt *st = qrl_sql_prep(db, "DELETE FROM failure_limits WHERE key IN"
                                      " (SELECT key FROM failure_limits WHERE clear_at <= ?1"
                                      " LIMIT ?2)");
  if (st) {
    qrl_sql_bind_int64(st, 1, now);
    qrl_sql_bind_int64(st, 2, PRUNE_ROWS);
  }
  return qrl_sql_run(db, st);
}

qrl_err qrl_faillimit_take(qrl_db *db, const char *key, int limit, int64_t window,
                           int64_t now, int64_t *retry_in) {
  record r;
  double f;
  int refused = 0;
  qrl_err err;

  *retry_in = 0;
  if (!rule_ok(key, limit, window)) return QRL_INVAL;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((err = prune(db, now)) || (err = load(db, key, &r))) goto out;
  f = level(&r, limit, window, now);
  if (f <= (double)(limit - 1) + EPS) {
    err = store(db, key, f + 1.0, limit, window, now);
  } else {
    refused = 1;
    /* Seconds until one whole failure is earned back. */
    *retry_in = (int64_t)ceil((f - (double)(limit - 1)) * (double)window / limit - 1e-6);
    if (*retry_in < 1) *retry_in = 1;
    /* A record ahead of now is moved back to now: refill starts. */
    if (r.at > now) err = store(db, key, f, limit, window, now);
  }
  if (!err) err = qrl_sql_commit(db);
out:
  if (err) {
    qrl_sql_rollback(db);
    *retry_in = 0;
    return err;
  }
  return refused ? QRL_RATE_LIMITED : QRL_OK;
}

qrl_err qrl_faillimit_give_back(qrl_db *db, const char *key, int limit, int64_t window,
                                int64_t now) {
  record r;
  qrl_err err;
  if (!rule_ok(key, limit, window)) return QRL_INVAL;
  if (qrl_sql_begin(db)) return QRL_DB;
  if (!(err = load(db, key, &r)) && r.found)
    err = store(db, key, level(&r, limit, window, now) - 1.0, limit, window, now);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_faillimit_clear(qrl_db *db, const char *key) {
  qrl_stmt *st = qrl_sql_prep(db, "DELETE FROM failure_limits WHERE key = ?");
  if (st) qrl_sql_bind_text(st, 1, key);
  return qrl_sql_run(db, st);
}

int qrl_faillimit_left(qrl_db *db, const char *key, int limit, int64_t window, int64_t now) {
  record r;
  double left;
  if (!rule_ok(key, limit, window) || load(db, key, &r)) return -1;
  left = (double)limit - level(&r, limit, window, now);
  return (int)floor(left + EPS);
}

long qrl_faillimit_keys(qrl_db *db) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT count(*) FROM failure_limits");
  long n = -1;
  if (!st) return -1;
  if (qrl_sql_step(st) == QRL_SQL_ROW) n = (long)qrl_sql_col_int64(st, 0);
  qrl_sql_done(db, st);
  return n;
}
