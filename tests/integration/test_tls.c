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

TEST_MAIN(login_end_to_end_over_tls)
