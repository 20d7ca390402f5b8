/*
 * test_wheel.c - the timing wheel (helpers/wheel.h): every node fires once,
 * never early, at the first advance at or after its time, whether it is a
 * few ms or many turns ahead; cancel and reschedule; a long stall.
 */
#include <stdlib.h>

#include "helpers/wheel.h"
#include "test.h"

typedef struct item {
  qrl_wheel_node node; /* first: the node is the item */
  int64_t due;
  int64_t fired_at;
  int fired;
} item;

typedef struct run_ctx {
  int64_t now;
  int early;
} run_ctx;

static void on_fire(qrl_wheel_node *n, void *arg) {
  item *it = (item *)n;
  run_ctx *r = arg;
  if (r->now < it->due) r->early++;
  it->fired++;
  it->fired_at = r->now;
}

TEST(every_node_fires_once_on_time) {
  enum { N = 20000 };
  static item items[N];
  qrl_wheel w;
  run_ctx r = {1000, 0};
  unsigned seed = 7;
  ASSERT_EQ_INT(qrl_wheel_init(&w, 16, 256, r.now), QRL_OK); /* a turn is 4096 ms */
  for (int i = 0; i < N; i++) {
    items[i].due = r.now + rand_r(&seed) % 20000; /* up to five turns ahead */
    items[i].fired = 0;
    qrl_wheel_schedule(&w, &items[i].node, items[i].due);
  }
  ASSERT_EQ_INT(w.count, N);
  while (r.now < 22000) {
    int64_t before = r.now;
    r.now += 1 + rand_r(&seed) % 40; /* uneven steps, as timers fire */
    qrl_wheel_advance(&w, r.now, on_fire, &r);
    for (int i = 0; i < N; i++) /* late means: due before this step began */
      if (!items[i].fired && items[i].due <= before) TEST_FAIL_("item %d missed", i);
  }
  ASSERT_EQ_INT(r.early, 0);
  for (int i = 0; i < N; i++) ASSERT_EQ_INT(items[i].fired, 1);
  ASSERT_EQ_INT(w.count, 0);
  qrl_wheel_free(&w);
  return 0;
}

static void resched(qrl_wheel_node *n, void *arg) {
  item *it = (item *)n;
  qrl_wheel *w = arg;
  it->fired++;
  if (it->fired < 5) {
    it->due += 2000;
    qrl_wheel_schedule(w, n, it->due); /* the next frame, from inside a fire */
  }
}

TEST(a_fire_can_schedule_again_and_cancel_stops_it) {
  item a = {{NULL, NULL, 0}, 0, 0, 0}, b = {{NULL, NULL, 0}, 0, 0, 0};
  qrl_wheel w;
  ASSERT_EQ_INT(qrl_wheel_init(&w, 10, 64, 0), QRL_OK);
  a.due = 2000;
  b.due = 2005;
  qrl_wheel_schedule(&w, &a.node, a.due);
  qrl_wheel_schedule(&w, &b.node, b.due);
  ASSERT_TRUE(qrl_wheel_pending(&a.node));
  qrl_wheel_cancel(&w, &b.node);
  qrl_wheel_cancel(&w, &b.node); /* twice: nothing */
  ASSERT_FALSE(qrl_wheel_pending(&b.node));
  for (int64_t t = 0; t <= 12000; t += 7) qrl_wheel_advance(&w, t, resched, &w);
  ASSERT_EQ_INT(a.fired, 5);
  ASSERT_EQ_INT(b.fired, 0);
  ASSERT_EQ_INT(w.count, 0);
  /* Moving a node: it fires at its new time only. */
  a.fired = 4;
  qrl_wheel_schedule(&w, &a.node, 20000);
  qrl_wheel_schedule(&w, &a.node, 13000);
  ASSERT_EQ_INT(w.count, 1);
  ASSERT_EQ_INT(qrl_wheel_advance(&w, 12999, resched, &w), 0);
  ASSERT_EQ_INT(qrl_wheel_advance(&w, 13000, resched, &w), 1);
  qrl_wheel_free(&w);
  return 0;
}

TEST(a_long_stall_fires_everything_due_in_one_turn) {
  static item items[1000];
  qrl_wheel w;
  run_ctx r = {0, 0};
  ASSERT_EQ_INT(qrl_wheel_init(&w, 16, 64, 0), QRL_OK);
  for (int i = 0; i < 1000; i++) {
    items[i].due = i * 37;
    items[i].fired = 0;
    qrl_wheel_schedule(&w, &items[i].node, items[i].due);
  }
  r.now = 1000000; /* the loop was stuck for 1000 s */
  ASSERT_EQ_INT(qrl_wheel_advance(&w, r.now, on_fire, &r), 1000);
  ASSERT_EQ_INT(w.count, 0);
  /* ... and it goes on from now. */
  items[0].fired = 0;
  items[0].due = r.now + 50;
  qrl_wheel_schedule(&w, &items[0].node, items[0].due);
  r.now += 49;
  ASSERT_EQ_INT(qrl_wheel_advance(&w, r.now, on_fire, &r), 0);
  r.now += 1;
  ASSERT_EQ_INT(qrl_wheel_advance(&w, r.now, on_fire, &r), 1);
  ASSERT_EQ_INT(r.early, 0);
  qrl_wheel_free(&w);
  return 0;
}

TEST(bad_sizes_are_refused) {
  qrl_wheel w;
  ASSERT_EQ_INT(qrl_wheel_init(&w, 0, 64, 0), QRL_INVAL);
  ASSERT_EQ_INT(qrl_wheel_init(&w, 10, 0, 0), QRL_INVAL);
  ASSERT_EQ_INT(qrl_wheel_init(&w, 10, 100, 0), QRL_OK);
  ASSERT_EQ_INT(w.nslots, 128);
  qrl_wheel_free(&w);
  return 0;
}

TEST_MAIN(every_node_fires_once_on_time, a_fire_can_schedule_again_and_cancel_stops_it,
          a_long_stall_fires_everything_due_in_one_turn, bad_sizes_are_refused)
