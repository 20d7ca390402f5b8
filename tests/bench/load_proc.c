/*
 * load_proc.c - see load_proc.h. The child is pinned before exec, so that
 * every thread it ever starts (qrlogind's workers, libuv's) inherits the
 * core: pinning the pid afterwards would move only its main thread.
 */
#define _GNU_SOURCE
#include "load_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_MS 30000
#define STOP_MS 60000

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lp_prepare(lp_server *s) {
  memset(s, 0, sizeof(*s));
  s->pid = -1;
  s->pidfd = s->out_fd = -1;
  snprintf(s->dir, sizeof(s->dir), "/tmp/qrl-load-XXXXXX");
  if (!mkdtemp(s->dir)) {
    perror("load: mkdtemp");
    return -1;
  }
  snprintf(s->db, sizeof(s->db), "%s/qrlogin.db", s->dir);
  snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
  return 0;
}

void lp_dump_log(const lp_server *s) {
  char buf[4096];
  size_t n;
  FILE *f = fopen(s->log, "r");
  if (!f) return;
  fprintf(stderr, "---- server log (%s) ----\n", s->log);
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) fwrite(buf, 1, n, stderr);
  fprintf(stderr, "---- end of log ----\n");
  fclose(f);
}

/* Waits for the exit up to ms (then SIGKILL). Status as lp_stop. */
static int reap(lp_server *s, int ms) {
  int st = 0, rc = -1;
  struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
  if (s->pid <= 0) return -1;
  if (s->pidfd >= 0 && poll(&p, 1, ms) == 0) {
    fprintf(stderr, "load: server %d did not exit in %d ms: killed\n", (int)s->pid, ms);
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
  } else if (waitpid(s->pid, &st, 0) == s->pid) {
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  }
  if (s->pidfd >= 0) close(s->pidfd);
  if (s->out_fd >= 0) close(s->out_fd);
  s->pidfd = s->out_fd = -1;
  s->pid = -1;
  return rc;
}

int lp_start(lp_server *s, const char *const *argv, int cpu) {
  int out[2] = {-1, -1}, logfd = -1, rc = -1;
  char line[512];
  size_t got = 0;
  int64_t deadline = mono_ms() + START_MS;

  if (pipe2(out, O_CLOEXEC) != 0) goto out;
  if ((logfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) goto out;
  if ((s->pid = fork()) < 0) goto out;
  if (s->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (cpu >= 0 && lp_pin_self(cpu) != 0) _exit(126);
    dup2(out[1], STDOUT_FILENO);
    dup2(logfd, STDERR_FILENO);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
  s->out_fd = out[0];
  out[0] = -1;
  for (;;) {
    struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
    int64_t left = deadline - mono_ms();
    ssize_t r;
    char *nl, *colon;
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
      fprintf(stderr, "load: %s did not say it was listening in time\n", argv[0]);
      break;
    }
    if ((r = read(s->out_fd, line + got, sizeof(line) - 1 - got)) <= 0) {
      fprintf(stderr, "load: %s exited before listening\n", argv[0]);
      break;
    }
    got += (size_t)r;
    line[got] = '\0';
    if (!(nl = strchr(line, '\n'))) {
      if (got == sizeof(line) - 1) break;
      continue;
    }
    *nl = '\0';
    if (strstr(line, "listening on http://") && (colon = strrchr(line, ':')))
      s->port = atoi(colon + 1);
    if (s->port > 0) rc = 0;
    else fprintf(stderr, "load: unexpected first line from %s: %s\n", argv[0], line);
    break;
  }
out:
  if (out[0] >= 0) close(out[0]);
  if (out[1] >= 0) close(out[1]);
  if (logfd >= 0) close(logfd);
  if (rc && s->pid > 0) {
    lp_dump_log(s);
    kill(s->pid, SIGKILL);
    reap(s, START_MS);
  }
  return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int lp_stop(lp_server *s, int keep) {
  int rc = -1;
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    rc = reap(s, STOP_MS);
  }
  if (s->dir[0] && !keep) nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}

/* utime + stime of the whole process, for kernels without schedstat. */
static int64_t stat_cpu_ns(pid_t pid) {
  char path[64], buf[1024], *p;
  unsigned long long ut = 0, st = 0;
  FILE *f;
  size_t n;
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (!(f = fopen(path, "r"))) return -1;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* after "(comm)": state is field 3, utime 14, stime 15 */
  if (!(p = strrchr(buf, ')')) ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (int64_t)((ut + st) * (1000000000.0 / (double)sysconf(_SC_CLK_TCK)));
}

int64_t lp_cpu_ns(pid_t pid) {
  char path[96];
  DIR *d;
  struct dirent *e;
  int64_t sum = 0;
  int seen = 0;
  snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
  if (!(d = opendir(path))) return -1;
  while ((e = readdir(d))) {
    unsigned long long run = 0;
    FILE *f;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
    if (!(f = fopen(path, "r"))) continue; /* a thread that just ended */
    if (fscanf(f, "%llu", &run) == 1) {
      sum += (int64_t)run;
      seen++;
    }
    fclose(f);
  }
  closedir(d);
  return seen ? sum : stat_cpu_ns(pid);
}

long lp_rss_kb(pid_t pid) {
  char path[64], line[256];
  long kb = -1;
  FILE *f;
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  if (!(f = fopen(path, "r"))) return -1;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6)) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

int lp_run(const char *const *argv) {
  int st = 0;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void lp_pick_cpus(int *client, int *server) {
  cpu_set_t set;
  int found = 0;
  *client = *server = -1;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
  for (int i = 0; i < CPU_SETSIZE && found < 2; i++) {
    if (!CPU_ISSET(i, &set)) continue;
    if (found++ == 0) *client = i;
    else *server = i;
  }
  if (*server < 0) *client = -1; /* one core: nothing to pin */
}

int lp_pin_self(int cpu) {
  cpu_set_t set;
  if (cpu < 0) return 0;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set);
}
