/*
 * test_trusted_proxy.c - the client's address behind a reverse proxy
 * (--trusted-proxy): on a connection from a trusted proxy the client is the
 * rightmost X-Forwarded-For address that is not a trusted proxy itself; from
 * anyone else the header is ignored. Seen through /metrics, which answers
 * only --metrics-allow addresses (127.0.0.1 here): a request "from"
 * 203.0.113.9 through the proxy is refused (404), the proxy's own (its
 * health checks, no header) is answered. Raw HTTP on real sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* GET /metrics with the X-Forwarded-For header xff (NULL: none). The status. */
static int metrics_via(const qrl_h_server *s, const char *xff) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
  char req[512], resp[64] = "";
  struct timeval tv = {QRL_H_TIMEOUT_MS / 1000, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
  ssize_t got = 0, r;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
    snprintf(req, sizeof(req),
             "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%sConnection: close\r\n\r\n",
             s->port, xff ? "X-Forwarded-For: " : "", xff ? xff : "", xff ? "\r\n" : "");
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req)) {
      while (got < (ssize_t)sizeof(resp) - 1 &&
             (r = recv(fd, resp + got, sizeof(resp) - 1 - (size_t)got, 0)) > 0)
        got += r;
      resp[got] = '\0';
      if (!strncmp(resp, "HTTP/1.1 ", 9)) status = atoi(resp + 9);
    }
  }
  close(fd);
  return status;
}

SERVER_TEST(forwarded_for_believed_only_from_a_trusted_proxy, "--trusted-proxy",
            "127.0.0.1", "--trusted-proxy", "10.0.0.0/8", NULL) {
  /* the proxy's own request: no header */
  ASSERT_EQ_INT(metrics_via(s, NULL), 200);
  /* a client behind it */
  ASSERT_EQ_INT(metrics_via(s, "203.0.113.9"), 404);
  ASSERT_EQ_INT(metrics_via(s, "2001:db8::9"), 404);
  /* what the client wrote is to the left; the proxy appended its address */
  ASSERT_EQ_INT(metrics_via(s, "127.0.0.1, 203.0.113.9"), 404);
  /* hops through trusted proxies are skipped, the first one not is the client */
  ASSERT_EQ_INT(metrics_via(s, "203.0.113.9, 10.1.2.3,127.0.0.1"), 404);
  /* every hop trusted: the peer stands (a proxy's own request relayed) */
  ASSERT_EQ_INT(metrics_via(s, "10.1.2.3, 127.0.0.1"), 200);
  /* an entry that is not an address: the peer stands */
  ASSERT_EQ_INT(metrics_via(s, "203.0.113.9, not-an-address"), 200);
  return 0;
}

/* Without --trusted-proxy the header is anyone's text: ignored. */
SERVER_TEST(forwarded_for_ignored_without_trusted_proxies, NULL) {
  ASSERT_EQ_INT(metrics_via(s, "203.0.113.9"), 200);
  return 0;
}

TEST_MAIN(forwarded_for_believed_only_from_a_trusted_proxy,
          forwarded_for_ignored_without_trusted_proxies)
