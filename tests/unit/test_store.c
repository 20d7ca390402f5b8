/*
 * test_store.c - the in-memory challenge store: atomic apply, events to the
 * sink exactly on state changes, expiry by sweep, linger then drop, the live
 * cap, and many challenges.
 */
#include <string.h>

#include "store.h"
#include "test.h"

#define NOW 1700000000

typedef struct events {
  int n;
  qrl_chal_state last, prev;
  char id[QRL_TOKEN_B64LEN + 1];
} events;

static void sink(void *ud, const qrl_challenge *c, qrl_chal_state prev) {
  events *e = ud;
  e->n++;
  e->last = c->state;
  e->prev = prev;
  memcpy(e->id, c->id, sizeof(e->id));
}

static qrl_err scan_an(qrl_challenge *c, void *arg) {
  qrl_qr_payload qp;
  (void)arg;
  if (qrl_challenge_frame(c, NOW, &qp)) return QRL_CRYPTO;
  return qrl_challenge_scan(c, &qp, "001099012345", 1, 2, NOW);
}

static qrl_err confirm_an(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_decide(c, "001099012345", 1, QRL_DECISION_CONFIRM, c->match, NOW);
}

static qrl_err fail_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  strcpy(c->citizen_id, "001099012345"); /* a failing transition's edits are discarded */
  return QRL_BAD_SIGNATURE;
}

/* A refusal that fails closed: the state moves, and that is kept. */
static qrl_err fail_closed_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  c->state = QRL_CHAL_DECLINED;
  return QRL_WRONG_NUMBER;
}

TEST(put_get_apply_events) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "http://o", "ip", "ua", 1, NOW, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_INVAL);
  ASSERT_EQ_INT(qrl_store_live(s), 1);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_STR(out.secret, c.secret);
  ASSERT_ERR(qrl_store_get(s, "AAAAAAAAAAAAAAAAAAAAAA", &out), QRL_CHALLENGE_UNKNOWN);

  ASSERT_ERR(qrl_store_apply(s, c.id, fail_fn, NULL, &out), QRL_BAD_SIGNATURE);
  ASSERT_EQ_INT(out.state, QRL_CHAL_PENDING);
  ASSERT_EQ_STR(out.citizen_id, "");
  ASSERT_EQ_INT(ev.n, 0);

  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_SCANNED);
  ASSERT_EQ_INT(ev.prev, QRL_CHAL_PENDING);
  /* rescan: success, but no state change, so no event */
  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 1);

  ASSERT_ERR(qrl_store_apply(s, c.id, confirm_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 2);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_COMPLETED);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  ASSERT_ERR(qrl_store_apply(s, c.id, confirm_an, NULL, &out), QRL_CHALLENGE_USED);
  ASSERT_EQ_INT(ev.n, 2);
  qrl_store_free(s);
  return 0;
}

TEST(sweep_expires_then_drops_after_linger) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, NOW, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, NOW + 119), 0);
  ASSERT_EQ_INT(ev.n, 0);
  ASSERT_EQ_INT(qrl_store_sweep(s, NOW + 120), 1);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_EXPIRED);
  ASSERT_EQ_STR(ev.id, c.id);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  /* still there while it lingers: a late scan learns "expired" */
  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(qrl_store_sweep(s, NOW + 120 + 59), 0);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, NOW + 120 + 60), 0);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_CHALLENGE_UNKNOWN);
  ASSERT_EQ_INT(ev.n, 1);
  qrl_store_free(s);
  return 0;
}

TEST(live_cap) {
  qrl_store *s = qrl_store_mem_new(3, 60, NULL, NULL);
  qrl_challenge c;
  for (int i = 0; i < 3; i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, NOW, 120, 2), QRL_OK);
    ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  }
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, NOW, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_RATE_LIMITED);
  /* expiry frees capacity */
  ASSERT_EQ_INT(qrl_store_sweep(s, NOW + 120), 3);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  qrl_store_free(s);
  return 0;
}

TEST(many_challenges_grow_and_find) {
  enum { N = 5000 };
  static char ids[N][QRL_TOKEN_B64LEN + 1];
  qrl_store *s = qrl_store_mem_new(N, 60, NULL, NULL);
  qrl_challenge c, out;
  for (int i = 0; i < N; i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", (uint64_t)i, NOW, 120, 2), QRL_OK);
    ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
    memcpy(ids[i], c.id, sizeof(ids[i]));
  }
  for (int i = 0; i < N; i++) {
    ASSERT_ERR(qrl_store_get(s, ids[i], &out), QRL_OK);
    ASSERT_EQ_INT(out.browser_conn, i);
  }
  ASSERT_EQ_INT(qrl_store_live(s), N);
  qrl_store_free(s);
  return 0;
}

TEST(fail_closed_refusal_is_kept_and_announced) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, NOW, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c.id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_DECLINED);
  qrl_store_free(s);
  return 0;
}

TEST_MAIN(fail_closed_refusal_is_kept_and_announced, put_get_apply_events, sweep_expires_then_drops_after_linger, live_cap,
          many_challenges_grow_and_find)
