/*
 * test_listener.c - qrlogind's own listening socket (glue/listener.h) on a
 * real libuv loop with real sockets: connections are handed over with their
 * address; a port in use is refused; out of descriptors, waiting connections
 * are shed at once (their clients see the close), accepting pauses, the log
 * gets one line however often it happens within 10 s, and accepting resumes
 * once descriptors are free again.
 */
#define _GNU_SOURCE /* pipe2 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "glue/listener.h"
#include "helpers/log.h"
#include "test.h"

typedef struct got {
  int n;
  int fd_ok;   /* non-blocking and close-on-exec */
  char ip[64];
} got;

static void on_conn(void *arg, int fd, const struct sockaddr *sa) {
  got *g = arg;
  int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
  g->fd_ok = (fl & O_NONBLOCK) && (fdfl & FD_CLOEXEC);
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, g->ip, sizeof(g->ip));
  g->n++;
  close(fd);
}

/* The listener's log: a pipe nobody else writes to, read after the run for
 * its one warning (the test fills every other descriptor). */
static int count_lines(int fd, const char *needle) {
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  int count = 0;
  if (n <= 0) return 0;
  buf[n] = '\0';
  for (const char *p = buf; (p = strstr(p, needle)); p++) count++;
  return count;
}

static int client(int port, int do_connect) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && do_connect && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
    close(fd);
    return -1;
  }
  return fd;
}

static int connect_now(int fd, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(fd, (struct sockaddr *)&a, sizeof(a));
}

static void on_guard(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs loop until *cond (an int) reaches want, or 10 s pass. */
static int run_until(uv_loop_t *loop, const volatile int *cond, int want,
                     const volatile uint64_t *cond64, uint64_t want64) {
  uv_timer_t guard;
  int expired = 0;
  uv_timer_init(loop, &guard);
  guard.data = &expired;
  uv_timer_start(&guard, on_guard, 10000, 0);
  while (!expired && !(cond ? *cond >= want : *cond64 >= want64)) uv_run(loop, UV_RUN_ONCE);
  uv_timer_stop(&guard);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return expired ? -1 : 0;
}

/* The peer hung up (EOF or reset) within 10 s. */
static int hung_up(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char c;
  if (poll(&p, 1, 10000) <= 0) return 0;
  return read(fd, &c, 1) <= 0;
}

static void close_loop(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT); /* the listener's handles close */
  uv_loop_close(loop);
}

TEST(connections_are_handed_over_with_their_address) {
  uv_loop_t loop;
  qrl_listener *l;
  got g = {0, 0, ""};
  int c;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  ASSERT_TRUE((l = qrl_listener_open(&loop, "127.0.0.1", 0, NULL)) != NULL);
  ASSERT_TRUE(qrl_listener_port(l) > 0);
  ASSERT_EQ_INT(qrl_listener_start(l, on_conn, &g), 0);
  ASSERT_TRUE((c = client(qrl_listener_port(l), 1)) >= 0);
  ASSERT_EQ_INT(run_until(&loop, &g.n, 1, NULL, 0), 0);
  ASSERT_EQ_STR(g.ip, "127.0.0.1");
  ASSERT_TRUE(g.fd_ok);
  ASSERT_TRUE(hung_up(c)); /* the callback closed it */
  close(c);
  ASSERT_EQ_INT(qrl_listener_stats_of(l)->accepted, 1);
  qrl_listener_close(l);
  close_loop(&loop);
  return 0;
}

TEST(a_port_in_use_or_a_bad_address_is_refused) {
  uv_loop_t loop;
  qrl_listener *l, *again;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  ASSERT_TRUE((l = qrl_listener_open(&loop, "127.0.0.1", 0, NULL)) != NULL);
  again = qrl_listener_open(&loop, "127.0.0.1", qrl_listener_port(l), NULL);
  ASSERT_TRUE(again == NULL);
  ASSERT_TRUE(qrl_listener_open(&loop, "::1", 0, NULL) == NULL);        /* not IPv4 text */
  ASSERT_TRUE(qrl_listener_open(&loop, "192.0.2.1", 0, NULL) == NULL);  /* not ours */
  qrl_listener_close(l);
  close_loop(&loop);
  return 0;
}

TEST(out_of_descriptors_it_sheds_pauses_says_it_once_and_recovers) {
  enum { FIRST = 5, SECOND = 5, MAXFILL = 4096 };
  static int fill[MAXFILL];
  uv_loop_t loop;
  qrl_listener *l;
  got g = {0, 0, ""};
  qrl_log log;
  int logpipe[2], warn_lines = 0;
  struct rlimit old, low;
  int a[FIRST], b[SECOND], nfill = 0, port, c, r = 1;
  const qrl_listener_stats *st;

  ASSERT_EQ_INT(getrlimit(RLIMIT_NOFILE, &old), 0);
  low = old;
  low.rlim_cur = 256 < old.rlim_cur ? 256 : old.rlim_cur;
  ASSERT_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
  ASSERT_EQ_INT(pipe2(logpipe, O_NONBLOCK | O_CLOEXEC), 0);
  qrl_log_init(&log);
  log.fd = logpipe[1];
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  ASSERT_TRUE((l = qrl_listener_open(&loop, "127.0.0.1", 0, &log)) != NULL);
  port = qrl_listener_port(l);
  st = qrl_listener_stats_of(l);
  ASSERT_EQ_INT(qrl_listener_start(l, on_conn, &g), 0);
  /* Clients made before the process runs out: FIRST connected, SECOND to
   * connect later (connect needs no new descriptor). */
  for (int i = 0; i < FIRST; i++) ASSERT_TRUE((a[i] = client(port, 1)) >= 0);
  for (int i = 0; i < SECOND; i++) ASSERT_TRUE((b[i] = client(port, 0)) >= 0);
  while (nfill < MAXFILL && (fill[nfill] = dup(0)) >= 0) nfill++;
  if (errno != EMFILE) goto out;

  /* Every waiting connection is shed at once: its client hears the close. */
  if (run_until(&loop, NULL, 0, &st->shed, FIRST)) goto out;
  for (int i = 0; i < FIRST; i++)
    if (!hung_up(a[i])) goto out;
  if (g.n != 0 || st->pauses != 1) goto out;
  /* It happens again within 10 s: shed again, said no more. */
  for (int i = 0; i < SECOND; i++)
    if (connect_now(b[i], port)) goto out;
  if (run_until(&loop, NULL, 0, &st->shed, FIRST + SECOND)) goto out;
  for (int i = 0; i < SECOND; i++)
    if (!hung_up(b[i])) goto out;
  /* One line at all, and it is that warning. */
  warn_lines = count_lines(logpipe[0], "warn fd_exhausted");
  if (st->pauses != 2 || warn_lines != 1 || log.lines != 1) goto out;

  /* Descriptors free again: the next connection is accepted. */
  while (nfill > 0) close(fill[--nfill]);
  if ((c = client(port, 1)) < 0) goto out;
  if (run_until(&loop, &g.n, 1, NULL, 0)) goto out;
  close(c);
  r = 0;
out:
  if (r)
    fprintf(stderr, "  FAIL: shed %llu, pauses %llu, accepted %d, warn lines %d, filled %d "
                    "(errno %d)\n",
            (unsigned long long)st->shed, (unsigned long long)st->pauses, g.n, warn_lines,
            nfill, errno);
  while (nfill > 0) close(fill[--nfill]);
  for (int i = 0; i < FIRST; i++) close(a[i]);
  for (int i = 0; i < SECOND; i++) close(b[i]);
  qrl_listener_close(l);
  close_loop(&loop);
  setrlimit(RLIMIT_NOFILE, &old);
  close(logpipe[0]);
  close(logpipe[1]);
  return r;
}

TEST_MAIN(connections_are_handed_over_with_their_address,
          a_port_in_use_or_a_bad_address_is_refused,
          out_of_descriptors_it_sheds_pauses_says_it_once_and_recovers)
