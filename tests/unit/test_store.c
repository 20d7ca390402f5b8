/*
 * test_store.c - the in-memory challenge store: atomic apply, events to the
 * sink exactly on state changes, expiry by sweep, linger then drop, the live
 * cap (and per browser network), many challenges, monotonic time (a wall-clock step expires nothing),
 * and secrets wiped before any memory that held them is freed. The store
 * packs a challenge (shared strings, the address in its network's key, the
 * scan's part only once scanned): every field comes back as it went in,
 * strings at their longest too, and what it shares is freed when the last
 * entry using it goes.
 */
#include <malloc.h>
#include <stdio.h>
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

/* The bytes in use in blocks this program's own objects (the store among
 * them) allocated and freed: this executable is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * (tests/CMakeLists.txt); __wrap_free is further down. */
static long heap_live;

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) {
  void *p = __real_malloc(n);
  if (p) heap_live += (long)malloc_usable_size(p);
  return p;
}
void *__wrap_calloc(size_t k, size_t n) {
  void *p = __real_calloc(k, n);
  if (p) heap_live += (long)malloc_usable_size(p);
  return p;
}
void *__wrap_realloc(void *p, size_t n) {
  long before = p ? (long)malloc_usable_size(p) : 0;
  void *q = __real_realloc(p, n);
  if (q) heap_live += (long)malloc_usable_size(q) - before;
  return q;
}

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
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_INVAL);
  ASSERT_EQ_INT(qrl_store_live(s), 1);
  ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_STR(out.secret, c.secret);
  ASSERT_ERR(qrl_store_mem_get(s, "AAAAAAAAAAAAAAAAAAAAAA", &out), QRL_CHALLENGE_UNKNOWN);

  ASSERT_ERR(qrl_store_mem_apply(s, c.id, fail_fn, NULL, &out), QRL_BAD_SIGNATURE);
  ASSERT_EQ_INT(out.state, QRL_CHAL_PENDING);
  ASSERT_EQ_STR(out.citizen_id, "");
  ASSERT_EQ_INT(ev.n, 0);

  ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_SCANNED);
  ASSERT_EQ_INT(ev.prev, QRL_CHAL_PENDING);
  /* rescan: success, but no state change, so no event */
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 1);

  ASSERT_ERR(qrl_store_mem_apply(s, c.id, confirm_an, NULL, &out), QRL_OK);
  ASSERT_EQ_INT(ev.n, 2);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_COMPLETED);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, confirm_an, NULL, &out), QRL_CHALLENGE_USED);
  ASSERT_EQ_INT(ev.n, 2);
  qrl_store_free(s);
  return 0;
}

TEST(sweep_expires_then_drops_after_linger) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out;
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(119)), 0);
  ASSERT_EQ_INT(ev.n, 0);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 1);
  ASSERT_EQ_INT(ev.n, 1);
  ASSERT_EQ_INT(ev.last, QRL_CHAL_EXPIRED);
  ASSERT_EQ_STR(ev.id, c.id);
  ASSERT_EQ_INT(qrl_store_live(s), 0);
  /* still there while it lingers: a late scan learns "expired" */
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_an, NULL, &out), QRL_CHALLENGE_EXPIRED);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120 + 59)), 0);
  ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120 + 60)), 0);
  ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_CHALLENGE_UNKNOWN);
  ASSERT_EQ_INT(ev.n, 1);
  qrl_store_free(s);
  return 0;
}

TEST(live_cap) {
  qrl_store *s = qrl_store_mem_new(3, 0, 60, NULL, NULL);
  qrl_challenge c;
  for (int i = 0; i < 3; i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
    ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  }
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_SERVER_BUSY);
  /* expiry frees capacity */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 3);
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
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
  return rc ? rc : qrl_store_mem_put(s, c);
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
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 4);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &x), QRL_TOO_MANY_CHALLENGES_IP);
  ASSERT_ERR(qrl_store_mem_get(s, x.id, &out), QRL_CHALLENGE_UNKNOWN); /* not kept */
  /* The next address, and another network, still get codes. */
  ASSERT_ERR(put_from(s, "203.0.113.8", 120, &x), QRL_OK);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.8"), 1);
  ASSERT_EQ_INT(qrl_store_live(s), 5);

  /* Each end of a live code returns its place. */
  ASSERT_ERR(qrl_store_mem_apply(s, c[0].id, scan_an, NULL, &out), QRL_OK); /* still live */
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 4);
  ASSERT_ERR(qrl_store_mem_apply(s, c[0].id, confirm_an, NULL, &out), QRL_OK); /* completed */
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 3);
  ASSERT_ERR(put_from(s, "203.0.113.7", 120, &x), QRL_OK); /* its place is taken again */
  ASSERT_ERR(qrl_store_mem_apply(s, x.id, cancel_fn, NULL, &out), QRL_OK); /* browser left */
  ASSERT_ERR(qrl_store_mem_apply(s, c[1].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c[1].id, decline_an, NULL, &out), QRL_OK); /* declined */
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 2);
  /* A refusal leaves the count alone; a fail-closed one (wrong number) ends it. */
  ASSERT_ERR(qrl_store_mem_apply(s, c[3].id, confirm_an, NULL, &out), QRL_CHALLENGE_NOT_SCANNED);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 2);
  ASSERT_ERR(qrl_store_mem_apply(s, c[3].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c[3].id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 1);
  /* Expiry (c[2]), and the other address's code: the counts are zero. */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 2);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.7"), 0);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "203.0.113.8"), 0);
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
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, "2001:DB8:1:2::77"), 2);
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
    ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
    memcpy(ids[i], c.id, sizeof(ids[i]));
  }
  for (int i = 0; i < N; i++) {
    ASSERT_ERR(qrl_store_mem_get(s, ids[i], &out), QRL_OK);
    ASSERT_EQ_INT(out.browser_conn, i);
  }
  ASSERT_EQ_INT(qrl_store_live(s), N);
  qrl_store_free(s);
  return 0;
}

/* Every field of a and b alike (strings up to their NUL). */
static int same_challenge(const qrl_challenge *a, const qrl_challenge *b) {
  return strcmp(a->id, b->id) == 0 && strcmp(a->secret, b->secret) == 0 &&
         strcmp(a->binding, b->binding) == 0 && strcmp(a->flow, b->flow) == 0 &&
         strcmp(a->portal_name, b->portal_name) == 0 &&
         strcmp(a->portal_origin, b->portal_origin) == 0 &&
         strcmp(a->browser_ip, b->browser_ip) == 0 && strcmp(a->browser_ua, b->browser_ua) == 0 &&
         a->created_at == b->created_at && a->created_ms == b->created_ms &&
         a->expires_ms == b->expires_ms && a->frame_secs == b->frame_secs &&
         a->browser_conn == b->browser_conn && a->state == b->state &&
         strcmp(a->citizen_id, b->citizen_id) == 0 && a->device_id == b->device_id &&
         a->phone_conn == b->phone_conn && a->scanned_ms == b->scanned_ms &&
         strcmp(a->scanned.id, b->scanned.id) == 0 && a->scanned.frame == b->scanned.frame &&
         strcmp(a->scanned.code, b->scanned.code) == 0 && a->match == b->match &&
         a->far == b->far && a->kiosk == b->kiosk && a->why == b->why &&
         memcmp(a->choices, b->choices, sizeof(a->choices)) == 0;
}

/* Fills string field f (an array) to its longest with c, NUL-terminated. */
#define FILL(f, c)                                                            \
  do {                                                                        \
    memset((f), (c), sizeof(f) - 1);                                          \
    (f)[sizeof(f) - 1] = '\0';                                                \
  } while (0)

/* What a transition made, to compare with what the store keeps. */
static qrl_err scan_and_keep(qrl_challenge *c, void *arg) {
  qrl_err rc = scan_an(c, NULL);
  *(qrl_challenge *)arg = *c;
  return rc;
}

/* Strings at their longest, odd addresses (kept beside their network's key)
 * and every other field come back exactly, pending and scanned and
 * terminal; a challenge is byte for byte what qrl_challenge_init() made. */
TEST(every_field_round_trips_at_its_longest) {
  static const char *const ips[] = {"203.0.113.77", "2001:db8:1:2:3:4:5:6", "::ffff:203.0.113.7",
                                    "", "not an address but text that fills the field!!"};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, NULL, NULL);
  qrl_challenge c, out, made;
  ASSERT_TRUE(s != NULL);
  for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
    ASSERT_ERR(qrl_challenge_init(&c, "p", "o", ips[i], "ua", 7 + i, T0, 120, 3), QRL_OK);
    FILL(c.portal_name, 'n');
    FILL(c.portal_origin, 'o' + (int)i); /* a string of its own each time */
    FILL(c.browser_ua, 'u');
    c.portal_name[0] = 'A' + (char)i;
    c.kiosk = (int)i;
    ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
    ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
    ASSERT_TRUE(memcmp(&out, &c, sizeof(c)) == 0); /* padding and all: init zeroes it */
    ASSERT_EQ_INT(strlen(out.browser_ua), sizeof(out.browser_ua) - 1);
    ASSERT_EQ_STR(out.browser_ip, ips[i]);
    /* scanned: the scan's part is kept */
    ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_and_keep, &made, &out), QRL_OK);
    ASSERT_TRUE(same_challenge(&out, &made));
    ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
    ASSERT_TRUE(same_challenge(&out, &made));
    ASSERT_EQ_STR(out.citizen_id, "001099012345");
    ASSERT_EQ_STR(out.scanned.id, c.id);
    ASSERT_EQ_INT(out.kiosk, (int)i);
    ASSERT_TRUE(out.match >= 10 && out.match <= 99);
    /* terminal: still all there - completed, or declined with its reason
     * (the citizen's no, or a wrong number) */
    if (i % 3 == 0) {
      ASSERT_ERR(qrl_store_mem_apply(s, c.id, confirm_an, NULL, &out), QRL_OK);
      made.state = QRL_CHAL_COMPLETED;
    } else if (i % 3 == 1) {
      ASSERT_ERR(qrl_store_mem_apply(s, c.id, decline_an, NULL, &out), QRL_OK);
      made.state = QRL_CHAL_DECLINED;
      made.why = QRL_CHAL_WHY_CITIZEN;
    } else {
      ASSERT_ERR(qrl_store_mem_apply(s, c.id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
      made.state = QRL_CHAL_DECLINED;
      made.why = QRL_CHAL_WHY_WRONG_NUMBER;
    }
    ASSERT_TRUE(same_challenge(&out, &made));
    ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(1)), 0);
    ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
    ASSERT_TRUE(same_challenge(&out, &made));
  }
  qrl_cleanse(&c, sizeof(c));
  qrl_cleanse(&out, sizeof(out));
  qrl_cleanse(&made, sizeof(made));
  qrl_store_free(s);
  return 0;
}

/* A string with no NUL in its array comes back cut to the array's length
 * less one, as any C reader of the struct would have read it. */
TEST(unterminated_strings_are_cut_to_fit) {
  qrl_store *s = qrl_store_mem_new(10, 0, 60, NULL, NULL);
  qrl_challenge c, out;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "198.51.100.3", "ua", 1, T0, 120, 2), QRL_OK);
  memset(c.browser_ua, 'u', sizeof(c.browser_ua));
  memset(c.browser_ip, '1', sizeof(c.browser_ip));
  memset(c.portal_name, 'n', sizeof(c.portal_name));
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(strlen(out.browser_ua), sizeof(out.browser_ua) - 1);
  ASSERT_EQ_INT(strlen(out.browser_ip), sizeof(out.browser_ip) - 1);
  ASSERT_EQ_INT(strlen(out.portal_name), sizeof(out.portal_name) - 1);
  ASSERT_EQ_INT(qrl_store_mem_live_from(s, out.browser_ip), 1);
  qrl_cleanse(&c, sizeof(c));
  qrl_cleanse(&out, sizeof(out));
  qrl_store_free(s);
  return 0;
}

/* What the entries share (user agents, origins, networks) goes when the
 * last entry using it goes: a second wave of pages that come, are scanned,
 * expire and linger out leaves the heap exactly as the first wave did
 * (heap_live, below: mallinfo2() would count glibc's per-thread cache of
 * freed blocks as in use). */
static qrl_err scan_at(qrl_challenge *c, void *arg) {
  int64_t now_ms = *(const int64_t *)arg;
  qrl_qr_payload qp;
  if (qrl_challenge_frame(c, now_ms, &qp)) return QRL_CRYPTO;
  return qrl_challenge_scan(c, &qp, "001099012345", 1, 2, now_ms);
}

static int wave(qrl_store *s, int64_t t0) {
  enum { N = 300 };
  qrl_instant now = {WALL, t0};
  qrl_challenge c, out;
  char ip[48], ua[160], origin[64];
  for (int i = 0; i < N; i++) {
    /* addresses, agents and origins of their own in each wave */
    int w = (int)((t0 - MONO) / S(1000));
    snprintf(ip, sizeof(ip), i % 3 ? "10.%d.%d.%d" : "2001:db8:%d:%d::%d", w, i / 256, i % 256);
    snprintf(ua, sizeof(ua), "Mozilla/5.0 (X11; Linux x86_64) Chrome/%d.%d Safari/537.36", i, w);
    snprintf(origin, sizeof(origin), "https://portal-%d.gov.vn:%d", i % 7, 8000 + w);
    if (qrl_challenge_init(&c, "Cổng DVC", origin, ip, ua, (uint64_t)i, now, 120, 2) ||
        qrl_store_mem_put(s, &c))
      return 1;
    if (i % 2 && qrl_store_mem_apply(s, c.id, scan_at, &t0, &out)) return 1; /* half scanned */
  }
  if (qrl_store_sweep(s, t0 + S(120)) != N || qrl_store_live(s) != 0) return 1;
  qrl_store_sweep(s, t0 + S(180));
  qrl_cleanse(&c, sizeof(c));
  qrl_cleanse(&out, sizeof(out));
  return 0;
}

TEST(shared_strings_and_networks_are_freed_with_their_last_entry) {
  qrl_store *s = qrl_store_mem_new(1000, 0, 60, NULL, NULL);
  size_t first, second;
  ASSERT_TRUE(s != NULL);
  ASSERT_EQ_INT(wave(s, MONO), 0);
  first = heap_live;
  ASSERT_EQ_INT(wave(s, MONO + S(1000)), 0);
  second = heap_live;
  ASSERT_EQ_INT(second, first);
  ASSERT_EQ_INT(wave(s, MONO + S(2000)), 0);
  ASSERT_EQ_INT(heap_live, first);
  qrl_store_free(s);
  return 0;
}

TEST(changes_outside_the_table_or_its_invariants_are_refused) {
  events ev = {0};
  qrl_store *s = qrl_store_mem_new(10, 0, 60, sink, &ev);
  qrl_challenge c, out, bad;
  ASSERT_TRUE(s != NULL);
  ASSERT_ERR(qrl_challenge_init(&c, "p", "o", "ip", "ua", 1, T0, 120, 2), QRL_OK);
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  /* PENDING -> COMPLETED without a scan: not in the table */
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, forbidden_fn, NULL, &out), QRL_INTERNAL);
  ASSERT_EQ_INT(out.state, QRL_CHAL_PENDING);
  ASSERT_EQ_INT(ev.n, 0);
  ASSERT_EQ_INT(qrl_store_live(s), 1);
  /* a SCANNED challenge that nobody scanned breaks its state's invariants */
  bad = c;
  memcpy(bad.id, "another-id-0000000000", 22);
  bad.state = QRL_CHAL_SCANNED;
  ASSERT_ERR(qrl_store_mem_put(s, &bad), QRL_INVAL);
  /* the real path still works */
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, confirm_an, NULL, &out), QRL_OK);
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
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c.id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(out.why, QRL_CHAL_WHY_WRONG_NUMBER);
  ASSERT_ERR(qrl_store_mem_get(s, c.id, &out), QRL_OK);
  ASSERT_EQ_INT(out.state, QRL_CHAL_DECLINED);
  ASSERT_EQ_INT(out.why, QRL_CHAL_WHY_WRONG_NUMBER); /* kept: the browser is told why */
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
  ASSERT_ERR(qrl_store_mem_put(s, &c), QRL_OK);
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
 * watched before really freeing it. Covered: the blocks entries leave when
 * a first scan moves them to a larger one, the entries dropped by sweep
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
  if (p) heap_live -= (long)malloc_usable_size(p);
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
    ASSERT_ERR(qrl_store_mem_put(s, &c[i]), QRL_OK);
    w.s[w.n++] = c[i].secret;
    w.s[w.n++] = c[i].binding;
  }
  watching = &w;
  /* A first scan moves an entry to a larger block: the old one is wiped. */
  ASSERT_ERR(qrl_store_mem_apply(s, c[3].id, scan_an, NULL, &out), QRL_OK);  /* scanned */
  ASSERT_ERR(qrl_store_mem_apply(s, c[4].id, scan_an, NULL, &out), QRL_OK);
  ASSERT_ERR(qrl_store_mem_apply(s, c[4].id, fail_closed_fn, NULL, &out), QRL_WRONG_NUMBER);
  qrl_cleanse(&out, sizeof(out));
  ASSERT_TRUE(w.blocks >= 2);
  ASSERT_EQ_INT(w.found, 0);
  /* 0..2 expire (the event buffer is freed), then are dropped after linger. */
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(120)), 3);
  ASSERT_EQ_INT(qrl_store_sweep(s, MONO + S(180)), 0);
  ASSERT_ERR(qrl_store_mem_get(s, c[0].id, &out), QRL_CHALLENGE_UNKNOWN);
  ASSERT_TRUE(w.blocks >= 2 + 4); /* 3 entries and the event buffer */
  /* 3 (scanned) and 4 (declined, lingering) go with the store. */
  qrl_store_free(s);
  watching = NULL;
  ASSERT_TRUE(w.blocks >= 2 + 4 + 2 + 2); /* + 2 entries, the buckets, the store */
  ASSERT_EQ_INT(w.found, 0);
  for (int i = 0; i < N; i++) qrl_cleanse(&c[i], sizeof(c[i]));
  return 0;
}

TEST_MAIN(changes_outside_the_table_or_its_invariants_are_refused, fail_closed_refusal_is_kept_and_announced, put_get_apply_events, sweep_expires_then_drops_after_linger, live_cap,
          live_cap_per_network, ipv6_counts_per_64, many_challenges_grow_and_find,
          wall_clock_steps_do_not_expire_live_challenges, secrets_are_wiped_before_free,
          every_field_round_trips_at_its_longest, unterminated_strings_are_cut_to_fit,
          shared_strings_and_networks_are_freed_with_their_last_entry)
