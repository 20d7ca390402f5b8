/*
 * test_rebinding.c - DNS rebinding: a page on the attacker's name
 * (evil.example), its DNS answer switched to the server's address, is
 * same-origin with its own requests - Origin http://evil.example matches
 * Host evil.example, so the Origin check alone lets it in. The server answers
 * only for the names it serves: the --origin hosts and --host names, and
 * with --demo the loopback names. Every other Host gets 421
 * (bad_host, JSON) on the page, /api and the websocket upgrades, a request
 * without a Host 400, and each refusal is audited.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "harness.h"

#define EVIL "evil.example"

/* GET path with Host host (and Origin origin, if not NULL); the status, the
 * answer in *resp if not NULL (caller frees). */
static int get(const qrl_h_server *s, const char *path, const char *host,
               const char *origin, char **resp) {
  char req[512];
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s%sConnection: close\r\n\r\n",
           path, host, origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "");
  return qrl_h_raw_http(s, req, resp);
}

/* POST /api/session as a page on host would (Origin http://host). */
static int post_session(const qrl_h_server *s, const char *host, char **resp) {
  char req[512];
  const char *body = "{\"code\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                     "\"binding\":\"AAAAAAAAAAAAAAAAAAAAAA\"}";
  snprintf(req, sizeof(req),
           "POST /api/session HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\n"
           "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
           "\r\n%s",
           host, host, strlen(body), body);
  return qrl_h_raw_http(s, req, resp);
}

/* A websocket upgrade to subprotocol proto with Host host and Origin origin
 * (NULL: none). The status: 101 if upgraded. */
static int upgrade(const qrl_h_server *s, const char *proto, const char *host,
                   const char *origin) {
  char req[512];
  snprintf(req, sizeof(req),
           "GET / HTTP/1.1\r\nHost: %s\r\n%s%s%sUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: %s\r\n\r\n",
           host, origin ? "Origin: " : "", origin ? origin : "", origin ? "\r\n" : "", proto);
  return qrl_h_raw_http(s, req, NULL);
}

/* The answer is the JSON error bad_host. */
static int is_bad_host(const char *resp) {
  const char *body = resp ? strstr(resp, "\r\n\r\n") : NULL;
  cJSON *o = body ? cJSON_Parse(body + 4) : NULL;
  int ok = o && strcmp(qrl_h_str(o, "code"), "bad_host") == 0 &&
           strlen(qrl_h_str(o, "message")) > 0;
  if (!ok) fprintf(stderr, "  not a bad_host answer: %s\n", resp ? resp : "(none)");
  cJSON_Delete(o);
  return ok;
}

/* Rows of the audit trail with event and outcome. */
static int audit_rows(const qrl_h_server *s, const char *event, const char *outcome) {
  int64_t n = qrl_h_sql(s, NULL, 0, "SELECT count(*) FROM audit WHERE event = ? AND outcome = ?",
                        "tt", event, outcome);
  return n < 0 ? -1 : (int)n;
}

/* The finding: Host evil.example with Origin http://evil.example was
 * upgraded (101), logged in and given a cookie. Now the page, /api and both
 * websockets refuse that Host with 421 and say bad_host; the demo's own
 * loopback names keep working; every refusal is audited. */
SERVER_TEST(a_rebound_name_is_refused_everywhere, NULL) {
  char host[64], origin[80], *resp = NULL;
  snprintf(host, sizeof(host), EVIL ":%d", s->port);
  snprintf(origin, sizeof(origin), "http://" EVIL ":%d", s->port);

  /* The page and its files. */
  ASSERT_EQ_INT(get(s, "/", host, NULL, &resp), 421);
  ASSERT_TRUE(is_bad_host(resp));
  ASSERT_TRUE(strstr(resp, "Bộ Công an") == NULL); /* not the page */
  free(resp);
  ASSERT_EQ_INT(get(s, "/login.js", host, NULL, NULL), 421);
  ASSERT_EQ_INT(get(s, "/", EVIL, NULL, NULL), 421); /* no port either */
  /* /api: GET and the state-changing POST. */
  ASSERT_EQ_INT(get(s, "/api/me", host, origin, &resp), 421);
  ASSERT_TRUE(is_bad_host(resp));
  free(resp);
  ASSERT_EQ_INT(post_session(s, host, &resp), 421);
  ASSERT_TRUE(is_bad_host(resp));
  free(resp);
  /* Both websockets: no 101. */
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, host, origin), 421);
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_PHONE, host, NULL), 421);

  /* Look-alikes of the loopback names are DNS names too. */
  {
    static const char *const fake[] = {"localhost.evil.example", "127.0.0.1.nip.io",
                                       "127.1", "0x7f.0.0.1", "2130706433",
                                       "evil.example@127.0.0.1", "127.0.0.1 evil",
                                       "[::2]", "[::1", "", ":80"};
    for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++) {
      int st = get(s, "/", fake[i], NULL, NULL);
      if (st != 421 && st != 400) TEST_FAIL_("Host '%s' got %d", fake[i], st);
    }
  }

  /* The demo's names: localhost, 127.0.0.0/8, [::1], any port. */
  {
    char lh[64], lo2[64], v6[64], lh_origin[80];
    snprintf(lh, sizeof(lh), "localhost:%d", s->port);
    snprintf(lo2, sizeof(lo2), "127.0.0.2:%d", s->port);
    snprintf(v6, sizeof(v6), "[::1]:%d", s->port);
    snprintf(lh_origin, sizeof(lh_origin), "http://localhost:%d", s->port);
    ASSERT_EQ_INT(get(s, "/", lh, NULL, NULL), 200);
    ASSERT_EQ_INT(get(s, "/", lo2, NULL, NULL), 200);
    ASSERT_EQ_INT(get(s, "/", v6, NULL, NULL), 200);
    ASSERT_EQ_INT(get(s, "/", "127.0.0.1", NULL, NULL), 200);
    ASSERT_EQ_INT(get(s, "/api/me", lh, NULL, NULL), 401); /* served: not logged in */
    ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, lh, lh_origin), 101);
    /* A loopback Host still needs its own Origin. */
    ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, lh, origin), 403);
  }

  ASSERT_EQ_INT(qrl_h_settle(s), 0); /* the audit rows are all written at exit */
  ASSERT_TRUE(audit_rows(s, "http_request", "bad_host") >= 1);
  ASSERT_TRUE(audit_rows(s, "ws_upgrade", "bad_host") >= 1);
  return 0;
}

/* HTTP/1.1 needs a Host (RFC 9112 3.2): without one, 400; HTTP/1.0 is held
 * to the same (there is no name to check). */
SERVER_TEST(a_request_without_a_host_is_bad, NULL) {
  char *resp = NULL;
  ASSERT_EQ_INT(qrl_h_raw_http(s, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &resp), 400);
  ASSERT_TRUE(is_bad_host(resp));
  free(resp);
  ASSERT_EQ_INT(qrl_h_raw_http(s, "GET /api/me HTTP/1.1\r\nConnection: close\r\n\r\n", NULL),
                400);
  ASSERT_EQ_INT(qrl_h_raw_http(s, "GET / HTTP/1.0\r\n\r\n", NULL), 400);
  return 0;
}

/* Outside --demo, with --origin: that origin's host name is served (any
 * port) and a --host name too; loopback names are not (only the demo has
 * them), and the rebound name is still refused. */
SERVER_TEST(allowlisted_names_are_served, QRL_H_NO_DEMO, "--origin", "http://portal.example",
            "--host", "proxy.internal", NULL) {
  char host[64], other[64], lo[64], evil[64];
  snprintf(host, sizeof(host), "portal.example:%d", s->port);
  snprintf(other, sizeof(other), "PROXY.internal:%d", s->port);
  snprintf(lo, sizeof(lo), "127.0.0.1:%d", s->port);
  snprintf(evil, sizeof(evil), EVIL ":%d", s->port);
  ASSERT_EQ_INT(get(s, "/", host, NULL, NULL), 200);
  ASSERT_EQ_INT(get(s, "/", "portal.example", NULL, NULL), 200);
  ASSERT_EQ_INT(get(s, "/", other, NULL, NULL), 200);
  ASSERT_EQ_INT(get(s, "/api/me", host, NULL, NULL), 401);
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, host, "http://portal.example"), 101);
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_PHONE, other, NULL), 101);
  /* Outside the demo the loopback names are not served. */
  ASSERT_EQ_INT(get(s, "/", lo, NULL, NULL), 421);
  ASSERT_EQ_INT(get(s, "/", evil, NULL, NULL), 421);
  ASSERT_EQ_INT(post_session(s, evil, NULL), 421);
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, evil, "http://" EVIL), 421);
  /* The Origin is still checked on a served name. */
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, host, "http://" EVIL), 403);
  return 0;
}

/* --demo with --host (a demo shown on a LAN address): that name and the
 * loopback names are served, a rebound name is not. */
SERVER_TEST(the_demo_keeps_its_loopback_names, "--host", "192.168.1.5", NULL) {
  char lan[64], lh[64], evil[64];
  snprintf(lan, sizeof(lan), "192.168.1.5:%d", s->port);
  snprintf(lh, sizeof(lh), "localhost:%d", s->port);
  snprintf(evil, sizeof(evil), EVIL ":%d", s->port);
  ASSERT_EQ_INT(get(s, "/", lan, NULL, NULL), 200);
  ASSERT_EQ_INT(get(s, "/", lh, NULL, NULL), 200);
  ASSERT_EQ_INT(get(s, "/", evil, NULL, NULL), 421);
  ASSERT_EQ_INT(upgrade(s, QRL_SUBPROTO_BROWSER, evil, "http://" EVIL), 421);
  return 0;
}

/* curl over HTTP/2 (TLS, ALPN "h2": the name travels as :authority) GETs
 * path with Host host; "<http version> <status>" in got. 0, or -1. */
static int h2_get(const qrl_h_server *s, const char *host, const char *path,
                  char got[32]) {
  char cmd[1024];
  FILE *pf;
  int n = snprintf(cmd, sizeof(cmd),
                   "curl -s --http2 --cacert '%s' -o /dev/null -w '%%{http_version} %%{http_code}'"
                   " -H 'Host: %s:%d' '%s%s'",
                   s->ca, host, s->port, s->http, path);
  got[0] = '\0';
  if (n < 0 || (size_t)n >= sizeof(cmd) || !(pf = popen(cmd, "r"))) return -1;
  if (!fgets(got, 32, pf)) got[0] = '\0';
  return pclose(pf) == 0 ? 0 : -1;
}

/* Over TLS and HTTP/2, where browsers send the name as :authority: the same
 * refusal for the page and /api, and the served name still works. */
TEST(the_name_is_checked_over_http2_too) {
  char dir[] = "/tmp/qrl-rb-XXXXXX", cert[300], key[300], g[4][32];
  const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  qrl_h_server srv, *s = &srv;
  int r[4];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(qrl_h_make_cert(dir, cert, key), 0);
  ASSERT_EQ_INT(qrl_h_start(s, extra), 0);
  r[0] = h2_get(s, EVIL, "/", g[0]);
  r[1] = h2_get(s, EVIL, "/api/me", g[1]);
  r[2] = h2_get(s, "127.0.0.1", "/", g[2]);
  r[3] = h2_get(s, "localhost", "/api/me", g[3]);
  for (int i = 0; i < 4; i++) fprintf(stderr, "  h2 request %d: %d '%s'\n", i, r[i], g[i]);
  ASSERT_EQ_INT(qrl_h_stop(s), 0);
  unlink(cert);
  unlink(key);
  rmdir(dir);
  ASSERT_EQ_STR(g[0], "2 421");
  ASSERT_EQ_STR(g[1], "2 421");
  ASSERT_EQ_STR(g[2], "2 200");
  ASSERT_EQ_STR(g[3], "2 401");
  return 0;
}

TEST_MAIN(a_rebound_name_is_refused_everywhere, a_request_without_a_host_is_bad,
          allowlisted_names_are_served, the_demo_keeps_its_loopback_names,
          the_name_is_checked_over_http2_too)
