/*
 * test_admin.c - the real qrlogin-admin against the database of a running
 * qrlogind: what each command changes is seen by the server at once, and a
 * refused command writes nothing (the audit row count does not move).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "helpers/text.h"

#ifndef QRLOGIN_ADMIN_PATH
#error "QRLOGIN_ADMIN_PATH must be defined by the build"
#endif

#define AN "001099012345"
#define PW "MatKhau@2024"

/* Runs qrlogin-admin --db <s->db> --hash-cost 10 ARGS...; its stdout in out
 * (if not NULL). Returns the exit status. */
static int admin(const qrl_h_server *s, char *out, size_t n, ...) {
  const char *argv[24];
  int p[2], argc = 0, st = 0;
  size_t got = 0;
  pid_t pid;
  va_list ap;
  const char *a;
  argv[argc++] = QRLOGIN_ADMIN_PATH;
  argv[argc++] = "--db";
  argv[argc++] = s->db;
  argv[argc++] = "--hash-cost";
  argv[argc++] = "10";
  va_start(ap, n);
  while ((a = va_arg(ap, const char *)) && argc < 23) argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  if (pipe(p)) return -1;
  if ((pid = fork()) == 0) {
    dup2(p[1], STDOUT_FILENO);
    close(p[0]);
    close(p[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  for (;;) {
    char buf[512];
    ssize_t r = read(p[0], buf, sizeof(buf));
    if (r <= 0) break;
    if (out && got + (size_t)r < n) {
      memcpy(out + got, buf, (size_t)r);
      got += (size_t)r;
    }
  }
  if (out && n) out[got < n ? got : n - 1] = '\0';
  close(p[0]);
  if (waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int audit_total(const qrl_h_server *s) {
  int64_t n = qrl_h_sql(s, NULL, 0, "SELECT count(*) FROM audit", "");
  return n < 0 ? -1 : (int)n;
}

SERVER_TEST(added_citizen_logs_in_and_shows_up, NULL) {
  char out[4096];
  qrl_h_phone p;
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "add", "--id", "001199000777", "--name",
                      "Phạm Minh Đức", "--level", "2", "--phone", "0933333333", "--password",
                      "Matkhau12", "--passcode", "654321", "--web-login", "on", NULL),
                0);
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, "001199000777", "Matkhau12", NULL), 0);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "citizen", "list", NULL), 0);
  ASSERT_TRUE(strstr(out, "001199000777") && strstr(out, "Phạm Minh Đức"));
  { /* The PHONE column starts at the same terminal column on every line,
       Vietnamese names or not (their bytes outnumber their letters). */
    char *save = NULL, *line = strtok_r(out, "\n", &save), prefix[256];
    size_t col = (size_t)(strstr(line, "PHONE") - line), rows = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
      char *ph = strstr(line, "  09");
      ASSERT_TRUE(ph != NULL && (size_t)(ph - line) + 2 < sizeof(prefix));
      snprintf(prefix, sizeof(prefix), "%.*s", (int)(ph - line) + 2, line);
      if (qrl_text_width(prefix) != col)
        TEST_FAIL_("PHONE at column %zu, not %zu: %s", qrl_text_width(prefix), col, line);
      rows++;
    }
    ASSERT_TRUE(rows >= 3);
  }
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "citizen", "show", "001199000777", NULL), 0);
  ASSERT_TRUE(strstr(out, "Web login:  on") != NULL);
  ASSERT_TRUE(strstr(out, "live") != NULL); /* its app session */
  return 0;
}

SERVER_TEST(set_level_one_stops_qr_login, NULL) {
  qrl_h_phone p;
  cJSON *ch = NULL, *m;
  qrl_wsc *br = qrl_h_browser(s, &ch);
  char f[128];
  ASSERT_TRUE(br != NULL);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-level", AN, "1", NULL), 0);
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, NULL), 0);
  snprintf(f, sizeof(f), "\"qr\":\"%s\"",
           qrl_h_str(cJSON_GetObjectItemCaseSensitive(ch, "qr"), "payload"));
  m = qrl_h_phone_call(&p, "scan", f);
  ASSERT_EQ_STR(qrl_h_errcode(m), "level_too_low");
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  return 0;
}

/* A reset password ends everything the old one opened: the app session,
 * the web session, and a password + SMS login still waiting for its code. */
SERVER_TEST(set_password_replaces_it_and_ends_what_it_opened, NULL) {
  qrl_h_phone p, q;
  char err[64], cookie[128], attempt[23], code[7], *r = NULL;
  cJSON *m;
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, NULL), 0);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, "0912345678", cookie),
                200);
  ASSERT_EQ_INT(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, attempt, NULL), 200);
  ASSERT_EQ_INT(qrl_h_otp_code(s, "0912345678", code), 0);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-password", AN, "--password", "MoiMoi@2025",
                      NULL),
                0);
  m = qrl_h_phone_call(&p, "status", NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "session_invalid");
  cJSON_Delete(m);
  ASSERT_TRUE(qrl_h_me(s, cookie) == NULL);
  ASSERT_EQ_INT(qrl_h_otp_verify(s, attempt, code, NULL, &r), 400);
  ASSERT_TRUE(r && strstr(r, "otp_void"));
  free(r);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(qrl_h_phone_login(s, &q, AN, PW, err), -1);
  ASSERT_EQ_STR(err, "bad_credentials");
  qrl_h_phone_close(&q);
  ASSERT_EQ_INT(qrl_h_phone_login(s, &q, AN, "MoiMoi@2025", NULL), 0);
  qrl_h_phone_close(&q);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-passcode", AN, "--passcode", "111111",
                      NULL),
                0);
  return 0;
}

SERVER_TEST(unlock_after_five_wrong_passcodes, NULL) {
  qrl_h_phone p;
  cJSON *m;
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, NULL), 0);
  for (int i = 0; i < 5; i++) {
    m = qrl_h_phone_call(&p, "set_permission",
                         "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"000000\"");
    cJSON_Delete(m);
  }
  m = qrl_h_phone_call(&p, "set_permission",
                       "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"123456\"");
  ASSERT_EQ_STR(qrl_h_errcode(m), "locked");
  cJSON_Delete(m);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "unlock", AN, NULL), 0);
  m = qrl_h_phone_call(&p, "set_permission",
                       "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"123456\"");
  ASSERT_EQ_STR(qrl_h_type(m), "set_permission_ok");
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  return 0;
}

SERVER_TEST(device_and_session_revocation_reach_the_phone, NULL) {
  qrl_h_phone p;
  char out[4096], *line, dev[16] = "";
  cJSON *m;
  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, NULL), 0);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "device", "list", AN, NULL), 0);
  line = strchr(out, '\n'); /* the first device row */
  ASSERT_TRUE(line != NULL);
  snprintf(dev, sizeof(dev), "%.*s", (int)strspn(line + 1, "0123456789"), line + 1);
  ASSERT_TRUE(dev[0] != '\0');
  ASSERT_EQ_INT(admin(s, NULL, 0, "device", "revoke", dev, NULL), 0);
  m = qrl_h_phone_call(&p, "status", NULL);
  ASSERT_TRUE(!strcmp(qrl_h_errcode(m), "session_invalid") ||
              !strcmp(qrl_h_errcode(m), "wrong_device"));
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(admin(s, NULL, 0, "device", "revoke", dev, NULL), 1); /* already */

  ASSERT_EQ_INT(qrl_h_phone_login(s, &p, AN, PW, NULL), 0);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "session", "revoke", AN, NULL), 0);
  ASSERT_TRUE(strstr(out, "1 session(s)") != NULL);
  m = qrl_h_phone_call(&p, "status", NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "session_invalid");
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "session", "list", AN, NULL), 0);
  ASSERT_TRUE(strstr(out, "revoked") != NULL);
  ASSERT_EQ_INT(qrl_h_settle(s), 0);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "audit", "show", AN, NULL), 0);
  ASSERT_TRUE(strstr(out, "admin_session_revoke") && strstr(out, "admin_device_revoke"));
  ASSERT_TRUE(strstr(out, "app_login") != NULL);
  ASSERT_EQ_INT(admin(s, out, sizeof(out), "audit", "verify", NULL), 0);
  ASSERT_TRUE(strstr(out, "intact") != NULL);
  return 0;
}

/* Refusals: the right exit status, and not one row written. */
SERVER_TEST(refused_commands_write_nothing, NULL) {
  int before;
  ASSERT_EQ_INT(qrl_h_settle(s), 0); /* nothing else writing meanwhile */
  before = audit_total(s);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-level", "001099099999", "1", NULL), 1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-level", "12345", "1", NULL), 2);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-level", AN, "3", NULL), 2);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "add", "--id", AN, "--name", "X", "--level", "2",
                      "--phone", "0911111111", "--password", "Matkhau12", "--passcode",
                      "123456", NULL),
                1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "add", "--id", "001199000888", NULL), 2);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "set-password", AN, "--password", "short",
                      NULL),
                1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "unlock", "001099099999", NULL), 1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "device", "revoke", "999", NULL), 1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "portal", "verify-id", "tranthibinh", AN, NULL), 1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", "fly", NULL), 2);
  ASSERT_EQ_INT(admin(s, NULL, 0, "citizen", NULL), 2);
  ASSERT_EQ_INT(audit_total(s) - before, 1); /* only the verify-id refusal is audited */
  {
    const char *const bad[] = {QRLOGIN_ADMIN_PATH, "--db", "/nonexistent/q.db", "citizen",
                               "list", NULL};
    pid_t pid = fork();
    int st = 0;
    if (pid == 0) {
      int nul = open("/dev/null", O_WRONLY);
      dup2(nul, STDERR_FILENO);
      execv(bad[0], (char *const *)bad);
      _exit(127);
    }
    waitpid(pid, &st, 0);
    ASSERT_EQ_INT(WEXITSTATUS(st), 1);
    ASSERT_TRUE(access("/nonexistent/q.db", F_OK) != 0);
  }
  /* Support verifies Bình's old account after the cutover: it links at
   * her next VNeID login. */
  ASSERT_EQ_INT(admin(s, NULL, 0, "portal", "verify-id", "tranthibinh", "079199001234", NULL),
                0);
  return 0;
}

/* Runs qrlogin-admin --db <s->db> ARGS... with its stdout on /dev/full.
 * Returns the exit status. */
static int admin_to_full(const qrl_h_server *s, const char *a1, const char *a2) {
  int st = 0;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0) _exit(126);
    dup2(fd, STDOUT_FILENO);
    execl(QRLOGIN_ADMIN_PATH, QRLOGIN_ADMIN_PATH, "--db", s->db, a1, a2, (char *)NULL);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The member name of array item i of a, or NULL. */
static const char *item_str(const cJSON *a, int i, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --json prints each listing as one JSON document that says what the text
 * table says: after one QR login, the citizen (level 2, web login on), its
 * device, its web session (method qr; pending, as the page has not exchanged
 * its code) and its audit rows. */
SERVER_TEST(listings_print_json_documents, NULL) {
  static char out[65536];
  cJSON *d, *o;
  int found = 0;
  ASSERT_EQ_INT(qrl_h_qr_login(s, AN, PW, NULL, NULL), 0);
  ASSERT_EQ_INT(qrl_h_settle(s), 0); /* every audit row written */

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "--json", "citizen", "list", NULL), 0);
  ASSERT_TRUE((d = cJSON_Parse(out)) && cJSON_IsArray(d));
  for (int i = 0; i < cJSON_GetArraySize(d); i++) {
    const char *id = item_str(d, i, "id");
    if (id && !strcmp(id, AN)) {
      o = cJSON_GetArrayItem(d, i);
      found = cJSON_GetObjectItem(o, "level")->valueint == 2 &&
              cJSON_IsTrue(cJSON_GetObjectItem(o, "web_login"));
    }
  }
  cJSON_Delete(d);
  ASSERT_TRUE(found);

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "citizen", "show", AN, "--json", NULL), 0);
  ASSERT_TRUE((d = cJSON_Parse(out)) && cJSON_IsObject(d));
  ASSERT_EQ_STR(cJSON_GetObjectItem(d, "id")->valuestring, AN);
  ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "devices")), 1);
  ASSERT_TRUE(cJSON_GetArraySize(cJSON_GetObjectItem(d, "sessions")) >= 1);
  cJSON_Delete(d);

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "--json", "session", "list", AN, NULL), 0);
  ASSERT_TRUE((d = cJSON_Parse(out)) && cJSON_IsArray(d));
  found = 0;
  for (int i = 0; i < cJSON_GetArraySize(d); i++) {
    const char *kind = item_str(d, i, "kind"), *note = item_str(d, i, "note");
    if (kind && !strcmp(kind, "web") && note && !strcmp(note, "qr") &&
        !strcmp(item_str(d, i, "state"), "pending")) /* its code not exchanged yet */
      found = 1;
  }
  cJSON_Delete(d);
  ASSERT_TRUE(found);

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "--json", "device", "list", AN, NULL), 0);
  ASSERT_TRUE((d = cJSON_Parse(out)) && cJSON_GetArraySize(d) == 1);
  ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "revoked")));
  cJSON_Delete(d);

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "--json", "audit", "show", AN, "--limit", "3", NULL),
                0);
  ASSERT_TRUE((d = cJSON_Parse(out)) && cJSON_GetArraySize(d) == 3);
  ASSERT_TRUE(item_str(d, 0, "event") && item_str(d, 0, "outcome") && item_str(d, 0, "at"));
  cJSON_Delete(d);
  return 0;
}

/* audit export: every row once, oldest first, as JSON lines with its
 * chain hash; --after-id resumes exactly after a row, --limit pages; and
 * `stats` counts the same rows by Vietnam day, event and outcome. A full
 * output is an error (exit 1), not a silent loss. */
SERVER_TEST(audit_export_and_stats_agree_with_the_table, NULL) {
  static char out[1 << 20], page[65536];
  typedef struct group { char key[160]; int n; } group;
  static group groups[256];
  int ngroups = 0, rows = 0, total;
  int64_t last = 0;
  cJSON *d;
  char *line, *save = NULL;
  ASSERT_EQ_INT(qrl_h_qr_login(s, AN, PW, NULL, NULL), 0);
  ASSERT_EQ_INT(qrl_h_settle(s), 0);
  total = audit_total(s);
  ASSERT_TRUE(total > 5);

  ASSERT_EQ_INT(admin(s, out, sizeof(out), "audit", "export", NULL), 0);
  for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    cJSON *o = cJSON_Parse(line), *id, *at, *h;
    char day[16], key[160];
    time_t t;
    struct tm tm;
    int g;
    ASSERT_TRUE(o != NULL);
    id = cJSON_GetObjectItem(o, "id");
    at = cJSON_GetObjectItem(o, "at_unix");
    h = cJSON_GetObjectItem(o, "row_hash");
    ASSERT_TRUE(cJSON_IsNumber(id) && (int64_t)id->valuedouble > last); /* oldest first, once */
    last = (int64_t)id->valuedouble;
    ASSERT_TRUE(cJSON_IsString(h) && strlen(h->valuestring) == 64);
    t = (time_t)at->valuedouble + 7 * 3600; /* the Vietnam day */
    gmtime_r(&t, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    snprintf(key, sizeof(key), "%s|%s|%s", day, cJSON_GetObjectItem(o, "event")->valuestring,
             cJSON_GetObjectItem(o, "outcome")->valuestring);
    for (g = 0; g < ngroups && strcmp(groups[g].key, key); g++) continue;
    if (g == ngroups) {
      ASSERT_TRUE(ngroups < 256);
      snprintf(groups[ngroups++].key, sizeof(groups[0].key), "%s", key);
    }
    groups[g].n++;
    rows++;
    cJSON_Delete(o);
  }
  ASSERT_EQ_INT(rows, total);

  /* Resume after the third row, two rows a page. */
  ASSERT_EQ_INT(admin(s, page, sizeof(page), "audit", "export", "--after-id", "3", "--limit",
                      "2", NULL),
                0);
  ASSERT_TRUE(strncmp(page, "{\"id\":4,", 8) == 0);
  ASSERT_TRUE(strstr(page, "\n{\"id\":5,") != NULL);
  ASSERT_TRUE(strstr(page, "\"id\":6,") == NULL);

  /* stats over the last day: the same groups and counts. */
  ASSERT_EQ_INT(admin(s, page, sizeof(page), "stats", "--days", "1", "--json", NULL), 0);
  ASSERT_TRUE((d = cJSON_Parse(page)) && cJSON_IsArray(d));
  ASSERT_EQ_INT(cJSON_GetArraySize(d), ngroups);
  for (int i = 0; i < cJSON_GetArraySize(d); i++) {
    char key[160];
    int g;
    snprintf(key, sizeof(key), "%s|%s|%s", item_str(d, i, "day"), item_str(d, i, "event"),
             item_str(d, i, "outcome"));
    for (g = 0; g < ngroups && strcmp(groups[g].key, key); g++) continue;
    if (g == ngroups) TEST_FAIL_("stats has %s, the export not", key);
    ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(d, i), "count")->valueint,
                  groups[g].n);
  }
  cJSON_Delete(d);

  ASSERT_EQ_INT(admin_to_full(s, "audit", "export"), 1);
  ASSERT_EQ_INT(admin(s, NULL, 0, "stats", "--days", "0", NULL), 2);
  ASSERT_EQ_INT(admin(s, NULL, 0, "audit", "export", "--after-id", "-1", NULL), 2);
  return 0;
}

TEST_MAIN(added_citizen_logs_in_and_shows_up, listings_print_json_documents,
          audit_export_and_stats_agree_with_the_table, set_level_one_stops_qr_login,
          set_password_replaces_it_and_ends_what_it_opened, unlock_after_five_wrong_passcodes,
          device_and_session_revocation_reach_the_phone, refused_commands_write_nothing)
