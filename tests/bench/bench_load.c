/*
 * bench_load.c - qrl_bench_load: issue 14's load benchmark ("Waiting
 * browsers at national scale"). It starts the server itself, pinned to one
 * core, and drives it from this single-threaded epoll client pinned to the
 * other (load_ws.c: raw RFC 6455, pings answered as a browser does).
 *
 *   qrl_bench_load browsers N [--secs S] [--frame-secs F] [--bare]
 *       Ramps N browser sockets (subprotocol qrlogin.browser.v1, the page's
 *       Origin) as fast as the server takes them, then for S seconds counts
 *       the QR frames each socket gets and the lag of each against its
 *       schedule, and reads the server's CPU time and RSS from /proc.
 *   qrl_bench_load logins [--secs S] [--citizens C] [--conc K] [--bare]
 *       QR logins end to end with phones already logged in (load_logins.c).
 *
 * --bare runs the same client against qrl_bench_bare (bare_server.c: plain
 * lws + libuv doing the transport part of the same work, with the message
 * sizes measured on qrlogind in this run) and prints qrlogind / bare: the
 * ratio holds on a noisy machine where the absolute figures do not.
 * --bare-no-ping runs the bare server without lws's ping and idle policy
 * (its cost apart); --bare-only skips qrlogind. --keep keeps the servers'
 * temporary directories (their logs). README "Load: waiting browsers and QR
 * logins" has the figures and what each one means. QRL_BENCH_QRLOGIND, if
 * set, names another qrlogind binary to run (a saved build, to compare
 * before and after in interleaved runs on a noisy machine).
 *
 * A frame's lag: frame k of a challenge is due k * F after the challenge was
 * minted (docs/protocol.md: the frame number counts steps since then; the
 * message carries no timestamp). Both servers mint it when the upgrade is
 * done, in the same step as the 101 is written, so the 101's arrival is the
 * client's clock for frame 0 (the `challenge` message itself may wait behind
 * other sockets' writes in a ramp). Frames due inside the measured S seconds
 * count; each may arrive up to 2 F after the window (later, it is lost).
 *
 * Exit status 0 once the figures are printed (goals met or not), 1 if the
 * bench could not run or no frame arrived at all, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "load_bench.h"
#include "load_ws.h"

#ifndef QRLOGIND_PATH
#error "QRLOGIND_PATH must be defined by the build"
#endif

#define SUBPROTO_BROWSER "qrlogin.browser.v1"
#define RAMP_LIMIT_MS 120000.0
#define RAMP_STALL_MS 20000.0 /* no challenge for this long: the ramp is over */

/* ---- shared helpers (load_bench.h) ------------------------------------------- */

static const char *const size_names[LB_NSIZES] = {
    "challenge", "frame", "scanned", "completed", "login_ok", "scan_ok",
    "confirm_ok", "logout", "session", "cookie"};

void lb_sizes_note(lb_sizes *s, const char *type, size_t len) {
  for (int i = 0; i < LB_NSIZES; i++)
    if (!strcmp(type, size_names[i])) s->v[i] = len;
}

void lb_sizes_arg(const lb_sizes *s, char *out, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < LB_NSIZES && used < n; i++)
    if (s->v[i])
      used += (size_t)snprintf(out + used, n - used, "%s%s=%zu", used ? "," : "",
                               size_names[i], s->v[i]);
}

int lb_start(lp_server *s, const lb_opts *o, int bare, const lb_sizes *sizes) {
  char frame[16], sms[128], sz[512];
  const char *argv[40];
  int n = 0;

  if (lp_prepare(s)) return -1;
  snprintf(frame, sizeof(frame), "%d", o->frame_secs);
  if (bare) {
    argv[n++] = QRL_BENCH_BARE_PATH;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--frame-secs";
    argv[n++] = frame;
    if (o->bare_no_ping) argv[n++] = "--no-ping";
    if (sizes) {
      lb_sizes_arg(sizes, sz, sizeof(sz));
      if (sz[0]) {
        argv[n++] = "--sizes";
        argv[n++] = sz;
      }
    }
  } else {
    snprintf(sms, sizeof(sms), "%s/sms-outbox.log", s->dir);
    /* The settings: throttles off, codes that outlive the run, and
     * the per-address caps off (the bench is a few addresses, not a city). */
    static const char *const fixed[] = {
        "--port", "0", "--bind", "127.0.0.1", "--web", QRL_WEB_DIR, "--demo",
        "--hash-cost", "10", "--no-rate-limits", "--challenge-ttl", "900",
        "--max-conns-per-ip", "0", "--max-challenges-per-ip", "10000000",
        "--max-challenges", "10000000", NULL};
    argv[n++] = getenv("QRL_BENCH_QRLOGIND") && *getenv("QRL_BENCH_QRLOGIND")
                    ? getenv("QRL_BENCH_QRLOGIND")
                    : QRLOGIND_PATH;
    for (int i = 0; fixed[i]; i++) argv[n++] = fixed[i];
    argv[n++] = "--db";
    argv[n++] = s->db;
    argv[n++] = "--sms-outbox";
    argv[n++] = sms;
    argv[n++] = "--qr-frame-secs";
    argv[n++] = frame;
  }
  argv[n] = NULL;
  if (lp_start(s, argv, o->cpu_server) == 0) return 0;
  lp_stop(s, o->keep);
  return -1;
}

int lb_stop(lp_server *s, const lb_opts *o, const char *name) {
  int st;
  if (o->keep) fprintf(stderr, "load: %s's directory kept: %s\n", name, s->dir);
  st = lp_stop(s, o->keep);
  if (st != 0) {
    fprintf(stderr, "load: %s exit status %d after SIGTERM (want 0)\n", name, st);
    if (!o->keep) fprintf(stderr, "load: (run with --keep to keep its log)\n");
  }
  return st;
}

double lb_pct(double *v, size_t n, double p) {
  size_t i;
  if (!n) return 0;
  qsort(v, n, sizeof(*v), bench_cmp_double);
  i = (size_t)ceil(p / 100.0 * (double)n);
  return v[i ? i - 1 : 0];
}

int lb_vec_push(lb_vec *a, double x) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 1024;
    double *nv = realloc(a->v, cap * sizeof(*nv));
    if (!nv) return -1;
    a->v = nv;
    a->cap = cap;
  }
  a->v[a->n++] = x;
  return 0;
}

long long lb_self_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void lb_print_machine(void) {
  char la[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(la, sizeof(la), f)) snprintf(la, sizeof(la), "?");
    la[strcspn(la, "\n")] = '\0';
    fclose(f);
  }
  printf("machine: %ld cores, load average %s\n", sysconf(_SC_NPROCESSORS_ONLN), la);
}

double lb_ratio(double a, double b) { return b != 0 ? a / b : 0; }

/* ---- the browsers mode -------------------------------------------------------- */

enum { B_CONNECTING, B_WAITING, B_GONE };

typedef struct browser {
  lw_conn *c;
  double t_conn; /* connect started */
  double t_open; /* the 101 arrived: the challenge was minted, frame 0 */
  uint8_t state;
} browser;

/* One run of N browsers against one server. */
typedef struct brun {
  const lb_opts *o;
  browser *b;      /* owned */
  lb_sizes sizes;
  double frame_ms;
  long opened, failed, inflight, dropped, errors, due, delivered;
  double t_last_open;
  double t_m0, t_m1; /* the measured window (t_m0 infinite until it starts) */
  lb_vec lag, conn_lat;
  char first_error[160];
} brun;

/* Figures of one run. */
typedef struct bres {
  long n, opened, failed, dropped, due, delivered;
  double cpu_pct, frames_pct, lag50, lag99, lagmax, ramp, rss_per_sock_kb;
  double conn50, conn99, cpu_us_per_conn, client_cpu_pct;
  long rss0, rss1, rss2;
  unsigned long long pings, pongs;
  int exit_status;
} bres;

/* The frames of browser x due inside the window: k in [*lo, *hi]. */
static void due_range(const brun *r, const browser *x, long *lo, long *hi) {
  double a = x->t_open;
  *lo = (long)ceil((r->t_m0 - a) / r->frame_ms);
  *hi = (long)floor((r->t_m1 - a) / r->frame_ms);
  if (*lo < 1) *lo = 1;
}

static void on_message(lw_conn *c, void *user, const char *msg, size_t len, void *arg) {
  brun *r = arg;
  browser *x = user;
  double now = lw_now_ms();
  cJSON *m = cJSON_ParseWithLength(msg, len);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
  const char *type = cJSON_IsString(t) ? t->valuestring : "";
  (void)c;

  lb_sizes_note(&r->sizes, type, len);
  if (!strcmp(type, "frame") && x->state == B_WAITING) {
    const cJSON *qr = cJSON_GetObjectItemCaseSensitive(m, "qr");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(qr, "frame");
    long k = cJSON_IsNumber(f) ? (long)f->valuedouble : -1, lo, hi;
    due_range(r, x, &lo, &hi);
    if (k >= lo && k <= hi) {
      r->delivered++;
      lb_vec_push(&r->lag, now - (x->t_open + (double)k * r->frame_ms));
    }
  } else if (!strcmp(type, "challenge") && x->state == B_CONNECTING) {
    x->state = B_WAITING;
    r->opened++;
    r->inflight--;
    r->t_last_open = now;
    lb_vec_push(&r->conn_lat, now - x->t_conn);
  } else {
    if (!r->errors++) snprintf(r->first_error, sizeof(r->first_error), "%.150s", msg);
    if (x->state == B_CONNECTING) { /* server_busy and the like: no QR */
      x->state = B_GONE;
      r->failed++;
      r->inflight--;
      lw_close(x->c);
    }
  }
  cJSON_Delete(m);
}

static void on_open(lw_conn *c, void *user, void *arg) {
  browser *x = user;
  (void)c;
  (void)arg;
  x->t_open = lw_now_ms();
}

static void on_closed(lw_conn *c, void *user, lw_why why, int status, int code, void *arg) {
  brun *r = arg;
  browser *x = user;
  (void)c;
  if (x->state == B_CONNECTING) {
    r->failed++;
    r->inflight--;
    if (!r->errors++)
      snprintf(r->first_error, sizeof(r->first_error),
               "connection ended before its challenge (why %d, HTTP %d, close %d)", (int)why,
               status, code);
  } else if (x->state == B_WAITING) {
    r->dropped++;
  }
  x->state = B_GONE;
}

/* Runs the loop for ms milliseconds. */
static void run_for(lw_loop *l, double ms) {
  double end = lw_now_ms() + ms;
  for (double now = lw_now_ms(); now < end; now = lw_now_ms())
    lw_run(l, (int)(end - now) + 1);
}

/* N browsers against the server s; the figures in *out. The loop (its
 * sockets still open) in *lp, for the caller to free once the server has
 * stopped. 0, or -1 if the bench itself failed. */
static int browsers_run(brun *r, const lp_server *s, bres *out, lw_loop **lp) {
  const lb_opts *o = r->o;
  lw_events ev = {.open = on_open, .message = on_message, .closed = on_closed};
  lw_loop *l = *lp = lw_loop_new(s->port, o->addrs, &ev, r);
  char origin[64];
  long next = 0;
  double t0, t_limit, grace_ms = 2.0 * r->frame_ms;
  long long cpu0, cpu_r, cpu1, self0, self1;
  int rc = -1;

  memset(out, 0, sizeof(*out));
  out->n = o->n;
  r->t_m0 = r->t_m1 = INFINITY;
  snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", s->port);
  if (!l || !(r->b = calloc((size_t)o->n, sizeof(*r->b)))) goto out;
  run_for(l, 300); /* let the fresh server settle before the first reading */
  out->rss0 = lp_rss_kb(s->pid);
  cpu_r = lp_cpu_ns(s->pid);

  /* The ramp: as fast as the server takes them, at most `window` in their
   * handshake at a time (beyond the listen backlog the kernel drops SYNs
   * and the client would be measuring its own retransmit timer). */
  t0 = r->t_last_open = lw_now_ms();
  t_limit = t0 + RAMP_LIMIT_MS;
  while (r->opened + r->failed < o->n && lw_now_ms() < t_limit &&
         lw_now_ms() - r->t_last_open < RAMP_STALL_MS) {
    while (next < o->n && r->inflight < o->window) {
      browser *x = &r->b[next++];
      x->t_conn = lw_now_ms();
      r->inflight++;
      if (!(x->c = lw_ws_connect(l, SUBPROTO_BROWSER, origin, x))) {
        x->state = B_GONE;
        r->failed++;
        r->inflight--;
      }
    }
    lw_run(l, 5);
  }
  if (r->opened + r->failed < o->n) {
    fprintf(stderr, "load: ramp given up after %.0f s: %ld of %ld sockets have their "
                    "challenge, %ld failed (the rest never got one)\n",
            (lw_now_ms() - t0) / 1e3, r->opened, o->n, r->failed);
    for (long i = 0; i < next; i++) /* still in their handshake: failed */
      if (r->b[i].state == B_CONNECTING) {
        lw_close(r->b[i].c);
        r->b[i].state = B_GONE;
      }
  }
  out->opened = r->opened;
  out->failed = o->n - r->opened;
  out->ramp = r->opened && r->t_last_open > t0 ? r->opened / ((r->t_last_open - t0) / 1e3) : 0;
  cpu0 = lp_cpu_ns(s->pid);
  out->cpu_us_per_conn = r->opened ? (double)(cpu0 - cpu_r) / 1e3 / (double)r->opened : 0;
  out->rss1 = lp_rss_kb(s->pid);

  /* The window. */
  self0 = lb_self_cpu_ns();
  r->t_m0 = lw_now_ms();
  r->t_m1 = r->t_m0 + o->secs * 1000.0;
  for (long i = 0; i < o->n; i++) {
    long lo, hi;
    if (r->b[i].state != B_WAITING) continue;
    due_range(r, &r->b[i], &lo, &hi);
    if (hi >= lo) r->due += hi - lo + 1;
  }
  run_for(l, r->t_m1 - lw_now_ms());
  cpu1 = lp_cpu_ns(s->pid);
  self1 = lb_self_cpu_ns();
  out->cpu_pct = (double)(cpu1 - cpu0) / 1e6 / (lw_now_ms() - r->t_m0) * 100.0;
  out->client_cpu_pct = (double)(self1 - self0) / 1e6 / (lw_now_ms() - r->t_m0) * 100.0;
  run_for(l, grace_ms); /* the window's last frames, if late */
  out->rss2 = lp_rss_kb(s->pid);

  out->due = r->due;
  out->delivered = r->delivered;
  out->dropped = r->dropped;
  out->frames_pct = r->due ? 100.0 * (double)r->delivered / (double)r->due : 0;
  out->lag50 = lb_pct(r->lag.v, r->lag.n, 50);
  out->lag99 = lb_pct(r->lag.v, r->lag.n, 99);
  out->lagmax = lb_pct(r->lag.v, r->lag.n, 100);
  out->conn50 = lb_pct(r->conn_lat.v, r->conn_lat.n, 50);
  out->conn99 = lb_pct(r->conn_lat.v, r->conn_lat.n, 99);
  out->rss_per_sock_kb =
      r->opened ? (double)(out->rss2 - out->rss0) / (double)r->opened : 0;
  out->pings = lw_get_stats(l).pings;
  out->pongs = lw_get_stats(l).pongs_sent;
  if (r->errors) fprintf(stderr, "load: %ld refusals or stray messages, the first: %s\n",
                         r->errors, r->first_error);
  rc = 0;
out:
  return rc;
}

/* Starts the server, runs, stops it. 0 or -1. */
static int browsers_one(const lb_opts *o, int bare, const lb_sizes *sizes, lb_sizes *seen,
                        bres *out) {
  const char *name = bare ? "qrl_bench_bare" : "qrlogind";
  lp_server s;
  lw_loop *l = NULL;
  brun r;
  int rc;

  memset(&r, 0, sizeof(r));
  r.o = o;
  r.frame_ms = o->frame_secs * 1000.0;
  lb_print_machine();
  if (lb_start(&s, o, bare, sizes)) return -1;
  rc = browsers_run(&r, &s, out, &l);
  /* The server stops before the client's sockets close: its exit status
   * says whether a shutdown with every socket open is clean. */
  out->exit_status = lb_stop(&s, o, name);
  lw_loop_free(l);
  if (seen) *seen = r.sizes;
  free(r.b);
  free(r.lag.v);
  free(r.conn_lat.v);
  return rc;
}

static void print_row(const char *name, const bres *x) {
  printf("%-10s %7ld %7.1f %9.2f %9.1f %9.1f %9.0f %10.2f %8ld\n", name, x->opened,
         x->cpu_pct, x->frames_pct, x->lag50, x->lag99, x->ramp, x->rss_per_sock_kb,
         x->dropped + x->failed);
}

static void print_details(const char *name, const bres *x) {
  printf("  %s: connect->challenge p50 %.1f ms p99 %.1f ms; server CPU %.0f us per connect "
         "(ramp); frames %ld of %ld due; lag max %.0f ms; failed %ld, dropped %ld; RSS "
         "%ld -> %ld (ramped) -> %ld KB; pings answered %llu; client CPU %.0f %%; exit %d\n",
         name, x->conn50, x->conn99, x->cpu_us_per_conn, x->delivered, x->due, x->lagmax,
         x->failed, x->dropped, x->rss0, x->rss1, x->rss2, x->pongs, x->client_cpu_pct,
         x->exit_status);
}

static const char *met(int ok) { return ok ? "met" : "NOT met"; }

static int browsers_mode(const lb_opts *o) {
  bres q, b;
  lb_sizes seen;
  char sz[512];

  printf("qrl_bench_load browsers %ld: %d s frames, %d s measured after the ramp, %d "
         "source addresses, %d handshakes in flight at most, client on CPU %d, server on "
         "CPU %d\n",
         o->n, o->frame_secs, o->secs, o->addrs, o->window, o->cpu_client, o->cpu_server);
  memset(&seen, 0, sizeof(seen));
  memset(&q, 0, sizeof(q));
  if (!o->bare_only && browsers_one(o, 0, NULL, &seen, &q)) return 1;
  if (o->bare && browsers_one(o, 1, o->bare_only ? NULL : &seen, NULL, &b)) return 1;
  lb_sizes_arg(&seen, sz, sizeof(sz));
  printf("message sizes (bytes, from qrlogind): %s\n", sz[0] ? sz : "none (bare: its defaults)");
  printf("%-10s %7s %7s %9s %9s %9s %9s %10s %8s\n", "server", "sockets", "CPU %",
         "frames %", "lag p50", "lag p99", "ramp", "RSS/sock", "dropped");
  printf("%-10s %7s %7s %9s %9s %9s %9s %10s %8s\n", "", "", "1 core", "delivered", "ms",
         "ms", "conn/s", "KB", "+failed");
  if (!o->bare_only) print_row("qrlogind", &q);
  if (o->bare) print_row(o->bare_no_ping ? "bare-nopng" : "bare", &b);
  if (o->bare && !o->bare_only) {
    printf("%-10s %7s %6.1fx %8.2fx %8.1fx %8.1fx %8.2fx %9.2fx %8s\n", "ratio", "",
           lb_ratio(q.cpu_pct, b.cpu_pct), lb_ratio(q.frames_pct, b.frames_pct),
           lb_ratio(q.lag50, b.lag50), lb_ratio(q.lag99, b.lag99), lb_ratio(q.ramp, b.ramp),
           lb_ratio(q.rss_per_sock_kb, b.rss_per_sock_kb), "");
  }
  if (!o->bare_only) print_details("qrlogind", &q);
  if (o->bare) print_details("bare", &b);
  if (o->bare_only) return b.delivered ? 0 : 1;
  printf("issue 14 goals for qrlogind: CPU <= 50 %% %s; frames >= 99 %% %s; lag p99 <= "
         "250 ms %s; no socket dropped %s; ramp >= 5000/s %s; RSS <= 2 KB/socket %s\n",
         met(q.cpu_pct <= 50), met(q.frames_pct >= 99), met(q.lag99 <= 250),
         met(q.dropped + q.failed == 0), met(q.ramp >= 5000), met(q.rss_per_sock_kb <= 2));
  if (!q.delivered || (o->bare && !b.delivered)) {
    fprintf(stderr, "load: no frame was delivered at all\n");
    return 1;
  }
  return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int usage(void) {
  fprintf(stderr,
          "usage: qrl_bench_load browsers N [--secs S] [--frame-secs F] [--bare]\n"
          "                      [--bare-no-ping] [--bare-only] [--addrs A] [--window W]\n"
          "                      [--keep]\n"
          "       qrl_bench_load logins [--secs S] [--citizens C] [--conc K] [--bare]\n"
          "                      [--frame-secs F] [--addrs A] [--keep]\n");
  return 2;
}

static int num(const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* The soft descriptor limit up to the hard one: the client holds N sockets. */
static long raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return (long)rl.rlim_cur;
}

int main(int argc, char **argv) {
  lb_opts o = {.secs = 20, .frame_secs = 2, .addrs = 16, .window = 256, .citizens = 64,
               .conc = 16};
  int browsers;
  long v, nofile;

  if (argc < 2) return usage();
  browsers = !strcmp(argv[1], "browsers");
  if (!browsers && strcmp(argv[1], "logins")) return usage();
  if (browsers && (argc < 3 || num(argv[2], 1, 1000000, &o.n))) return usage();
  if (!browsers) o.secs = 15;
  for (int i = browsers ? 3 : 2; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--bare")) o.bare = 1;
    else if (!strcmp(a, "--bare-no-ping")) o.bare = o.bare_no_ping = 1;
    else if (!strcmp(a, "--bare-only")) o.bare = o.bare_only = 1;
    else if (!strcmp(a, "--keep")) o.keep = 1;
    else if (!strcmp(a, "--secs") && !num(val, 1, 3600, &v)) o.secs = (int)v, i++;
    else if (!strcmp(a, "--frame-secs") && !num(val, 1, 60, &v)) o.frame_secs = (int)v, i++;
    else if (!strcmp(a, "--addrs") && !num(val, 1, 250, &v)) o.addrs = (int)v, i++;
    else if (!strcmp(a, "--window") && !num(val, 1, 100000, &v)) o.window = (int)v, i++;
    else if (!strcmp(a, "--citizens") && !num(val, 1, 99999, &v)) o.citizens = (int)v, i++;
    else if (!strcmp(a, "--conc") && !num(val, 1, 10000, &v)) o.conc = (int)v, i++;
    else return usage();
  }
  nofile = raise_nofile();
  if (browsers && nofile >= 0 && o.n + 64 > nofile) {
    fprintf(stderr, "load: %ld sockets need more descriptors than the limit %ld "
                    "(ulimit -Hn)\n", o.n, nofile);
    return 1;
  }
  lp_pick_cpus(&o.cpu_client, &o.cpu_server);
  if (lp_pin_self(o.cpu_client)) perror("load: sched_setaffinity");
  return browsers ? browsers_mode(&o) : lb_logins(&o);
}
