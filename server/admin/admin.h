/*
 * admin.h - operator actions on the qrlogin database (qrlogin-admin).
 *
 * Each changing action is one transaction that also appends an audit row
 * ("admin_<action>", outcome ok, detail without secrets); a refused action
 * writes nothing. Listing actions print to a FILE. Safe to run while
 * qrlogind runs (SQLite WAL; the server re-reads accounts on every request).
 * Depends on the domain modules (db.h, accounts.h, legacy.h).
 */
#ifndef QRLOGIN_ADMIN_H
#define QRLOGIN_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "accounts.h"
#include "db.h"

/* Lists citizens (id, name, level, phone, web login, lock) to f. */
qrl_err qrl_admin_citizen_list(qrl_db *db, FILE *f, int64_t now);

/* Shows one citizen with its devices and live sessions. QRL_NOT_FOUND. */
qrl_err qrl_admin_citizen_show(qrl_db *db, const char *id, FILE *f, int64_t now);

/* Sets the level (1 or 2). QRL_OK, QRL_NOT_FOUND, QRL_INVAL. */
qrl_err qrl_admin_set_level(qrl_db *db, const char *id, int level, int64_t now);

/* Replaces the password (8..20 characters) or the passcode (6 digits) with a
 * new scrypt hash at pol's cost; a new password also ends every session of
 * the citizen. QRL_OK, QRL_NOT_FOUND, QRL_BAD_PASSWORD_FORMAT,
 * QRL_BAD_PASSCODE_FORMAT. Slow (scrypt). */
qrl_err qrl_admin_set_secret(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                             int passcode, const char *value, int64_t now);

/* Clears the passcode failures, the lock and the lock history. */
qrl_err qrl_admin_unlock(qrl_db *db, const char *id, int64_t now);

/* Lists the citizen's devices. */
qrl_err qrl_admin_device_list(qrl_db *db, const char *id, FILE *f);

/* Revokes a device and its app sessions. QRL_OK, QRL_NOT_FOUND (no such live
 * device). */
qrl_err qrl_admin_device_revoke(qrl_db *db, int64_t device, int64_t now);

/* Lists the citizen's app and web sessions. */
qrl_err qrl_admin_session_list(qrl_db *db, const char *id, FILE *f, int64_t now);

/* Revokes every live app and web session of the citizen; *n gets how many. */
qrl_err qrl_admin_session_revoke(qrl_db *db, const char *id, int64_t now, int *n);

/* Prints the citizen's audit rows, newest first, at most limit. */
qrl_err qrl_admin_audit_show(qrl_db *db, const char *id, int limit, FILE *f);

/* Support's "Cập nhật từ CSDL Quốc gia về dân cư" for a portal account whose
 * owner can no longer log in (after the cutover): the same check as the
 * citizen's own (legacy.h). */
qrl_err qrl_admin_portal_verify(qrl_db *db, const char *username,
                                const char *citizen_id, int64_t now);

#endif /* QRLOGIN_ADMIN_H */
