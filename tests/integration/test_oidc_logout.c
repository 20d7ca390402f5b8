/*
 * test_oidc_logout.c - OpenID Connect logout on a real qrlogind: relying
 * portals registered with the real qrlogin-admin, each with a back-channel
 * logout receiver that is this test's own HTTP listener on loopback (a real
 * socket; it blocks on accept/poll with a deadline, never sleeps). Every
 * logout token received is checked: its ES256 signature against
 * /oauth2/jwks (OpenSSL), header typ "logout+jwt", iss, aud, sid equal to
 * the ID token's, sub, iat/exp, jti, the back-channel logout event, and no
 * nonce.
 *
 * Cases: RP-initiated logout with id_token_hint redirects to the registered
 * post-logout URI with state, clears qrl_op, the portal receives its token
 * and the session no longer logs in silently (prompt=none: login_required);
 * an unregistered post_logout_redirect_uri gets an error page, no redirect,
 * and ends nothing; without a hint the citizen confirms with a one-time
 * token; the web page's own logout, the phone's "Không phải tôi" and
 * `qrlogin-admin session revoke` (a
 * separate process: the durable outbox) deliver tokens; a portal answering
 * 500 first gets its token on the retry (--bclogout-retry-ms); two portals
 * of one session receive one token each.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin_run.h"
#include "harness.h"
#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "helpers/jose.h"

#define AN "001099012345"
#define PW "MatKhau@2024"
#define VERIFIER "oidc-logout-test-verifier-0123456789-abcdefghijklmnop"
#define CB "http://127.0.0.1:9/cb"
#define BYE "http://127.0.0.1:9/bye"
#define BCL_EVENT "http://schemas.openid.net/event/backchannel-logout"

/* ---- a relying portal's back-channel logout receiver ------------------------ */

typedef struct receiver {
  int fd;
  int port;
  char uri[64];
} receiver;

static int receiver_open(receiver *r) {
  struct sockaddr_in a;
  socklen_t al = sizeof(a);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
  if (bind(r->fd, (struct sockaddr *)&a, sizeof(a)) || listen(r->fd, 8) ||
      getsockname(r->fd, (struct sockaddr *)&a, &al)) {
    close(r->fd);
    return -1;
  }
  r->port = ntohs(a.sin_port);
  snprintf(r->uri, sizeof(r->uri), "http://127.0.0.1:%d/bcl", r->port);
  return 0;
}

/* Waits (poll, until the deadline) for fd to be readable: 1, or 0. */
static int readable(int fd, int64_t deadline) {
  struct pollfd p = {fd, POLLIN, 0};
  int64_t left = deadline - qrl_h_mono_ms();
  return left > 0 && poll(&p, 1, (int)left) == 1;
}

/* Accepts one POST within timeout_ms, answers status, and gives the
 * logout_token of its form body (malloc'd). NULL (said why) on anything
 * else: another method or path, another Content-Type, no token. */
static char *receive(receiver *r, int status, int timeout_ms) {
  int64_t deadline = qrl_h_mono_ms() + timeout_ms;
  char buf[8192], *hdr_end = NULL, *tok = NULL, reply[128];
  size_t got = 0, need = 0;
  const char *cl, *p;
  int fd;
  if (!readable(r->fd, deadline)) {
    fprintf(stderr, "receiver %d: no back-channel logout within %d ms\n", r->port, timeout_ms);
    return NULL;
  }
  if ((fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) return NULL;
  while (got + 1 < sizeof(buf)) {
    ssize_t n;
    if (!readable(fd, deadline) || (n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0) break;
    got += (size_t)n;
    buf[got] = '\0';
    if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
      cl = strcasestr(buf, "\r\ncontent-length:");
      need = (size_t)(hdr_end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
    }
    if (hdr_end && got >= need) break;
  }
  buf[got] = '\0';
  snprintf(reply, sizeof(reply), "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
           status);
  if (write(fd, reply, strlen(reply)) < 0) fprintf(stderr, "receiver: write failed\n");
  close(fd);
  if (!hdr_end || got < need || strncmp(buf, "POST /bcl HTTP/1.1\r\n", 20) != 0 ||
      !strcasestr(buf, "\r\ncontent-type: application/x-www-form-urlencoded")) {
    fprintf(stderr, "receiver %d: not a back-channel logout POST:\n%s\n", r->port, buf);
    return NULL;
  }
  p = hdr_end + 4;
  if (strncmp(p, "logout_token=", 13) != 0 || strchr(p + 13, '&')) {
    fprintf(stderr, "receiver %d: body is not logout_token=...: %s\n", r->port, p);
    return NULL;
  }
  tok = strdup(p + 13); /* base64url and dots: nothing is percent-encoded */
  if (tok) qrl_h_secret(tok);
  return tok;
}

/* 1 if a connection waits on r now (a delivery nobody expected). */
static int pending(receiver *r) {
  struct pollfd p = {r->fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

/* ---- qrlogin-admin ---------------------------------------------------------- */

/* A relying portal registered with qrlogin-admin, its receiver at r. */
typedef struct portal {
  char id[32];
  char secret[128];
  receiver r;
} portal;

/* Registers portal id whose ID tokens are signed with alg. */
static int portal_add_alg(const qrl_h_server *s, portal *pt, const char *id, const char *alg) {
  qrl_admin_out out;
  cJSON *o;
  const char *sec;
  snprintf(pt->id, sizeof(pt->id), "%s", id);
  ASSERT_EQ_INT(receiver_open(&pt->r), 0);
  ASSERT_EQ_INT(qrl_admin_run(s, &out, "client", "add", id, "--name", "Cổng thử", "--redirect-uri",
                      CB, "--post-logout-redirect-uri", BYE, "--backchannel-logout-uri", pt->r.uri,
                      "--id-token-alg", alg, "--json", NULL),
                0);
  o = cJSON_Parse(out.out);
  sec = cJSON_GetStringValue(cJSON_GetObjectItem(o, "client_secret"));
  ASSERT_TRUE(sec != NULL);
  snprintf(pt->secret, sizeof(pt->secret), "%s", sec);
  qrl_h_secret(pt->secret);
  cJSON_Delete(o);
  return 0;
}

static int portal_add(const qrl_h_server *s, portal *pt, const char *id) {
  return portal_add_alg(s, pt, id, "ES256");
}

static void portal_close(portal *pt) {
  if (pt->r.fd > 0) close(pt->r.fd);
}

/* ---- the code flow (as test_oidc_flow.c) ------------------------------------- */

/* GET path with cookie (may be NULL): the status; Location into loc, the
 * Set-Cookie into set (may be NULL), the body into *body (may be NULL). */
static int get(const qrl_h_server *s, const char *path, const char *cookie, char loc[2048],
               char set[512], char **body) {
  char *b = NULL, *hdrs = NULL;
  int st = qrl_h_http_ex(s, "GET", path, NULL, cookie, NULL, &b, set, &hdrs);
  qrl_h_header(hdrs, "location:", loc, 2048);
  free(hdrs);
  if (body) *body = b;
  else free(b);
  return st;
}

/* GET /oauth2/authorize for pt with cookie and extra ("" or "&prompt=none"). */
static int authorize(const qrl_h_server *s, const portal *pt, const char *cookie,
                     const char *extra, char loc[2048]) {
  char path[1024], ch[44];
  qrl_h_pkce_challenge(VERIFIER, ch);
  snprintf(path, sizeof(path),
           "/oauth2/authorize?response_type=code&client_id=%s&redirect_uri=" CB
           "&scope=openid&state=s1&nonce=n1&code_challenge=%s&code_challenge_method=S256%s",
           pt->id, ch, extra);
  return get(s, path, cookie, loc, NULL, NULL);
}

/* POST /oauth2/token for pt: the ID token (malloc'd) or NULL. */
static char *redeem(const qrl_h_server *s, const portal *pt, const char *code) {
  char req[4096], cred[256], b64[400], form[512], *all = NULL, *sep, *out = NULL;
  cJSON *o;
  snprintf(cred, sizeof(cred), "%s:%s", pt->id, pt->secret);
  qrl_b64url_encode((const uint8_t *)cred, strlen(cred), b64, sizeof(b64));
  for (char *p = b64; *p; p++)
    if (*p == '-') *p = '+';
    else if (*p == '_') *p = '/';
  snprintf(form, sizeof(form),
           "grant_type=authorization_code&code=%s&redirect_uri=" CB "&code_verifier=" VERIFIER,
           code);
  snprintf(req, sizeof(req),
           "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
           "Authorization: Basic %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: %zu\r\n\r\n%s",
           s->port, b64, strlen(form), form);
  if (qrl_h_raw_http(s, req, &all) == 200 && all && (sep = strstr(all, "\r\n\r\n")) &&
      (o = cJSON_Parse(sep + 4))) {
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "id_token"));
    qrl_h_secret(cJSON_GetStringValue(cJSON_GetObjectItem(o, "access_token")));
    if (t) out = strdup(t);
    cJSON_Delete(o);
  }
  if (!out) fprintf(stderr, "token endpoint: %s\n", all ? all : "(nothing)");
  free(all);
  if (out) qrl_h_secret(out);
  return out;
}

/* A QR login of AN: its cookie pair ("qrl_session=..."). 0 or 1. */
static int qr_cookie(const qrl_h_server *s, char cookie[160]) {
  cJSON *ch = NULL, *m = NULL;
  qrl_wsc *br = NULL;
  qrl_h_phone p;
  char body[256], set[512] = "";
  int rc = 1;
  memset(&p, 0, sizeof(p));
  if (!(br = qrl_h_browser(s, &ch))) goto out;
  if (qrl_h_phone_ready(s, &p, AN, PW, NULL)) goto out;
  m = qrl_h_confirm_page(s, &p, br, ch);
  if (!m || strcmp(qrl_h_type(m), "completed")) goto out;
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", qrl_h_str(m, "code"),
           qrl_h_str(ch, "binding"));
  if (qrl_h_http(s, "POST", "/api/session", s->http, NULL, body, NULL, set) != 200) goto out;
  snprintf(cookie, 160, "%.*s", (int)strcspn(set, ";"), set);
  rc = 0;
out:
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_h_phone_close(&p);
  qrl_wsc_free(br);
  if (rc) fprintf(stderr, "the QR login failed\n");
  return rc;
}

/* The claims of jws (verified against /oauth2/jwks; its header's typ into
 * typ), or NULL (said why). */
static cJSON *verified(const qrl_h_server *s, const char *jws, char typ[32]) {
  char kid[QRL_JWK_KID_LEN + 1], *body = NULL, *payload = NULL;
  const cJSON *k;
  cJSON *set, *claims = NULL, *hdr;
  uint8_t pub[65] = {0}, hb[512];
  size_t plen;
  long hn;
  int has_kid = 0, found = 0;
  typ[0] = '\0';
  if (qrl_jws_kid(jws, strlen(jws), kid, sizeof(kid), &has_kid) || !has_kid) return NULL;
  hn = qrl_b64url_decode(jws, strcspn(jws, "."), hb, sizeof(hb) - 1);
  if (hn <= 0) return NULL;
  hb[hn] = '\0';
  if ((hdr = cJSON_Parse((const char *)hb))) {
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "typ"));
    snprintf(typ, 32, "%s", t ? t : "");
    cJSON_Delete(hdr);
  }
  if (qrl_h_http(s, "GET", "/oauth2/jwks", NULL, NULL, NULL, &body, NULL) != 200) return NULL;
  set = cJSON_Parse(body);
  free(body);
  cJSON_ArrayForEach(k, cJSON_GetObjectItem(set, "keys")) {
    const char *x = cJSON_GetStringValue(cJSON_GetObjectItem(k, "x"));
    const char *y = cJSON_GetStringValue(cJSON_GetObjectItem(k, "y"));
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(k, "n"));
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(k, "e"));
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(k, "kid")), kid)) continue;
    if (n && e) { /* RS256 */
      if (qrl_jws_verify_rsa(n, e, jws, strlen(jws), &payload, &plen) == QRL_OK)
        claims = cJSON_Parse(payload);
      continue;
    }
    if (!x || !y) continue;
    pub[0] = 4;
    qrl_b64url_decode(x, strlen(x), pub + 1, 32);
    qrl_b64url_decode(y, strlen(y), pub + 33, 32);
    found = 1;
  }
  cJSON_Delete(set);
  if (found && qrl_jws_verify(pub, jws, strlen(jws), &payload, &plen) == QRL_OK)
    claims = cJSON_Parse(payload);
  if (!claims) fprintf(stderr, "a token that does not verify: %s\n", jws);
  free(payload);
  return claims;
}

/* A citizen's session at portal pt: logs in by QR unless cookie is
 * already set, gets a code (SSO) and the ID token; its claims into *idc. */
static int session_at(const qrl_h_server *s, const portal *pt, char cookie[160], char **idt,
                      cJSON **idc) {
  char loc[2048], code[64], typ[32];
  if (!cookie[0]) ASSERT_EQ_INT(qr_cookie(s, cookie), 0);
  ASSERT_EQ_INT(authorize(s, pt, cookie, "", loc), 302);
  ASSERT_EQ_INT(qrl_h_url_param(loc, "code", code, sizeof(code)), 0);
  qrl_h_secret(code);
  ASSERT_TRUE((*idt = redeem(s, pt, code)) != NULL);
  ASSERT_TRUE((*idc = verified(s, *idt, typ)) != NULL);
  ASSERT_EQ_STR(typ, "JWT");
  return 0;
}

/* Checks logout token jws for portal pt against the ID token's claims. */
static int check_logout_token(const qrl_h_server *s, const portal *pt, const char *jws,
                              const cJSON *idc) {
  char typ[32];
  cJSON *c = verified(s, jws, typ), *ev;
  double now = (double)time(NULL);
  ASSERT_TRUE(c != NULL);
  ASSERT_EQ_STR(typ, "logout+jwt");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "iss")), s->http);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "aud")), pt->id);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sid")),
                cJSON_GetStringValue(cJSON_GetObjectItem(idc, "sid")));
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")),
                cJSON_GetStringValue(cJSON_GetObjectItem(idc, "sub")));
  ASSERT_TRUE(cJSON_GetObjectItem(c, "nonce") == NULL);
  ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(c, "jti")));
  ASSERT_TRUE(cJSON_GetObjectItem(c, "iat")->valuedouble <= now + 1);
  ASSERT_TRUE(cJSON_GetObjectItem(c, "exp")->valuedouble > now);
  ev = cJSON_GetObjectItem(c, "events");
  ASSERT_TRUE(cJSON_IsObject(ev) && cJSON_GetArraySize(ev) == 1);
  ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItem(ev, BCL_EVENT)));
  cJSON_Delete(c);
  return 0;
}

/* Receives one token at pt (answering 200) and checks it. */
static int expect_logout(const qrl_h_server *s, portal *pt, const cJSON *idc) {
  char *tok = receive(&pt->r, 200, QRL_H_TIMEOUT_MS);
  int rc;
  ASSERT_TRUE(tok != NULL);
  rc = check_logout_token(s, pt, tok, idc);
  free(tok);
  return rc;
}

/* prompt=none with cookie at pt: login_required (the session is over). */
static int silent_login_refused(const qrl_h_server *s, const portal *pt, const char *cookie) {
  char loc[2048], err[64];
  ASSERT_EQ_INT(authorize(s, pt, cookie, "&prompt=none", loc), 302);
  ASSERT_EQ_INT(qrl_h_url_param(loc, "error", err, sizeof(err)), 0);
  ASSERT_EQ_STR(err, "login_required");
  return 0;
}

/* Waits for n delivery outcomes "result" in the server's log. */
static int wait_outcomes(const qrl_h_server *s, const char *result, int n) {
  char log[320], needle[64];
  qrl_h_path(s, "server.log", log, sizeof(log));
  snprintf(needle, sizeof(needle), "\"result\":\"%s\"", result);
  ASSERT_EQ_INT(qrl_h_wait_lines(log, needle, n, QRL_H_TIMEOUT_MS), 0);
  return 0;
}

/* The /metrics line of qrlogin_oidc_backchannel_logout_total{result}. */
static long metric(const qrl_h_server *s, const char *result) {
  char *body = NULL, pat[96];
  const char *p;
  long v = -1;
  snprintf(pat, sizeof(pat), "qrlogin_oidc_backchannel_logout_total{result=\"%s\"} ", result);
  if (qrl_h_http(s, "GET", "/metrics", NULL, NULL, NULL, &body, NULL) == 200 && body &&
      (p = strstr(body, pat)))
    v = strtol(p + strlen(pat), NULL, 10);
  free(body);
  return v;
}

/* ---- the cases ---------------------------------------------------------------- */

SERVER_TEST(rp_logout_redirects_with_state_and_the_portal_gets_its_token, NULL) {
  int64_t t0;
  portal a = {0};
  char cookie[160] = "", path[4096], loc[2048], set[512], *idt = NULL, *body = NULL;
  cJSON *idc = NULL;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);

  /* An unregistered post_logout_redirect_uri: an error page, no redirect,
   * nothing ended. */
  snprintf(path, sizeof(path),
           "/oauth2/logout?id_token_hint=%s&post_logout_redirect_uri=http://127.0.0.1:9/evil"
           "&state=x",
           idt);
  ASSERT_EQ_INT(get(s, path, cookie, loc, NULL, &body), 400);
  ASSERT_EQ_STR(loc, "");
  ASSERT_TRUE(body && strstr(body, "<!doctype html>"));
  free(body);
  ASSERT_TRUE(!pending(&a.r));
  /* a hint that is not ours: the same */
  ASSERT_EQ_INT(get(s, "/oauth2/logout?id_token_hint=eyJhbGciOiJub25lIn0.e30.&"
                       "post_logout_redirect_uri=" BYE,
                    cookie, loc, NULL, NULL),
                400);
  ASSERT_EQ_STR(loc, "");
  {
    char l2[2048];
    ASSERT_EQ_INT(authorize(s, &a, cookie, "&prompt=none", l2), 302);
    ASSERT_TRUE(strstr(l2, "code=") != NULL); /* still logged in */
  }

  /* The portal's logout: back to it with state, the cookie cleared. */
  snprintf(path, sizeof(path),
           "/oauth2/logout?id_token_hint=%s&post_logout_redirect_uri=" BYE "&state=st%%20ate"
           "&ui_locales=vi",
           idt);
  t0 = qrl_h_mono_ms();
  ASSERT_EQ_INT(get(s, path, cookie, loc, set, NULL), 302);
  ASSERT_EQ_STR(loc, BYE "?state=st%20ate");
  ASSERT_TRUE(strncmp(set, "qrl_op=;", 8) == 0 && strstr(set, "Max-Age=0"));
  ASSERT_EQ_INT(expect_logout(s, &a, idc), 0);
  fprintf(stderr, "RP logout -> logout token received: %lld ms\n",
          (long long)(qrl_h_mono_ms() - t0));
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  /* the same hint again: nothing left to end, the redirect all the same */
  ASSERT_EQ_INT(get(s, path, cookie, loc, NULL, NULL), 302);
  ASSERT_EQ_INT(wait_outcomes(s, "delivered", 1), 0);
  ASSERT_TRUE(!pending(&a.r));
  ASSERT_EQ_INT((int)metric(s, "delivered"), 1);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

/* A portal whose ID tokens are RS256: its id_token_hint verifies with the
 * provider's RSA key, and its logout token is signed RS256 too (the alg it
 * registered), verified against the published n and e. */
SERVER_TEST(an_rs256_portal_logs_out_with_rs256_tokens, NULL) {
  portal a = {0};
  char cookie[160] = "", path[4096], loc[2048], alg[16] = "", *idt = NULL, *got;
  cJSON *idc = NULL, *hdr;
  unsigned char hb[512];
  long hn;
  ASSERT_EQ_INT(portal_add_alg(s, &a, "portal-rsa", "RS256"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  snprintf(path, sizeof(path),
           "/oauth2/logout?id_token_hint=%s&post_logout_redirect_uri=" BYE "&state=r", idt);
  ASSERT_EQ_INT(get(s, path, cookie, loc, NULL, NULL), 302);
  ASSERT_EQ_STR(loc, BYE "?state=r");
  got = receive(&a.r, 200, QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(got != NULL);
  hn = qrl_b64url_decode(got, strcspn(got, "."), hb, sizeof(hb) - 1);
  ASSERT_TRUE(hn > 0);
  hb[hn] = '\0';
  ASSERT_TRUE((hdr = cJSON_Parse((const char *)hb)) != NULL);
  snprintf(alg, sizeof(alg), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "alg")));
  cJSON_Delete(hdr);
  ASSERT_EQ_STR(alg, "RS256");
  ASSERT_EQ_INT(check_logout_token(s, &a, got, idc), 0); /* verified: n and e */
  free(got);
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(logout_without_a_hint_asks_the_citizen_first, NULL) {
  portal a = {0};
  char cookie[160] = "", loc[2048], set[512], *idt = NULL, *body = NULL, form[128], tok[64];
  cJSON *idc = NULL;
  const char *v;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  /* A cross-site GET without a hint ends nothing: a form comes back. */
  ASSERT_EQ_INT(get(s, "/oauth2/logout?client_id=portal-a&post_logout_redirect_uri=" BYE
                       "&state=k",
                    cookie, loc, NULL, &body),
                200);
  ASSERT_EQ_STR(loc, "");
  ASSERT_TRUE(body && (v = strstr(body, "name=\"confirm\" value=\"")));
  snprintf(tok, sizeof(tok), "%.*s", 43, v + 22);
  free(body);
  ASSERT_TRUE(!pending(&a.r));
  /* the form's token from another browser (no cookie) is refused */
  snprintf(form, sizeof(form), "confirm=%s", tok);
  qrl_h_secret(tok);
  {
    char *b2 = NULL;
    ASSERT_EQ_INT(qrl_h_http_ex(s, "POST", "/oauth2/logout", s->http, NULL, form, &b2, NULL, NULL),
                  400);
    free(b2);
  }
  ASSERT_EQ_INT(qrl_h_http_ex(s, "POST", "/oauth2/logout", s->http, cookie, form, &body, set, NULL),
                400); /* used up by the refused try: one use */
  free(body);
  /* a fresh form, confirmed by the browser of the session */
  ASSERT_EQ_INT(get(s, "/oauth2/logout?client_id=portal-a&post_logout_redirect_uri=" BYE
                       "&state=k",
                    cookie, loc, NULL, &body),
                200);
  ASSERT_TRUE(body && (v = strstr(body, "name=\"confirm\" value=\"")));
  snprintf(tok, sizeof(tok), "%.*s", 43, v + 22);
  qrl_h_secret(tok);
  free(body);
  snprintf(form, sizeof(form), "confirm=%s", tok);
  ASSERT_EQ_INT(qrl_h_http_ex(s, "POST", "/oauth2/logout", s->http, cookie, form, &body, set, NULL),
                200);
  ASSERT_TRUE(body && strstr(body, "Đã đăng xuất") && strstr(body, BYE "?state=k"));
  free(body);
  ASSERT_EQ_INT(expect_logout(s, &a, idc), 0);
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  /* no session: the logged-out page, or the registered URI */
  ASSERT_EQ_INT(get(s, "/oauth2/logout", NULL, loc, NULL, &body), 200);
  ASSERT_TRUE(body && strstr(body, "Logged out"));
  free(body);
  ASSERT_EQ_INT(get(s, "/oauth2/logout?client_id=portal-a&post_logout_redirect_uri=" BYE, NULL,
                    loc, NULL, NULL),
                302);
  ASSERT_EQ_STR(loc, BYE);
  ASSERT_EQ_INT(get(s, "/oauth2/logout?client_id=nobody&post_logout_redirect_uri=" BYE, NULL, loc,
                    NULL, NULL),
                400);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(the_phones_not_me_sends_a_logout_token, NULL) {
  portal a = {0};
  char cookie[160] = "", fields[64], *idt = NULL;
  cJSON *idc = NULL, *m;
  const cJSON *w;
  qrl_h_phone p;
  long long id = 0;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  m = qrl_h_phone_call(&p, "web_logins", NULL);
  ASSERT_TRUE(m && strcmp(qrl_h_type(m), "web_logins_ok") == 0);
  cJSON_ArrayForEach(w, cJSON_GetObjectItem(m, "logins")) {
    if (cJSON_IsTrue(cJSON_GetObjectItem(w, "active")))
      id = (long long)cJSON_GetObjectItem(w, "id")->valuedouble;
  }
  cJSON_Delete(m);
  ASSERT_TRUE(id > 0);
  snprintf(fields, sizeof(fields), "\"id\":%lld", id);
  m = qrl_h_phone_call(&p, "revoke_web_login", fields); /* "Không phải tôi" */
  ASSERT_TRUE(m && strcmp(qrl_h_type(m), "revoke_web_login_ok") == 0);
  cJSON_Delete(m);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(expect_logout(s, &a, idc), 0);
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(the_web_pages_own_logout_sends_a_logout_token, NULL) {
  portal a = {0};
  char cookie[160] = "", *idt = NULL;
  cJSON *idc = NULL;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/logout", s->http, cookie, NULL, NULL, NULL), 200);
  ASSERT_EQ_INT(expect_logout(s, &a, idc), 0);
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(an_admin_revoke_in_another_process_reaches_the_portal, NULL) {
  int64_t t0;
  portal a = {0};
  char cookie[160] = "", *idt = NULL;
  cJSON *idc = NULL;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  /* qrlogin-admin writes the outbox row; qrlogind polls and delivers it */
  t0 = qrl_h_mono_ms();
  ASSERT_EQ_INT(qrl_admin_run(s, NULL, "session", "revoke", AN, NULL), 0);
  ASSERT_EQ_INT(expect_logout(s, &a, idc), 0);
  fprintf(stderr, "admin revoke -> logout token received: %lld ms (the poll is 1 s)\n",
          (long long)(qrl_h_mono_ms() - t0));
  ASSERT_EQ_INT(silent_login_refused(s, &a, cookie), 0);
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(a_portal_that_fails_first_gets_its_token_on_the_retry, "--bclogout-retry-ms", "50",
            NULL) {
  portal a = {0};
  char cookie[160] = "", *idt = NULL, *first, *second;
  cJSON *idc = NULL;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &idt, &idc), 0);
  ASSERT_EQ_INT(qrl_admin_run(s, NULL, "session", "revoke", AN, NULL), 0);
  first = receive(&a.r, 500, QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(first != NULL);
  ASSERT_EQ_INT(check_logout_token(s, &a, first, idc), 0);
  second = receive(&a.r, 200, QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(second != NULL);
  ASSERT_EQ_INT(check_logout_token(s, &a, second, idc), 0);
  ASSERT_TRUE(strcmp(first, second) != 0); /* a new token (jti, iat) per attempt */
  free(first);
  free(second);
  ASSERT_EQ_INT(wait_outcomes(s, "delivered", 1), 0);
  ASSERT_EQ_INT((int)metric(s, "retry"), 1);
  ASSERT_EQ_INT((int)metric(s, "delivered"), 1);
  ASSERT_EQ_INT((int)metric(s, "failed"), 0);
  ASSERT_TRUE(!pending(&a.r));
  cJSON_Delete(idc);
  free(idt);
  portal_close(&a);
  return 0;
}

SERVER_TEST(two_portals_of_one_session_get_one_token_each, NULL) {
  portal a = {0}, b = {0};
  char cookie[160] = "", path[4096], loc[2048], *ida = NULL, *idb = NULL;
  cJSON *ca = NULL, *cb = NULL;
  ASSERT_EQ_INT(portal_add(s, &a, "portal-a"), 0);
  ASSERT_EQ_INT(portal_add(s, &b, "portal-b"), 0);
  ASSERT_EQ_INT(session_at(s, &a, cookie, &ida, &ca), 0);
  ASSERT_EQ_INT(session_at(s, &b, cookie, &idb, &cb), 0); /* SSO: no new scan */
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(ca, "sid")),
                cJSON_GetStringValue(cJSON_GetObjectItem(cb, "sid")));
  snprintf(path, sizeof(path), "/oauth2/logout?id_token_hint=%s", ida);
  ASSERT_EQ_INT(get(s, path, cookie, loc, NULL, NULL), 200); /* the logged-out page */
  ASSERT_EQ_INT(expect_logout(s, &a, ca), 0);
  ASSERT_EQ_INT(expect_logout(s, &b, cb), 0);
  ASSERT_EQ_INT(wait_outcomes(s, "delivered", 2), 0);
  ASSERT_TRUE(!pending(&a.r) && !pending(&b.r));
  cJSON_Delete(ca);
  cJSON_Delete(cb);
  free(ida);
  free(idb);
  portal_close(&a);
  portal_close(&b);
  return 0;
}

TEST_MAIN(rp_logout_redirects_with_state_and_the_portal_gets_its_token,
          an_rs256_portal_logs_out_with_rs256_tokens,
          logout_without_a_hint_asks_the_citizen_first, the_phones_not_me_sends_a_logout_token,
          the_web_pages_own_logout_sends_a_logout_token,
          an_admin_revoke_in_another_process_reaches_the_portal,
          a_portal_that_fails_first_gets_its_token_on_the_retry,
          two_portals_of_one_session_get_one_token_each)
