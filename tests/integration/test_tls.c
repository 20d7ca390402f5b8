/*
 * test_tls.c - qrlogind on TLS: the page over https with HSTS and the strict
 * headers, a Secure session cookie, websockets over wss (the browser's Origin
 * is now https://…, and http://… is refused), the simulator over wss trusting
 * the given CA, and a client that does not trust the certificate refused.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int has(const char *s, const char *needle) {
  return s && strcasestr(s, needle) != NULL;
}

TEST(login_end_to_end_over_tls) {
  char dir[] = "/tmp/qrl-tls-XXXXXX", cert[300], key[300], body[256],
       cookie[512], *hdr = NULL, *resp = NULL;
  /* Slow frames: TLS handshakes under the sanitizers take seconds, and this
   * test is about transport, not frame freshness (test_attacks). */
  const char *extra[] = {"--tls-cert", cert, "--tls-key", key, "--qr-frame-secs", "60", NULL};
  qrl_h_server srv, *s = &srv;
  cJSON *ch = NULL, *m, *out = NULL;
  qrl_wsc *br, *plain = NULL;
  qrl_h_phone p;
  qrl_qr_payload qp;
  int status = 0;

  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(qrl_h_make_cert(dir, cert, key), 0);
  ASSERT_EQ_INT(qrl_h_start(s, extra), 0);
  ASSERT_TRUE(s->tls);
  ASSERT_TRUE(strncmp(s->http, "https://", 8) == 0);

  /* The page, with HSTS and the strict headers. */
  ASSERT_EQ_INT(qrl_h_http_ex(s, "GET", "/", NULL, NULL, NULL, &resp, NULL, &hdr), 200);
  ASSERT_TRUE(has(hdr, "\r\nstrict-transport-security:"));
  ASSERT_TRUE(has(hdr, "\r\ncontent-security-policy:"));
  ASSERT_TRUE(has(hdr, "frame-ancestors 'none'"));
  ASSERT_TRUE(has(hdr, "\r\nx-content-type-options: nosniff"));
  ASSERT_TRUE(has(hdr, "\r\nreferrer-policy: no-referrer"));
  free(hdr);
  free(resp);

  /* wss: the page's https origin is accepted, its http twin is not. */
  br = qrl_h_browser(s, &ch);
  ASSERT_TRUE(br != NULL);
  {
    char http_origin[80];
    snprintf(http_origin, sizeof(http_origin), "http://127.0.0.1:%d", s->port);
    ASSERT_TRUE(qrl_h_connect(s, QRL_SUBPROTO_BROWSER, http_origin, NULL, &plain,
                              &status) != QRL_OK);
    ASSERT_EQ_INT(status, 403);
  }
  /* Without trusting the certificate, a client does not get in. */
  ASSERT_TRUE(qrl_wsc_connect_ca(s->ws, QRL_SUBPROTO_PHONE, NULL, NULL, QRL_H_TIMEOUT_MS,
                                 &plain, &status) != QRL_OK);

  /* The simulator over wss with --ca, then a raw phone confirms. */
  ASSERT_EQ_INT(qrl_h_sim(s, "an", NULL, &out, "login", "--id", "001099012345",
                          "--password", "MatKhau@2024", NULL), 0);
  cJSON_Delete(out);
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, "001099012345", "MatKhau@2024", NULL), 0);
  m = qrl_h_phone_scan_page(&p, br, ch, &qp);
  ASSERT_EQ_STR(qrl_h_type(m), "scan_ok");
  /* The phone sees the https origin it is signing for. */
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(m, "portal"), "origin"), s->http);
  cJSON_Delete(m);
  m = qrl_h_phone_decide(&p, &qp, s->http, (int64_t)time(NULL), qrl_h_scanned_number(br),
                         QRL_DECISION_CONFIRM);
  ASSERT_EQ_STR(qrl_h_type(m), "confirm_ok");
  cJSON_Delete(m);
  m = qrl_h_expect(br, "completed", QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(m != NULL);
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", qrl_h_str(m, "code"),
           qrl_h_str(ch, "binding"));
  cJSON_Delete(m);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/session", s->http, NULL, body, &resp, cookie),
                200);
  free(resp);
  ASSERT_TRUE(has(cookie, "; Secure"));
  ASSERT_TRUE(has(cookie, "HttpOnly") && has(cookie, "SameSite=Strict"));

  /* Browsers speak HTTP/2 over TLS (ALPN "h2"): no Host header there, only
   * :authority, and the same-origin rule must still hold. A spent code over
   * h2 is refused as spent (400), not as a foreign origin (403). curl is the
   * HTTP/2 client here. */
  {
    char cmd[2048], got[256] = "";
    FILE *pf;
    int n = snprintf(cmd, sizeof(cmd),
             "curl -s --http2 --cacert '%s' -o /dev/null -w '%%{http_version} %%{http_code}'"
             " -X POST -H 'Origin: %s' -H 'Content-Type: application/json'"
             " --data '%s' '%s/api/session'",
             s->ca, s->http, body, s->http);
    ASSERT_TRUE(n > 0 && (size_t)n < sizeof(cmd));
    pf = popen(cmd, "r");
    ASSERT_TRUE(pf != NULL);
    if (!fgets(got, sizeof(got), pf)) got[0] = '\0';
    ASSERT_EQ_INT(pclose(pf), 0);
    ASSERT_EQ_STR(got, "2 400");
  }

  qrl_h_phone_close(&p);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  ASSERT_EQ_INT(qrl_h_stop(s), 0);
  unlink(cert);
  unlink(key);
  rmdir(dir);
  return 0;
}

/* Runs openssl s_client against s with args; 1 if the handshake made it
 * (and its output names want, if not NULL), 0 if it was refused, -1 if
 * s_client could not run. */
static int handshake(const qrl_h_server *s, const char *args, const char *want) {
  char cmd[512], line[512];
  int ok = 0, st;
  FILE *f;
  snprintf(cmd, sizeof(cmd),
           "openssl s_client -connect 127.0.0.1:%d -servername 127.0.0.1 %s </dev/null 2>&1",
           s->port, args);
  if (!(f = popen(cmd, "r"))) return -1;
  while (fgets(line, sizeof(line), f))
    if (!want || strstr(line, want)) ok |= strstr(line, "Cipher is") != NULL;
  st = pclose(f);
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127) return -1;
  return WEXITSTATUS(st) == 0 && ok;
}

/* The TLS policy is the server's, whatever the client (or the system's
 * OpenSSL configuration) would allow: TLS 1.0 and 1.1 are refused even to a
 * client that offers them at security level 0, CBC suites on 1.2 likewise;
 * 1.2 with an AEAD ECDHE suite and 1.3 get in. */
TEST(tls_policy_is_the_servers) {
  char dir[] = "/tmp/qrl-tlsp-XXXXXX", cert[300], key[300];
  const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  qrl_h_server srv, *s = &srv;
  int r[6];
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(qrl_h_make_cert(dir, cert, key), 0);
  ASSERT_EQ_INT(qrl_h_start(s, extra), 0);
  r[0] = handshake(s, "-tls1 -cipher DEFAULT@SECLEVEL=0", NULL);
  r[1] = handshake(s, "-tls1_1 -cipher DEFAULT@SECLEVEL=0", NULL);
  r[2] = handshake(s, "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA@SECLEVEL=0", NULL);
  r[3] = handshake(s, "-tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384", NULL);
  r[4] = handshake(s, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256",
                   "ECDHE-ECDSA-AES128-GCM-SHA256");
  r[5] = handshake(s, "-tls1_3", "TLSv1.3");
  ASSERT_EQ_INT(qrl_h_stop(s), 0);
  ASSERT_EQ_INT(r[0], 0); /* TLS 1.0 refused */
  ASSERT_EQ_INT(r[1], 0); /* TLS 1.1 refused */
  ASSERT_EQ_INT(r[2], 0); /* CBC with SHA-1 refused */
  ASSERT_EQ_INT(r[3], 0); /* CBC with SHA-384 refused */
  ASSERT_EQ_INT(r[4], 1); /* AEAD ECDHE on 1.2 */
  ASSERT_EQ_INT(r[5], 1); /* 1.3 */
  return 0;
}

TEST_MAIN(login_end_to_end_over_tls, tls_policy_is_the_servers)
