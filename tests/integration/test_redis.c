/*
 * test_redis.c - the Redis transport (glue/redis.h) against a real
 * redis-server (Debian's, on a unix socket in a temporary directory, no
 * persistence): addresses parse or are refused with a reason; commands and
 * error replies come back; a Redis whose maxmemory-policy is not noeviction
 * is refused; a stalled Redis (SIGSTOP) turns a command into
 * QRL_UNAVAILABLE within the command deadline, later ones are refused at
 * once, and the connection comes back by itself when it wakes; a killed and
 * restarted Redis is reconnected to within seconds; a password-protected
 * Redis is used with the right password and refused otherwise. Waits are on the loop's
 * events with a deadline, never sleeps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "glue/redis.h"
#include "harness.h"
#include "redis_loop.h"

/* ---- the loop ---------------------------------------------------------------- */

typedef struct answer {
  int done;
  qrl_err err;
  int type;
  char str[128];
  size_t len;
  long long integer;
  int64_t at_ms;
} answer;

static void on_answer(void *arg, qrl_err err, struct redisReply *reply) {
  answer *a = arg;
  a->done = 1;
  a->err = err;
  a->at_ms = qrl_h_mono_ms();
  if (reply) {
    a->type = reply->type;
    a->integer = reply->integer;
    if (reply->str) {
      a->len = reply->len < sizeof(a->str) - 1 ? reply->len : sizeof(a->str) - 1;
      memcpy(a->str, reply->str, a->len);
      a->str[a->len] = '\0';
    }
  }
}

/* ---- the tests --------------------------------------------------------------- */

TEST(addresses_parse_or_say_why) {
  qrl_redis_addr a;
  char why[200];
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://127.0.0.1", &a, why, sizeof(why)), QRL_OK);
  ASSERT_EQ_STR(a.host, "127.0.0.1");
  ASSERT_EQ_INT(a.port, 6379);
  ASSERT_EQ_INT(a.db, 0);
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://redis-1.internal:6380/3", &a, why, sizeof(why)),
                QRL_OK);
  ASSERT_EQ_STR(a.host, "redis-1.internal");
  ASSERT_EQ_INT(a.port, 6380);
  ASSERT_EQ_INT(a.db, 3);
  ASSERT_EQ_INT(qrl_redis_addr_parse("unix:/run/redis/r.sock?db=2", &a, why, sizeof(why)),
                QRL_OK);
  ASSERT_EQ_STR(a.path, "/run/redis/r.sock");
  ASSERT_EQ_INT(a.db, 2);
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://h:0", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_TRUE(strstr(why, "1..65535") != NULL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://h/16", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_TRUE(strstr(why, "0..15") != NULL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("unix:relative.sock", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("http://h", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://h x", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("redis://h:12ab", &a, why, sizeof(why)), QRL_INVAL);
  ASSERT_EQ_INT(qrl_redis_addr_parse("", &a, why, sizeof(why)), QRL_INVAL);
  return 0;
}

TEST(commands_and_error_replies_come_back) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *r = NULL;
  answer set = {0}, get = {0}, bad = {0};
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  if (qrl_h_redis_start(&rp, "noeviction")) goto out;
  if (!(r = client(&loop, &rp, 1000))) goto out;
  /* Refused at once until it is up: callers fail closed, never wait. */
  if (qrl_redis_cmd(r, on_answer, &set, "PING") != QRL_UNAVAILABLE || set.done) goto out;
  if (run_until(&loop, NULL, r, QRL_REDIS_UP, QRL_H_TIMEOUT_MS)) goto out;
  if (qrl_redis_cmd(r, on_answer, &set, "SET %s %b", "qrl:k", "v\0w", (size_t)3) ||
      qrl_redis_cmd(r, on_answer, &get, "GET %s", "qrl:k") ||
      qrl_redis_cmd(r, on_answer, &bad, "INCR %s", "qrl:k"))
    goto out;
  if (set.done || run_until(&loop, &bad.done, r, 0, QRL_H_TIMEOUT_MS)) goto out;
  if (set.err || set.type != REDIS_REPLY_STATUS || strcmp(set.str, "OK") != 0) goto out;
  if (get.err || get.type != REDIS_REPLY_STRING || get.len != 3 || memcmp(get.str, "v\0w", 3))
    goto out;
  if (bad.err || bad.type != REDIS_REPLY_ERROR) goto out; /* Redis' own error */
  if (qrl_redis_stats_of(r)->commands != 3 || qrl_redis_stats_of(r)->replies != 3 ||
      qrl_redis_stats_of(r)->refused != 1 || qrl_redis_stats_of(r)->connects != 1)
    goto out;
  rc = 0;
out:
  qrl_redis_free(r);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST(a_redis_that_may_evict_is_refused) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *r = NULL;
  answer a = {0};
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  if (qrl_h_redis_start(&rp, "allkeys-lru")) goto out;
  if (!(r = client(&loop, &rp, 1000))) goto out;
  if (run_until(&loop, NULL, r, QRL_REDIS_MISCONFIGURED, QRL_H_TIMEOUT_MS)) goto out;
  if (!strstr(qrl_redis_why(r), "'allkeys-lru', not noeviction")) {
    fprintf(stderr, "why: %s\n", qrl_redis_why(r));
    goto out;
  }
  if (qrl_redis_cmd(r, on_answer, &a, "PING") != QRL_UNAVAILABLE) goto out;
  rc = 0;
out:
  qrl_redis_free(r);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

/* A Redis with a password (requirepass): the right one is sent as AUTH
 * before anything else and the client comes up; a wrong one, or none, keeps
 * it down with Redis' reason - which never holds the password. qrlogind
 * takes it from --redis-password-file and logs in a citizen through it. */
TEST(a_password_protected_redis) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *r = NULL;
  qrl_redis_addr a;
  answer ans = {0};
  char why[200], pwfile[200], key[200], failed[64] = "";
  qrl_h_server s = {0};
  int rc = 1, fd;
  snprintf(rp.password, sizeof(rp.password), "pw-%d-correct horse", (int)getpid());
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  if (qrl_h_redis_start(&rp, "noeviction")) goto out;
  for (int attempt = 0; attempt < 3; attempt++) { /* right, wrong, none */
    if (qrl_redis_addr_parse(rp.url, &a, why, sizeof(why))) goto out;
    if (attempt == 0) snprintf(a.password, sizeof(a.password), "%s", rp.password);
    if (attempt == 1) snprintf(a.password, sizeof(a.password), "not-the-password");
    if (!(r = qrl_redis_new(&loop, &a, 1000, 1000, NULL))) goto out;
    if (attempt == 0) {
      if (run_until(&loop, NULL, r, QRL_REDIS_UP, QRL_H_TIMEOUT_MS)) goto out;
      if (qrl_redis_cmd(r, on_answer, &ans, "PING") != QRL_OK ||
          run_until(&loop, &ans.done, NULL, 0, QRL_H_TIMEOUT_MS) || strcmp(ans.str, "PONG"))
        goto out;
    } else {
      /* Down, saying why, never up. */
      if (run_until(&loop, NULL, r, QRL_REDIS_DOWN, QRL_H_TIMEOUT_MS) ||
          qrl_redis_state_of(r) == QRL_REDIS_UP || !qrl_redis_why(r)[0] ||
          strstr(qrl_redis_why(r), "not-the-password")) {
        fprintf(stderr, "attempt %d: state %d why '%s'\n", attempt, qrl_redis_state_of(r),
                qrl_redis_why(r));
        goto out;
      }
    }
    qrl_redis_free(r);
    r = NULL;
  }
  /* The server, with the password in a file of the owner's alone. */
  snprintf(pwfile, sizeof(pwfile), "%s/redis.pw", rp.dir);
  if ((fd = open(pwfile, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) goto out;
  if (dprintf(fd, "%s\n", rp.password) < 0) goto out;
  close(fd);
  if (qrl_h_otp_key(rp.dir, key, sizeof(key))) goto out;
  {
    const char *args[] = {"--redis", rp.url, "--redis-password-file", pwfile, "--otp-key-file",
                          key, NULL};
    if (qrl_h_start(&s, args)) goto out;
    if (qrl_h_qr_login(&s, "001099012345", "MatKhau@2024", NULL, failed)) {
      fprintf(stderr, "QR login through a password-protected Redis: %s\n", failed);
      goto out;
    }
    if (qrl_h_stop(&s) != 0) goto out;
  }
  /* A group-readable password file is refused before anything starts. */
  if (chmod(pwfile, 0640) != 0) goto out;
  {
    const char *args[] = {"--redis", rp.url, "--redis-password-file", pwfile, "--otp-key-file",
                          key, NULL};
    if (qrl_h_start(&s, args) == 0) {
      fprintf(stderr, "qrlogind started with a group-readable --redis-password-file\n");
      goto out;
    }
  }
  rc = 0;
out:
  if (s.dir[0]) qrl_h_stop(&s); /* a server still running, or a refused one's directory */
  qrl_redis_free(r);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST(a_stalled_redis_times_out_and_comes_back) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *r = NULL;
  answer a = {0}, b = {0}, c = {0};
  int64_t sent;
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  if (qrl_h_redis_start(&rp, "noeviction")) goto out;
  if (!(r = client(&loop, &rp, 300))) goto out;
  if (run_until(&loop, NULL, r, QRL_REDIS_UP, QRL_H_TIMEOUT_MS)) goto out;
  kill(rp.pid, SIGSTOP);
  sent = qrl_h_mono_ms();
  if (qrl_redis_cmd(r, on_answer, &a, "INCR %s", "qrl:n") ||
      qrl_redis_cmd(r, on_answer, &b, "INCR %s", "qrl:n"))
    goto out;
  if (run_until(&loop, &b.done, r, 0, QRL_H_TIMEOUT_MS)) goto out;
  /* Both answered unavailable, at the deadline (not before), in order. */
  if (a.err != QRL_UNAVAILABLE || b.err != QRL_UNAVAILABLE || a.at_ms - sent < 290) {
    fprintf(stderr, "a: %d after %lld ms, b: %d\n", a.err, (long long)(a.at_ms - sent), b.err);
    goto out;
  }
  if (qrl_redis_stats_of(r)->timeouts != 1 || qrl_redis_state_of(r) == QRL_REDIS_UP) goto out;
  if (qrl_redis_cmd(r, on_answer, &c, "PING") != QRL_UNAVAILABLE) goto out;
  /* Awake again: back by itself, and working. */
  kill(rp.pid, SIGCONT);
  if (run_until(&loop, NULL, r, QRL_REDIS_UP, QRL_H_TIMEOUT_MS)) goto out;
  if (qrl_redis_cmd(r, on_answer, &c, "GET %s", "qrl:n") ||
      run_until(&loop, &c.done, r, 0, QRL_H_TIMEOUT_MS) || c.err)
    goto out;
  rc = 0;
out:
  qrl_redis_free(r);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST(a_killed_redis_is_reconnected_when_it_returns) {
  qrl_h_redis rp = {0};
  uv_loop_t loop;
  qrl_redis *r = NULL;
  answer a = {0}, b = {0};
  int64_t back;
  int rc = 1;
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  if (qrl_h_redis_start(&rp, "noeviction")) goto out;
  if (!(r = client(&loop, &rp, 1000))) goto out;
  if (run_until(&loop, NULL, r, QRL_REDIS_UP, QRL_H_TIMEOUT_MS)) goto out;
  if (qrl_redis_cmd(r, on_answer, &a, "BLPOP %s %d", "qrl:never", 0)) goto out; /* waits */
  qrl_h_redis_kill(&rp);
  if (run_until(&loop, &a.done, r, 0, QRL_H_TIMEOUT_MS) || a.err != QRL_UNAVAILABLE) goto out;
  if (qrl_redis_state_of(r) == QRL_REDIS_UP) goto out;
  if (qrl_h_redis_start(&rp, "noeviction")) goto out;
  back = qrl_h_mono_ms();
  if (run_until(&loop, NULL, r, QRL_REDIS_UP, 8000)) goto out;
  if (qrl_h_mono_ms() - back > 5500) {
    fprintf(stderr, "up again only after %lld ms\n", (long long)(qrl_h_mono_ms() - back));
    goto out;
  }
  if (qrl_redis_cmd(r, on_answer, &b, "PING") || run_until(&loop, &b.done, r, 0, 2000) ||
      b.err || strcmp(b.str, "PONG") != 0)
    goto out;
  if (qrl_redis_stats_of(r)->drops != 1 || qrl_redis_stats_of(r)->connects != 2) goto out;
  rc = 0;
out:
  qrl_redis_free(r);
  close_loop(&loop);
  qrl_h_redis_cleanup(&rp);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST_MAIN(addresses_parse_or_say_why, commands_and_error_replies_come_back,
          a_redis_that_may_evict_is_refused, a_stalled_redis_times_out_and_comes_back,
          a_killed_redis_is_reconnected_when_it_returns, a_password_protected_redis)
