/*
 * test_multinode.c - many qrlogind nodes, one login (issue 13): two real
 * qrlogind processes sharing one redis-server (the harness's: a unix socket
 * in a temporary directory) and one database file.
 *   - the page waits on node A, the phone scans and confirms on node B: A's
 *     page is told at once, and the session cookie works on both nodes;
 *   - 20 confirms of one challenge sent at once through A and B: exactly one
 *     wins;
 *   - A killed after the scan: once its heartbeat is gone, B refuses the
 *     confirm (browser_gone) and the phone stays logged in; a page on B then
 *     logs in;
 *   - Redis killed mid-login: the confirm and a new page answer
 *     `unavailable` (fail closed); Redis back: the old scan is not accepted,
 *     and a new login works within 5 s of Redis' return.
 * Waits are on events (messages, log lines, Redis keyspace events), never
 * sleeps.
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

#include "harness.h"

typedef struct cluster {
  qrl_h_redis r;
  qrl_h_server a, b;
  char dir[64]; /* the shared database's */
  char db[256];  /* a SQLite file in dir, or with QRL_H_PG=1 pg's URL */
  qrl_h_pg pg;
  char key[128]; /* the SMS codes' key file, one for both */
} cluster;

static int node_start(cluster *k, qrl_h_server *s, const char *id) {
  const char *args[] = {"--db", k->db, "--redis", k->r.url, "--node-id", id,
                        "--otp-key-file", k->key, NULL};
  return qrl_h_start(s, args);
}

static int cluster_start(cluster *k) {
  memset(k, 0, sizeof(*k));
  snprintf(k->dir, sizeof(k->dir), "/tmp/qrl-multi-XXXXXX");
  if (!mkdtemp(k->dir)) return -1;
  snprintf(k->db, sizeof(k->db), "%s/shared.db", k->dir);
  if (qrl_h_on_pg()) {
    if (qrl_h_pg_start(&k->pg)) return -1;
    snprintf(k->db, sizeof(k->db), "%s", k->pg.url);
  }
  if (qrl_h_otp_key(k->dir, k->key, sizeof(k->key))) return -1;
  if (qrl_h_redis_start(&k->r, "noeviction")) return -1;
  /* One after the other: the first makes the schema. */
  if (node_start(k, &k->a, "a")) return -1;
  return node_start(k, &k->b, "b");
}

static int cluster_stop(cluster *k) {
  char cmd[120];
  int ra = k->a.pid > 0 ? qrl_h_stop(&k->a) : 0, rb = k->b.pid > 0 ? qrl_h_stop(&k->b) : 0;
  qrl_h_redis_cleanup(&k->r);
  qrl_h_pg_cleanup(&k->pg);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", k->dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", k->dir);
  return ra || rb ? -1 : 0;
}

/* The cookie pair ("qrl_session=...") of a Set-Cookie value. */
static void cookie_pair(const char *set_cookie, char *out, size_t n) {
  size_t len = strcspn(set_cookie, ";");
  snprintf(out, n, "%.*s", (int)len, set_cookie);
}

/* Exchanges a completed page's code on node s; the cookie pair in cookie. */
static int exchange(const qrl_h_server *s, const cJSON *done, const cJSON *ch,
                    char cookie[512]) {
  char body[256], set[512];
  char *resp = NULL;
  int st;
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", qrl_h_str(done, "code"),
           qrl_h_str(ch, "binding"));
  st = qrl_h_http(s, "POST", "/api/session", s->http, NULL, body, &resp, set);
  free(resp);
  cookie_pair(set, cookie, 512);
  return st;
}

/* A page on A, shown; a phone on B, logged in with web login on, has
 * scanned it. Returns the number the page shows (>= 10), or -1. */
static int scanned_on_a(cluster *k, qrl_h_phone *p, qrl_wsc **br, cJSON **ch,
                        qrl_qr_payload *qp) {
  cJSON *m;
  int ok;
  memset(p, 0, sizeof(*p));
  if (cluster_start(k) || !(*br = qrl_h_browser(&k->a, ch)) ||
      qrl_h_phone_ready(&k->b, p, "001099012345", "MatKhau@2024", NULL))
    return -1;
  m = qrl_h_phone_scan_page(p, *br, *ch, qp);
  ok = m && !strcmp(qrl_h_type(m), "scan_ok");
  if (!ok) fprintf(stderr, "scan on B refused: %s\n", m ? qrl_h_errcode(m) : "no answer");
  cJSON_Delete(m);
  return ok ? qrl_h_scanned_number(*br) : -1;
}

TEST(page_on_a_phone_on_b) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *br;
  cJSON *ch = NULL, *done;
  char cookie[512];
  cJSON *me;

  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(cluster_start(&k), 0);
  ASSERT_TRUE((br = qrl_h_browser(&k.a, &ch)) != NULL);
  ASSERT_EQ_INT(qrl_h_phone_ready(&k.b, &p, "001099012345", "MatKhau@2024", NULL), 0);
  /* The phone on B scans A's page; A's page hears "scanned", then
   * "completed" - from B, through Redis. */
  done = qrl_h_confirm_page(&k.a, &p, br, ch);
  ASSERT_TRUE(done != NULL);
  ASSERT_EQ_STR(qrl_h_type(done), "completed");
  ASSERT_TRUE(strlen(qrl_h_str(done, "code")) > 20);
  /* The code is exchanged on B; the cookie works on A and on B. */
  ASSERT_EQ_INT(exchange(&k.b, done, ch, cookie), 200);
  ASSERT_TRUE(strncmp(cookie, "qrl_session=", 12) == 0);
  ASSERT_TRUE((me = qrl_h_me(&k.a, cookie)) != NULL);
  ASSERT_EQ_STR(qrl_h_str(me, "kind"), "citizen");
  cJSON_Delete(me);
  ASSERT_TRUE((me = qrl_h_me(&k.b, cookie)) != NULL);
  cJSON_Delete(me);
  cJSON_Delete(done);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

#define RACERS 20

TEST(twenty_confirms_one_wins) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *br, *ws[RACERS];
  cJSON *ch = NULL, *m, *done;
  qrl_qr_payload qp;
  char fields[1024], msg[1400];
  int num, wins = 0, answered = 0;

  ASSERT_TRUE((num = scanned_on_a(&k, &p, &br, &ch, &qp)) >= 10);
  /* One signed confirm, sent at once on 20 sockets, half to each node. */
  ASSERT_EQ_INT(qrl_h_sign_fields(&p, &qp, k.a.http, (int64_t)time(NULL), num,
                                  QRL_DECISION_CONFIRM, fields, sizeof(fields)), 0);
  snprintf(msg, sizeof(msg), "{\"type\":\"confirm\",\"session\":\"%s\",%s}", p.session, fields);
  for (int i = 0; i < RACERS; i++)
    ASSERT_TRUE((ws[i] = qrl_h_phone_socket(i % 2 ? &k.b : &k.a)) != NULL);
  for (int i = 0; i < RACERS; i++) ASSERT_ERR(qrl_wsc_send_text(ws[i], msg), QRL_OK);
  for (int i = 0; i < RACERS; i++) {
    if (!(m = qrl_h_recv(ws[i], QRL_H_TIMEOUT_MS))) continue;
    answered++;
    if (!strcmp(qrl_h_type(m), "confirm_ok")) wins++;
    else ASSERT_TRUE(qrl_h_errcode(m)[0] != '\0');
    cJSON_Delete(m);
  }
  ASSERT_EQ_INT(answered, RACERS);
  ASSERT_EQ_INT(wins, 1);
  /* The page is told once. */
  ASSERT_TRUE((done = qrl_h_recv(br, QRL_H_TIMEOUT_MS)) != NULL);
  ASSERT_EQ_STR(qrl_h_type(done), "completed");
  cJSON_Delete(done);
  for (int i = 0; i < RACERS; i++) qrl_wsc_free(ws[i]);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

/* A blocking connection of the test's own to its Redis. */
static redisContext *redis_connect(const qrl_h_redis *r) {
  struct timeval tv = {QRL_H_TIMEOUT_MS / 1000, 0};
  redisContext *c = redisConnectUnixWithTimeout(r->sock, tv);
  if (c && !c->err) redisSetTimeout(c, tv);
  if (!c || c->err) {
    fprintf(stderr, "redis: %s\n", c ? c->errstr : "no memory");
    if (c) redisFree(c);
    return NULL;
  }
  return c;
}

TEST(node_killed_after_the_scan) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *br, *br2;
  cJSON *ch = NULL, *ch2 = NULL, *m, *done;
  qrl_qr_payload qp;
  redisContext *sub, *rc;
  redisReply *rep;
  int num, gone = 0;

  ASSERT_TRUE((num = scanned_on_a(&k, &p, &br, &ch, &qp)) >= 10);

  /* Watch A's heartbeat key expire (keyspace events), then kill A. */
  ASSERT_TRUE((rc = redis_connect(&k.r)) != NULL);
  rep = redisCommand(rc, "CONFIG SET notify-keyspace-events Kx");
  ASSERT_TRUE(rep && rep->type == REDIS_REPLY_STATUS);
  freeReplyObject(rep);
  ASSERT_TRUE((sub = redis_connect(&k.r)) != NULL);
  rep = redisCommand(sub, "SUBSCRIBE __keyspace@0__:qrl:alive:a");
  ASSERT_TRUE(rep != NULL);
  freeReplyObject(rep);
  ASSERT_EQ_INT(kill(k.a.pid, SIGKILL), 0);
  while (!gone) {
    void *r = NULL;
    ASSERT_EQ_INT(redisGetReply(sub, &r), REDIS_OK); /* times out: fails */
    rep = r;
    gone = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
           rep->element[2]->str && !strcmp(rep->element[2]->str, "expired");
    freeReplyObject(rep);
  }
  redisFree(sub);
  redisFree(rc);
  qrl_wsc_free(br);

  /* The confirm on B: refused, the phone not logged out. */
  m = qrl_h_phone_decide(&p, &qp, k.a.http, (int64_t)time(NULL), num, QRL_DECISION_CONFIRM);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "browser_gone");
  cJSON_Delete(m);
  m = qrl_h_phone_call(&p, "status", NULL);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "");
  cJSON_Delete(m);

  /* The page reconnects to B and logs in. */
  ASSERT_TRUE((br2 = qrl_h_browser(&k.b, &ch2)) != NULL);
  done = qrl_h_confirm_page(&k.b, &p, br2, ch2);
  ASSERT_TRUE(done != NULL);
  ASSERT_EQ_STR(qrl_h_type(done), "completed");
  cJSON_Delete(done);
  cJSON_Delete(ch);
  cJSON_Delete(ch2);
  qrl_wsc_free(br2);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(qrl_h_stop(&k.a), 128 + SIGKILL);
  k.a.pid = 0;
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(redis_killed_mid_login) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *br, *br2;
  cJSON *ch = NULL, *ch2 = NULL, *m;
  qrl_qr_payload qp;
  char log_a[300], log_b[300];
  int num;
  int64_t back;

  ASSERT_TRUE((num = scanned_on_a(&k, &p, &br, &ch, &qp)) >= 10);

  snprintf(log_a, sizeof(log_a), "%s/server.log", k.a.dir);
  snprintf(log_b, sizeof(log_b), "%s/server.log", k.b.dir);
  qrl_h_redis_kill(&k.r);
  /* Both nodes have seen it go (their logs say so). */
  ASSERT_EQ_INT(qrl_h_wait_lines(log_a, "\"store_unavailable\"", 1, QRL_H_TIMEOUT_MS), 0);
  ASSERT_EQ_INT(qrl_h_wait_lines(log_b, "\"store_unavailable\"", 1, QRL_H_TIMEOUT_MS), 0);
  /* Fail closed: the confirm, and a new code for the page. */
  m = qrl_h_phone_decide(&p, &qp, k.a.http, (int64_t)time(NULL), num, QRL_DECISION_CONFIRM);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "unavailable");
  cJSON_Delete(m);
  m = qrl_h_call(br, "{\"type\":\"new_challenge\"}");
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "unavailable");
  cJSON_Delete(m);
  /* Still logged in on the phone. */
  m = qrl_h_phone_call(&p, "status", NULL);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_errcode(m), "");
  cJSON_Delete(m);

  /* Redis back (empty: it kept nothing). */
  ASSERT_EQ_INT(qrl_h_redis_start(&k.r, "noeviction"), 0);
  back = mono_ms();
  /* Each node serves again: connected, subscribed, its heartbeat written
   * (its log says "store_ready" a second time). */
  ASSERT_EQ_INT(qrl_h_wait_lines(log_a, "\"store_ready\"", 2, QRL_H_TIMEOUT_MS), 0);
  ASSERT_EQ_INT(qrl_h_wait_lines(log_b, "\"store_ready\"", 2, QRL_H_TIMEOUT_MS), 0);
  fprintf(stderr, "both nodes ready %lld ms after Redis came back\n",
          (long long)(mono_ms() - back));
  /* Nothing half-done is accepted: the old scan's confirm is refused. */
  m = qrl_h_phone_decide(&p, &qp, k.a.http, (int64_t)time(NULL), num, QRL_DECISION_CONFIRM);
  ASSERT_TRUE(m != NULL);
  ASSERT_TRUE(strcmp(qrl_h_type(m), "confirm_ok") != 0);
  cJSON_Delete(m);
  /* A new login across the nodes works, within 5 s of Redis' return. */
  ASSERT_TRUE((br2 = qrl_h_browser(&k.a, &ch2)) != NULL);
  m = qrl_h_confirm_page(&k.a, &p, br2, ch2);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "completed");
  cJSON_Delete(m);
  fprintf(stderr, "a login worked %lld ms after Redis came back\n",
          (long long)(mono_ms() - back));
  /* (Not asserted: a loaded machine may take longer. The node retries at
   * most 5 s apart - glue/redis.c's backoff - and the README has the figure.) */
  cJSON_Delete(ch);
  cJSON_Delete(ch2);
  qrl_wsc_free(br);
  qrl_wsc_free(br2);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

TEST(rolling_restart_drains) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *waiting, *scanned, *br;
  cJSON *chw = NULL, *chs = NULL, *ch = NULL, *m, *done;
  qrl_qr_payload qp;
  char cookie[512];
  int num;

  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(cluster_start(&k), 0);
  /* Two pages on A: one waits for a scan, one is scanned by a phone on B. */
  ASSERT_TRUE((waiting = qrl_h_browser(&k.a, &chw)) != NULL);
  ASSERT_TRUE((scanned = qrl_h_browser(&k.a, &chs)) != NULL);
  ASSERT_EQ_INT(qrl_h_phone_ready(&k.b, &p, "001099012345", "MatKhau@2024", NULL), 0);
  m = qrl_h_phone_scan_page(&p, scanned, chs, &qp);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "scan_ok");
  cJSON_Delete(m);
  ASSERT_TRUE((num = qrl_h_scanned_number(scanned)) >= 10);

  /* A is told to stop: the waiting page is told to reconnect... */
  ASSERT_EQ_INT(kill(k.a.pid, SIGTERM), 0);
  m = qrl_h_expect(waiting, "reconnect", QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_str(m, "reason"), "node_stopping");
  cJSON_Delete(m);
  /* ... while the scanned one's login finishes: confirmed on B, told on A. */
  m = qrl_h_phone_decide(&p, &qp, k.a.http, (int64_t)time(NULL), num, QRL_DECISION_CONFIRM);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "confirm_ok");
  cJSON_Delete(m);
  done = qrl_h_recv(scanned, QRL_H_TIMEOUT_MS);
  ASSERT_TRUE(done != NULL);
  ASSERT_EQ_STR(qrl_h_type(done), "completed");
  ASSERT_EQ_INT(exchange(&k.b, done, chs, cookie), 200);
  cJSON_Delete(done);
  /* A exits cleanly; the waiting page, reconnected (to B), logs in. */
  qrl_wsc_free(waiting);
  qrl_wsc_free(scanned);
  ASSERT_EQ_INT(qrl_h_stop(&k.a), 0);
  k.a.pid = 0;
  qrl_h_phone_close(&p);
  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(qrl_h_phone_ready(&k.b, &p, "001099012345", "MatKhau@2024", NULL), 0);
  ASSERT_TRUE((br = qrl_h_browser(&k.b, &ch)) != NULL);
  done = qrl_h_confirm_page(&k.b, &p, br, ch);
  ASSERT_TRUE(done != NULL);
  ASSERT_EQ_STR(qrl_h_type(done), "completed");
  cJSON_Delete(done);
  cJSON_Delete(ch);
  cJSON_Delete(chw);
  cJSON_Delete(chs);
  qrl_wsc_free(br);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

/* Runs a command on the test's own connection; its integer reply (or 0). */
static long long redis_int(redisContext *c, const char *cmd) {
  redisReply *rep = redisCommand(c, cmd);
  long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
  if (!rep || rep->type == REDIS_REPLY_ERROR)
    fprintf(stderr, "redis %s: %s\n", cmd, rep ? rep->str : c->errstr);
  if (rep) freeReplyObject(rep);
  return v;
}

/* A lost event is healed: A's subscription is cut and kept from coming back
 * (Redis at its client limit) while the phone on B scans A's page, so B's
 * word to A goes to nobody; once A is subscribed again it reads its codes
 * again and its page is told "scanned". */
TEST(lost_event_is_healed) {
  cluster k;
  qrl_h_phone p;
  qrl_wsc *br;
  cJSON *ch = NULL, *m;
  redisContext *rc;
  char log_a[300], cmd[64];
  int ready;

  memset(&p, 0, sizeof(p));
  ASSERT_EQ_INT(cluster_start(&k), 0);
  ASSERT_TRUE((br = qrl_h_browser(&k.a, &ch)) != NULL);
  ASSERT_EQ_INT(qrl_h_phone_ready(&k.b, &p, "001099012345", "MatKhau@2024", NULL), 0);
  snprintf(log_a, sizeof(log_a), "%s/server.log", k.a.dir);
  ready = qrl_h_count_lines(log_a, "\"store_ready\"");
  ASSERT_TRUE((rc = redis_connect(&k.r)) != NULL);
  /* Room for no more clients once the two subscribers (A's and B's) are
   * cut; then they are. */
  {
    redisReply *rep = redisCommand(rc, "INFO clients");
    const char *n = rep && rep->str ? strstr(rep->str, "connected_clients:") : NULL;
    ASSERT_TRUE(n != NULL);
    snprintf(cmd, sizeof(cmd), "CONFIG SET maxclients %d", atoi(n + 18) - 2);
    freeReplyObject(rep);
  }
  freeReplyObject(redisCommand(rc, cmd));
  ASSERT_EQ_INT(redis_int(rc, "CLIENT KILL TYPE pubsub"), 2);
  ASSERT_EQ_INT(qrl_h_wait_lines(log_a, "\"store_unavailable\"", 1, QRL_H_TIMEOUT_MS), 0);
  ASSERT_EQ_INT(redis_int(rc, "PUBSUB NUMSUB qrl:ev:a") , 0);
  /* The scan goes through B (its command connection is up); the word to A
   * is lost. */
  m = qrl_h_phone_scan_page(&p, br, ch, NULL);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "scan_ok");
  cJSON_Delete(m);
  /* Room again: A resubscribes, reads its codes again, tells its page. */
  freeReplyObject(redisCommand(rc, "CONFIG SET maxclients 10000"));
  if (qrl_h_wait_lines(log_a, "\"store_ready\"", ready + 1, QRL_H_TIMEOUT_MS)) {
    qrl_h_dump_log(&k.a);
    ASSERT_TRUE(!"A's store was ready again");
  }
  ASSERT_TRUE(qrl_h_scanned_number(br) >= 10);
  redisFree(rc);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  qrl_h_phone_close(&p);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

/* The second way in across nodes: the password and the SMS code's start on
 * A, the code typed on B (one --otp-key-file for both), the cookie good on
 * both. */
TEST(sms_code_sent_by_a_is_checked_by_b) {
  cluster k;
  char attempt[23], code[7], cookie[128];
  cJSON *me;
  ASSERT_EQ_INT(cluster_start(&k), 0);
  ASSERT_EQ_INT(qrl_h_otp_start(&k.a, "/api/otp/start", "id", "001099012345", "MatKhau@2024",
                                attempt, NULL),
                200);
  ASSERT_EQ_INT(qrl_h_otp_code(&k.a, "0912345678", code), 0);
  ASSERT_EQ_INT(qrl_h_otp_verify(&k.b, attempt, code, cookie, NULL), 200);
  ASSERT_TRUE((me = qrl_h_me(&k.a, cookie)) != NULL);
  cJSON_Delete(me);
  ASSERT_EQ_INT(cluster_stop(&k), 0);
  return 0;
}

TEST_MAIN(sms_code_sent_by_a_is_checked_by_b, lost_event_is_healed, rolling_restart_drains, page_on_a_phone_on_b, twenty_confirms_one_wins, node_killed_after_the_scan,
          redis_killed_mid_login)
