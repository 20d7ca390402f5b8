/*
 * test_store.c - the in-memory challenge store: atomic apply, events to the
 * sink exactly on state changes, expiry by sweep, linger then drop, the live
 * cap (and per browser network), many challenges, monotonic time (a wall-clock step expires nothing),
 * and secrets wiped before any memory that held them is freed.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "fake_clock.h"
#include "domain/store.h"
#include "test.h"

#define WALL 1700000000 /* unix seconds */
#define MONO 5000000    /* monotonic ms: far from WALL, so a mix-up shows */
#define S(x) ((int64_t)(x) * 1000) /* seconds of monotonic time */
static const qrl_instant T0 = {WALL, MONO};

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
  if (qrl_challenge_frame(c, MONO, &qp)) return QRL_CRYPTO;
  return qrl_challenge_scan(c, &qp, "001099012345", 1, 2, MONO);
}

static qrl_err confirm_an(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_decide(c, "001099012345", 1, QRL_DECISION_CONFIRM, c->match, MONO);
}

static qrl_err fail_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  strcpy(c->citizen_id, "001099012345"); /* a failing transition's edits are discarded */
  return QRL_BAD_SIGNATURE;
}

/* A refusal that fails closed: the wrong matching number moves the scanned
 * challenge to DECLINED, and that is kept. */
static qrl_err fail_closed_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_decide(c, "001099012345", 1, QRL_DECISION_CONFIRM,
                              c->match == 99 ? 98 : c->match + 1, MONO);
}

/* A transition the table does not have (PENDING straight to COMPLETED). */
static qrl_err forbidden_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  c->state = QRL_CHAL_COMPLETED;
  return QRL_OK;
}

TEST(put_get_apply_events) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "http://o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
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
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(119)), 0);
  ASSERT_EQ_INT(ev.n, 0);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 1);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_EXPIRED);
  ASSERT_EQ_STR(ev.id, c.id);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  /* still there while it lingers: a late scan learns "expired" */
  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120 + 59)), 0);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120 + 60)), 0);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_CHALLENGE_UNKNOWN);
  ASSERT_EQ_INT(ev.n, 1);
  qrl_store_free(s);
  return 0;
}

TEST(live_cap) {
  qrl_store *s = qrl_store_mem_new(3, 0, 60, NULL, NULL);
  qrl_challenge c;
  for (int i = 0; i < 3; i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
    ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  }
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_SERVER_BUSY);
  /* expiry frees capacity */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 3);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  qrl_store_free(s);
  return 0;
}

static qrl_err decline_an(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_decide(c, "001099012345", 1, QRL_DECISION_DECLINE, 0, MONO);
}

static qrl_err cancel_fn(qrl_challenge *c, void *arg) {
  (void)arg;
  return qrl_challenge_cancel(c) ? QRL_OK : QRL_INVAL;
}

/* A challenge shown to a browser at ip, live for ttl seconds, put in s. */
static qrl_err put_from(qrl_store *s, const char *ip, int64_t ttl, qrl_challenge *c) {
  qrl_err rc = qrl_challenge_init(c, "p", "o", ip, "ua", 1, T0, ttl, 2);
  return rc ? rc : qrl_store_put(s, c);
}

/* One network (an IPv4 address, an IPv6 /64) holds at most max_per_net
 * live codes; other networks are not touched; and each way out of "live" -
 * completed, declined, cancelled (the browser left), expired - gives the
 * place back, until the count is zero again and the network is forgotten. */
TEST(live_cap_per_network) {
  qrl_store *s = qrl_store_mem_new(100, 4, 60, NULL, NULL);
  qrl_challenge c[4], x, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &c[0]), QRL_OK);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &c[1]), QRL_OK);
  ASSERT_ERR(put_from(s, "::ffff:203.0.113.7", 120, &c[2]), QRL_OK); /* the same address */
  ASSERT_ERR(put_from(s, "203.0.113.7", 600, &c[3]), QRL_OK);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 4);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &x), QRL_TOO_MANY_CHALLENGES_IP);
  ASSERT_ERR(qrl_store_get(s, x.id, &out), QRL_CHALLENGE_UNKNOWN); /* not kept */
  /* The next address, and another network, still get codes. */
  ASSERT_ERR(put_from(s, "203.0.113.8", 120, &x), QRL_OK);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.8"), 1);
  ASSERT_EQ_INT(qrl_store_live(s), 5);

  /* Each end of a live code returns its place. */
  ASSERT_ERR(qrl_store_apply(s, c[0].id, scan_an, NULL, &out), QRL_OK); /* still live */
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 4);
  ASSERT_ERR(qrl_store_apply(s, c[0].id, confirm_an, NULL, &out), QRL_OK); /* completed */
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 3);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &x), QRL_OK); /* its place is taken again */
  ASSERT_ERR(qrl_store_apply(s, x.id, cancel_fn, NULL, &out), QRL_OK); /* browser left */
  ASSERT_ERR(qrl_store_apply(s, c[1].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c[1].id, decline_an, NULL, &out), QRL_OK); /* declined */
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 2);
  /* A refusal leaves the count alone; a fail-closed one (wrong number) ends it. */
  ASSERT_ERR(qrl_store_apply(s, c[3].id, confirm_an, NULL, &out), QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 2);
  ASSERT_ERR(qrl_store_apply(s, c[3].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c[3].id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 1);
  /* Expiry (c[2]), and the other address's code: the counts are zero. */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 2);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.7"), 0);
  ASSERT_EQ_INT(qrl_store_live_from(s, "203.0.113.8"), 0);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  /* ... so the network gets its four codes again, and no fifth. */
  for (int i = 0; i < 4; i++) ASSERT_ERR(put_from(s, "203.0.113.7", 120, &c[i]), QRL_OK);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &x), QRL_TOO_MANY_CHALLENGES_IP);
  for (int i = 0; i < 4; i++) qrl_cleanse(&c[i], sizeof(c[i]));
  qrl_cleanse(&x, sizeof(x));
  qrl_cleanse(&out, sizeof(out));
  qrl_store_free(s);
  return 0;
}

/* IPv6 counts per /64: a client with a /64 cannot take a code per address. */
TEST(ipv6_counts_per_64) {
  qrl_store *s = qrl_store_mem_new(100, 2, 60, NULL, NULL);
  qrl_challenge c;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(put_from(s, "2001:db8:1:2::1", 120, &c), QRL_OK);
  ASSERT_ERR(put_from(s, "2001:db8:1:2:ffff:ffff:ffff:ffff", 120, &c), QRL_OK);
  ASSERT_ERR(put_from(s, "2001:db8:1:2:abcd::9", 120, &c), QRL_TOO_MANY_CHALLENGES_IP);
  ASSERT_EQ_INT(qrl_store_live_from(s, "2001:DB8:1:2::77"), 2);
  ASSERT_ERR(put_from(s, "2001:db8:1:3::1", 120, &c), QRL_OK); /* the next /64 */
  /* Global cap first: a full server is server_busy whoever asks. */
  qrl_store_free(s);
  s = qrl_store_mem_new(1, 1, 60, NULL, NULL);
  ASSERT_ERR(put_from(s, "198.51.100.1", 120, &c), QRL_OK);
  ASSERT_ERR(put_from(s, "198.51.100.1", 120, &c), QRL_SERVER_BUSY);
  ASSERT_ERR(put_from(s, "198.51.100.2", 120, &c), QRL_SERVER_BUSY);
  qrl_cleanse(&c, sizeof(c));
  qrl_store_free(s);
  return 0;
}

TEST(many_challenges_grow_and_find) {
  enum { N = 5000 };
  static char ids[N][QRL_TOKEN_B64LEN + 1];
  qrl_store *s = qrl_store_mem_new(N, 0, 60, NULL, NULL);
  qrl_challenge c, out;
  for (int i = 0; i < N; i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", (uint64_t)i, T0, 120, 2), QRL_OK);
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

TEST(changes_outside_the_table_or_its_invariants_are_refused) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out, bad;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  /* PENDING -> COMPLETED without a scan: not in the table */
  ASSERT_ERR(qrl_store_apply(s, c.id, forbidden_fn, NULL, &out), QRL_INTERNAL);
  ASSERT_EQ_INT(out.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(ev.n, 0);
  ASSERT_EQ_INT(qrl_store_live(s), 1);
  /* a SCANNED challenge that nobody scanned breaks its state's invariants */
  bad = c;
  memcpy(bad.id, "another-id-0000000000", 22);
  bad.state = QRL_CHAL_SCANNED;
  ASSERT_ERR(qrl_store_put(s, &bad), QRL_INVAL);
  /* the real path still works */
  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c.id, confirm_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(out.state, QRL_CHAL_COMPLETED);
  ASSERT_EQ_INT(ev.n, 2);
  qrl_store_free(s);
  return 0;
}

TEST(fail_closed_refusal_is_kept_and_announced) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c.id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_ERR(qrl_store_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(ev.n, 2);
  ASSERT_EQ_INT(ev.prev, QRL_CHAL_SCANNED);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_DECLINED);
  qrl_store_free(s);
  return 0;
}

/* A wall-clock step of a day either way expires nothing the sweep sees (it
 * runs on monotonic time); monotonic time passing does. */
TEST(wall_clock_steps_do_not_expire_live_challenges) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  fake_clock f;
  qrl_challenge c;
  ASSERT_TRUE(s != NULL);
  fake_clock_init(&f, WALL, MONO);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, qrl_clock_now(&f.clk), 120, 2),
             QRL_OK);
  ASSERT_ERR(qrl_store_put(s, &c), QRL_OK);
  f.wall += FAKE_DAY;
  f.mono_ms += S(1);
  ASSERT_EQ_INT(qrl_store_sweep(s, qrl_clock_mono_ms(&f.clk)), 0);
  f.wall -= 2 * FAKE_DAY;
  f.mono_ms += S(1);
  ASSERT_EQ_INT(qrl_store_sweep(s, qrl_clock_mono_ms(&f.clk)), 0);
  ASSERT_EQ_INT(qrl_store_live(s), 1);
  ASSERT_EQ_INT(ev.n, 0);
  f.mono_ms = MONO + S(120);
  ASSERT_EQ_INT(qrl_store_sweep(s, qrl_clock_mono_ms(&f.clk)), 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_EXPIRED);
  qrl_cleanse(&c, sizeof(c));
  qrl_store_free(s);
  return 0;
}

/* Secrets are wiped before memory is freed. This executable is linked with
 * -Wl,--wrap=free (tests/CMakeLists.txt), so every free() that the store
 * (store_mem.c) and the other linked objects make passes through
 * __wrap_free below, which looks through the whole block
 * (malloc_usable_size) for the secret or binding of the challenges being
 * watched before really freeing it. Covered: the entries dropped by sweep
 * after linger, the sweep's buffer of expiry events, and the entries freed
 * with the store (live, scanned and terminal ones). Not covered: copies on
 * the stack (apply's working copy is wiped, but a test cannot see a stack
 * frame honestly) and copies callers take with get/apply. */
#define WATCH_MAX 16
typedef struct watch {
  const char *s[WATCH_MAX];
  size_t n;
  long blocks; /* blocks freed while watching */
  long found;  /* of them, blocks that still held a watched string */
} watch;
static watch *watching;

/* Whether the n bytes at hay contain needle (memmem is a GNU extension). */
static int holds(const unsigned char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; k && i + k <= n; i++)
    if (hay[i] == (unsigned char)needle[0] && memcmp(hay + i, needle, k) == 0) return 1;
  return 0;
}

void __real_free(void *p);
void __wrap_free(void *p);
void __wrap_free(void *p) {
  if (p && watching) {
    size_t len = malloc_usable_size(p);
    watching->blocks++;
    for (size_t i = 0; i < watching->n; i++)
      if (holds(p, len, watching->s[i])) {
        watching->found++;
        break;
      }
  }
  __real_free(p);
}

TEST(secrets_are_wiped_before_free) {
  enum { N = 5 };
  qrl_challenge c[N];
  qrl_challenge out;
  watch w = {{0}, 0, 0, 0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, NULL, NULL);
  ASSERT_TRUE(s != NULL);
  for (int i = 0; i < N; i++) {
    ASSERT_ERR(qrl_challenge_init(&c[i], "p", "o", "ip", "ua", 1, T0, i < 3 ? 120 : 600, 2),
               QRL_OK);
    ASSERT_ERR(qrl_store_put(s, &c[i]), QRL_OK);
    w.s[w.n++] = c[i].secret;
    w.s[w.n++] = c[i].binding;
  }
  ASSERT_ERR(qrl_store_apply(s, c[3].id, scan_an, NULL, &out), QRL_OK);  /* scanned */
  ASSERT_ERR(qrl_store_apply(s, c[4].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_apply(s, c[4].id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  qrl_cleanse(&out, sizeof(out));
  watching = &w;
  /* 0..2 expire (the event buffer is freed), then are dropped after linger. */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 3);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(180)), 0);
  ASSERT_ERR(qrl_store_get(s, c[0].id, &out), QRL_CHALLENGE_UNKNOWN);
  ASSERT_TRUE(w.blocks >= 4); /* 3 entries and the event buffer */
  /* 3 (scanned) and 4 (declined, lingering) go with the store. */
  qrl_store_free(s);
  watching = NULL;
  ASSERT_TRUE(w.blocks >= 4 + 2 + 2); /* + 2 entries, the buckets, the store */
  ASSERT_EQ_INT(w.found, 0);
  for (int i = 0; i < N; i++) qrl_cleanse(&c[i], sizeof(c[i]));
  return 0;
}

TEST_MAIN(changes_outside_the_table_or_its_invariants_are_refused, fail_closed_refusal_is_kept_and_announced, put_get_apply_events, sweep_expires_then_drops_after_linger, live_cap,
          live_cap_per_network, ipv6_counts_per_64, many_challenges_grow_and_find,
          wall_clock_steps_do_not_expire_live_challenges, secrets_are_wiped_before_free)
