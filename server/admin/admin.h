/*
 * admin.h - the operator's views of the qrlogin database, printed as the
 * tables qrlogin-admin shows (citizens, one citizen, devices, sessions, audit
 * rows).
 *
 * The rows come from the domain (operator.h, accounts.h); this module only
 * formats them: times as UTC ISO 8601 ("-" for none), session states
 * ("live", "expired", "revoked", "pending") as of now. It changes nothing and
 * runs no SQL: the changes are operator.h's, called from main.c.
 */
#ifndef QRLOGIN_ADMIN_H
#define QRLOGIN_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "domain/db.h"

/* Prints every citizen (id, name, level, phone, web login, locked now) to f.
 * QRL_OK, or the domain's error (nothing printed). */
qrl_err qrl_admin_citizen_list(qrl_db *db, FILE *f, int64_t now);

/* Prints one citizen with the passcode state, devices and sessions to f.
 * QRL_OK, QRL_NOT_FOUND (nothing printed), or the domain's error. */
qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, FILE *f, int64_t now);

/* Prints the citizen's devices to f (a header only for none). */
qrl_err qrl_admin_device_list(qrl_db *db, const char *id, FILE *f);

/* Prints the citizen's app and web sessions to f, with their state at now. */
qrl_err qrl_admin_session_list(qrl_db *db, const char *id, FILE *f, int64_t now);

/* Prints the citizen's audit rows to f, newest first, at most limit. */
qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, FILE *f);

#endif /* QRLOGIN_ADMIN_H */
