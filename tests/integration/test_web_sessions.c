/*
 * test_web_sessions.c - "Không phải tôi" on the web (api_sessions.h): a real
 * qrlogind; two browsers of the same citizen logged in by ID + password + SMS
 * code; the portal page's socket (/portal, ws_browser.h) opened by hand with
 * the session cookie, as the page's own does. One browser lists both
 * sessions and ends the other: the other's cookie is refused and its socket
 * is told at once. Someone else's session, a foreign Origin, a missing
 * cookie and malformed ids are refused with their own codes. And the kiosk's
 * password path: "kiosk": true on /api/otp/verify opens a kiosk session.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define AN "001099012345"
#define AN_PHONE "0912345678"
#define BINH "079199001234"
#define BINH_PHONE "0987654321"
#define PW "MatKhau@2024"

/* ---- the portal page's socket, by hand (the harness's client sends no
 * Cookie) ------------------------------------------------------------------ */

/* Opens ws://127.0.0.1:port/portal with the browser subprotocol, Origin
 * origin and Cookie cookie (either NULL: none). Returns the socket after a
 * 101, or -1; the status in *status. */
static int portal_ws(const qrl_h_server *s, const char *origin, const char *cookie,
                     int *status) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  char req[1024], buf[2048], oh[256] = "", ch[256] = "";
  size_t got = 0;
  int fd, n;

  *status = -1;
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) goto fail;
  if (origin) snprintf(oh, sizeof(oh), "Origin: %s\r\n", origin);
  if (cookie) snprintf(ch, sizeof(ch), "Cookie: lang=vi; %s\r\n", cookie);
  n = snprintf(req, sizeof(req),
               "GET /portal HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n%s%s\r\n",
               s->port, QRL_SUBPROTO_BROWSER, oh, ch);
  if (write(fd, req, (size_t)n) != n) goto fail;
  while (got < sizeof(buf) - 1) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&p, 1, QRL_H_TIMEOUT_MS) <= 0) break;
    /* one byte at a time: a frame may follow the headers at once */
    if ((r = read(fd, buf + got, 1)) <= 0) break;
    got += (size_t)r;
    buf[got] = '\0';
    if (strstr(buf, "\r\n\r\n")) break;
  }
  if (got >= 12) *status = (int)strtol(buf + 9, NULL, 10);
  if (*status == 101) return fd;
fail:
  close(fd);
  return -1;
}

/* Reads exactly n bytes within the harness's timeout. 0 or -1. */
static int read_n(int fd, uint8_t *p, size_t n) {
  while (n) {
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&pf, 1, QRL_H_TIMEOUT_MS) <= 0) return -1;
    if ((r = read(fd, p, n)) <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* The next text message from the server (pings and pongs skipped), parsed;
 * NULL on timeout, close or garbage. Caller frees. */
static cJSON *ws_next(int fd) {
  for (;;) {
    uint8_t h[2], ext[8];
    size_t len;
    char *text;
    cJSON *j;
    if (read_n(fd, h, 2)) return NULL;
    len = h[1] & 0x7f;
    if (len == 126) {
      if (read_n(fd, ext, 2)) return NULL;
      len = ((size_t)ext[0] << 8) | ext[1];
    } else if (len == 127) {
      return NULL; /* nothing of ours is that long */
    }
    if (!(text = malloc(len + 1))) return NULL;
    if (read_n(fd, (uint8_t *)text, len)) {
      free(text);
      return NULL;
    }
    text[len] = '\0';
    if ((h[0] & 0x0f) == 0x8) { /* close */
      free(text);
      return NULL;
    }
    if ((h[0] & 0x0f) != 0x1) { /* control frames */
      free(text);
      continue;
    }
    j = cJSON_Parse(text);
    free(text);
    return j;
  }
}

/* The next message is of type; its reason (if any) in reason. 0 or -1. */
static int ws_expect(int fd, const char *type, char reason[32]) {
  cJSON *m = ws_next(fd);
  int ok = m && strcmp(qrl_h_type(m), type) == 0;
  if (!ok) fprintf(stderr, "portal socket: got %s, want %s\n", m ? qrl_h_type(m) : "nothing",
                   type);
  if (reason) snprintf(reason, 32, "%s", qrl_h_str(m, "reason"));
  cJSON_Delete(m);
  return ok ? 0 : -1;
}

/* ---- the API ---------------------------------------------------------------- */

/* GET /api/sessions: the status; the parsed body in *out (caller frees). */
static int list(const qrl_h_server *s, const char *cookie, cJSON **out, char **raw) {
  char *resp = NULL;
  int st = qrl_h_http(s, "GET", "/api/sessions", NULL, cookie, NULL, &resp, NULL);
  *out = resp ? cJSON_Parse(resp) : NULL;
  if (raw) *raw = resp;
  else free(resp);
  return st;
}

/* The id of the listed session with current == want (first one), or -1. */
static long long pick(const cJSON *body, int want_current) {
  const cJSON *w;
  cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(body, "sessions")) {
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "current")) == want_current)
      return (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "id"));
  }
  return -1;
}

/* POST /api/sessions/revoke with body (raw JSON) from origin: the status;
 * the error code (or "") in code; the Set-Cookie in set (may be NULL). */
static int revoke_raw(const qrl_h_server *s, const char *origin, const char *cookie,
                      const char *body, char code[48], char set[512]) {
  char *resp = NULL;
  int st = qrl_h_http(s, "POST", "/api/sessions/revoke", origin, cookie, body, &resp, set);
  cJSON *j = resp ? cJSON_Parse(resp) : NULL;
  snprintf(code, 48, "%s", qrl_h_str(j, "code"));
  /* every error carries a Vietnamese message */
  if (st != 200 && !qrl_h_str(j, "message")[0]) st = -2;
  cJSON_Delete(j);
  free(resp);
  return st;
}

static int end_session(const qrl_h_server *s, const char *cookie, long long id, char code[48],
                  char set[512]) {
  char body[64];
  snprintf(body, sizeof(body), "{\"id\":%lld}", id);
  return revoke_raw(s, s->http, cookie, body, code, set);
}

static int me_status(const qrl_h_server *s, const char *cookie) {
  return qrl_h_http(s, "GET", "/api/me", NULL, cookie, NULL, NULL, NULL);
}

/* ---- the scenarios ---------------------------------------------------------- */

SERVER_TEST(one_browser_lists_both_and_ends_the_other, NULL) {
  char a[128], b[128], code[48], set[512], reason[32], *raw = NULL;
  cJSON *body = NULL;
  long long ida, idb;
  int st, fd;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, a), 200);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, b), 200);

  /* A's list: both, A's marked as this browser, no token anywhere */
  ASSERT_EQ_INT(list(s, a, &body, &raw), 200);
  ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "sessions")), 2);
  ida = pick(body, 1);
  idb = pick(body, 0);
  ASSERT_TRUE(ida > 0 && idb > 0 && ida != idb);
  ASSERT_TRUE(strstr(raw, strchr(a, '=') + 1) == NULL);
  ASSERT_TRUE(strstr(raw, strchr(b, '=') + 1) == NULL);
  ASSERT_TRUE(strstr(raw, "\"method\":\"password_otp\"") != NULL);
  ASSERT_TRUE(strstr(raw, "\"ip\":\"127.0.0.1\"") != NULL);
  free(raw);
  cJSON_Delete(body);
  /* B sees the same two, with its own marked */
  ASSERT_EQ_INT(list(s, b, &body, NULL), 200);
  ASSERT_TRUE(pick(body, 1) == idb && pick(body, 0) == ida);
  cJSON_Delete(body);

  /* B's portal page watches its session */
  fd = portal_ws(s, s->http, b, &st);
  ASSERT_EQ_INT(st, 101);
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_WATCHING, NULL), 0);

  /* A ends B: B's page is told, B's cookie is refused, A goes on */
  ASSERT_EQ_INT(end_session(s, a, idb, code, set), 200);
  ASSERT_EQ_STR(set, "");
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_SESSION_ENDED, reason), 0);
  ASSERT_EQ_STR(reason, "revoked");
  close(fd);
  ASSERT_EQ_INT(me_status(s, b), 401);
  ASSERT_EQ_INT(list(s, b, &body, NULL), 401);
  cJSON_Delete(body);
  ASSERT_EQ_INT(me_status(s, a), 200);
  /* listed as ended now */
  ASSERT_EQ_INT(list(s, a, &body, &raw), 200);
  ASSERT_TRUE(strstr(raw, "\"active\":false") != NULL);
  free(raw);
  cJSON_Delete(body);

  /* A page that opens after the end hears it at once */
  fd = portal_ws(s, s->http, b, &st);
  ASSERT_EQ_INT(st, 101);
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_SESSION_ENDED, reason), 0);
  ASSERT_EQ_STR(reason, "not_live");
  close(fd);

  /* ended twice: a clear error */
  ASSERT_EQ_INT(end_session(s, a, idb, code, NULL), 400);
  ASSERT_EQ_STR(code, "web_session_unknown");

  /* ending one's own is a logout */
  ASSERT_EQ_INT(end_session(s, a, ida, code, set), 200);
  ASSERT_TRUE(strstr(set, "Max-Age=0") != NULL);
  ASSERT_EQ_INT(me_status(s, a), 401);
  return 0;
}

/* A page whose socket opens just as its session is ended is told either
 * way: its look-up sees the ending, or the push reaches it, or the look-up
 * is made again because an ending came while it was out. */
SERVER_TEST(a_page_opening_as_its_session_ends_is_told, NULL) {
  char a[128], b[128], code[48];
  cJSON *body = NULL, *m = NULL;
  long long idb;
  int st, fd, told = 0;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, a), 200);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, b), 200);
  ASSERT_EQ_INT(list(s, a, &body, NULL), 200);
  idb = pick(body, 0);
  cJSON_Delete(body);
  fd = portal_ws(s, s->http, b, &st);
  ASSERT_EQ_INT(st, 101);
  ASSERT_EQ_INT(end_session(s, a, idb, code, NULL), 200); /* not waiting for "watching" */
  while ((m = ws_next(fd)) && strcmp(qrl_h_type(m), QRL_MSG_WATCHING) == 0) cJSON_Delete(m);
  told = m && strcmp(qrl_h_type(m), QRL_MSG_SESSION_ENDED) == 0;
  cJSON_Delete(m);
  close(fd);
  ASSERT_TRUE(told);
  return 0;
}

/* The phone's "Không phải tôi" reaches the web page by the same push. */
SERVER_TEST(the_phone_ending_a_session_tells_its_page, NULL) {
  char a[128], reason[32];
  cJSON *body = NULL, *m;
  qrl_h_phone p;
  char fields[64];
  long long id;
  int st, fd;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, a), 200);
  ASSERT_EQ_INT(list(s, a, &body, NULL), 200);
  id = pick(body, 1);
  cJSON_Delete(body);
  fd = portal_ws(s, s->http, a, &st);
  ASSERT_EQ_INT(st, 101);
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_WATCHING, NULL), 0);

  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  snprintf(fields, sizeof(fields), "\"id\":%lld", id);
  m = qrl_h_phone_call(&p, "revoke_web_login", fields);
  ASSERT_TRUE(m && strcmp(qrl_h_type(m), "revoke_web_login_ok") == 0);
  cJSON_Delete(m);
  qrl_h_phone_close(&p);

  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_SESSION_ENDED, reason), 0);
  ASSERT_EQ_STR(reason, "revoked");
  close(fd);
  ASSERT_EQ_INT(me_status(s, a), 401);
  return 0;
}

SERVER_TEST(nobody_ends_or_sees_someone_elses_session, "--password-level", "1", NULL) {
  char an[128], binh[128], code[48], *raw = NULL;
  cJSON *body = NULL;
  long long id_an, id_binh;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, an), 200);
  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", BINH, PW, BINH_PHONE, binh),
                200);
  ASSERT_EQ_INT(list(s, an, &body, NULL), 200);
  id_an = pick(body, 1);
  cJSON_Delete(body);
  ASSERT_EQ_INT(list(s, binh, &body, &raw), 200);
  ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "sessions")), 1);
  id_binh = pick(body, 1);
  ASSERT_TRUE(id_an > 0 && id_binh > 0 && id_an != id_binh);
  free(raw);
  cJSON_Delete(body);

  /* Bình cannot end An's: the same answer as an unknown id */
  ASSERT_EQ_INT(end_session(s, binh, id_an, code, NULL), 400);
  ASSERT_EQ_STR(code, "web_session_unknown");
  ASSERT_EQ_INT(me_status(s, an), 200);
  ASSERT_EQ_INT(me_status(s, binh), 200);
  return 0;
}

SERVER_TEST(forged_requests_and_bad_ids_are_refused, NULL) {
  static const char *const bad[] = {"{\"id\":\"abc\"}", "{\"id\":0}", "{\"id\":-4}",
                                    "{\"id\":1.5}",     "{}",         "{\"id\":null}",
                                    "{\"id\":1e300}"};
  char a[128], code[48];
  cJSON *body = NULL;
  long long id;
  int st, fd;

  ASSERT_EQ_INT(qrl_h_otp_login(s, "/api/otp/start", "id", AN, PW, AN_PHONE, a), 200);
  ASSERT_EQ_INT(list(s, a, &body, NULL), 200);
  id = pick(body, 1);
  cJSON_Delete(body);

  /* CSRF: a POST from another site, or with no Origin, is refused */
  ASSERT_EQ_INT(revoke_raw(s, "http://evil.example", a, "{\"id\":1}", code, NULL), 403);
  ASSERT_EQ_STR(code, "bad_origin");
  ASSERT_EQ_INT(revoke_raw(s, NULL, a, "{\"id\":1}", code, NULL), 403);
  ASSERT_EQ_STR(code, "bad_origin");
  /* no cookie */
  ASSERT_EQ_INT(revoke_raw(s, s->http, NULL, "{\"id\":1}", code, NULL), 401);
  ASSERT_EQ_STR(code, "not_authenticated");
  ASSERT_EQ_INT(list(s, NULL, &body, NULL), 401);
  ASSERT_EQ_STR(qrl_h_str(body, "code"), "not_authenticated");
  cJSON_Delete(body);
  /* malformed ids */
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ASSERT_EQ_INT(revoke_raw(s, s->http, a, bad[i], code, NULL), 400);
    ASSERT_EQ_STR(code, "bad_message");
  }
  ASSERT_EQ_INT(end_session(s, a, 987654321, code, NULL), 400);
  ASSERT_EQ_STR(code, "web_session_unknown");
  /* the portal socket from another site is refused; without a cookie it
   * hears that there is no session */
  ASSERT_EQ_INT(portal_ws(s, "http://evil.example", a, &st), -1);
  ASSERT_EQ_INT(st, 403);
  fd = portal_ws(s, s->http, NULL, &st);
  ASSERT_EQ_INT(st, 101);
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_SESSION_ENDED, NULL), 0);
  close(fd);
  /* ... and it mints no login code when asked */
  fd = portal_ws(s, s->http, a, &st);
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_WATCHING, NULL), 0);
  {
    uint8_t f[64];
    size_t n = qrl_h_ws_frame("{\"type\":\"new_challenge\"}", f, sizeof(f));
    ASSERT_TRUE(n > 0 && write(fd, f, n) == (ssize_t)n);
  }
  ASSERT_EQ_INT(ws_expect(fd, QRL_MSG_ERROR, NULL), 0);
  close(fd);
  /* all of that left the session alone */
  ASSERT_EQ_INT(me_status(s, a), 200);
  ASSERT_TRUE(id > 0);
  return 0;
}

/* ---- the kiosk's password path (item 9) --------------------------------------- */

/* ID + password + SMS code with "kiosk" as given (raw JSON value, or NULL:
 * absent): the status of verify, the cookie pair in cookie, the error code in
 * code. */
static int kiosk_otp_login(const qrl_h_server *s, const char *who, const char *phone,
                           const char *kiosk, char cookie[128], char code[48]) {
  char attempt[23], otp[7], body[256], set[512], *resp = NULL, *semi;
  int st = qrl_h_otp_start(s, "/api/otp/start", "id", who, PW, attempt, NULL);
  cJSON *j;
  cookie[0] = code[0] = '\0';
  if (st != 200) return st;
  if (qrl_h_otp_code(s, phone, otp)) return -1;
  snprintf(body, sizeof(body), "{\"attempt\":\"%s\",\"otp\":\"%s\"%s%s}", attempt, otp,
           kiosk ? ",\"kiosk\":" : "", kiosk ? kiosk : "");
  st = qrl_h_http(s, "POST", "/api/otp/verify", s->http, NULL, body, &resp, set);
  j = resp ? cJSON_Parse(resp) : NULL;
  snprintf(code, 48, "%s", qrl_h_str(j, "code"));
  cJSON_Delete(j);
  free(resp);
  if ((semi = strchr(set, ';'))) *semi = '\0';
  if (strlen(set) >= 128) return -1;
  memcpy(cookie, set, strlen(set) + 1);
  return st;
}

SERVER_TEST(the_kiosk_password_path_opens_a_kiosk_session, "--kiosk-idle-secs", "45",
            "--kiosk-name", "UBND phường Bến Nghé", NULL) {
  char k[128], d[128], code[48];
  cJSON *me;
  ASSERT_EQ_INT(kiosk_otp_login(s, AN, AN_PHONE, "true", k, code), 200);
  me = qrl_h_me(s, k);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "method"), "otp_kiosk");
  ASSERT_EQ_INT((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(me, "idle_secs")),
                45);
  ASSERT_EQ_STR(qrl_h_str(cJSON_GetObjectItemCaseSensitive(me, "kiosk"), "name"),
                "UBND phường Bến Nghé");
  cJSON_Delete(me);
  /* the desk's is not a kiosk's */
  ASSERT_EQ_INT(kiosk_otp_login(s, AN, AN_PHONE, "false", d, code), 200);
  me = qrl_h_me(s, d);
  ASSERT_TRUE(me != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "method"), "password_otp");
  ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(me, "kiosk") == NULL);
  cJSON_Delete(me);
  /* a malformed flag is refused before anything is counted */
  ASSERT_EQ_INT(kiosk_otp_login(s, AN, AN_PHONE, "\"yes\"", d, code), 400);
  ASSERT_EQ_STR(code, "bad_message");
  return 0;
}

TEST_MAIN(the_kiosk_password_path_opens_a_kiosk_session, one_browser_lists_both_and_ends_the_other,
          the_phone_ending_a_session_tells_its_page, a_page_opening_as_its_session_ends_is_told,
          nobody_ends_or_sees_someone_elses_session, forged_requests_and_bad_ids_are_refused)
