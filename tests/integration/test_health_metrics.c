/*
 * test_health_metrics.c - the operators' URLs (issue 12, part 3): /metrics is
 * Prometheus text that a real parser accepts (Debian's
 * python3-prometheus-client, through prom_parse.py: it also insists on HELP
 * and TYPE, _total counters and whole histograms), and its counters move by
 * exactly one per QR login and per ID + password + SMS code login; an error
 * answer (an /api one, a refused Host) moves its code's counter by one; /readyz turns 503 "database" when
 * the database file is gone or is no database, and ready again once it is
 * back; /healthz answers anyone, /metrics and /readyz only --metrics-allow
 * addresses (404 for the rest).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#ifndef QRL_DASHBOARD
#error "QRL_DASHBOARD (packaging/grafana-dashboard.json) must be defined by the build"
#endif
#ifndef QRL_PROM_PARSE
#error "QRL_PROM_PARSE (tests/integration/prom_parse.py) must be defined by the build"
#endif

#define AN "001099012345"
#define AN_PHONE "0912345678"
#define PW "MatKhau@2024"

/* GET /metrics, checked for its status and Content-Type, parsed by
 * prom_parse.py. The samples as {"series": value} (caller frees), or NULL
 * (said why). */
static cJSON *scrape(const qrl_h_server *s) {
  char *body = NULL, *headers = NULL, path[400], cmd[900], out[1 << 16];
  FILE *f = NULL, *p = NULL;
  size_t n = 0;
  cJSON *m = NULL;
  int st = qrl_h_http_ex(s, "GET", "/metrics", NULL, NULL, NULL, &body, NULL, &headers);

  if (st != 200 || !body) {
    fprintf(stderr, "GET /metrics: %d\n", st);
    goto out;
  }
  if (!headers ||
      !strcasestr(headers, "content-type: text/plain; version=0.0.4; charset=utf-8")) {
    fprintf(stderr, "GET /metrics: wrong Content-Type in\n%s\n", headers ? headers : "");
    goto out;
  }
  qrl_h_path(s, "scrape.txt", path, sizeof(path));
  if (!(f = fopen(path, "w")) || fputs(body, f) < 0 || fclose(f)) {
    fprintf(stderr, "cannot write %s\n", path);
    f = NULL;
    goto out;
  }
  f = NULL;
  snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s %s", QRL_PROM_PARSE, path);
  if (!(p = popen(cmd, "r"))) goto out;
  n = fread(out, 1, sizeof(out) - 1, p);
  out[n] = '\0';
  if (pclose(p) != 0) {
    fprintf(stderr, "the Prometheus parser refused the scrape:\n%s\n", body);
    goto out;
  }
  if (!(m = cJSON_Parse(out))) fprintf(stderr, "prom_parse.py printed no JSON: %s\n", out);
out:
  free(body);
  free(headers);
  return m;
}

/* The value of series key in a scrape; -1 (said) if it is not there. */
static double val(const cJSON *m, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
  if (!cJSON_IsNumber(v)) {
    fprintf(stderr, "no series %s\n", key);
    return -1;
  }
  return v->valuedouble;
}

/* after[key] - before[key]; -1000 if either lacks it. */
static double delta(const cJSON *before, const cJSON *after, const char *key) {
  double a = val(before, key), b = val(after, key);
  return a < 0 || b < 0 ? -1000 : b - a;
}

/* GET path from local address iface (Host 127.0.0.1:port). The status, or
 * -1; the body in *resp if not NULL (caller frees). */
static int get_from(const qrl_h_server *s, const char *iface, const char *path,
                    char **resp) {
  struct sockaddr_in a = {.sin_family = AF_INET}, me = {.sin_family = AF_INET};
  char req[256], *buf = NULL, *body;
  size_t got = 0, cap = 8192;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n, status = -1;
  struct timeval tv = {QRL_H_TIMEOUT_MS / 1000, 0};

  if (resp) *resp = NULL;
  if (fd < 0) return -1;
  inet_pton(AF_INET, iface, &me.sin_addr);
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (bind(fd, (struct sockaddr *)&me, sizeof(me)) ||
      connect(fd, (struct sockaddr *)&a, sizeof(a)))
    goto out;
  n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
               path, s->port);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) goto out;
  if (!(buf = malloc(cap))) goto out;
  while (got < cap - 1 && (n = (int)recv(fd, buf + got, cap - 1 - got, 0)) > 0) got += (size_t)n;
  buf[got] = '\0';
  if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) status = -1;
  if (resp && (body = strstr(buf, "\r\n\r\n"))) *resp = strdup(body + 4);
out:
  free(buf);
  close(fd);
  return status;
}

/* Sends req on a new plain connection and reads until the headers are in;
 * the socket (caller closes), or -1. *status gets the answer's code. */
static int raw_request(const qrl_h_server *s, const char *req, int *status) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  struct timeval tv = {QRL_H_TIMEOUT_MS / 1000, 0};
  char buf[2048];
  size_t got = 0;
  ssize_t n;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  *status = -1;
  if (fd < 0) return -1;
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
      send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
    close(fd);
    return -1;
  }
  while (got < sizeof(buf) - 1 && (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0) {
    got += (size_t)n;
    buf[got] = '\0';
    if (strstr(buf, "\r\n\r\n")) break;
  }
  buf[got] = '\0';
  if (sscanf(buf, "HTTP/1.%*d %d", status) != 1) *status = -1;
  return fd;
}

/* Scrapes until key reads want (the server sees closes in its own time),
 * within the harness timeout. The last value read, or -1. */
static double wait_val(const qrl_h_server *s, const char *key, double want) {
  double v = -1;
  for (int64_t end = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS; qrl_h_mono_ms() < end;) {
    cJSON *m = scrape(s);
    if (!m) return -1;
    v = val(m, key);
    cJSON_Delete(m);
    if (v == want) break;
  }
  return v;
}

/* A connection's User-Agent and Origin are shared strings (conn.h): every
 * way a connection ends gives them back - an HTTP request, two on one
 * keep-alive connection, an upgrade refused for its Origin, a page's socket
 * that was open - so the table is back to what it held before. */
SERVER_TEST(connection_strings_are_given_back, NULL) {
  static const char *const key = "qrlogin_connection_strings";
  char req[1024];
  double base, open_now;
  int fd, status, rc = 1;

  if ((base = wait_val(s, key, 0)) != 0) TEST_FAIL_("%g shared strings at rest", base);
  snprintf(req, sizeof(req),
           "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: strings-one\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: strings-two\r\n"
           "Origin: %s\r\nConnection: close\r\n\r\n",
           s->port, s->port, s->http);
  if ((fd = raw_request(s, req, &status)) < 0 || status != 200)
    TEST_FAIL_("keep-alive GETs: HTTP %d", status);
  qrl_h_wait_eof(fd, QRL_H_TIMEOUT_MS);
  close(fd);
  snprintf(req, sizeof(req),
           "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
           "Origin: https://elsewhere.example\r\nUser-Agent: strings-refused\r\n\r\n",
           s->port, QRL_SUBPROTO_BROWSER);
  if ((fd = raw_request(s, req, &status)) < 0 || status != 403)
    TEST_FAIL_("a foreign Origin's upgrade: HTTP %d", status);
  close(fd);
  snprintf(req, sizeof(req),
           "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
           "Origin: %s\r\nUser-Agent: strings-page\r\n\r\n",
           s->port, QRL_SUBPROTO_BROWSER, s->http);
  if ((fd = raw_request(s, req, &status)) < 0 || status != 101)
    TEST_FAIL_("the page's upgrade: HTTP %d", status);
  /* Open: its User-Agent and its Origin. */
  open_now = wait_val(s, key, 2);
  close(fd);
  if (open_now != 2) {
    fprintf(stderr, "%g shared strings with one page open (want 2)\n", open_now);
    goto out;
  }
  if ((open_now = wait_val(s, key, 0)) != 0) {
    fprintf(stderr, "%g shared strings left after every connection closed\n", open_now);
    goto out;
  }
  rc = 0;
out:
  if (rc) TEST_FAIL_("see above");
  return 0;
}

SERVER_TEST(metrics_parse_and_count_one_per_login, NULL) {
  cJSON *m0 = NULL, *m1 = NULL, *m2 = NULL, *m3 = NULL;
  char failed[64] = "", cookie[128];
  int rc = 1;

  if (!(m0 = scrape(s))) TEST_FAIL_("first scrape");
  if (qrl_h_qr_login(s, AN, PW, NULL, failed)) {
    fprintf(stderr, "QR login failed: %s\n", failed);
    goto out;
  }
  /* The test's browser socket closed as the login ended; the server may see
   * that close after the scrape that follows: scrape again until it has (the
   * counters cannot move meanwhile), within the harness timeout. */
  if (!(m1 = scrape(s))) goto out;
  for (int64_t end = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
       val(m1, "qrlogin_connections{kind=\"browser\"}") != 0 && qrl_h_mono_ms() < end;) {
    cJSON_Delete(m1);
    if (!(m1 = scrape(s))) goto out;
  }
  if (delta(m0, m1, "qrlogin_logins_started_total{method=\"qr\"}") != 1 ||
      delta(m0, m1, "qrlogin_logins_completed_total{method=\"qr\"}") != 1 ||
      delta(m0, m1, "qrlogin_logins_declined_total{method=\"qr\"}") != 0 ||
      delta(m0, m1, "qrlogin_logins_expired_total{method=\"qr\"}") != 0 ||
      delta(m0, m1, "qrlogin_logins_started_total{method=\"password_otp\"}") != 0 ||
      delta(m0, m1, "qrlogin_logins_completed_total{method=\"qr_kiosk\"}") != 0 ||
      delta(m0, m1, "qrlogin_login_step_seconds_count{step=\"shown_to_scanned\"}") != 1 ||
      delta(m0, m1, "qrlogin_login_step_seconds_count{step=\"scanned_to_completed\"}") != 1) {
    fprintf(stderr, "a QR login did not move the counters by exactly one\n");
    goto out;
  }
  /* The browser socket has gone: no live code, no browser. */
  if (val(m1, "qrlogin_challenges_live") != 0 ||
      val(m1, "qrlogin_connections{kind=\"browser\"}") != 0) {
    fprintf(stderr, "live challenges %g, browsers %g after the login\n",
            val(m1, "qrlogin_challenges_live"), val(m1, "qrlogin_connections{kind=\"browser\"}"));
    goto out;
  }

  if (qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, cookie) != 200) {
    fprintf(stderr, "the password + OTP login failed\n");
    goto out;
  }
  if (!(m2 = scrape(s))) goto out;
  if (delta(m1, m2, "qrlogin_logins_started_total{method=\"password_otp\"}") != 1 ||
      delta(m1, m2, "qrlogin_logins_completed_total{method=\"password_otp\"}") != 1 ||
      delta(m1, m2, "qrlogin_sms_sent_total") != 1 ||
      delta(m1, m2, "qrlogin_sms_failed_total") != 0 ||
      delta(m1, m2, "qrlogin_logins_started_total{method=\"qr\"}") != 0 ||
      delta(m1, m2, "qrlogin_worker_wait_seconds_count") < 2) {
    fprintf(stderr, "a password + OTP login did not move the counters by exactly one\n");
    goto out;
  }

  /* One error answer, one count under its wire code; the /api requests
   * are timed (the scrapes themselves are not /api). */
  if (qrl_h_http(s, "GET", "/api/me", NULL, NULL, NULL, NULL, NULL) != 401) goto out;
  /* Refused before any route: a Host not served here (DNS rebinding). */
  if (qrl_h_raw_http(s, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
                     NULL) != 421)
    goto out;
  if (!(m3 = scrape(s))) goto out;
  if (delta(m2, m3, "qrlogin_errors_total{code=\"not_authenticated\"}") != 1 ||
      delta(m2, m3, "qrlogin_errors_total{code=\"bad_host\"}") != 1 ||
      delta(m2, m3, "qrlogin_errors_total{code=\"internal\"}") != 0 ||
      delta(m2, m3, "qrlogin_http_request_duration_seconds_count") != 1) {
    fprintf(stderr, "GET /api/me without a cookie: errors or latency not counted once\n");
    goto out;
  }
  rc = 0;
out:
  cJSON_Delete(m0);
  cJSON_Delete(m1);
  cJSON_Delete(m2);
  cJSON_Delete(m3);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* Polls /readyz (its answer is kept for a second) until it answers want,
 * with a body containing text; 0, or -1 after QRL_H_TIMEOUT_MS. */
static int ready_becomes(const qrl_h_server *s, int want, const char *text) {
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  int st = -1;
  char *body = NULL;
  while (qrl_h_mono_ms() < deadline) {
    free(body);
    body = NULL;
    st = qrl_h_http(s, "GET", "/readyz", NULL, NULL, NULL, &body, NULL);
    if (st == want && body && strstr(body, text)) {
      free(body);
      return 0;
    }
    usleep(100 * 1000);
  }
  fprintf(stderr, "/readyz stayed %d %s, want %d %s\n", st, body ? body : "", want, text);
  free(body);
  return -1;
}

/* On PostgreSQL (QRL_H_PG=1): the server stopped, then started again. */
static int readyz_follows_postgresql(qrl_h_server *s) {
  char failed[64] = "";
  ASSERT_EQ_INT(qrl_h_pg_halt(&s->pg), 0);
  if (ready_becomes(s, 503, "{\"ready\":false,\"reason\":\"database\"}"))
    TEST_FAIL_("still ready with PostgreSQL stopped");
  ASSERT_EQ_INT(qrl_h_pg_resume(&s->pg), 0);
  if (ready_becomes(s, 200, "{\"ready\":true}")) TEST_FAIL_("not ready once PostgreSQL is back");
  if (qrl_h_qr_login(s, AN, PW, NULL, failed)) TEST_FAIL_("QR login after: %s", failed);
  return 0;
}

SERVER_TEST(readyz_follows_the_database_file, NULL) {
  char away[400], garbage[64];
  FILE *f;
  if (ready_becomes(s, 200, "{\"ready\":true}")) TEST_FAIL_("not ready at start");
  if (qrl_h_on_pg()) return readyz_follows_postgresql(s);
  /* Gone: the workers' open handles would go on writing to the unlinked
   * file, but no fresh open finds it. */
  qrl_h_path(s, "moved-away.db", away, sizeof(away));
  ASSERT_EQ_INT(rename(s->db, away), 0);
  if (ready_becomes(s, 503, "{\"ready\":false,\"reason\":\"database\"}"))
    TEST_FAIL_("still ready with the database file gone");
  /* A file that is no database in its place. */
  ASSERT_TRUE((f = fopen(s->db, "w")) != NULL);
  memset(garbage, 'x', sizeof(garbage));
  ASSERT_EQ_INT(fwrite(garbage, 1, sizeof(garbage), f), sizeof(garbage));
  ASSERT_EQ_INT(fclose(f), 0);
  if (ready_becomes(s, 503, "\"reason\":\"database\""))
    TEST_FAIL_("ready with garbage for a database");
  /* Back: ready again, and the server still works. */
  ASSERT_EQ_INT(rename(away, s->db), 0);
  if (ready_becomes(s, 200, "{\"ready\":true}")) TEST_FAIL_("not ready once the file is back");
  {
    char failed[64] = "";
    if (qrl_h_qr_login(s, AN, PW, NULL, failed)) TEST_FAIL_("QR login after: %s", failed);
  }
  return 0;
}

SERVER_TEST(only_allowed_addresses_read_metrics_and_readyz, NULL) {
  char *body = NULL;
  ASSERT_EQ_INT(get_from(s, "127.0.0.2", "/metrics", &body), 404);
  ASSERT_TRUE(body && !strstr(body, "qrlogin_"));
  free(body);
  ASSERT_EQ_INT(get_from(s, "127.0.0.2", "/readyz", NULL), 404);
  ASSERT_EQ_INT(get_from(s, "127.0.0.2", "/healthz", &body), 200);
  ASSERT_TRUE(body && strcmp(body, "ok\n") == 0);
  free(body);
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/metrics", &body), 200);
  ASSERT_TRUE(body && strstr(body, "# TYPE qrlogin_logins_started_total counter"));
  free(body);
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/readyz", NULL), 200);
  /* Names next to them are not theirs. */
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/metricsx", NULL), 404);
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/api/metrics", NULL), 404);
  return 0;
}

SERVER_TEST(metrics_allow_replaces_the_default, "--metrics-allow", "127.0.0.2/32",
            "--metrics-allow", "127.0.1.0/24", NULL) {
  ASSERT_EQ_INT(get_from(s, "127.0.0.2", "/metrics", NULL), 200);
  ASSERT_EQ_INT(get_from(s, "127.0.1.9", "/readyz", NULL), 200);
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/metrics", NULL), 404);
  ASSERT_EQ_INT(get_from(s, "127.0.0.3", "/readyz", NULL), 404);
  ASSERT_EQ_INT(get_from(s, "127.0.0.1", "/healthz", NULL), 200);
  return 0;
}


/* The names qrlogin_* in the "expr" strings under j, checked against the
 * scrape m: each must have a sample there. Counts them in *checked. 0, or -1
 * (said). */
static int check_exprs(const cJSON *j, const cJSON *m, size_t *checked) {
  const cJSON *it;
  if (cJSON_IsString(j) && j->string && !strcmp(j->string, "expr")) {
    for (const char *q = j->valuestring; (q = strstr(q, "qrlogin_"));) {
      char name[96];
      size_t k = strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789_"), ln;
      int found = 0;
      snprintf(name, sizeof(name), "%.*s", (int)k, q);
      q += k;
      if (!strcmp(name, "qrlogin_tls_certificate_expiry_timestamp_seconds")) continue;
      ln = strlen(name);
      cJSON_ArrayForEach(it, m) {
        if (!strncmp(it->string, name, ln) && (it->string[ln] == '{' || !it->string[ln])) {
          found = 1;
          break;
        }
      }
      if (!found) {
        fprintf(stderr, "the dashboard queries %s, which /metrics does not serve\n", name);
        return -1;
      }
      (*checked)++;
    }
  }
  cJSON_ArrayForEach(it, j) if (check_exprs(it, m, checked)) return -1;
  return 0;
}

/* Every series the Grafana dashboard queries is one qrlogind serves: each
 * qrlogin_* name in its expressions has a sample in a real scrape (the
 * certificate's expiry only with TLS: test_logs checks that one). */
SERVER_TEST(the_dashboard_queries_only_real_series, NULL) {
  char *text = NULL;
  size_t n = 0, checked = 0;
  FILE *f = fopen(QRL_DASHBOARD, "r");
  cJSON *m = NULL, *d = NULL;
  int rc = 1;

  if (!f) TEST_FAIL_("cannot read %s", QRL_DASHBOARD);
  if (!(text = malloc(1 << 20))) {
    fclose(f);
    TEST_FAIL_("no memory");
  }
  n = fread(text, 1, (1 << 20) - 1, f);
  fclose(f);
  text[n] = '\0';
  if (!(d = cJSON_Parse(text))) {
    fprintf(stderr, "%s is not JSON\n", QRL_DASHBOARD);
    goto out;
  }
  if (!(m = scrape(s)) || check_exprs(d, m, &checked)) goto out;
  if (checked < 20) {
    fprintf(stderr, "only %zu names checked in the dashboard\n", checked);
    goto out;
  }
  rc = 0;
out:
  free(text);
  cJSON_Delete(d);
  cJSON_Delete(m);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* A worker that finds the database locked by another writer waits, and
 * /metrics counts it: the test holds the write lock with its own SQLite
 * connection while a password login needs a write. */
SERVER_TEST(a_locked_database_is_counted_as_a_wait, NULL) {
  sqlite3 *h = NULL;
  cJSON *m0 = NULL, *m1 = NULL;
  char req[512], body[128], buf[4096];
  struct sockaddr_in a = {.sin_family = AF_INET};
  struct timeval tv = {QRL_H_TIMEOUT_MS / 1000, 0};
  int fd = -1, rc = 1, len, status = 0;
  size_t got = 0;
  ssize_t r;

  if (qrl_h_on_pg()) { /* PostgreSQL's lock waits are its own (pg_stat_activity) */
    printf("  (SQLite's write lock: not on PostgreSQL)\n");
    return 0;
  }
  if (!(m0 = scrape(s))) TEST_FAIL_("first scrape");
  if (sqlite3_open(s->db, &h) != SQLITE_OK ||
      sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    fprintf(stderr, "cannot take the write lock: %s\n", h ? sqlite3_errmsg(h) : "?");
    goto out;
  }
  /* The request goes out; its answer waits for the lock. */
  len = snprintf(body, sizeof(body), "{\"id\":\"%s\",\"password\":\"%s\"}", AN, PW);
  len = snprintf(req, sizeof(req),
                 "POST /api/otp/start HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n"
                 "Connection: close\r\n\r\n%s",
                 s->port, s->http, len, body);
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
      connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
      send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
    goto out;
  /* The wait shows in /metrics while the lock is held (the loop answers
   * scrapes; the worker waits). */
  for (int64_t end = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;;) {
    cJSON_Delete(m1);
    if (!(m1 = scrape(s))) goto out;
    if (delta(m0, m1, "qrlogin_sqlite_busy_total") >= 1) break;
    if (qrl_h_mono_ms() >= end) {
      fprintf(stderr, "no SQLite wait counted while the lock was held\n");
      goto out;
    }
  }
  sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  /* Released within the busy timeout: the request succeeds. */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  while (got < sizeof(buf) - 1 && (r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
    got += (size_t)r;
  buf[got] = '\0';
  if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 || status != 200) {
    fprintf(stderr, "the request that waited for the lock got: %.200s\n", buf);
    goto out;
  }
  if (delta(m0, m1, "qrlogin_sqlite_busy_timeouts_total") != 0) goto out;
  rc = 0;
out:
  if (fd >= 0) close(fd);
  if (h) sqlite3_close(h);
  cJSON_Delete(m0);
  cJSON_Delete(m1);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST_MAIN(connection_strings_are_given_back, metrics_parse_and_count_one_per_login, readyz_follows_the_database_file,
          only_allowed_addresses_read_metrics_and_readyz, metrics_allow_replaces_the_default,
          the_dashboard_queries_only_real_series, a_locked_database_is_counted_as_a_wait)
