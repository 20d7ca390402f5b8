/*
 * test_metrics.c - the metrics registry (glue/metrics.h): throttle keys map
 * to their rule (and nothing else grows a series), methods by label, the
 * histogram's buckets and sum, QR challenge events counted by method and
 * step, and the rendering: errors summed per wire code ("internal" is four
 * errors), cumulative buckets ending in +Inf equal to _count, the gauges
 * read from the services. (integration/test_health_metrics.c parses a real
 * server's scrape with the Prometheus client's parser.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/challenge.h"
#include "domain/store.h"
#include "glue/audit.h"
#include "glue/config.h"
#include "glue/conn.h"
#include "glue/metrics.h"
#include "glue/server.h"
#include "glue/sms_relay.h"
#include "glue/task.h"
#include "helpers/keepalive.h"
#include "helpers/workq.h"
#include "test.h"

static void wake(void *arg) { (void)arg; }

TEST(throttle_keys_map_to_their_rule) {
  qrl_metrics m;
  memset(&m, 0, sizeof(m));
  qrl_metrics_throttled(&m, "pw:user:alice");
  qrl_metrics_throttled(&m, "pw:user");
  qrl_metrics_throttled(&m, "pw:ip:10.0.0.1");
  qrl_metrics_throttled(&m, "mint:ip:127.0.0.1");
  qrl_metrics_throttled(&m, "socket");
  qrl_metrics_throttled(&m, "pw:username:x"); /* not "pw:user" */
  qrl_metrics_throttled(&m, "evil{label=\"x\"}");
  qrl_metrics_throttled(&m, "bad-key");
  qrl_metrics_throttled(&m, NULL);
  qrl_metrics_throttled(NULL, "pw:ip:1"); /* NULL-safe */
  ASSERT_EQ_INT(m.throttled[QRL_RULE_PW_USER], 2);
  ASSERT_EQ_INT(m.throttled[QRL_RULE_PW_IP], 1);
  ASSERT_EQ_INT(m.throttled[QRL_RULE_MINT_IP], 1);
  ASSERT_EQ_INT(m.throttled[QRL_RULE_SOCKET], 1);
  ASSERT_EQ_INT(m.throttled[QRL_RULE_OTHER], 4);
  ASSERT_EQ_INT(qrl_metrics_method_of("qr_kiosk"), QRL_LOGIN_QR_KIOSK);
  ASSERT_EQ_INT(qrl_metrics_method_of("portal_otp"), QRL_LOGIN_PORTAL_OTP);
  ASSERT_EQ_INT(qrl_metrics_method_of("qr "), QRL_LOGIN_NMETHODS);
  ASSERT_EQ_INT(qrl_metrics_method_of(NULL), QRL_LOGIN_NMETHODS);
  qrl_metrics_login(&m, QRL_LOGIN_NMETHODS, QRL_LOGIN_STARTED); /* ignored */
  qrl_metrics_error(&m, QRL_OK);                               /* not an error */
  qrl_metrics_error(&m, QRL_ERR__COUNT);                       /* ignored */
  ASSERT_EQ_INT(m.errors[QRL_OK], 0);
  return 0;
}

TEST(histogram_buckets_are_upper_bounds) {
  qrl_histogram h;
  memset(&h, 0, sizeof(h));
  qrl_histogram_observe(&h, 500);      /* 0.0005 s: on the first bound */
  qrl_histogram_observe(&h, 501);      /* just above: the second */
  qrl_histogram_observe(&h, -7);       /* a clock step back: 0 */
  qrl_histogram_observe(&h, 61000000); /* past the last bound: +Inf */
  ASSERT_EQ_INT(h.bucket[0], 2);
  ASSERT_EQ_INT(h.bucket[1], 1);
  ASSERT_EQ_INT(h.bucket[QRL_HIST_NBOUNDS], 1);
  ASSERT_EQ_INT(h.count, 4);
  ASSERT_EQ_INT(h.sum_us, 500 + 501 + 61000000);
  return 0;
}

TEST(qr_events_count_by_method_and_time_the_steps) {
  qrl_metrics m;
  qrl_challenge c;
  memset(&m, 0, sizeof(m));
  memset(&c, 0, sizeof(c));
  c.created_ms = 1000;
  c.scanned_ms = 4000;
  c.state = QRL_CHAL_SCANNED;
  qrl_metrics_challenge(&m, &c, QRL_CHAL_PENDING, 4000);
  c.state = QRL_CHAL_COMPLETED;
  qrl_metrics_challenge(&m, &c, QRL_CHAL_SCANNED, 6500);
  c.kiosk = 1;
  c.state = QRL_CHAL_DECLINED;
  qrl_metrics_challenge(&m, &c, QRL_CHAL_SCANNED, 7000);
  c.state = QRL_CHAL_EXPIRED;
  qrl_metrics_challenge(&m, &c, QRL_CHAL_PENDING, 7000);
  c.state = QRL_CHAL_CANCELLED;
  qrl_metrics_challenge(&m, &c, QRL_CHAL_PENDING, 7000);
  ASSERT_EQ_INT(m.logins[QRL_LOGIN_COMPLETED][QRL_LOGIN_QR], 1);
  ASSERT_EQ_INT(m.logins[QRL_LOGIN_DECLINED][QRL_LOGIN_QR_KIOSK], 1);
  ASSERT_EQ_INT(m.logins[QRL_LOGIN_EXPIRED][QRL_LOGIN_QR_KIOSK], 1);
  ASSERT_EQ_INT(m.logins[QRL_LOGIN_CANCELLED][QRL_LOGIN_QR_KIOSK], 1);
  ASSERT_EQ_INT(m.logins[QRL_LOGIN_COMPLETED][QRL_LOGIN_QR_KIOSK], 0);
  ASSERT_EQ_INT(m.step[QRL_STEP_SHOWN_TO_SCANNED].count, 1);
  ASSERT_EQ_INT(m.step[QRL_STEP_SHOWN_TO_SCANNED].sum_us, 3000000);
  ASSERT_EQ_INT(m.step[QRL_STEP_SCANNED_TO_COMPLETED].sum_us, 2500000);
  return 0;
}

/* The text has line (a whole line). */
static int has_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
    if ((p == text || p[-1] == '\n') && p[n] == '\n') return 1;
  return 0;
}

TEST(rendering_sums_codes_and_reads_the_gauges) {
  qrl_config cfg;
  qrl_metrics m;
  qrl_conns conns;
  qrl_sms_relay sms;
  qrl_audit audit;
  qrl_keepalive alive;
  qrl_tasks tasks;
  qrl_services sv;
  qrl_store *store = qrl_store_mem_new(10, 10, 300, NULL, NULL);
  qrl_err err = QRL_OK;
  qrl_workq *wq = qrl_workq_new(1, NULL, NULL, NULL, wake, NULL, &err);
  char *text;
  int rc = 0;

  ASSERT_TRUE(store != NULL && wq != NULL);
  qrl_config_defaults(&cfg, "/web");
  cfg.workers = 3;
  memset(&m, 0, sizeof(m));
  memset(&conns, 0, sizeof(conns));
  memset(&sms, 0, sizeof(sms));
  memset(&audit, 0, sizeof(audit));
  memset(&alive, 0, sizeof(alive));
  memset(&tasks, 0, sizeof(tasks));
  memset(&sv, 0, sizeof(sv));
  tasks.wq = wq;
  tasks.refused = 5;
  conns.by_kind[QRL_CONN_BROWSER] = 7;
  conns.by_kind[QRL_CONN_PHONE] = 2;
  sms.sent = 11;
  audit.lost = 1;
  audit.unwritten = 2;
  alive.pings = 13;
  sv.cfg = &cfg;
  sv.store = store;
  sv.conns = &conns;
  sv.tasks = &tasks;
  sv.sms = &sms;
  sv.audit = &audit;
  sv.alive = &alive;
  sv.metrics = &m;
  qrl_metrics_error(&m, QRL_DB);
  qrl_metrics_error(&m, QRL_NOMEM);
  qrl_metrics_error(&m, QRL_INTERNAL);
  qrl_metrics_error(&m, QRL_RATE_LIMITED);
  qrl_metrics_login(&m, QRL_LOGIN_PASSWORD_OTP, QRL_LOGIN_STARTED);
  m.refused[QRL_REFUSED_PER_ADDRESS] = 4;
  qrl_histogram_observe(&m.http, 2000);
  qrl_histogram_observe(&m.http, 20000000);

  ASSERT_TRUE((text = qrl_metrics_render(&sv)) != NULL);
  {
    static const char *const want[] = {
        "# TYPE qrlogin_errors_total counter",
        "qrlogin_errors_total{code=\"internal\"} 3",
        "qrlogin_errors_total{code=\"rate_limited\"} 1",
        "qrlogin_errors_total{code=\"bad_json\"} 0",
        "qrlogin_logins_started_total{method=\"password_otp\"} 1",
        "qrlogin_logins_started_total{method=\"qr\"} 0",
        "qrlogin_connections_refused_total{reason=\"per_address\"} 4",
        "qrlogin_connections{kind=\"browser\"} 7",
        "qrlogin_connections{kind=\"phone\"} 2",
        "qrlogin_challenges_live 0",
        "qrlogin_connection_strings 0",
        "qrlogin_worker_jobs 0",
        "qrlogin_workers 3",
        "qrlogin_tasks_refused_total 5",
        "qrlogin_sms_sent_total 11",
        "qrlogin_audit_rows_lost_total{reason=\"queue\"} 1",
        "qrlogin_audit_rows_lost_total{reason=\"write\"} 2",
        "qrlogin_ws_pings_total 13",
        "# TYPE qrlogin_http_request_duration_seconds histogram",
        "qrlogin_http_request_duration_seconds_bucket{le=\"0.001\"} 0",
        "qrlogin_http_request_duration_seconds_bucket{le=\"0.0025\"} 1",
        "qrlogin_http_request_duration_seconds_bucket{le=\"10\"} 1",
        "qrlogin_http_request_duration_seconds_bucket{le=\"30\"} 2",
        "qrlogin_http_request_duration_seconds_bucket{le=\"+Inf\"} 2",
        "qrlogin_http_request_duration_seconds_sum 20.002000",
        "qrlogin_http_request_duration_seconds_count 2",
        "qrlogin_login_step_seconds_count{step=\"shown_to_scanned\"} 0",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
      if (!has_line(text, want[i])) {
        fprintf(stderr, "missing line: %s\n", want[i]);
        rc = 1;
      }
    /* One series per wire code: "internal" once. */
    if (strstr(strstr(text, "code=\"internal\"") + 1, "code=\"internal\"")) rc = 1;
  }
  free(text);
  qrl_workq_free(wq);
  qrl_store_free(store);
  if (rc) TEST_FAIL_("see above");
  return 0;
}

TEST_MAIN(throttle_keys_map_to_their_rule, histogram_buckets_are_upper_bounds,
          qr_events_count_by_method_and_time_the_steps, rendering_sums_codes_and_reads_the_gauges)
