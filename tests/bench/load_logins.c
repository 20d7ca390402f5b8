/*
 * load_logins.c - qrl_bench_load's logins mode: QR logins end to end, with
 * phones already logged in, as many at once as --conc.
 *
 * A completed QR login logs its phone out (docs/protocol.md), and an
 * account holds one device, so each login needs a fresh app login of its
 * own citizen. The work goes in batches, and only the second half of each
 * is measured:
 *
 *   1. every phone (one per citizen, --citizens of them, added with
 *      qrlogin-admin) logs in over its socket - not measured; then the
 *      server is let go idle;
 *   2. the batch: each citizen logs in once by QR, --conc at a time:
 *      browser socket -> `challenge`; phone `scan` -> `scan_ok`, browser
 *      `scanned` (the number); phone `confirm` signed with its device key ->
 *      `confirm_ok`, browser `completed` (the code); POST /api/session ->
 *      200 and the cookie. Latency is from the browser's connect to the
 *      cookie. The server's CPU is read when it is idle before the batch
 *      and again once it is idle after (so the work it queued for its
 *      workers - audit rows, session writes - is counted too); the wall
 *      time is from the batch's start to its last cookie.
 *
 * Batches repeat until --secs of measured time. Against qrl_bench_bare the
 * same client does the same exchange (the bare server checks nothing).
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "load_bench.h"
#include "load_ws.h"
#include "qrlogin/protocol.h"

#ifndef QRLOGIN_ADMIN_PATH
#error "QRLOGIN_ADMIN_PATH must be defined by the build"
#endif

#define PASSWORD "MatKhau@2024"
#define STEP_LIMIT_MS 60000.0 /* a phase that takes longer has failed */
#define IDLE_SAMPLE_MS 10.0
#define IDLE_CPU_NS 300000    /* under 3 % of a core over a sample: idle */
#define IDLE_LIMIT_MS 3000.0

enum { T_PHONE, T_BROWSER, T_HTTP };

/* What a connection's user pointer points at. */
typedef struct tag {
  int kind, idx;
} tag;

enum { P_DOWN, P_CONNECTING, P_LOGGING_IN, P_READY, P_BUSY, P_SPENT };

typedef struct phone {
  tag t;
  lw_conn *c;
  int state;
  char id[QRL_CITIZEN_ID_LEN + 1];
  uint8_t priv[32];
  char pub[96];
  char session[64];
} phone;

enum { L_IDLE, L_CHALLENGE, L_SCAN, L_CONFIRM, L_HTTP, L_DONE, L_FAILED };

typedef struct login {
  tag tb, th;
  lw_conn *br, *http;
  int phone, state, number, scan_ok, scanned, confirm_ok;
  char binding[64];
  qrl_qr_payload qp;
  double t0, t_scan;
} login;

typedef struct lrun {
  const lb_opts *o;
  const lp_server *s;
  lw_loop *l;
  char origin[64];
  int bare;
  phone *ph;      /* owned: o->citizens */
  login *lg;      /* owned: o->citizens (a batch) */
  int in_batch;    /* logins may start (not while the phones log in) */
  int next_login, active, done, failed, ready;
  lb_vec lat, scan_lat;
  lb_sizes sizes;
  char first_error[200];
  unsigned long errors;
} lrun;

static void note_error(lrun *r, const char *what, const char *msg) {
  if (!r->errors++)
    snprintf(r->first_error, sizeof(r->first_error), "%s: %.160s", what, msg);
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* ---- the login's steps ------------------------------------------------------- */

static void login_fail(lrun *r, login *g, const char *why, const char *msg) {
  note_error(r, why, msg);
  if (g->br) lw_close(g->br);
  if (g->http) lw_close(g->http);
  g->br = g->http = NULL;
  g->state = L_FAILED;
  r->ph[g->phone].state = P_SPENT; /* logs in again before the next batch */
  r->active--;
  r->failed++;
}

static void login_start(lrun *r, login *g, int phone_idx) {
  memset(g, 0, sizeof(*g));
  g->tb = (tag){T_BROWSER, (int)(g - r->lg)};
  g->th = (tag){T_HTTP, (int)(g - r->lg)};
  g->phone = phone_idx;
  g->t0 = lw_now_ms();
  g->state = L_CHALLENGE;
  r->ph[phone_idx].state = P_BUSY;
  r->active++;
  if (!(g->br = lw_ws_connect(r->l, QRL_SUBPROTO_BROWSER, r->origin, &g->tb)))
    login_fail(r, g, "browser connect", "no socket");
}

/* Starts logins while fewer than --conc are in flight. */
static void fill(lrun *r) {
  while (r->in_batch && r->active < r->o->conc && r->next_login < r->o->citizens) {
    int i = r->next_login++;
    if (r->ph[i].state != P_READY) continue; /* its app login failed */
    login_start(r, &r->lg[i], i);
  }
}

static void send_confirm(lrun *r, login *g) {
  phone *p = &r->ph[g->phone];
  char msg[512], sigb64[160], req[1024];
  uint8_t sig[QRL_SIG_MAX];
  size_t msglen = 0, siglen = 0;
  int64_t ts = (int64_t)time(NULL);
  int n;

  if (qrl_sign_string(&g->qp, r->origin, p->id, g->number, ts, QRL_DECISION_CONFIRM, msg,
                      sizeof(msg), &msglen) != QRL_OK ||
      qrl_ec_sign(p->priv, msg, msglen, sig, &siglen) != QRL_OK ||
      qrl_b64url_encode(sig, siglen, sigb64, sizeof(sigb64)) < 0) {
    login_fail(r, g, "signing", "");
    return;
  }
  n = snprintf(req, sizeof(req),
               "{\"type\":\"confirm\",\"session\":\"%s\",\"challenge\":\"%s\",\"number\":%d,"
               "\"ts\":%lld,\"sig\":\"%s\"}",
               p->session, g->qp.id, g->number, (long long)ts, sigb64);
  g->state = L_CONFIRM;
  if (lw_send_text(p->c, req, (size_t)n)) login_fail(r, g, "confirm", "phone gone");
}

static void browser_message(lrun *r, login *g, const cJSON *m, const char *type,
                            const char *raw) {
  if (!strcmp(type, "frame")) return; /* the QR redrawn: the phone scanned already */
  if (!strcmp(type, "challenge") && g->state == L_CHALLENGE) {
    const char *payload = jstr(cJSON_GetObjectItemCaseSensitive(m, "qr"), "payload");
    phone *p = &r->ph[g->phone];
    char req[512];
    int n;
    snprintf(g->binding, sizeof(g->binding), "%s", jstr(m, "binding"));
    if (qrl_qr_payload_parse(payload, strlen(payload), &g->qp) != QRL_OK) {
      login_fail(r, g, "unreadable QR", raw);
      return;
    }
    n = snprintf(req, sizeof(req), "{\"type\":\"scan\",\"session\":\"%s\",\"qr\":\"%s\"}",
                 p->session, payload);
    g->state = L_SCAN;
    g->t_scan = lw_now_ms();
    if (lw_send_text(p->c, req, (size_t)n)) login_fail(r, g, "scan", "phone gone");
  } else if (!strcmp(type, "scanned") && g->state == L_SCAN) {
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(m, "number");
    g->number = cJSON_IsNumber(num) ? num->valueint : -1;
    g->scanned = 1;
    if (g->scan_ok) send_confirm(r, g);
  } else if (!strcmp(type, "completed") && g->state == L_CONFIRM) {
    char body[256];
    snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", jstr(m, "code"),
             g->binding);
    g->state = L_HTTP;
    if (!(g->http = lw_http_post(r->l, "/api/session", r->origin, body, &g->th)))
      login_fail(r, g, "code exchange", "no socket");
  } else {
    login_fail(r, g, "browser", raw);
  }
}

static void phone_message(lrun *r, phone *p, const cJSON *m, const char *type,
                          const char *raw) {
  login *g = &r->lg[p - r->ph];
  int busy = p->state == P_BUSY;
  if (!strcmp(type, "login_ok") && p->state == P_LOGGING_IN) {
    snprintf(p->session, sizeof(p->session), "%s", jstr(m, "session"));
    p->state = P_READY;
    r->ready++;
  } else if (!strcmp(type, "logout")) {
    /* pushed after confirm_ok: the app session is over */
  } else if (busy && !strcmp(type, "scan_ok") && g->state == L_SCAN) {
    g->scan_ok = 1;
    if (g->scanned) send_confirm(r, g);
  } else if (!strcmp(type, "confirm_ok") && g->state >= L_CONFIRM) {
    /* the browser's `completed` may come first, even the cookie */
    g->confirm_ok = 1;
  } else if (busy && g->state < L_DONE) {
    login_fail(r, g, "phone", raw);
  } else {
    note_error(r, "phone (not in a login)", raw);
    p->state = P_SPENT;
  }
}

static void on_message(lw_conn *c, void *user, const char *msg, size_t len, void *arg) {
  lrun *r = arg;
  tag *t = user;
  cJSON *m = cJSON_ParseWithLength(msg, len);
  const char *type = jstr(m, "type");
  (void)c;
  if (!r->bare) lb_sizes_note(&r->sizes, type, len);
  if (t->kind == T_PHONE) phone_message(r, &r->ph[t->idx], m, type, msg);
  else if (t->kind == T_BROWSER) browser_message(r, &r->lg[t->idx], m, type, msg);
  cJSON_Delete(m);
  fill(r);
}

static void on_open(lw_conn *c, void *user, void *arg) {
  lrun *r = arg;
  tag *t = user;
  phone *p;
  char req[512];
  int n;
  if (t->kind != T_PHONE) return;
  p = &r->ph[t->idx];
  n = snprintf(req, sizeof(req),
               "{\"type\":\"login\",\"id\":\"%s\",\"password\":\"" PASSWORD "\","
               "\"device_key\":\"%s\",\"device_name\":\"bench\"}",
               p->id, p->pub);
  p->state = P_LOGGING_IN;
  lw_send_text(c, req, (size_t)n);
}

static void on_closed(lw_conn *c, void *user, lw_why why, int status, int code, void *arg) {
  lrun *r = arg;
  tag *t = user;
  char what[96];
  (void)c;
  snprintf(what, sizeof(what), "closed (why %d, HTTP %d, close %d)", (int)why, status, code);
  if (t->kind == T_PHONE) {
    phone *p = &r->ph[t->idx];
    p->c = NULL;
    if (p->state == P_BUSY) {
      /* After confirm_ok the phone has nothing more to say: a server that
       * hangs up on a logged-out phone is within its rights. */
      login *g = &r->lg[t->idx];
      if (g->state == L_SCAN || (g->state == L_CONFIRM && !g->confirm_ok))
        login_fail(r, g, "phone", what);
    }
    if (p->state != P_BUSY && p->state != P_SPENT) p->state = P_DOWN;
  } else if (t->kind == T_BROWSER) {
    login *g = &r->lg[t->idx];
    g->br = NULL;
    if (g->state != L_DONE && g->state != L_FAILED && g->state != L_HTTP)
      login_fail(r, g, "browser", what);
  }
}

static void on_http(lw_conn *c, void *user, int status, const char *head, const char *body,
                    size_t blen, void *arg) {
  lrun *r = arg;
  login *g = &r->lg[((tag *)user)->idx];
  const char *ck = strcasestr(head, "\r\nset-cookie:");
  (void)c;
  g->http = NULL;
  if (g->state != L_HTTP) return;
  if (status != 200 || !ck) {
    login_fail(r, g, "code exchange", status < 0 ? "no answer" : body);
    return;
  }
  if (!r->bare) {
    ck += 13;
    while (*ck == ' ') ck++;
    r->sizes.v[LB_SESSION] = blen;
    r->sizes.v[LB_COOKIE] = strcspn(ck, "\r\n");
  }
  lb_vec_push(&r->lat, lw_now_ms() - g->t0);
  lb_vec_push(&r->scan_lat, lw_now_ms() - g->t_scan);
  g->state = L_DONE;
  r->ph[g->phone].state = P_SPENT; /* logged out by the login: again next batch */
  if (g->br) lw_close(g->br); /* the page goes on to the portal */
  g->br = NULL;
  r->active--;
  r->done++;
}

/* ---- phases ---------------------------------------------------------------------- */

/* Runs the loop until the server has used (almost) no CPU for three samples
 * in a row, or IDLE_LIMIT_MS. */
static void wait_idle(lrun *r) {
  double end = lw_now_ms() + IDLE_LIMIT_MS, next = lw_now_ms() + IDLE_SAMPLE_MS;
  int64_t prev = lp_cpu_ns(r->s->pid);
  int quiet = 0;
  while (quiet < 3 && lw_now_ms() < end) {
    double now = lw_now_ms();
    if (now < next) {
      lw_run(r->l, (int)(next - now) + 1);
      continue;
    }
    int64_t cur = lp_cpu_ns(r->s->pid);
    quiet = cur - prev < IDLE_CPU_NS ? quiet + 1 : 0;
    prev = cur;
    next += IDLE_SAMPLE_MS;
  }
}

/* Logs in every phone that is not ready. 0 or -1. */
static int phones_login(lrun *r) {
  double end = lw_now_ms() + STEP_LIMIT_MS;
  r->ready = 0;
  for (int i = 0; i < r->o->citizens; i++) {
    phone *p = &r->ph[i];
    if (p->state == P_READY) {
      r->ready++;
      continue;
    }
    if (!p->c) {
      p->state = P_CONNECTING;
      if (!(p->c = lw_ws_connect(r->l, QRL_SUBPROTO_PHONE, NULL, &p->t))) return -1;
    } else {
      on_open(p->c, &p->t, r); /* the socket outlived its session: log in on it */
    }
  }
  while (r->ready < r->o->citizens && lw_now_ms() < end) {
    lw_run(r->l, 50);
    for (int i = 0; i < r->o->citizens; i++) /* a phone refused or dropped: again */
      if (r->ph[i].state == P_DOWN || r->ph[i].state == P_SPENT) return -1;
  }
  return r->ready == r->o->citizens ? 0 : -1;
}

/* One batch: every citizen once. Returns its wall time in ms, -1 on a stall. */
static double batch(lrun *r) {
  double t0 = lw_now_ms(), end = t0 + STEP_LIMIT_MS, last = t0;
  int before = r->done;
  r->next_login = 0;
  r->active = 0;
  r->in_batch = 1;
  fill(r);
  while ((r->active > 0 || r->next_login < r->o->citizens) && lw_now_ms() < end) {
    lw_run(r->l, 50);
    if (r->done != before) {
      last = lw_now_ms();
      before = r->done;
    }
    fill(r);
  }
  r->in_batch = 0;
  if (r->active > 0) return -1;
  return last - t0;
}

/* Adds the citizens with qrlogin-admin (qrlogind only). 0 or -1. */
static int add_citizens(lrun *r) {
  for (int i = 0; i < r->o->citizens; i++) {
    char name[48], tel[16];
    const char *argv[] = {QRLOGIN_ADMIN_PATH, "--db", r->s->db, "--hash-cost", "10",
                          "citizen", "add", "--id", r->ph[i].id, "--name", name,
                          "--level", "2", "--phone", tel, "--password", PASSWORD,
                          "--passcode", "123456", "--web-login", "on", NULL};
    snprintf(name, sizeof(name), "Công dân thử tải %d", i + 1);
    snprintf(tel, sizeof(tel), "09%08d", (i + 1) % 100000000);
    if (lp_run(argv) != 0) {
      fprintf(stderr, "load: qrlogin-admin could not add citizen %s\n", r->ph[i].id);
      return -1;
    }
  }
  return 0;
}

typedef struct lres {
  long logins, failed, batches;
  double secs, per_sec, cpu_ms, cpu_pct, lat50, lat99, scan50, scan99, app_cpu_ms;
  double client_cpu_pct;
  int exit_status;
} lres;

static int logins_one(const lb_opts *o, int bare, const lb_sizes *sizes, lb_sizes *seen,
                      lres *out) {
  const char *name = bare ? "qrl_bench_bare" : "qrlogind";
  lw_events ev = {.open = on_open, .message = on_message, .closed = on_closed,
                  .http_done = on_http};
  lp_server s;
  lrun r;
  double timed = 0;
  int64_t cpu = 0, app_cpu = 0;
  long long self = 0;
  long app_logins = 0;
  int rc = -1;

  memset(&r, 0, sizeof(r));
  memset(out, 0, sizeof(*out));
  r.o = o;
  r.s = &s;
  r.bare = bare;
  lb_print_machine();
  if (lb_start(&s, o, bare, sizes)) return -1;
  snprintf(r.origin, sizeof(r.origin), "http://127.0.0.1:%d", s.port);
  if (!(r.ph = calloc((size_t)o->citizens, sizeof(*r.ph))) ||
      !(r.lg = calloc((size_t)o->citizens, sizeof(*r.lg))) ||
      !(r.l = lw_loop_new(s.port, o->addrs, &ev, &r)))
    goto out;
  for (int i = 0; i < o->citizens; i++) {
    phone *p = &r.ph[i];
    uint8_t pub[65];
    p->t = (tag){T_PHONE, i};
    snprintf(p->id, sizeof(p->id), "0012000%05d", (i + 1) % 100000);
    if (qrl_ec_keygen(p->priv, pub) != QRL_OK ||
        qrl_b64url_encode(pub, sizeof(pub), p->pub, sizeof(p->pub)) < 0)
      goto out;
  }
  if (!bare && add_citizens(&r)) goto out;

  while (timed < o->secs * 1000.0) {
    int64_t c0, c1;
    double ms;
    int done0 = r.done;
    c0 = lp_cpu_ns(s.pid);
    if (phones_login(&r)) {
      fprintf(stderr, "load: phones could not log in (%s)\n", r.first_error);
      goto out;
    }
    wait_idle(&r);
    c1 = lp_cpu_ns(s.pid);
    app_cpu += c1 - c0;
    app_logins += o->citizens;
    self -= lb_self_cpu_ns();
    ms = batch(&r);
    self += lb_self_cpu_ns();
    if (ms < 0) {
      fprintf(stderr, "load: a batch stalled (%d in flight)\n", r.active);
      goto out;
    }
    wait_idle(&r);
    cpu += lp_cpu_ns(s.pid) - c1;
    timed += ms;
    out->batches++;
    if (r.done == done0) {
      fprintf(stderr, "load: a whole batch failed (%s)\n", r.first_error);
      goto out;
    }
  }
  out->logins = r.done;
  out->failed = r.failed;
  out->secs = timed / 1e3;
  out->per_sec = r.done / out->secs;
  out->cpu_ms = r.done ? (double)cpu / 1e6 / r.done : 0;
  out->cpu_pct = (double)cpu / 1e6 / timed * 100.0;
  out->client_cpu_pct = (double)self / 1e6 / timed * 100.0;
  out->app_cpu_ms = app_logins ? (double)app_cpu / 1e6 / (double)app_logins : 0;
  out->lat50 = lb_pct(r.lat.v, r.lat.n, 50);
  out->lat99 = lb_pct(r.lat.v, r.lat.n, 99);
  out->scan50 = lb_pct(r.scan_lat.v, r.scan_lat.n, 50);
  out->scan99 = lb_pct(r.scan_lat.v, r.scan_lat.n, 99);
  rc = 0;
out:
  if (r.errors)
    fprintf(stderr, "load: %lu errors against %s, the first: %s\n", r.errors, name,
            r.first_error);
  out->exit_status = lb_stop(&s, o, name);
  lw_loop_free(r.l);
  if (seen) *seen = r.sizes;
  free(r.ph);
  free(r.lg);
  free(r.lat.v);
  free(r.scan_lat.v);
  return rc;
}

static void print_row(const char *name, const lres *x) {
  printf("%-10s %7ld %8.1f %9.1f %9.3f %7.1f %9.1f %9.1f %8ld\n", name, x->logins,
         x->secs, x->per_sec, x->cpu_ms, x->cpu_pct, x->lat50, x->lat99, x->failed);
}

int lb_logins(const lb_opts *o) {
  lres q, b;
  lb_sizes seen;
  char sz[512];

  printf("qrl_bench_load logins: %d citizens a batch, %d in flight, %d s measured, "
         "client on CPU %d, server on CPU %d\n",
         o->citizens, o->conc, o->secs, o->cpu_client, o->cpu_server);
  memset(&seen, 0, sizeof(seen));
  memset(&q, 0, sizeof(q));
  if (o->conc > o->citizens) fprintf(stderr, "load: --conc is at most --citizens\n");
  if (!o->bare_only && logins_one(o, 0, NULL, &seen, &q)) return 1;
  if (o->bare && logins_one(o, 1, o->bare_only ? NULL : &seen, NULL, &b)) return 1;
  lb_sizes_arg(&seen, sz, sizeof(sz));
  printf("message sizes (bytes, from qrlogind): %s\n", sz);
  printf("%-10s %7s %8s %9s %9s %7s %9s %9s %8s\n", "server", "logins", "secs", "logins/s",
         "CPU ms", "CPU %", "p50 ms", "p99 ms", "failed");
  printf("%-10s %7s %8s %9s %9s %7s %9s %9s %8s\n", "", "", "measured", "", "per login",
         "1 core", "connect", "->cookie", "");
  if (!o->bare_only) print_row("qrlogind", &q);
  if (o->bare) print_row("bare", &b);
  if (o->bare && !o->bare_only) {
    printf("%-10s %7s %8s %8.2fx %8.1fx %6.2fx %8.1fx %8.1fx\n", "ratio", "", "",
           lb_ratio(q.per_sec, b.per_sec), lb_ratio(q.cpu_ms, b.cpu_ms),
           lb_ratio(q.cpu_pct, b.cpu_pct), lb_ratio(q.lat50, b.lat50),
           lb_ratio(q.lat99, b.lat99));
  }
  if (!o->bare_only)
    printf("  qrlogind: scan->cookie p50 %.1f ms p99 %.1f ms; %ld batches; an app login "
         "(before each batch, not in the figures) %.2f ms of server CPU; client CPU %.0f %%; "
         "exit %d\n",
         q.scan50, q.scan99, q.batches, q.app_cpu_ms, q.client_cpu_pct, q.exit_status);
  if (o->bare)
    printf("  bare: scan->cookie p50 %.1f ms p99 %.1f ms; %ld batches; client CPU %.0f %%; "
           "exit %d\n",
           b.scan50, b.scan99, b.batches, b.client_cpu_pct, b.exit_status);
  return (o->bare_only || q.logins > 0) && (!o->bare || b.logins > 0) ? 0 : 1;
}
