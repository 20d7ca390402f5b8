/*
 * test_oidc_client_admin.c - the real qrlogin-admin's client commands on a
 * running qrlogind's database: --demo registered the demo provincial
 * portal; add prints the secret once (--json: exactly client_id and
 * client_secret) and the secret works, list and show give the documented
 * shapes and never a secret, rotate-secret replaces it (the old one stops
 * working), remove; every bad argument exits 2 naming what is wrong and
 * writes nothing (the audit row count does not move).
 */
#include <string.h>

#include "admin_run.h"
#include "domain/oidc_clients.h"
#include "harness.h"

/* The number of audit rows, read through the domain. */
static long audit_rows(const qrl_h_server *s) {
  qrl_db *db = NULL;
  long n = -1;
  if (qrl_db_open(s->db, &db) == QRL_OK) n = qrl_db_audit_count(db, NULL, NULL);
  qrl_db_close(db);
  return n;
}

/* QRL_OK if secret is client id's now. */
static qrl_err check_secret(const qrl_h_server *s, const char *id, const char *secret) {
  qrl_db *db = NULL;
  qrl_err rc = qrl_db_open(s->db, &db);
  if (!rc) rc = qrl_client_check_secret(db, id, secret, strlen(secret));
  qrl_db_close(db);
  return rc;
}

/* The object's member names, in order, joined by commas. */
static void member_names(const cJSON *o, char *out, size_t cap) {
  const cJSON *m;
  size_t n = 0;
  out[0] = '\0';
  cJSON_ArrayForEach(m, o) n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s",
                                                 n ? "," : "", m->string);
}

#define HCM_CB "https://dichvucong.hochiminhcity.gov.vn/oidc/callback"

SERVER_TEST(demo_portal_is_registered, NULL) {
  qrl_admin_out o;
  cJSON *j, *e;
  int found = 0;
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "client", "list", NULL), 0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  cJSON_ArrayForEach(e, j) {
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "client_id")), "dongnai-demo")) continue;
    found = 1;
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
               "Cổng Dịch vụ công tỉnh Đồng Nai (demo)")) {
      cJSON_Delete(j);
      TEST_FAIL_("the demo portal's name: %s", o.out);
    }
  }
  cJSON_Delete(j);
  ASSERT_TRUE(found);
  ASSERT_EQ_INT(check_secret(s, "dongnai-demo", "dongnai-demo-secret-for-the-demo-only"), QRL_OK);
  return 0;
}

SERVER_TEST(add_list_show_rotate_remove, NULL) {
  qrl_admin_out o;
  char names[256], secret[64], secret2[64];
  cJSON *j, *a;

  /* add --json: exactly client_id and client_secret. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "client", "add", "dvc-hcm", "--name",
                              "Cổng Dịch vụ công TP. Hồ Chí Minh", "--redirect-uri", HCM_CB,
                              "--redirect-uri", "http://localhost:3000/cb",
                              "--post-logout-redirect-uri",
                              "https://dichvucong.hochiminhcity.gov.vn/",
                              "--backchannel-logout-uri",
                              "https://dichvucong.hochiminhcity.gov.vn/oidc/backchannel",
                              "--min-acr", "LoA2", NULL),
                0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  member_names(j, names, sizeof(names));
  snprintf(secret, sizeof(secret), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "client_secret")));
  cJSON_Delete(j);
  ASSERT_EQ_STR(names, "client_id,client_secret");
  ASSERT_EQ_INT(strlen(secret), 43); /* 256 bits, base64url */
  ASSERT_EQ_INT(check_secret(s, "dvc-hcm", secret), QRL_OK);

  /* add as text: the secret on its own line, once. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "add", "dvc-hanoi", "--name", "Hà Nội",
                              "--redirect-uri", "https://dichvucong.hanoi.gov.vn/cb", NULL),
                0);
  ASSERT_TRUE(strstr(o.out, "client_secret: ") != NULL);
  ASSERT_TRUE(strstr(o.out, "added client dvc-hanoi") != NULL);

  /* list: no secret anywhere. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "list", "--json", NULL), 0);
  ASSERT_TRUE(strstr(o.out, secret) == NULL && strstr(o.out, "hash") == NULL);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL && cJSON_GetArraySize(j) == 3);
  member_names(cJSON_GetArrayItem(j, 2), names, sizeof(names)); /* by id */
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "client_id")),
                "dvc-hcm");
  cJSON_Delete(j);
  ASSERT_EQ_STR(names, "client_id,name,auth,min_acr,redirect_uris,created_at");
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "list", NULL), 0);
  ASSERT_TRUE(strstr(o.out, "dvc-hcm") && strstr(o.out, "Hà Nội") && strstr(o.out, "LoA2"));

  /* show: every URI, in order. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "client", "show", "dvc-hcm", NULL), 0);
  ASSERT_TRUE(strstr(o.out, secret) == NULL);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  member_names(j, names, sizeof(names));
  ASSERT_EQ_STR(names, "client_id,name,auth,min_acr,id_token_alg,redirect_uris,"
                       "post_logout_redirect_uris,"
                       "backchannel_logout_uri,jwks,created_at,secret_at");
  a = cJSON_GetObjectItem(j, "redirect_uris");
  ASSERT_EQ_INT(cJSON_GetArraySize(a), 2);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), HCM_CB);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "auth")), "client_secret_basic");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "min_acr")), "LoA2");
  cJSON_Delete(j);

  /* rotate-secret: a new one, once; the old one stops working. */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "rotate-secret", "dvc-hcm", "--json", NULL), 0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  snprintf(secret2, sizeof(secret2), "%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(j, "client_secret")));
  cJSON_Delete(j);
  ASSERT_NE_STR(secret2, secret);
  ASSERT_EQ_INT(check_secret(s, "dvc-hcm", secret), QRL_BAD_CREDENTIALS);
  ASSERT_EQ_INT(check_secret(s, "dvc-hcm", secret2), QRL_OK);

  /* remove: gone; a second remove is refused (1). */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "remove", "dvc-hcm", NULL), 0);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "show", "dvc-hcm", NULL), 1);
  ASSERT_TRUE(strstr(o.err, "no client dvc-hcm") != NULL);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "remove", "dvc-hcm", NULL), 1);
  ASSERT_EQ_INT(check_secret(s, "dvc-hcm", secret2), QRL_BAD_CREDENTIALS);
  /* a taken id is refused (1) */
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "add", "dvc-hanoi", "--name", "x",
                              "--redirect-uri", "https://x/cb", NULL),
                1);
  ASSERT_TRUE(strstr(o.err, "exists already") != NULL);
  return 0;
}

SERVER_TEST(private_key_jwt_client_gets_no_secret, NULL) {
  static const char jwks[] =
      "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"dn-1\","
      "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
      "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";
  char path[400];
  qrl_admin_out o;
  FILE *f;
  cJSON *j;
  qrl_h_path(s, "portal.jwks", path, sizeof(path));
  ASSERT_TRUE((f = fopen(path, "w")) != NULL);
  fputs(jwks, f);
  fclose(f);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "client", "add", "dvc-dongnai", "--name",
                              "Đồng Nai", "--redirect-uri", "https://dichvucong.dongnai.gov.vn/cb",
                              "--auth", "private_key_jwt", "--jwks", path, NULL),
                0);
  ASSERT_TRUE((j = cJSON_Parse(o.out)) != NULL);
  ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "client_secret")));
  cJSON_Delete(j);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "--json", "client", "show", "dvc-dongnai", NULL), 0);
  ASSERT_TRUE(strstr(o.out, "\"kid\":\"dn-1\"") != NULL);
  ASSERT_EQ_INT(qrl_admin_run(s, &o, "client", "rotate-secret", "dvc-dongnai", NULL), 1);
  ASSERT_TRUE(strstr(o.err, "private_key_jwt") != NULL);
  return 0;
}

SERVER_TEST(bad_arguments_exit_2_and_write_nothing, NULL) {
  static const struct {
    const char *args[12];
    const char *says;
  } cases[] = {
      {{"client", "add", "x", "--name", "N", "--redirect-uri", "https://a/cb"}, "not a client id"},
      {{"client", "add", "dvc hcm", "--name", "N", "--redirect-uri", "https://a/cb"},
       "not a client id"},
      {{"client", "add", "dvc-x", "--redirect-uri", "https://a/cb"}, "needs --name"},
      {{"client", "add", "dvc-x", "--name", "N"}, "needs --redirect-uri"},
      {{"client", "add", "dvc-x", "--name", "", "--redirect-uri", "https://a/cb"}, "--name"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "http://evil.example/cb"},
       "only for localhost or 127.0.0.1"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb#x"}, "fragment"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "/cb"}, "absolute"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb",
        "--post-logout-redirect-uri", "http://a.example/"},
       "--post-logout-redirect-uri"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb",
        "--backchannel-logout-uri", "https://u@a/bc"},
       "user name"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb",
        "--redirect-uri", "https://a/cb"},
       "given twice"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb", "--auth",
        "client_secret_post"},
       "--auth wants client_secret_basic or private_key_jwt"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb", "--auth",
        "private_key_jwt"},
       "needs --jwks"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb", "--jwks",
        "/nonexistent.jwks"},
       "--jwks goes with --auth private_key_jwt"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb", "--auth",
        "private_key_jwt", "--jwks", "/nonexistent.jwks"},
       "--jwks"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri", "https://a/cb", "--min-acr",
        "LoA3"},
       "--min-acr wants LoA1 or LoA2"},
      {{"client", "add", "dvc-x", "--name", "N", "--redirect-uri"}, "needs a value"},
      {{"client", "add", "--name", "N", "--redirect-uri", "https://a/cb"}, "client add CLIENT_ID"},
      {{"client", "show"}, "client show CLIENT_ID"},
      {{"client", "show", "a/b"}, "not a client id"},
      {{"client", "list", "extra"}, "takes no arguments"},
      {{"client", "remove", "dongnai-demo", "--name", "x"}, "takes no options"},
      {{"client", "rename", "dongnai-demo"}, "unknown command 'client rename'"},
  };
  qrl_admin_out o;
  long before = audit_rows(s);
  ASSERT_TRUE(before >= 0);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *const *a = cases[i].args;
    int st = qrl_admin_run(s, &o, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                           a[10], a[11], NULL);
    if (st != 2) TEST_FAIL_("case %zu (%s %s %s): exit %d, want 2: %s", i, a[0], a[1], a[2], st,
                            o.err);
    if (!strstr(o.err, cases[i].says))
      TEST_FAIL_("case %zu: '%s' does not say '%s'", i, o.err, cases[i].says);
  }
  ASSERT_EQ_INT(audit_rows(s), before);
  return 0;
}

TEST_MAIN(demo_portal_is_registered, add_list_show_rotate_remove,
          private_key_jwt_client_gets_no_secret, bad_arguments_exit_2_and_write_nothing)
