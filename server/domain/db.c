/*
 * db.c - the qrlogin database file: opening (WAL, foreign keys, busy
 * timeout), the schema and its migrations keyed on PRAGMA user_version, the
 * audit trail, and the small SQLite helpers the domain modules share (sql.h).
 */
#include "domain/db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/crypto.h"
#include "helpers/log.h"
#include "helpers/text.h"
#include "pg.h"
#include "sql.h"

/* The statement cache: an open-addressed table keyed by the SQL text. A
 * statement is prepared once per handle (SQLITE_PREPARE_PERSISTENT) and reset
 * after each use; while one is in use (busy), the same text gets a one-off
 * statement, so nested uses of one query stay apart. */
#define STMT_SLOTS 256 /* a power of two; the code has ~120 distinct statements */
#define STMT_MAX 192   /* cached at most (3/4 of the slots): the rest are one-offs */

typedef struct stmt_slot {
  uint64_t hash;   /* of sql */
  char *sql;       /* owned: the text it was prepared from */
  qrl_stmt *st;    /* owned; NULL: a free slot */
  int busy;        /* handed out by qrl_sql_prep, not yet back (qrl_sql_done) */
} stmt_slot;

/* An audit row's log line, kept until its transaction commits (a row that
 * is rolled back is said as lost instead). */
#define LOG_PENDING 8
typedef struct log_line {
  char event[32];
  qrl_err outcome;
  char cid[16];   /* masked */
  char device[24];
  char ip[48];
  char detail[96];
  char flow[40];
} log_line;

struct qrl_db {
  sqlite3 *h;            /* SQLite, or */
  qrl_pg *pg;            /* PostgreSQL */
  qrl_log *log;          /* not owned; NULL: audited events are not logged */
  uint64_t *busy, *busy_timeouts; /* not owned: lock waits and give-ups (atomic) */
  int npending;          /* log lines of the open transaction's rows */
  log_line pending[LOG_PENDING];
  int tx_audits;         /* audit rows inserted in the open transaction */
  char tx_event[32];     /* the last of them, named in the log if they are lost */
  uint64_t audit_lost;   /* rows that never reached the file */
  size_t nstmts;         /* slots in use */
  uint64_t stmt_hits, stmt_preps; /* cache hits; statements prepared */
  stmt_slot stmts[STMT_SLOTS];
};

/* n audit rows (the last of them event) will never be in the file: said on
 * stderr (this runs on a worker) and counted. */
static void audit_lost(qrl_db *db, const char *event, int n) {
  char count[24], lost[24];
  db->audit_lost += (uint64_t)n;
  snprintf(count, sizeof(count), "%d", n);
  snprintf(lost, sizeof(lost), "%llu", (unsigned long long)db->audit_lost);
  qrl_log_kv(db->log, QRL_LOG_WARN, "audit_lost", "audit_event", event, "rows", count,
             "lost_here", lost, "msg", qrl_sql_errmsg(db), (const char *)NULL);
}

void qrl_db_set_log(qrl_db *db, qrl_log *log) { db->log = log; }

qrl_log *qrl_db_log(const qrl_db *db) { return db ? db->log : NULL; }

/* SQLite's own busy_timeout schedule (its sqliteDefaultBusyCallback), in
 * ms, with the contention and the timeouts counted. 1: wait and retry, 0:
 * give up (SQLITE_BUSY). */
#define BUSY_TIMEOUT_MS 5000
static int on_busy(void *arg, int count) {
  static const int delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  static const int totals[] = {0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228};
  const int nd = (int)(sizeof(delays) / sizeof(delays[0]));
  qrl_db *db = arg;
  int delay, prior;
  if (count < nd) {
    delay = delays[count];
    prior = totals[count];
  } else {
    delay = delays[nd - 1];
    prior = totals[nd - 1] + delay * (count - (nd - 1));
  }
  if (count == 0 && db->busy) __atomic_add_fetch(db->busy, 1, __ATOMIC_RELAXED);
  if (prior + delay > BUSY_TIMEOUT_MS) {
    delay = BUSY_TIMEOUT_MS - prior;
    if (delay <= 0) {
      if (db->busy_timeouts) __atomic_add_fetch(db->busy_timeouts, 1, __ATOMIC_RELAXED);
      return 0;
    }
  }
  sqlite3_sleep(delay);
  return 1;
}

void qrl_db_count_busy(qrl_db *db, uint64_t *busy, uint64_t *timeouts) {
  db->busy = busy;
  db->busy_timeouts = timeouts;
}

static void log_write(qrl_db *db, const log_line *ln) {
  qrl_log_kv(db->log, ln->outcome ? QRL_LOG_NOTICE : QRL_LOG_INFO, ln->event,
             "outcome", qrl_err_code(ln->outcome), "cid", ln->cid[0] ? ln->cid : NULL,
             "device", ln->device[0] ? ln->device : NULL, "ip", ln->ip[0] ? ln->ip : NULL,
             "flow", ln->flow[0] ? ln->flow : NULL, "detail", ln->detail[0] ? ln->detail : NULL,
             (const char *)NULL);
}

/* The log lines of a transaction's rows: written when it commits,
 * forgotten when it does not (audit_lost() says so). */
static void log_flush(qrl_db *db, int committed) {
  for (int i = 0; committed && i < db->npending; i++) log_write(db, &db->pending[i]);
  db->npending = 0;
}

/* An audited event's log line: now if its row is committed on its own,
 * else at its transaction's commit. */
static void log_event(qrl_db *db, int in_tx, const char *event, qrl_err outcome,
                      const char *citizen_id, int64_t device_id, const char *detail,
                      const qrl_req_ctx *rc) {
  log_line one, *ln = &one;
  if (!db->log || !qrl_log_on(db->log, outcome ? QRL_LOG_NOTICE : QRL_LOG_INFO)) return;
  if (in_tx && db->npending < LOG_PENDING) ln = &db->pending[db->npending++];
  memset(ln, 0, sizeof(*ln));
  snprintf(ln->event, sizeof(ln->event), "%s", event);
  ln->outcome = outcome;
  if (citizen_id) qrl_log_mask_id(citizen_id, ln->cid);
  if (device_id) snprintf(ln->device, sizeof(ln->device), "%lld", (long long)device_id);
  if (rc && rc->ip) snprintf(ln->ip, sizeof(ln->ip), "%s", rc->ip);
  if (rc && rc->flow) snprintf(ln->flow, sizeof(ln->flow), "%s", rc->flow);
  if (detail) snprintf(ln->detail, sizeof(ln->detail), "%s", detail);
  if (ln == &one) log_write(db, ln); /* on its own, or too many to keep */
}

uint64_t qrl_db_audit_lost(const qrl_db *db) { return db ? db->audit_lost : 0; }

/* ---- the statement layer (sql.h) ------------------------------------------ */

struct qrl_stmt {
  sqlite3_stmt *lite; /* owned: on SQLite */
  qrl_pgq *pg;        /* owned: on PostgreSQL */
  struct stmt_slot *slot; /* the cache's slot holding it; NULL: a one-off */
};

sqlite3 *qrl_sql_handle(qrl_db *db) { return db->h; }

int qrl_db_is_pg_url(const char *path) { return qrl_pg_is_url(path); }

void qrl_db_shown(const char *path, char *out, size_t cap) { qrl_pg_redact(path, out, cap); }

int qrl_sql_is_pg(const qrl_db *db) { return db->pg != NULL; }

int qrl_sql_in_tx(qrl_db *db) {
  return db->pg ? qrl_pg_in_tx(db->pg) : !sqlite3_get_autocommit(db->h);
}

const char *qrl_sql_errmsg(qrl_db *db) {
  return db->pg ? qrl_pg_errmsg(db->pg) : sqlite3_errmsg(db->h);
}

int64_t qrl_sql_changes(qrl_db *db) {
  return db->pg ? qrl_pg_changes(db->pg) : sqlite3_changes(db->h);
}

int qrl_sql_exec(qrl_db *db, const char *sql) {
  if (db->pg) return qrl_pg_exec(db->pg, sql);
  return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static uint64_t sql_hash(const char *sql) {
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h;
}

/* The slot holding sql, or the free slot where it would go; NULL if the
 * table is full and sql is not in it. */
static stmt_slot *stmt_find(qrl_db *db, const char *sql, uint64_t h) {
  size_t i = (size_t)h & (STMT_SLOTS - 1);
  for (size_t probe = 0; probe < STMT_SLOTS; probe++, i = (i + 1) & (STMT_SLOTS - 1)) {
    stmt_slot *s = &db->stmts[i];
    if (!s->st || (s->hash == h && strcmp(s->sql, sql) == 0)) return s;
  }
  return NULL;
}

static void stmt_free(qrl_stmt *st) {
  if (!st) return;
  sqlite3_finalize(st->lite);
  qrl_pg_free(st->pg);
  free(st);
}

static qrl_stmt *prepare(qrl_db *db, const char *sql, unsigned flags) {
  qrl_stmt *st = calloc(1, sizeof(*st));
  db->stmt_preps++;
  if (!st) return NULL;
  if (db->pg) {
    if ((st->pg = qrl_pg_prepare(db->pg, sql))) return st;
    qrl_log_kv(db->log, QRL_LOG_ERROR, "db_prepare", "msg", "out of memory or bad parameters",
               "sql", sql, (const char *)NULL);
  } else if (sqlite3_prepare_v3(db->h, sql, -1, flags, &st->lite, NULL) == SQLITE_OK) {
    return st;
  } else {
    qrl_log_kv(db->log, QRL_LOG_ERROR, "db_prepare", "msg", sqlite3_errmsg(db->h), "sql", sql,
               (const char *)NULL);
  }
  stmt_free(st);
  return NULL;
}

qrl_stmt *qrl_sql_prep(qrl_db *db, const char *sql) {
  uint64_t h = sql_hash(sql);
  stmt_slot *s = stmt_find(db, sql, h);
  qrl_stmt *st;

  if (s && s->st && !s->busy) {
    db->stmt_hits++;
    s->busy = 1;
    return s->st;
  }
  if (!s || s->st || db->nstmts >= STMT_MAX) /* in use, or no room: a one-off */
    return prepare(db, sql, 0);
  if (!(st = prepare(db, sql, SQLITE_PREPARE_PERSISTENT))) return NULL;
  if (!(s->sql = strdup(sql))) return st; /* a one-off after all */
  s->hash = h;
  s->st = st;
  s->busy = 1;
  st->slot = s;
  if (st->pg) qrl_pg_keep(st->pg);
  db->nstmts++;
  return st;
}

void qrl_sql_done(qrl_db *db, qrl_stmt *st) {
  if (!st) return;
  (void)db;
  if (!st->slot) {
    stmt_free(st); /* a one-off */
    return;
  }
  if (st->pg) {
    qrl_pg_reset(st->pg); /* its result and bindings dropped */
  } else {
    sqlite3_reset(st->lite);
    sqlite3_clear_bindings(st->lite); /* no blob or text of this use stays bound */
  }
  st->slot->busy = 0;
}

void qrl_sql_stmt_stats(const qrl_db *db, size_t *cached, uint64_t *hits,
                        uint64_t *prepared) {
  if (cached) *cached = db->nstmts;
  if (hits) *hits = db->stmt_hits;
  if (prepared) *prepared = db->stmt_preps;
}

void qrl_sql_bind_int64(qrl_stmt *st, int i, int64_t v) {
  if (st->pg) qrl_pg_bind_int64(st->pg, i, v);
  else sqlite3_bind_int64(st->lite, i, v);
}

void qrl_sql_bind_double(qrl_stmt *st, int i, double v) {
  if (st->pg) qrl_pg_bind_double(st->pg, i, v);
  else sqlite3_bind_double(st->lite, i, v);
}

void qrl_sql_bind_null(qrl_stmt *st, int i) {
  if (st->pg) qrl_pg_bind_null(st->pg, i);
  else sqlite3_bind_null(st->lite, i);
}

void qrl_sql_bind_text(qrl_stmt *st, int i, const char *s) {
  if (st->pg) qrl_pg_bind_text(st->pg, i, s);
  else if (s) sqlite3_bind_text(st->lite, i, s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st->lite, i);
}

void qrl_sql_bind_blob(qrl_stmt *st, int i, const void *b, size_t n) {
  if (st->pg) qrl_pg_bind_blob(st->pg, i, b, n);
  else sqlite3_bind_blob(st->lite, i, b, (int)n, SQLITE_TRANSIENT);
}

int qrl_sql_step(qrl_stmt *st) {
  int r;
  if (!st) return QRL_SQL_ERROR;
  if (st->pg) return qrl_pg_step(st->pg);
  r = sqlite3_step(st->lite);
  if (r == SQLITE_ROW) return QRL_SQL_ROW;
  if (r == SQLITE_DONE) return QRL_SQL_DONE;
  r = sqlite3_extended_errcode(sqlite3_db_handle(st->lite));
  return r == SQLITE_CONSTRAINT_PRIMARYKEY || r == SQLITE_CONSTRAINT_UNIQUE ? QRL_SQL_DUP
                                                                            : QRL_SQL_ERROR;
}

int qrl_sql_col_null(qrl_stmt *st, int col) {
  if (st->pg) return qrl_pg_col_null(st->pg, col);
  return sqlite3_column_type(st->lite, col) == SQLITE_NULL;
}

int64_t qrl_sql_col_int64(qrl_stmt *st, int col) {
  return st->pg ? qrl_pg_col_int64(st->pg, col) : sqlite3_column_int64(st->lite, col);
}

int qrl_sql_col_int(qrl_stmt *st, int col) { return (int)qrl_sql_col_int64(st, col); }

double qrl_sql_col_double(qrl_stmt *st, int col) {
  return st->pg ? qrl_pg_col_double(st->pg, col) : sqlite3_column_double(st->lite, col);
}

const char *qrl_sql_col_text(qrl_stmt *st, int col) {
  if (st->pg) return qrl_pg_col_text(st->pg, col);
  return (const char *)sqlite3_column_text(st->lite, col);
}

const void *qrl_sql_col_blob(qrl_stmt *st, int col) {
  int n;
  return st->pg ? qrl_pg_col_blob(st->pg, col, &n) : sqlite3_column_blob(st->lite, col);
}

int qrl_sql_col_bytes(qrl_stmt *st, int col) {
  int n;
  if (!st->pg) return sqlite3_column_bytes(st->lite, col);
  qrl_pg_col_blob(st->pg, col, &n);
  return n;
}

/* Runs a cached statement of one word (BEGIN IMMEDIATE, COMMIT, ROLLBACK). */
static int run_word(qrl_db *db, const char *sql) {
  qrl_stmt *st;
  int r;
  if (db->pg) return qrl_pg_exec(db->pg, sql);
  if (!(st = qrl_sql_prep(db, sql))) return -1;
  r = qrl_sql_step(st);
  qrl_sql_done(db, st);
  return r == QRL_SQL_DONE ? 0 : -1;
}

/* Runs a statement that returns no rows, then gives it back. */
qrl_err qrl_sql_run(qrl_db *db, qrl_stmt *st) {
  int r;
  if (!st) return QRL_DB;
  r = qrl_sql_step(st);
  qrl_sql_done(db, st);
  return r == QRL_SQL_DONE ? QRL_OK : QRL_DB;
}

qrl_err qrl_sql_run_id(qrl_db *db, qrl_stmt *st, int64_t *id) {
  int r;
  if (!st) return QRL_DB;
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW && id) *id = qrl_sql_col_int64(st, 0);
  qrl_sql_done(db, st);
  return r == QRL_SQL_ROW ? QRL_OK : QRL_DB;
}

/* PostgreSQL: every write transaction takes this transaction-level
 * advisory lock first, so writers on all nodes run one at a time, as
 * SQLite's BEGIN IMMEDIATE makes them: the modules' read-then-write steps
 * (attempt counts, one-time codes) and the audit chain's head stay
 * consistent. ('qrlo' in ASCII.) */
#define PG_WRITE_LOCK "BEGIN; SELECT pg_advisory_xact_lock(1903322223)"

int qrl_sql_begin(qrl_db *db) {
  db->tx_audits = 0;
  db->npending = 0;
  return run_word(db, db->pg ? PG_WRITE_LOCK : "BEGIN IMMEDIATE");
}

/* An audit row goes with its transaction: a commit that fails (a full disk
 * fails here, when the WAL grows) or a rollback loses the rows it held. */
qrl_err qrl_sql_commit(qrl_db *db) {
  int failed = run_word(db, "COMMIT");
  if (failed && db->tx_audits) audit_lost(db, db->tx_event, db->tx_audits);
  db->tx_audits = 0;
  log_flush(db, !failed);
  return failed ? QRL_DB : QRL_OK;
}

void qrl_sql_rollback(qrl_db *db) {
  if (db->tx_audits) audit_lost(db, db->tx_event, db->tx_audits);
  db->tx_audits = 0;
  log_flush(db, 0);
  if (qrl_sql_in_tx(db)) run_word(db, "ROLLBACK");
}

void qrl_sql_copy_col(qrl_stmt *st, int col, char *dst, size_t cap) {
  const char *s = qrl_sql_col_text(st, col);
  snprintf(dst, cap, "%s", s ? s : "");
}

/* ---- schema --------------------------------------------------------------- */


/* v1: identities, devices, sessions, audit. */
static const char schema_v1[] =
    "CREATE TABLE citizens("
    " id TEXT PRIMARY KEY CHECK(length(id) = 12),"
    " full_name TEXT NOT NULL,"
    " level INTEGER NOT NULL CHECK(level IN (1, 2)),"
    " phone TEXT,"
    " password_hash TEXT NOT NULL,"
    " passcode_hash TEXT NOT NULL,"
    " web_login INTEGER NOT NULL DEFAULT 0,"
    " passcode_failures INTEGER NOT NULL DEFAULT 0,"
    " passcode_locked_until INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE devices("
    " id INTEGER PRIMARY KEY,"
    " citizen_id TEXT NOT NULL REFERENCES citizens(id),"
    " pubkey BLOB NOT NULL,"
    " name TEXT,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER);"
    "CREATE INDEX devices_citizen ON devices(citizen_id);"
    "CREATE TABLE app_sessions("
    " token_hash BLOB PRIMARY KEY,"
    " citizen_id TEXT NOT NULL REFERENCES citizens(id),"
    " device_id INTEGER NOT NULL REFERENCES devices(id),"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER,"
    " revoke_reason TEXT);"
    "CREATE INDEX app_sessions_device ON app_sessions(device_id);"
    "CREATE TABLE web_sessions("
    " id INTEGER PRIMARY KEY,"
    " citizen_id TEXT NOT NULL REFERENCES citizens(id),"
    " method TEXT NOT NULL,"
    " code_hash BLOB NOT NULL UNIQUE,"
    " binding_hash BLOB NOT NULL,"
    " code_expires_at INTEGER NOT NULL,"
    " code_used_at INTEGER,"
    " token_hash BLOB UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER,"
    " revoked_at INTEGER,"
    " ip TEXT,"
    " user_agent TEXT);"
    "CREATE TABLE audit("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " citizen_id TEXT,"
    " device_id INTEGER,"
    " ip TEXT,"
    " user_agent TEXT,"
    " detail TEXT);"
    "CREATE INDEX audit_citizen ON audit(citizen_id, at);";

/* v2: the flow id of a QR login on audit rows and web sessions. */
static const char schema_v2[] =
    "ALTER TABLE audit ADD COLUMN flow TEXT;"
    "CREATE INDEX audit_flow ON audit(flow) WHERE flow IS NOT NULL;"
    "ALTER TABLE web_sessions ADD COLUMN flow TEXT;";

/* v3: the second login path and the account model of the portal: the
 * simulated national population register, portal-issued accounts (legacy
 * citizens and organizations) with their dossiers and VNeID links, ID/username
 * + password + SMS OTP login attempts, the demo SMS network, and web sessions
 * that belong to a citizen or to a portal account. */
static const char schema_v3[] =
    "ALTER TABLE citizens ADD COLUMN dob TEXT;"
    "CREATE TABLE population("
    " id TEXT PRIMARY KEY CHECK(length(id) = 12),"
    " full_name TEXT NOT NULL,"
    " dob TEXT NOT NULL);"
    "CREATE TABLE portal_accounts("
    " id INTEGER PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK(kind IN ('citizen', 'organization')),"
    " display_name TEXT NOT NULL,"
    " password_hash TEXT NOT NULL,"
    " phone TEXT,"
    " dob TEXT,"
    " citizen_id TEXT,"
    " id_verified_at INTEGER,"
    " linked_citizen TEXT REFERENCES citizens(id),"
    " linked_at INTEGER,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX portal_accounts_citizen ON portal_accounts(citizen_id);"
    "CREATE INDEX portal_accounts_linked ON portal_accounts(linked_citizen);"
    "CREATE TABLE dossiers("
    " id TEXT PRIMARY KEY,"
    " account_id INTEGER NOT NULL REFERENCES portal_accounts(id),"
    " title TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " submitted_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX dossiers_account ON dossiers(account_id);"
    "CREATE TABLE otp_logins("
    " id INTEGER PRIMARY KEY,"
    " attempt_hash BLOB NOT NULL UNIQUE,"
    " citizen_id TEXT REFERENCES citizens(id),"
    " portal_account INTEGER REFERENCES portal_accounts(id),"
    " phone TEXT NOT NULL,"
    " otp_mac BLOB NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " sends INTEGER NOT NULL DEFAULT 1,"
    " last_sent_at INTEGER NOT NULL,"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " used_at INTEGER,"
    " void_at INTEGER,"
    " ip TEXT,"
    " CHECK ((citizen_id IS NULL) != (portal_account IS NULL)));"
    "CREATE INDEX otp_logins_phone ON otp_logins(phone, last_sent_at);"
    "CREATE TABLE sms_sim("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " phone TEXT NOT NULL,"
    " text TEXT NOT NULL);"
    "CREATE INDEX sms_sim_phone ON sms_sim(phone, id);"
    /* web_sessions: citizen_id becomes optional (rebuild: SQLite cannot drop
     * a NOT NULL) and a portal account can own a session instead. */
    "CREATE TABLE web_sessions_v3("
    " id INTEGER PRIMARY KEY,"
    " citizen_id TEXT REFERENCES citizens(id),"
    " portal_account INTEGER REFERENCES portal_accounts(id),"
    " method TEXT NOT NULL,"
    " code_hash BLOB UNIQUE,"
    " binding_hash BLOB,"
    " code_expires_at INTEGER,"
    " code_used_at INTEGER,"
    " token_hash BLOB UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER,"
    " revoked_at INTEGER,"
    " ip TEXT,"
    " user_agent TEXT,"
    " flow TEXT,"
    " CHECK ((citizen_id IS NULL) != (portal_account IS NULL)));"
    "INSERT INTO web_sessions_v3(id, citizen_id, method, code_hash, binding_hash,"
    " code_expires_at, code_used_at, token_hash, created_at, expires_at,"
    " revoked_at, ip, user_agent, flow)"
    " SELECT id, citizen_id, method, code_hash, binding_hash, code_expires_at,"
    " code_used_at, token_hash, created_at, expires_at, revoked_at, ip,"
    " user_agent, flow FROM web_sessions;"
    "DROP TABLE web_sessions;"
    "ALTER TABLE web_sessions_v3 RENAME TO web_sessions;"
    "CREATE INDEX web_sessions_citizen ON web_sessions(citizen_id);";

/* v4: the audit trail becomes append-only and hash-chained: each row keeps
 * the hash of the row before it and its own (see qrl_db_audit_verify). Rows
 * written before v4 stay as they were, outside the chain. */
static const char schema_v4[] =
    "ALTER TABLE audit ADD COLUMN prev_hash BLOB;"
    "ALTER TABLE audit ADD COLUMN row_hash BLOB;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;";

/* v5: passcode locks in a row, for locks that grow (accounts.c). */
static const char schema_v5[] =
    "ALTER TABLE citizens ADD COLUMN passcode_locks INTEGER NOT NULL DEFAULT 0;";

/* v6: when a web session was last used, for its idle limit (websession.h).
 * Sessions already open count as unused since they began: an upgrade does
 * not lengthen any. */
static const char schema_v6[] =
    "ALTER TABLE web_sessions ADD COLUMN last_seen_at INTEGER;"
    "UPDATE web_sessions SET last_seen_at = coalesce(code_used_at, created_at)"
    " WHERE token_hash IS NOT NULL;";

/* v7: per-account failure limits that outlive the process (faillimit.h):
 * the failures of a key not yet earned back, as of `at`, and when they all
 * will be (the row may go then). */
static const char schema_v7[] =
    "CREATE TABLE failure_limits("
    " key TEXT PRIMARY KEY,"
    " failures REAL NOT NULL,"
    " at INTEGER NOT NULL,"
    " clear_at INTEGER NOT NULL);"
    "CREATE INDEX failure_limits_clear ON failure_limits(clear_at);";

/* v8: the OpenID Connect provider's signing keys (oidc_keys.h). A key is
 * published (JWKS) from created_at, signs from activate_at, stops signing at
 * retire_at (the next key's activate_at; NULL while it is the newest) and is
 * unpublished, then deleted, at expire_at, when every token it signed has
 * expired. The private key is PKCS#8 DER; kid its RFC 7638 thumbprint. */
static const char schema_v8[] =
    "CREATE TABLE oidc_keys("
    " kid TEXT PRIMARY KEY CHECK(length(kid) = 43),"
    " alg TEXT NOT NULL CHECK(alg IN ('ES256')),"
    " private_der BLOB NOT NULL,"
    " public_key BLOB NOT NULL CHECK(length(public_key) = 65),"
    " created_at INTEGER NOT NULL,"
    " activate_at INTEGER NOT NULL CHECK(activate_at >= created_at),"
    " retire_at INTEGER CHECK(retire_at IS NULL OR retire_at >= activate_at),"
    " expire_at INTEGER CHECK(expire_at IS NULL OR retire_at IS NOT NULL AND"
    "                         expire_at >= retire_at));"
    "CREATE INDEX oidc_keys_activate ON oidc_keys(activate_at);";

/* v9: the relying portals of the OpenID Connect provider (oidc_clients.h):
 * the client, how it authenticates (the SHA-256 of its secret, or its JWK
 * Set), and its exact redirect and post-logout redirect URIs. */
static const char schema_v9[] =
    "CREATE TABLE oidc_clients("
    " client_id TEXT PRIMARY KEY CHECK(length(client_id) BETWEEN 3 AND 64),"
    " name TEXT NOT NULL CHECK(length(name) > 0),"
    " auth_method TEXT NOT NULL"
    "  CHECK(auth_method IN ('client_secret_basic', 'private_key_jwt')),"
    " secret_hash BLOB CHECK(secret_hash IS NULL OR length(secret_hash) = 32),"
    " jwks TEXT,"
    " min_acr INTEGER NOT NULL CHECK(min_acr IN (1, 2)),"
    " backchannel_logout_uri TEXT,"
    " created_at INTEGER NOT NULL,"
    " secret_at INTEGER,"
    " CHECK((auth_method = 'client_secret_basic') = (secret_hash IS NOT NULL)),"
    " CHECK((auth_method = 'private_key_jwt') = (jwks IS NOT NULL)));"
    "CREATE TABLE oidc_client_uris("
    " client_id TEXT NOT NULL REFERENCES oidc_clients(client_id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK(kind IN ('redirect', 'post_logout')),"
    " uri TEXT NOT NULL,"
    " position INTEGER NOT NULL,"
    " PRIMARY KEY(client_id, kind, uri));";

/* v10: the OpenID Connect provider's grants (oidc_grants.h): authorization
 * requests waiting for a login, codes and access tokens (SHA-256 only), and
 * the opaque subject of each citizen; the jti of each private_key_jwt
 * client assertion until it expires (oidc_assert.h). */
static const char schema_v10[] =
    "CREATE TABLE oidc_requests("
    " id TEXT PRIMARY KEY,"
    " client_id TEXT NOT NULL,"
    " redirect_uri TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " state TEXT,"
    " nonce TEXT,"
    " challenge TEXT NOT NULL,"
    " acr_values TEXT,"
    " force_login INTEGER NOT NULL,"
    " max_age INTEGER NOT NULL,"
    " not_session INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL);"
    "CREATE INDEX oidc_requests_expires ON oidc_requests(expires_at);"
    "CREATE TABLE oidc_subjects("
    " citizen_id TEXT PRIMARY KEY REFERENCES citizens(id),"
    " sub TEXT NOT NULL UNIQUE);"
    "CREATE TABLE oidc_codes("
    " code_hash BLOB PRIMARY KEY CHECK(length(code_hash) = 32),"
    " client_id TEXT NOT NULL,"
    " redirect_uri TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " nonce TEXT,"
    " challenge TEXT NOT NULL,"
    " citizen_id TEXT NOT NULL,"
    " sid TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " acr TEXT NOT NULL,"
    " amr TEXT NOT NULL,"
    " auth_time INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX oidc_codes_expires ON oidc_codes(expires_at);"
    "CREATE TABLE oidc_tokens("
    " token_hash BLOB PRIMARY KEY CHECK(length(token_hash) = 32),"
    " code_hash BLOB NOT NULL,"
    " client_id TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " citizen_id TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " revoked_at INTEGER);"
    "CREATE INDEX oidc_tokens_code ON oidc_tokens(code_hash);"
    "CREATE TABLE oidc_assertion_jtis("
    " client_id TEXT NOT NULL,"
    " jti_hash BLOB NOT NULL CHECK(length(jti_hash) = 32),"
    " expires_at INTEGER NOT NULL,"
    " PRIMARY KEY(client_id, jti_hash));";

/* v11: OpenID Connect logout (oidc_logout.h). A code remembers its web
 * session; redeeming it (its access token inserted) records that the portal
 * holds an ID token of that session (oidc_rp_sessions). When the session is
 * revoked - by whatever path, in whatever process: the web page's logout,
 * the phone's "Không phải tôi", qrlogin-admin, the idle limit, RP-initiated
 * logout - a trigger, in the same transaction, puts one back-channel logout
 * per portal with a backchannel_logout_uri into the durable outbox, which
 * qrlogind delivers from (glue/bclogout.h). oidc_logout_confirms keeps the
 * one-time tokens of the "log out?" confirmation form (SHA-256 only). */
static const char schema_v11[] =
    "ALTER TABLE oidc_codes ADD COLUMN session_id INTEGER;"
    "CREATE TABLE oidc_rp_sessions("
    " session_id INTEGER NOT NULL,"
    " client_id TEXT NOT NULL,"
    " sid TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " PRIMARY KEY(session_id, client_id));"
    "CREATE INDEX oidc_rp_sessions_sid ON oidc_rp_sessions(sid);"
    "CREATE TABLE oidc_bcl_outbox("
    " id INTEGER PRIMARY KEY,"
    " client_id TEXT NOT NULL,"
    " sid TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(client_id, sid));"
    "CREATE INDEX oidc_bcl_outbox_due ON oidc_bcl_outbox(next_ms);"
    "CREATE TRIGGER oidc_rp_session_add AFTER INSERT ON oidc_tokens BEGIN"
    " INSERT OR IGNORE INTO oidc_rp_sessions(session_id, client_id, sid, sub)"
    "  SELECT session_id, client_id, sid, sub FROM oidc_codes"
    "  WHERE code_hash = NEW.code_hash AND session_id IS NOT NULL;"
    " END;"
    "CREATE TRIGGER oidc_bcl_session_revoked AFTER UPDATE OF revoked_at ON web_sessions"
    " WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL BEGIN"
    " INSERT OR IGNORE INTO oidc_bcl_outbox(client_id, sid, sub, created_at)"
    "  SELECT r.client_id, r.sid, r.sub, NEW.revoked_at FROM oidc_rp_sessions r"
    "  JOIN oidc_clients c ON c.client_id = r.client_id"
    "  WHERE r.session_id = NEW.id AND coalesce(c.backchannel_logout_uri, '') != '';"
    " DELETE FROM oidc_rp_sessions WHERE session_id = NEW.id;"
    " END;"
    "CREATE TABLE oidc_logout_confirms("
    " token_hash BLOB PRIMARY KEY CHECK(length(token_hash) = 32),"
    " session_id INTEGER NOT NULL,"
    " client_id TEXT,"
    " redirect_uri TEXT,"
    " state TEXT,"
    " expires_at INTEGER NOT NULL);";

/* v12: the OpenID Connect provider's RS256 keys and its rules for a login
 * (issue 11): oidc_keys takes RSA keys too (alg RS256, the public key as
 * DER SubjectPublicKeyInfo; rebuilt, since SQLite cannot change a CHECK);
 * each client's ID token algorithm; a waiting request's minimum level (the
 * client's --min-acr), its ui_locales and the SHA-256 of the browser
 * binding cookie set with it; and whether a web session's QR login ran the
 * passcode step-up (amr "pin"). */
static const char schema_v12[] =
    "CREATE TABLE oidc_keys_v12("
    " kid TEXT PRIMARY KEY CHECK(length(kid) = 43),"
    " alg TEXT NOT NULL CHECK(alg IN ('ES256', 'RS256')),"
    " private_der BLOB NOT NULL,"
    " public_key BLOB NOT NULL CHECK(alg = 'ES256' AND length(public_key) = 65 OR"
    "                                alg = 'RS256' AND length(public_key) BETWEEN 256 AND 600),"
    " created_at INTEGER NOT NULL,"
    " activate_at INTEGER NOT NULL CHECK(activate_at >= created_at),"
    " retire_at INTEGER CHECK(retire_at IS NULL OR retire_at >= activate_at),"
    " expire_at INTEGER CHECK(expire_at IS NULL OR retire_at IS NOT NULL AND"
    "                         expire_at >= retire_at));"
    "INSERT INTO oidc_keys_v12 SELECT kid, alg, private_der, public_key, created_at,"
    " activate_at, retire_at, expire_at FROM oidc_keys;"
    "DROP TABLE oidc_keys;"
    "ALTER TABLE oidc_keys_v12 RENAME TO oidc_keys;"
    "CREATE INDEX oidc_keys_activate ON oidc_keys(alg, activate_at);"
    "ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'ES256'"
    " CHECK(id_token_alg IN ('ES256', 'RS256'));"
    "ALTER TABLE oidc_requests ADD COLUMN min_level INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE oidc_requests ADD COLUMN ui_locales TEXT;"
    "ALTER TABLE oidc_requests ADD COLUMN browser_hash BLOB;"
    "ALTER TABLE web_sessions ADD COLUMN step_up INTEGER NOT NULL DEFAULT 0;";

/* v13: one web session per QR challenge, anchored in the database (issue
 * 13): the challenge's browser binding is unique among web sessions, so a
 * completion that a shared store's failover let happen twice (the
 * challenge's COMPLETED write lost) cannot make a second session. (The app
 * session that confirmed is revoked in the same transaction too.) */
static const char schema_v13[] =
    "CREATE UNIQUE INDEX web_sessions_binding ON web_sessions(binding_hash)"
    " WHERE binding_hash IS NOT NULL;";

static const struct {
  int version;
  const char *sql;
} migrations[] = {{1, schema_v1}, {2, schema_v2}, {3, schema_v3}, {4, schema_v4},
                  {5, schema_v5}, {6, schema_v6}, {7, schema_v7}, {8, schema_v8},
                  {9, schema_v9}, {10, schema_v10}, {11, schema_v11}, {12, schema_v12},
                  {13, schema_v13}};

#define SCHEMA_VERSION QRL_DB_SCHEMA_VERSION
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == SCHEMA_VERSION,
               "one migration per schema version");

/* ---- open / migrate ------------------------------------------------------- */

static qrl_err open_db(const char *path, int target, qrl_log *log, qrl_db **out);

qrl_err qrl_db_open(const char *path, qrl_db **out) {
  return open_db(path, SCHEMA_VERSION, NULL, out);
}

qrl_err qrl_db_open_log(const char *path, qrl_log *log, qrl_db **out) {
  return open_db(path, SCHEMA_VERSION, log, out);
}

qrl_err qrl_db_open_version(const char *path, int target, qrl_db **out) {
  return open_db(path, target, NULL, out);
}

/* Tightens path to mode 0600 if it exists with group/other bits. */
static int tighten(const char *path, qrl_log *log) {
  struct stat st;
  if (stat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISREG(st.st_mode) || !(st.st_mode & 077)) return 0;
  if (chmod(path, st.st_mode & 0700) != 0) return -1;
  qrl_log_msg(log, QRL_LOG_WARN, "db_mode", "%s was readable by others (mode %04o); now 0600",
              path, (unsigned)(st.st_mode & 07777));
  return 0;
}

/* The database holds password, passcode and session hashes: it is the
 * owner's alone. A new file is created 0600 whatever the umask (SQLite then
 * gives its -wal and -shm the database's mode); an existing one and its
 * -wal/-shm are tightened by name. Never open()s and close()s an existing
 * database file: closing any descriptor of a file drops every POSIX lock
 * this process holds on it, including those of SQLite connections other
 * threads have open. 0, or -1 with errno set. */
static int make_private(const char *path, qrl_log *log) {
  char side[4096];
  struct stat st;
  if (stat(path, &st) != 0) {
    int fd;
    if (errno != ENOENT) return -1;
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd); /* nobody had it open: it did not exist */
    else if (errno != EEXIST) return -1; /* another thread made it just now */
  }
  if (tighten(path, log)) return -1;
  for (int i = 0; i < 2; i++) {
    int n = snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal");
    if (n < 0 || (size_t)n >= sizeof(side) || tighten(side, log)) return -1;
  }
  return 0;
}

/* PostgreSQL: the schema is created whole, at QRL_DB_SCHEMA_VERSION (no
 * PostgreSQL database predates it), under the write lock, so nodes that
 * start together create it once; its version is in qrl_schema. */
static qrl_err open_pg(qrl_db *db, const char *url, int target) {
  char shown[512], bump[64];
  qrl_stmt *st = NULL;
  int version = -1, r;

  qrl_pg_redact(url, shown, sizeof(shown));
  if (target != SCHEMA_VERSION) {
    qrl_log_msg(db->log, QRL_LOG_ERROR, "db_open",
                "PostgreSQL databases begin at schema v%d: there is no v%d to make",
                SCHEMA_VERSION, target);
    return QRL_DB;
  }
  if (qrl_pg_connect(url, db->log, &db->pg)) return QRL_DB;
  if (qrl_sql_begin(db)) goto fail;
  st = qrl_sql_prep(db, "SELECT to_regclass('qrl_schema') IS NOT NULL");
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) version = qrl_sql_col_int(st, 0) ? -2 : 0;
  qrl_sql_done(db, st);
  if (version == -2) {
    version = -1;
    st = qrl_sql_prep(db, "SELECT version FROM qrl_schema");
    if (qrl_sql_step(st) == QRL_SQL_ROW) version = qrl_sql_col_int(st, 0);
    qrl_sql_done(db, st);
  }
  if (version < 0 || version > SCHEMA_VERSION) {
    qrl_sql_rollback(db);
    qrl_log_msg(db->log, QRL_LOG_ERROR, "db_open", "%s has unknown schema version %d", shown,
                version);
    return QRL_DB;
  }
  if (version == 0) {
    snprintf(bump, sizeof(bump), "INSERT INTO qrl_schema VALUES(%d)", SCHEMA_VERSION);
    if (qrl_sql_exec(db, qrl_pg_schema) ||
        qrl_sql_exec(db, "CREATE TABLE qrl_schema(version BIGINT NOT NULL)") ||
        qrl_sql_exec(db, bump)) {
      qrl_log_msg(db->log, QRL_LOG_ERROR, "db_migrate", "creating the schema in %s failed: %s",
                  shown, qrl_sql_errmsg(db));
      qrl_sql_rollback(db);
      return QRL_DB;
    }
    qrl_log_msg(db->log, QRL_LOG_NOTICE, "db_created", "schema v%d created in %s",
                SCHEMA_VERSION, shown);
  }
  return qrl_sql_commit(db);
fail:
  qrl_log_msg(db->log, QRL_LOG_ERROR, "db_open", "cannot use %s: %s", shown,
              qrl_sql_errmsg(db));
  return QRL_DB;
}

static qrl_err open_db(const char *path, int target, qrl_log *log, qrl_db **out) {
  qrl_db *db = calloc(1, sizeof(*db));
  qrl_stmt *st = NULL;
  int version = -1;
  qrl_err rc = QRL_DB;

  *out = NULL;
  if (!db) return QRL_NOMEM;
  db->log = log;
  if (qrl_pg_is_url(path)) {
    rc = open_pg(db, path, target);
    goto out;
  }
  if (make_private(path, log)) {
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "cannot open %s: %s", path, strerror(errno));
    goto out;
  }
  if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "cannot open %s: %s", path,
                db->h ? sqlite3_errmsg(db->h) : "out of memory");
    goto out;
  }
  /* SQLite falls back to read-only without a word: say it, and stop. */
  if (sqlite3_db_readonly(db->h, "main") == 1) {
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open",
                "%s is read-only for this user: the server writes to it", path);
    goto out;
  }
  sqlite3_busy_handler(db->h, on_busy, db); /* busy_timeout's waits, counted */
  if (qrl_sql_exec(db, "PRAGMA journal_mode=WAL") || qrl_sql_exec(db, "PRAGMA synchronous=NORMAL") ||
      qrl_sql_exec(db, "PRAGMA foreign_keys=ON")) {
    /* e.g. "file is not a database" */
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "cannot use %s: %s", path,
                sqlite3_errmsg(db->h));
    goto out;
  }
  if (qrl_sql_begin(db)) goto out;
  st = qrl_sql_prep(db, "PRAGMA user_version");
  if (qrl_sql_step(st) == QRL_SQL_ROW) version = qrl_sql_col_int(st, 0);
  qrl_sql_done(db, st);
  if (version < 0 || version > SCHEMA_VERSION || target > SCHEMA_VERSION) {
    qrl_sql_rollback(db);
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "%s has unknown schema version %d", path,
                version);
    goto out;
  }
  for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
    char bump[40];
    if (version >= migrations[i].version || migrations[i].version > target) continue;
    snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", migrations[i].version);
    if (qrl_sql_exec(db, migrations[i].sql) || qrl_sql_exec(db, bump)) {
      qrl_log_msg(log, QRL_LOG_ERROR, "db_migrate", "migration to v%d failed: %s",
              migrations[i].version, sqlite3_errmsg(db->h));
      qrl_sql_rollback(db);
      goto out;
    }
  }
  rc = qrl_sql_commit(db);
out:
  if (rc) qrl_db_close(db);
  else *out = db;
  return rc;
}

void qrl_db_close(qrl_db *db) {
  if (!db) return;
  for (size_t i = 0; i < STMT_SLOTS; i++) {
    stmt_free(db->stmts[i].st);
    free(db->stmts[i].sql);
  }
  sqlite3_close(db->h); /* NULL-safe */
  qrl_pg_close(db->pg);
  free(db);
}

/* ---- audit ---------------------------------------------------------------- */

/* The bytes a row's hash covers: each field as "<length>:<bytes>;" ("-;"
 * for NULL), in column order, after the previous row's hash. QRL_CRYPTO if
 * the digest failed: no row is written with a hash that is not one. */
static qrl_err chain_hash(const uint8_t prev[QRL_SHA256_LEN], int64_t at,
                       const char *const text[8], int64_t device_id,
                       uint8_t out[QRL_SHA256_LEN]) {
  char buf[4096];
  size_t n = 0;
  memcpy(buf, prev, QRL_SHA256_LEN);
  n = QRL_SHA256_LEN;
  n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%lld;%lld;", (long long)at,
                        (long long)device_id);
  for (int i = 0; i < 8 && n < sizeof(buf); i++) {
    if (!text[i]) n += (size_t)snprintf(buf + n, sizeof(buf) - n, "-;");
    else n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%zu:%s;", strlen(text[i]), text[i]);
  }
  if (n > sizeof(buf)) n = sizeof(buf);
  return qrl_sha256(buf, n, out);
}

/* The row_hash of the newest chained row, or zeros if there is none. */
static qrl_err chain_head(qrl_db *db, uint8_t head[QRL_SHA256_LEN]) {
  qrl_stmt *st = qrl_sql_prep(db, "SELECT row_hash FROM audit WHERE row_hash IS NOT"
                                      " NULL ORDER BY id DESC LIMIT 1");
  memset(head, 0, QRL_SHA256_LEN);
  if (!st) return QRL_DB;
  if (qrl_sql_step(st) == QRL_SQL_ROW && qrl_sql_col_bytes(st, 0) == QRL_SHA256_LEN)
    memcpy(head, qrl_sql_col_blob(st, 0), QRL_SHA256_LEN);
  qrl_sql_done(db, st);
  return QRL_OK;
}

qrl_err qrl_db_audit(qrl_db *db, const char *event, qrl_err outcome,
                     const char *citizen_id, int64_t device_id,
                     const char *detail, const qrl_req_ctx *rc) {
  const char *text[8] = {event, qrl_err_code(outcome), citizen_id,
                         rc ? rc->ip : NULL, rc ? rc->user_agent : NULL, detail,
                         rc ? rc->flow : NULL, NULL};
  char *clean[8] = {NULL};
  uint8_t prev[QRL_SHA256_LEN], hash[QRL_SHA256_LEN];
  int64_t at = rc ? rc->now : 0;
  int own_tx = !qrl_sql_in_tx(db);
  qrl_stmt *st;
  qrl_err err = QRL_OK;

  /* The trail holds clean text: a header that came from outside (an
   * Origin, a User-Agent) may hold control characters or bytes that are
   * not UTF-8, which an operator's terminal would obey and PostgreSQL
   * refuses (a refused row would be lost, with the rows of its batch). */
  for (int i = 0; i < 7; i++) {
    if (!text[i] || qrl_text_is_clean(text[i])) continue;
    if (!(clean[i] = strdup(text[i]))) {
      err = QRL_NOMEM;
      break;
    }
    qrl_text_clean(clean[i], 0);
    text[i] = clean[i];
  }
  /* Reading the head and appending must not interleave with another
   * writer: inside the caller's transaction, or one of our own. */
  if (err || (own_tx && qrl_sql_begin(db))) {
    for (int i = 0; i < 7; i++) free(clean[i]);
    audit_lost(db, event, 1);
    return err ? err : QRL_DB;
  }
  if ((err = chain_head(db, prev))) goto out;
  if ((err = chain_hash(prev, at, text, device_id, hash))) goto out;
  st = qrl_sql_prep(db,
      "INSERT INTO audit(at, event, outcome, citizen_id, device_id, ip,"
      " user_agent, detail, flow, prev_hash, row_hash) VALUES(?,?,?,?,?,?,?,?,?,?,?)");
  if (st) {
    qrl_sql_bind_int64(st, 1, at);
    qrl_sql_bind_text(st, 2, text[0]);
    qrl_sql_bind_text(st, 3, text[1]);
    qrl_sql_bind_text(st, 4, text[2]);
    if (device_id) qrl_sql_bind_int64(st, 5, device_id);
    else qrl_sql_bind_null(st, 5);
    qrl_sql_bind_text(st, 6, text[3]);
    qrl_sql_bind_text(st, 7, text[4]);
    qrl_sql_bind_text(st, 8, text[5]);
    qrl_sql_bind_text(st, 9, text[6]);
    qrl_sql_bind_blob(st, 10, prev, sizeof(prev));
    qrl_sql_bind_blob(st, 11, hash, sizeof(hash));
  }
  err = qrl_sql_run(db, st);
out:
  if (err) {
    audit_lost(db, event, 1); /* never inserted */
  } else {
    db->tx_audits++; /* inserted: it stands or falls with the transaction */
    snprintf(db->tx_event, sizeof(db->tx_event), "%s", event);
    log_event(db, 1, event, outcome, citizen_id, device_id, detail, rc);
  }
  if (own_tx) {
    if (!err) err = qrl_sql_commit(db);
    if (err) qrl_sql_rollback(db);
  }
  for (int i = 0; i < 7; i++) free(clean[i]);
  return err;
}

qrl_err qrl_db_audit_rows(qrl_db *db, const qrl_audit_rec *rows, size_t n) {
  qrl_err err = QRL_OK;
  size_t i = 0;

  size_t bad = n; /* the row that failed in the batch, said and counted */

  if (n > 1 && !qrl_sql_begin(db)) {
    for (; i < n; i++) {
      const qrl_audit_rec *r = &rows[i];
      if ((err = qrl_db_audit(db, r->event, r->outcome, r->citizen_id, r->device_id,
                              r->detail, &r->rc))) {
        bad = i;
        break;
      }
    }
    if (!err) {
      if ((err = qrl_sql_commit(db))) qrl_sql_rollback(db); /* the rows counted */
      return err;
    }
    /* The rows before it are written again below: not lost. */
    qrl_sql_audit_retried(db, (int)bad);
    qrl_sql_rollback(db);
    err = QRL_DB;
  }
  for (i = 0; i < n; i++) { /* one by one, each in its own transaction */
    const qrl_audit_rec *r = &rows[i];
    if (i == bad) continue;
    if (qrl_db_audit(db, r->event, r->outcome, r->citizen_id, r->device_id, r->detail,
                     &r->rc))
      err = QRL_DB;
  }
  return err;
}

void qrl_sql_audit_retried(qrl_db *db, int n) {
  db->tx_audits = db->tx_audits > n ? db->tx_audits - n : 0;
}

qrl_err qrl_db_audit_verify(qrl_db *db, int64_t *rows, int64_t *bad_id) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT id, at, event, outcome, citizen_id, device_id, ip, user_agent, detail,"
      " flow, prev_hash, row_hash FROM audit WHERE row_hash IS NOT NULL ORDER BY id");
  uint8_t expect[QRL_SHA256_LEN], hash[QRL_SHA256_LEN];
  qrl_err err = QRL_OK;

  *rows = 0;
  *bad_id = 0;
  memset(expect, 0, sizeof(expect));
  if (!st) return QRL_DB;
  while (qrl_sql_step(st) == QRL_SQL_ROW) {
    const char *text[8];
    for (int i = 0; i < 7; i++) text[i] = qrl_sql_col_text(st, 2 + (i < 3 ? i : i + 1));
    text[7] = NULL;
    if ((err = chain_hash(expect, qrl_sql_col_int64(st, 1), text,
                          qrl_sql_col_int64(st, 5), hash)))
      break;
    if (qrl_sql_col_bytes(st, 10) != QRL_SHA256_LEN ||
        qrl_sql_col_bytes(st, 11) != QRL_SHA256_LEN ||
        memcmp(qrl_sql_col_blob(st, 10), expect, QRL_SHA256_LEN) != 0 ||
        memcmp(qrl_sql_col_blob(st, 11), hash, QRL_SHA256_LEN) != 0) {
      *bad_id = qrl_sql_col_int64(st, 0);
      err = QRL_INTERNAL;
      break;
    }
    memcpy(expect, hash, sizeof(expect));
    (*rows)++;
  }
  qrl_sql_done(db, st);
  return err;
}

long qrl_db_audit_count(qrl_db *db, const char *event, const char *outcome) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT count(*) FROM audit WHERE (?1 IS NULL OR event = ?1)"
      " AND (?2 IS NULL OR outcome = ?2)");
  long n = -1;
  if (!st) return -1;
  qrl_sql_bind_text(st, 1, event);
  qrl_sql_bind_text(st, 2, outcome);
  if (qrl_sql_step(st) == QRL_SQL_ROW) n = (long)qrl_sql_col_int64(st, 0);
  qrl_sql_done(db, st);
  return n;
}

