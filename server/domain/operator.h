/*
 * operator.h - what an operator (qrlogin-admin) reads and changes in the
 * database: the citizens with their passcode state, their devices, app and
 * web sessions and audit rows; levels, password and passcode resets,
 * unlocking, revoking devices and sessions, and support's check of a portal
 * account against the population register.
 *
 * Each change is one transaction that also appends its own audit row
 * ("admin_<action>", outcome ok, user agent "qrlogin-admin", a detail without
 * secrets); a refused change writes nothing. Reads return plain rows; text
 * fields are copies the caller frees with the matching _free function, and
 * NULL where the column is NULL. Safe to use while qrlogind runs (WAL; the
 * server re-reads accounts on every request).
 *
 * Not here: printing or formatting (server/admin/), adding citizens
 * (accounts.h), the audit chain check (db.h), sockets.
 * Depends on db.h, accounts.h, legacy.h, otp.h and helpers (crypto).
 */
#ifndef QRLOGIN_OPERATOR_H
#define QRLOGIN_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "domain/accounts.h"
#include "domain/db.h"

/* The user agent of an operator's audit rows. */
#define QRL_OP_AGENT "qrlogin-admin"

/* A citizen with the passcode state support asks about. */
typedef struct qrl_op_citizen {
  char *id;                      /* owned */
  char *full_name;               /* owned */
  int level;                     /* 1 or 2 */
  char *phone;                   /* owned; NULL if none */
  int web_login;                 /* "Đăng nhập trên website": 0 or 1 */
  int passcode_failures;         /* wrong passcodes since the last right one */
  int64_t passcode_locked_until; /* unix seconds; 0 if never locked */
  int passcode_locks;            /* locks in a row */
} qrl_op_citizen;

/* A device a citizen registered (an app login). */
typedef struct qrl_op_device {
  int64_t id;
  char *name;         /* owned; NULL if the phone gave none */
  int64_t created_at; /* registered */
  int64_t revoked_at; /* 0 if live */
} qrl_op_device;

/* An app session ("app") or a web session ("web") of a citizen. */
typedef struct qrl_op_session {
  char kind[4];       /* "app" or "web" */
  int64_t device_id;  /* app sessions; 0 for web ones */
  int64_t created_at;
  int64_t expires_at; /* 0 for a web session whose code was never exchanged */
  int64_t revoked_at; /* 0 if not revoked */
  char *note;         /* owned; app: why it was revoked, web: the login
                         method; NULL if none */
} qrl_op_session;

/* One audit row. */
typedef struct qrl_op_audit_row {
  int64_t at;
  char *event;   /* owned */
  char *outcome; /* owned; the wire code ("ok", "wrong_passcode", ...) */
  char *ip;      /* owned; NULL if none */
  char *detail;  /* owned; NULL if none */
  char *flow;    /* owned; NULL if the row has no QR login flow */
} qrl_op_audit_row;

/* Every citizen, by ID. On success *rows (caller frees with
 * qrl_op_citizens_free) holds *n rows; *rows may be NULL when *n is 0.
 * QRL_OK, QRL_NOMEM, QRL_DB (then *rows is NULL, *n 0). */
qrl_err qrl_op_citizens(qrl_db *db, qrl_op_citizen **rows, size_t *n);

/* Frees n rows from qrl_op_citizens; NULL-safe. */
void qrl_op_citizens_free(qrl_op_citizen *rows, size_t n);

/* Reads citizen id into *out (its strings owned: release with
 * qrl_op_citizen_clear). QRL_OK, QRL_NOT_FOUND, QRL_NOMEM, QRL_DB; on error
 * *out holds nothing to release. */
qrl_err qrl_op_citizen_get(qrl_db *db, const char *id, qrl_op_citizen *out);

/* Frees the strings of *c and zeroes it; NULL-safe. */
void qrl_op_citizen_clear(qrl_op_citizen *c);

/* The citizen's devices, by id (none for an unknown ID). Ownership as in
 * qrl_op_citizens; free with qrl_op_devices_free. */
qrl_err qrl_op_devices(qrl_db *db, const char *citizen_id, qrl_op_device **rows,
                       size_t *n);

/* Frees n rows from qrl_op_devices; NULL-safe. */
void qrl_op_devices_free(qrl_op_device *rows, size_t n);

/* The citizen's app and web sessions, oldest first (none for an unknown ID).
 * Ownership as in qrl_op_citizens; free with qrl_op_sessions_free. */
qrl_err qrl_op_sessions(qrl_db *db, const char *citizen_id, qrl_op_session **rows,
                        size_t *n);

/* Frees n rows from qrl_op_sessions; NULL-safe. */
void qrl_op_sessions_free(qrl_op_session *rows, size_t n);

/* The citizen's audit rows, newest first, at most limit (none for an unknown
 * ID). Ownership as in qrl_op_citizens; free with qrl_op_audit_free. */
qrl_err qrl_op_audit(qrl_db *db, const char *citizen_id, int limit,
                     qrl_op_audit_row **rows, size_t *n);

/* Frees n rows from qrl_op_audit; NULL-safe. */
void qrl_op_audit_free(qrl_op_audit_row *rows, size_t n);

/* One audit row in full, as a log collector takes it (qrl_op_audit_each).
 * Borrowed: the strings and the hash are valid only during the visit. */
typedef struct qrl_op_audit_full {
  int64_t id;
  int64_t at;        /* unix seconds */
  int64_t device_id; /* 0 if none */
  const char *event, *outcome;
  const char *citizen_id, *ip, *user_agent, *detail, *flow; /* NULL if none */
  const unsigned char *row_hash; /* the hash chain's link (NULL on a row
                                    written before the chain) */
  size_t row_hash_len;
} qrl_op_audit_full;

/* Calls visit(row, arg) for every audit row with id > after_id, oldest first,
 * at most limit rows (0: all), from one read snapshot. visit returns 0 to go
 * on; anything else stops the walk (not an error). QRL_OK, QRL_DB. */
qrl_err qrl_op_audit_each(qrl_db *db, int64_t after_id, int64_t limit,
                          int (*visit)(const qrl_op_audit_full *row, void *arg), void *arg);

/* Audit rows of one day (Vietnam time, UTC+7), event and outcome. */
typedef struct qrl_op_stat {
  char day[11];  /* "YYYY-MM-DD" */
  char *event;   /* owned */
  char *outcome; /* owned */
  int64_t count; /* rows (a summary row of refusals counts once) */
} qrl_op_stat;

/* The audit rows at or after since (unix seconds), counted by day, event and
 * outcome, in that order. Ownership as in qrl_op_citizens; free with
 * qrl_op_stats_free. Reads the whole table from since on: an operator's
 * command, not for the server. */
qrl_err qrl_op_stats(qrl_db *db, int64_t since, qrl_op_stat **rows, size_t *n);

/* Frees n rows from qrl_op_stats; NULL-safe. */
void qrl_op_stats_free(qrl_op_stat *rows, size_t n);

/* Sets the citizen's level (1 or 2). Audited "admin_set_level", detail
 * "level=N". QRL_OK, QRL_INVAL (another level), QRL_NOT_FOUND, QRL_DB. */
qrl_err qrl_op_set_level(qrl_db *db, const char *id, int level, int64_t now);

/* Replaces the citizen's password (8..20 characters) with a new scrypt hash
 * at pol's cost, and ends what the old one opened: app sessions (reason
 * "password_reset"), web sessions, and password + SMS logins still waiting
 * for their code. Audited "admin_set_password". QRL_OK,
 * QRL_BAD_PASSWORD_FORMAT, QRL_NOT_FOUND, QRL_CRYPTO, QRL_DB. Slow (scrypt).
 * The password is not kept. */
qrl_err qrl_op_set_password(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                            const char *password, int64_t now);

/* Replaces the citizen's passcode (6 digits) with a new scrypt hash at pol's
 * cost; sessions stay. Audited "admin_set_passcode". QRL_OK,
 * QRL_BAD_PASSCODE_FORMAT, QRL_NOT_FOUND, QRL_CRYPTO, QRL_DB. Slow (scrypt). */
qrl_err qrl_op_set_passcode(qrl_db *db, const qrl_acct_policy *pol, const char *id,
                            const char *passcode, int64_t now);

/* Clears the citizen's passcode failures, lock and lock history. Audited
 * "admin_unlock". QRL_OK, QRL_NOT_FOUND, QRL_DB. */
qrl_err qrl_op_unlock(qrl_db *db, const char *id, int64_t now);

/* Revokes a live device and its live app sessions (reason
 * "device_revoked"). Audited "admin_device_revoke" under the device's
 * citizen, detail "device=N". QRL_OK, QRL_NOT_FOUND (no such device, or
 * revoked already), QRL_DB. */
qrl_err qrl_op_device_revoke(qrl_db *db, int64_t device, int64_t now);

/* Revokes every live app session (reason "admin") and web session of the
 * citizen; *n gets how many (0 on error). Audited "admin_session_revoke",
 * detail "sessions=N" (also when N is 0). QRL_OK, QRL_NOT_FOUND, QRL_DB. */
qrl_err qrl_op_session_revoke(qrl_db *db, const char *id, int64_t now, int *n);

/* Support's "Cập nhật từ CSDL Quốc gia về dân cư" for the portal account
 * username, whose owner can no longer log in to do it (after the cutover):
 * qrl_portal_verify_id() (legacy.h) with the operator's context. Its result
 * and audit rows are that function's ("legacy_verify_id", refusals too, but
 * nothing for a malformed ID); an unknown username is QRL_NOT_FOUND and
 * writes nothing. */
qrl_err qrl_op_portal_verify(qrl_db *db, const char *username, const char *citizen_id,
                             int64_t now);

#endif /* QRLOGIN_OPERATOR_H */
