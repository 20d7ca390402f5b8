/*
 * admin.h - the operator's views of the qrlogin database, printed as the
 * tables qrlogin-admin shows (citizens, one citizen, devices, sessions, audit
 * rows).
 *
 * The rows come from the domain (operator.h, accounts.h); this module only
 * formats them, as text tables or (QRL_ADMIN_JSON) one JSON document per
 * command, for scripts: times as UTC ISO 8601 ("-" in text, null in JSON for
 * none), session states ("live", "expired", "revoked", "pending") as of now.
 * The audit export is JSON lines, one row each, for a log collector. It
 * changes nothing and runs no SQL: the changes are operator.h's, called from
 * main.c.
 */
#ifndef QRLOGIN_ADMIN_H
#define QRLOGIN_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "domain/db.h"

typedef enum qrl_admin_format {
  QRL_ADMIN_TEXT, /* aligned tables for people */
  QRL_ADMIN_JSON  /* one JSON document (an array, or an object for "show") */
} qrl_admin_format;

/* Each view reads its rows first and prints after: QRL_OK, or the domain's
 * error (QRL_NOMEM, QRL_DB, QRL_NOT_FOUND ...) with nothing printed. */

/* Every citizen (id, name, level, phone, web login, locked now). */
qrl_err qrl_admin_citizen_list(qrl_db *db, qrl_admin_format fmt, FILE *f, int64_t now);

/* One citizen with the passcode state, devices and sessions. */
qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f,
                               int64_t now);

/* The citizen's devices (a header only, or [], for none). */
qrl_err qrl_admin_device_list(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f);

/* The citizen's app and web sessions, with their state at now. */
qrl_err qrl_admin_session_list(qrl_db *db, const char *id, qrl_admin_format fmt, FILE *f,
                               int64_t now);

/* The citizen's audit rows, newest first, at most limit. */
qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, qrl_admin_format fmt,
                             FILE *f);

/* Audit rows since `since` (unix seconds) counted by day (Vietnam time),
 * event and outcome. */
qrl_err qrl_admin_stats(qrl_db *db, int64_t since, qrl_admin_format fmt, FILE *f);

/* Every audit row with id > after_id, oldest first, at most limit (0: all),
 * as JSON lines; *rows counts them. A collector resumes after the last "id"
 * it stored. Rows stream from one read snapshot: QRL_OK, QRL_DB, QRL_NOMEM,
 * or QRL_IO if f could not be written (what was printed stays). */
qrl_err qrl_admin_audit_export(qrl_db *db, int64_t after_id, int64_t limit, FILE *f,
                               int64_t *rows);

#endif /* QRLOGIN_ADMIN_H */
