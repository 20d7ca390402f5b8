/*
 * admin_run.h - runs the real qrlogin-admin on a test server's database and
 * keeps what it printed, for the integration tests of its commands. The
 * test's CMake target defines QRLOGIN_ADMIN_PATH (tests/CMakeLists.txt).
 */
#ifndef QRL_TEST_ADMIN_RUN_H
#define QRL_TEST_ADMIN_RUN_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef QRLOGIN_ADMIN_PATH
#error "QRLOGIN_ADMIN_PATH must be defined by the build"
#endif

/* What one run printed: stdout and stderr, each cut to fit. */
typedef struct qrl_admin_out {
  char out[8192];
  char err[2048];
} qrl_admin_out;

/* Reads file path into buf (cap bytes, NUL-terminated). */
static inline void qrl_admin_slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
}

/* Runs qrlogin-admin --db <s->db> ARGS... (NULL-terminated) with stdout and
 * stderr in o (may be NULL). Returns its exit status, or -1. */
static inline int qrl_admin_run(const qrl_h_server *s, qrl_admin_out *o, ...) {
  const char *argv[40];
  char outp[400], errp[400];
  int argc = 0, st = 0;
  pid_t pid;
  va_list ap;
  const char *a;
  argv[argc++] = QRLOGIN_ADMIN_PATH;
  argv[argc++] = "--db";
  argv[argc++] = s->db;
  va_start(ap, o);
  while ((a = va_arg(ap, const char *)) && argc < 39) argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  qrl_h_path(s, "admin.out", outp, sizeof(outp));
  qrl_h_path(s, "admin.err", errp, sizeof(errp));
  if ((pid = fork()) == 0) {
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fo < 0 || fe < 0) _exit(126);
    dup2(fo, STDOUT_FILENO);
    dup2(fe, STDERR_FILENO);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
  if (o) {
    qrl_admin_slurp(outp, o->out, sizeof(o->out));
    qrl_admin_slurp(errp, o->err, sizeof(o->err));
  }
  unlink(outp);
  unlink(errp);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif /* QRL_TEST_ADMIN_RUN_H */
