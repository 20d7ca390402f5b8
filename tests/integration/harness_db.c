/*
 * harness_db.c - the harness's databases (harness.h): a PostgreSQL cluster
 * per server with QRL_H_PG=1, and qrl_h_sql() on either engine.
 */
#include "harness.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int qrl_h_on_pg(void) {
  const char *v = getenv("QRL_H_PG");
  return v && !strcmp(v, "1");
}

/* Runs argv (as the postgres user when root), output to log. Its exit
 * status, or -1. */
static int run(const char *const *argv, const char *log) {
  const char *full[24];
  int n = 0, status;
  pid_t pid;
  if (geteuid() == 0) {
    full[n++] = "runuser";
    full[n++] = "-u";
    full[n++] = "postgres";
    full[n++] = "--";
  }
  for (int i = 0; argv[i] && n < 23; i++) full[n++] = argv[i];
  full[n] = NULL;
  if ((pid = fork()) < 0) return -1;
  if (pid == 0) {
    FILE *f = fopen(log, "a");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    execvp(full[0], (char *const *)full);
    _exit(127);
  }
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Prints the cluster's setup and server logs to stderr. */
static void pg_show_logs(const qrl_h_pg *pg) {
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "cat %s/setup.log %s/pg.log 1>&2", pg->dir, pg->dir);
  if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
}

/* pg->dir/data: a copy of the template cluster QRL_H_PG_TEMPLATE names
 * (tests/pg_template.sh, run once per ctest run as a fixture), or initdb. */
static int pg_make(const char *data, const char *setup) {
  const char *tmpl = getenv("QRL_H_PG_TEMPLATE");
  char from[300], version[320];
  struct stat st;
  if (tmpl && *tmpl) {
    snprintf(from, sizeof(from), "%s/data", tmpl);
    snprintf(version, sizeof(version), "%s/PG_VERSION", from);
    if (stat(version, &st) == 0) {
      const char *cp[] = {"cp", "-a", from, data, NULL};
      return run(cp, setup);
    }
    fprintf(stderr, "harness: no template cluster in %s, running initdb\n", tmpl);
  }
  {
    const char *initdb[] = {QRL_PG_BINDIR "/initdb", "-D", data, "-U", "qrl", "--auth=trust",
                            "-E", "UTF8", "--locale=C.UTF-8", "-N", NULL};
    return run(initdb, setup);
  }
}

/* Starts postgres on pg->dir (made first if init) as this process's child,
 * which dies with it (SIGQUIT: PostgreSQL's immediate shutdown), and waits
 * until it answers. */
static int pg_up(qrl_h_pg *pg, int init) {
  char data[128], log[128], setup[128];
  struct timespec t0, now;
  int watch, pidfd, rc = 0;
  pid_t pid;
  snprintf(data, sizeof(data), "%s/data", pg->dir);
  snprintf(log, sizeof(log), "%s/pg.log", pg->dir); /* the server's, its own file */
  snprintf(setup, sizeof(setup), "%s/setup.log", pg->dir); /* initdb's or cp's */
  if (init && pg_make(data, setup) != 0) {
    fprintf(stderr, "harness: the PostgreSQL cluster could not be made:\n");
    pg_show_logs(pg);
    return -1;
  }
  /* Watched before the start, so that no change is missed. */
  watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (watch >= 0 &&
      (inotify_add_watch(watch, data, IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0 ||
       inotify_add_watch(watch, pg->dir, IN_CREATE) < 0)) {
    close(watch);
    watch = -1;
  }
  if ((pid = fork()) < 0) {
    if (watch >= 0) close(watch);
    return -1;
  }
  if (pid == 0) {
    static const char *const settings[] = {"listen_addresses=", "fsync=off",
                                           "full_page_writes=off", "synchronous_commit=off",
                                           "shared_buffers=16MB"};
    const char *argv[32];
    int n = 0, fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (geteuid() == 0) {
      /* postgres refuses root. setpriv sets the parent-death signal again
       * after the change of user (which clears it) and execs. */
      argv[n++] = "setpriv";
      argv[n++] = "--reuid=postgres";
      argv[n++] = "--regid=postgres";
      argv[n++] = "--clear-groups";
      argv[n++] = "--pdeathsig=QUIT";
      argv[n++] = "--";
    } else {
      prctl(PR_SET_PDEATHSIG, SIGQUIT);
    }
    argv[n++] = QRL_PG_BINDIR "/postgres";
    argv[n++] = "-D";
    argv[n++] = data;
    argv[n++] = "-k";
    argv[n++] = pg->dir;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
      argv[n++] = "-c";
      argv[n++] = settings[i];
    }
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  pg->pid = pid;
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  /* Until it answers (PQping, as pg_ctl -w does), or exits, or 120 s:
   * asked again each time its directories change (postmaster.pid says
   * "ready", the socket appears) or it exits (its pidfd). */
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct pollfd pf[2] = {{watch, POLLIN, 0}, {pidfd, POLLIN, 0}};
    long left;
    if (PQping(pg->url) == PQPING_OK) break;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left = 120000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
    if (left <= 0 || pidfd < 0 || watch < 0 ||
        poll(pf, 2, (int)left) < 0 || (pf[1].revents & POLLIN)) {
      int status;
      int exited = waitpid(pid, &status, WNOHANG) == pid;
      fprintf(stderr, "harness: PostgreSQL %s:\n",
              exited ? "exited while starting" : "did not answer in 120 s");
      pg_show_logs(pg);
      if (!exited) {
        kill(pid, SIGQUIT);
        waitpid(pid, &status, 0);
      }
      pg->pid = -1;
      rc = -1;
      break;
    }
    if (pf[0].revents & POLLIN) {
      char ev[4096];
      if (read(watch, ev, sizeof(ev)) < 0) { /* drained; the next ping tells */ }
    }
  }
  if (watch >= 0) close(watch);
  if (pidfd >= 0) close(pidfd);
  if (rc) return rc;
  pg->up = 1;
  return 0;
}

/* Stops postgres with sig (SIGINT: fast shutdown; SIGQUIT: immediate) and
 * waits for it. 0 if it exited. */
static int pg_down(qrl_h_pg *pg, int sig) {
  int status;
  if (!pg->up || pg->pid <= 0) return -1;
  if (kill(pg->pid, sig) != 0 || waitpid(pg->pid, &status, 0) != pg->pid) return -1;
  pg->pid = -1;
  pg->up = 0;
  return 0;
}

int qrl_h_pg_start(qrl_h_pg *pg) {
  memset(pg, 0, sizeof(*pg));
  pg->pid = -1;
  snprintf(pg->dir, sizeof(pg->dir), "/tmp/qrl-pg-XXXXXX");
  if (!mkdtemp(pg->dir)) return -1;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw || chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0) {
      fprintf(stderr, "harness: no postgres user to run PostgreSQL as\n");
      return -1;
    }
  }
  snprintf(pg->url, sizeof(pg->url), "postgresql:///postgres?host=%s&user=qrl", pg->dir);
  return pg_up(pg, 1);
}

int qrl_h_pg_halt(qrl_h_pg *pg) { return pg_down(pg, SIGINT); }

int qrl_h_pg_resume(qrl_h_pg *pg) { return pg->up ? -1 : pg_up(pg, 0); }

void qrl_h_pg_cleanup(qrl_h_pg *pg) {
  char cmd[120];
  if (!pg->dir[0]) return;
  if (pg->up && pg_down(pg, SIGQUIT) != 0)
    fprintf(stderr, "harness: PostgreSQL (pid %d) did not stop\n", (int)pg->pid);
  pg->up = 0;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", pg->dir);
  if (!getenv("QRL_KEEP_TMP") && system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", pg->dir);
  pg->dir[0] = '\0';
}

/* ---- qrl_h_sql ------------------------------------------------------------- */

#define MAXP 9

typedef struct param {
  char kind;
  const char *text; /* 't' */
  int64_t num;      /* 'i' */
  const void *blob; /* 'b' */
  size_t len;
} param;

static void keep(char *text, size_t cap, const char *v) {
  if (text && cap) snprintf(text, cap, "%s", v ? v : "");
}

static int64_t on_sqlite(const char *path, char *text, size_t cap, const char *sql,
                         const param *p, int np) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t out = -2;
  int r, rows = 0;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) goto done;
  sqlite3_busy_timeout(db, QRL_H_TIMEOUT_MS);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto done;
  for (int i = 0; i < np; i++) {
    if (p[i].kind == 'i') sqlite3_bind_int64(st, i + 1, p[i].num);
    else if (p[i].kind == 'b') sqlite3_bind_blob(st, i + 1, p[i].blob, (int)p[i].len, SQLITE_TRANSIENT);
    else if (p[i].text) sqlite3_bind_text(st, i + 1, p[i].text, -1, SQLITE_TRANSIENT);
  }
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    rows++;
    out = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    keep(text, cap, (const char *)sqlite3_column_text(st, 0));
  }
  if (r != SQLITE_DONE) out = -2;
  else if (!rows) out = sqlite3_changes(db);
done:
  if (out == -2) fprintf(stderr, "qrl_h_sql: %s: %s\n", db ? sqlite3_errmsg(db) : "?", sql);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

static int64_t on_pg(const char *url, char *text, size_t cap, const char *sql,
                     const param *p, int np) {
  const char *vals[MAXP];
  char nums[MAXP][24], pgsql[4096];
  int lens[MAXP], fmts[MAXP];
  Oid types[MAXP];
  size_t o = 0;
  int64_t out = -2;
  PGconn *c = PQconnectdb(url);
  PGresult *r = NULL;

  /* ?N stays N, a plain ? is the next: as $N. */
  for (int next = 1; *sql && o + 4 < sizeof(pgsql); sql++) {
    if (*sql != '?') { pgsql[o++] = *sql; continue; }
    pgsql[o++] = '$';
    if (sql[1] >= '1' && sql[1] <= '9') continue;
    pgsql[o++] = (char)('0' + next++);
  }
  pgsql[o] = '\0';
  for (int i = 0; i < np; i++) {
    lens[i] = fmts[i] = 0;
    if (p[i].kind == 'i') {
      snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)p[i].num);
      vals[i] = nums[i];
      types[i] = 20;
    } else if (p[i].kind == 'b') {
      vals[i] = p[i].blob;
      lens[i] = (int)p[i].len;
      fmts[i] = 1;
      types[i] = 17;
    } else {
      vals[i] = p[i].text;
      types[i] = 25;
    }
  }
  if (PQstatus(c) != CONNECTION_OK) goto done;
  r = PQexecParams(c, pgsql, np, types, vals, lens, fmts, 0);
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) {
    int last = PQntuples(r) - 1;
    const char *v = PQgetisnull(r, last, 0) ? NULL : PQgetvalue(r, last, 0);
    out = !v ? -1 : PQftype(r, 0) == 16 ? v[0] == 't' : strtoll(v, NULL, 10);
    keep(text, cap, v);
  } else if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
    out = strtoll(PQcmdTuples(r), NULL, 10);
  }
done:
  if (out == -2) fprintf(stderr, "qrl_h_sql: %s: %s\n", PQerrorMessage(c), pgsql);
  PQclear(r);
  PQfinish(c);
  return out;
}

int64_t qrl_h_sql(const qrl_h_server *s, char *text, size_t cap, const char *sql,
                  const char *fmt, ...) {
  param p[MAXP];
  int np = 0;
  va_list ap;
  keep(text, cap, NULL);
  va_start(ap, fmt);
  for (; fmt && *fmt && np < MAXP; fmt++, np++) {
    memset(&p[np], 0, sizeof(p[np]));
    p[np].kind = *fmt;
    if (*fmt == 'i') p[np].num = va_arg(ap, int64_t);
    else if (*fmt == 'b') {
      p[np].blob = va_arg(ap, const void *);
      p[np].len = va_arg(ap, size_t);
    } else p[np].text = va_arg(ap, const char *);
  }
  va_end(ap);
  return s->pg.dir[0] ? on_pg(s->db, text, cap, sql, p, np) : on_sqlite(s->db, text, cap, sql, p, np);
}
