/*
 * load_proc.h - the load benchmark's server processes: start one pinned to
 * a core in a temporary directory, learn its port, read its CPU time and
 * resident memory from /proc, stop it.
 *
 * The server is any program that prints "...listening on
 * http://127.0.0.1:PORT/" on stdout once ready (qrlogind and qrl_bench_bare
 * both do). Its stderr goes to DIR/server.log. It dies with the bench
 * (PR_SET_PDEATHSIG). Linux only.
 */
#ifndef QRL_BENCH_LOAD_PROC_H
#define QRL_BENCH_LOAD_PROC_H

#include <stdint.h>
#include <sys/types.h>

typedef struct lp_server {
  pid_t pid;
  int pidfd;
  int out_fd;      /* its stdout (read end) */
  int port;
  char dir[64];    /* temporary directory, removed by lp_stop */
  char db[128];    /* dir/qrlogin.db */
  char log[128];   /* dir/server.log */
} lp_server;

/* Makes the temporary directory and fills dir, db and log. 0 or -1. */
int lp_prepare(lp_server *s);

/* Runs argv (argv[0] a path) with the environment as is, pinned to CPU cpu
 * (-1: not pinned) along with every thread it starts, and waits up to
 * 30 s for its "listening on" line. 0, or -1 (its log is printed). */
int lp_start(lp_server *s, const char *const *argv, int cpu);

/* SIGTERM, then waits up to 60 s. Returns its exit status, 128+signal, or
 * -1 (it was then killed). Removes the directory unless keep is set. */
int lp_stop(lp_server *s, int keep);

/* Prints the server's log to stderr. */
void lp_dump_log(const lp_server *s);

/* CPU time of every thread of pid so far, in nanoseconds (schedstat; the
 * utime+stime of /proc/PID/stat where there is none). -1 if unreadable. */
int64_t lp_cpu_ns(pid_t pid);

/* Resident memory of pid (VmRSS) in KiB, or -1. */
long lp_rss_kb(pid_t pid);

/* Runs argv to the end with stdout on /dev/null. Its exit status, or -1. */
int lp_run(const char *const *argv);

/* The CPUs this process may use: the first in *client, the second in
 * *server (-1 if there is only one). */
void lp_pick_cpus(int *client, int *server);

/* Pins the calling thread to cpu (-1: nothing). 0 or -1. */
int lp_pin_self(int cpu);

#endif /* QRL_BENCH_LOAD_PROC_H */
