/*
 * test_outside_text.c - text that came from outside reaches the citizen's
 * screen as text: a browser whose User-Agent carries terminal escapes, a
 * bell and a bidi override is shown on the phone (scan_ok) and in the
 * recent web logins ("Không phải tôi") with '?' in their place; names with
 * control characters are refused at the door (--portal-name, --kiosk-name).
 * (vneid-sim cleans what it prints too, with the same helpers/text.c that
 * test_text covers: this server never sends it an escape to test that with.)
 *
 * The browser here is a raw socket: the harness's websocket client cannot
 * set a User-Agent, and a hostile client is no browser anyway.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define AN "001099012345"
#define PW "MatKhau@2024"
#define EVIL_UA "Mozilla/5.0 \x1b[2J\x1b]0;pwned\x07 Chrome/131 \xe2\x80\xae" "fdp.exe"

/* Reads n bytes within 10 s. 0 or -1. */
static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    ssize_t r;
    if (poll(&p, 1, QRL_H_TIMEOUT_MS) <= 0) return -1;
    r = read(fd, (char *)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Connects to s over plain TCP and sends the n bytes of req. The fd, or -1. */
static int send_raw(const qrl_h_server *s, const char *req, int n) {
  struct sockaddr_in a = {0};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (n < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) || write(fd, req, (size_t)n) != n) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A browser socket whose upgrade carries ua; the first text frame (the
 * challenge) is parsed into *challenge. The fd, or -1. */
static int evil_browser(const qrl_h_server *s, const char *ua, cJSON **challenge) {
  char req[1024], line[2048];
  size_t got = 0;
  unsigned char h[10];
  uint64_t len;
  char *text = NULL;
  int fd, n;
  n = snprintf(req, sizeof(req),
               "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\nUser-Agent: %s\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: " QRL_SUBPROTO_BROWSER "\r\n\r\n",
               s->port, s->http, ua);
  if ((fd = send_raw(s, req, n)) < 0) return -1;
  while (got < sizeof(line) - 1) { /* the 101's headers, byte by byte */
    if (read_full(fd, line + got, 1)) goto fail;
    line[++got] = '\0';
    if (got >= 4 && memcmp(line + got - 4, "\r\n\r\n", 4) == 0) break;
  }
  if (strncmp(line, "HTTP/1.1 101", 12) != 0) goto fail;
  if (read_full(fd, h, 2) || h[0] != 0x81) goto fail; /* one unmasked text frame */
  len = h[1] & 0x7F;
  if (len == 126) {
    if (read_full(fd, h + 2, 2)) goto fail;
    len = (uint64_t)h[2] << 8 | h[3];
  } else if (len == 127) {
    goto fail; /* a challenge is never that big */
  }
  if (!(text = calloc(1, len + 1)) || read_full(fd, text, len)) goto fail;
  *challenge = cJSON_Parse(text);
  free(text);
  if (!*challenge) goto fail;
  return fd;
fail:
  free(text);
  close(fd);
  return -1;
}

static int has_controls(const char *s) {
  return strchr(s, '\x1b') || strchr(s, '\x07') || strstr(s, "\xe2\x80\xae");
}

SERVER_TEST(a_hostile_user_agent_reaches_the_phone_as_text, NULL) {
  qrl_h_phone p;
  cJSON *ch = NULL, *ok = NULL;
  qrl_qr_payload qp;
  char payload[QRL_QR_PAYLOAD_MAX + 1], f[160];
  const char *ua;
  int fd, rc = 1;

  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  fd = evil_browser(s, EVIL_UA, &ch);
  ASSERT_TRUE(fd >= 0);
  if (qrl_h_challenge_payload(ch, &qp) ||
      qrl_qr_payload_format(&qp, payload, sizeof(payload)))
    goto out;
  snprintf(f, sizeof(f), "\"qr\":\"%s\"", payload);
  ok = qrl_h_phone_call(&p, "scan", f);
  if (!ok || strcmp(qrl_h_type(ok), "scan_ok") != 0) goto out;
  ua = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ok, "browser"), "user_agent"));
  if (!ua || has_controls(ua) || !strstr(ua, "Mozilla/5.0 ?[2J?]0;pwned? Chrome/131 ?fdp.exe")) {
    fprintf(stderr, "  user_agent on the phone: %s\n", ua ? ua : "(none)");
    goto out;
  }
  rc = 0;
out:
  if (fd >= 0) close(fd);
  cJSON_Delete(ch);
  cJSON_Delete(ok);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(rc, 0);
  return 0;
}

/* POSTs body to path as a hostile client (EVIL_UA); the response in resp. */
static int raw_post(const qrl_h_server *s, const char *path, const char *body, char *resp,
                    size_t cap) {
  char req[1024];
  size_t got = 0;
  int fd, n;
  n = snprintf(req, sizeof(req),
               "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n"
               "User-Agent: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n%s",
               path, s->port, s->http, EVIL_UA, strlen(body), body);
  resp[0] = '\0';
  if ((fd = send_raw(s, req, n)) < 0) return -1;
  while (got < cap - 1) {
    struct pollfd pf = {fd, POLLIN, 0};
    ssize_t r;
    if (poll(&pf, 1, QRL_H_TIMEOUT_MS) <= 0) break;
    if ((r = read(fd, resp + got, cap - 1 - got)) <= 0) break;
    got += (size_t)r;
    resp[got] = '\0';
  }
  close(fd);
  return 0;
}

/* The phone's list of web logins shows what was stored: cleaned. Stored by
 * the SMS-code path, whose requests carry the hostile User-Agent. */
SERVER_TEST(web_logins_and_the_simulator_show_no_escapes, NULL) {
  char resp[4096], attempt[32] = "", code[7], body[256];
  cJSON *m = NULL;
  qrl_h_phone p;
  char *at;

  snprintf(body, sizeof(body), "{\"id\":\"%s\",\"password\":\"%s\"}", AN, PW);
  ASSERT_EQ_INT(raw_post(s, "/api/otp/start", body, resp, sizeof(resp)), 0);
  ASSERT_TRUE((at = strstr(resp, "\"attempt\":\"")) != NULL);
  snprintf(attempt, sizeof(attempt), "%.22s", at + 11);
  ASSERT_EQ_INT(qrl_h_otp_code(s, "0912345678", code), 0);
  snprintf(body, sizeof(body), "{\"attempt\":\"%s\",\"otp\":\"%s\"}", attempt, code);
  ASSERT_EQ_INT(raw_post(s, "/api/otp/verify", body, resp, sizeof(resp)), 0);
  ASSERT_TRUE(strncmp(resp, "HTTP/1.1 200", 12) == 0);

  /* the phone's list */
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  m = qrl_h_phone_call(&p, "web_logins", NULL);
  ASSERT_TRUE(m && strcmp(qrl_h_type(m), "web_logins_ok") == 0);
  {
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "logins"), 0);
    const char *ua = cJSON_GetStringValue(cJSON_GetObjectItem(first, "user_agent"));
    ASSERT_TRUE(ua != NULL);
    ASSERT_FALSE(has_controls(ua));
    ASSERT_TRUE(strstr(ua, "?[2J") != NULL);
  }
  cJSON_Delete(m);
  qrl_h_phone_close(&p);

  return 0;
}

TEST(names_with_control_characters_are_refused_at_start) {
  static const char *const flags[] = {"--portal-name", "--kiosk-name"};
  for (size_t i = 0; i < 2; i++) {
    pid_t pid = fork();
    int st = 0;
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, 2);
      execl(QRLOGIND_PATH, QRLOGIND_PATH, "--port", "0", flags[i], "Cổng\x1b[31m giả",
            (char *)NULL);
      _exit(127);
    }
    ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ_INT(WEXITSTATUS(st), 2);
  }
  return 0;
}

TEST_MAIN(a_hostile_user_agent_reaches_the_phone_as_text,
          web_logins_and_the_simulator_show_no_escapes,
          names_with_control_characters_are_refused_at_start)
