/*
 * bench_multinode.c - qrl_bench_multinode: what sharing the challenge store
 * through Redis costs and gives (issue 13), on this machine, in three
 * set-ups run one after the other:
 *
 *   mem    one qrlogind, its in-memory store (the embedded default)
 *   redis1 one qrlogind on Redis (--redis)
 *   redis2 two qrlogind on one Redis and one database file, every login
 *          crossing nodes: the page on one, the phone on the other
 *   pg1    mem on PostgreSQL (--db postgresql://, a cluster of its own)
 *   pg2    redis2 on PostgreSQL: the many-node set-up of docs/multinode.md
 *
 * For each: (1) one login at a time, each step timed - the page's code
 * (connect -> `challenge`), the scan (-> `scan_ok`), the confirm (->
 * `completed` on the page), the code exchange (-> cookie) - so the Redis
 * round trips show as added latency; (2) logins/s with --conc client
 * processes, each its own citizen, logging in again and again for --secs
 * (an app login before each: a completed login logs the phone out; not
 * timed); (3) Redis commands per login (INFO commandstats, before and
 * after) and Redis memory per waiting page (--pages pages held open).
 *
 *   qrl_bench_multinode [--rounds N] [--conc K] [--secs S] [--pages P]
 *                       [--only NAME[,NAME...]]
 *
 * All processes share this machine's cores (the README says how many):
 * two nodes on two cores are not two machines. Figures only, not a test.
 */
#define _GNU_SOURCE
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "admin_run.h"
#include "harness.h"

#define PASSWORD "MatKhau@2024"

typedef struct opts {
  int rounds, conc, secs, pages;
} opts;

typedef struct setup {
  const char *name;
  int redis, nodes, pg;
  qrl_h_redis r;
  qrl_h_pg p;
  qrl_h_server n[2];
  char dir[64], db[256], key[128];
} setup;

static double pct(double *v, int n, int p) {
  qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
  return n ? v[(n - 1) * p / 100] : 0;
}

static int setup_start(setup *s) {
  snprintf(s->dir, sizeof(s->dir), "/tmp/qrl-bmn-XXXXXX");
  if (!mkdtemp(s->dir)) return -1;
  snprintf(s->db, sizeof(s->db), "%s/shared.db", s->dir);
  if (s->pg) {
    if (qrl_h_pg_start(&s->p)) return -1;
    snprintf(s->db, sizeof(s->db), "%s", s->p.url);
  }
  if (qrl_h_otp_key(s->dir, s->key, sizeof(s->key))) return -1;
  if (s->redis && qrl_h_redis_start(&s->r, "noeviction")) return -1;
  for (int i = 0; i < s->nodes; i++) {
    char id[16];
    const char *with[] = {"--db",  s->db,  "--redis", s->r.url, "--node-id", id,
                          "--otp-key-file", s->key,
                          "--no-rate-limits", "--workers", "2", "--max-challenges-per-ip",
                          "100000", "--max-conns-per-ip", "0", NULL};
    const char *without[] = {"--db", s->db, "--no-rate-limits", "--workers", "2",
                             "--max-challenges-per-ip", "100000", "--max-conns-per-ip", "0",
                             NULL};
    snprintf(id, sizeof(id), "n%d", i);
    if (qrl_h_start(&s->n[i], s->redis ? with : without)) return -1;
  }
  return 0;
}

static void setup_stop(setup *s) {
  char cmd[120];
  for (int i = 0; i < s->nodes; i++) qrl_h_stop(&s->n[i]);
  if (s->redis) qrl_h_redis_cleanup(&s->r);
  qrl_h_pg_cleanup(&s->p);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", s->dir);
}

/* One login: the page on pg, the phone (logged in here, not timed) on ph.
 * The four steps' times in t[4] (may be NULL). 0 or -1. */
static int one_login(const qrl_h_server *pg, const qrl_h_server *ph, const char *id,
                     double t[4]) {
  cJSON *ch = NULL, *m = NULL;
  qrl_wsc *br = NULL;
  qrl_h_phone p;
  qrl_qr_payload qp;
  char f[160], body[256];
  double t0, t1;
  int rc = -1;

  memset(&p, 0, sizeof(p));
  if (qrl_h_phone_login(ph, &p, id, PASSWORD, NULL)) goto out;
  t0 = bench_now_ms();
  if (!(br = qrl_h_browser(pg, &ch)) || qrl_h_challenge_payload(ch, &qp)) goto out;
  t1 = bench_now_ms();
  if (t) t[0] = t1 - t0;
  snprintf(f, sizeof(f), "\"qr\":\"%s\"",
           qrl_h_str(cJSON_GetObjectItemCaseSensitive(ch, "qr"), "payload"));
  m = qrl_h_phone_call(&p, "scan", f);
  if (!m || strcmp(qrl_h_type(m), "scan_ok")) goto out;
  cJSON_Delete(m);
  m = NULL;
  t0 = bench_now_ms();
  if (t) t[1] = t0 - t1;
  {
    int num = qrl_h_scanned_number(br);
    t0 = bench_now_ms();
    m = qrl_h_phone_decide(&p, &qp, pg->http, (int64_t)time(NULL), num,
                           QRL_DECISION_CONFIRM);
  }
  if (!m || strcmp(qrl_h_type(m), "confirm_ok")) goto out;
  cJSON_Delete(m);
  if (!(m = qrl_h_expect(br, "completed", QRL_H_TIMEOUT_MS))) goto out;
  t1 = bench_now_ms();
  if (t) t[2] = t1 - t0;
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", qrl_h_str(m, "code"),
           qrl_h_str(ch, "binding"));
  if (qrl_h_http(ph, "POST", "/api/session", ph->http, NULL, body, NULL, NULL) != 200)
    goto out;
  if (t) t[3] = bench_now_ms() - t1;
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench: a login of %s failed: %s\n", id,
                  m ? qrl_h_errcode(m) : br ? "no answer" : "no page");
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  qrl_h_phone_close(&p);
  return rc;
}

/* Redis' total commands so far (INFO commandstats), or -1. */
static long long redis_calls(const qrl_h_redis *r, long long *mem) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectUnixWithTimeout(r->sock, tv);
  redisReply *rep;
  long long total = -1;
  if (!c || c->err) goto out;
  if ((rep = redisCommand(c, "INFO commandstats")) && rep->type == REDIS_REPLY_STRING) {
    total = 0;
    for (const char *p = rep->str; (p = strstr(p, "calls=")); p += 6)
      total += atoll(p + 6);
  }
  if (rep) freeReplyObject(rep);
  rep = NULL;
  if (mem && (rep = redisCommand(c, "INFO memory")) && rep->type == REDIS_REPLY_STRING) {
    const char *p = strstr(rep->str, "used_memory:");
    *mem = p ? atoll(p + 12) : -1;
  }
  if (rep) freeReplyObject(rep);
out:
  if (c) redisFree(c);
  return total;
}

/* The round trips the nodes' stores have made to Redis so far (their
 * /metrics), or -1. */
static long long store_calls(const setup *s) {
  long long total = 0;
  for (int i = 0; i < s->nodes; i++) {
    char *body = NULL;
    const char *p;
    if (qrl_h_http(&s->n[i], "GET", "/metrics", NULL, NULL, NULL, &body, NULL) != 200 ||
        !(p = strstr(body, "\nqrlogin_store_redis_calls_total "))) {
      free(body);
      return -1;
    }
    total += atoll(p + strlen("\nqrlogin_store_redis_calls_total "));
    free(body);
  }
  return total;
}

/* (2): K processes logging in for S seconds. Logins done, latencies kept. */
static long throughput(setup *s, const opts *o, double *secs) {
  int fds[64][2];
  pid_t pid[64];
  long total = 0;
  double t0 = bench_now_ms();
  for (int k = 0; k < o->conc; k++) {
    if (pipe(fds[k])) return -1;
    if ((pid[k] = fork()) == 0) {
      char id[16];
      long n = 0;
      double until = bench_now_ms() + o->secs * 1000.0;
      snprintf(id, sizeof(id), "0011%08d", k + 1);
      while (bench_now_ms() < until) {
        const qrl_h_server *pg = &s->n[n % s->nodes], *ph = &s->n[(n + 1) % s->nodes];
        if (one_login(pg, ph, id, NULL)) _exit(1);
        n++;
      }
      if (write(fds[k][1], &n, sizeof(n)) != sizeof(n)) _exit(1);
      _exit(0);
    }
    close(fds[k][1]);
  }
  for (int k = 0; k < o->conc; k++) {
    long n = 0;
    int st = 0;
    if (read(fds[k][0], &n, sizeof(n)) == sizeof(n)) total += n;
    close(fds[k][0]);
    waitpid(pid[k], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fprintf(stderr, "bench: client %d failed\n", k);
  }
  *secs = (bench_now_ms() - t0) / 1000.0;
  return total;
}

static int run(setup *s, const opts *o) {
  double *t[4];
  double secs = 0;
  long long c0 = 0, c1 = 0, m0 = 0, m1 = 0, r0 = 0, r1 = 0;
  long logins;
  int rc = -1;

  for (int i = 0; i < 4; i++) t[i] = calloc((size_t)o->rounds, sizeof(double));
  if (setup_start(s)) goto out;
  for (int k = 0; k < o->conc; k++) {
    qrl_h_server shared = s->n[0]; /* qrlogin-admin on the nodes' database */
    char id[16], tel[16];
    snprintf(shared.db, sizeof(shared.db), "%s", s->db);
    snprintf(id, sizeof(id), "0011%08d", k + 1);
    snprintf(tel, sizeof(tel), "09%08d", k + 1);
    if (qrl_admin_run(&shared, NULL, "--hash-cost", "10", "citizen", "add", "--id", id,
                      "--name", "Công dân thử tải", "--level", "2", "--phone", tel,
                      "--password", PASSWORD, "--passcode", "123456", "--web-login", "on",
                      NULL) != 0)
      goto out;
  }
  for (int i = 0; i < o->rounds; i++) {
    double st[4];
    if (one_login(&s->n[i % s->nodes], &s->n[(i + 1) % s->nodes], "001100000001", st))
      goto out;
    for (int j = 0; j < 4; j++) t[j][i] = st[j];
  }
  if (s->redis) c0 = redis_calls(&s->r, NULL), r0 = store_calls(s);
  logins = throughput(s, o, &secs);
  if (s->redis) c1 = redis_calls(&s->r, NULL), r1 = store_calls(s);
  printf("%-7s one at a time (p50 / p99 ms): code %.2f / %.2f  scan %.2f / %.2f  "
         "confirm->page %.2f / %.2f  exchange %.2f / %.2f\n",
         s->name, pct(t[0], o->rounds, 50), pct(t[0], o->rounds, 99), pct(t[1], o->rounds, 50),
         pct(t[1], o->rounds, 99), pct(t[2], o->rounds, 50), pct(t[2], o->rounds, 99),
         pct(t[3], o->rounds, 50), pct(t[3], o->rounds, 99));
  printf("%-7s %d clients: %ld logins in %.1f s = %.1f logins/s", s->name, o->conc, logins,
         secs, logins / secs);
  if (s->redis && logins > 0)
    printf("; per login: %.1f round trips to Redis, %.1f Redis commands run (inside "
           "scripts too; heartbeats included)",
           (double)(r1 - r0) / (double)logins, (double)(c1 - c0) / (double)logins);
  printf("\n");
  if (s->redis && o->pages > 0) {
    qrl_wsc **br = calloc((size_t)o->pages, sizeof(*br));
    int opened = 0;
    redis_calls(&s->r, &m0);
    for (; br && opened < o->pages; opened++) {
      cJSON *ch = NULL;
      if (!(br[opened] = qrl_h_browser(&s->n[opened % s->nodes], &ch))) break;
      cJSON_Delete(ch);
    }
    redis_calls(&s->r, &m1);
    printf("%-7s %d waiting pages: Redis memory %.0f bytes per page\n", s->name, opened,
           opened ? (double)(m1 - m0) / opened : 0);
    for (int i = 0; br && i < opened; i++) qrl_wsc_free(br[i]);
    free(br);
  }
  fflush(stdout);
  rc = 0;
out:
  setup_stop(s);
  for (int i = 0; i < 4; i++) free(t[i]);
  return rc;
}

static int num(const char *s, int lo, int hi, int *out) {
  char *end;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || *end || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

int main(int argc, char **argv) {
  opts o = {100, 4, 10, 1000};
  const char *only = NULL;
  setup setups[] = {{.name = "mem", .nodes = 1},
                    {.name = "redis1", .redis = 1, .nodes = 1},
                    {.name = "redis2", .redis = 1, .nodes = 2},
                    {.name = "pg1", .nodes = 1, .pg = 1},
                    {.name = "pg2", .redis = 1, .nodes = 2, .pg = 1}};
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int bad = 1;
    if (!strcmp(argv[i], "--rounds")) bad = num(v, 10, 100000, &o.rounds);
    else if (!strcmp(argv[i], "--conc")) bad = num(v, 1, 64, &o.conc);
    else if (!strcmp(argv[i], "--secs")) bad = num(v, 1, 3600, &o.secs);
    else if (!strcmp(argv[i], "--pages")) bad = num(v, 0, 20000, &o.pages);
    else if (!strcmp(argv[i], "--only") && v) bad = 0, only = v;
    if (bad) {
      fprintf(stderr, "usage: qrl_bench_multinode [--rounds N] [--conc K] [--secs S] "
                      "[--pages P] [--only mem,redis1,redis2,pg1,pg2]\n");
      return 2;
    }
    i++;
  }
  printf("qrl_bench_multinode: %ld cores; %d rounds, %d clients for %d s, %d pages\n",
         sysconf(_SC_NPROCESSORS_ONLN), o.rounds, o.conc, o.secs, o.pages);
  for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
    if (only) { /* a name in the comma-separated list */
      size_t n = strlen(setups[i].name);
      const char *at = only;
      while ((at = strstr(at, setups[i].name)) &&
             !((at == only || at[-1] == ',') && (at[n] == ',' || at[n] == '\0')))
        at += n;
      if (!at) continue;
    }
    if (run(&setups[i], &o)) {
      fprintf(stderr, "bench: %s failed\n", setups[i].name);
      return 1;
    }
  }
  return 0;
}
