/*
 * test_shared_throttle.c - the throttles shared by several nodes (issue 13,
 * glue/throttle.h): TWO real qrlogind processes on one database and one
 * redis-server (the harness's), a client spreading its requests over both.
 * QR codes minted per IP, failed passwords per ID (the database's) and per
 * IP (Redis'), wrong one-time codes per IP: the budget is one, whichever
 * node counts; Redis killed: the throttled requests answer `unavailable`,
 * never pass, and work again once it is back. Also measured here: Redis
 * commands (EVAL) per throttled request, printed. Waits are on events (log
 * lines, answers), never sleeps.
 */
#define _GNU_SOURCE
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "harness.h"

#define AN "001099012345"
#define AN_PHONE "0912345678"
#define PW "MatKhau@2024"

#define CHECK(x)                                                                \
  do {                                                                          \
    if (!(x)) {                                                                 \
      fprintf(stderr, "  check failed %s:%d: %s\n", __FILE__, __LINE__, #x);    \
      goto out;                                                                 \
    }                                                                           \
  } while (0)

/* One redis-server and two nodes, A and B, on A's database. */
typedef struct cluster {
  qrl_h_redis r;
  qrl_h_server a, b;
  int up_a, up_b;
  char key[160]; /* the SMS codes' key file, one for both */
} cluster;

/* Waits until node s has said "store_ready" at least n times: its shared
 * store can serve, on the command connection the throttles borrow. */
static int redis_up(const qrl_h_server *s, int n) {
  char log[400];
  qrl_h_path(s, "server.log", log, sizeof(log));
  return qrl_h_wait_lines(log, "\"store_ready\"", n, QRL_H_TIMEOUT_MS);
}

static int redis_down(const qrl_h_server *s, int n) {
  char log[400];
  qrl_h_path(s, "server.log", log, sizeof(log));
  return qrl_h_wait_lines(log, "\"redis_down\"", n, QRL_H_TIMEOUT_MS);
}

static int cluster_start(cluster *k) {
  memset(k, 0, sizeof(*k));
  if (qrl_h_redis_start(&k->r, "noeviction")) return -1;
  /* One SMS codes' key for both nodes: a code sent by one is checked by
   * the other. */
  if (qrl_h_otp_key(k->r.dir, k->key, sizeof(k->key))) return -1;
  if (qrl_h_start(&k->a, (const char *[]){"--redis", k->r.url, "--otp-key-file", k->key,
                                          NULL}))
    return -1;
  k->up_a = 1;
  if (qrl_h_start(&k->b, (const char *[]){"--db", k->a.db, "--redis", k->r.url,
                                          "--otp-key-file", k->key, NULL}))
    return -1;
  k->up_b = 1;
  return redis_up(&k->a, 1) || redis_up(&k->b, 1) ? -1 : 0;
}

/* Stops both nodes (0 if both exited 0), dumping their logs if failed. */
static int cluster_stop(cluster *k, int failed) {
  int rc = 0;
  if (failed && k->up_a) qrl_h_dump_log(&k->a);
  if (failed && k->up_b) qrl_h_dump_log(&k->b);
  if (k->up_b && qrl_h_stop(&k->b)) rc = -1;
  if (k->up_a && qrl_h_stop(&k->a)) rc = -1;
  qrl_h_redis_cleanup(&k->r);
  return rc;
}

/* EVALs Redis has run so far (INFO commandstats), or -1. */
static long long evals(const cluster *k) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectUnixWithTimeout(k->r.sock, tv);
  redisReply *rep = c && !c->err ? redisCommand(c, "INFO commandstats") : NULL;
  long long n = -1;
  if (rep && rep->type == REDIS_REPLY_STRING) {
    const char *p = strstr(rep->str, "cmdstat_eval:calls=");
    n = p ? atoll(p + strlen("cmdstat_eval:calls=")) : 0;
  }
  if (rep) freeReplyObject(rep);
  if (c) redisFree(c);
  return n;
}

/* Opens a browser socket to s (a QR code is minted on connect) and says
 * what came: "challenge", else the error code ("" if nothing). */
static void mint(const qrl_h_server *s, char out[32]) {
  qrl_wsc *c = NULL;
  cJSON *m = NULL;
  out[0] = '\0';
  if (qrl_h_connect(s, QRL_SUBPROTO_BROWSER, s->http, NULL, &c, NULL) != QRL_OK) return;
  if ((m = qrl_h_recv(c, QRL_H_TIMEOUT_MS)))
    snprintf(out, 32, "%s", !strcmp(qrl_h_type(m), "challenge") ? "challenge" : qrl_h_errcode(m));
  cJSON_Delete(m);
  qrl_wsc_free(c);
}

static int has(const char *body, const char *needle) {
  return body && strstr(body, needle) != NULL;
}

/* 30 QR codes a minute per IP (rules.h), spread over A and B: the budget
 * is one. A node decides a mint on its last reply from Redis, so the node
 * that did not count the last one may let one more through (the bound in
 * throttle.h); then both refuse. Tokens come back at one per 2 s, which a
 * slow machine may see: they are allowed for. */
TEST(mints_spread_over_two_nodes_share_one_budget) {
  cluster k;
  char what[32];
  int passed = 0, refused_run = 0, tries = 0, failed = 1;
  int64_t t0;
  long long e0, e1;
  double secs;
  CHECK(cluster_start(&k) == 0);
  e0 = evals(&k);
  t0 = qrl_h_mono_ms();
  /* Alternately until both nodes have refused twice in a row. */
  while (refused_run < 4 && tries < 200) {
    mint(tries % 2 ? &k.b : &k.a, what);
    tries++;
    if (!strcmp(what, "challenge")) {
      passed++;
      refused_run = 0;
    } else {
      CHECK(!strcmp(what, "rate_limited"));
      refused_run++;
    }
  }
  secs = (double)(qrl_h_mono_ms() - t0) / 1000.0;
  e1 = evals(&k);
  fprintf(stderr, "mints: %d passed of %d over A and B in %.2f s; %lld EVALs (%.2f per mint)\n",
          passed, tries, secs, e1 - e0, (double)(e1 - e0) / tries);
  CHECK(refused_run == 4);
  /* Not one budget per node (60), at most one late pass per node. */
  CHECK(passed >= 30 && passed <= 30 + 2 + (int)(secs / 2.0) + 1);
  /* One EVAL per mint a node let through for its throttle (refused ones
   * cost none), beside the store's own (the challenge put, its cancel). */
  CHECK(e1 - e0 >= passed);
  failed = 0;
out:
  if (cluster_stop(&k, failed)) failed = 1;
  if (failed) TEST_FAIL_("see above");
  return 0;
}

/* 5 wrong passwords for one ID over A and B: the sixth is refused on
 * either, the right password too (the ID's bucket is the database's). 20
 * failed passwords per IP over A and B whatever the IDs: the next is
 * refused on either (Redis'): each node alone has seen only 10. */
TEST(failed_passwords_spread_over_two_nodes_share_one_budget) {
  cluster k;
  char a[23], id[13], *r = NULL;
  int failed = 1;
  long long e0, e1;
  CHECK(cluster_start(&k) == 0);
  e0 = evals(&k);
  for (int i = 0; i < 5; i++)
    CHECK(qrl_h_otp_start(i % 2 ? &k.b : &k.a, "/api/otp/start", "id", AN, "MatKhau@2099", a,
                          NULL) == 401);
  e1 = evals(&k);
  fprintf(stderr, "wrong passwords: %lld EVALs for 5 (%.2f each)\n", e1 - e0,
          (double)(e1 - e0) / 5);
  /* A take of the three buckets each, and a give-back of the SMS token (no
   * code went out; the password buckets keep theirs). */
  CHECK(e1 - e0 == 10);
  CHECK(qrl_h_otp_start(&k.a, "/api/otp/start", "id", AN, PW, a, &r) == 429);
  CHECK(has(r, "rate_limited") && has(r, "retry_in"));
  free(r);
  r = NULL;
  CHECK(qrl_h_otp_start(&k.b, "/api/otp/start", "id", AN, PW, a, &r) == 429);
  free(r);
  r = NULL;
  /* Per IP: 5 spent above (the refusals gave theirs back); 15 more. */
  for (int i = 0; i < 15; i++) {
    snprintf(id, sizeof(id), "0010990%05d", i);
    CHECK(qrl_h_otp_start(i % 2 ? &k.b : &k.a, "/api/otp/start", "id", id, PW, a, NULL) ==
          401);
  }
  CHECK(qrl_h_otp_start(&k.a, "/api/otp/start", "id", "001099077777", PW, a, &r) == 429);
  CHECK(has(r, "rate_limited") && has(r, "retry_in"));
  free(r);
  r = NULL;
  CHECK(qrl_h_otp_start(&k.b, "/api/otp/start", "id", "001099077777", PW, a, &r) == 429);
  CHECK(has(r, "rate_limited"));
  failed = 0;
out:
  free(r);
  if (cluster_stop(&k, failed)) failed = 1;
  if (failed) TEST_FAIL_("see above");
  return 0;
}

/* 30 wrong one-time codes per IP over A and B (one attempt, void after its
 * own few tries: those count too): the next is refused on either. */
TEST(wrong_codes_spread_over_two_nodes_share_one_budget) {
  cluster k;
  char a[23], *r = NULL;
  int failed = 1, st;
  CHECK(cluster_start(&k) == 0);
  CHECK(qrl_h_otp_start(&k.a, "/api/otp/start", "id", AN, PW, a, NULL) == 200);
  for (int i = 0; i < 30; i++) {
    st = qrl_h_otp_verify(i % 2 ? &k.b : &k.a, a, "000000", NULL, NULL);
    CHECK(st != 200 && st != 429);
  }
  CHECK(qrl_h_otp_verify(&k.a, a, "000000", NULL, &r) == 429);
  CHECK(has(r, "rate_limited") && has(r, "retry_in"));
  free(r);
  r = NULL;
  CHECK(qrl_h_otp_verify(&k.b, a, "000000", NULL, &r) == 429);
  failed = 0;
out:
  free(r);
  if (cluster_stop(&k, failed)) failed = 1;
  if (failed) TEST_FAIL_("see above");
  return 0;
}

/* Redis killed: the throttled requests answer `unavailable` (a password,
 * an SMS code, a QR code), on both nodes - never pass; the nodes stay up,
 * and within seconds of Redis' return they work again. */
TEST(redis_killed_fails_closed_then_recovers) {
  cluster k;
  char a[23], what[32], *r = NULL;
  int failed = 1, st = 0;
  int64_t back;
  CHECK(cluster_start(&k) == 0);
  mint(&k.a, what);
  CHECK(!strcmp(what, "challenge"));
  qrl_h_redis_kill(&k.r);
  CHECK(redis_down(&k.a, 1) == 0 && redis_down(&k.b, 1) == 0);
  for (int i = 0; i < 2; i++) {
    const qrl_h_server *s = i ? &k.b : &k.a;
    CHECK(qrl_h_otp_start(s, "/api/otp/start", "id", AN, PW, a, &r) == 503);
    CHECK(has(r, "\"unavailable\""));
    free(r);
    r = NULL;
    CHECK(qrl_h_otp_verify(s, "AAAAAAAAAAAAAAAAAAAAAA", "000000", NULL, &r) == 503);
    CHECK(has(r, "\"unavailable\""));
    free(r);
    r = NULL;
    mint(s, what);
    CHECK(!strcmp(what, "unavailable"));
  }
  /* Counted, as refusals of the throttle's Redis. */
  for (int i = 0; i < 2; i++) {
    CHECK(qrl_h_http(i ? &k.b : &k.a, "GET", "/metrics", NULL, NULL, NULL, &r, NULL) == 200);
    CHECK(has(r, "\nqrlogin_throttle_unavailable_total 3\n"));
    free(r);
    r = NULL;
  }
  /* Back: the nodes reconnect by themselves (backoff at most 5 s). */
  CHECK(qrl_h_redis_start(&k.r, "noeviction") == 0);
  back = qrl_h_mono_ms();
  CHECK(redis_up(&k.a, 2) == 0 && redis_up(&k.b, 2) == 0);
  fprintf(stderr, "both nodes used Redis again %lld ms after it was back\n",
          (long long)(qrl_h_mono_ms() - back));
  CHECK(qrl_h_mono_ms() - back < 10000);
  CHECK((st = qrl_h_otp_start(&k.b, "/api/otp/start", "id", AN, PW, a, NULL)) == 200);
  mint(&k.a, what);
  CHECK(!strcmp(what, "challenge"));
  failed = 0;
out:
  if (failed && st) fprintf(stderr, "status %d\n", st);
  free(r);
  if (cluster_stop(&k, failed)) failed = 1;
  if (failed) TEST_FAIL_("see above");
  return 0;
}

/* Redis stalled (SIGSTOP): a request that waits on it is answered
 * `unavailable` at the command deadline (1 s at most), not held; awake, it
 * works. */
TEST(a_stalled_redis_answers_unavailable_at_the_deadline) {
  cluster k;
  char a[23], *r = NULL;
  int failed = 1, stopped = 0;
  int64_t t0, took;
  CHECK(cluster_start(&k) == 0);
  CHECK(kill(k.r.pid, SIGSTOP) == 0);
  stopped = 1;
  t0 = qrl_h_mono_ms();
  CHECK(qrl_h_otp_start(&k.a, "/api/otp/start", "id", AN, PW, a, &r) == 503);
  took = qrl_h_mono_ms() - t0;
  fprintf(stderr, "answered unavailable after %lld ms\n", (long long)took);
  /* (At the deadline of the oldest command waiting: the store's heartbeat
   * may be older than this request's.) */
  CHECK(has(r, "\"unavailable\""));
  free(r);
  r = NULL;
  CHECK(kill(k.r.pid, SIGCONT) == 0);
  stopped = 0;
  CHECK(redis_up(&k.a, 2) == 0);
  CHECK(qrl_h_otp_start(&k.a, "/api/otp/start", "id", AN, PW, a, NULL) == 200);
  failed = 0;
out:
  if (stopped) kill(k.r.pid, SIGCONT);
  free(r);
  if (cluster_stop(&k, failed)) failed = 1;
  if (failed) TEST_FAIL_("see above");
  return 0;
}

TEST_MAIN(mints_spread_over_two_nodes_share_one_budget,
          failed_passwords_spread_over_two_nodes_share_one_budget,
          wrong_codes_spread_over_two_nodes_share_one_budget,
          redis_killed_fails_closed_then_recovers,
          a_stalled_redis_answers_unavailable_at_the_deadline)
