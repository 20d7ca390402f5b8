/*
 * server.c - builds and runs qrlogind: the libuv loop that lws runs on
 * (LWS_SERVER_OPTION_LIBUV with a foreign loop), the vhost with its
 * protocols and mounts, the worker pool with one SQLite handle per worker,
 * the 1 Hz challenge sweep, and a clean shutdown on SIGINT/SIGTERM.
 *
 * Workers wake the loop with a uv_async_t (thread-safe, and still valid while
 * lws is being torn down) rather than lws_cancel_service().
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonio.h"

int64_t qrl_now(void) { return (int64_t)time(NULL); }

qrl_server *qrl_server_of(struct lws *wsi) {
  return lws_context_user(lws_get_context(wsi));
}

int qrl_server_origin_allowed(const qrl_server *srv, const char *origin,
                              const char *host) {
  char self[160];

  if (!origin || !*origin) return 0;
  if (srv->cfg->norigins) {
    for (size_t i = 0; i < srv->cfg->norigins; i++)
      if (strcmp(origin, srv->cfg->origins[i]) == 0) return 1;
    return 0;
  }
  if (!host || !*host) return 0;
  if (snprintf(self, sizeof(self), "%s://%s", srv->cfg->tls_cert ? "https" : "http",
               host) >= (int)sizeof(self))
    return 0;
  return strcmp(origin, self) == 0;
}

void qrl_request_host(struct lws *wsi, char *out, size_t cap) {
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
  enum lws_token_indexes tok = WSI_TOKEN_HOST;
#if defined(LWS_ROLE_H2)
  /* HTTP/2 (ALPN "h2" on TLS) has no Host header, only :authority. */
  if (n <= 0) {
    tok = WSI_TOKEN_HTTP_COLON_AUTHORITY;
    n = lws_hdr_total_length(wsi, tok);
  }
#endif
  out[0] = '\0';
  if (n <= 0 || (size_t)n >= cap) return; /* none, or longer than any we allow */
  if (lws_hdr_copy(wsi, out, (int)cap, tok) < 0) out[0] = '\0';
}

int qrl_ws_filter_origin(qrl_server *srv, qrl_conn *c, struct lws *wsi,
                         int required) {
  char host[128] = "";

  qrl_conn_capture_headers(c, wsi);
  qrl_request_host(wsi, host, sizeof(host));
  if (!c->origin[0] && lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
    /* present but longer than we keep: never allowed */
    qrl_server_audit(srv, c, "ws_upgrade", QRL_BAD_ORIGIN, NULL, "origin too long", NULL);
    lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
    return -1;
  }
  if (!c->origin[0] && !required) return 0;
  if (qrl_server_origin_allowed(srv, c->origin, host)) return 0;
  lwsl_notice("refused websocket upgrade from %s: origin '%s'\n", c->ip,
              c->origin);
  qrl_server_audit(srv, c, "ws_upgrade", QRL_BAD_ORIGIN, NULL, c->origin, NULL);
  /* Answer 403 instead of just dropping the socket, so that a client can
   * tell "refused" from "network trouble". */
  lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
  return -1;
}

void qrl_send_json(qrl_conn *c, cJSON *o) {
  char *s = qrl_json_take_print(o);
  if (s) qrl_conn_send(c, s, strlen(s));
  free(s);
}

void qrl_send_error(qrl_conn *c, qrl_err err, const char *req) {
  char *s = qrl_json_error(err, req);
  if (s) qrl_conn_send(c, s, strlen(s));
  free(s);
}

/* ---- tasks ---------------------------------------------------------------- */

typedef struct worker_ctx {
  qrl_db *db;
} worker_ctx;

static void *worker_init(void *arg, qrl_err *err) {
  qrl_server *srv = arg;
  worker_ctx *w = calloc(1, sizeof(*w));
  if (!w) {
    *err = QRL_NOMEM;
    return NULL;
  }
  *err = qrl_db_open(srv->cfg->db_path, &w->db);
  if (*err) {
    free(w);
    return NULL;
  }
  return w;
}

static void worker_fini(void *arg, void *thread_ctx) {
  worker_ctx *w = thread_ctx;
  (void)arg;
  if (!w) return;
  qrl_db_close(w->db);
  free(w);
}

static void task_run(void *thread_ctx, qrl_job *job) {
  qrl_task *t = (qrl_task *)job;
  worker_ctx *w = thread_ctx;
  t->run(w->db, t);
}

static void task_done(qrl_job *job) {
  qrl_task *t = (qrl_task *)job;
  qrl_server *srv = t->srv;
  qrl_conn *c = NULL;

  if (!srv->stopping && t->done) {
    /* done() runs even when the requester has gone: its side effects (a
     * browser waiting for the completion, throttle refunds) still matter. */
    if (t->conn_id) c = qrl_conn_find(&srv->conns, t->conn_id);
    t->done(srv, t, c);
  }
  qrl_cleanse(t, sizeof(*t)); /* passwords, passcodes, tokens */
  free(t);
}

qrl_task *qrl_task_new(qrl_server *srv, qrl_conn *c, const char *req) {
  qrl_task *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->job.run = task_run;
  t->job.done = task_done;
  t->srv = srv;
  t->req = req;
  t->now = qrl_now();
  if (c) {
    t->conn_id = c->id;
    memcpy(t->ip, c->ip, sizeof(t->ip));
    memcpy(t->ua, c->ua, sizeof(t->ua));
  }
  return t;
}

qrl_err qrl_task_submit(qrl_task *t) {
  qrl_err rc = t->srv->stopping ? QRL_UNAVAILABLE : qrl_workq_submit(t->srv->wq, &t->job);
  if (rc) {
    qrl_cleanse(t, sizeof(*t));
    free(t);
  }
  return rc;
}

static void audit_run(qrl_db *db, qrl_task *t) {
  qrl_req_ctx rc = qrl_task_ctx(t);
  qrl_db_audit(db, t->event, t->outcome, t->citizen_id[0] ? t->citizen_id : NULL,
               0, t->detail[0] ? t->detail : NULL, &rc);
}

qrl_req_ctx qrl_task_ctx(const qrl_task *t) {
  qrl_req_ctx rc = {t->ip, t->ua, t->now, NULL};
  if (t->flow[0]) rc.flow = t->flow;
  else if (t->chal.flow[0]) rc.flow = t->chal.flow;
  return rc;
}

void qrl_server_audit(qrl_server *srv, qrl_conn *c, const char *event,
                      qrl_err outcome, const char *citizen_id,
                      const char *detail, const char *flow) {
  qrl_task *t = qrl_task_new(srv, c, NULL);
  if (!t) return;
  t->conn_id = 0; /* nothing to answer */
  t->run = audit_run;
  snprintf(t->event, sizeof(t->event), "%s", event);
  t->outcome = outcome;
  if (citizen_id) snprintf(t->citizen_id, sizeof(t->citizen_id), "%s", citizen_id);
  if (detail) snprintf(t->detail, sizeof(t->detail), "%s", detail);
  if (flow) snprintf(t->flow, sizeof(t->flow), "%s", flow);
  if (qrl_task_submit(t)) lwsl_warn("audit row lost: %s\n", event);
}

/* ---- the loop ------------------------------------------------------------- */

static void wake_from_worker(void *arg) { uv_async_send(arg); }

static void on_wake(uv_async_t *h) {
  qrl_server *srv = h->data;
  qrl_workq_drain(srv->wq);
}

static void on_sweep(uv_timer_t *h) {
  qrl_server *srv = h->data;
  qrl_store_sweep(srv->store, qrl_clock_mono_ms(qrl_clock_system()));
  qrl_rl_sweep(srv->rl, qrl_clock_mono_ms(qrl_clock_system()), QRL_RL_SWEEP_BUDGET);
  qrl_browser_frames(srv, qrl_clock_mono_ms(qrl_clock_system()));
}

int qrl_server_throttle(qrl_server *srv, qrl_conn *c, const char *kind,
                        const char *value, int limit, int window) {
  char key[QRL_RL_KEY_MAX + 1];
  if (srv->cfg->no_rate_limits) return 1;
  snprintf(key, sizeof(key), "%s:%s", kind, value);
  if (qrl_rl_hit(srv->rl, key, qrl_clock_mono_ms(qrl_clock_system()), limit, window) >= 0) return 1;
  lwsl_notice("throttled: %s\n", key);
  qrl_server_audit(srv, c, "throttled", QRL_RATE_LIMITED, NULL, kind, NULL);
  return 0;
}

void qrl_rl_rule_set(qrl_rl_rule *r, const char *kind, const char *value, int limit,
                     int window) {
  snprintf(r->key, sizeof(r->key), "%s:%s", kind, value);
  r->limit = limit;
  r->window = window;
}

int qrl_server_take(qrl_server *srv, qrl_conn *c, const qrl_rl_rule *rules, size_t n,
                    int64_t *retry_in) {
  int64_t now = qrl_clock_mono_ms(qrl_clock_system());
  size_t i;
  *retry_in = 0;
  if (srv->cfg->no_rate_limits) return 1;
  for (i = 0; i < n; i++)
    if (qrl_rl_hit(srv->rl, rules[i].key, now, rules[i].limit, rules[i].window) < 0) break;
  if (i == n) return 1;
  qrl_rl_allowed(srv->rl, rules[i].key, now, rules[i].limit, rules[i].window, retry_in);
  if (*retry_in <= 0) *retry_in = rules[i].window; /* the table is full of live keys */
  qrl_server_refund(srv, rules, i); /* all or none */
  lwsl_notice("throttled: %s\n", rules[i].key);
  qrl_server_audit(srv, c, "throttled", QRL_RATE_LIMITED, NULL, rules[i].key, NULL);
  return 0;
}

void qrl_server_refund(qrl_server *srv, const qrl_rl_rule *rules, size_t n) {
  int64_t now = qrl_clock_mono_ms(qrl_clock_system());
  if (srv->cfg->no_rate_limits) return;
  for (size_t i = 0; i < n; i++)
    qrl_rl_refund(srv->rl, rules[i].key, now, rules[i].limit, rules[i].window);
}

void qrl_pw_rules(qrl_rl_rule r[2], const char *username, const char *citizen_id,
                  const char *ip) {
  if (username[0]) qrl_rl_rule_set(&r[0], "pw:user", username, QRL_RL_PW_KEY, QRL_RL_PW_WINDOW);
  else qrl_rl_rule_set(&r[0], "pw:id", citizen_id, QRL_RL_PW_KEY, QRL_RL_PW_WINDOW);
  qrl_rl_rule_set(&r[1], "pw:ip", ip, QRL_RL_PW_IP, QRL_RL_PW_WINDOW);
}

void qrl_server_pw_settle(qrl_server *srv, const qrl_rl_rule r[2], qrl_err outcome) {
  if (outcome == QRL_BAD_CREDENTIALS) return; /* a failure: the tokens stay spent */
  qrl_server_refund(srv, &r[1], 1);
  if (outcome == QRL_OK) qrl_rl_reset(srv->rl, r[0].key);
  else qrl_server_refund(srv, &r[0], 1);
}

int qrl_server_socket_budget(qrl_server *srv, qrl_conn *c, struct lws *wsi) {
  int64_t now = qrl_now();
  if (srv->cfg->no_rate_limits) return 1;
  double t = c->msg_tokens + (double)(now - c->msg_last) * QRL_RL_SOCKET_MSGS /
                                 QRL_RL_MINT_WINDOW;
  if (!c->msg_last) t = QRL_RL_SOCKET_MSGS; /* a new socket starts full */
  if (t > QRL_RL_SOCKET_MSGS) t = QRL_RL_SOCKET_MSGS;
  c->msg_last = now;
  if (t >= 1.0) {
    c->msg_tokens = t - 1.0;
    return 1;
  }
  c->msg_tokens = t;
  if (++c->msg_strikes > QRL_RL_SOCKET_STRIKES) {
    qrl_server_audit(srv, c, "socket_flood", QRL_RATE_LIMITED, NULL, NULL, NULL);
    lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"flood", 5);
    return -1;
  }
  qrl_send_error(c, QRL_RATE_LIMITED, NULL);
  return 0;
}

qrl_err qrl_server_send_sms(qrl_db *db, qrl_task *t, const qrl_otp_sent *sent) {
  qrl_server *srv = t->srv;
  qrl_err rc = QRL_UNAVAILABLE;
  if (qrl_sms_otp_text("Cong Dich vu cong quoc gia", sent->code,
                       (srv->opol.ttl_secs + 59) / 60, t->sms_text, sizeof(t->sms_text)))
    return QRL_INTERNAL;
  for (size_t i = 0; i < srv->nsms; i++) {
    int64_t id = 0;
    qrl_err e = srv->sms[i]->send(srv->sms[i], db, sent->phone, t->sms_text, t->now, &id);
    if (e) {
      fprintf(stderr, "qrlogind: SMS gateway %s failed: %s\n", srv->sms[i]->name,
              qrl_strerror(e));
      continue;
    }
    if (id) t->sms_id = id;
    rc = QRL_OK;
  }
  return rc;
}

void qrl_server_push_sms(qrl_server *srv, const qrl_task *t) {
  if (!t->sms_id) return;
  for (size_t b = 0; b < srv->conns.nbuckets; b++) {
    for (qrl_conn *c = srv->conns.buckets[b]; c; c = c->hnext) {
      cJSON *o;
      if (c->kind != QRL_CONN_PHONE || strcmp(c->sms_phone, t->otp.phone) != 0) continue;
      if (!(o = qrl_json_msg("sms"))) continue;
      cJSON_AddNumberToObject(o, "id", (double)t->sms_id);
      cJSON_AddNumberToObject(o, "at", (double)t->now);
      cJSON_AddStringToObject(o, "text", t->sms_text);
      qrl_send_json(c, o);
    }
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  qrl_server *srv = h->data;
  if (srv->stopping) return;
  lwsl_user("signal %d: shutting down\n", signum);
  srv->stopping = 1;
  uv_signal_stop(&srv->sig_int);
  uv_signal_stop(&srv->sig_term);
  uv_close((uv_handle_t *)&srv->sig_int, NULL);
  uv_close((uv_handle_t *)&srv->sig_term, NULL);
  uv_timer_stop(&srv->sweep);
  uv_close((uv_handle_t *)&srv->sweep, NULL);
  /* Connections close now (their CLOSED callbacks cancel challenges). */
  lws_context_destroy(srv->ctx);
  /* Finish in-flight work; results for closed sockets are dropped. */
  qrl_workq_free(srv->wq);
  srv->wq = NULL;
  uv_close((uv_handle_t *)&srv->wake, NULL);
}

static const struct lws_protocols protocols[] = {
    /* [0] gets upgrades without a subprotocol and failed file lookups:
     * it refuses both. */
    {"qrl-reject", qrl_reject_callback, sizeof(qrl_conn), 0, 0, NULL, 0},
    {"qrl-api", qrl_http_callback, sizeof(qrl_conn), 0, 0, NULL, 0},
    {QRL_SUBPROTO_BROWSER, qrl_browser_callback, sizeof(qrl_conn), 512, 0, NULL, 0},
    {QRL_SUBPROTO_PHONE, qrl_phone_callback, sizeof(qrl_conn), 512, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* Pings idle websockets every 30 s and hangs up after 60 s of silence. */
static const lws_retry_bo_t retry_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 60,
};

static const struct lws_protocol_vhost_options mime_js = {
    NULL, NULL, ".js", "text/javascript; charset=utf-8"};

static int run_loop(qrl_server *srv) {
  struct lws_context_creation_info info;
  struct lws_http_mount api, files;
  void *loops[1] = {&srv->loop};
  int port;

  memset(&files, 0, sizeof(files));
  files.mountpoint = "/";
  files.mountpoint_len = 1;
  files.origin = srv->cfg->web_dir;
  files.def = "index.html";
  files.origin_protocol = LWSMPRO_FILE;
  files.extra_mimetypes = &mime_js;
  files.cache_max_age = 0;

  memset(&api, 0, sizeof(api));
  api.mount_next = &files;
  api.mountpoint = "/api";
  api.mountpoint_len = 4;
  api.origin = "qrl-api";
  api.origin_protocol = LWSMPRO_CALLBACK;

  memset(&info, 0, sizeof(info));
  info.port = srv->cfg->port;
  info.iface = srv->cfg->bind;
  info.protocols = protocols;
  info.mounts = &api;
  info.user = srv;
  info.foreign_loops = loops;
  info.retry_and_idle_policy = &retry_policy;
  info.timeout_secs = 10; /* handshakes and HTTP exchanges */
  info.options = LWS_SERVER_OPTION_LIBUV |
                 LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                 LWS_SERVER_OPTION_VALIDATE_UTF8 |
                 LWS_SERVER_OPTION_DISABLE_IPV6;
  info.pcontext = &srv->ctx;
  if (srv->cfg->tls_cert) {
    /* STS: browsers stick to https for this host (HSTS, half a year). */
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_STS;
    info.ssl_cert_filepath = srv->cfg->tls_cert;
    info.ssl_private_key_filepath = srv->cfg->tls_key;
  }

  srv->ctx = lws_create_context(&info);
  if (!srv->ctx) {
    fprintf(stderr, "qrlogind: cannot start the server on %s:%d\n",
            srv->cfg->bind, srv->cfg->port);
    return 1;
  }
  srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
  port = srv->vhost ? lws_get_vhost_listen_port(srv->vhost) : srv->cfg->port;
  if (port <= 0) {
    fprintf(stderr, "qrlogind: cannot listen on %s:%d\n", srv->cfg->bind,
            srv->cfg->port);
    lws_context_destroy(srv->ctx);
    return 1;
  }
  printf("qrlogind: listening on %s://%s:%d/\n", srv->cfg->tls_cert ? "https" : "http",
         srv->cfg->bind, port);
  fflush(stdout);
  uv_run(&srv->loop, UV_RUN_DEFAULT);
  /* With a foreign loop, lws 4.1.6 finishes tearing the context down only
   * when destroyed a second time, after its handles have closed. */
  lws_context_destroy(srv->ctx);
  srv->ctx = NULL;
  return 0;
}

int qrl_server_run(const qrl_config *cfg) {
  qrl_server *srv = calloc(1, sizeof(*srv));
  qrl_db *db = NULL;
  qrl_err err = QRL_OK;
  int rc = 1, loop_ok = 0;

  if (!srv) goto out;
  srv->cfg = cfg;
  srv->pol = qrl_acct_policy_default();
  srv->pol.hash_cost_log2 = cfg->hash_cost;
  srv->pol.fresh_device_secs = (int64_t)cfg->fresh_device_hours * 3600;
  srv->pol.required_level = cfg->required_level;

  /* Create/migrate the schema and seed before any thread or socket. */
  err = qrl_db_open(cfg->db_path, &db);
  if (err) {
    fprintf(stderr, "qrlogind: cannot open database %s: %s\n", cfg->db_path,
            qrl_strerror(err));
    goto out;
  }
  if (cfg->demo && ((err = qrl_db_seed_demo(db, &srv->pol, qrl_now())) ||
                    (err = qrl_legacy_seed_demo(db, &srv->pol, qrl_now())))) {
    fprintf(stderr, "qrlogind: cannot seed demo data: %s\n", qrl_strerror(err));
    goto out;
  }
  qrl_db_close(db);
  db = NULL;
  if ((err = qrl_otp_policy_default(&srv->opol))) goto out;
  srv->opol.password_level = cfg->password_level;
  srv->opol.cutover = cfg->cutover;
  srv->opol.ttl_secs = cfg->otp_ttl;
  if (!(srv->rl = qrl_rl_new(200000))) goto out;
  if (!(srv->sms[srv->nsms++] = qrl_sms_outbox_new(cfg->sms_outbox, &err))) {
    srv->nsms--;
    fprintf(stderr, "qrlogind: cannot open the SMS outbox %s: %s\n", cfg->sms_outbox,
            qrl_strerror(err));
    goto out;
  }
  if (cfg->demo && !(srv->sms[srv->nsms++] = qrl_sms_sim_new(&err))) {
    srv->nsms--;
    goto out;
  }

  if (qrl_conns_init(&srv->conns)) goto out;
  srv->store = qrl_store_mem_new(cfg->max_challenges, 300, qrl_browser_on_event, srv);
  if (!srv->store) goto out;
  if (uv_loop_init(&srv->loop)) goto out;
  loop_ok = 1;
  uv_async_init(&srv->loop, &srv->wake, on_wake);
  srv->wake.data = srv;
  srv->wq = qrl_workq_new(cfg->workers, worker_init, worker_fini, srv,
                          wake_from_worker, &srv->wake, &err);
  if (!srv->wq) {
    fprintf(stderr, "qrlogind: cannot start workers: %s\n", qrl_strerror(err));
    uv_close((uv_handle_t *)&srv->wake, NULL);
    goto out;
  }
  qrl_workq_set_limit(srv->wq, 10000);
  uv_signal_init(&srv->loop, &srv->sig_int);
  uv_signal_init(&srv->loop, &srv->sig_term);
  srv->sig_int.data = srv->sig_term.data = srv;
  uv_signal_start(&srv->sig_int, on_signal, SIGINT);
  uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
  uv_timer_init(&srv->loop, &srv->sweep);
  srv->sweep.data = srv;
  uv_timer_start(&srv->sweep, on_sweep, 1000, 1000);

  if (run_loop(srv)) {
    /* Startup failed: tear down what run_loop did not. */
    srv->stopping = 1;
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sweep, NULL);
    qrl_workq_free(srv->wq);
    srv->wq = NULL;
    uv_close((uv_handle_t *)&srv->wake, NULL);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    goto out;
  }
  rc = 0;
out:
  if (srv) {
    if (loop_ok) {
      uv_run(&srv->loop, UV_RUN_DEFAULT); /* let closing handles finish */
      if (uv_loop_close(&srv->loop)) {
        lwsl_warn("event loop still had handles at exit\n");
      }
    }
    qrl_workq_free(srv->wq);
    qrl_store_free(srv->store);
    qrl_rl_free(srv->rl);
    for (size_t i = 0; i < srv->nsms; i++) srv->sms[i]->free(srv->sms[i]);
    qrl_cleanse(&srv->opol, sizeof(srv->opol));
    qrl_conns_free(&srv->conns);
    free(srv);
  }
  qrl_db_close(db);
  return rc;
}
