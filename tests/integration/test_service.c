/*
 * test_service.c - qrlogind as a service: started with nothing but
 * --config FILE it serves a whole QR login; a bad line in that file ends the
 * start with "FILE:LINE: reason" and exit 2 before anything listens; and,
 * built with libsystemd, it speaks systemd's notify protocol on a real unix
 * datagram socket the test owns (NOTIFY_SOCKET): READY=1 only once its port
 * accepts connections (never for a start that fails), WATCHDOG=1 at half of
 * WATCHDOG_USEC from its loop, STOPPING=1 on SIGTERM. Every wait is a poll on
 * the event with the harness timeout; no sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define AN "001099012345"
#define PW "MatKhau@2024"

/* Writes a config file for a demo server on a free port of 127.0.0.1 with
 * its database in dir, plus the extra lines, to dir/qrlogind.conf (path). */
static int write_config(const char *dir, const char *extra, char path[300]) {
  FILE *f;
  snprintf(path, 300, "%s/qrlogind.conf", dir);
  if (!(f = fopen(path, "w"))) return -1;
  fprintf(f,
          "# written by test_service\n"
          "port = 0\n"
          "bind = 127.0.0.1\n"
          "db = %s/qrlogin.db\n"
          "sms-outbox = %s/sms-outbox.log\n"
          "web = %s\n"
          "demo = true\n"
          "hash-cost = 10      ; fast demo hashes\n"
          "qr-frame-secs = 5\n"
          "%s",
          dir, dir, QRL_WEB_DIR, extra ? extra : "");
  return fclose(f);
}

TEST(config_file_alone_serves_a_qr_login) {
  char dir[] = "/tmp/qrl-conf-XXXXXX", path[300], failed[64] = "";
  const char *extra[] = {QRL_H_ONLY_ARGS, "--config", path, NULL};
  qrl_h_server s;
  int rc = 0, st;
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(write_config(dir, NULL, path), 0);
  if (qrl_h_start(&s, extra)) TEST_FAIL_("qrlogind --config %s did not start", path);
  if (qrl_h_qr_login(&s, AN, PW, NULL, failed)) {
    qrl_h_dump_log(&s);
    fprintf(stderr, "QR login failed: %s\n", failed);
    rc = 1;
  }
  st = qrl_h_stop(&s);
  {
    char db[400];
    snprintf(db, sizeof(db), "%s/qrlogin.db", dir);
    /* the database is where the file said */
    if (!rc && access(db, F_OK) != 0) TEST_FAIL_("no database at %s", db);
  }
  if (!getenv("QRL_KEEP_TMP")) {
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  if (rc) return rc;
  ASSERT_EQ_INT(st, 0);
  return 0;
}

/* Runs qrlogind with args to its end, stdout and stderr into out. The exit
 * status, or -1 if it was still running after the harness timeout. */
static int run_to_end(const char *const *args, char *out, size_t cap) {
  const char *argv[16] = {QRLOGIND_PATH};
  int p[2], n = 1, st;
  size_t got = 0;
  pid_t pid;
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
  argv[n] = NULL;
  if (pipe2(p, O_CLOEXEC)) return -1;
  if ((pid = fork()) == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    execv(QRLOGIND_PATH, (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  out[0] = '\0';
  for (;;) {
    struct pollfd pf = {p[0], POLLIN, 0};
    int left = (int)(deadline - qrl_h_mono_ms());
    ssize_t r;
    if (left <= 0 || poll(&pf, 1, left) <= 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      close(p[0]);
      return -1;
    }
    if ((r = read(p[0], out + got, cap - 1 - got)) <= 0) break;
    got += (size_t)r;
    out[got] = '\0';
    if (got == cap - 1) break;
  }
  close(p[0]);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

TEST(a_bad_config_line_is_named_and_exits_2) {
  char dir[] = "/tmp/qrl-conf-XXXXXX", path[300], out[4096], want[400];
  const char *args[] = {"--config", path, NULL};
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_EQ_INT(write_config(dir, "workers = many\n", path), 0);
  ASSERT_EQ_INT(run_to_end(args, out, sizeof(out)), 2);
  snprintf(want, sizeof(want), "%s:10: invalid value 'many': workers wants 1..64\n", path);
  ASSERT_EQ_STR(out, want); /* and nothing else: no "listening on" */
  /* An explicit --config that is not there is an error too. */
  unlink(path);
  ASSERT_EQ_INT(run_to_end(args, out, sizeof(out)), 2);
  ASSERT_TRUE(strstr(out, "cannot read the config file") != NULL);
  rmdir(dir);
  return 0;
}

#ifdef QRL_HAVE_SYSTEMD
/* A notify socket the test owns at dir/name. The fd, or -1. */
static int notify_socket(const char *dir, const char *name, char path[108]) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  snprintf(path, 108, "%s/%s", dir, name);
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) return -1;
  return fd;
}

/* The next notify message within timeout_ms into buf (NUL-terminated);
 * its length, or -1 (said why). */
static int next_msg(int fd, char *buf, size_t cap, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t r;
  if (poll(&p, 1, timeout_ms) <= 0) {
    fprintf(stderr, "no notify message in %d ms\n", timeout_ms);
    return -1;
  }
  if ((r = recv(fd, buf, cap - 1, 0)) < 0) return -1;
  buf[r] = '\0';
  return (int)r;
}

/* qrlogind with NOTIFY_SOCKET=sock and WATCHDOG_USEC=usec (NULL: unset) and
 * args after the demo's; its stdout into *out_fd, stderr into dir/log. */
static pid_t spawn_notified(const char *dir, const char *sock, const char *usec,
                            const char *port, int *out_fd) {
  char db[300], outbox[300], log[300];
  const char *argv[] = {QRLOGIND_PATH, "--port", port, "--bind", "127.0.0.1",
                        "--db", db, "--sms-outbox", outbox, "--web", QRL_WEB_DIR,
                        "--demo", "--hash-cost", "10", NULL};
  int p[2], logfd;
  pid_t pid;
  snprintf(db, sizeof(db), "%s/%s.db", dir, port);
  snprintf(outbox, sizeof(outbox), "%s/outbox.log", dir);
  snprintf(log, sizeof(log), "%s/server-%s.log", dir, port);
  if (pipe2(p, O_CLOEXEC)) return -1;
  logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if ((pid = fork()) == 0) {
    dup2(p[1], 1);
    dup2(logfd, 2);
    setenv("NOTIFY_SOCKET", sock, 1);
    if (usec) setenv("WATCHDOG_USEC", usec, 1);
    else unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    execv(QRLOGIND_PATH, (char *const *)argv);
    _exit(127);
  }
  close(p[1]);
  close(logfd);
  *out_fd = p[0];
  return pid;
}

static int wait_exit(pid_t pid) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), st;
  struct pollfd p = {pidfd, POLLIN, 0};
  if (pidfd >= 0 && poll(&p, 1, QRL_H_TIMEOUT_MS) <= 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    close(pidfd);
    return -1;
  }
  if (pidfd >= 0) close(pidfd);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

TEST(systemd_hears_ready_watchdog_and_stopping) {
  char dir[] = "/tmp/qrl-notify-XXXXXX", sock[108], sock2[108], msg[512], port[16];
  int fd, fd2, out = -1, out2 = -1, tcp, n;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  const char *status;
  int64_t pings[5], gaps[4];
  pid_t pid, pid2;

  ASSERT_TRUE(mkdtemp(dir) != NULL);
  ASSERT_TRUE((fd = notify_socket(dir, "notify.sock", sock)) >= 0);
  ASSERT_TRUE((pid = spawn_notified(dir, sock, "2000000", "0", &out)) > 0);

  /* READY=1 first, and only once the port accepts: connect at once to the
   * port it names, without reading its stdout. */
  ASSERT_TRUE(next_msg(fd, msg, sizeof(msg), QRL_H_TIMEOUT_MS) > 0);
  if (strncmp(msg, "READY=1\n", 8) != 0) TEST_FAIL_("first message '%s', want READY=1", msg);
  ASSERT_TRUE((status = strstr(msg, "STATUS=listening on http://127.0.0.1:")) != NULL);
  snprintf(port, sizeof(port), "%d", atoi(strrchr(status, ':') + 1));
  sa.sin_port = htons((uint16_t)atoi(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_TRUE((tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
  if (connect(tcp, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    TEST_FAIL_("READY=1 but port %s refuses: %s", port, strerror(errno));
  close(tcp);

  /* WATCHDOG=1 from the loop, at half of WATCHDOG_USEC (2 s -> every 1 s). */
  for (n = 0; n < 5; n++) {
    ASSERT_TRUE(next_msg(fd, msg, sizeof(msg), QRL_H_TIMEOUT_MS) > 0);
    if (strcmp(msg, "WATCHDOG=1") != 0) TEST_FAIL_("message '%s', want WATCHDOG=1", msg);
    pings[n] = qrl_h_mono_ms();
  }
  for (n = 0; n < 4; n++) gaps[n] = pings[n + 1] - pings[n];
  fprintf(stderr, "watchdog gaps: %lld %lld %lld %lld ms\n", (long long)gaps[0],
          (long long)gaps[1], (long long)gaps[2], (long long)gaps[3]);
  qsort(gaps, 4, sizeof(gaps[0]), cmp_i64);
  /* Not a flood, and well inside the 2 s systemd allows (a loaded machine
   * may delay one ping: the median is the period). */
  ASSERT_TRUE(gaps[0] >= 500);
  ASSERT_TRUE(gaps[1] <= 1500 && gaps[2] <= 1500);

  /* A second server on the same port cannot start: it never says READY. */
  ASSERT_TRUE((fd2 = notify_socket(dir, "notify2.sock", sock2)) >= 0);
  ASSERT_TRUE((pid2 = spawn_notified(dir, sock2, "2000000", port, &out2)) > 0);
  ASSERT_EQ_INT(wait_exit(pid2), 1);
  /* it has exited: anything it sent is queued already */
  if (recv(fd2, msg, sizeof(msg) - 1, 0) >= 0) TEST_FAIL_("a failed start sent a message");
  ASSERT_EQ_INT(errno, EAGAIN);
  close(fd2);
  close(out2);

  /* SIGTERM: STOPPING=1 (watchdog pings may still come first), then exit 0. */
  ASSERT_EQ_INT(kill(pid, SIGTERM), 0);
  for (;;) {
    ASSERT_TRUE(next_msg(fd, msg, sizeof(msg), QRL_H_TIMEOUT_MS) > 0);
    if (!strncmp(msg, "STOPPING=1", 10)) break;
    if (strcmp(msg, "WATCHDOG=1") != 0) TEST_FAIL_("message '%s' before STOPPING=1", msg);
  }
  ASSERT_EQ_INT(wait_exit(pid), 0);
  close(fd);
  close(out);
  if (!getenv("QRL_KEEP_TMP")) {
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  return 0;
}

TEST_MAIN(config_file_alone_serves_a_qr_login, a_bad_config_line_is_named_and_exits_2,
          systemd_hears_ready_watchdog_and_stopping)
#else
TEST_MAIN(config_file_alone_serves_a_qr_login, a_bad_config_line_is_named_and_exits_2)
#endif
