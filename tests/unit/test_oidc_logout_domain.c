/*
 * test_oidc_logout_domain.c - OpenID Connect logout in the database
 * (domain/oidc_logout.h) on a real file: a redeemed code records its portal
 * on the web session; revoking the session (a plain UPDATE, as any path or
 * process does it) queues one back-channel logout per portal with a
 * back-channel URI, once; claims lease rows, failures back off and are
 * given up after the attempts, the hour or a permanent refusal; the logout
 * token is signed by the active key with typ logout+jwt and the right
 * claims (no nonce); id_token_hint claims are read strictly; confirmation
 * tokens work once and expire; RP logout ends the session, audited.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/oidc_keys.h"
#include "domain/oidc_logout.h"
#include "helpers/b64.h"
#include "helpers/jose.h"
#include "sql.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000
#define AN "001099012345"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define SID "sid0123456789012345678"
#define ISS "https://xacthuc.example"

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
} fixture;

#define CTX(t) (&(qrl_req_ctx){"127.0.0.1", "test", (t), NULL})

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  if (qrl_tmpdb_make(&f->t, "oidclogout")) return -1;
  if (qrl_db_open(f->t.path, &f->db)) return -1;
  return qrl_sql_exec(
      f->db,
      "INSERT INTO citizens(id, full_name, level, password_hash, passcode_hash, created_at,"
      " updated_at, dob) VALUES('" AN "', 'Nguyễn Văn An', 2, 'x', 'x', 0, 0, '1999-01-02');"
      "INSERT INTO oidc_clients(client_id, name, auth_method, secret_hash, min_acr,"
      " backchannel_logout_uri, created_at) VALUES"
      " ('with-bcl', 'A', 'client_secret_basic', zeroblob(32), 1, 'https://a.example/bcl', 0),"
      " ('no-bcl', 'B', 'client_secret_basic', zeroblob(32), 1, NULL, 0);"
      "INSERT INTO web_sessions(id, citizen_id, method, token_hash, created_at, expires_at,"
      " last_seen_at) VALUES(7, '" AN "', 'qr', x'01', 1789999000, 1790099000, 1789999000);");
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  qrl_tmpdb_remove(&f->t);
}

static long count(qrl_db *db, const char *sql) {
  qrl_stmt *st = qrl_sql_prep(db, sql);
  long n = -1;
  if (qrl_sql_step(st) == QRL_SQL_ROW) n = qrl_sql_col_int64(st, 0);
  qrl_sql_done(db, st);
  return n;
}

/* The portal client got an ID token of web session 7 (a code redeemed). */
static int redeemed_by(qrl_db *db, const char *client) {
  qrl_oidc_grant g, out;
  char code[QRL_OIDC_SECRET_LEN + 1], access[QRL_OIDC_SECRET_LEN + 1];
  memset(&g, 0, sizeof(g));
  snprintf(g.client_id, sizeof(g.client_id), "%s", client);
  snprintf(g.redirect_uri, sizeof(g.redirect_uri), "https://a.example/cb");
  snprintf(g.scope, sizeof(g.scope), "openid");
  snprintf(g.challenge, sizeof(g.challenge), CHALLENGE);
  snprintf(g.citizen_id, sizeof(g.citizen_id), AN);
  snprintf(g.sid, sizeof(g.sid), SID);
  snprintf(g.acr, sizeof(g.acr), "LoA2");
  snprintf(g.amr, sizeof(g.amr), "swk mca");
  g.auth_time = T0 - 5;
  g.session_id = 7;
  ASSERT_EQ_INT(qrl_oidc_code_issue(db, &g, CTX(T0), code), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_code_redeem(db, code, client, "https://a.example/cb", VERIFIER, CTX(T0),
                                     &out, access),
                QRL_OK);
  return 0;
}

TEST(backoff_doubles_up_to_its_cap) {
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(1000, 1), 1000);
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(1000, 2), 2000);
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(1000, 4), 8000);
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(1000, 15), QRL_BCL_MAX_DELAY_MS);
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(50, 2), 100);
  ASSERT_EQ_INT(qrl_bcl_backoff_ms(900000, 3), 900000);
  return 0;
}

TEST(revoking_a_session_queues_one_logout_per_portal_with_a_uri) {
  fixture f;
  qrl_bcl_item it[4];
  size_t n;
  int64_t due;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(redeemed_by(f.db, "with-bcl"), 0);
  ASSERT_EQ_INT(redeemed_by(f.db, "with-bcl"), 0); /* SSO again: one row */
  ASSERT_EQ_INT(redeemed_by(f.db, "no-bcl"), 0);
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_rp_sessions WHERE session_id = 7"), 2);
  ASSERT_EQ_INT(qrl_bcl_next_due(f.db, &due), QRL_NOT_FOUND);
  /* The session ends however it ends: a plain UPDATE (another process). */
  ASSERT_EQ_INT(qrl_sql_exec(f.db, "UPDATE web_sessions SET revoked_at = 1790000010 WHERE id = 7"),
                0);
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_bcl_outbox"), 1);
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_rp_sessions"), 0);
  ASSERT_EQ_INT(qrl_sql_exec(f.db, "UPDATE web_sessions SET revoked_at = 1790000020 WHERE id = 7"),
                0); /* revoked again: nothing more */
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_bcl_outbox"), 1);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, (int64_t)T0 * 1000, it, 4, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 1);
  ASSERT_EQ_STR(it[0].client_id, "with-bcl");
  ASSERT_EQ_STR(it[0].uri, "https://a.example/bcl");
  ASSERT_EQ_STR(it[0].sid, SID);
  ASSERT_EQ_INT((int)strlen(it[0].sub), QRL_OIDC_SUB_LEN);
  ASSERT_EQ_INT(it[0].attempts, 1);
  ASSERT_EQ_INT(it[0].created_at, 1790000010);
  close_fixture(&f);
  return 0;
}

TEST(claims_lease_failures_back_off_success_deletes) {
  fixture f;
  qrl_bcl_item it[4];
  qrl_bcl_outcome o;
  size_t n;
  int64_t now = (int64_t)T0 * 1000, due;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(redeemed_by(f.db, "with-bcl"), 0);
  ASSERT_EQ_INT(qrl_sql_exec(f.db, "UPDATE web_sessions SET revoked_at = 1790000000 WHERE id = 7"),
                0);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, now, it, 4, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 1);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, now, it + 1, 3, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 0); /* leased */
  ASSERT_EQ_INT(qrl_bcl_next_due(f.db, &due), QRL_OK);
  ASSERT_EQ_INT(due, now + QRL_BCL_LEASE_MS);
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it[0], 0, 0, now, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_RETRY);
  ASSERT_EQ_INT(qrl_bcl_next_due(f.db, &due), QRL_OK);
  ASSERT_EQ_INT(due, now + 1000);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, now + 999, it, 4, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 0);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, now + 1000, it, 4, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 1);
  ASSERT_EQ_INT(it[0].attempts, 2); /* kept in the row: a restart resumes */
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it[0], 0, 0, now + 1000, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(qrl_bcl_next_due(f.db, &due), QRL_OK);
  ASSERT_EQ_INT(due, now + 1000 + 2000);
  ASSERT_EQ_INT(qrl_bcl_claim(f.db, now + 3000, it, 4, &n), QRL_OK);
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it[0], 1, 0, now + 3000, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_DELIVERED);
  ASSERT_EQ_INT(qrl_bcl_next_due(f.db, &due), QRL_NOT_FOUND);
  close_fixture(&f);
  return 0;
}

TEST(failures_are_given_up_after_the_attempts_the_hour_or_for_good) {
  fixture f;
  qrl_bcl_item it;
  qrl_bcl_outcome o;
  int64_t now = (int64_t)T0 * 1000;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  memset(&it, 0, sizeof(it));
  it.id = 1;
  it.created_at = T0;
  it.attempts = QRL_BCL_MAX_ATTEMPTS;
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it, 0, 0, now, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_FAILED);
  it.attempts = 2;
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it, 0, 0, now + QRL_BCL_MAX_SECS * 1000LL, 1000, &o),
                QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_FAILED);
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it, 0, 1, now, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_FAILED);
  ASSERT_EQ_INT(qrl_bcl_settle(f.db, &it, 0, 0, now, 1000, &o), QRL_OK);
  ASSERT_EQ_INT(o, QRL_BCL_RETRY);
  ASSERT_EQ_STR(qrl_bcl_outcome_name(QRL_BCL_FAILED), "failed");
  close_fixture(&f);
  return 0;
}

TEST(logout_token_is_signed_by_the_active_key_with_its_claims) {
  fixture f;
  qrl_bcl_item it;
  qrl_oidc_key keys[4];
  size_t n = 0, plen = 0, hn;
  char *tok = NULL, *payload = NULL;
  uint8_t hdr[256];
  cJSON *c, *h, *ev;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  memset(&it, 0, sizeof(it));
  snprintf(it.client_id, sizeof(it.client_id), "with-bcl");
  snprintf(it.sid, sizeof(it.sid), SID);
  snprintf(it.sub, sizeof(it.sub), "sub0123456789012345678");
  ASSERT_EQ_INT(qrl_oidc_logout_token(f.db, ISS, &it, T0, &tok), QRL_NOT_FOUND); /* no key */
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0, "test", NULL), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_logout_token(f.db, ISS, &it, T0, &tok), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_keys_published(f.db, T0, keys, 4, &n), QRL_OK);
  ASSERT_EQ_INT((int)n, 1);
  ASSERT_EQ_INT(qrl_jws_verify(keys[0].pub, tok, strlen(tok), &payload, &plen), QRL_OK);
  hn = (size_t)qrl_b64url_decode(tok, strcspn(tok, "."), hdr, sizeof(hdr) - 1);
  hdr[hn] = '\0';
  h = cJSON_Parse((const char *)hdr);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "typ")), "logout+jwt");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "kid")), keys[0].kid);
  cJSON_Delete(h);
  c = cJSON_Parse(payload);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "iss")), ISS);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "aud")), "with-bcl");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sid")), SID);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")), it.sub);
  ASSERT_EQ_INT((int64_t)cJSON_GetObjectItem(c, "iat")->valuedouble, T0);
  ASSERT_EQ_INT((int64_t)cJSON_GetObjectItem(c, "exp")->valuedouble, T0 + QRL_BCL_TOKEN_SECS);
  ASSERT_EQ_INT((int)strlen(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti"))), 22);
  ASSERT_TRUE(cJSON_GetObjectItem(c, "nonce") == NULL);
  ev = cJSON_GetObjectItem(c, "events");
  ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItem(ev, QRL_BCL_EVENT)));
  cJSON_Delete(c);
  free(payload);
  free(tok);
  close_fixture(&f);
  return 0;
}

TEST(hint_claims_are_read_strictly) {
  qrl_oidc_hint h;
  const char *ok = "{\"iss\":\"" ISS "\",\"aud\":\"with-bcl\",\"sid\":\"" SID
                   "\",\"sub\":\"sub0123456789012345678\",\"exp\":1}";
  const char *arr = "{\"iss\":\"" ISS "\",\"aud\":[\"with-bcl\"],\"sid\":\"" SID
                    "\",\"sub\":\"sub0123456789012345678\"}";
  const char *bad[] = {
      "{\"iss\":\"https://evil\",\"aud\":\"a\",\"sid\":\"" SID "\",\"sub\":\"sub0123456789012345678\"}",
      "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],\"sid\":\"" SID "\",\"sub\":\"sub0123456789012345678\"}",
      "{\"iss\":\"" ISS "\",\"aud\":\"a\",\"sub\":\"sub0123456789012345678\"}",
      "{\"iss\":\"" ISS "\",\"aud\":\"a\",\"sid\":\"short\",\"sub\":\"sub0123456789012345678\"}",
      "{\"iss\":\"" ISS "\",\"aud\":\"\",\"sid\":\"" SID "\",\"sub\":\"sub0123456789012345678\"}",
      "[1]", "not json", ""};
  ASSERT_EQ_INT(qrl_oidc_hint_claims(ok, strlen(ok), ISS, &h), QRL_OK);
  ASSERT_EQ_STR(h.client_id, "with-bcl"); /* exp passed long ago: a logout may come late */
  ASSERT_EQ_STR(h.sid, SID);
  ASSERT_EQ_INT(qrl_oidc_hint_claims(arr, strlen(arr), ISS, &h), QRL_OK);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ASSERT_EQ_INT(qrl_oidc_hint_claims(bad[i], strlen(bad[i]), ISS, &h), QRL_BAD_MESSAGE);
    ASSERT_EQ_STR(h.client_id, "");
  }
  return 0;
}

TEST(hint_check_verifies_with_our_keys_only) {
  fixture f;
  qrl_oidc_hint h;
  uint8_t priv[QRL_PRIVKEY_BYTES];
  qrl_oidc_key key;
  char *jws = NULL;
  const char *claims = "{\"iss\":\"" ISS "\",\"aud\":\"with-bcl\",\"sid\":\"" SID
                       "\",\"sub\":\"sub0123456789012345678\"}";
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_keys_ensure(f.db, T0, "test", NULL), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_key_signing(f.db, T0, &key, priv), QRL_OK);
  ASSERT_EQ_INT(qrl_jws_sign(priv, key.kid, "JWT", claims, strlen(claims), &jws), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_hint_check(f.db, jws, ISS, T0 + 86400, &h), QRL_OK);
  ASSERT_EQ_STR(h.client_id, "with-bcl");
  ASSERT_EQ_INT(qrl_oidc_hint_check(f.db, jws, "https://other", T0, &h), QRL_BAD_MESSAGE);
  jws[strlen(jws) - 2] ^= 1; /* the signature broken */
  ASSERT_EQ_INT(qrl_oidc_hint_check(f.db, jws, ISS, T0, &h), QRL_BAD_SIGNATURE);
  ASSERT_EQ_INT(qrl_oidc_hint_check(f.db, "eyJhbGciOiJub25lIn0.e30.", ISS, T0, &h),
                QRL_BAD_SIGNATURE);
  ASSERT_EQ_INT(qrl_oidc_hint_check(f.db, "", ISS, T0, &h), QRL_BAD_SIGNATURE);
  free(jws);
  close_fixture(&f);
  return 0;
}

TEST(confirmation_tokens_work_once_and_expire) {
  fixture f;
  qrl_oidc_confirm c, out;
  char tok[QRL_OIDC_CONFIRM_LEN + 1], tok2[QRL_OIDC_CONFIRM_LEN + 1];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  memset(&c, 0, sizeof(c));
  c.session_id = 7;
  snprintf(c.client_id, sizeof(c.client_id), "with-bcl");
  snprintf(c.redirect_uri, sizeof(c.redirect_uri), "https://a.example/bye");
  snprintf(c.state, sizeof(c.state), "st");
  ASSERT_EQ_INT(qrl_oidc_confirm_new(f.db, &c, T0, tok), QRL_OK);
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_logout_confirms WHERE length(token_hash)"
                            " = 32"),
                1); /* stored hashed */
  ASSERT_EQ_INT(qrl_oidc_confirm_take(f.db, tok, T0 + 1, &out), QRL_OK);
  ASSERT_EQ_INT(out.session_id, 7);
  ASSERT_EQ_STR(out.redirect_uri, "https://a.example/bye");
  ASSERT_EQ_STR(out.state, "st");
  ASSERT_EQ_INT(qrl_oidc_confirm_take(f.db, tok, T0 + 1, &out), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_oidc_confirm_new(f.db, &c, T0, tok2), QRL_OK);
  ASSERT_EQ_INT(qrl_oidc_confirm_take(f.db, tok2, T0 + QRL_OIDC_CONFIRM_SECS, &out),
                QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_oidc_confirm_take(f.db, "short", T0, &out), QRL_NOT_FOUND);
  close_fixture(&f);
  return 0;
}

TEST(rp_logout_ends_the_session_once_audited) {
  fixture f;
  int64_t id;
  int ended;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(qrl_oidc_session_of_sid(f.db, SID, &id), QRL_NOT_FOUND);
  ASSERT_EQ_INT(redeemed_by(f.db, "with-bcl"), 0);
  ASSERT_EQ_INT(qrl_oidc_session_of_sid(f.db, SID, &id), QRL_OK);
  ASSERT_EQ_INT(id, 7);
  ASSERT_EQ_INT(qrl_oidc_logout_session(f.db, 7, "with-bcl", CTX(T0 + 5), &ended), QRL_OK);
  ASSERT_EQ_INT(ended, 1);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "oidc_logout", "ok"), 1);
  ASSERT_EQ_INT(count(f.db, "SELECT count(*) FROM oidc_bcl_outbox"), 1);
  ASSERT_EQ_INT(qrl_oidc_session_of_sid(f.db, SID, &id), QRL_NOT_FOUND);
  ASSERT_EQ_INT(qrl_oidc_logout_session(f.db, 7, "with-bcl", CTX(T0 + 6), &ended), QRL_OK);
  ASSERT_EQ_INT(ended, 0);
  ASSERT_EQ_INT(qrl_db_audit_count(f.db, "oidc_logout", "ok"), 1);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(backoff_doubles_up_to_its_cap, revoking_a_session_queues_one_logout_per_portal_with_a_uri,
          claims_lease_failures_back_off_success_deletes,
          failures_are_given_up_after_the_attempts_the_hour_or_for_good,
          logout_token_is_signed_by_the_active_key_with_its_claims, hint_claims_are_read_strictly,
          hint_check_verifies_with_our_keys_only, confirmation_tokens_work_once_and_expire,
          rp_logout_ends_the_session_once_audited)
