/*
 * listener.c - the listening socket on the libuv loop (listener.h).
 */
#define _GNU_SOURCE /* accept4 */
#include "glue/listener.h"

#include "helpers/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct qrl_listener {
  uv_poll_t poll;
  uv_timer_t pause;
  int fd;
  int spare; /* a descriptor kept for shedding when out of them, or -1 */
  int port;
  int started, paused;
  int open_handles; /* libuv handles still to close before freeing */
  qrl_accept_fn fn;
  void *arg;
  qrl_listener_stats stats;
  uint64_t shed_logged; /* stats.shed at the last log line */
  uint64_t last_log_ms; /* 0: never logged */
  qrl_log *log;         /* not owned */
};

static int open_spare(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

qrl_listener *qrl_listener_open(uv_loop_t *loop, const char *addr, int port, qrl_log *log) {
  struct sockaddr_in a;
  socklen_t alen = sizeof(a);
  int one = 1;
  qrl_listener *l;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    qrl_log_msg(log, QRL_LOG_ERROR, "listen", "--bind %s is not an IPv4 address", addr);
    return NULL;
  }
  if (!(l = calloc(1, sizeof(*l)))) {
    qrl_log_msg(log, QRL_LOG_ERROR, "listen", "out of memory");
    return NULL;
  }
  l->spare = -1;
  l->log = log;
  l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->fd < 0) {
    qrl_log_msg(log, QRL_LOG_ERROR, "listen", "cannot make a socket: %s", strerror(errno));
    free(l);
    return NULL;
  }
  setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(l->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l->fd, SOMAXCONN) != 0) {
    if (errno == EADDRINUSE)
      qrl_log_msg(log, QRL_LOG_ERROR, "listen", "port %d is in use on %s (another qrlogind?)", port, addr);
    else if (errno == EADDRNOTAVAIL)
      qrl_log_msg(log, QRL_LOG_ERROR, "listen", "%s is not an address of this machine", addr);
    else if (errno == EACCES)
      qrl_log_msg(log, QRL_LOG_ERROR, "listen", "not allowed to listen on port %d (ports below 1024 need "
                      "privileges)", port);
    else
      qrl_log_msg(log, QRL_LOG_ERROR, "listen", "cannot listen on %s:%d: %s", addr, port, strerror(errno));
    close(l->fd);
    free(l);
    return NULL;
  }
  if (getsockname(l->fd, (struct sockaddr *)&a, &alen) == 0) l->port = ntohs(a.sin_port);
  if (uv_poll_init(loop, &l->poll, l->fd) != 0) {
    qrl_log_msg(log, QRL_LOG_ERROR, "listen", "cannot watch the listening socket");
    close(l->fd);
    free(l);
    return NULL;
  }
  uv_timer_init(loop, &l->pause);
  l->poll.data = l->pause.data = l;
  l->open_handles = 2;
  l->spare = open_spare();
  return l;
}

int qrl_listener_port(const qrl_listener *l) { return l->port; }

const qrl_listener_stats *qrl_listener_stats_of(const qrl_listener *l) { return &l->stats; }

static void on_readable(uv_poll_t *h, int status, int events);

static void resume(uv_timer_t *t) {
  qrl_listener *l = t->data;
  l->paused = 0;
  if (l->started) uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

/* Out of descriptors: use the spare one to accept and close what waits, so
 * that those clients hear at once, and pause. */
static void shed(qrl_listener *l, int err) {
  uint64_t now = uv_now(l->poll.loop);
  int n = 0;
  if (l->spare >= 0) {
    close(l->spare);
    l->spare = -1;
  }
  while (n < QRL_LISTEN_BATCH) {
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) break;
    close(fd);
    l->stats.shed++;
    n++;
  }
  l->spare = open_spare();
  l->stats.pauses++;
  l->paused = 1;
  uv_poll_stop(&l->poll);
  uv_timer_start(&l->pause, resume, QRL_LISTEN_PAUSE_MS, 0);
  if (!l->last_log_ms || now - l->last_log_ms >= QRL_LISTEN_LOG_MS) {
    struct rlimit rl;
    long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : -1;
    qrl_log_msg(l->log, QRL_LOG_WARN, "fd_exhausted",
              "out of file descriptors (%s, limit %ld): %llu connections shed since the "
              "last report; accepting again in %d ms",
              err == ENFILE ? "system-wide" : "this process", lim,
              (unsigned long long)(l->stats.shed - l->shed_logged), QRL_LISTEN_PAUSE_MS);
    l->last_log_ms = now;
    l->shed_logged = l->stats.shed;
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  qrl_listener *l = h->data;
  (void)events;
  if (status < 0) return;
  for (int i = 0; i < QRL_LISTEN_BATCH && !l->paused; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int one = 1;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        shed(l, errno);
      return; /* EAGAIN: all taken; anything else: the next wakeup retries */
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    l->stats.accepted++;
    l->fn(l->arg, fd, (struct sockaddr *)&ss);
  }
}

int qrl_listener_start(qrl_listener *l, qrl_accept_fn fn, void *arg) {
  l->fn = fn;
  l->arg = arg;
  l->started = 1;
  return uv_poll_start(&l->poll, UV_READABLE, on_readable) == 0 ? 0 : -1;
}

static void on_closed(uv_handle_t *h) {
  qrl_listener *l = h->data;
  if (--l->open_handles) return;
  close(l->fd);
  if (l->spare >= 0) close(l->spare);
  free(l);
}

void qrl_listener_close(qrl_listener *l) {
  if (!l) return;
  l->started = 0;
  uv_poll_stop(&l->poll);
  uv_timer_stop(&l->pause);
  uv_close((uv_handle_t *)&l->poll, on_closed);
  uv_close((uv_handle_t *)&l->pause, on_closed);
}
