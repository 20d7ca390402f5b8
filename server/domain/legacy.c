/*
 * legacy.c - portal-issued accounts, dossiers, the population register and
 * VNeID linking. See legacy.h for the rules.
 */
#include "domain/legacy.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "helpers/crypto.h"
#include "sql.h"

#define PORTAL_COLS                                                           \
  "id, username, kind, display_name, phone, dob, citizen_id,"                 \
  " id_verified_at IS NOT NULL, linked_citizen"

static void read_portal(qrl_stmt *st, qrl_portal_account *a) {
  memset(a, 0, sizeof(*a));
  a->id = qrl_sql_col_int64(st, 0);
  qrl_sql_copy_col(st, 1, a->username, sizeof(a->username));
  qrl_sql_copy_col(st, 2, a->kind, sizeof(a->kind));
  qrl_sql_copy_col(st, 3, a->display_name, sizeof(a->display_name));
  qrl_sql_copy_col(st, 4, a->phone, sizeof(a->phone));
  qrl_sql_copy_col(st, 5, a->dob, sizeof(a->dob));
  qrl_sql_copy_col(st, 6, a->citizen_id, sizeof(a->citizen_id));
  a->id_verified = qrl_sql_col_int(st, 7) != 0;
  qrl_sql_copy_col(st, 8, a->linked_citizen, sizeof(a->linked_citizen));
}

/* Runs a one-row SELECT of PORTAL_COLS bound to one parameter. */
static qrl_err portal_one(qrl_db *db, const char *where, const char *text,
                          int64_t num, qrl_portal_account *out) {
  char sql[256];
  qrl_stmt *st;
  qrl_err rc = QRL_NOT_FOUND;
  int r;
  snprintf(sql, sizeof(sql), "SELECT " PORTAL_COLS " FROM portal_accounts WHERE %s",
           where);
  if (!(st = qrl_sql_prep(db, sql))) return QRL_DB;
  if (text) qrl_sql_bind_text(st, 1, text);
  else qrl_sql_bind_int64(st, 1, num);
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    read_portal(st, out);
    rc = QRL_OK;
  } else if (r != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

qrl_err qrl_portal_get(qrl_db *db, int64_t id, qrl_portal_account *out) {
  return portal_one(db, "id = ?", NULL, id, out);
}

qrl_err qrl_portal_find(qrl_db *db, const char *username, qrl_portal_account *out) {
  return portal_one(db, "username = ?", username, 0, out);
}

int qrl_portal_username_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n < 3 || n > 64) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && !strchr("._@-", s[i])) return 0;
  return 1;
}

static int dob_valid(const char *d) {
  if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !isdigit((unsigned char)d[i])) return 0;
  return 1;
}

qrl_err qrl_portal_add(qrl_db *db, const qrl_acct_policy *pol, const char *kind,
                       const char *username, const char *display_name,
                       const char *password, const char *phone, const char *dob,
                       const char *citizen_id, int verified, int64_t now,
                       int64_t *id) {
  char pw[QRL_HASH_STR_MAX];
  qrl_portal_account existing;
  qrl_stmt *st;
  qrl_err rc;

  if (!kind || (strcmp(kind, "citizen") && strcmp(kind, "organization")) ||
      !display_name || !*display_name || !password || !*password ||
      (dob && !dob_valid(dob)))
    return QRL_INVAL;
  if (!qrl_portal_username_valid(username)) return QRL_INVALID_USERNAME;
  if (citizen_id && (rc = qrl_citizen_id_check(citizen_id, strlen(citizen_id))))
    return rc;
  if ((rc = qrl_hash_secret(password, strlen(password), pol->hash_cost_log2, pw,
                            sizeof(pw))))
    return rc;
  if (qrl_sql_begin(db)) return QRL_DB;
  rc = qrl_portal_find(db, username, &existing);
  if (rc == QRL_OK) rc = QRL_BAD_MESSAGE;
  if (rc != QRL_NOT_FOUND) goto out;
  st = qrl_sql_prep(db, "INSERT INTO portal_accounts(username, kind, display_name,"
                        " password_hash, phone, dob, citizen_id, id_verified_at,"
                        " created_at) VALUES(?,?,?,?,?,?,?,?,?) RETURNING id");
  if (st) {
    qrl_sql_bind_text(st, 1, username);
    qrl_sql_bind_text(st, 2, kind);
    qrl_sql_bind_text(st, 3, display_name);
    qrl_sql_bind_text(st, 4, pw);
    qrl_sql_bind_text(st, 5, phone);
    qrl_sql_bind_text(st, 6, dob);
    qrl_sql_bind_text(st, 7, citizen_id);
    if (verified && citizen_id) qrl_sql_bind_int64(st, 8, now);
    else qrl_sql_bind_null(st, 8);
    qrl_sql_bind_int64(st, 9, now);
  }
  if ((rc = qrl_sql_run_id(db, st, id))) goto out;
  {
    qrl_req_ctx c = {NULL, NULL, now, NULL};
    rc = qrl_db_audit(db, "portal_account_added", QRL_OK, citizen_id, 0, username, &c);
  }
  if (!rc) rc = qrl_sql_commit(db);
out:
  if (rc) qrl_sql_rollback(db);
  qrl_cleanse(pw, sizeof(pw));
  return rc;
}

qrl_err qrl_portal_accounts_open(const char *kind, int64_t now, int64_t accounts_close) {
  return kind && strcmp(kind, "citizen") == 0 && now >= accounts_close ? QRL_ACCOUNTS_CLOSED
                                                                       : QRL_OK;
}

qrl_err qrl_portal_add_at_desk(qrl_db *db, const qrl_acct_policy *pol,
                               const char *official, int64_t accounts_close,
                               const char *kind, const char *username,
                               const char *display_name, const char *password,
                               const char *phone, const char *dob,
                               const char *citizen_id, int64_t now, int64_t *id) {
  char detail[256];
  qrl_req_ctx c = {NULL, NULL, now, NULL};
  qrl_err rc;
  size_t n = official ? strlen(official) : 0;

  if (n == 0 || n > 64) return QRL_INVAL;
  snprintf(detail, sizeof(detail), "official=%s kind=%s user=%s", official,
           kind ? kind : "", username ? username : "");
  rc = qrl_portal_accounts_open(kind, now, accounts_close);
  if (!rc)
    rc = qrl_portal_add(db, pol, kind, username, display_name, password, phone, dob,
                        citizen_id, 0, now, id);
  /* The desk's act is on record, made or refused. */
  {
    qrl_err arc = qrl_db_audit(db, "portal_account_desk", rc, citizen_id, 0, detail, &c);
    if (!rc) rc = arc;
  }
  return rc;
}

qrl_err qrl_portal_check_password(qrl_db *db, const qrl_acct_policy *pol,
                                  const char *username, const char *password,
                                  qrl_portal_account *out) {
  char hash[QRL_HASH_STR_MAX] = "";
  qrl_stmt *st;
  qrl_err rc;
  int found = 0;

  memset(out, 0, sizeof(*out));
  st = qrl_sql_prep(db, "SELECT password_hash FROM portal_accounts WHERE username = ?");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, username);
  if (qrl_sql_step(st) == QRL_SQL_ROW) {
    qrl_sql_copy_col(st, 0, hash, sizeof(hash));
    found = 1;
  }
  qrl_sql_done(db, st);
  if (!found) {
    /* Spend what a real check spends, then say the same thing. */
    char dummy[QRL_HASH_STR_MAX];
    qrl_hash_secret(password, strlen(password), pol->hash_cost_log2, dummy,
                    sizeof(dummy));
    return QRL_BAD_CREDENTIALS;
  }
  rc = qrl_verify_secret(password, strlen(password), hash);
  qrl_cleanse(hash, sizeof(hash));
  if (rc == QRL_INVAL) rc = QRL_BAD_CREDENTIALS;
  if (rc) return rc;
  return qrl_portal_find(db, username, out);
}

qrl_err qrl_dossier_add(qrl_db *db, int64_t account, const char *id,
                        const char *title, const char *status,
                        int64_t submitted_at, int64_t updated_at) {
  qrl_stmt *st = qrl_sql_prep(db, "INSERT INTO dossiers(id, account_id, title,"
                                      " status, submitted_at, updated_at)"
                                      " VALUES(?,?,?,?,?,?)");
  if (!id || !*id || !title || !*title || !status || !*status) {
    qrl_sql_done(db, st);
    return QRL_INVAL;
  }
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_int64(st, 2, account);
    qrl_sql_bind_text(st, 3, title);
    qrl_sql_bind_text(st, 4, status);
    qrl_sql_bind_int64(st, 5, submitted_at);
    qrl_sql_bind_int64(st, 6, updated_at);
  }
  return qrl_sql_run(db, st);
}

qrl_err qrl_population_add(qrl_db *db, const char *id, const char *full_name,
                           const char *dob) {
  qrl_stmt *st;
  qrl_err err;
  if (!id) return QRL_INVALID_ID;
  if ((err = qrl_citizen_id_check(id, strlen(id)))) return err;
  if (!full_name || !*full_name || !dob_valid(dob)) return QRL_INVAL;
  st = qrl_sql_prep(db, "INSERT INTO population(id, full_name, dob)"
                        " VALUES(?,?,?) ON CONFLICT DO NOTHING");
  if (st) {
    qrl_sql_bind_text(st, 1, id);
    qrl_sql_bind_text(st, 2, full_name);
    qrl_sql_bind_text(st, 3, dob);
  }
  return qrl_sql_run(db, st);
}

qrl_err qrl_portal_verify_id(qrl_db *db, int64_t account, const char *citizen_id,
                             const qrl_req_ctx *rc) {
  qrl_portal_account a;
  qrl_stmt *st;
  qrl_err err;
  int match = 0;

  memset(&a, 0, sizeof(a)); /* the refusal's audit row reads a.username */
  if (!citizen_id) return QRL_INVALID_ID;
  if ((err = qrl_citizen_id_check(citizen_id, strlen(citizen_id)))) return err;
  if (qrl_sql_begin(db)) return QRL_DB;
  if ((err = qrl_portal_get(db, account, &a))) goto out;
  if (strcmp(a.kind, "citizen") != 0) {
    err = QRL_FORBIDDEN;
    goto out;
  }
  /* Name and date of birth as the portal knew them must be the register's. */
  st = qrl_sql_prep(db, "SELECT 1 FROM population WHERE id = ? AND full_name = ?"
                        " AND dob = ?");
  if (!st) {
    err = QRL_DB;
    goto out;
  }
  qrl_sql_bind_text(st, 1, citizen_id);
  qrl_sql_bind_text(st, 2, a.display_name);
  qrl_sql_bind_text(st, 3, a.dob);
  match = qrl_sql_step(st) == QRL_SQL_ROW;
  qrl_sql_done(db, st);
  if (!match) {
    err = QRL_POPULATION_MISMATCH;
    goto out;
  }
  /* A linked account keeps its link: the ID can be re-verified, not changed. */
  if (a.linked_citizen[0] && strcmp(a.linked_citizen, citizen_id) != 0) {
    err = QRL_FORBIDDEN;
    goto out;
  }
  st = qrl_sql_prep(db, "UPDATE portal_accounts SET citizen_id = ?1,"
                        " id_verified_at = ?2 WHERE id = ?3");
  if (st) {
    qrl_sql_bind_text(st, 1, citizen_id);
    qrl_sql_bind_int64(st, 2, rc->now);
    qrl_sql_bind_int64(st, 3, account);
  }
  if ((err = qrl_sql_run(db, st))) goto out;
  if ((err = qrl_db_audit(db, "legacy_verify_id", QRL_OK, citizen_id, 0, a.username, rc)))
    goto out;
  err = qrl_sql_commit(db);
out:
  if (err) {
    qrl_sql_rollback(db);
    /* The refusal itself is on record. */
    qrl_db_audit(db, "legacy_verify_id", err, NULL, 0, a.username[0] ? a.username : NULL,
                 rc);
  }
  return err;
}

qrl_err qrl_legacy_link(qrl_db *db, const char *citizen_id, const qrl_req_ctx *rc,
                        int *linked) {
  qrl_stmt *st;
  qrl_err err = QRL_OK;
  int n = 0;

  if (linked) *linked = 0;
  /* Which accounts: verified, this ID, a citizen's, not linked yet. */
  st = qrl_sql_prep(db, "SELECT username FROM portal_accounts WHERE kind = 'citizen'"
                        " AND citizen_id = ?1 AND id_verified_at IS NOT NULL"
                        " AND linked_citizen IS NULL");
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, citizen_id);
  while (!err && qrl_sql_step(st) == QRL_SQL_ROW) {
    char user[65];
    qrl_sql_copy_col(st, 0, user, sizeof(user));
    err = qrl_db_audit(db, "legacy_link", QRL_OK, citizen_id, 0, user, rc);
    n++;
  }
  qrl_sql_done(db, st);
  if (err || !n) return err;
  st = qrl_sql_prep(db, "UPDATE portal_accounts SET linked_citizen = ?1, linked_at = ?2"
                        " WHERE kind = 'citizen' AND citizen_id = ?1"
                        " AND id_verified_at IS NOT NULL AND linked_citizen IS NULL");
  if (st) {
    qrl_sql_bind_text(st, 1, citizen_id);
    qrl_sql_bind_int64(st, 2, rc->now);
  }
  err = qrl_sql_run(db, st);
  if (!err && linked) *linked = n;
  return err;
}

qrl_err qrl_legacy_link_state(qrl_db *db, const char *citizen_id,
                              qrl_link_state *out) {
  qrl_stmt *st = qrl_sql_prep(db,
      "SELECT max(CASE WHEN linked_citizen = ?1 THEN 1 ELSE 0 END),"
      " max(CASE WHEN id_verified_at IS NULL THEN 1 ELSE 0 END)"
      " FROM portal_accounts WHERE kind = 'citizen'"
      " AND (linked_citizen = ?1 OR citizen_id = ?1)");
  *out = QRL_LINK_NONE;
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, citizen_id);
  if (qrl_sql_step(st) == QRL_SQL_ROW) {
    if (qrl_sql_col_int(st, 0) == 1) *out = QRL_LINK_LINKED;
    else if (qrl_sql_col_int(st, 1) == 1) *out = QRL_LINK_UNVERIFIED;
  }
  qrl_sql_done(db, st);
  return QRL_OK;
}

qrl_err qrl_legacy_identity(qrl_db *db, const qrl_web_session *ws,
                            qrl_identity_link *out) {
  qrl_stmt *st;
  qrl_err rc = QRL_OK;
  int r;

  memset(out, 0, sizeof(*out));
  if (ws->citizen.id[0]) {
    /* The linked account if any, else one that declares the ID (a verified
     * one first). */
    st = qrl_sql_prep(db, "SELECT kind, username, id_verified_at, linked_at"
                          " FROM portal_accounts WHERE kind = 'citizen'"
                          " AND (linked_citizen = ?1 OR citizen_id = ?1)"
                          " ORDER BY CASE WHEN linked_citizen = ?1 THEN 1 ELSE 0 END DESC,"
                          " CASE WHEN id_verified_at IS NOT NULL THEN 1 ELSE 0 END DESC,"
                          " id LIMIT 1");
    if (st) qrl_sql_bind_text(st, 1, ws->citizen.id);
  } else {
    st = qrl_sql_prep(db, "SELECT kind, username, id_verified_at, linked_at"
                          " FROM portal_accounts WHERE id = ?1");
    if (st) qrl_sql_bind_int64(st, 1, ws->portal.id);
  }
  if (!st) return QRL_DB;
  r = qrl_sql_step(st);
  if (r == QRL_SQL_ROW) {
    char kind[16];
    qrl_sql_copy_col(st, 0, kind, sizeof(kind));
    qrl_sql_copy_col(st, 1, out->username, sizeof(out->username));
    out->verified_at = qrl_sql_col_int64(st, 2);
    out->linked_at = qrl_sql_col_int64(st, 3);
    if (strcmp(kind, "citizen") != 0) out->status = QRL_IDENT_ORG;
    else if (out->linked_at) out->status = QRL_IDENT_LINKED;
    else if (out->verified_at) out->status = QRL_IDENT_VERIFIED;
    else out->status = QRL_IDENT_UNVERIFIED;
  } else if (r != QRL_SQL_DONE) {
    rc = QRL_DB;
  }
  qrl_sql_done(db, st);
  return rc;
}

int qrl_legacy_vneid_notice(const qrl_web_session *ws, const qrl_identity_link *l,
                            int64_t now, int64_t cutover) {
  return !ws->citizen.id[0] && ws->portal.id &&
         (l->status == QRL_IDENT_VERIFIED || l->status == QRL_IDENT_LINKED) &&
         now < cutover;
}

qrl_err qrl_dossiers_for(qrl_db *db, const qrl_web_session *ws, qrl_dossier *out,
                         size_t cap, size_t *n) {
  qrl_stmt *st;
  *n = 0;
  if (ws->citizen.id[0]) {
    st = qrl_sql_prep(db, "SELECT d.id, d.title, d.status, d.submitted_at, d.updated_at"
                          " FROM dossiers d JOIN portal_accounts a ON a.id = d.account_id"
                          " WHERE a.linked_citizen = ? ORDER BY d.submitted_at DESC");
    if (st) qrl_sql_bind_text(st, 1, ws->citizen.id);
  } else {
    st = qrl_sql_prep(db, "SELECT id, title, status, submitted_at, updated_at"
                          " FROM dossiers WHERE account_id = ?"
                          " ORDER BY submitted_at DESC");
    if (st) qrl_sql_bind_int64(st, 1, ws->portal.id);
  }
  if (!st) return QRL_DB;
  while (*n < cap && qrl_sql_step(st) == QRL_SQL_ROW) {
    qrl_dossier *d = &out[(*n)++];
    qrl_sql_copy_col(st, 0, d->id, sizeof(d->id));
    qrl_sql_copy_col(st, 1, d->title, sizeof(d->title));
    qrl_sql_copy_col(st, 2, d->status, sizeof(d->status));
    d->submitted_at = qrl_sql_col_int64(st, 3);
    d->updated_at = qrl_sql_col_int64(st, 4);
  }
  qrl_sql_done(db, st);
  return QRL_OK;
}

qrl_err qrl_legacy_seed_demo(qrl_db *db, const qrl_acct_policy *pol, int64_t now) {
  static const struct {
    const char *id, *name, *dob;
  } people[] = {{"001099012345", "Nguyễn Văn An", "1999-03-15"},
                {"079199001234", "Trần Thị Bình", "1999-08-20"},
                {"001201000123", "Lê Văn Cường", "2001-11-02"}};
  static const struct {
    const char *kind, *user, *name, *phone, *dob, *cid;
    int verified;
  } accounts[] = {
      {"citizen", "nguyenvanan", "Nguyễn Văn An", "0912345678", "1999-03-15",
       "001099012345", 1},
      {"citizen", "tranthibinh", "Trần Thị Bình", "0987654321", "1999-08-20",
       "079199001234", 0},
      {"organization", "0101234567", "Công ty TNHH Phần mềm Sông Hồng", "0901234567",
       NULL, NULL, 0}};
  static const struct {
    const char *user, *id, *title, *status;
    int64_t submitted, updated;
  } dossiers[] = {
      {"nguyenvanan", "G01.99-230315-0042", "Cấp đổi giấy phép lái xe", "Đã trả kết quả",
       1678838400, 1679616000},
      {"nguyenvanan", "G01.99-240110-0107", "Đăng ký thường trú", "Đang xử lý",
       1704844800, 1705276800},
      {"tranthibinh", "G79.99-231120-0315", "Cấp phiếu lý lịch tư pháp",
       "Đã trả kết quả", 1700438400, 1701043200},
      {"0101234567", "G01.01-240205-0009", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
       "Đang xử lý", 1707091200, 1707350400}};
  qrl_portal_account a;
  qrl_err rc = QRL_OK;

  for (size_t i = 0; i < sizeof(people) / sizeof(people[0]) && !rc; i++)
    rc = qrl_population_add(db, people[i].id, people[i].name, people[i].dob);
  for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]) && !rc; i++) {
    if ((rc = qrl_portal_find(db, accounts[i].user, &a)) != QRL_NOT_FOUND) continue;
    rc = qrl_portal_add(db, pol, accounts[i].kind, accounts[i].user, accounts[i].name,
                        "MatKhau@2024", accounts[i].phone, accounts[i].dob,
                        accounts[i].cid, accounts[i].verified, now, NULL);
  }
  for (size_t i = 0; i < sizeof(dossiers) / sizeof(dossiers[0]) && !rc; i++) {
    qrl_stmt *st;
    int have = 0;
    if ((rc = qrl_portal_find(db, dossiers[i].user, &a))) break;
    st = qrl_sql_prep(db, "SELECT 1 FROM dossiers WHERE id = ?");
    if (!st) return QRL_DB;
    qrl_sql_bind_text(st, 1, dossiers[i].id);
    have = qrl_sql_step(st) == QRL_SQL_ROW;
    qrl_sql_done(db, st);
    if (!have)
      rc = qrl_dossier_add(db, a.id, dossiers[i].id, dossiers[i].title,
                           dossiers[i].status, dossiers[i].submitted, dossiers[i].updated);
  }
  return rc;
}
