/*
 * test_oidc_grants.c - the OpenID Connect provider's grants
 * (domain/oidc_grants.h) on a real database file: PKCE S256 (RFC 7636's
 * example), a request saved and read back until it expires, a code that
 * works once and is bound to its client, redirect_uri and verifier (any
 * mismatch burns it), expires after 60 s, and whose replay revokes the
 * access token it gave; the subject is stable per citizen and not the ID;
 * codes are stored hashed.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <string.h>

#include "domain/oidc_grants.h"
#include "sql.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000
#define AN "001099012345"
/* RFC 7636 appendix B */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
} fixture;

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "oidcgrants")) return -1;
  if (qrl_db_open(f->t.path, &f->db)) return -1;
  return qrl_sql_exec(f->db, "INSERT INTO citizens(id, full_name, level, password_hash,"
                             " passcode_hash, created_at, updated_at, dob) VALUES('" AN
                             "', 'Nguyễn Văn An', 2, 'x', 'x', 0, 0, '1999-01-02')");
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

/* A request context at unix time t. */
#define CTX(t) (&(qrl_req_ctx){"127.0.0.1", "test", (t), NULL})

/* Audit rows of event with outcome. */
static long audited(qrl_db *db, const char *event, const char *outcome) {
  return qrl_db_audit_count(db, event, outcome);
}

static qrl_oidc_grant grant(void) {
  qrl_oidc_grant g;
  memset(&g, 0, sizeof(g));
  snprintf(g.client_id, sizeof(g.client_id), "dvc-dongnai");
  snprintf(g.redirect_uri, sizeof(g.redirect_uri), "https://dvc.example/cb");
  snprintf(g.scope, sizeof(g.scope), "openid profile");
  snprintf(g.nonce, sizeof(g.nonce), "n-0S6_WzA2Mj");
  snprintf(g.challenge, sizeof(g.challenge), CHALLENGE);
  snprintf(g.citizen_id, sizeof(g.citizen_id), AN);
  snprintf(g.sid, sizeof(g.sid), "sid0123456789012345678");
  snprintf(g.acr, sizeof(g.acr), "LoA2");
  snprintf(g.amr, sizeof(g.amr), "swk mca");
  g.auth_time = T0 - 5;
  return g;
}

TEST(pkce_s256) {
  ASSERT_TRUE(qrl_oidc_challenge_valid(CHALLENGE));
  ASSERT_FALSE(qrl_oidc_challenge_valid("short"));
  ASSERT_FALSE(qrl_oidc_challenge_valid(CHALLENGE "x"));
  ASSERT_TRUE(qrl_oidc_pkce_ok(VERIFIER, CHALLENGE));
  ASSERT_FALSE(qrl_oidc_pkce_ok(VERIFIER "x", CHALLENGE));
  ASSERT_FALSE(qrl_oidc_pkce_ok("short", CHALLENGE));
  ASSERT_FALSE(qrl_oidc_pkce_ok(NULL, CHALLENGE));
  ASSERT_FALSE(qrl_oidc_pkce_ok(CHALLENGE, CHALLENGE)); /* plain */
  return 0;
}

TEST(request_saved_until_it_expires) {
  fixture f;
  qrl_oidc_authz a, b;
  char id[QRL_OIDC_REQ_ID_LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  memset(&a, 0, sizeof(a));
  snprintf(a.client_id, sizeof(a.client_id), "dvc-dongnai");
  snprintf(a.redirect_uri, sizeof(a.redirect_uri), "https://dvc.example/cb");
  snprintf(a.state, sizeof(a.state), "xyz");
  snprintf(a.challenge, sizeof(a.challenge), CHALLENGE);
  a.force_login = 1;
  a.max_age = -1;
  ASSERT_ERR(qrl_oidc_authz_save(f.db, &a, T0, id), QRL_OK);
  ASSERT_EQ_INT((int)strlen(id), QRL_OIDC_REQ_ID_LEN);
  ASSERT_ERR(qrl_oidc_authz_load(f.db, id, T0 + 1, &b), QRL_OK);
  ASSERT_EQ_STR(b.state, "xyz");
  ASSERT_EQ_STR(b.redirect_uri, "https://dvc.example/cb");
  ASSERT_EQ_INT(b.force_login, 1);
  ASSERT_TRUE(b.created_at == T0 && b.max_age == -1);
  ASSERT_ERR(qrl_oidc_authz_load(f.db, id, T0 + QRL_OIDC_REQ_SECS, &b), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_oidc_authz_load(f.db, "nope", T0, &b), QRL_NOT_FOUND);
  ASSERT_ERR(qrl_oidc_authz_done(f.db, id), QRL_OK);
  ASSERT_ERR(qrl_oidc_authz_load(f.db, id, T0 + 1, &b), QRL_NOT_FOUND);
  close_fixture(&f);
  return 0;
}

TEST(code_works_once_and_replay_revokes_its_token) {
  fixture f;
  qrl_oidc_grant g = grant(), out, who;
  char code[QRL_OIDC_SECRET_LEN + 1], acc[QRL_OIDC_SECRET_LEN + 1], acc2[QRL_OIDC_SECRET_LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(qrl_oidc_code_issue(f.db, &g, CTX(T0), code), QRL_OK);
  ASSERT_EQ_INT((int)strlen(g.sub), QRL_OIDC_SUB_LEN);
  ASSERT_TRUE(strstr(g.sub, AN) == NULL);
  ASSERT_ERR(qrl_oidc_code_redeem(f.db, code, "dvc-dongnai", "https://dvc.example/cb", VERIFIER,
                                  CTX(T0 + 1), &out, acc),
             QRL_OK);
  ASSERT_EQ_STR(out.nonce, "n-0S6_WzA2Mj");
  ASSERT_EQ_STR(out.sub, g.sub);
  ASSERT_EQ_STR(out.sid, g.sid);
  ASSERT_EQ_STR(out.acr, "LoA2");
  ASSERT_EQ_STR(out.amr, "swk mca");
  ASSERT_TRUE(out.auth_time == T0 - 5);
  ASSERT_ERR(qrl_oidc_access_check(f.db, acc, T0 + 2, &who), QRL_OK);
  ASSERT_EQ_STR(who.citizen_id, AN);
  ASSERT_EQ_STR(who.scope, "openid profile");
  ASSERT_ERR(qrl_oidc_access_check(f.db, acc, T0 + 1 + QRL_OIDC_ACCESS_SECS, &who),
             QRL_NOT_AUTHENTICATED);
  /* again: refused, and the token it gave is revoked */
  ASSERT_ERR(qrl_oidc_code_redeem(f.db, code, "dvc-dongnai", "https://dvc.example/cb", VERIFIER,
                                  CTX(T0 + 2), &out, acc2),
             QRL_CODE_INVALID);
  ASSERT_ERR(qrl_oidc_access_check(f.db, acc, T0 + 3, &who), QRL_NOT_AUTHENTICATED);
  /* audited: the code, the tokens, the replay */
  ASSERT_EQ_INT(audited(f.db, "oidc_code", "ok"), 1);
  ASSERT_EQ_INT(audited(f.db, "oidc_token", "ok"), 1);
  ASSERT_EQ_INT(audited(f.db, "oidc_token", "code_invalid"), 1);
  /* the same citizen keeps the same subject */
  {
    qrl_oidc_grant g2 = grant();
    char code2[QRL_OIDC_SECRET_LEN + 1];
    ASSERT_ERR(qrl_oidc_code_issue(f.db, &g2, CTX(T0), code2), QRL_OK);
    ASSERT_EQ_STR(g2.sub, g.sub);
    ASSERT_TRUE(strcmp(code2, code) != 0);
  }
  close_fixture(&f);
  return 0;
}

TEST(code_is_bound_and_a_mismatch_burns_it) {
  fixture f;
  qrl_oidc_grant g, out;
  char code[QRL_OIDC_SECRET_LEN + 1], acc[QRL_OIDC_SECRET_LEN + 1];
  static const struct {
    const char *client, *redirect, *verifier;
    int64_t at;
  } bad[] = {
      {"other", "https://dvc.example/cb", VERIFIER, T0 + 1},
      {"dvc-dongnai", "https://dvc.example/cb2", VERIFIER, T0 + 1},
      {"dvc-dongnai", "https://dvc.example/cb", "wrong-verifier-wrong-verifier-wrong-verifier",
       T0 + 1},
      {"dvc-dongnai", "https://dvc.example/cb", VERIFIER, T0 + QRL_OIDC_CODE_SECS},
  };
  ASSERT_EQ_INT(open_fixture(&f), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    g = grant();
    ASSERT_ERR(qrl_oidc_code_issue(f.db, &g, CTX(T0), code), QRL_OK);
    ASSERT_ERR(qrl_oidc_code_redeem(f.db, code, bad[i].client, bad[i].redirect, bad[i].verifier,
                                    CTX(bad[i].at), &out, acc),
               QRL_CODE_INVALID);
    ASSERT_EQ_STR(acc, "");
    /* burned: the right redemption fails now too */
    ASSERT_ERR(qrl_oidc_code_redeem(f.db, code, "dvc-dongnai", "https://dvc.example/cb",
                                    VERIFIER, CTX(T0 + 1), &out, acc),
               QRL_CODE_INVALID);
  }
  ASSERT_ERR(qrl_oidc_code_redeem(f.db, "x", "dvc-dongnai", "https://dvc.example/cb", VERIFIER,
                                  CTX(T0 + 1), &out, acc),
             QRL_CODE_INVALID);
  close_fixture(&f);
  return 0;
}

TEST(codes_and_tokens_are_stored_hashed) {
  fixture f;
  qrl_oidc_grant g = grant(), out;
  char code[QRL_OIDC_SECRET_LEN + 1], acc[QRL_OIDC_SECRET_LEN + 1];
  char buf[1 << 16];
  FILE *fp;
  size_t n;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(qrl_oidc_code_issue(f.db, &g, CTX(T0), code), QRL_OK);
  ASSERT_ERR(qrl_oidc_code_redeem(f.db, code, "dvc-dongnai", "https://dvc.example/cb", VERIFIER,
                                  CTX(T0 + 1), &out, acc),
             QRL_OK);
  qrl_db_close(f.db);
  f.db = NULL;
  ASSERT_TRUE((fp = fopen(f.t.path, "rb")) != NULL);
  n = fread(buf, 1, sizeof(buf) - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  ASSERT_TRUE(memmem(buf, n, code, strlen(code)) == NULL);
  ASSERT_TRUE(memmem(buf, n, acc, strlen(acc)) == NULL);
  close_fixture(&f);
  return 0;
}

TEST(citizen_claims) {
  fixture f;
  qrl_oidc_claims c;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_ERR(qrl_oidc_citizen_claims(f.db, AN, &c), QRL_OK);
  ASSERT_EQ_STR(c.name, "Nguyễn Văn An");
  ASSERT_EQ_STR(c.birthdate, "1999-01-02");
  ASSERT_EQ_INT(c.level, 2);
  ASSERT_ERR(qrl_oidc_citizen_claims(f.db, "079199009999", &c), QRL_NOT_FOUND);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(pkce_s256, request_saved_until_it_expires,
          code_works_once_and_replay_revokes_its_token, code_is_bound_and_a_mismatch_burns_it,
          codes_and_tokens_are_stored_hashed, citizen_claims)
