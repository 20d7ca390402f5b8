/*
 * health.c - the database check behind /readyz (health.h).
 */
#include "domain/health.h"

#include <sqlite3.h>

#include "helpers/log.h"
#include "sql.h"

#define PROBE "SELECT count(*) FROM sqlite_master"

/* Runs PROBE on h. SQLITE_OK, or the failing step's code. */
static int probe(sqlite3 *h) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(h, PROBE, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* PostgreSQL: the worker's connection answers (opened again if it broke)
 * and the schema is there. */
static qrl_err health_pg(qrl_db *db) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT version FROM qrl_schema");
  int r = qrl_sql_step(st);
  qrl_sql_done(db, st);
  if (r == QRL_SQL_ROW) return QRL_OK;
  qrl_log_kv(qrl_db_log(db), QRL_LOG_WARN, "db_not_ready", "what", "PostgreSQL", "error",
             qrl_sql_errmsg(db), (const char *)NULL);
  return QRL_DB;
}

qrl_err qrl_db_health(qrl_db *db, const char *path) {
  sqlite3 *fresh = NULL;
  int rc;
  const char *what = "the worker's connection";

  if (qrl_sql_is_pg(db)) return health_pg(db);
  if ((rc = probe(qrl_sql_handle(db))) == SQLITE_OK) {
    what = path;
    rc = sqlite3_open_v2(path, &fresh, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(fresh, 1000);
      rc = probe(fresh);
    }
  }
  if (rc != SQLITE_OK)
    qrl_log_kv(qrl_db_log(db), QRL_LOG_WARN, "db_not_ready", "what", what, "error",
               sqlite3_errstr(rc), (const char *)NULL);
  sqlite3_close(fresh); /* NULL-safe; also after a failed open */
  return rc == SQLITE_OK ? QRL_OK : QRL_DB;
}
