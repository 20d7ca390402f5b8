/*
 * test_keepalive.c - liveness on one wheel (helpers/keepalive.h): a silent
 * socket is pinged once after ping_ms, never early and at most a slot late,
 * and hung up after twice that; an answer (or any frame) puts both off; a
 * socket heard from often costs one look per ping period, not one per frame;
 * a stopped socket is never acted on.
 */
#include <stdlib.h>

#include "helpers/keepalive.h"
#include "test.h"

typedef struct sock {
  qrl_keepalive_node alive; /* first: the node is the socket */
  int64_t pinged_at;        /* when the last ping was asked for, or -1 */
  int pings, hangups;
  int answers; /* answers its pings (at the next step) */
  int closed;
} sock;

typedef struct world {
  int64_t now;
  int early, late, acted_on_closed;
  int64_t ping_ms;
} world;

static void on_ping(qrl_keepalive_node *n, void *arg) {
  sock *s = (sock *)n;
  world *w = arg;
  if (s->closed) w->acted_on_closed++;
  if (w->now < n->heard_ms + w->ping_ms) w->early++;
  if (w->now > n->heard_ms + w->ping_ms + QRL_KEEPALIVE_SLOT_MS) w->late++;
  s->pings++;
  s->pinged_at = w->now;
}

static void on_hangup(qrl_keepalive_node *n, void *arg) {
  sock *s = (sock *)n;
  world *w = arg;
  if (s->closed) w->acted_on_closed++;
  if (w->now < n->heard_ms + 2 * w->ping_ms) w->early++;
  s->hangups++;
  s->closed = 1;
}

/* Advances the world to `until` in QRL_KEEPALIVE_SLOT_MS steps; sockets that
 * answer do so one step after their ping. Returns the nodes looked at. */
static size_t run(qrl_keepalive *ka, world *w, const qrl_keepalive_ops *ops, sock *s,
                  int n, int64_t until) {
  size_t looked = 0;
  while (w->now < until) {
    w->now += QRL_KEEPALIVE_SLOT_MS;
    for (int i = 0; i < n; i++)
      if (s[i].answers && !s[i].closed && s[i].pinged_at >= 0 &&
          w->now - s[i].pinged_at >= QRL_KEEPALIVE_SLOT_MS) {
        qrl_keepalive_heard(&s[i].alive, w->now);
        s[i].pinged_at = -1;
      }
    looked += qrl_keepalive_advance(ka, w->now, ops);
  }
  return looked;
}

TEST(silent_sockets_are_pinged_once_then_hung_up_answering_ones_stay) {
  enum { N = 20000 };
  static sock s[N];
  qrl_keepalive ka;
  world w = {0, 0, 0, 0, 30000};
  qrl_keepalive_ops ops = {on_ping, on_hangup, &w};
  ASSERT_EQ_INT(qrl_keepalive_init(&ka, 30, w.now), QRL_OK);
  for (int i = 0; i < N; i++) {
    s[i] = (sock){.pinged_at = -1, .answers = i % 2};
    w.now = i % 1000; /* connects spread over a second */
    qrl_keepalive_start(&ka, &s[i].alive, w.now);
  }
  w.now = 1000;
  run(&ka, &w, &ops, s, N, 29750); /* no socket has been silent 30 s yet */
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(s[i].pings, 0);
  run(&ka, &w, &ops, s, N, 31500);
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(s[i].pings, 1);
  run(&ka, &w, &ops, s, N, 59750); /* pinged once per silence, not each tick */
  for (int i = 0; i < N; i++) {
    ASSERT_EQ_INT(s[i].hangups, 0);
    ASSERT_EQ_INT(s[i].pings, 1);
  }
  run(&ka, &w, &ops, s, N, 62000);
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(s[i].hangups, s[i].answers ? 0 : 1);
  run(&ka, &w, &ops, s, N, 300000); /* five minutes: every answered ping keeps it */
  for (int i = 0; i < N; i++) {
    if (!s[i].answers) continue;
    ASSERT_EQ_INT(s[i].hangups, 0);
    if (s[i].pings < 9) TEST_FAIL_("socket %d: %d pings in 300 s", i, s[i].pings);
  }
  ASSERT_EQ_INT(w.early, 0);
  ASSERT_EQ_INT(w.late, 0);
  ASSERT_EQ_INT(w.acted_on_closed, 0);
  ASSERT_EQ_INT(ka.hangups, N / 2);
  ASSERT_EQ_INT(ka.wheel.count, N / 2);
  qrl_keepalive_free(&ka);
  return 0;
}

/* A socket that talks every second is never pinged, and is looked at once
 * per ping period: the cost of a frame is a store, not a timer move. */
TEST(busy_sockets_cost_one_look_per_period) {
  enum { N = 1000 };
  static sock s[N];
  qrl_keepalive ka;
  world w = {0, 0, 0, 0, 10000};
  qrl_keepalive_ops ops = {on_ping, on_hangup, &w};
  size_t looked = 0;
  ASSERT_EQ_INT(qrl_keepalive_init(&ka, 10, 0), QRL_OK);
  for (int i = 0; i < N; i++) {
    s[i] = (sock){.pinged_at = -1};
    qrl_keepalive_start(&ka, &s[i].alive, 0);
  }
  while (w.now < 100000) {
    w.now += QRL_KEEPALIVE_SLOT_MS;
    if (w.now % 1000 == 0)
      for (int i = 0; i < N; i++) qrl_keepalive_heard(&s[i].alive, w.now);
    looked += qrl_keepalive_advance(&ka, w.now, &ops);
  }
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(s[i].pings + s[i].hangups, 0);
  /* 100 s at one look per 10 s period (the first after 10 s) */
  if (looked > (size_t)N * 10) TEST_FAIL_("%zu looks for %d sockets in 100 s", looked, N);
  ASSERT_TRUE(looked >= (size_t)N * 9);
  qrl_keepalive_free(&ka);
  return 0;
}

/* A stopped socket (closed by its peer) is never pinged or hung up, and a
 * stop of one that is not watched is harmless; a zero period is refused. */
TEST(stopped_sockets_are_left_alone) {
  sock s[2] = {{.pinged_at = -1}, {.pinged_at = -1}};
  qrl_keepalive ka;
  world w = {0, 0, 0, 0, 1000};
  qrl_keepalive_ops ops = {on_ping, on_hangup, &w};
  ASSERT_EQ_INT(qrl_keepalive_init(&ka, 0, 0), QRL_INVAL);
  ASSERT_EQ_INT(qrl_keepalive_init(&ka, 1, 0), QRL_OK);
  qrl_keepalive_start(&ka, &s[0].alive, 0);
  qrl_keepalive_start(&ka, &s[1].alive, 0);
  qrl_keepalive_stop(&ka, &s[0].alive);
  qrl_keepalive_stop(&ka, &s[0].alive);
  run(&ka, &w, &ops, s, 2, 5000);
  ASSERT_EQ_INT(s[0].pings + s[0].hangups, 0);
  ASSERT_EQ_INT(s[1].pings, 1);
  ASSERT_EQ_INT(s[1].hangups, 1);
  qrl_keepalive_stop(&ka, &s[1].alive); /* after its hang-up: nothing */
  ASSERT_EQ_INT(ka.wheel.count, 0);
  qrl_keepalive_free(&ka);
  return 0;
}

TEST_MAIN(silent_sockets_are_pinged_once_then_hung_up_answering_ones_stay,
          busy_sockets_cost_one_look_per_period, stopped_sockets_are_left_alone)
