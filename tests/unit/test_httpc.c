/*
 * test_httpc.c - the outgoing HTTP client (helpers/httpc.h) against a real
 * listener on loopback (a thread that answers one request): the status
 * comes back, the body is a form POST with no Expect header; refusals
 * before any connection (a scheme other than http(s), plain http to a host
 * that is not loopback); a closed port is a network error; an abort
 * callback stops a transfer the peer never answers.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/httpc.h"
#include "test.h"

typedef struct peer {
  int fd, port, status, answer;
  char req[4096];
} peer;

static int listen_any(peer *p) {
  struct sockaddr_in a;
  socklen_t al = sizeof(a);
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((p->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) return -1;
  if (bind(p->fd, (struct sockaddr *)&a, sizeof(a)) || listen(p->fd, 4) ||
      getsockname(p->fd, (struct sockaddr *)&a, &al))
    return -1;
  p->port = ntohs(a.sin_port);
  return 0;
}

/* Reads one request whole (headers and Content-Length), answers status. */
static void *serve(void *arg) {
  peer *p = arg;
  size_t got = 0;
  char *end;
  int c = accept(p->fd, NULL, NULL);
  if (c < 0) return NULL;
  for (;;) {
    ssize_t n = read(c, p->req + got, sizeof(p->req) - 1 - got);
    const char *cl;
    if (n <= 0) break;
    got += (size_t)n;
    p->req[got] = '\0';
    if ((end = strstr(p->req, "\r\n\r\n")) && (cl = strcasestr(p->req, "content-length:")) &&
        got >= (size_t)(end + 4 - p->req) + strtoul(cl + 15, NULL, 10))
      break;
  }
  if (p->answer) {
    char r[128];
    snprintf(r, sizeof(r), "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
             p->status);
    if (write(c, r, strlen(r)) < 0) p->status = -1;
  } else {
    char b[16];
    while (read(c, b, sizeof(b)) > 0) continue; /* until the client gives up */
  }
  close(c);
  return NULL;
}

static int stop_now(void *arg) {
  (void)arg;
  return 1;
}

TEST(posts_a_form_and_returns_the_status) {
  peer p = {0};
  pthread_t th;
  char url[64], why[128], body[3000];
  long st = 0;
  qrl_httpc_opts o = {2000, 5000, 0, NULL, NULL};
  ASSERT_EQ_INT(qrl_httpc_global_init(), QRL_OK);
  ASSERT_EQ_INT(listen_any(&p), 0);
  p.status = 204;
  p.answer = 1;
  memset(body, 'a', sizeof(body) - 1); /* past 1 KB: libcurl would add Expect */
  memcpy(body, "logout_token=", 13);
  body[sizeof(body) - 1] = '\0';
  ASSERT_EQ_INT(pthread_create(&th, NULL, serve, &p), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/bcl", p.port);
  ASSERT_EQ_INT(qrl_httpc_post_form(url, body, strlen(body), &o, &st, why, sizeof(why)), QRL_OK);
  pthread_join(th, NULL);
  ASSERT_EQ_INT(st, 204);
  ASSERT_TRUE(strncmp(p.req, "POST /bcl HTTP/1.1\r\n", 20) == 0);
  ASSERT_TRUE(strcasestr(p.req, "content-type: application/x-www-form-urlencoded") != NULL);
  ASSERT_TRUE(strcasestr(p.req, "expect:") == NULL);
  ASSERT_TRUE(strstr(p.req, "\r\n\r\nlogout_token=aaa") != NULL);
  close(p.fd);
  return 0;
}

TEST(refuses_before_connecting) {
  char why[128];
  long st = 1;
  qrl_httpc_opts o = {2000, 5000, 0, NULL, NULL};
  ASSERT_EQ_INT(qrl_httpc_post_form("ftp://127.0.0.1/x", "a=b", 3, &o, &st, why, sizeof(why)),
                QRL_INVAL);
  ASSERT_EQ_INT(st, 0);
  ASSERT_EQ_INT(qrl_httpc_post_form("http://portal.example/bcl", "a=b", 3, &o, &st, why,
                                    sizeof(why)),
                QRL_INVAL);
  ASSERT_TRUE(strstr(why, "loopback") != NULL);
  ASSERT_EQ_INT(qrl_httpc_post_form("not a url", "a=b", 3, &o, &st, why, sizeof(why)), QRL_INVAL);
  return 0;
}

TEST(a_closed_port_or_an_abort_is_a_network_error) {
  peer p = {0};
  pthread_t th;
  char url[64], why[128];
  long st = 1;
  qrl_httpc_opts o = {2000, 5000, 0, NULL, NULL};
  ASSERT_EQ_INT(listen_any(&p), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/bcl", p.port);
  close(p.fd); /* nobody listens there now */
  ASSERT_EQ_INT(qrl_httpc_post_form(url, "a=b", 3, &o, &st, why, sizeof(why)), QRL_NETWORK);
  ASSERT_EQ_INT(st, 0);
  /* a peer that never answers: the abort callback ends it */
  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(listen_any(&p), 0);
  ASSERT_EQ_INT(pthread_create(&th, NULL, serve, &p), 0);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/bcl", p.port);
  o.abort_cb = stop_now;
  ASSERT_EQ_INT(qrl_httpc_post_form(url, "a=b", 3, &o, &st, why, sizeof(why)), QRL_NETWORK);
  shutdown(p.fd, SHUT_RDWR); /* wakes the accept if libcurl stopped before connecting */
  pthread_join(th, NULL);
  close(p.fd);
  return 0;
}

TEST_MAIN(posts_a_form_and_returns_the_status, refuses_before_connecting,
          a_closed_port_or_an_abort_is_a_network_error)
