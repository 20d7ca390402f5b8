/*
 * legacy.h - the portal's own accounts and what hangs off them: the
 * population register, portal-issued accounts (citizens before the VNeID
 * cutover, organizations and businesses for good), their dossiers (hồ sơ),
 * "Cập nhật từ CSDL Quốc gia về dân cư" and the link from a verified legacy
 * citizen account to the citizen's VNeID identity.
 *
 * The rules:
 *  - a legacy citizen account is linked to a VNeID identity only when its
 *    citizen ID was verified against the population register and equals the
 *    identity's ID; linking happens at every VNeID web login (QR or password
 *    + OTP), is idempotent, audited, and never re-points an account that is
 *    already linked;
 *  - an unverified account is never linked: the citizen then has a second
 *    account without the old dossiers, and the portal page says how to link;
 *  - after the cutover, citizens cannot log in with portal credentials
 *    (otp.h enforces it); organizations can.
 *
 * All functions run on worker threads (SQLite). Depends on db.h and the plain
 * types of identity.h and policy.h (not on accounts.h: accounts.c calls here).
 */
#ifndef QRLOGIN_LEGACY_H
#define QRLOGIN_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"
#include "domain/identity.h"
#include "domain/policy.h"

/* A dossier (hồ sơ) filed through the portal. */
typedef struct qrl_dossier {
  char id[40];       /* mã hồ sơ, e.g. G22.99-240115-0001 */
  char title[160];   /* the procedure */
  char status[64];   /* e.g. "Đã trả kết quả" */
  int64_t submitted_at;
  int64_t updated_at;
} qrl_dossier;

/* What the portal page says about a citizen's old portal account. */
typedef enum qrl_link_state {
  QRL_LINK_NONE,       /* no portal account declares this ID */
  QRL_LINK_LINKED,     /* linked: its dossiers are the citizen's */
  QRL_LINK_UNVERIFIED  /* one declares this ID but was never verified */
} qrl_link_state;

/* Usernames: 3-64 of [A-Za-z0-9._@-]; organizations usually use the tax
 * code ("0101234567" or "0101234567-001"). Returns 1 if well-formed. */
int qrl_portal_username_valid(const char *s);

/* Adds a portal account (demo seeds, admin). kind "citizen" or
 * "organization"; password hashed with pol->hash_cost_log2 (slow); dob
 * "YYYY-MM-DD" or NULL; citizen_id may be NULL; verified marks it checked.
 * Writes the new row id to *id (may be NULL). QRL_OK, QRL_INVAL,
 * QRL_INVALID_USERNAME, QRL_INVALID_ID, QRL_BAD_MESSAGE (username taken),
 * QRL_DB. */
qrl_err qrl_portal_add(qrl_db *db, const qrl_acct_policy *pol, const char *kind,
                       const char *username, const char *display_name,
                       const char *password, const char *phone, const char *dob,
                       const char *citizen_id, int verified, int64_t now,
                       int64_t *id);

/* qrl_portal_add() by an official at a one-stop desk ("Bộ phận một
 * cửa"), named by official (required, 1..64 bytes): from accounts_close on
 * (unix time), a citizen account is refused with QRL_ACCOUNTS_CLOSED and
 * nothing written but the refusal's audit row; an organization's is made at
 * any date. Audited ("portal_account_desk", detail "official=... kind=...
 * user=..."), the refusal too. Other errors as qrl_portal_add(). Slow. */
qrl_err qrl_portal_add_at_desk(qrl_db *db, const qrl_acct_policy *pol,
                               const char *official, int64_t accounts_close,
                               const char *kind, const char *username,
                               const char *display_name, const char *password,
                               const char *phone, const char *dob,
                               const char *citizen_id, int64_t now, int64_t *id);

/* Returns QRL_ACCOUNTS_CLOSED if a new portal account of kind may no longer
 * be made at now (a citizen's, from accounts_close on), else QRL_OK. */
qrl_err qrl_portal_accounts_open(const char *kind, int64_t now, int64_t accounts_close);

/* Reads the account with this username. QRL_OK or QRL_NOT_FOUND. */
qrl_err qrl_portal_find(qrl_db *db, const char *username, qrl_portal_account *out);

/* Checks username + password (the same time for an unknown username as for
 * a wrong password). QRL_OK (fills *out), QRL_BAD_CREDENTIALS or QRL_DB.
 * Slow (scrypt). */
qrl_err qrl_portal_check_password(qrl_db *db, const qrl_acct_policy *pol,
                                  const char *username, const char *password,
                                  qrl_portal_account *out);

/* Adds a dossier to a portal account. */
qrl_err qrl_dossier_add(qrl_db *db, int64_t account, const char *id,
                        const char *title, const char *status,
                        int64_t submitted_at, int64_t updated_at);

/* Adds a person to the simulated population register. */
qrl_err qrl_population_add(qrl_db *db, const char *id, const char *full_name,
                           const char *dob);

/* "Cập nhật từ CSDL Quốc gia về dân cư": sets the legacy citizen account's
 * citizen ID to citizen_id and marks it verified, if the register has that
 * ID with the account's full name and date of birth. QRL_OK,
 * QRL_INVALID_ID, QRL_POPULATION_MISMATCH (also for an ID the register does
 * not have: the register is not enumerable), QRL_FORBIDDEN (an organization
 * account), QRL_NOT_FOUND, QRL_DB. Audited ("legacy_verify_id"). */
qrl_err qrl_portal_verify_id(qrl_db *db, int64_t account, const char *citizen_id,
                             const qrl_req_ctx *rc);

/* Links every verified, unlinked legacy citizen account with this citizen ID
 * to the VNeID identity citizen_id; writes how many were linked now to
 * *linked (may be NULL). Call inside the login's transaction. Audited
 * ("legacy_link") per account linked. */
qrl_err qrl_legacy_link(qrl_db *db, const char *citizen_id, const qrl_req_ctx *rc,
                        int *linked);

/* The link state of a VNeID identity (see qrl_link_state). */
qrl_err qrl_legacy_link_state(qrl_db *db, const char *citizen_id,
                              qrl_link_state *out);

/* "Thông tin định danh": where a web session's old portal account stands
 * with the VNeID identity. */
typedef enum qrl_identity_status {
  QRL_IDENT_NONE,       /* a VNeID citizen with no old portal account */
  QRL_IDENT_LINKED,     /* linked (since linked_at) */
  QRL_IDENT_VERIFIED,   /* ID verified, not linked yet: a VNeID login links it */
  QRL_IDENT_UNVERIFIED, /* ID never verified: "Cập nhật từ CSDL ..." first */
  QRL_IDENT_ORG         /* an organization's account: nothing to link */
} qrl_identity_status;

typedef struct qrl_identity_link {
  qrl_identity_status status;
  char username[65];   /* the old portal account's ("" for NONE) */
  int64_t verified_at; /* 0: never */
  int64_t linked_at;   /* 0: not linked */
} qrl_identity_link;

/* Reads the identity section of web session ws: for a VNeID citizen, the
 * old citizen account that names their ID (a linked one first); for a portal
 * account, that account itself, as stored now. QRL_OK or QRL_DB. */
qrl_err qrl_legacy_identity(qrl_db *db, const qrl_web_session *ws,
                            qrl_identity_link *out);

/* Returns 1 if a portal-account session should be told to log in with VNeID
 * from now on ("Nhấp chọn đăng nhập tài khoản VNeID"): a citizen's old
 * account whose ID was verified (linked or not), before the cutover (after
 * it, such a login is refused with QRL_LEGACY_CLOSED, which says the same). */
int qrl_legacy_vneid_notice(const qrl_web_session *ws, const qrl_identity_link *l,
                            int64_t now, int64_t cutover);

/* Reads portal account id into *out. QRL_OK or QRL_NOT_FOUND. */
qrl_err qrl_portal_get(qrl_db *db, int64_t id, qrl_portal_account *out);

/* The dossiers a web session sees, newest first, at most cap: a citizen's
 * are those of the legacy accounts linked to them; a portal account's are
 * its own. *n is how many were written. */
qrl_err qrl_dossiers_for(qrl_db *db, const qrl_web_session *ws, qrl_dossier *out,
                         size_t cap, size_t *n);

/* Adds the demo register entries, legacy accounts and dossiers if absent
 * (idempotent): An's verified legacy account "nguyenvanan" with two
 * dossiers, Bình's unverified "tranthibinh" with one, and the organization
 * "0101234567" (Công ty TNHH Phần mềm Sông Hồng, phone 0243123456). All
 * passwords MatKhau@2024. */
qrl_err qrl_legacy_seed_demo(qrl_db *db, const qrl_acct_policy *pol, int64_t now);

#endif /* QRLOGIN_LEGACY_H */
