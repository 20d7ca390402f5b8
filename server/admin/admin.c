/*
 * admin.c - see admin.h. Each view fetches its rows first and prints after,
 * so a read error prints nothing.
 */
#include "admin.h"

#include <time.h>

#include "domain/accounts.h"
#include "domain/operator.h"

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
static const char *or_empty(const char *s) { return s ? s : ""; }

qrl_err qrl_admin_citizen_list(qrl_db *db, FILE *f, int64_t now) {
  qrl_op_citizen *rows;
  size_t n;
  qrl_err err = qrl_op_citizens(db, &rows, &n);
  if (err) return err;
  fprintf(f, "%-12s  %-28s %5s  %-10s  %-9s  %s\n", "ID", "NAME", "LEVEL", "PHONE",
          "WEB_LOGIN", "LOCKED");
  for (size_t i = 0; i < n; i++) {
    const qrl_op_citizen *c = &rows[i];
    fprintf(f, "%-12s  %-28s %5d  %-10s  %-9s  %s\n", c->id, c->full_name, c->level,
            or_dash(c->phone), c->web_login ? "on" : "off",
            c->passcode_locked_until > now ? "yes" : "no");
  }
  qrl_op_citizens_free(rows, n);
  return QRL_OK;
}

qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, FILE *f, int64_t now) {
  qrl_citizen c;
  qrl_op_citizen pc;
  qrl_err err = qrl_db_get_citizen(db, id, &c);
  if (err) return err;
  fprintf(f, "ID:         %s\nName:       %s\nLevel:      %d\nPhone:      %s\n"
             "Web login:  %s\n",
          c.id, c.full_name, c.level, c.phone[0] ? c.phone : "-",
          c.web_login ? "on" : "off");
  err = qrl_op_citizen_get(db, id, &pc);
  if (err == QRL_OK) {
    fprintf(f, "Passcode:   %d wrong, %s, %d lock(s) in a row\n", pc.passcode_failures,
            pc.passcode_locked_until > now ? "locked" : "not locked", pc.passcode_locks);
    qrl_op_citizen_clear(&pc);
  } else if (err != QRL_NOT_FOUND) {
    return err;
  }
  fprintf(f, "\n");
  if ((err = qrl_admin_device_list(db, id, f))) return err;
  fprintf(f, "\n");
  return qrl_admin_session_list(db, id, f, now);
}

qrl_err qrl_admin_device_list(qrl_db *db, const char *id, FILE *f) {
  qrl_op_device *rows;
  size_t n;
  char a[24], b[24];
  qrl_err err = qrl_op_devices(db, id, &rows, &n);
  if (err) return err;
  fprintf(f, "%-8s  %-28s  %-20s  %s\n", "DEVICE", "NAME", "REGISTERED", "REVOKED");
  for (size_t i = 0; i < n; i++) {
    when(rows[i].created_at, a);
    when(rows[i].revoked_at, b);
    fprintf(f, "%-8lld  %-28s  %-20s  %s\n", (long long)rows[i].id, or_dash(rows[i].name), a,
            b);
  }
  qrl_op_devices_free(rows, n);
  return QRL_OK;
}

/* What a session is at now. */
static const char *session_state(const qrl_op_session *s, int64_t now) {
  if (s->revoked_at) return "revoked";
  if (s->expires_at && s->expires_at <= now) return "expired";
  return s->expires_at ? "live" : "pending";
}

qrl_err qrl_admin_session_list(qrl_db *db, const char *id, FILE *f, int64_t now) {
  qrl_op_session *rows;
  size_t n;
  char a[24], b[24];
  qrl_err err = qrl_op_sessions(db, id, &rows, &n);
  if (err) return err;
  fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", "KIND", "CREATED", "EXPIRES", "STATE",
          "NOTE");
  for (size_t i = 0; i < n; i++) {
    when(rows[i].created_at, a);
    when(rows[i].expires_at, b);
    fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", rows[i].kind, a, b,
            session_state(&rows[i], now), or_empty(rows[i].note));
  }
  qrl_op_sessions_free(rows, n);
  return QRL_OK;
}

qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, FILE *f) {
  qrl_op_audit_row *rows;
  size_t n;
  char t[24];
  qrl_err err = qrl_op_audit(db, id, limit, &rows, &n);
  if (err) return err;
  fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s\n", "AT", "EVENT", "OUTCOME", "IP", "DETAIL");
  for (size_t i = 0; i < n; i++) {
    const qrl_op_audit_row *r = &rows[i];
    when(r->at, t);
    fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s%s%s\n", t, r->event, r->outcome,
            or_dash(r->ip), or_empty(r->detail), r->flow ? " flow=" : "", or_empty(r->flow));
  }
  qrl_op_audit_free(rows, n);
  return QRL_OK;
}
