/*
 * admin.c - see admin.h.
 */
#include "admin.h"

#include <string.h>
#include <time.h>

#include "crypto.h"
#include "legacy.h"
#include "otp.h"
#include "sql.h"

static void when(int64_t t, char out[24]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!t || !gmtime_r(&tt, &tm)) {
    snprintf(out, 24, "-");
    return;
  }
  strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Runs UPDATE sql (?1 = text id, ?2 = now, ?3 = int) that must touch a row,
 * plus the audit row, in one transaction. */
static qrl_err change(qrl_db *db, const char *sql, const char *id, int64_t now,
                      int64_t num, const char *event, const char *detail) {
  qrl_req_ctx rc = {NULL, "qrlogin-admin", now, NULL};
  sqlite3_stmt *st;
  qrl_err err;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, sql);
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, num);
  }
  err = qrl_sql_run(st);
  if (!err && sqlite3_changes(qrl_sql_handle(db)) == 0) err = QRL_NOT_FOUND;
  if (!err) err = qrl_db_audit(db, event, QRL_OK, id, 0, detail, &rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_admin_citizen_list(qrl_db *db, FILE *f, int64_t now) {
  sqlite3_stmt *st = qrl_sql_prep(db, "SELECT id, full_name, level, phone, web_login,"
                                      " passcode_locked_until FROM citizens ORDER BY id");
  if (!st) return QRL_DB;
  fprintf(f, "%-12s  %-28s %5s  %-10s  %-9s  %s\n", "ID", "NAME", "LEVEL", "PHONE",
          "WEB_LOGIN", "LOCKED");
  while (sqlite3_step(st) == SQLITE_ROW) {
    fprintf(f, "%-12s  %-28s %5d  %-10s  %-9s  %s\n", sqlite3_column_text(st, 0),
            sqlite3_column_text(st, 1), sqlite3_column_int(st, 2),
            sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "-",
            sqlite3_column_int(st, 4) ? "on" : "off",
            sqlite3_column_int64(st, 5) > now ? "yes" : "no");
  }
  sqlite3_finalize(st);
  return QRL_OK;
}

qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, FILE *f, int64_t now) {
  qrl_citizen c;
  sqlite3_stmt *st;
  char t[24];
  qrl_err err = qrl_db_get_citizen(db, id, &c);
  if (err) return err;
  fprintf(f, "ID:         %s\nName:       %s\nLevel:      %d\nPhone:      %s\n"
             "Web login:  %s\n",
          c.id, c.full_name, c.level, c.phone[0] ? c.phone : "-",
          c.web_login ? "on" : "off");
  st = qrl_sql_prep(db, "SELECT passcode_failures, passcode_locked_until, passcode_locks"
                        " FROM citizens WHERE id = ?");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  if (sqlite3_step(st) == SQLITE_ROW) {
    when(sqlite3_column_int64(st, 1), t);
    fprintf(f, "Passcode:   %d wrong, %s, %d lock(s) in a row\n",
            sqlite3_column_int(st, 0),
            sqlite3_column_int64(st, 1) > now ? "locked" : "not locked",
            sqlite3_column_int(st, 2));
  }
  sqlite3_finalize(st);
  fprintf(f, "\n");
  if ((err = qrl_admin_device_list(db, id, f))) return err;
  fprintf(f, "\n");
  return qrl_admin_session_list(db, id, f, now);
}

qrl_err qrl_admin_set_level(qrl_db *db, const char *id, int level, int64_t now) {
  char detail[16];
  if (level != 1 && level != 2) return QRL_INVAL;
  snprintf(detail, sizeof(detail), "level=%d", level);
  return change(db, "UPDATE citizens SET level = ?3, updated_at = ?2 WHERE id = ?1", id,
                now, level, "admin_set_level", detail);
}

qrl_err qrl_admin_set_secret(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                             int passcode, const char *value, int64_t now) {
  char hash[QRL_HASH_STR_MAX], sql[200];
  qrl_req_ctx rc = {NULL, "qrlogin-admin", now, NULL};
  qrl_citizen c;
  sqlite3_stmt *st;
  qrl_err err;

  if (passcode ? !qrl_passcode_valid(value, strlen(value)) : !qrl_password_format_ok(value))
    return passcode ? QRL_BAD_PASSCODE_FORMAT : QRL_BAD_PASSWORD_FORMAT;
  if ((err = qrl_db_get_citizen(db, id, &c))) return err;
  if ((err = qrl_hash_secret(value, strlen(value), pol->hash_cost_log2, hash, sizeof(hash))))
    return err;
  snprintf(sql, sizeof(sql), "UPDATE citizens SET %s = ?1, updated_at = ?2 WHERE id = ?3",
           passcode ? "passcode_hash" : "password_hash");
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, sql);
  if (st) {
    qrl_sql_bind_text(st, 1, hash);
    sqlite3_bind_int64(st, 2, now);
    qrl_sql_bind_text(st, 3, id);
  }
  err = qrl_sql_run(st);
  /* A reset password ends what the old one opened: app sessions, web
   * sessions, and password + SMS attempts still waiting for a code. */
  if (!err && !passcode) {
    static const char *const ends[] = {
        "UPDATE app_sessions SET revoked_at = ?2, revoke_reason = 'password_reset'"
        " WHERE citizen_id = ?1 AND revoked_at IS NULL",
        "UPDATE web_sessions SET revoked_at = ?2 WHERE citizen_id = ?1"
        " AND revoked_at IS NULL",
        "UPDATE otp_logins SET void_at = ?2 WHERE citizen_id = ?1"
        " AND used_at IS NULL AND void_at IS NULL"};
    for (size_t i = 0; !err && i < sizeof(ends) / sizeof(ends[0]); i++) {
      st = qrl_sql_prep(db, ends[i]);
      if (st) {
        qrl_sql_bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
      }
      err = qrl_sql_run(st);
    }
  }
  if (!err)
    err = qrl_db_audit(db, passcode ? "admin_set_passcode" : "admin_set_password", QRL_OK,
                       id, 0, NULL, &rc);
  if (!err) err = qrl_sql_commit(db);
  if (err) qrl_sql_rollback(db);
  qrl_cleanse(hash, sizeof(hash));
  return err;
}

qrl_err qrl_admin_unlock(qrl_db *db, const char *id, int64_t now) {
  return change(db, "UPDATE citizens SET passcode_failures = 0, passcode_locked_until = 0,"
                    " passcode_locks = ?3, updated_at = ?2 WHERE id = ?1",
                id, now, 0, "admin_unlock", NULL);
}

qrl_err qrl_admin_device_list(qrl_db *db, const char *id, FILE *f) {
  sqlite3_stmt *st = qrl_sql_prep(db, "SELECT id, name, created_at, revoked_at FROM devices"
                                      " WHERE citizen_id = ? ORDER BY id");
  char a[24], b[24];
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  fprintf(f, "%-8s  %-28s  %-20s  %s\n", "DEVICE", "NAME", "REGISTERED", "REVOKED");
  while (sqlite3_step(st) == SQLITE_ROW) {
    when(sqlite3_column_int64(st, 2), a);
    when(sqlite3_column_int64(st, 3), b);
    fprintf(f, "%-8lld  %-28s  %-20s  %s\n", (long long)sqlite3_column_int64(st, 0),
            sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "-", a,
            b);
  }
  sqlite3_finalize(st);
  return QRL_OK;
}

qrl_err qrl_admin_device_revoke(qrl_db *db, int64_t device, int64_t now) {
  qrl_req_ctx rc = {NULL, "qrlogin-admin", now, NULL};
  char citizen[QRL_CITIZEN_ID_LEN + 1] = "", detail[32];
  sqlite3_stmt *st;
  qrl_err err = QRL_NOT_FOUND;

  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "SELECT citizen_id FROM devices WHERE id = ? AND revoked_at IS NULL");
  if (!st) {
    err = QRL_DB;
    goto out;
  }
  sqlite3_bind_int64(st, 1, device);
  if (sqlite3_step(st) == SQLITE_ROW) {
    qrl_sql_copy_col(st, 0, citizen, sizeof(citizen));
    err = QRL_OK;
  }
  sqlite3_finalize(st);
  if (err) goto out;
  st = qrl_sql_prep(db, "UPDATE devices SET revoked_at = ?2 WHERE id = ?1");
  if (st) {
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(st))) goto out;
  st = qrl_sql_prep(db, "UPDATE app_sessions SET revoked_at = ?2, revoke_reason ="
                        " 'device_revoked' WHERE device_id = ?1 AND revoked_at IS NULL");
  if (st) {
    sqlite3_bind_int64(st, 1, device);
    sqlite3_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(st))) goto out;
  snprintf(detail, sizeof(detail), "device=%lld", (long long)device);
  if ((err = qrl_db_audit(db, "admin_device_revoke", QRL_OK, citizen, device, detail, &rc)))
    goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_admin_session_list(qrl_db *db, const char *id, FILE *f, int64_t now) {
  sqlite3_stmt *st = qrl_sql_prep(db,
      "SELECT 'app', device_id, created_at, expires_at, revoked_at, revoke_reason"
      " FROM app_sessions WHERE citizen_id = ?1"
      " UNION ALL SELECT 'web', NULL, created_at, expires_at, revoked_at, method"
      " FROM web_sessions WHERE citizen_id = ?1 ORDER BY 3");
  char a[24], b[24], c[24];
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", "KIND", "CREATED", "EXPIRES", "STATE",
          "NOTE");
  while (sqlite3_step(st) == SQLITE_ROW) {
    int64_t exp = sqlite3_column_int64(st, 3), rev = sqlite3_column_int64(st, 4);
    when(sqlite3_column_int64(st, 2), a);
    when(exp, b);
    when(rev, c);
    fprintf(f, "%-4s  %-20s  %-20s  %-8s  %s\n", sqlite3_column_text(st, 0), a, b,
            rev ? "revoked" : (exp && exp <= now) ? "expired" : exp ? "live" : "pending",
            sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "");
  }
  sqlite3_finalize(st);
  return QRL_OK;
}

qrl_err qrl_admin_session_revoke(qrl_db *db, const char *id, int64_t now, int *n) {
  qrl_req_ctx rc = {NULL, "qrlogin-admin", now, NULL};
  qrl_citizen c;
  sqlite3_stmt *st;
  char detail[32];
  qrl_err err;

  *n = 0;
  if ((err = qrl_db_get_citizen(db, id, &c))) return err;
  if (qrl_sql_begin(db)) return QRL_DB;
  st = qrl_sql_prep(db, "UPDATE app_sessions SET revoked_at = ?2, revoke_reason ="
                        " 'admin' WHERE citizen_id = ?1 AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(st))) goto out;
  *n += sqlite3_changes(qrl_sql_handle(db));
  st = qrl_sql_prep(db, "UPDATE web_sessions SET revoked_at = ?2 WHERE citizen_id = ?1"
                        " AND revoked_at IS NULL");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
  }
  if ((err = qrl_sql_run(st))) goto out;
  *n += sqlite3_changes(qrl_sql_handle(db));
  snprintf(detail, sizeof(detail), "sessions=%d", *n);
  if ((err = qrl_db_audit(db, "admin_session_revoke", QRL_OK, id, 0, detail, &rc))) goto out;
  err = qrl_sql_commit(db);
out:
  if (err) qrl_sql_rollback(db);
  return err;
}

qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, FILE *f) {
  sqlite3_stmt *st = qrl_sql_prep(db,
      "SELECT at, event, outcome, ip, detail, flow FROM audit WHERE citizen_id = ?"
      " ORDER BY id DESC LIMIT ?");
  char t[24];
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, id);
  sqlite3_bind_int(st, 2, limit);
  fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s\n", "AT", "EVENT", "OUTCOME", "IP", "DETAIL");
  while (sqlite3_step(st) == SQLITE_ROW) {
    when(sqlite3_column_int64(st, 0), t);
    fprintf(f, "%-20s  %-22s  %-24s  %-15s  %s%s%s\n", t, sqlite3_column_text(st, 1),
            sqlite3_column_text(st, 2),
            sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "-",
            sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "",
            sqlite3_column_text(st, 5) ? " flow=" : "",
            sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "");
  }
  sqlite3_finalize(st);
  return QRL_OK;
}

qrl_err qrl_admin_portal_verify(qrl_db *db, const char *username,
                                const char *citizen_id, int64_t now) {
  qrl_req_ctx rc = {NULL, "qrlogin-admin", now, NULL};
  qrl_portal_account a;
  qrl_err err = qrl_portal_find(db, username, &a);
  if (err) return err;
  return qrl_portal_verify_id(db, a.id, citizen_id, &rc);
}
