/*
 * test_task.c - request tasks over a real worker pool and a real database
 * file: a task's throttle hold is settled exactly once, by its outcome; a
 * task that cannot be queued (queue full) or is dropped at shutdown gives
 * every token back and is still answered (done() with unavailable); audit
 * rows are kept through a shutdown; done() finds its connection by id, or
 * NULL once it has gone; the per-ID password bucket is also counted in the
 * database by the worker, so emptied in-memory buckets (a restart) do not
 * reset it. A gate job holds the only worker so that queue
 * states are exact; completions are waited for on the wake callback.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glue/audit.h"
#include "fake_clock.h"
#include "domain/faillimit.h"
#include "domain/ratelimit.h"
#include "glue/rules.h"
#include "glue/task.h"
#include "test.h"
#include "tmpdb.h"
#include "glue/worker.h"

/* ---- a pool with one worker on a temporary database ------------------------ */

typedef struct fixture {
  qrl_tmpdb tmp;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  long wakes;
  qrl_workq *wq;
  qrl_conns conns;
  qrl_audit audit;
  qrl_throttle thr;
  qrl_tasks tasks;
  fake_clock clock;
  /* the gate job */
  qrl_job gate;
  int gate_open, gate_running;
} fixture;

static void wake(void *arg) {
  fixture *f = arg;
  pthread_mutex_lock(&f->mu);
  f->wakes++;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

static void *worker_init(void *arg, qrl_err *err) {
  fixture *f = arg;
  qrl_worker *w = calloc(1, sizeof(*w));
  if (!w) {
    *err = QRL_NOMEM;
    return NULL;
  }
  if ((*err = qrl_db_open(f->tmp.path, &w->db))) {
    free(w);
    return NULL;
  }
  return w;
}

static void worker_fini(void *arg, void *ctx) {
  qrl_worker *w = ctx;
  (void)arg;
  qrl_db_close(w->db);
  free(w);
}

static void gate_run(void *ctx, qrl_job *j) {
  fixture *f = (fixture *)((char *)j - offsetof(fixture, gate));
  (void)ctx;
  pthread_mutex_lock(&f->mu);
  f->gate_running = 1;
  pthread_cond_broadcast(&f->cv);
  while (!f->gate_open) pthread_cond_wait(&f->cv, &f->mu);
  pthread_mutex_unlock(&f->mu);
}
static void gate_done(qrl_job *j) { (void)j; }

/* Holds the only worker until open_gate(). */
static int close_gate(fixture *f) {
  f->gate = (qrl_job){.run = gate_run, .done = gate_done};
  if (qrl_workq_submit(f->wq, &f->gate)) return -1;
  pthread_mutex_lock(&f->mu);
  while (!f->gate_running) pthread_cond_wait(&f->cv, &f->mu);
  pthread_mutex_unlock(&f->mu);
  return 0;
}

static void open_gate(fixture *f) {
  pthread_mutex_lock(&f->mu);
  f->gate_open = 1;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

/* Drains until the pool is idle. The wakes are counted before each drain:
 * a done() may queue more work (an audit row), whose wake can come before
 * the wait starts - counted after the drain, it would be waited for again. */
static void drain_all(fixture *f) {
  for (;;) {
    long seen;
    pthread_mutex_lock(&f->mu);
    seen = f->wakes;
    pthread_mutex_unlock(&f->mu);
    qrl_workq_drain(f->wq);
    if (!qrl_workq_busy(f->wq)) return;
    pthread_mutex_lock(&f->mu);
    while (f->wakes == seen && qrl_workq_busy(f->wq)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1; /* a bounded wait: the wake may have come before we slept */
      pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    pthread_mutex_unlock(&f->mu);
  }
}

static int setup(fixture *f, size_t queue_limit) {
  qrl_err err = QRL_OK;
  memset(f, 0, sizeof(*f));
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  if (qrl_tmpdb_make(&f->tmp, "task")) return -1;
  { /* create the schema */
    qrl_db *db = NULL;
    if (qrl_db_open(f->tmp.path, &db)) return -1;
    qrl_db_close(db);
  }
  f->wq = qrl_workq_new(1, worker_init, worker_fini, f, wake, f, &err);
  if (!f->wq) return -1;
  qrl_workq_set_limit(f->wq, queue_limit);
  if (qrl_conns_init(&f->conns)) return -1;
  fake_clock_init(&f->clock, 1700000000, 5000000);
  f->audit = (qrl_audit){.wq = f->wq, .clock = &f->clock.clk};
  f->thr = (qrl_throttle){.rl = qrl_rl_new(1000), .audit = &f->audit, .clock = &f->clock.clk};
  f->tasks = (qrl_tasks){f->wq, &f->conns, &f->thr, NULL, f, &f->clock.clk, 0, 0, NULL};
  return f->thr.rl ? 0 : -1;
}

static void teardown(fixture *f) {
  open_gate(f);
  qrl_audit_flush(&f->audit);
  qrl_workq_free(f->wq);
  qrl_rl_free(f->thr.rl);
  qrl_conns_free(&f->conns);
  qrl_tmpdb_remove(&f->tmp);
  pthread_cond_destroy(&f->cv);
  pthread_mutex_destroy(&f->mu);
}

/* ---- a request kind ---------------------------------------------------------- */

typedef struct probe_task {
  qrl_task base;
  qrl_err outcome; /* what run() reports */
  int *ran, *done, *saw_conn, *ran_flag;
  qrl_err *done_rc;
  int64_t *retry_in;
} probe_task;

static void probe_run(qrl_task *t, qrl_db *db) {
  probe_task *p = qrl_container_of(t, probe_task, base);
  (void)db;
  (*p->ran)++;
  t->rc = p->outcome;
}

static void probe_done(qrl_task *t, qrl_conn *c) {
  probe_task *p = qrl_container_of(t, probe_task, base);
  (*p->done)++;
  *p->done_rc = t->rc;
  *p->saw_conn = c != NULL;
  *p->ran_flag = t->ran;
  *p->retry_in = t->retry_in;
}

static const qrl_task_type probe_type = {"probe", probe_run, probe_done};

typedef struct counts {
  int ran, done, saw_conn, ran_flag;
  qrl_err rc;
  int64_t retry_in;
} counts;

static probe_task *probe(fixture *f, const qrl_conn *c, counts *n, qrl_err outcome) {
  probe_task *p = (probe_task *)qrl_task_new(&f->tasks, c, &probe_type, sizeof(*p));
  if (!p) return NULL;
  p->outcome = outcome;
  p->ran = &n->ran;
  p->done = &n->done;
  p->saw_conn = &n->saw_conn;
  p->ran_flag = &n->ran_flag;
  p->done_rc = &n->rc;
  p->retry_in = &n->retry_in;
  return p;
}

/* How many wrong passwords the ID 001099012345 may still try from ip. */
static int pw_left(fixture *f, const char *ip) {
  int n = 0;
  for (;;) {
    qrl_hold h = {0};
    int64_t retry;
    qrl_rules_password(&h, "", "001099012345", ip);
    if (!qrl_throttle_take(&f->thr, NULL, &h, &retry)) return n;
    n++;
    if (n > 100) return n;
  }
}

/* ---- cases -------------------------------------------------------------------- */

TEST(a_failed_submit_gives_the_tokens_back) {
  fixture f;
  counts n = {0};
  int64_t retry = 0;
  probe_task *p;
  ASSERT_EQ_INT(setup(&f, 1), 0);
  ASSERT_EQ_INT(close_gate(&f), 0);
  /* One task fills the queue (limit 1)... */
  p = probe(&f, NULL, &n, QRL_OK);
  ASSERT_TRUE(p != NULL);
  ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
  /* ... so a password check that took its tokens on arrival cannot be
   * queued: the citizen's 5 attempts must all still be there. */
  p = probe(&f, NULL, &n, QRL_BAD_CREDENTIALS);
  ASSERT_TRUE(p != NULL);
  qrl_rules_password(&p->base.hold, "", "001099012345", "10.0.0.1");
  ASSERT_TRUE(qrl_task_take(&p->base, NULL, &retry));
  ASSERT_ERR(qrl_task_submit(&p->base), QRL_UNAVAILABLE);
  ASSERT_EQ_INT(f.tasks.refused, 1);
  ASSERT_EQ_INT(pw_left(&f, "10.0.0.2"), QRL_RL_PW_KEY);
  open_gate(&f);
  drain_all(&f);
  ASSERT_EQ_INT(n.ran, 1);
  ASSERT_EQ_INT(n.done, 1);
  teardown(&f);
  return 0;
}

TEST(the_outcome_decides_which_tokens_stay_spent) {
  fixture f;
  static const qrl_err outcomes[] = {QRL_BAD_CREDENTIALS, QRL_OK, QRL_DB};
  /* wrong password: both spent; right: ID cleared, IP back; other: both back */
  static const int id_left[] = {QRL_RL_PW_KEY - 1, QRL_RL_PW_KEY, QRL_RL_PW_KEY};
  static const int ip_spent[] = {1, 0, 0};
  ASSERT_EQ_INT(setup(&f, 0), 0);
  for (size_t i = 0; i < 3; i++) {
    counts n = {0};
    int64_t retry = 0;
    char ip[32];
    probe_task *p = probe(&f, NULL, &n, outcomes[i]);
    qrl_hold probe_ip = {0};
    int ip_left = 0;
    ASSERT_TRUE(p != NULL);
    snprintf(ip, sizeof(ip), "10.1.0.%zu", i);
    qrl_rl_reset(f.thr.rl, "pw:id:001099012345");
    qrl_rules_password(&p->base.hold, "", "001099012345", ip);
    ASSERT_TRUE(qrl_task_take(&p->base, NULL, &retry));
    ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
    drain_all(&f);
    ASSERT_EQ_INT(n.done, 1);
    ASSERT_ERR(n.rc, outcomes[i]);
    /* the ID's bucket, seen from another IP */
    {
      char other[32];
      snprintf(other, sizeof(other), "10.2.0.%zu", i);
      ASSERT_EQ_INT(pw_left(&f, other), id_left[i]);
    }
    /* the IP's bucket */
    qrl_hold_add(&probe_ip, "pw:ip", ip, QRL_RL_PW_IP, QRL_RL_PW_WINDOW);
    for (;;) {
      qrl_hold h = probe_ip;
      if (!qrl_throttle_take(&f.thr, NULL, &h, &retry)) break;
      ip_left++;
    }
    ASSERT_EQ_INT(ip_left, QRL_RL_PW_IP - ip_spent[i]);
  }
  teardown(&f);
  return 0;
}

TEST(shutdown_drops_queued_tasks_answers_them_and_keeps_audit_rows) {
  fixture f;
  counts n = {0};
  int64_t retry = 0;
  long rows;
  qrl_db *db = NULL;
  ASSERT_EQ_INT(setup(&f, 0), 0);
  ASSERT_EQ_INT(close_gate(&f), 0);
  for (int i = 0; i < 200; i++) {
    probe_task *p = probe(&f, NULL, &n, QRL_BAD_CREDENTIALS);
    char ip[32];
    ASSERT_TRUE(p != NULL);
    snprintf(ip, sizeof(ip), "10.3.%d.%d", i / 250, i % 250);
    if (i == 0) { /* one of them holds password tokens */
      qrl_rules_password(&p->base.hold, "", "001099012345", ip);
      ASSERT_TRUE(qrl_task_take(&p->base, NULL, &retry));
    }
    ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
  }
  qrl_audit_row(&f.audit, NULL, "shutdown_test", QRL_OK, NULL, "kept", NULL);
  ASSERT_EQ_INT(qrl_tasks_stop(&f.tasks), 200);
  /* all answered at once, none run, the tokens back */
  ASSERT_EQ_INT(n.done, 200);
  ASSERT_EQ_INT(n.ran, 0);
  ASSERT_EQ_INT(n.ran_flag, 0);
  ASSERT_ERR(n.rc, QRL_UNAVAILABLE);
  ASSERT_EQ_INT(pw_left(&f, "10.9.9.9"), QRL_RL_PW_KEY);
  /* new work is refused while stopping */
  {
    probe_task *p = probe(&f, NULL, &n, QRL_OK);
    ASSERT_TRUE(p != NULL);
    ASSERT_ERR(qrl_task_submit(&p->base), QRL_UNAVAILABLE);
  }
  /* the audit row was not dropped: it is written once the worker is free */
  open_gate(&f);
  drain_all(&f);
  ASSERT_EQ_INT(f.audit.lost, 0);
  ASSERT_EQ_INT(qrl_db_open(f.tmp.path, &db), QRL_OK);
  rows = qrl_db_audit_count(db, "shutdown_test", NULL);
  qrl_db_close(db);
  ASSERT_EQ_INT(rows, 1);
  teardown(&f);
  return 0;
}

TEST(done_finds_its_connection_by_id_or_null_once_gone) {
  fixture f;
  counts n = {0};
  static qrl_conn a, b; /* lws would own these; no socket needed here */
  probe_task *p;
  ASSERT_EQ_INT(setup(&f, 0), 0);
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ASSERT_ERR(qrl_conn_register(&f.conns, &a, NULL, QRL_CONN_PHONE), QRL_OK);
  ASSERT_ERR(qrl_conn_register(&f.conns, &b, NULL, QRL_CONN_PHONE), QRL_OK);
  snprintf(a.ip, sizeof(a.ip), "192.0.2.7");
  p = probe(&f, &a, &n, QRL_OK);
  ASSERT_TRUE(p != NULL);
  ASSERT_EQ_STR(p->base.ip, "192.0.2.7");
  ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
  drain_all(&f);
  ASSERT_EQ_INT(n.saw_conn, 1);
  p = probe(&f, &b, &n, QRL_OK);
  ASSERT_TRUE(p != NULL);
  ASSERT_EQ_INT(close_gate(&f), 0);
  ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
  qrl_conn_release(&f.conns, &b); /* the socket closes while the work waits */
  open_gate(&f);
  drain_all(&f);
  ASSERT_EQ_INT(n.done, 2);
  ASSERT_EQ_INT(n.saw_conn, 0);
  qrl_conn_release(&f.conns, &a);
  teardown(&f);
  return 0;
}

TEST(wall_clock_steps_neither_refill_nor_drain_the_holds) {
  fixture f;
  int64_t retry = 0;
  ASSERT_EQ_INT(setup(&f, 0), 0);
  /* spend 4 of the ID's 5 wrong-password tokens */
  for (int i = 0; i < 4; i++) {
    qrl_hold x = {0};
    qrl_rules_password(&x, "", "001099012345", "10.4.0.1");
    ASSERT_TRUE(qrl_throttle_take(&f.thr, NULL, &x, &retry));
  }
  /* the date jumps a day ahead (NTP, an operator): no refill */
  f.clock.wall += FAKE_DAY;
  ASSERT_EQ_INT(pw_left(&f, "10.4.0.2"), 1);
  /* and a day back: no drain either (the bucket is empty now; a real
   * 15-minute window later it has refilled) */
  f.clock.wall -= 2 * FAKE_DAY;
  ASSERT_EQ_INT(pw_left(&f, "10.4.0.3"), 0);
  f.clock.mono_ms += QRL_RL_PW_WINDOW * 1000;
  ASSERT_EQ_INT(pw_left(&f, "10.4.0.4"), QRL_RL_PW_KEY);
  /* the socket budget too: 60 messages, then refused however the date moves */
  {
    static qrl_conn c;
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < QRL_RL_SOCKET_MSGS; i++)
      ASSERT_EQ_INT(qrl_throttle_socket(&f.thr, &c, QRL_RL_SOCKET_MSGS, QRL_RL_SOCKET_WINDOW, 10), 1);
    f.clock.wall += FAKE_DAY;
    ASSERT_EQ_INT(qrl_throttle_socket(&f.thr, &c, QRL_RL_SOCKET_MSGS, QRL_RL_SOCKET_WINDOW, 10), 0);
    f.clock.mono_ms += 1000; /* one real second: one message's worth */
    ASSERT_EQ_INT(qrl_throttle_socket(&f.thr, &c, QRL_RL_SOCKET_MSGS, QRL_RL_SOCKET_WINDOW, 10), 1);
  }
  teardown(&f);
  return 0;
}

/* Reads the ID's persisted bucket (faillimit.h) in the fixture's file. */
static int db_left(fixture *f, const char *id) {
  char key[64];
  qrl_db *db = NULL;
  int n = -1;
  snprintf(key, sizeof(key), "pw:id:%s", id);
  if (qrl_db_open(f->tmp.path, &db)) return -1;
  n = qrl_faillimit_left(db, key, QRL_RL_PW_KEY, QRL_RL_PW_WINDOW, f->clock.wall);
  qrl_db_close(db);
  return n;
}

/* Submits one password check for id from ip whose work reports outcome, and
 * waits for it. The task's run() counts in n. */
static int check_password(fixture *f, const char *id, const char *ip, counts *n,
                          qrl_err outcome) {
  int64_t retry = 0;
  probe_task *p = probe(f, NULL, n, outcome);
  if (!p) return -1;
  qrl_rules_password(&p->base.hold, "", id, ip);
  if (!qrl_task_take(&p->base, NULL, &retry)) {
    qrl_task_free(&p->base);
    return -1;
  }
  if (qrl_task_submit(&p->base)) return -1;
  drain_all(f);
  return 0;
}

/* The ID's bucket is kept in the database by the worker, around the work:
 * with the in-memory buckets emptied (what a restart does), a sixth check
 * after five wrong passwords is refused there - without running, told when
 * to retry, its in-memory tokens given back, audited - while another ID
 * runs; a right password clears the record on disk; a task that never runs
 * never touches it. */
TEST(the_id_bucket_outlives_the_in_memory_ones) {
  fixture f;
  counts n = {0};
  int64_t retry = 0;
  ASSERT_EQ_INT(setup(&f, 0), 0);
  for (int i = 0; i < QRL_RL_PW_KEY; i++)
    ASSERT_EQ_INT(check_password(&f, "001099012345", "10.5.0.1", &n, QRL_BAD_CREDENTIALS),
                  0);
  ASSERT_EQ_INT(n.ran, QRL_RL_PW_KEY);
  ASSERT_EQ_INT(db_left(&f, "001099012345"), 0);
  /* "restart": fresh, empty in-memory buckets */
  qrl_rl_free(f.thr.rl);
  ASSERT_TRUE((f.thr.rl = qrl_rl_new(1000)) != NULL);
  {
    probe_task *p = probe(&f, NULL, &n, QRL_OK);
    ASSERT_TRUE(p != NULL);
    qrl_rules_password(&p->base.hold, "", "001099012345", "10.5.0.2");
    ASSERT_TRUE(qrl_task_take(&p->base, NULL, &retry));
    ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
    drain_all(&f);
  }
  ASSERT_EQ_INT(n.ran, QRL_RL_PW_KEY); /* the check did not run */
  ASSERT_EQ_INT(n.ran_flag, 0);
  ASSERT_ERR(n.rc, QRL_RATE_LIMITED);
  ASSERT_EQ_INT(n.retry_in, QRL_RL_PW_WINDOW / QRL_RL_PW_KEY); /* one back in 3 minutes */
  ASSERT_EQ_INT(f.thr.refused, 1);
  /* audited like a refusal on the loop (a row queued to a worker) */
  drain_all(&f);
  {
    qrl_db *db = NULL;
    long rows;
    ASSERT_EQ_INT(qrl_db_open(f.tmp.path, &db), QRL_OK);
    rows = qrl_db_audit_count(db, "throttled", "rate_limited");
    qrl_db_close(db);
    ASSERT_EQ_INT(rows, 1);
  }
  ASSERT_EQ_INT(pw_left(&f, "10.5.0.3"), QRL_RL_PW_KEY); /* memory tokens back */
  qrl_rl_reset(f.thr.rl, "pw:id:001099012345");
  /* another ID is not held */
  ASSERT_EQ_INT(check_password(&f, "079199001234", "10.5.0.4", &n, QRL_BAD_CREDENTIALS),
                0);
  ASSERT_EQ_INT(n.ran, QRL_RL_PW_KEY + 1);
  ASSERT_EQ_INT(db_left(&f, "079199001234"), QRL_RL_PW_KEY - 1);
  /* a right password clears its record, an error gives the token back */
  ASSERT_EQ_INT(check_password(&f, "079199001234", "10.5.0.4", &n, QRL_DB), 0);
  ASSERT_EQ_INT(db_left(&f, "079199001234"), QRL_RL_PW_KEY - 1);
  ASSERT_EQ_INT(check_password(&f, "079199001234", "10.5.0.4", &n, QRL_OK), 0);
  ASSERT_EQ_INT(db_left(&f, "079199001234"), QRL_RL_PW_KEY);
  /* a task that never runs (dropped at shutdown) never touches the record */
  ASSERT_EQ_INT(close_gate(&f), 0);
  {
    probe_task *p = probe(&f, NULL, &n, QRL_BAD_CREDENTIALS);
    ASSERT_TRUE(p != NULL);
    qrl_rules_password(&p->base.hold, "", "079199001234", "10.5.0.5");
    ASSERT_TRUE(qrl_task_take(&p->base, NULL, &retry));
    ASSERT_ERR(qrl_task_submit(&p->base), QRL_OK);
  }
  ASSERT_EQ_INT(qrl_tasks_stop(&f.tasks), 1);
  open_gate(&f);
  drain_all(&f);
  ASSERT_EQ_INT(db_left(&f, "079199001234"), QRL_RL_PW_KEY);
  teardown(&f);
  return 0;
}

/* --no-rate-limits: nothing is counted in the database either. */
TEST(no_rate_limits_counts_nothing_on_disk) {
  fixture f;
  counts n = {0};
  ASSERT_EQ_INT(setup(&f, 0), 0);
  f.thr.off = 1;
  for (int i = 0; i < 2 * QRL_RL_PW_KEY; i++)
    ASSERT_EQ_INT(check_password(&f, "001099012345", "10.6.0.1", &n, QRL_BAD_CREDENTIALS),
                  0);
  ASSERT_EQ_INT(n.ran, 2 * QRL_RL_PW_KEY);
  ASSERT_EQ_INT(db_left(&f, "001099012345"), QRL_RL_PW_KEY);
  teardown(&f);
  return 0;
}

/* Rows queued while the worker is busy join the batch waiting for it: one
 * job (and one transaction) per QRL_AUDIT_BATCH rows, every row written. */
TEST(audit_rows_queued_together_share_a_job) {
  fixture f;
  qrl_db *db = NULL;
  long rows;
  size_t busy;
  ASSERT_EQ_INT(setup(&f, 0), 0);
  ASSERT_EQ_INT(close_gate(&f), 0);
  busy = qrl_workq_busy(f.wq);
  for (int i = 0; i < 2 * QRL_AUDIT_BATCH + 1; i++)
    qrl_audit_row(&f.audit, NULL, "batched", QRL_OK, NULL, "row", NULL);
  ASSERT_EQ_INT((int)(qrl_workq_busy(f.wq) - busy), 3);
  ASSERT_EQ_INT((int)f.audit.queued, 2 * QRL_AUDIT_BATCH + 1);
  open_gate(&f);
  drain_all(&f);
  ASSERT_TRUE(f.audit.open == NULL); /* forgotten once written */
  /* the worker took the last batch: a new row starts a new one */
  qrl_audit_row(&f.audit, NULL, "batched", QRL_OK, NULL, "row", NULL);
  drain_all(&f);
  ASSERT_EQ_INT(f.audit.lost, 0);
  ASSERT_EQ_INT(qrl_db_open(f.tmp.path, &db), QRL_OK);
  rows = qrl_db_audit_count(db, "batched", NULL);
  qrl_db_close(db);
  ASSERT_EQ_INT(rows, 2 * QRL_AUDIT_BATCH + 2);
  teardown(&f);
  return 0;
}

TEST_MAIN(wall_clock_steps_neither_refill_nor_drain_the_holds, audit_rows_queued_together_share_a_job,
          the_id_bucket_outlives_the_in_memory_ones, no_rate_limits_counts_nothing_on_disk,
          a_failed_submit_gives_the_tokens_back, the_outcome_decides_which_tokens_stay_spent,
          shutdown_drops_queued_tasks_answers_them_and_keeps_audit_rows,
          done_finds_its_connection_by_id_or_null_once_gone)
