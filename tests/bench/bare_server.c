/*
 * bare_server.c - qrl_bench_bare: the transport part of qrlogind's work on
 * plain libwebsockets 4.1.6 and libuv, for the load benchmark to run beside
 * qrlogind in the same run (tests/bench/bench_load.c).
 *
 * It speaks the shapes of qrlogin.browser.v1 and qrlogin.phone.v1 with
 * messages of the sizes qrlogind sends (--sizes, measured by the bench in
 * the same run), and nothing behind them:
 *
 *   browser socket  a `challenge` on connect, then a `frame` every
 *                   --frame-secs, each socket on its own schedule (a timer
 *                   wheel of --tick-ms slots), `scanned` and `completed`
 *                   when a phone says so;
 *   phone socket    `login` -> `login_ok`; `scan` -> `scan_ok` (and
 *                   `scanned` to the browser whose id is in the QR);
 *                   `confirm` -> `confirm_ok`, `logout` (and `completed` to
 *                   the browser);
 *   POST /api/...   200 with a Set-Cookie and a body of the session answer's
 *                   size.
 *
 * No crypto, no database, no JSON library (requests are recognised by
 * substring), no Origin or Host checks. The lws settings that shape the
 * transport are qrlogind's: libuv, ping after 30 s and hang up after 60 s of
 * silence, receive buffers of 128 bytes for browsers and 512 for phones
 * (writes not cut to them), UTF-8 validation, the security headers.
 *
 * --no-ping leaves lws's ping and idle policy out: lws 4.1.6 keeps every
 * socket's validity timer in one sorted list that it walks from the head to
 * insert the newest, so with the policy each new socket and each pong costs
 * time in proportion to the sockets open. The option shows that cost apart.
 * (qrlogind pings from its own timing wheel instead, glue/keepalive.c: with
 * --no-ping this server does less than qrlogind, no pings at all.)
 *
 * Usage: qrl_bench_bare [--port N] [--frame-secs F] [--tick-ms T]
 *                       [--sizes name=bytes,...] [--no-ping]
 * Prints "qrl_bench_bare: listening on http://127.0.0.1:PORT/" when ready;
 * exits 0 on SIGTERM or SIGINT.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libwebsockets.h>
#include <uv.h>

#define MAX_MSG 4096
#define QUEUE 6

/* The messages, and their default sizes in bytes (qrlogind's on main of
 * 2026-12-02; the bench passes the sizes of its own run). A message shorter
 * than this one's own fields stays as it is. */
enum kind {
  K_NONE, K_CHALLENGE, K_FRAME, K_SCANNED, K_COMPLETED, K_LOGIN_OK, K_SCAN_OK,
  K_CONFIRM_OK, K_LOGOUT, K_ERROR, K_SESSION, K_COOKIE, K_COUNT
};
static const char *const kind_name[K_COUNT] = {
    "", "challenge", "frame", "scanned", "completed", "login_ok", "scan_ok",
    "confirm_ok", "logout", "error", "session", "cookie"};
static const size_t kind_default[K_COUNT] = {0,  295, 122, 60, 103, 174, 542,
                                             58, 118, 160, 37, 90};

typedef struct bsess bsess;

/* The server: one per process, reached from lws through the context's user
 * pointer (no globals). */
typedef struct bare {
  uv_loop_t loop;
  uv_timer_t tick;
  uv_signal_t sig_int, sig_term;
  struct lws_context *ctx;
  int port, frame_ms, tick_ms, no_ping;
  size_t size[K_COUNT];
  bsess **by_id;    /* owned: challenge serial -> its browser (NULL once gone) */
  uint32_t nids, cap_ids;
  bsess **slots;    /* owned: the wheel: browsers by the phase of their schedule */
  uint32_t nslots;
  uint64_t next_slot_ms;
  unsigned long dropped; /* messages not queued: a socket that does not read */
} bare;

/* A websocket (browser or phone): lws's per-session data. */
struct bsess {
  struct lws *wsi;
  bsess *prev, *next; /* browser: its wheel slot's list */
  uint64_t est_ms;    /* browser: when its challenge was sent (frame 0) */
  uint32_t id;        /* browser: its challenge serial; phone: the one it scanned */
  uint32_t frame;     /* browser: the newest frame queued */
  uint32_t slot;
  uint8_t browser, in_slot, qn;
  uint8_t q[QUEUE];   /* messages to send, oldest first */
  char *rx;           /* owned: a request arriving in pieces */
  size_t rx_len;
};

static bare *bare_of(struct lws *wsi) { return lws_context_user(lws_get_context(wsi)); }

/* Now, fresh (uv_now() is the loop's cached time: a busy round makes it
 * stale, and a schedule read from it early). */
static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

/* ---- messages -------------------------------------------------------------- */

/* A 22-character base64url id that carries serial (the QR's id). */
static void id22(uint32_t serial, char out[23]) { snprintf(out, 23, "B%020uA", serial); }

/* Pads the JSON object out[0..len) to want bytes with a "pad" member.
 * Returns the new length (len if it is already as long). */
static size_t pad(char *out, size_t len, size_t want) {
  size_t k;
  if (want > MAX_MSG || len + 9 > want) return len;
  k = want - len - 9; /* ,"pad":"  +  k  +  "}  replace the final } */
  memcpy(out + len - 1, ",\"pad\":\"", 8);
  memset(out + len + 7, 'x', k);
  memcpy(out + len + 7 + k, "\"}", 2);
  return want;
}

/* Writes message kind for session x into out (MAX_MSG bytes). Its length. */
static size_t build(const bare *b, const bsess *x, int kind, char *out) {
  char id[23];
  int n = 0;
  id22(x->id, id);
  switch (kind) {
  case K_CHALLENGE:
    n = snprintf(out, MAX_MSG,
                 "{\"type\":\"challenge\",\"id\":\"%s\",\"qr\":{\"payload\":\"QRL2.%s.0."
                 "AAAAAAAAAAAAAAAA\",\"frame\":0},\"binding\":"
                 "\"BBBBBBBBBBBBBBBBBBBBBB\",\"frame_secs\":%d}",
                 id, id, b->frame_ms / 1000);
    break;
  case K_FRAME:
    n = snprintf(out, MAX_MSG,
                 "{\"type\":\"frame\",\"id\":\"%s\",\"qr\":{\"payload\":\"QRL2.%s.%u."
                 "AAAAAAAAAAAAAAAA\",\"frame\":%u}}",
                 id, id, x->frame, x->frame);
    break;
  case K_SCANNED:
    n = snprintf(out, MAX_MSG, "{\"type\":\"scanned\",\"number\":42,\"id\":\"%s\"}", id);
    break;
  case K_COMPLETED:
    n = snprintf(out, MAX_MSG,
                 "{\"type\":\"completed\",\"id\":\"%s\",\"code\":\"CCCCCCCCCCCCCCCCCCCCCC\"}",
                 id);
    break;
  case K_LOGIN_OK:
    n = snprintf(out, MAX_MSG,
                 "{\"type\":\"login_ok\",\"session\":\"SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
                 "SSSSSS\",\"account\":{\"level\":2,\"web_login\":true}}");
    break;
  case K_SCAN_OK:
    n = snprintf(out, MAX_MSG,
                 "{\"type\":\"scan_ok\",\"challenge\":\"%s\",\"numbers\":[17,42,88],"
                 "\"step_up\":false}",
                 id);
    break;
  case K_CONFIRM_OK:
    n = snprintf(out, MAX_MSG, "{\"type\":\"confirm_ok\",\"challenge\":\"%s\"}", id);
    break;
  case K_LOGOUT:
    n = snprintf(out, MAX_MSG, "{\"type\":\"logout\",\"reason\":\"web_login_completed\"}");
    break;
  default:
    n = snprintf(out, MAX_MSG, "{\"type\":\"error\",\"code\":\"unknown_type\"}");
    break;
  }
  return pad(out, n > 0 ? (size_t)n : 0, b->size[kind]);
}

/* Queues message kind on x and asks for a write. A frame already queued is
 * not queued twice (it is sent with the newest number). */
static void push(bare *b, bsess *x, int kind) {
  if (kind == K_FRAME)
    for (int i = 0; i < x->qn; i++)
      if (x->q[i] == K_FRAME) return;
  if (x->qn == QUEUE) {
    b->dropped++;
    return;
  }
  x->q[x->qn++] = (uint8_t)kind;
  lws_callback_on_writable(x->wsi);
}

/* One lws_write per WRITEABLE, as lws wants. */
static int write_one(bare *b, bsess *x) {
  unsigned char buf[LWS_PRE + MAX_MSG];
  size_t len;
  int kind;
  if (!x->qn) return 0;
  kind = x->q[0];
  memmove(x->q, x->q + 1, --x->qn);
  len = build(b, x, kind, (char *)buf + LWS_PRE);
  if (lws_write(x->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) return -1;
  if (x->qn) lws_callback_on_writable(x->wsi);
  return 0;
}

/* ---- browsers: the ids and the wheel ---------------------------------------- */

static int add_browser(bare *b, bsess *x) {
  uint64_t now = now_ms();
  if (b->nids == b->cap_ids) {
    uint32_t cap = b->cap_ids ? b->cap_ids * 2 : 4096;
    bsess **n = realloc(b->by_id, cap * sizeof(*n));
    if (!n) return -1;
    b->by_id = n;
    b->cap_ids = cap;
  }
  x->browser = 1;
  x->id = b->nids;
  b->by_id[b->nids++] = x;
  x->est_ms = now;
  /* Frame k is due at est + k * frame_ms: the slot that comes round at the
   * first tick boundary at or after est. */
  x->slot = (uint32_t)(((now + (uint64_t)b->tick_ms - 1) / (uint64_t)b->tick_ms) % b->nslots);
  x->next = b->slots[x->slot];
  if (x->next) x->next->prev = x;
  b->slots[x->slot] = x;
  x->in_slot = 1;
  return 0;
}

/* Takes x off the wheel: no more frames (its QR was scanned, as qrlogind
 * redraws only a QR still waiting). */
static void unslot(bare *b, bsess *x) {
  if (!x->in_slot) return;
  if (x->prev) x->prev->next = x->next;
  else b->slots[x->slot] = x->next;
  if (x->next) x->next->prev = x->prev;
  x->prev = x->next = NULL;
  x->in_slot = 0;
}

static void remove_browser(bare *b, bsess *x) {
  unslot(b, x);
  if (x->id < b->nids && b->by_id[x->id] == x) b->by_id[x->id] = NULL;
}

/* Runs right after each slot boundary (a one-shot timer set each time: a
 * repeating one drifts off the boundaries). */
static void on_tick(uv_timer_t *t) {
  bare *b = t->data;
  uint64_t now = now_ms();
  while (b->next_slot_ms <= now) {
    uint32_t s = (uint32_t)((b->next_slot_ms / (uint64_t)b->tick_ms) % b->nslots);
    for (bsess *x = b->slots[s]; x; x = x->next) {
      uint32_t f = (uint32_t)((now - x->est_ms) / (uint64_t)b->frame_ms);
      if (f > x->frame) {
        x->frame = f;
        push(b, x, K_FRAME);
      }
    }
    b->next_slot_ms += (uint64_t)b->tick_ms;
  }
  now = now_ms();
  uv_update_time(&b->loop);
  uv_timer_start(&b->tick, on_tick, b->next_slot_ms > now ? b->next_slot_ms - now + 1 : 0, 0);
}

/* ---- requests ------------------------------------------------------------------ */

/* The browser whose challenge id follows "QRL2." in msg, or NULL. */
static bsess *scanned_browser(bare *b, const char *msg, uint32_t *serial) {
  const char *p = strstr(msg, "\"QRL2.B");
  char *end;
  unsigned long v;
  if (!p) return NULL;
  v = strtoul(p + 7, &end, 10);
  if (end != p + 27 || v >= b->nids) return NULL;
  *serial = (uint32_t)v;
  return b->by_id[v];
}

/* A whole request from a phone (msg NUL-terminated). */
static void on_request(bare *b, bsess *x, const char *msg) {
  bsess *br;
  if (strstr(msg, "\"type\":\"login\"")) {
    push(b, x, K_LOGIN_OK);
  } else if (strstr(msg, "\"type\":\"scan\"")) {
    uint32_t serial = 0;
    if (!(br = scanned_browser(b, msg, &serial))) {
      push(b, x, K_ERROR);
      return;
    }
    x->id = serial;
    unslot(b, br);
    push(b, x, K_SCAN_OK);
    push(b, br, K_SCANNED);
  } else if (strstr(msg, "\"type\":\"confirm\"")) {
    br = x->id < b->nids ? b->by_id[x->id] : NULL;
    if (!br) {
      push(b, x, K_ERROR);
      return;
    }
    push(b, x, K_CONFIRM_OK);
    push(b, x, K_LOGOUT);
    push(b, br, K_COMPLETED);
  } else {
    push(b, x, K_ERROR);
  }
}

/* A piece of a message; whole ones go to on_request. 0 or -1 (close). */
static int on_receive(bare *b, bsess *x, const void *in, size_t len) {
  char whole[MAX_MSG + 1];
  int last = lws_is_final_fragment(x->wsi) && !lws_remaining_packet_payload(x->wsi);
  if (!x->rx && last) {
    if (len > MAX_MSG) return -1;
    memcpy(whole, in, len);
    whole[len] = '\0';
  } else {
    char *n;
    if (x->rx_len + len > MAX_MSG || !(n = realloc(x->rx, x->rx_len + len))) return -1;
    x->rx = n;
    memcpy(x->rx + x->rx_len, in, len);
    x->rx_len += len;
    if (!last) return 0;
    memcpy(whole, x->rx, x->rx_len);
    whole[x->rx_len] = '\0';
    free(x->rx);
    x->rx = NULL;
    x->rx_len = 0;
  }
  if (!x->browser) on_request(b, x, whole); /* a browser's new_challenge: not benched */
  return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                       void *in, size_t len) {
  bsess *x = user;
  bare *b = bare_of(wsi);
  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED:
    memset(x, 0, sizeof(*x));
    x->wsi = wsi;
    if (!strcmp(lws_get_protocol(wsi)->name, "qrlogin.browser.v1")) {
      if (add_browser(b, x)) return -1;
      push(b, x, K_CHALLENGE);
    }
    return 0;
  case LWS_CALLBACK_RECEIVE:
    return on_receive(b, x, in, len);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return write_one(b, x);
  case LWS_CALLBACK_CLOSED:
    if (x->browser) remove_browser(b, x);
    free(x->rx);
    x->rx = NULL;
    return 0;
  default:
    return 0;
  }
}

/* ---- HTTP: the code exchange's answer ----------------------------------------- */

static int http_answer(struct lws *wsi, bare *b) {
  unsigned char head[LWS_PRE + 2048], *start = head + LWS_PRE, *p = start,
                                      *end = head + sizeof(head) - 1;
  unsigned char body[LWS_PRE + MAX_MSG];
  char cookie[MAX_MSG];
  size_t blen = b->size[K_SESSION] < 16 ? 16 : b->size[K_SESSION];
  size_t clen = b->size[K_COOKIE] < 64 ? 64 : b->size[K_COOKIE];
  static const char tail[] = "; HttpOnly; SameSite=Strict; Path=/";

  if (blen > MAX_MSG) blen = MAX_MSG;
  if (clen >= sizeof(cookie)) clen = sizeof(cookie) - 1;
  /* qrl_session=xxxx...; HttpOnly; SameSite=Strict; Path=/ */
  memset(cookie, 'x', clen);
  memcpy(cookie, "qrl_session=", 12);
  memcpy(cookie + clen - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
  memset(body + LWS_PRE, ' ', blen);
  memcpy(body + LWS_PRE, "{\"ok\":true}", 11);
  if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json; charset=utf-8",
                                  (lws_filepos_t)blen, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                  (const unsigned char *)"no-store", 8, &p, end) ||
      lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                  (const unsigned char *)cookie, (int)clen, &p, end) ||
      lws_finalize_write_http_header(wsi, start, &p, end))
    return -1;
  if (lws_write(wsi, body + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL) < (int)blen) return -1;
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                         void *in, size_t len) {
  int *posted = user;
  switch (reason) {
  case LWS_CALLBACK_HTTP:
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
      *posted = 1;
      return 0; /* the body comes next */
    }
    if (lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL)) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
  case LWS_CALLBACK_HTTP_BODY:
    return 0;
  case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    lws_callback_on_writable(wsi);
    return 0;
  case LWS_CALLBACK_HTTP_WRITEABLE:
    if (!posted || !*posted) return 0;
    *posted = 0;
    return http_answer(wsi, bare_of(wsi));
  default:
    break;
  }
  return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- the process ------------------------------------------------------------- */

static const struct lws_protocols protocols[] = {
    {"http", http_callback, sizeof(int), 0, 0, NULL, 0},
    {"qrlogin.browser.v1", ws_callback, sizeof(bsess), 128, 0, NULL, 16384},
    {"qrlogin.phone.v1", ws_callback, sizeof(bsess), 512, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static const lws_retry_bo_t retry_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 60,
};

/* --no-ping: no validity timer at all (with no policy given, lws 4.1.6 uses
 * its own default of 300 s, timers and all; a hangup of 0 turns them off). */
static const lws_retry_bo_t no_ping_policy = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

static void on_signal(uv_signal_t *s, int signum) {
  bare *b = s->data;
  (void)signum;
  uv_timer_stop(&b->tick);
  uv_close((uv_handle_t *)&b->tick, NULL);
  uv_signal_stop(&b->sig_int);
  uv_signal_stop(&b->sig_term);
  uv_close((uv_handle_t *)&b->sig_int, NULL);
  uv_close((uv_handle_t *)&b->sig_term, NULL);
  lws_context_destroy(b->ctx); /* closes the sockets; the loop then runs dry */
}

/* "name=bytes,name=bytes". 0 or -1. */
static int parse_sizes(bare *b, const char *arg) {
  char copy[1024], *save = NULL, *tok;
  if (snprintf(copy, sizeof(copy), "%s", arg) >= (int)sizeof(copy)) return -1;
  for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '='), *end;
    long v;
    int k;
    if (!eq) return -1;
    *eq = '\0';
    v = strtol(eq + 1, &end, 10);
    if (*end || v < 0 || v > MAX_MSG) return -1;
    for (k = 1; k < K_COUNT && strcmp(kind_name[k], tok); k++) {}
    if (k < K_COUNT) b->size[k] = (size_t)v; /* unknown names: ignored */
  }
  return 0;
}

static long num_arg(const char *s, long lo, long hi) {
  char *end;
  long v = strtol(s, &end, 10);
  return *s && !*end && v >= lo && v <= hi ? v : LONG_MIN;
}

static int parse_args(bare *b, int argc, char **argv) {
  static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                       {"frame-secs", required_argument, NULL, 'f'},
                                       {"tick-ms", required_argument, NULL, 't'},
                                       {"sizes", required_argument, NULL, 's'},
                                       {"no-ping", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
  int c;
  long v;
  b->frame_ms = 2000;
  b->tick_ms = 10;
  memcpy(b->size, kind_default, sizeof(b->size));
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'p':
      if ((v = num_arg(optarg, 0, 65535)) == LONG_MIN) return -1;
      b->port = (int)v;
      break;
    case 'f':
      if ((v = num_arg(optarg, 1, 60)) == LONG_MIN) return -1;
      b->frame_ms = (int)v * 1000;
      break;
    case 't':
      if ((v = num_arg(optarg, 1, 1000)) == LONG_MIN) return -1;
      b->tick_ms = (int)v;
      break;
    case 's':
      if (parse_sizes(b, optarg)) return -1;
      break;
    case 'n':
      b->no_ping = 1;
      break;
    default:
      return -1;
    }
  }
  if (optind != argc || b->frame_ms % b->tick_ms) return -1; /* whole slots per period */
  return 0;
}

/* The server holds as many sockets as the hard limit allows. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  struct lws_context_creation_info info;
  bare b;
  void *loops[1];
  int rc = 1;

  memset(&b, 0, sizeof(b));
  if (parse_args(&b, argc, argv)) {
    fprintf(stderr, "usage: qrl_bench_bare [--port N] [--frame-secs 1..60] [--tick-ms T "
                    "dividing the period] [--sizes name=bytes,...] [--no-ping]\n");
    return 2;
  }
  raise_fd_limit();
  lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
  b.nslots = (uint32_t)(b.frame_ms / b.tick_ms);
  if (!(b.slots = calloc(b.nslots, sizeof(*b.slots))) || uv_loop_init(&b.loop)) goto out;
  loops[0] = &b.loop;

  memset(&info, 0, sizeof(info));
  info.port = b.port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.user = &b;
  info.foreign_loops = loops;
  info.retry_and_idle_policy = b.no_ping ? &no_ping_policy : &retry_policy;
  info.timeout_secs = 10;
  info.options = LWS_SERVER_OPTION_LIBUV |
                 LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE |
                 LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
  if (!(b.ctx = lws_create_context(&info))) {
    fprintf(stderr, "qrl_bench_bare: cannot create the lws context\n");
    goto out_loop;
  }
  uv_timer_init(&b.loop, &b.tick);
  uv_signal_init(&b.loop, &b.sig_int);
  uv_signal_init(&b.loop, &b.sig_term);
  b.tick.data = b.sig_int.data = b.sig_term.data = &b;
  b.next_slot_ms = now_ms() / (uint64_t)b.tick_ms * (uint64_t)b.tick_ms; /* a boundary */
  uv_timer_start(&b.tick, on_tick, (uint64_t)b.tick_ms, 0);
  uv_signal_start(&b.sig_int, on_signal, SIGINT);
  uv_signal_start(&b.sig_term, on_signal, SIGTERM);
  printf("qrl_bench_bare: listening on http://127.0.0.1:%d/\n",
         lws_get_vhost_listen_port(lws_get_vhost_by_name(b.ctx, "default")));
  fflush(stdout);
  uv_run(&b.loop, UV_RUN_DEFAULT);
  /* With a foreign loop, lws 4.1.6 finishes only when destroyed a second
   * time, after its handles have closed (as qrlogind does). */
  lws_context_destroy(b.ctx);
  if (b.dropped) fprintf(stderr, "qrl_bench_bare: %lu messages dropped\n", b.dropped);
  rc = 0;
out_loop:
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
out:
  free(b.slots);
  free(b.by_id);
  return rc;
}
