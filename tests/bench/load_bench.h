/*
 * load_bench.h - what the two modes of qrl_bench_load share
 * (bench_load.c: options, servers, the browsers mode; load_logins.c: the
 * logins mode).
 */
#ifndef QRL_BENCH_LOAD_BENCH_H
#define QRL_BENCH_LOAD_BENCH_H

#include <stddef.h>

#include "load_proc.h"

typedef struct lb_opts {
  long n;          /* browsers: sockets */
  int secs;        /* seconds measured */
  int frame_secs;  /* the QR frame period */
  int bare;        /* also run the bare server and print the ratio */
  int bare_no_ping; /* ... without lws's ping and idle policy (--no-ping) */
  int bare_only;   /* the bare server alone (its default message sizes) */
  int addrs;       /* loopback source addresses */
  int window;      /* browsers: connections in their handshake at most */
  int citizens;    /* logins: phones logged in before each timed batch */
  int conc;        /* logins: logins in flight */
  int keep;        /* keep the servers' directories (logs) */
  int cpu_client, cpu_server; /* -1: not pinned */
} lb_opts;

/* The messages whose sizes the bare server copies (its --sizes names). */
enum {
  LB_CHALLENGE, LB_FRAME, LB_SCANNED, LB_COMPLETED, LB_LOGIN_OK, LB_SCAN_OK,
  LB_CONFIRM_OK, LB_LOGOUT, LB_SESSION, LB_COOKIE, LB_NSIZES
};

/* The newest size seen of each message, 0 if none was seen. */
typedef struct lb_sizes {
  size_t v[LB_NSIZES];
} lb_sizes;

/* Notes a message of the given type (a name above) and length. */
void lb_sizes_note(lb_sizes *s, const char *type, size_t len);

/* Writes "name=bytes,..." of the sizes seen (for --sizes) to out. */
void lb_sizes_arg(const lb_sizes *s, char *out, size_t n);

/* Starts qrlogind (bare 0: temporary database, --demo, throttles off,
 * caps off) or qrl_bench_bare (bare 1, with sizes, may be NULL) on a free
 * port, pinned to o->cpu_server. 0 or -1. */
int lb_start(lp_server *s, const lb_opts *o, int bare, const lb_sizes *sizes);

/* Stops it and says so if it did not exit cleanly. Its exit status. */
int lb_stop(lp_server *s, const lb_opts *o, const char *name);

/* The p-th percentile (0..100) of v[0..n), which it sorts; 0 if n is 0. */
double lb_pct(double *v, size_t n, double p);

/* A growable array of doubles. */
typedef struct lb_vec {
  double *v;
  size_t n, cap;
} lb_vec;

/* Appends x. 0 or -1 (out of memory). */
int lb_vec_push(lb_vec *a, double x);

/* The process's own CPU time so far, in nanoseconds. */
long long lb_self_cpu_ns(void);

/* Prints the machine's load average and core count (a shared machine's
 * figures are noisy: the line says how noisy). */
void lb_print_machine(void);

/* "qrlogind / bare" of a and b (0 when b is 0). */
double lb_ratio(double a, double b);

/* The logins mode (load_logins.c). Exit status: 0, or 1 if it could not run
 * or no login succeeded. */
int lb_logins(const lb_opts *o);

#endif /* QRL_BENCH_LOAD_BENCH_H */
