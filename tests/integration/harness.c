/*
 * harness.c - see harness.h. Child processes are started with fork + exec so
 * that the child can ask the kernel to kill it if the test dies first
 * (PR_SET_PDEATHSIG); exits are awaited on a pidfd with poll, never by
 * sleeping.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"

#ifndef QRLOGIND_PATH
#error "QRLOGIND_PATH must be defined by the build"
#endif

int qrl_h_url_param(const char *url, const char *name, char *out, size_t cap) {
  const char *q = strchr(url, '?');
  size_t nl = strlen(name), o = 0;
  out[0] = '\0';
  while (q) {
    q++;
    if (!strncmp(q, name, nl) && q[nl] == '=') {
      const char *p = q + nl + 1;
      while (*p && *p != '&' && o + 1 < cap) {
        if (*p == '%' && p[1] && p[2]) {
          char hex[3] = {p[1], p[2], 0};
          out[o++] = (char)strtol(hex, NULL, 16);
          p += 3;
        } else {
          out[o++] = *p == '+' ? ' ' : *p;
          p++;
        }
      }
      out[o] = '\0';
      return 0;
    }
    q = strchr(q, '&');
  }
  return -1;
}

int qrl_h_header(const char *hdrs, const char *name, char *out, size_t cap) {
  char pat[64];
  const char *h;
  snprintf(pat, sizeof(pat), "\n%s", name);
  out[0] = '\0';
  if (!hdrs || !(h = strcasestr(hdrs, pat))) return -1;
  h += strlen(pat);
  while (*h == ' ') h++;
  snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
  return 0;
}

void qrl_h_pkce_challenge(const char *verifier, char out[44]) {
  uint8_t h[QRL_SHA256_LEN];
  if (qrl_sha256(verifier, strlen(verifier), h)) out[0] = '\0';
  else qrl_b64url_encode(h, sizeof(h), out, 44);
}

int64_t qrl_h_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline) {
  int64_t d = deadline - qrl_h_mono_ms();
  return d < 0 ? 0 : (int)d;
}

static int pidfd_of(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Waits for pid (via pidfd if we have one) up to timeout_ms. Returns the exit
 * status, 128+signal, or -1 on timeout (the child is then killed). */
static int wait_child(pid_t pid, int pidfd, int timeout_ms) {
  int status = 0;
  if (pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) == 0) {
      fprintf(stderr, "harness: pid %d did not exit in %d ms, killing it\n",
              (int)pid, timeout_ms);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
  }
  if (waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/* In the child, after fork: die with the parent. */
static void child_setup(long nofile_soft, long nofile_hard) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (nofile_soft > 0) {
    struct rlimit rl = {(rlim_t)nofile_soft, (rlim_t)nofile_hard};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
  }
}

void qrl_h_path(const qrl_h_server *s, const char *name, char *out, size_t n) {
  snprintf(out, n, "%s/%s", s->dir, name);
}

/* Starts qrlogind on s->dir's database; its log is appended to if append,
 * else started afresh. */
/* The program name runs: PREFIX/bin/name when QRL_H_PREFIX is set (the
 * package test drives an installed qrlogind and vneid-sim with these same
 * tests, each finding its installed page), else the build's (built). */
static const char *installed(char *buf, size_t n, const char *name, const char *built) {
  const char *prefix = getenv("QRL_H_PREFIX");
  if (!prefix || !*prefix) return built;
  snprintf(buf, n, "%s/bin/%s", prefix, name);
  return buf;
}

static int spawn(qrl_h_server *s, const char *const *extra, int append, long soft,
                 long hard) {
  const char *argv[56];
  int n = 0, out[2] = {-1, -1}, logfd = -1, only = 0;
  char logpath[300], line[256], outbox[300], qrlogind_bin[300];
  size_t got = 0;
  int64_t deadline;

  s->pid = -1;
  s->exit_status = -1;
  s->pidfd = s->out_fd = -1;
  s->port = 0;
  s->tls = 0;
  s->json_log = 0;
  qrl_h_path(s, "server.log", logpath, sizeof(logpath));
  qrl_h_path(s, "sms-outbox.log", outbox, sizeof(outbox));

  /* QRL_VALGRIND=1: the server runs under valgrind's leak checker; exit
   * status 99 on any definite or indirect leak or memory error. */
  if (getenv("QRL_VALGRIND")) {
    argv[n++] = "/usr/bin/valgrind";
    argv[n++] = "--quiet";
    argv[n++] = "--leak-check=full";
    argv[n++] = "--errors-for-leak-kinds=definite,indirect";
    argv[n++] = "--error-exitcode=99";
  }
  argv[n++] = installed(qrlogind_bin, sizeof(qrlogind_bin), "qrlogind", QRLOGIND_PATH);
  for (int i = 0; extra && extra[i]; i++) only |= !strcmp(extra[i], QRL_H_ONLY_ARGS);
  if (only) goto extra_args;
  argv[n++] = "--port";
  argv[n++] = "0";
  argv[n++] = "--bind";
  argv[n++] = "127.0.0.1";
  argv[n++] = "--db";
  argv[n++] = s->db;
  if (!getenv("QRL_H_PREFIX")) { /* an installed qrlogind finds its own */
    argv[n++] = "--web";
    argv[n++] = QRL_WEB_DIR;
  }
  {
    int demo = 1;
    for (int i = 0; extra && extra[i]; i++) demo &= strcmp(extra[i], QRL_H_NO_DEMO) != 0;
    if (demo) argv[n++] = "--demo";
  }
  argv[n++] = "--hash-cost";
  argv[n++] = "10";
  argv[n++] = "--sms-outbox";
  argv[n++] = outbox;
  /* 5 s frames: animated, yet a slow (sanitized, loaded) test run does not
   * miss its frame; test_attacks runs 1 s frames. Later args win. */
  argv[n++] = "--qr-frame-secs";
  argv[n++] = "5";
  argv[n++] = "--log-format";
  argv[n++] = "json";
  s->json_log = 1;
  /* The suite again on the shared store: a Redis of this server's own (a
   * test's own --redis comes later and wins). */
  if (getenv("QRL_H_REDIS") && !strcmp(getenv("QRL_H_REDIS"), "1")) {
    if (s->redis.pid <= 0 && qrl_h_redis_start(&s->redis, "noeviction")) return -1;
    if (qrl_h_otp_key(s->dir, s->otp_key, sizeof(s->otp_key))) return -1;
    argv[n++] = "--redis";
    argv[n++] = s->redis.url;
    argv[n++] = "--otp-key-file";
    argv[n++] = s->otp_key;
  }
extra_args:
  for (int i = 0; extra && extra[i] && n < 54; i++) {
    if (strcmp(extra[i], QRL_H_NO_DEMO) != 0 && strcmp(extra[i], QRL_H_ONLY_ARGS) != 0)
      argv[n++] = extra[i];
    if (!strcmp(extra[i], "--log-format") && extra[i + 1])
      s->json_log = !strcmp(extra[i + 1], "json");
  }
  argv[n] = NULL;

  if (pipe2(out, O_CLOEXEC) < 0) return -1;
  logfd = open(logpath, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
               0600);
  if (logfd < 0) goto fail;
  s->pid = fork();
  if (s->pid < 0) goto fail;
  if (s->pid == 0) {
    child_setup(soft, hard);
    dup2(out[1], STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(out[1]);
  close(logfd);
  out[1] = logfd = -1;
  s->out_fd = out[0];
  s->pidfd = pidfd_of(s->pid);

  /* Wait for "qrlogind: listening on http://127.0.0.1:PORT/\n". */
  deadline = qrl_h_mono_ms() + (getenv("QRL_VALGRIND") ? 6 : 1) * QRL_H_TIMEOUT_MS;
  for (;;) {
    struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
    ssize_t r;
    char *nl, *colon;
    if (poll(&p, 1, left_ms(deadline)) <= 0) {
      fprintf(stderr, "harness: qrlogind did not report listening in time\n");
      goto fail_child;
    }
    r = read(s->out_fd, line + got, sizeof(line) - 1 - got);
    if (r <= 0) {
      fprintf(stderr, "harness: qrlogind exited before listening\n");
      goto fail_child;
    }
    got += (size_t)r;
    line[got] = '\0';
    if (!(nl = strchr(line, '\n'))) {
      if (got == sizeof(line) - 1) goto fail_child;
      continue;
    }
    *nl = '\0';
    colon = strrchr(line, ':');
    if ((!strstr(line, "listening on http://") && !strstr(line, "listening on https://")) ||
        !colon)
      goto fail_child;
    s->tls = strstr(line, "https://") != NULL;
    s->port = atoi(colon + 1);
    break;
  }
  if (s->port <= 0) goto fail_child;
  snprintf(s->http, sizeof(s->http), "%s://127.0.0.1:%d", s->tls ? "https" : "http",
           s->port);
  snprintf(s->ws, sizeof(s->ws), "%s://127.0.0.1:%d/", s->tls ? "wss" : "ws", s->port);
  /* TLS tests pass --tls-cert: that self-signed certificate is the CA. */
  for (int i = 0; s->tls && extra && extra[i]; i++)
    if (!strcmp(extra[i], "--tls-cert") && extra[i + 1])
      snprintf(s->ca, sizeof(s->ca), "%s", extra[i + 1]);
  return 0;

fail_child:
  qrl_h_dump_log(s);
  kill(s->pid, SIGKILL);
  wait_child(s->pid, s->pidfd, QRL_H_TIMEOUT_MS);
  s->pid = -1;
fail:
  if (out[0] >= 0) close(out[0]);
  if (out[1] >= 0) close(out[1]);
  if (logfd >= 0) close(logfd);
  if (s->pidfd >= 0) close(s->pidfd);
  s->out_fd = s->pidfd = -1;
  return -1;
}

int qrl_h_start(qrl_h_server *s, const char *const *extra) {
  return qrl_h_start_nofile(s, extra, 0, 0);
}

int qrl_h_start_nofile(qrl_h_server *s, const char *const *extra, long soft, long hard) {
  int own_db = 0;
  memset(s, 0, sizeof(*s));
  s->pid = -1;
  s->exit_status = -1;
  s->pidfd = s->out_fd = -1;
  snprintf(s->dir, sizeof(s->dir), "/tmp/qrl-it-XXXXXX");
  if (!mkdtemp(s->dir)) {
    perror("harness: mkdtemp");
    return -1;
  }
  qrl_h_path(s, "qrlogin.db", s->db, sizeof(s->db));
  /* The suite again on PostgreSQL: a cluster of this server's own, unless
   * the test names its own --db (it then wins, as a later argument). */
  for (int i = 0; extra && extra[i]; i++)
    if (!strcmp(extra[i], "--db")) own_db = 1;
  if (qrl_h_on_pg() && !own_db) {
    if (qrl_h_pg_start(&s->pg)) return -1;
    snprintf(s->db, sizeof(s->db), "%s", s->pg.url);
  }
  return spawn(s, extra, 0, soft, hard);
}

int qrl_h_restart(qrl_h_server *s, const char *const *extra) {
  int st = qrl_h_settle(s);
  if (st != 0) return -1;
  return spawn(s, extra, 1, 0, 0);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}


/* ---- what the server's log may not hold --------------------------------- */

#define MAX_SECRETS 4096
/* The secrets this test process used (one process: a test binary; tests
 * register from several threads at once). */
static struct {
  pthread_mutex_t lock;
  char *s[MAX_SECRETS];
  size_t n;
} secrets = {PTHREAD_MUTEX_INITIALIZER, {NULL}, 0};

void qrl_h_secret(const char *secret) {
  size_t i;
  if (!secret || strlen(secret) < 6) return;
  pthread_mutex_lock(&secrets.lock);
  for (i = 0; i < secrets.n && strcmp(secrets.s[i], secret) != 0; i++) {}
  if (i == secrets.n && secrets.n < MAX_SECRETS && (secrets.s[secrets.n] = strdup(secret)))
    secrets.n++;
  pthread_mutex_unlock(&secrets.lock);
}

void qrl_h_secret_drop(const char *secret) {
  pthread_mutex_lock(&secrets.lock);
  for (size_t i = 0; i < secrets.n; i++)
    if (!strcmp(secrets.s[i], secret)) {
      free(secrets.s[i]);
      secrets.s[i] = secrets.s[--secrets.n];
      break;
    }
  pthread_mutex_unlock(&secrets.lock);
}

int qrl_h_count_lines(const char *path, const char *needle) {
  char line[8192];
  int n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f))
    if (strstr(line, needle)) n++;
  fclose(f);
  return n;
}

int qrl_h_wait_lines(const char *path, const char *needle, int min, int timeout_ms) {
  int fd = inotify_init1(IN_CLOEXEC), rc = -1;
  int64_t deadline = qrl_h_mono_ms() + timeout_ms;
  /* The file may not exist yet (a log reopened): watch it, else wait. */
  if (fd < 0) goto out;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char ev[4096];
    int wd = inotify_add_watch(fd, path, IN_MODIFY);
    if (qrl_h_count_lines(path, needle) >= min) {
      rc = 0;
      break;
    }
    /* Not there yet: a write wakes us, or at most 100 ms while the file is
     * missing (no watch without a file). */
    if (poll(&p, 1, wd < 0 ? 100 : left_ms(deadline)) < 0 || qrl_h_mono_ms() >= deadline)
      break;
    if (p.revents & POLLIN) (void)!read(fd, ev, sizeof(ev));
    if (wd >= 0) inotify_rm_watch(fd, wd);
  }
out:
  if (rc)
    fprintf(stderr, "harness: %s has no %d lines with '%s' after %d ms\n", path, min, needle,
            timeout_ms);
  if (fd >= 0) close(fd);
  return rc;
}

static int token_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '-' || c == '_';
}

/* 1 if line holds secret: anywhere for a long one, as a whole token for a
 * short one (a 6-digit code is not "in" a longer number or a UUID). */
static int holds(const char *line, const char *secret) {
  size_t n = strlen(secret);
  for (const char *p = line; (p = strstr(p, secret)); p++) {
    if (n >= 12) return 1;
    if ((p == line || !token_char(p[-1])) && !token_char(p[n])) return 1;
  }
  return 0;
}

/* The checks of harness.h on s's log. 0, or -1 (said on stderr). */
static int check_log(const qrl_h_server *s) {
  char path[300], line[8192];
  FILE *f;
  int bad = 0, lineno = 0, strict = s->json_log;
#if defined(QRL_H_SANITIZED)
  strict = 0; /* sanitizers write their reports and summaries to stderr too */
#endif
  if (getenv("QRL_VALGRIND")) strict = 0;
  qrl_h_path(s, "server.log", path, sizeof(path));
  if (!(f = fopen(path, "r"))) return 0; /* never started */
  while (fgets(line, sizeof(line), f)) {
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    pthread_mutex_lock(&secrets.lock);
    for (size_t i = 0; i < secrets.n; i++)
      if (holds(line, secrets.s[i])) {
        fprintf(stderr, "harness: %s:%d holds a secret the test used (%.4s...): %s\n", path,
                lineno, secrets.s[i], line);
        bad = 1;
      }
    pthread_mutex_unlock(&secrets.lock);
    if (strict) {
      cJSON *j = cJSON_Parse(line);
      if (!cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "time")) ||
          !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "level")) ||
          !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "event"))) {
        fprintf(stderr, "harness: %s:%d is not a JSON log line: %s\n", path, lineno, line);
        bad = 1;
      }
      cJSON_Delete(j);
    }
  }
  fclose(f);
  return bad ? -1 : 0;
}

int qrl_h_settle(qrl_h_server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    /* valgrind's leak check at exit takes a while */
    s->exit_status = wait_child(s->pid, s->pidfd,
                                getenv("QRL_VALGRIND") ? 6 * QRL_H_TIMEOUT_MS : QRL_H_TIMEOUT_MS);
    if (s->exit_status != 0) {
      fprintf(stderr, "harness: qrlogind exit status %d\n", s->exit_status);
      qrl_h_dump_log(s);
    } else if (check_log(s)) {
      s->exit_status = QRL_H_LOG_FAILED;
    }
  }
  if (s->out_fd >= 0) close(s->out_fd);
  if (s->pidfd >= 0) close(s->pidfd);
  s->out_fd = s->pidfd = -1;
  s->pid = -1;
  return s->exit_status;
}

int qrl_h_stop(qrl_h_server *s) {
  int status = qrl_h_settle(s);
  if (s->dir[0] && !getenv("QRL_KEEP_TMP"))
    nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (s->redis.dir[0]) qrl_h_redis_cleanup(&s->redis);
  qrl_h_pg_cleanup(&s->pg);
  return status;
}

void qrl_h_dump_log(const qrl_h_server *s) {
  char path[300], buf[4096];
  size_t n;
  FILE *f;
  qrl_h_path(s, "server.log", path, sizeof(path));
  if (!(f = fopen(path, "r"))) return;
  fprintf(stderr, "---- qrlogind log (%s) ----\n", path);
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) fwrite(buf, 1, n, stderr);
  fprintf(stderr, "---- end of log ----\n");
  fclose(f);
}

/* ---- vneid-sim ----------------------------------------------------------- */

static int sim_vspawn(const qrl_h_server *s, const char *home, qrl_h_proc *pr,
                      va_list ap) {
  const char *argv[40];
  char homedir[300], sim_bin[300];
  int n = 0, o[2] = {-1, -1}, in[2] = {-1, -1};
  const char *a;

  memset(pr, 0, sizeof(*pr));
  pr->pid = -1;
  pr->in = pr->out = pr->pidfd = -1;
  qrl_h_path(s, home, homedir, sizeof(homedir));
  argv[n++] = installed(sim_bin, sizeof(sim_bin), "vneid-sim", VNEID_SIM_PATH);
  argv[n++] = "--json";
  argv[n++] = "--server";
  argv[n++] = s->ws;
  if (s->tls) {
    argv[n++] = "--ca";
    argv[n++] = s->ca;
  }
  argv[n++] = "--home";
  argv[n++] = homedir;
  while ((a = va_arg(ap, const char *)) && n < 38) argv[n++] = a;
  argv[n] = NULL;
  pr->shown = 0;
  for (int i = 6; i < n; i++)
    pr->shown += snprintf(pr->cmd + pr->shown, sizeof(pr->cmd) - (size_t)pr->shown, " %s",
                          argv[i]);

  if (pipe2(o, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0) return -1;
  pr->pid = fork();
  if (pr->pid < 0) return -1;
  if (pr->pid == 0) {
    child_setup(0, 0);
    dup2(o[1], STDOUT_FILENO);
    dup2(in[0], STDIN_FILENO);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(o[1]);
  close(in[0]);
  pr->out = o[0];
  pr->in = in[1];
  pr->pidfd = pidfd_of(pr->pid);
  return 0;
}

int qrl_h_sim_spawn(const qrl_h_server *s, const char *home, qrl_h_proc *pr, ...) {
  va_list ap;
  int rc;
  va_start(ap, pr);
  rc = sim_vspawn(s, home, pr, ap);
  va_end(ap);
  return rc;
}

int qrl_h_proc_write(qrl_h_proc *pr, const char *text) {
  size_t n = strlen(text);
  return pr->in >= 0 && write(pr->in, text, n) == (ssize_t)n ? 0 : -1;
}

int qrl_h_proc_finish(qrl_h_proc *pr, cJSON **out) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc;
  int64_t deadline = qrl_h_mono_ms() + 3 * QRL_H_TIMEOUT_MS;

  if (out) *out = NULL;
  if (pr->pid < 0) return -1;
  if (pr->in >= 0) close(pr->in);
  pr->in = -1;
  for (;;) {
    struct pollfd p = {.fd = pr->out, .events = POLLIN};
    ssize_t r;
    if (poll(&p, 1, left_ms(deadline)) <= 0) break;
    if (len + 1024 > cap) {
      char *nb = realloc(buf, cap = cap ? cap * 2 : 4096);
      if (!nb) break;
      buf = nb;
    }
    r = read(pr->out, buf + len, cap - len - 1);
    if (r <= 0) break;
    len += (size_t)r;
  }
  close(pr->out);
  pr->out = -1;
  rc = wait_child(pr->pid, pr->pidfd, left_ms(deadline) + 1000);
  if (pr->pidfd >= 0) close(pr->pidfd);
  pr->pid = -1;
  if (buf) buf[len] = '\0';
  fprintf(stderr, "  sim%s -> exit %d %s", pr->cmd, rc, buf ? buf : "\n");
  if (out && buf) *out = cJSON_Parse(buf);
  free(buf);
  return rc;
}

int qrl_h_sim(const qrl_h_server *s, const char *home, const char *input,
              cJSON **out, ...) {
  qrl_h_proc pr;
  va_list ap;
  cJSON *o = NULL;
  int rc;
  if (out) *out = NULL;
  for (int tries = 0;; tries++) {
    va_start(ap, out);
    rc = sim_vspawn(s, home, &pr, ap);
    va_end(ap);
    if (rc) return -1;
    if (input) qrl_h_proc_write(&pr, input);
    rc = qrl_h_proc_finish(&pr, &o);
    /* Exit 9 "cannot connect": the simulator never got its upgrade answered
     * (lws's 5 s handshake limit, see qrl_h_connect) and sent nothing; run
     * it again, once. Any other outcome is the test's. */
    if (rc == 9 && tries == 0 && !strncmp(qrl_h_str(o, "detail"), "cannot connect", 14)) {
      fprintf(stderr, "harness: the simulator could not connect (no answer to its "
                      "upgrade in lws's 5 s): running it again\n");
      cJSON_Delete(o);
      o = NULL;
      continue;
    }
    break;
  }
  if (out) *out = o;
  else cJSON_Delete(o);
  return rc;
}

/* ---- websockets ---------------------------------------------------------- */

const char *qrl_h_type(const cJSON *m) {
  return qrl_h_str(m, "type");
}

const char *qrl_h_str(const cJSON *m, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

const char *qrl_h_errcode(const cJSON *m) {
  return strcmp(qrl_h_type(m), "error") == 0 ? qrl_h_str(m, "code") : "";
}

/* The next message, whatever it is (a `frame` push too). */
static cJSON *recv_any(qrl_wsc *c, int timeout_ms) {
  char *msg = NULL;
  cJSON *j;
  if (!c || qrl_wsc_recv(c, timeout_ms, &msg, NULL) != QRL_OK) return NULL;
  j = cJSON_Parse(msg);
  if (!j) fprintf(stderr, "harness: not JSON: %s\n", msg);
  free(msg);
  return j;
}

static int is_frame(const cJSON *m) {
  return strcmp(qrl_h_type(m), QRL_MSG_FRAME) == 0;
}

/* `held`: a phone is turning its web-login permission on; the code waits
 * longer. Only tests of that wait look for it. */
static int is_held(const cJSON *m) {
  return strcmp(qrl_h_type(m), QRL_MSG_HELD) == 0;
}

/* The next message that is neither a frame nor (unless keep_held) `held`. */
static cJSON *recv_skipping(qrl_wsc *c, int timeout_ms, int keep_held) {
  int64_t deadline = qrl_h_mono_ms() + timeout_ms;
  for (;;) {
    cJSON *m = recv_any(c, left_ms(deadline));
    if (!m || (!is_frame(m) && (keep_held || !is_held(m)))) return m;
    cJSON_Delete(m); /* the animated QR's redraw: not what anyone waits for */
  }
}

cJSON *qrl_h_recv(qrl_wsc *c, int timeout_ms) {
  return recv_skipping(c, timeout_ms, 0);
}

cJSON *qrl_h_expect(qrl_wsc *c, const char *type, int timeout_ms) {
  int want_frame = strcmp(type, QRL_MSG_FRAME) == 0;
  cJSON *m = want_frame ? recv_any(c, timeout_ms)
                        : recv_skipping(c, timeout_ms, strcmp(type, QRL_MSG_HELD) == 0);
  char *text;
  if (!m) {
    fprintf(stderr, "harness: expected \"%s\", got nothing\n", type);
    return NULL;
  }
  if (strcmp(qrl_h_type(m), type) == 0) return m;
  text = cJSON_PrintUnformatted(m);
  fprintf(stderr, "harness: expected \"%s\", got %s\n", type, text);
  free(text);
  cJSON_Delete(m);
  return NULL;
}

cJSON *qrl_h_shown_qr(qrl_wsc *br, const cJSON *challenge, int wait_new) {
  const char *id = qrl_h_str(challenge, "id");
  cJSON *m, *newest = NULL, *qr;
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;

  /* Wait (if asked) for a frame of this challenge, then take whatever else
   * is already queued without waiting: the newest frame is on the page.
   * Frames of an earlier challenge are left behind. */
  for (;;) {
    m = recv_any(br, wait_new && !newest ? left_ms(deadline) : 0);
    if (!m) break;
    if (is_frame(m) && strcmp(qrl_h_str(m, "id"), id) == 0) {
      cJSON_Delete(newest);
      newest = m;
    } else if (is_frame(m) || is_held(m)) {
      cJSON_Delete(m);
    } else {
      char *text = cJSON_PrintUnformatted(m);
      fprintf(stderr, "harness: looking at the page's QR, it got %s\n", text);
      free(text);
      cJSON_Delete(m);
      cJSON_Delete(newest);
      return NULL;
    }
  }
  if (wait_new && !newest) {
    fprintf(stderr, "harness: expected a \"frame\" of %s, got nothing\n", id);
    return NULL;
  }
  qr = cJSON_GetObjectItemCaseSensitive(newest ? newest : challenge, "qr");
  qr = cJSON_IsObject(qr) ? cJSON_Duplicate(qr, 1) : NULL;
  cJSON_Delete(newest);
  return qr;
}

cJSON *qrl_h_phone_scan_page(qrl_h_phone *p, qrl_wsc *br, const cJSON *challenge,
                             qrl_qr_payload *qp) {
  char f[QRL_QR_PAYLOAD_MAX + 16];
  cJSON *qr = NULL, *m = NULL;

  for (int tries = 0; tries < 4; tries++) {
    const char *payload;
    cJSON_Delete(m);
    m = NULL;
    if (!(qr = qrl_h_shown_qr(br, challenge, tries > 0))) break;
    payload = qrl_h_str(qr, "payload");
    if (qp && qrl_qr_payload_parse(payload, strlen(payload), qp) != QRL_OK) {
      fprintf(stderr, "harness: the page shows an unreadable QR %s\n", payload);
      break;
    }
    snprintf(f, sizeof(f), "\"qr\":\"%s\"", payload);
    m = qrl_h_phone_call(p, "scan", f);
    if (strcmp(qrl_h_errcode(m), "frame_stale") != 0) break;
    /* Stale before it reached the server: the run is slow, not the phone
     * wrong. A phone on the screen scans the next frame; so does the test. */
    fprintf(stderr, "harness: %s already stale at the server, scanning the next frame\n",
            payload);
    cJSON_Delete(qr);
    qr = NULL;
  }
  cJSON_Delete(qr);
  return m;
}

cJSON *qrl_h_call(qrl_wsc *c, const char *json) {
  if (!c || qrl_wsc_send_text(c, json) != QRL_OK) return NULL;
  return qrl_h_recv(c, QRL_H_TIMEOUT_MS);
}

/* lws 4.1.6 gives up on a client handshake after its context's
 * timeout_secs, 5 s by default, whatever timeout qrl_wsc_connect() was
 * given (ws_client.c does not set it); on a loaded machine the server's
 * 101 can take longer. An attempt with no HTTP answer at all is tried
 * again (nothing was sent on it), so that a connect gets the harness's
 * QRL_H_TIMEOUT_MS and more, not 5 s; an HTTP refusal is final. */
#define CONNECT_TRY_MS 6000

qrl_err qrl_h_connect(const qrl_h_server *s, const char *proto, const char *origin,
                      const char *iface, qrl_wsc **out, int *status) {
  int64_t deadline = qrl_h_mono_ms() + 2 * QRL_H_TIMEOUT_MS;
  qrl_err rc;
  for (;;) {
    int left = left_ms(deadline), st = 0, try_ms = left < CONNECT_TRY_MS ? left : CONNECT_TRY_MS;
    int64_t t0 = qrl_h_mono_ms();
    rc = qrl_wsc_connect_from(s->ws, proto, origin, s->tls ? s->ca : NULL, iface, try_ms,
                              out, &st);
    if (status) *status = st;
    /* Done: connected, answered (a refusal), closed on us before the time
     * was up (a refusal without HTTP), or out of time. Only an attempt that
     * sat unanswered for all of its time is made again. */
    if (rc == QRL_OK || st != 0 || qrl_h_mono_ms() - t0 < try_ms || left_ms(deadline) == 0)
      return rc;
    fprintf(stderr, "harness: no answer to the websocket upgrade yet (lws gives up "
                    "after 5 s): connecting again\n");
  }
}

qrl_wsc *qrl_h_browser(const qrl_h_server *s, cJSON **challenge) {
  return qrl_h_browser_from(s, NULL, challenge);
}

qrl_wsc *qrl_h_browser_from(const qrl_h_server *s, const char *iface, cJSON **challenge) {
  qrl_wsc *c = NULL;
  int status = 0;
  *challenge = NULL;
  if (qrl_h_connect(s, QRL_SUBPROTO_BROWSER, s->http, iface, &c, &status) != QRL_OK) {
    fprintf(stderr, "harness: browser connect refused (HTTP %d)\n", status);
    return NULL;
  }
  if (!(*challenge = qrl_h_expect(c, "challenge", QRL_H_TIMEOUT_MS))) {
    qrl_wsc_free(c);
    return NULL;
  }
  return c;
}

qrl_wsc *qrl_h_phone_socket(const qrl_h_server *s) {
  return qrl_h_phone_socket_from(s, NULL);
}

qrl_wsc *qrl_h_phone_socket_from(const qrl_h_server *s, const char *iface) {
  qrl_wsc *c = NULL;
  int status = 0;
  if (qrl_h_connect(s, QRL_SUBPROTO_PHONE, NULL, iface, &c, &status) != QRL_OK) {
    fprintf(stderr, "harness: phone connect refused (HTTP %d)\n", status);
    return NULL;
  }
  return c;
}

int qrl_h_challenge_payload(const cJSON *challenge, qrl_qr_payload *out) {
  const cJSON *qr = cJSON_GetObjectItemCaseSensitive(challenge, "qr");
  const char *p = qrl_h_str(qr, "payload");
  qrl_h_secret(p);
  return qrl_qr_payload_parse(p, strlen(p), out) == QRL_OK ? 0 : -1;
}

/* ---- the raw phone ------------------------------------------------------- */

int qrl_h_phone_login(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                      const char *password, char err[64]) {
  return qrl_h_phone_login_from(s, p, id, password, NULL, err);
}

int qrl_h_phone_login_from(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                           const char *password, const char *iface, char err[64]) {
  char pub[128], req[512];
  cJSON *ans, *acc;
  int rc = -1;

  memset(p, 0, sizeof(*p));
  if (err) err[0] = '\0';
  qrl_h_secret(password);
  if (qrl_ec_keygen(p->priv, p->pub) != QRL_OK ||
      qrl_b64url_encode(p->pub, sizeof(p->pub), pub, sizeof(pub)) < 0)
    return -1;
  if (!(p->ws = qrl_h_phone_socket_from(s, iface))) return -1;
  snprintf(req, sizeof(req),
           "{\"type\":\"login\",\"id\":\"%s\",\"password\":\"%s\","
           "\"device_key\":\"%s\",\"device_name\":\"harness\"}",
           id, password, pub);
  ans = qrl_h_call(p->ws, req);
  if (strcmp(qrl_h_type(ans), "login_ok") == 0) {
    acc = cJSON_GetObjectItemCaseSensitive(ans, "account");
    snprintf(p->session, sizeof(p->session), "%s", qrl_h_str(ans, "session"));
    qrl_h_secret(p->session);
    snprintf(p->citizen, sizeof(p->citizen), "%s", qrl_h_str(acc, "id"));
    rc = p->session[0] && p->citizen[0] ? 0 : -1;
  } else if (err) {
    snprintf(err, 64, "%s", qrl_h_errcode(ans));
  }
  cJSON_Delete(ans);
  return rc;
}

cJSON *qrl_h_phone_call(qrl_h_phone *p, const char *type, const char *fields) {
  char req[2048];
  snprintf(req, sizeof(req), "{\"type\":\"%s\",\"session\":\"%s\"%s%s}", type,
           p->session, fields ? "," : "", fields ? fields : "");
  return qrl_h_call(p->ws, req);
}

int qrl_h_sign_fields(const qrl_h_phone *p, const qrl_qr_payload *qp,
                      const char *origin, int64_t ts, int number, qrl_decision d,
                      char *fields, size_t n) {
  char msg[512], sigb64[160];
  uint8_t sig[QRL_SIG_MAX];
  size_t msglen = 0, siglen = 0;
  int w;

  if (qrl_sign_string(qp, origin, p->citizen, d == QRL_DECISION_CONFIRM ? number : 0,
                      ts, d, msg, sizeof(msg), &msglen) != QRL_OK ||
      qrl_ec_sign(p->priv, msg, msglen, sig, &siglen) != QRL_OK ||
      qrl_b64url_encode(sig, siglen, sigb64, sizeof(sigb64)) < 0)
    return -1;
  if (d == QRL_DECISION_CONFIRM)
    w = snprintf(fields, n, "\"challenge\":\"%s\",\"number\":%d,\"ts\":%lld,\"sig\":\"%s\"",
                 qp->id, number, (long long)ts, sigb64);
  else
    w = snprintf(fields, n, "\"challenge\":\"%s\",\"ts\":%lld,\"sig\":\"%s\"", qp->id,
                 (long long)ts, sigb64);
  return w > 0 && (size_t)w < n ? 0 : -1;
}

cJSON *qrl_h_phone_decide(qrl_h_phone *p, const qrl_qr_payload *qp, const char *origin,
                          int64_t ts, int number, qrl_decision d) {
  char fields[512];
  if (qrl_h_sign_fields(p, qp, origin, ts, number, d, fields, sizeof(fields)))
    return NULL;
  return qrl_h_phone_call(p, d == QRL_DECISION_CONFIRM ? "confirm" : "decline",
                          fields);
}

void qrl_h_phone_close(qrl_h_phone *p) {
  qrl_wsc_free(p->ws);
  p->ws = NULL;
  qrl_cleanse(p->priv, sizeof(p->priv));
}

/* ---- HTTP ---------------------------------------------------------------- */

/* A connection that is plain TCP or TLS (verified against s->ca). */
typedef struct hconn {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
} hconn;

static void hconn_close(hconn *h) {
  if (h->ssl) {
    SSL_shutdown(h->ssl);
    SSL_free(h->ssl);
  }
  SSL_CTX_free(h->ctx);
  if (h->fd >= 0) close(h->fd);
}

static int hconn_open(const qrl_h_server *s, hconn *h) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  memset(h, 0, sizeof(*h));
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
  if (connect(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0) return -1;
  if (!s->tls) return 0;
  if (!(h->ctx = SSL_CTX_new(TLS_client_method())) ||
      SSL_CTX_load_verify_locations(h->ctx, s->ca, NULL) != 1)
    return -1;
  SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
  if (!(h->ssl = SSL_new(h->ctx))) return -1;
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h->ssl), "127.0.0.1");
  SSL_set_fd(h->ssl, h->fd);
  if (SSL_connect(h->ssl) != 1) {
    fprintf(stderr, "harness: TLS handshake failed (verify result %ld)\n",
            SSL_get_verify_result(h->ssl));
    return -1;
  }
  return 0;
}

static int hconn_write(hconn *h, const void *p, size_t n) {
  if (h->ssl) return SSL_write(h->ssl, p, (int)n) == (int)n ? 0 : -1;
  return write(h->fd, p, n) == (ssize_t)n ? 0 : -1;
}

static ssize_t hconn_read(hconn *h, void *p, size_t n, int64_t deadline) {
  struct pollfd pf = {.fd = h->fd, .events = POLLIN};
  if (!(h->ssl && SSL_pending(h->ssl)) && poll(&pf, 1, left_ms(deadline)) <= 0)
    return -1;
  if (h->ssl) return SSL_read(h->ssl, p, (int)n);
  return read(h->fd, p, n);
}

/* Reads one HTTP response from h into a new NUL-terminated buffer (*len
 * bytes): until its Content-Length is in, a 101 (the connection stays
 * open), the peer closes, or deadline. NULL if nothing could be read. */
static char *read_response(hconn *h, int64_t deadline, size_t *len) {
  char *buf = NULL, *hdr_end, *cl;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    ssize_t r;
    if (*len + 2048 > cap) {
      char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
      if (!nb) break;
      buf = nb;
    }
    r = hconn_read(h, buf + *len, cap - *len - 1, deadline);
    if (r <= 0) break;
    *len += (size_t)r;
    buf[*len] = '\0';
    if (!(hdr_end = strstr(buf, "\r\n\r\n"))) continue;
    if (*len >= 12 && strncmp(buf + 8, " 101", 4) == 0) break; /* upgraded */
    if ((cl = strcasestr(buf, "\r\ncontent-length:")) && cl < hdr_end &&
        *len >= (size_t)(hdr_end + 4 - buf) + strtoul(cl + 17, NULL, 10))
      break;
  }
  return buf;
}

int qrl_h_http_ex(const qrl_h_server *s, const char *method, const char *path,
                  const char *origin, const char *cookie, const char *body,
                  char **resp, char set_cookie[512], char **headers) {
  char req[4096], *buf = NULL, *hdr_end, *p;
  size_t len = 0, blen = body ? strlen(body) : 0;
  int status = -1, n;
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  hconn h;

  if (resp) *resp = NULL;
  if (headers) *headers = NULL;
  if (set_cookie) set_cookie[0] = '\0';
  n = snprintf(req, sizeof(req),
               "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
               "%s%s%s%s%s%s"
               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
               method, path, s->port, origin ? "Origin: " : "",
               origin ? origin : "", origin ? "\r\n" : "",
               cookie ? "Cookie: " : "", cookie ? cookie : "",
               cookie ? "\r\n" : "", blen);
  if (n < 0 || (size_t)n >= sizeof(req)) return -1;
  if (hconn_open(s, &h) || hconn_write(&h, req, (size_t)n) ||
      (blen && hconn_write(&h, body, blen))) {
    hconn_close(&h);
    return -1;
  }
  buf = read_response(&h, deadline, &len);
  hconn_close(&h);
  if (!buf || len < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0) {
    free(buf);
    return -1;
  }
  buf[len] = '\0';
  status = atoi(buf + 9);
  hdr_end = strstr(buf, "\r\n\r\n");
  if (set_cookie && hdr_end && (p = strcasestr(buf, "\r\nset-cookie:")) &&
      p < hdr_end) {
    char *e;
    p += 13;
    while (*p == ' ') p++;
    e = strstr(p, "\r\n");
    snprintf(set_cookie, 512, "%.*s", (int)(e - p), p);
    {
      /* The cookie's value: a web session token. */
      const char *eq = strchr(set_cookie, '=');
      char val[256];
      if (eq) {
        snprintf(val, sizeof(val), "%.*s", (int)strcspn(eq + 1, "; \r\n"), eq + 1);
        qrl_h_secret(val);
      }
    }
  }
  if (headers && hdr_end) *headers = strndup(buf, (size_t)(hdr_end - buf));
  if (resp && hdr_end) *resp = strdup(hdr_end + 4);
  free(buf);
  return status;
}

int qrl_h_http(const qrl_h_server *s, const char *method, const char *path,
               const char *origin, const char *cookie, const char *body,
               char **resp, char set_cookie[512]) {
  return qrl_h_http_ex(s, method, path, origin, cookie, body, resp, set_cookie, NULL);
}

int qrl_h_raw_http(const qrl_h_server *s, const char *request, char **resp) {
  char *buf;
  size_t len = 0;
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  int status = -1;
  hconn h;

  if (resp) *resp = NULL;
  if (hconn_open(s, &h) || hconn_write(&h, request, strlen(request))) {
    hconn_close(&h);
    return -1;
  }
  buf = read_response(&h, deadline, &len);
  hconn_close(&h);
  if (buf && len >= 12 && strncmp(buf, "HTTP/1.", 7) == 0) status = atoi(buf + 9);
  if (resp && status > 0) *resp = buf;
  else free(buf);
  return status;
}

/* ---- a certificate for TLS tests ------------------------------------------ */

int qrl_h_make_cert(const char *dir, char cert[300], char key[300]) {
  EVP_PKEY *pk = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  X509_NAME *name;
  X509_EXTENSION *ext = NULL;
  X509V3_CTX v3;
  FILE *f;
  int rc = -1;

  snprintf(cert, 300, "%s/cert.pem", dir);
  snprintf(key, 300, "%s/key.pem", dir);
  if (!pk || !x) goto out;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, pk);
  name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1",
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  if (!(ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1")) ||
      !X509_add_ext(x, ext, -1))
    goto out;
  X509_EXTENSION_free(ext);
  ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, pk, EVP_sha256())) goto out;
  if (!(f = fopen(cert, "w"))) goto out;
  PEM_write_X509(f, x);
  fclose(f);
  if (!(f = fopen(key, "w"))) goto out;
  if (fchmod(fileno(f), 0600)) { /* qrlogind refuses a key others can read */
    fclose(f);
    goto out;
  }
  PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  rc = 0;
out:
  X509_EXTENSION_free(ext);
  X509_free(x);
  EVP_PKEY_free(pk);
  return rc;
}

/* ---- ID/username + password + OTP ---------------------------------------- */

int qrl_h_otp_code(const qrl_h_server *s, const char *phone, char code[7]) {
  cJSON *out = NULL;
  int rc;
  code[0] = '\0';
  rc = qrl_h_sim(s, "inbox", NULL, &out, "inbox", "--phone", phone, NULL);
  if (rc == 0) snprintf(code, 7, "%s", qrl_h_str(out, "otp"));
  qrl_h_secret(code);
  cJSON_Delete(out);
  return rc == 0 && strlen(code) == 6 ? 0 : -1;
}

int qrl_h_otp_start(const qrl_h_server *s, const char *path, const char *field,
                    const char *who, const char *password, char attempt[23],
                    char **resp) {
  char body[512];
  char *r = NULL;
  int st;
  cJSON *j;
  attempt[0] = '\0';
  qrl_h_secret(password);
  snprintf(body, sizeof(body), "{\"%s\":\"%s\",\"password\":\"%s\"}", field, who,
           password);
  st = qrl_h_http(s, "POST", path, s->http, NULL, body, &r, NULL);
  if (st == 200 && (j = cJSON_Parse(r))) {
    snprintf(attempt, 23, "%s", qrl_h_str(j, "attempt"));
    qrl_h_secret(attempt);
    cJSON_Delete(j);
  }
  if (resp) *resp = r;
  else free(r);
  return st;
}

int qrl_h_otp_verify(const qrl_h_server *s, const char *attempt, const char *code,
                     char cookie[128], char **resp) {
  char body[256], set[512];
  int st;
  if (cookie) cookie[0] = '\0';
  snprintf(body, sizeof(body), "{\"attempt\":\"%s\",\"otp\":\"%s\"}", attempt, code);
  st = qrl_h_http(s, "POST", "/api/otp/verify", s->http, NULL, body, resp, set);
  if (cookie && st == 200) snprintf(cookie, 128, "%.*s", (int)strcspn(set, ";"), set);
  return st;
}

int qrl_h_otp_login(const qrl_h_server *s, const char *path, const char *field,
                    const char *who, const char *password, const char *phone,
                    char cookie[128]) {
  char attempt[23], code[7];
  int st = qrl_h_otp_start(s, path, field, who, password, attempt, NULL);
  if (st != 200) return st;
  if (qrl_h_otp_code(s, phone, code)) return -1;
  return qrl_h_otp_verify(s, attempt, code, cookie, NULL);
}

cJSON *qrl_h_me(const qrl_h_server *s, const char *cookie) {
  char *r = NULL;
  cJSON *j = NULL;
  if (qrl_h_http(s, "GET", "/api/me", NULL, cookie, NULL, &r, NULL) == 200)
    j = cJSON_Parse(r);
  free(r);
  return j;
}

/* ---- a raw websocket, for what a library client would not do -------------- */

int qrl_h_raw_ws(const qrl_h_server *s, const char *proto) {
  hconn h;
  char req[512], buf[1024];
  size_t got = 0;
  int n;
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  if (s->tls) return -1;
  n = snprintf(req, sizeof(req),
               "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
               s->port, proto);
  if (hconn_open(s, &h) || hconn_write(&h, req, (size_t)n)) {
    hconn_close(&h);
    return -1;
  }
  while (got < sizeof(buf) - 1) {
    ssize_t r = hconn_read(&h, buf + got, sizeof(buf) - 1 - got, deadline);
    if (r <= 0) break;
    got += (size_t)r;
    buf[got] = '\0';
    if (strstr(buf, "\r\n\r\n")) break;
  }
  if (got < 12 || strncmp(buf, "HTTP/1.1 101", 12) != 0) {
    hconn_close(&h);
    return -1;
  }
  return h.fd; /* plain TCP: nothing else to keep */
}

size_t qrl_h_ws_frame(const char *text, uint8_t *out, size_t cap) {
  size_t len = strlen(text), n = 0;
  static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (len > 125 || cap < len + 6) return 0;
  out[n++] = 0x81;                 /* FIN, text */
  out[n++] = 0x80 | (uint8_t)len; /* masked (clients must), short length */
  memcpy(out + n, mask, 4);
  n += 4;
  for (size_t i = 0; i < len; i++) out[n++] = (uint8_t)text[i] ^ mask[i % 4];
  return n;
}

int qrl_h_wait_eof(int fd, int timeout_ms) {
  char buf[4096];
  int64_t deadline = qrl_h_mono_ms() + timeout_ms;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t r;
    if (poll(&p, 1, left_ms(deadline)) <= 0) return 0;
    r = read(fd, buf, sizeof(buf));
    if (r <= 0) return 1; /* EOF or reset: the server hung up */
  }
}

int qrl_h_scanned_number(qrl_wsc *br) {
  cJSON *m = qrl_h_expect(br, "scanned", QRL_H_TIMEOUT_MS);
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "number");
  int v = cJSON_IsNumber(n) ? n->valueint : -1;
  cJSON_Delete(m);
  return v;
}

int qrl_h_phone_ready(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                      const char *password, const char *iface) {
  cJSON *m;
  int ok;
  qrl_h_secret("123456"); /* the demo passcode, sent below */
  if (qrl_h_phone_login_from(s, p, id, password, iface, NULL)) return -1;
  m = qrl_h_phone_call(p, "set_permission",
                       "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"123456\"");
  ok = strcmp(qrl_h_type(m), "set_permission_ok") == 0;
  cJSON_Delete(m);
  return ok ? 0 : -1;
}

cJSON *qrl_h_confirm_page(const qrl_h_server *s, qrl_h_phone *p, qrl_wsc *br,
                          const cJSON *challenge) {
  qrl_qr_payload qp;
  cJSON *m = qrl_h_phone_scan_page(p, br, challenge, &qp);
  int num;
  if (!m || strcmp(qrl_h_type(m), "scan_ok")) goto fail;
  cJSON_Delete(m);
  m = NULL;
  if ((num = qrl_h_scanned_number(br)) < 0) goto fail;
  m = qrl_h_phone_decide(p, &qp, s->http, (int64_t)time(NULL), num, QRL_DECISION_CONFIRM);
  if (!m || strcmp(qrl_h_type(m), "confirm_ok")) goto fail;
  cJSON_Delete(m);
  return qrl_h_recv(br, QRL_H_TIMEOUT_MS);
fail:
  fprintf(stderr, "harness: the phone's scan or confirm was refused: %s\n",
          m ? qrl_h_errcode(m) : "no answer");
  cJSON_Delete(m);
  return NULL;
}

int qrl_h_qr_login(const qrl_h_server *s, const char *id, const char *password,
                   const char *iface, char failed[64]) {
  cJSON *ch = NULL, *m = NULL;
  qrl_wsc *br = NULL;
  qrl_h_phone p;
  int rc = -1;

  memset(&p, 0, sizeof(p));
  if (failed) failed[0] = '\0';
  if (!(br = qrl_h_browser_from(s, iface, &ch))) goto out;
  if (qrl_h_phone_ready(s, &p, id, password, iface)) goto out;
  m = qrl_h_confirm_page(s, &p, br, ch);
  if (m && !strcmp(qrl_h_type(m), "completed") && !qrl_h_errcode(m)[0]) rc = 0;
out:
  if (rc && failed) snprintf(failed, 64, "%s", m ? qrl_h_errcode(m) : "no answer");
  if (rc) fprintf(stderr, "harness: QR login of %s failed: %s\n", id,
                  m ? qrl_h_errcode(m) : "no answer");
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_h_phone_close(&p);
  qrl_wsc_free(br);
  return rc;
}

/* ---- redis-server ----------------------------------------------------------- */

int qrl_h_redis_start(qrl_h_redis *rp, const char *policy) {
  char logf[200];
  int seen;
  if (!rp->dir[0]) {
    snprintf(rp->dir, sizeof(rp->dir), "/tmp/qrl-redis-XXXXXX");
    if (!mkdtemp(rp->dir)) return -1;
  }
  snprintf(rp->sock, sizeof(rp->sock), "%s/r.sock", rp->dir);
  snprintf(rp->url, sizeof(rp->url), "unix:%s", rp->sock);
  snprintf(logf, sizeof(logf), "%s/redis.log", rp->dir);
  /* A restart appends to the log: its own "ready" line is the next one. */
  seen = qrl_h_count_lines(logf, "ready to accept connections");
  if (seen < 0) seen = 0;
  rp->pid = fork();
  if (rp->pid < 0) return -1;
  if (rp->pid == 0) {
    int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
    child_setup(0, 0); /* dies with the test, also one killed at its timeout */
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (rp->password[0])
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", rp->sock,
             "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
             "--maxmemory-policy", policy, "--dir", rp->dir, "--requirepass", rp->password,
             (char *)NULL);
    execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", rp->sock,
           "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
           "--maxmemory-policy", policy, "--dir", rp->dir, (char *)NULL);
    _exit(127);
  }
  /* It says so once it listens (its log, watched with inotify); then one
   * blocking PING with a deadline. */
  {
    struct timeval tv = {2, 0};
    redisContext *c;
    redisReply *rep = NULL;
    int ok = 0;
    if (qrl_h_wait_lines(logf, "ready to accept connections", seen + 1, QRL_H_TIMEOUT_MS) ==
        0) {
      c = redisConnectUnixWithTimeout(rp->sock, tv);
      if (c && !c->err) redisSetTimeout(c, tv);
      if (c && !c->err && rp->password[0]) {
        rep = redisCommand(c, "AUTH %s", rp->password);
        if (rep) freeReplyObject(rep);
      }
      rep = c && !c->err ? redisCommand(c, "PING") : NULL;
      ok = rep && rep->type == REDIS_REPLY_STATUS;
      if (!ok) fprintf(stderr, "PING: %s\n", c && c->err ? c->errstr : "no PONG");
      if (rep) freeReplyObject(rep);
      if (c) redisFree(c);
    }
    if (!ok) {
      char cmd[300];
      fprintf(stderr, "redis-server did not come up:\n");
      snprintf(cmd, sizeof(cmd), "cat %s 1>&2", logf);
      if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
    }
    return ok ? 0 : -1;
  }
}

void qrl_h_redis_kill(qrl_h_redis *rp) {
  if (rp->pid > 0) {
    kill(rp->pid, SIGCONT);
    kill(rp->pid, SIGKILL);
    waitpid(rp->pid, NULL, 0);
  }
  rp->pid = -1;
}

void qrl_h_redis_cleanup(qrl_h_redis *rp) {
  char cmd[120];
  qrl_h_redis_kill(rp);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", rp->dir);
  if (rp->dir[0] && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", rp->dir);
  rp->dir[0] = '\0';
}

int qrl_h_otp_key(const char *dir, char *out, size_t n) {
  uint8_t key[32];
  int fd, ok;
  if ((size_t)snprintf(out, n, "%s/otp.key", dir) >= n) return -1;
  if (access(out, R_OK) == 0) return 0;
  if (qrl_random(key, sizeof(key))) return -1;
  fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ok = fd >= 0 && write(fd, key, sizeof(key)) == (ssize_t)sizeof(key);
  if (fd >= 0) close(fd);
  qrl_cleanse(key, sizeof(key));
  if (!ok) fprintf(stderr, "harness: cannot write %s\n", out);
  return ok ? 0 : -1;
}
