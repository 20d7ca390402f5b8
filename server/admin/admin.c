/*
 * admin.c - see admin.h. Each view fetches its rows first and prints after,
 * so a read error prints nothing. A JSON view builds its document with cJSON
 * and prints it on one line.
 */
#include "admin.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <time.h>

#include "domain/accounts.h"
#include "domain/operator.h"
#include "helpers/text.h"

/* t as UTC ISO 8601, or "-" for 0. */
static void when(int64_t t, char out[24]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!t || !gmtime_r(&tt, &tm)) {
    snprintf(out, 24, "-");
    return;
  }
  strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

/* Prints s in a column width wide on the terminal, and two spaces: padded by
 * the columns the text takes (qrl_text_width), not its bytes, so that
 * Vietnamese names line up. */
static void put_col(FILE *f, const char *s, size_t width) {
  size_t w = qrl_text_width(s);
  fputs(s, f);
  while (w++ < width) fputc(' ', f);
  fputs("  ", f);
}
static const char *or_empty(const char *s) { return s ? s : ""; }

/* ---- JSON ------------------------------------------------------------------ */

/* Adds name: s, or null for NULL. */
static void add_str(cJSON *o, const char *name, const char *s) {
  if (s) cJSON_AddStringToObject(o, name, s);
  else cJSON_AddNullToObject(o, name);
}

/* Adds name: the time t as UTC ISO 8601, or null for 0. */
static void add_time(cJSON *o, const char *name, int64_t t) {
  char buf[24];
  when(t, buf);
  add_str(o, name, t ? buf : NULL);
}

/* Prints doc on one line and frees it. QRL_OK, or QRL_NOMEM if doc or its
 * text could not be built (cJSON returns NULL; a member that failed to be
 * added leaves the document incomplete, which cJSON reports nowhere: the
 * views check the containers they create). */
static qrl_err print_json(cJSON *doc, FILE *f) {
  char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
  qrl_err err = text ? QRL_OK : QRL_NOMEM;
  if (text) fprintf(f, "%s\n", text);
  free(text);
  cJSON_Delete(doc);
  return err;
}

static cJSON *citizen_json(const void *row, int64_t now) {
  const qrl_op_citizen *c = row;
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "id", c->id);
  cJSON_AddStringToObject(o, "name", c->full_name);
  cJSON_AddNumberToObject(o, "level", c->level);
  add_str(o, "phone", c->phone);
  cJSON_AddBoolToObject(o, "web_login", c->web_login);
  cJSON_AddBoolToObject(o, "locked", c->passcode_locked_until > now);
  return o;
}

static cJSON *device_json(const void *row, int64_t now) {
  const qrl_op_device *d = row;
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  (void)now;
  cJSON_AddNumberToObject(o, "device", (double)d->id);
  add_str(o, "name", d->name);
  add_time(o, "registered", d->created_at);
  add_time(o, "revoked", d->revoked_at);
  return o;
}

/* What a session is at now. */
static const char *session_state(const qrl_op_session *s, int64_t now) {
  if (s->revoked_at) return "revoked";
  if (s->expires_at && s->expires_at <= now) return "expired";
  return s->expires_at ? "live" : "pending";
}

static cJSON *session_json(const void *row, int64_t now) {
  const qrl_op_session *s = row;
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "kind", s->kind);
  if (s->device_id) cJSON_AddNumberToObject(o, "device", (double)s->device_id);
  else cJSON_AddNullToObject(o, "device");
  add_time(o, "created", s->created_at);
  add_time(o, "expires", s->expires_at);
  add_time(o, "revoked", s->revoked_at);
  cJSON_AddStringToObject(o, "state", session_state(s, now));
  add_str(o, "note", s->note);
  return o;
}

static cJSON *stat_json(const void *row, int64_t now) {
  const qrl_op_stat *r = row;
  cJSON *o = cJSON_CreateObject();
  (void)now;
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "day", r->day);
  cJSON_AddStringToObject(o, "event", r->event);
  cJSON_AddStringToObject(o, "outcome", r->outcome);
  cJSON_AddNumberToObject(o, "count", (double)r->count);
  return o;
}

static cJSON *audit_json(const void *row, int64_t now) {
  const qrl_op_audit_row *r = row;
  cJSON *o = cJSON_CreateObject();
  (void)now;
  if (!o) return NULL;
  add_time(o, "at", r->at);
  cJSON_AddStringToObject(o, "event", r->event);
  cJSON_AddStringToObject(o, "outcome", r->outcome);
  add_str(o, "ip", r->ip);
  add_str(o, "detail", r->detail);
  add_str(o, "flow", r->flow);
  return o;
}

/* Appends item to array a; 0, or -1 (and a is freed by its owner) if item
 * is NULL. */
static int push(cJSON *a, cJSON *item) {
  if (!item) return -1;
  cJSON_AddItemToArray(a, item);
  return 0;
}

/* Builds one object per row. */
typedef cJSON *(*row_json_fn)(const void *row, int64_t now);

/* A JSON array of n rows of size bytes, each made by one; NULL out of
 * memory. */
static cJSON *array_of(const void *rows, size_t n, size_t size, row_json_fn one, int64_t now) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < n; i++)
    if (push(a, one((const char *)rows + i * size, now))) {
      cJSON_Delete(a);
      a = NULL;
    }
  return a;
}

/* ---- the views ------------------------------------------------------------- */

qrl_err qrl_admin_citizen_list(qrl_db *db, qrl_admin_format fmt, FILE *f, int64_t now) {
  qrl_op_citizen *rows;
  size_t n;
  qrl_err err = qrl_op_citizens(db, &rows, &n);
  if (err) return err;
  if (fmt == QRL_ADMIN_JSON) {
    err = print_json(array_of(rows, n, sizeof(*rows), citizen_json, now), f);
  } else {
    fprintf(f, "%-12s  %-28s  %5s  %-10s  %-9s  %s\n", "ID", "NAME", "LEVEL", "PHONE",
            "WEB_LOGIN", "LOCKED");
    for (size_t i = 0; i < n; i++) {
      const qrl_op_citizen *c = &rows[i];
      fprintf(f, "%-12s  ", c->id);
      put_col(f, c->full_name, 28);
      fprintf(f, "%5d  %-10s  %-9s  %s\n", c->level, or_dash(c->phone),
              c->web_login ? "on" : "off", c->passcode_locked_until > now ? "yes" : "no");
    }
  }
  qrl_op_citizens_free(rows, n);
  return err;
}

/* Adds the citizen's devices and sessions to o as two arrays. QRL_OK, or the
 * domain's error or QRL_NOMEM. */
static qrl_err add_devices_sessions(qrl_db *db, const char *id, cJSON *o, int64_t now) {
  qrl_op_device *devs = NULL;
  qrl_op_session *sess = NULL;
  size_t nd = 0, ns = 0;
  cJSON *a;
  qrl_err err = qrl_op_devices(db, id, &devs, &nd);
  if (!err) err = qrl_op_sessions(db, id, &sess, &ns);
  if (err) goto out;
  err = QRL_NOMEM;
  if (!(a = array_of(devs, nd, sizeof(*devs), device_json, now))) goto out;
  cJSON_AddItemToObject(o, "devices", a);
  if (!(a = array_of(sess, ns, sizeof(*sess), session_json, now))) goto out;
  cJSON_AddItemToObject(o, "sessions", a);
  err = QRL_OK;
out:
  qrl_op_devices_free(devs, nd);
  qrl_op_sessions_free(sess, ns);
  return err;
}

qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f,
                               int64_t now) {
  qrl_citizen c;
  qrl_op_citizen pc = {0};
  int have_pc;
  qrl_err err = qrl_db_get_citizen(db, id, &c);
  if (err) return err;
  err = qrl_op_citizen_get(db, id, &pc);
  if (err && err != QRL_NOT_FOUND) return err;
  have_pc = err == QRL_OK;
  if (fmt == QRL_ADMIN_JSON) {
    cJSON *o = cJSON_CreateObject(), *p = NULL;
    if (o) {
      cJSON_AddStringToObject(o, "id", c.id);
      cJSON_AddStringToObject(o, "name", c.full_name);
      cJSON_AddNumberToObject(o, "level", c.level);
      add_str(o, "phone", c.phone[0] ? c.phone : NULL);
      cJSON_AddBoolToObject(o, "web_login", c.web_login);
      if (have_pc && (p = cJSON_AddObjectToObject(o, "passcode"))) {
        cJSON_AddNumberToObject(p, "wrong", pc.passcode_failures);
        cJSON_AddBoolToObject(p, "locked", pc.passcode_locked_until > now);
        cJSON_AddNumberToObject(p, "locks_in_a_row", pc.passcode_locks);
      }
      err = (have_pc && !p) ? QRL_NOMEM : add_devices_sessions(db, id, o, now);
    }
    qrl_op_citizen_clear(&pc);
    if (err) {
      cJSON_Delete(o);
      return err;
    }
    return print_json(o, f);
  }
  fprintf(f, "ID:         %s\nName:       %s\nLevel:      %d\nPhone:      %s\n"
             "Web login:  %s\n",
          c.id, c.full_name, c.level, c.phone[0] ? c.phone : "-",
          c.web_login ? "on" : "off");
  if (have_pc)
    fprintf(f, "Passcode:   %d wrong, %s, %d lock(s) in a row\n", pc.passcode_failures,
            pc.passcode_locked_until > now ? "locked" : "not locked", pc.passcode_locks);
  qrl_op_citizen_clear(&pc);
  fprintf(f, "\n");
  if ((err = qrl_admin_device_list(db, id, fmt, f))) return err;
  fprintf(f, "\n");
  return qrl_admin_session_list(db, id, fmt, f, now);
}

qrl_err qrl_admin_device_list(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f) {
  qrl_op_device *rows;
  size_t n;
  char a[24], b[24];
  qrl_err err = qrl_op_devices(db, id, &rows, &n);
  if (err) return err;
  if (fmt == QRL_ADMIN_JSON) {
    err = print_json(array_of(rows, n, sizeof(*rows), device_json, 0), f);
  } else {
    fprintf(f, "%-8s  %-28s  %-20s  %s\n", "DEVICE", "NAME", "REGISTERED", "REVOKED");
    for (size_t i = 0; i < n; i++) {
      when(rows[i].created_at, a);
      when(rows[i].revoked_at, b);
      fprintf(f, "%-8lld  ", (long long)rows[i].id);
      put_col(f, or_dash(rows[i].name), 28);
      fprintf(f, "%-20s  %s\n", a, b);
    }
  }
  qrl_op_devices_free(rows, n);
  return err;
}

qrl_err qrl_admin_session_list(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f,
                               int64_t now) {
  qrl_op_session *rows;
  size_t n;
  char a[24], b[24];
  qrl_err err = qrl_op_sessions(db, id, &rows, &n);
  if (err) return err;
  if (fmt == QRL_ADMIN_JSON) {
    err = print_json(array_of(rows, n, sizeof(*rows), session_json, now), f);
  } else {
    fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", "KIND", "CREATED", "EXPIRES", "STATE",
            "NOTE");
    for (size_t i = 0; i < n; i++) {
      when(rows[i].created_at, a);
      when(rows[i].expires_at, b);
      fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", rows[i].kind, a, b,
              session_state(&rows[i], now), or_empty(rows[i].note));
    }
  }
  qrl_op_sessions_free(rows, n);
  return err;
}

qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, qrl_admin_format fmt,
                             FILE *f) {
  qrl_op_audit_row *rows;
  size_t n;
  char t[24];
  qrl_err err = qrl_op_audit(db, id, limit, &rows, &n);
  if (err) return err;
  if (fmt == QRL_ADMIN_JSON) {
    err = print_json(array_of(rows, n, sizeof(*rows), audit_json, 0), f);
  } else {
    fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s\n", "AT", "EVENT", "OUTCOME", "IP", "DETAIL");
    for (size_t i = 0; i < n; i++) {
      const qrl_op_audit_row *r = &rows[i];
      when(r->at, t);
      fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s%s%s\n", t, r->event, r->outcome,
              or_dash(r->ip), or_empty(r->detail), r->flow ? " flow=" : "",
              or_empty(r->flow));
    }
  }
  qrl_op_audit_free(rows, n);
  return err;
}

qrl_err qrl_admin_stats(qrl_db *db, int64_t since, qrl_admin_format fmt, FILE *f) {
  qrl_op_stat *rows;
  size_t n;
  qrl_err err = qrl_op_stats(db, since, &rows, &n);
  if (err) return err;
  if (fmt == QRL_ADMIN_JSON) {
    err = print_json(array_of(rows, n, sizeof(*rows), stat_json, 0), f);
  } else {
    fprintf(f, "%-10s  %-26s  %-24s  %s\n", "DAY", "EVENT", "OUTCOME", "COUNT");
    for (size_t i = 0; i < n; i++)
      fprintf(f, "%-10s  %-26s  %-24s  %lld\n", rows[i].day, rows[i].event, rows[i].outcome,
              (long long)rows[i].count);
  }
  qrl_op_stats_free(rows, n);
  return err;
}

typedef struct export_ctx {
  FILE *f;
  int64_t rows;
  qrl_err err;
} export_ctx;

/* One row as a JSON line. Stops the walk on an error. */
static int export_row(const qrl_op_audit_full *r, void *arg) {
  export_ctx *x = arg;
  cJSON *o = cJSON_CreateObject();
  char hex[2 * 64 + 1];
  if (!o) {
    x->err = QRL_NOMEM;
    return 1;
  }
  cJSON_AddNumberToObject(o, "id", (double)r->id);
  add_time(o, "at", r->at);
  cJSON_AddNumberToObject(o, "at_unix", (double)r->at);
  cJSON_AddStringToObject(o, "event", r->event);
  cJSON_AddStringToObject(o, "outcome", r->outcome);
  add_str(o, "citizen_id", r->citizen_id);
  if (r->device_id) cJSON_AddNumberToObject(o, "device", (double)r->device_id);
  else cJSON_AddNullToObject(o, "device");
  add_str(o, "ip", r->ip);
  add_str(o, "user_agent", r->user_agent);
  add_str(o, "detail", r->detail);
  add_str(o, "flow", r->flow);
  if (r->row_hash && r->row_hash_len && r->row_hash_len <= 64) {
    for (size_t i = 0; i < r->row_hash_len; i++)
      snprintf(hex + 2 * i, 3, "%02x", r->row_hash[i]);
    cJSON_AddStringToObject(o, "row_hash", hex);
  } else {
    cJSON_AddNullToObject(o, "row_hash");
  }
  if ((x->err = print_json(o, x->f))) return 1;
  if (ferror(x->f)) {
    x->err = QRL_IO;
    return 1;
  }
  x->rows++;
  return 0;
}

qrl_err qrl_admin_audit_export(qrl_db *db, int64_t after_id, int64_t limit, FILE *f,
                               int64_t *rows) {
  export_ctx x = {f, 0, QRL_OK};
  qrl_err err = qrl_op_audit_each(db, after_id, limit, export_row, &x);
  *rows = x.rows;
  if (!err) err = x.err;
  if (!err && fflush(f) != 0) err = QRL_IO;
  return err;
}
