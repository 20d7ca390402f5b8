/*
 * test_faillimit.c - failure limits per account in SQLite, on a real
 * database file, with the time read from a fake clock the test steps: the
 * token bucket's arithmetic (5 per 15 minutes: one back every 3 minutes),
 * give-back and clear, that a record outlives the connection (a restart),
 * that workers on their own connections cannot together take more tokens
 * than there are, that a wall clock stepped back does not hold a record off,
 * and that records of full buckets are swept away.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "domain/faillimit.h"
#include "fake_clock.h"
#include "test.h"
#include "tmpdb.h"

#define T0 1790000000
#define KEY "pw:id:001099012345"
#define LIMIT 5
#define WINDOW 900 /* one token back every 180 s */

typedef struct fixture {
  qrl_tmpdb t;
  qrl_db *db;
  fake_clock clock;
} fixture;

static int open_fixture(fixture *f) {
  memset(f, 0, sizeof(*f));
  fake_clock_init(&f->clock, T0, 1000);
  if (qrl_tmpdb_make(&f->t, "faillimit")) return -1;
  return qrl_db_open(f->t.path, &f->db) ? -1 : 0;
}

static void close_fixture(fixture *f) {
  qrl_db_close(f->db);
  f->db = NULL;
  qrl_tmpdb_remove(&f->t);
}

static int64_t wall(fixture *f) { return qrl_clock_wall(&f->clock.clk); }

static qrl_err take(fixture *f, const char *key, int64_t *retry) {
  return qrl_faillimit_take(f->db, key, LIMIT, WINDOW, wall(f), retry);
}

static int left(fixture *f, const char *key) {
  return qrl_faillimit_left(f->db, key, LIMIT, WINDOW, wall(f));
}

TEST(five_failures_then_refused_until_one_is_earned_back) {
  fixture f;
  int64_t retry = -1;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(left(&f, KEY), LIMIT);
  for (int i = 0; i < LIMIT; i++) {
    ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
    ASSERT_EQ_INT(retry, 0);
  }
  ASSERT_EQ_INT(left(&f, KEY), 0);
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  ASSERT_EQ_INT(retry, WINDOW / LIMIT);
  /* a refusal costs nothing */
  f.clock.wall += WINDOW / LIMIT - 1;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  ASSERT_EQ_INT(retry, 1);
  f.clock.wall += 1;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  /* other keys have their own buckets */
  ASSERT_ERR(take(&f, "pw:id:079199001234", &retry), QRL_OK);
  ASSERT_ERR(take(&f, "pw:user:0101234567", &retry), QRL_OK);
  ASSERT_EQ_INT(left(&f, "pw:user:0101234567"), LIMIT - 1);
  /* the monotonic clock plays no part */
  f.clock.mono_ms += 10LL * WINDOW * 1000;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  /* a whole window later the bucket is full again */
  f.clock.wall += WINDOW;
  ASSERT_EQ_INT(left(&f, KEY), LIMIT);
  close_fixture(&f);
  return 0;
}

TEST(give_back_and_clear) {
  fixture f;
  int64_t retry;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  for (int i = 0; i < LIMIT; i++) ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  ASSERT_ERR(qrl_faillimit_give_back(f.db, KEY, LIMIT, WINDOW, wall(&f)), QRL_OK);
  ASSERT_EQ_INT(left(&f, KEY), 1);
  ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  /* never above full: the last give-back drops the record */
  for (int i = 0; i < 3 * LIMIT; i++)
    ASSERT_ERR(qrl_faillimit_give_back(f.db, KEY, LIMIT, WINDOW, wall(&f)), QRL_OK);
  ASSERT_EQ_INT(left(&f, KEY), LIMIT);
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 0);
  /* a key without a record: nothing */
  ASSERT_ERR(qrl_faillimit_give_back(f.db, "pw:id:none", LIMIT, WINDOW, wall(&f)), QRL_OK);
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 0);
  /* clear: the whole record at once (a right password) */
  for (int i = 0; i < LIMIT - 1; i++) ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  ASSERT_ERR(qrl_faillimit_clear(f.db, KEY), QRL_OK);
  ASSERT_EQ_INT(left(&f, KEY), LIMIT);
  ASSERT_ERR(qrl_faillimit_clear(f.db, KEY), QRL_OK); /* idempotent */
  /* bad keys and rules are refused, not counted in a shared bucket */
  ASSERT_ERR(qrl_faillimit_take(f.db, "", LIMIT, WINDOW, wall(&f), &retry), QRL_INVAL);
  ASSERT_ERR(qrl_faillimit_take(f.db, NULL, LIMIT, WINDOW, wall(&f), &retry), QRL_INVAL);
  ASSERT_ERR(qrl_faillimit_take(f.db, KEY, 0, WINDOW, wall(&f), &retry), QRL_INVAL);
  ASSERT_ERR(qrl_faillimit_take(f.db, KEY, LIMIT, 0, wall(&f), &retry), QRL_INVAL);
  close_fixture(&f);
  return 0;
}

/* What a restart does to the in-memory buckets, it does not do here. */
TEST(a_record_outlives_the_connection) {
  fixture f;
  int64_t retry;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  for (int i = 0; i < LIMIT; i++) ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  qrl_db_close(f.db);
  ASSERT_ERR(qrl_db_open(f.t.path, &f.db), QRL_OK);
  f.clock.wall += 10;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED);
  ASSERT_EQ_INT(retry, WINDOW / LIMIT - 10);
  close_fixture(&f);
  return 0;
}

/* The date set back a day (NTP, an operator) after five failures: the
 * record does not wait a day to refill - it counts from the new time. */
TEST(a_wall_clock_step_back_does_not_hold_a_record_off) {
  fixture f;
  int64_t retry;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  for (int i = 0; i < LIMIT; i++) ASSERT_ERR(take(&f, KEY, &retry), QRL_OK);
  f.clock.wall -= FAKE_DAY;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_RATE_LIMITED); /* still held ... */
  ASSERT_EQ_INT(retry, WINDOW / LIMIT);
  f.clock.wall += WINDOW / LIMIT;
  ASSERT_ERR(take(&f, KEY, &retry), QRL_OK); /* ... for three minutes */
  /* a give-back moves a record ahead of now back too */
  f.clock.wall -= FAKE_DAY;
  ASSERT_ERR(qrl_faillimit_give_back(f.db, KEY, LIMIT, WINDOW, wall(&f)), QRL_OK);
  ASSERT_EQ_INT(left(&f, KEY), 1);
  f.clock.wall += WINDOW / LIMIT;
  ASSERT_EQ_INT(left(&f, KEY), 2);
  close_fixture(&f);
  return 0;
}

/* ---- several workers, each on its own connection -------------------------- */

enum { THREADS = 12 };

typedef struct racer {
  const char *path;
  pthread_barrier_t *go;
  qrl_err rc;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  qrl_db *db = NULL;
  int64_t retry;
  r->rc = qrl_db_open(r->path, &db);
  pthread_barrier_wait(r->go);
  if (!r->rc) r->rc = qrl_faillimit_take(db, KEY, LIMIT, WINDOW, T0, &retry);
  qrl_db_close(db);
  return NULL;
}

/* Twelve takes at once on twelve connections: exactly five get a token (a
 * take reads and writes in one write transaction). */
TEST(workers_cannot_together_take_more_than_there_is) {
  fixture f;
  pthread_t th[THREADS];
  racer r[THREADS];
  pthread_barrier_t go;
  int ok = 0, limited = 0;
  ASSERT_EQ_INT(open_fixture(&f), 0);
  ASSERT_EQ_INT(pthread_barrier_init(&go, NULL, THREADS), 0);
  for (int i = 0; i < THREADS; i++) {
    r[i] = (racer){f.t.path, &go, QRL_INTERNAL};
    ASSERT_EQ_INT(pthread_create(&th[i], NULL, race, &r[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    if (r[i].rc == QRL_OK) ok++;
    else if (r[i].rc == QRL_RATE_LIMITED) limited++;
  }
  pthread_barrier_destroy(&go);
  ASSERT_EQ_INT(ok, LIMIT);
  ASSERT_EQ_INT(limited, THREADS - LIMIT);
  close_fixture(&f);
  return 0;
}

/* Unknown IDs guessed at leave records too; once their bucket is full again
 * a record means nothing, and takes sweep a few away each. */
TEST(records_of_full_buckets_are_swept) {
  fixture f;
  int64_t retry;
  char key[40];
  ASSERT_EQ_INT(open_fixture(&f), 0);
  for (int i = 0; i < 40; i++) {
    snprintf(key, sizeof(key), "pw:id:0010990%05d", i);
    ASSERT_ERR(take(&f, key, &retry), QRL_OK);
  }
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 40);
  f.clock.wall += WINDOW / LIMIT - 1; /* not yet full: kept */
  ASSERT_ERR(take(&f, "pw:id:other", &retry), QRL_OK);
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 41);
  f.clock.wall += 1; /* full again */
  ASSERT_ERR(take(&f, "pw:id:other", &retry), QRL_OK);
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 41 - 16);
  for (int i = 0; i < 2; i++) ASSERT_ERR(take(&f, "pw:id:other", &retry), QRL_OK);
  ASSERT_EQ_INT(qrl_faillimit_keys(f.db), 1);
  ASSERT_EQ_INT(left(&f, "pw:id:other"), LIMIT - 4);
  close_fixture(&f);
  return 0;
}

TEST_MAIN(five_failures_then_refused_until_one_is_earned_back, give_back_and_clear,
          a_record_outlives_the_connection, a_wall_clock_step_back_does_not_hold_a_record_off,
          workers_cannot_together_take_more_than_there_is, records_of_full_buckets_are_swept)
