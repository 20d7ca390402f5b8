/*
 * rows.h - what the account modules (accounts.c, websession.c) share when
 * they read rows: the citizen columns and how a token is stored. Private to
 * server/domain, like sql.h.
 */
#ifndef QRLOGIN_ROWS_H
#define QRLOGIN_ROWS_H

#include <string.h>

#include "domain/identity.h"
#include "helpers/crypto.h"
#include "sql.h"

/* The citizen columns, in the order qrl_row_citizen() reads them. */
#define QRL_CITIZEN_COLS "id, full_name, level, phone, web_login"

static inline void qrl_row_citizen(qrl_stmt *st, int col, qrl_citizen *c) {
  qrl_sql_copy_col(st, col, c->id, sizeof(c->id));
  qrl_sql_copy_col(st, col + 1, c->full_name, sizeof(c->full_name));
  c->level = qrl_sql_col_int(st, col + 2);
  qrl_sql_copy_col(st, col + 3, c->phone, sizeof(c->phone));
  c->web_login = qrl_sql_col_int(st, col + 4) != 0;
}

/* The stored form of a token (sessions, codes, bindings): its SHA-256.
 * QRL_CRYPTO if the digest failed: the caller stops (fail closed). */
static inline qrl_err qrl_token_hash(const char *token, uint8_t out[QRL_SHA256_LEN]) {
  return qrl_sha256(token, strlen(token), out);
}

#endif /* QRLOGIN_ROWS_H */
