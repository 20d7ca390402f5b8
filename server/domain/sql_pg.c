/*
 * sql_pg.c - PostgreSQL under sql.h (pg.h): a libpq connection per qrl_db,
 * SQLite-style statements sent as PostgreSQL's, and the schema.
 */
#include "pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helpers/log.h"
#include "sql.h"

/* Type OIDs (PostgreSQL's pg_type.h; stable across releases). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

struct qrl_pg {
  PGconn *c;
  unsigned gen;    /* connections opened so far: a new one has no prepared statements */
  unsigned names;  /* prepared statements named so far */
  qrl_log *log;    /* not owned */
  int tx;          /* a transaction this side began and has not ended */
  int64_t changes; /* rows the last statement changed */
  char err[256];   /* the last error */
};

struct qrl_pgq {
  qrl_pg *pg;
  char *sql;       /* owned: the PostgreSQL text */
  int n;           /* parameters */
  int read_only;   /* a SELECT */
  int unbound;     /* a parameter could not be copied (out of memory): it fails */
  char name[16];   /* its prepared statement's name on the connection; "": none */
  unsigned gen;    /* the connection it was prepared on (qrl_pg.gen + 1; 0: not yet) */
  char **val;      /* owned: each parameter's bytes (NULL: SQL NULL) */
  int *len, *fmt;  /* per parameter: length (blobs), format (1: binary) */
  Oid *type;       /* per parameter: its type (0: PostgreSQL infers it) */
  PGresult *res;   /* owned: the result while it is read */
  int row, rows;   /* the current row and how many */
  unsigned char **blob; /* owned, per column: the current row's bytea, decoded */
  size_t *blen;
  int *bat;        /* per column: the row (+1) blob[] holds; 0: none */
  int ncols;
};

int qrl_pg_is_url(const char *path) {
  return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

/* Appends n bytes of s to out (cap bytes, *o used), cut short if full. */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n) {
  if (*o + 1 >= cap) return;
  if (n > cap - 1 - *o) n = cap - 1 - *o;
  memcpy(out + *o, s, n);
  *o += n;
  out[*o] = 0;
}

void qrl_pg_redact(const char *url, char *out, size_t cap) {
  const char *scheme = strstr(url, "://"), *auth, *at = NULL, *colon, *p;
  size_t o = 0, len;
  if (!cap) return;
  out[0] = 0;
  if (!scheme) {
    put(out, cap, &o, url, strlen(url));
    return;
  }
  auth = scheme + 3;
  len = strcspn(auth, "/"); /* user:password@host:port (libpq reads a ? in it as part) */
  for (size_t i = 0; i < len; i++) /* the last @: a password may hold one */
    if (auth[i] == '@') at = auth + i;
  if (at && (colon = memchr(auth, ':', (size_t)(at - auth)))) {
    put(out, cap, &o, url, (size_t)(colon - url));
    put(out, cap, &o, ":***", 4);
    p = at;
  } else {
    p = url;
  }
  /* The rest as it is, but the value of a parameter whose name holds
   * "pass" (password, sslpassword, a percent-encoded spelling of either). */
  while (*p) {
    size_t n = strcspn(p, "?&");
    put(out, cap, &o, p, n);
    p += n;
    if (!*p) break;
    put(out, cap, &o, p++, 1); /* the ? or & */
    {
      size_t key = strcspn(p, "=&");
      int secret = 0;
      for (size_t i = 0; i + 4 <= key && !secret; i++)
        secret = !strncasecmp(p + i, "pass", 4);
      if (secret && p[key] == '=') {
        put(out, cap, &o, p, key + 1);
        put(out, cap, &o, "***", 3);
        p += key + 1;
        p += strcspn(p, "&");
      }
    }
  }
}

static void set_err(qrl_pg *pg, const char *msg) {
  size_t n;
  snprintf(pg->err, sizeof(pg->err), "%s", msg ? msg : "");
  n = strlen(pg->err);
  while (n && (pg->err[n - 1] == '\n' || pg->err[n - 1] == ' ')) pg->err[--n] = 0;
}

/* Notices ("relation already exists, skipping" and the like) go to the log
 * at debug, never to stderr. */
static void on_notice(void *arg, const char *msg) {
  qrl_log_msg(arg, QRL_LOG_DEBUG, "db_notice", "%s", msg);
}

qrl_err qrl_pg_connect(const char *url, qrl_log *log, qrl_pg **out) {
  /* The URL's own connect_timeout, if it has one, wins (expanded later). */
  const char *keys[] = {"connect_timeout", "dbname", NULL};
  const char *vals[] = {"5", url, NULL};
  char shown[512], *bad = NULL;
  PQconninfoOption *opts;
  qrl_pg *pg;

  *out = NULL;
  qrl_pg_redact(url, shown, sizeof(shown));
  /* libpq's words about a malformed URL may quote it, password and all:
   * parse it first, and say only that. */
  if (!(opts = PQconninfoParse(url, &bad))) {
    PQfreemem(bad);
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "%s is not a valid PostgreSQL URL", shown);
    return QRL_DB;
  }
  PQconninfoFree(opts);
  if (!(pg = calloc(1, sizeof(*pg)))) return QRL_NOMEM;
  pg->log = log;
  pg->c = PQconnectdbParams(keys, vals, 1);
  if (!pg->c || PQstatus(pg->c) != CONNECTION_OK) {
    set_err(pg, pg->c ? PQerrorMessage(pg->c) : "out of memory");
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "cannot connect to %s: %s", shown, pg->err);
    qrl_pg_close(pg);
    return QRL_DB;
  }
  PQsetNoticeProcessor(pg->c, on_notice, log);
  /* A writer waiting on another's lock waits as long as SQLite's busy
   * timeout; a transaction left open by a stuck worker is ended. */
  if (qrl_pg_exec(pg, "SET lock_timeout = '5s'; SET statement_timeout = '30s';"
                      " SET idle_in_transaction_session_timeout = '60s'")) {
    qrl_log_msg(log, QRL_LOG_ERROR, "db_open", "cannot use %s: %s", shown, pg->err);
    qrl_pg_close(pg);
    return QRL_DB;
  }
  *out = pg;
  return QRL_OK;
}

void qrl_pg_close(qrl_pg *pg) {
  if (!pg) return;
  PQfinish(pg->c); /* NULL-safe */
  free(pg);
}

/* A connection that broke (the server restarted, a failover) is opened
 * again before the next statement - but not inside a transaction: that is
 * lost with the connection, and its statements fail until it is ended. */
static int ensure(qrl_pg *pg) {
  if (PQstatus(pg->c) == CONNECTION_OK) return 0;
  if (pg->tx) {
    set_err(pg, "the connection was lost inside a transaction");
    return -1;
  }
  PQreset(pg->c);
  pg->gen++;
  if (PQstatus(pg->c) != CONNECTION_OK) {
    set_err(pg, PQerrorMessage(pg->c));
    return -1;
  }
  qrl_log_msg(pg->log, QRL_LOG_NOTICE, "db_reconnected", "PostgreSQL connection opened again");
  return qrl_pg_exec(pg, "SET lock_timeout = '5s'; SET statement_timeout = '30s';"
                         " SET idle_in_transaction_session_timeout = '60s'");
}

/* 1 if the connection turned out broken (a restarted server closes it;
 * libpq notices on the next statement) outside a transaction: a BEGIN or
 * a read that failed so may be sent again, once, on a new connection. */
static int lost(qrl_pg *pg) { return !pg->tx && PQstatus(pg->c) == CONNECTION_BAD; }

int qrl_pg_exec(qrl_pg *pg, const char *sql) {
  PGresult *r;
  ExecStatusType s;
  int ok, begins = !strncmp(sql, "BEGIN", 5), ends = !strncmp(sql, "COMMIT", 6) ||
                                                      !strncmp(sql, "ROLLBACK", 8);
  if (ends && PQstatus(pg->c) != CONNECTION_OK) { /* nothing left to end */
    pg->tx = 0;
    set_err(pg, "the connection was lost inside a transaction");
    return !strncmp(sql, "ROLLBACK", 8) ? 0 : -1;
  }
  if (ensure(pg)) return -1;
  r = PQexec(pg->c, sql);
  s = PQresultStatus(r);
  if (s == PGRES_FATAL_ERROR && begins && lost(pg)) { /* nothing had begun: again */
    PQclear(r);
    if (ensure(pg)) return -1;
    r = PQexec(pg->c, sql);
    s = PQresultStatus(r);
  }
  ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
  if (ok && !strncmp(sql, "COMMIT", 6) && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
    ok = 0; /* the transaction had failed: COMMIT rolled it back */
    set_err(pg, "the transaction failed and was rolled back");
  } else if (!ok) {
    set_err(pg, PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(pg->c));
  }
  PQclear(r);
  /* "BEGIN; lock" whose lock timed out leaves a failed transaction open:
   * end it, or every later statement on this connection would fail. */
  if (begins && !ok && PQstatus(pg->c) == CONNECTION_OK &&
      PQtransactionStatus(pg->c) != PQTRANS_IDLE)
    PQclear(PQexec(pg->c, "ROLLBACK"));
  if (begins && ok) pg->tx = 1;
  if (ends) pg->tx = 0;
  return ok ? 0 : -1;
}

int qrl_pg_in_tx(qrl_pg *pg) {
  return pg->tx || PQtransactionStatus(pg->c) == PQTRANS_INTRANS ||
         PQtransactionStatus(pg->c) == PQTRANS_INERROR;
}

const char *qrl_pg_errmsg(qrl_pg *pg) { return pg->err; }

int64_t qrl_pg_changes(qrl_pg *pg) { return pg->changes; }

/* sql with SQLite's ?NNN and ? as $NNN (a plain ? is one more than the
 * largest number before it, as SQLite counts), quoted text left alone.
 * *n: the parameters. NULL if out of memory or a number is out of range. */
char *qrl_pg_translate(const char *sql, int *n) {
  size_t cap = strlen(sql) * 2 + 16, o = 0;
  char *out = malloc(cap), quote = 0;
  int max = 0;
  if (!out) return NULL;
  for (const char *p = sql; *p; p++) {
    if (o + 12 >= cap) {
      char *bigger = realloc(out, cap *= 2);
      if (!bigger) { free(out); return NULL; }
      out = bigger;
    }
    if (quote) {
      if (*p == quote) quote = 0;
      out[o++] = *p;
    } else if (*p == '\'' || *p == '"') {
      quote = *p;
      out[o++] = *p;
    } else if (*p == '?') {
      int k = 0;
      while (p[1] >= '0' && p[1] <= '9') {
        k = k * 10 + (*++p - '0');
        if (k > 999) { free(out); return NULL; }
      }
      if (!k) k = max + 1;
      if (k > max) max = k;
      o += (size_t)snprintf(out + o, cap - o, "$%d", k);
    } else {
      out[o++] = *p;
    }
  }
  out[o] = 0;
  *n = max;
  return out;
}

qrl_pgq *qrl_pg_prepare(qrl_pg *pg, const char *sql) {
  qrl_pgq *q = calloc(1, sizeof(*q));
  if (!q) return NULL;
  q->pg = pg;
  if (!(q->sql = qrl_pg_translate(sql, &q->n))) goto fail;
  q->read_only = !strncmp(sql, "SELECT", 6);
  if (q->n && (!(q->val = calloc((size_t)q->n, sizeof(*q->val))) ||
               !(q->len = calloc((size_t)q->n, sizeof(*q->len))) ||
               !(q->fmt = calloc((size_t)q->n, sizeof(*q->fmt))) ||
               !(q->type = calloc((size_t)q->n, sizeof(*q->type)))))
    goto fail;
  return q;
fail:
  qrl_pg_free(q);
  return NULL;
}

static void drop_result(qrl_pgq *q) {
  for (int i = 0; q->blob && i < q->ncols; i++) PQfreemem(q->blob[i]);
  free(q->blob);
  free(q->blen);
  free(q->bat);
  q->blob = NULL;
  q->blen = NULL;
  q->bat = NULL;
  q->ncols = 0;
  PQclear(q->res);
  q->res = NULL;
  q->row = q->rows = 0;
}

void qrl_pg_reset(qrl_pgq *q) {
  drop_result(q);
  q->unbound = 0;
  for (int i = 0; i < q->n; i++) {
    free(q->val[i]);
    q->val[i] = NULL;
    q->len[i] = q->fmt[i] = 0;
    q->type[i] = 0;
  }
}

void qrl_pg_free(qrl_pgq *q) {
  if (!q) return;
  drop_result(q);
  for (int i = 0; q->val && i < q->n; i++) free(q->val[i]); /* the other arrays may be NULL */
  free(q->val);
  free(q->len);
  free(q->fmt);
  free(q->type);
  free(q->sql);
  free(q);
}

/* Parameter i (from 1) becomes n bytes of v (copied; v NULL: SQL NULL). */
static void bind(qrl_pgq *q, int i, Oid type, const void *v, size_t n, int binary) {
  char *copy = NULL;
  if (i < 1 || i > q->n) return; /* as SQLite: SQLITE_RANGE, nothing bound */
  if (v && !(copy = malloc(n + 1))) {
    q->unbound = 1; /* qrl_pg_step fails rather than run with a NULL in its place */
    return;
  }
  if (v) {
    memcpy(copy, v, n);
    copy[n] = 0;
  }
  free(q->val[i - 1]);
  q->val[i - 1] = copy;
  q->len[i - 1] = (int)n;
  q->fmt[i - 1] = binary;
  q->type[i - 1] = type;
}

void qrl_pg_bind_int64(qrl_pgq *q, int i, int64_t v) {
  char num[24];
  int n = snprintf(num, sizeof(num), "%lld", (long long)v);
  bind(q, i, OID_INT8, num, (size_t)n, 0);
}

void qrl_pg_bind_double(qrl_pgq *q, int i, double v) {
  char num[40];
  int n = snprintf(num, sizeof(num), "%.17g", v);
  bind(q, i, OID_FLOAT8, num, (size_t)n, 0);
}

void qrl_pg_bind_null(qrl_pgq *q, int i) { bind(q, i, 0, NULL, 0, 0); }

void qrl_pg_bind_text(qrl_pgq *q, int i, const char *s) {
  bind(q, i, OID_TEXT, s, s ? strlen(s) : 0, 0);
}

void qrl_pg_bind_blob(qrl_pgq *q, int i, const void *b, size_t n) {
  static const char none = 0;
  bind(q, i, OID_BYTEA, b ? b : &none, n, 1);
}

/* Runs q once: as a prepared statement if it is kept (prepared on this
 * connection the first time, with the types of the first use's parameters;
 * a later use's NULL or text fits them), else parsed anew. */
static PGresult *exec_once(qrl_pgq *q) {
  qrl_pg *pg = q->pg;
  if (q->name[0] && q->gen != pg->gen + 1) {
    PGresult *r = PQprepare(pg->c, q->name, q->sql, q->n, q->type);
    ExecStatusType s = PQresultStatus(r);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (s == PGRES_COMMAND_OK) {
      q->gen = pg->gen + 1;
    } else if (PQstatus(pg->c) == CONNECTION_OK && (!state || strcmp(state, "25P02") != 0)) {
      /* refused for good (not a failed transaction, not a lost connection) */
      qrl_log_kv(pg->log, QRL_LOG_DEBUG, "db_unprepared", "sql", q->sql, (const char *)NULL);
      q->name[0] = '\0';
    }
    PQclear(r);
  }
  if (q->name[0] && q->gen == pg->gen + 1)
    return PQexecPrepared(pg->c, q->name, q->n, (const char *const *)q->val, q->len, q->fmt, 0);
  return PQexecParams(pg->c, q->sql, q->n, q->type, (const char *const *)q->val, q->len, q->fmt,
                      0);
}

void qrl_pg_keep(qrl_pgq *q) {
  snprintf(q->name, sizeof(q->name), "qrl%u", ++q->pg->names);
}

int qrl_pg_step(qrl_pgq *q) {
  qrl_pg *pg = q->pg;
  ExecStatusType s;
  const char *state;

  if (q->res) return ++q->row < q->rows ? QRL_SQL_ROW : QRL_SQL_DONE;
  if (q->unbound) {
    set_err(pg, "out of memory binding a parameter");
    return QRL_SQL_ERROR;
  }
  if (ensure(pg)) return QRL_SQL_ERROR;
  q->res = exec_once(q);
  s = PQresultStatus(q->res);
  if (s == PGRES_FATAL_ERROR && q->read_only && lost(pg) && !ensure(pg)) {
    PQclear(q->res); /* a read: safe to send again */
    q->res = exec_once(q);
    s = PQresultStatus(q->res);
  }
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
    if (!q->read_only) pg->changes = strtoll(PQcmdTuples(q->res), NULL, 10); /* as SQLite */
    q->rows = PQntuples(q->res);
    q->ncols = PQnfields(q->res);
    q->row = 0;
    if (q->ncols && (!(q->blob = calloc((size_t)q->ncols, sizeof(*q->blob))) ||
                     !(q->blen = calloc((size_t)q->ncols, sizeof(*q->blen))) ||
                     !(q->bat = calloc((size_t)q->ncols, sizeof(*q->bat))))) {
      set_err(pg, "out of memory");
      drop_result(q);
      q->res = PQmakeEmptyPGresult(NULL, PGRES_FATAL_ERROR); /* no rows, not run again */
      return QRL_SQL_ERROR;
    }
    return q->rows ? QRL_SQL_ROW : QRL_SQL_DONE;
  }
  set_err(pg, PQresultErrorMessage(q->res)[0] ? PQresultErrorMessage(q->res)
                                               : PQerrorMessage(pg->c));
  state = PQresultErrorField(q->res, PG_DIAG_SQLSTATE);
  q->rows = 0;
  q->row = 0;
  if (state && !strcmp(state, "23505")) return QRL_SQL_DUP; /* unique_violation */
  qrl_log_kv(pg->log, QRL_LOG_WARN, "db_error", "sqlstate", state ? state : "-", "msg", pg->err,
             "sql", q->sql, (const char *)NULL);
  return QRL_SQL_ERROR;
}

static int on_row(qrl_pgq *q, int col) {
  return q->res && q->row < q->rows && col >= 0 && col < PQnfields(q->res);
}

int qrl_pg_col_null(qrl_pgq *q, int col) {
  return !on_row(q, col) || PQgetisnull(q->res, q->row, col);
}

int64_t qrl_pg_col_int64(qrl_pgq *q, int col) {
  const char *v;
  if (qrl_pg_col_null(q, col)) return 0;
  v = PQgetvalue(q->res, q->row, col);
  if (PQftype(q->res, col) == OID_BOOL) return v[0] == 't';
  return strtoll(v, NULL, 10);
}

double qrl_pg_col_double(qrl_pgq *q, int col) {
  return qrl_pg_col_null(q, col) ? 0.0 : strtod(PQgetvalue(q->res, q->row, col), NULL);
}

const char *qrl_pg_col_text(qrl_pgq *q, int col) {
  return qrl_pg_col_null(q, col) ? NULL : PQgetvalue(q->res, q->row, col);
}

const void *qrl_pg_col_blob(qrl_pgq *q, int col, int *len) {
  *len = 0;
  if (qrl_pg_col_null(q, col)) return NULL;
  if (PQftype(q->res, col) != OID_BYTEA) { /* text read as bytes, as SQLite does */
    *len = PQgetlength(q->res, q->row, col);
    return PQgetvalue(q->res, q->row, col);
  }
  if (q->bat[col] != q->row + 1) { /* decoded once per row */
    PQfreemem(q->blob[col]);
    q->blob[col] = PQunescapeBytea((const unsigned char *)PQgetvalue(q->res, q->row, col),
                                   &q->blen[col]);
    q->bat[col] = q->row + 1;
  }
  *len = q->blob[col] ? (int)q->blen[col] : 0;
  return q->blob[col];
}

/* ---- schema --------------------------------------------------------------- */

/* db.c's migrations, v1 to v13, applied: the same tables, columns (in the
 * same order), keys, constraints, indexes and triggers. SQLite's INTEGER
 * (64-bit) is BIGINT, BLOB is BYTEA, REAL is DOUBLE PRECISION, a rowid key
 * an identity column; the triggers are PL/pgSQL functions. A later
 * migration adds its PostgreSQL text beside its SQLite one. */
const char qrl_pg_schema[] =
    "CREATE TABLE citizens("
    " id TEXT PRIMARY KEY CHECK(length(id) = 12),"
    " full_name TEXT NOT NULL,"
    " level BIGINT NOT NULL CHECK(level IN (1, 2)),"
    " phone TEXT,"
    " password_hash TEXT NOT NULL,"
    " passcode_hash TEXT NOT NULL,"
    " web_login BIGINT NOT NULL DEFAULT 0,"
    " passcode_failures BIGINT NOT NULL DEFAULT 0,"
    " passcode_locked_until BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " dob TEXT,"
    " passcode_locks BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE devices("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " citizen_id TEXT NOT NULL REFERENCES citizens(id),"
    " pubkey BYTEA NOT NULL,"
    " name TEXT,"
    " created_at BIGINT NOT NULL,"
    " revoked_at BIGINT);"
    "CREATE INDEX devices_citizen ON devices(citizen_id);"
    "CREATE TABLE app_sessions("
    " token_hash BYTEA PRIMARY KEY,"
    " citizen_id TEXT NOT NULL REFERENCES citizens(id),"
    " device_id BIGINT NOT NULL REFERENCES devices(id),"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " revoked_at BIGINT,"
    " revoke_reason TEXT);"
    "CREATE INDEX app_sessions_device ON app_sessions(device_id);"
    "CREATE TABLE audit("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " event TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " citizen_id TEXT,"
    " device_id BIGINT,"
    " ip TEXT,"
    " user_agent TEXT,"
    " detail TEXT,"
    " flow TEXT,"
    " prev_hash BYTEA,"
    " row_hash BYTEA);"
    "CREATE INDEX audit_citizen ON audit(citizen_id, at);"
    "CREATE INDEX audit_flow ON audit(flow) WHERE flow IS NOT NULL;"
    "CREATE FUNCTION qrl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION qrl_audit_append_only();"
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION qrl_audit_append_only();"
    "CREATE TABLE population("
    " id TEXT PRIMARY KEY CHECK(length(id) = 12),"
    " full_name TEXT NOT NULL,"
    " dob TEXT NOT NULL);"
    "CREATE TABLE portal_accounts("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK(kind IN ('citizen', 'organization')),"
    " display_name TEXT NOT NULL,"
    " password_hash TEXT NOT NULL,"
    " phone TEXT,"
    " dob TEXT,"
    " citizen_id TEXT,"
    " id_verified_at BIGINT,"
    " linked_citizen TEXT REFERENCES citizens(id),"
    " linked_at BIGINT,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX portal_accounts_citizen ON portal_accounts(citizen_id);"
    "CREATE INDEX portal_accounts_linked ON portal_accounts(linked_citizen);"
    "CREATE TABLE dossiers("
    " id TEXT PRIMARY KEY,"
    " account_id BIGINT NOT NULL REFERENCES portal_accounts(id),"
    " title TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " submitted_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL);"
    "CREATE INDEX dossiers_account ON dossiers(account_id);"
    "CREATE TABLE otp_logins("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " attempt_hash BYTEA NOT NULL UNIQUE,"
    " citizen_id TEXT REFERENCES citizens(id),"
    " portal_account BIGINT REFERENCES portal_accounts(id),"
    " phone TEXT NOT NULL,"
    " otp_mac BYTEA NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " sends BIGINT NOT NULL DEFAULT 1,"
    " last_sent_at BIGINT NOT NULL,"
    " failures BIGINT NOT NULL DEFAULT 0,"
    " used_at BIGINT,"
    " void_at BIGINT,"
    " ip TEXT,"
    " CHECK ((citizen_id IS NULL) != (portal_account IS NULL)));"
    "CREATE INDEX otp_logins_phone ON otp_logins(phone, last_sent_at);"
    "CREATE TABLE sms_sim("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " phone TEXT NOT NULL,"
    " text TEXT NOT NULL);"
    "CREATE INDEX sms_sim_phone ON sms_sim(phone, id);"
    "CREATE TABLE web_sessions("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " citizen_id TEXT REFERENCES citizens(id),"
    " portal_account BIGINT REFERENCES portal_accounts(id),"
    " method TEXT NOT NULL,"
    " code_hash BYTEA UNIQUE,"
    " binding_hash BYTEA,"
    " code_expires_at BIGINT,"
    " code_used_at BIGINT,"
    " token_hash BYTEA UNIQUE,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT,"
    " revoked_at BIGINT,"
    " ip TEXT,"
    " user_agent TEXT,"
    " flow TEXT,"
    " last_seen_at BIGINT,"
    " step_up BIGINT NOT NULL DEFAULT 0,"
    " CHECK ((citizen_id IS NULL) != (portal_account IS NULL)));"
    "CREATE INDEX web_sessions_citizen ON web_sessions(citizen_id);"
    "CREATE UNIQUE INDEX web_sessions_binding ON web_sessions(binding_hash)"
    " WHERE binding_hash IS NOT NULL;"
    "CREATE TABLE failure_limits("
    " key TEXT PRIMARY KEY,"
    " failures DOUBLE PRECISION NOT NULL,"
    " at BIGINT NOT NULL,"
    " clear_at BIGINT NOT NULL);"
    "CREATE INDEX failure_limits_clear ON failure_limits(clear_at);"
    "CREATE TABLE oidc_keys("
    " kid TEXT PRIMARY KEY CHECK(length(kid) = 43),"
    " alg TEXT NOT NULL CHECK(alg IN ('ES256', 'RS256')),"
    " private_der BYTEA NOT NULL,"
    " public_key BYTEA NOT NULL CHECK(alg = 'ES256' AND length(public_key) = 65 OR"
    "                                 alg = 'RS256' AND length(public_key) BETWEEN 256 AND 600),"
    " created_at BIGINT NOT NULL,"
    " activate_at BIGINT NOT NULL CHECK(activate_at >= created_at),"
    " retire_at BIGINT CHECK(retire_at IS NULL OR retire_at >= activate_at),"
    " expire_at BIGINT CHECK(expire_at IS NULL OR retire_at IS NOT NULL AND"
    "                        expire_at >= retire_at));"
    "CREATE INDEX oidc_keys_activate ON oidc_keys(alg, activate_at);"
    "CREATE TABLE oidc_clients("
    " client_id TEXT PRIMARY KEY CHECK(length(client_id) BETWEEN 3 AND 64),"
    " name TEXT NOT NULL CHECK(length(name) > 0),"
    " auth_method TEXT NOT NULL"
    "  CHECK(auth_method IN ('client_secret_basic', 'private_key_jwt')),"
    " secret_hash BYTEA CHECK(secret_hash IS NULL OR length(secret_hash) = 32),"
    " jwks TEXT,"
    " min_acr BIGINT NOT NULL CHECK(min_acr IN (1, 2)),"
    " backchannel_logout_uri TEXT,"
    " created_at BIGINT NOT NULL,"
    " secret_at BIGINT,"
    " id_token_alg TEXT NOT NULL DEFAULT 'ES256' CHECK(id_token_alg IN ('ES256', 'RS256')),"
    " CHECK((auth_method = 'client_secret_basic') = (secret_hash IS NOT NULL)),"
    " CHECK((auth_method = 'private_key_jwt') = (jwks IS NOT NULL)));"
    "CREATE TABLE oidc_client_uris("
    " client_id TEXT NOT NULL REFERENCES oidc_clients(client_id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK(kind IN ('redirect', 'post_logout')),"
    " uri TEXT NOT NULL,"
    " position BIGINT NOT NULL,"
    " PRIMARY KEY(client_id, kind, uri));"
    "CREATE TABLE oidc_requests("
    " id TEXT PRIMARY KEY,"
    " client_id TEXT NOT NULL,"
    " redirect_uri TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " state TEXT,"
    " nonce TEXT,"
    " challenge TEXT NOT NULL,"
    " acr_values TEXT,"
    " force_login BIGINT NOT NULL,"
    " max_age BIGINT NOT NULL,"
    " not_session BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " min_level BIGINT NOT NULL DEFAULT 1,"
    " ui_locales TEXT,"
    " browser_hash BYTEA);"
    "CREATE INDEX oidc_requests_expires ON oidc_requests(expires_at);"
    "CREATE TABLE oidc_subjects("
    " citizen_id TEXT PRIMARY KEY REFERENCES citizens(id),"
    " sub TEXT NOT NULL UNIQUE);"
    "CREATE TABLE oidc_codes("
    " code_hash BYTEA PRIMARY KEY CHECK(length(code_hash) = 32),"
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
    " auth_time BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " used BIGINT NOT NULL DEFAULT 0,"
    " session_id BIGINT);"
    "CREATE INDEX oidc_codes_expires ON oidc_codes(expires_at);"
    "CREATE TABLE oidc_tokens("
    " token_hash BYTEA PRIMARY KEY CHECK(length(token_hash) = 32),"
    " code_hash BYTEA NOT NULL,"
    " client_id TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " citizen_id TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " expires_at BIGINT NOT NULL,"
    " revoked_at BIGINT);"
    "CREATE INDEX oidc_tokens_code ON oidc_tokens(code_hash);"
    "CREATE TABLE oidc_assertion_jtis("
    " client_id TEXT NOT NULL,"
    " jti_hash BYTEA NOT NULL CHECK(length(jti_hash) = 32),"
    " expires_at BIGINT NOT NULL,"
    " PRIMARY KEY(client_id, jti_hash));"
    "CREATE TABLE oidc_rp_sessions("
    " session_id BIGINT NOT NULL,"
    " client_id TEXT NOT NULL,"
    " sid TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " PRIMARY KEY(session_id, client_id));"
    "CREATE INDEX oidc_rp_sessions_sid ON oidc_rp_sessions(sid);"
    "CREATE TABLE oidc_bcl_outbox("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " client_id TEXT NOT NULL,"
    " sid TEXT NOT NULL,"
    " sub TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " attempts BIGINT NOT NULL DEFAULT 0,"
    " next_ms BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE(client_id, sid));"
    "CREATE INDEX oidc_bcl_outbox_due ON oidc_bcl_outbox(next_ms);"
    "CREATE FUNCTION qrl_oidc_rp_session_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO oidc_rp_sessions(session_id, client_id, sid, sub)"
    "  SELECT session_id, client_id, sid, sub FROM oidc_codes"
    "  WHERE code_hash = NEW.code_hash AND session_id IS NOT NULL"
    "  ON CONFLICT DO NOTHING;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER oidc_rp_session_add AFTER INSERT ON oidc_tokens"
    " FOR EACH ROW EXECUTE FUNCTION qrl_oidc_rp_session_add();"
    "CREATE FUNCTION qrl_oidc_bcl_session_revoked() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN"
    " INSERT INTO oidc_bcl_outbox(client_id, sid, sub, created_at)"
    "  SELECT r.client_id, r.sid, r.sub, NEW.revoked_at FROM oidc_rp_sessions r"
    "  JOIN oidc_clients c ON c.client_id = r.client_id"
    "  WHERE r.session_id = NEW.id AND coalesce(c.backchannel_logout_uri, '') != ''"
    "  ON CONFLICT DO NOTHING;"
    " DELETE FROM oidc_rp_sessions WHERE session_id = NEW.id;"
    " RETURN NULL; END $$;"
    "CREATE TRIGGER oidc_bcl_session_revoked AFTER UPDATE OF revoked_at ON web_sessions"
    " FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)"
    " EXECUTE FUNCTION qrl_oidc_bcl_session_revoked();"
    "CREATE TABLE oidc_logout_confirms("
    " token_hash BYTEA PRIMARY KEY CHECK(length(token_hash) = 32),"
    " session_id BIGINT NOT NULL,"
    " client_id TEXT,"
    " redirect_uri TEXT,"
    " state TEXT,"
    " expires_at BIGINT NOT NULL);";
