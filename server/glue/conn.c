/*
 * conn.c - the connection registry, outgoing queues and incoming reassembly.
 * Everything here runs on the event-loop thread.
 */
#include "glue/conn.h"

#include <arpa/inet.h>

#include "helpers/crypto.h"

#include <stdlib.h>
#include <string.h>

#include "helpers/text.h"
#include "helpers/log.h"
#include "glue/config.h"
#include "glue/services.h"

struct qrl_outmsg {
  qrl_outmsg *next;
  size_t len;
  unsigned char buf[]; /* LWS_PRE + len */
};

qrl_err qrl_conns_init(qrl_conns *reg) {
  memset(reg, 0, sizeof(*reg));
  reg->nbuckets = 256;
  reg->buckets = calloc(reg->nbuckets, sizeof(*reg->buckets));
  reg->next_id = 1;
  reg->strs = qrl_intern_new();
  if (reg->buckets && reg->strs) return QRL_OK;
  qrl_conns_free(reg);
  return QRL_NOMEM;
}

void qrl_conns_free(qrl_conns *reg) {
  free(reg->buckets);
  qrl_intern_free(reg->strs);
  memset(reg, 0, sizeof(*reg));
}

static size_t bucket_of(const qrl_conns *reg, uint64_t id) {
  return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 32) & (reg->nbuckets - 1);
}

static void grow(qrl_conns *reg) {
  size_t n = reg->nbuckets * 2;
  qrl_conn **nb = calloc(n, sizeof(*nb));
  if (!nb) return; /* keep the old table: longer chains, still correct */
  for (size_t i = 0; i < reg->nbuckets; i++) {
    qrl_conn *c = reg->buckets[i];
    while (c) {
      qrl_conn *next = c->hnext;
      size_t b = (size_t)((c->id * 0x9E3779B97F4A7C15ULL) >> 32) & (n - 1);
      c->hnext = nb[b];
      nb[b] = c;
      c = next;
    }
  }
  free(reg->buckets);
  reg->buckets = nb;
  reg->nbuckets = n;
}

qrl_err qrl_conn_register(qrl_conns *reg, qrl_conn *c, struct lws *wsi,
                          qrl_conn_kind kind) {
  size_t b;

  if (c->id) return QRL_OK;
  if (reg->count + 1 > reg->nbuckets * 2) grow(reg);
  c->id = reg->next_id++;
  c->wsi = wsi;
  c->kind = kind;
  b = bucket_of(reg, c->id);
  c->hnext = reg->buckets[b];
  reg->buckets[b] = c;
  reg->count++;
  reg->by_kind[kind]++;
  return QRL_OK;
}

qrl_conn *qrl_conn_find(qrl_conns *reg, uint64_t id) {
  qrl_conn *c;
  if (!id || !reg->buckets) return NULL;
  for (c = reg->buckets[bucket_of(reg, id)]; c; c = c->hnext)
    if (c->id == id) return c;
  return NULL;
}

void qrl_conn_each(qrl_conns *reg, qrl_conn_kind kind, void (*fn)(qrl_conn *c, void *arg),
                   void *arg) {
  if (!reg->buckets) return;
  for (size_t b = 0; b < reg->nbuckets; b++)
    for (qrl_conn *c = reg->buckets[b]; c; c = c->hnext)
      if (c->kind == kind) fn(c, arg);
}

void qrl_conn_release(qrl_conns *reg, qrl_conn *c) {
  qrl_outmsg *m = c->out_head;

  if (c->id && reg->buckets) {
    qrl_conn **p = &reg->buckets[bucket_of(reg, c->id)];
    while (*p && *p != c) p = &(*p)->hnext;
    if (*p) {
      *p = c->hnext;
      reg->count--;
      reg->by_kind[c->kind]--;
    }
  }
  while (m) {
    qrl_outmsg *next = m->next;
    free(m);
    m = next;
  }
  c->out_head = c->out_tail = NULL;
  c->out_count = c->out_bytes = 0;
  qrl_conn_forget_headers(reg, c);
  free(c->rx);
  c->rx = NULL;
  if (c->kind == QRL_CONN_BROWSER) qrl_cleanse(&c->frames, sizeof(c->frames)); /* the key */
  if (c->kind == QRL_CONN_HTTP) {
    free(c->body);
    free(c->resp);
    free(c->resp_cookie);
    free(c->resp_location);
    c->body = c->resp = c->resp_cookie = c->resp_location = NULL;
  }
  c->id = 0;
}

void qrl_conn_forget_headers(qrl_conns *reg, qrl_conn *c) {
  qrl_intern_drop(reg->strs, c->ua);
  qrl_intern_drop(reg->strs, c->origin);
  c->ua = c->origin = NULL;
}

/* A shared copy of s, or NULL if s is empty (or out of memory: the header
 * is then treated as absent). */
static const char *share(qrl_conns *reg, const char *s) {
  return s[0] ? qrl_intern_take(reg->strs, s) : NULL;
}

/* The client behind a trusted reverse proxy (--trusted-proxy): the
 * rightmost address of X-Forwarded-For that is not a trusted proxy itself
 * (each proxy appends the address it was connected from; what a client
 * wrote is to the left and never believed past the first untrusted
 * address). The header absent, too long, or an entry that is not an
 * address: the peer stays the proxy (its own requests: health checks). */
static void forwarded_for(const qrl_config *cfg, struct lws *wsi, char *ip, size_t n) {
  char xff[512];
  int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
  if (len <= 0 || (size_t)len >= sizeof(xff) ||
      lws_hdr_copy(wsi, xff, (int)sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
    return;
  for (;;) {
    char *comma = strrchr(xff, ','), *e = comma ? comma + 1 : xff;
    unsigned char bin[16];
    size_t k;
    while (*e == ' ' || *e == '\t') e++;
    k = strlen(e);
    while (k && (e[k - 1] == ' ' || e[k - 1] == '\t')) e[--k] = '\0';
    if (!k || k >= n || (inet_pton(AF_INET, e, bin) != 1 && inet_pton(AF_INET6, e, bin) != 1))
      return;
    if (!qrl_config_trusted_proxy(cfg, e)) {
      memcpy(ip, e, k + 1);
      return;
    }
    if (!comma) return; /* every hop a trusted proxy: the peer stands */
    *comma = '\0';
  }
}

void qrl_conn_capture_headers(qrl_conn *c, struct lws *wsi) {
  const qrl_services *sv = qrl_services_of(wsi);
  qrl_conns *reg = sv->conns;
  char origin[QRL_CONN_ORIGIN_MAX + 1] = "", ua[QRL_CONN_UA_MAX + 1] = "";
  int n;

  qrl_conn_forget_headers(reg, c);
  lws_get_peer_simple(wsi, c->ip, sizeof(c->ip));
  if (sv->cfg->ntrusted_proxies && qrl_config_trusted_proxy(sv->cfg, c->ip))
    forwarded_for(sv->cfg, wsi, c->ip, sizeof(c->ip));
  n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
  /* absent or too long: treat as none */
  if (n > 0 && (size_t)n < sizeof(origin) &&
      lws_hdr_copy(wsi, origin, (int)sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
    origin[0] = '\0';
  /* A User-Agent longer than we keep is cut, not dropped. */
  n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_USER_AGENT);
  if (n > 0) {
    char *all = malloc((size_t)n + 1); /* bounded by lws's header pool */
    if (all && lws_hdr_copy(wsi, all, n + 1, WSI_TOKEN_HTTP_USER_AGENT) > 0) {
      size_t k = strlen(all);
      if (k > QRL_CONN_UA_MAX) k = QRL_CONN_UA_MAX;
      memcpy(ua, all, k);
      ua[k] = '\0';
      /* Shown on the citizen's phone and stored: no escapes, no bells, no
       * bidi tricks, no half of a UTF-8 sequence cut above. */
      qrl_text_clean(ua, 0);
    }
    free(all);
  }
  c->origin = share(reg, origin);
  c->ua = share(reg, ua);
}

/* A message with nothing ahead of it is written at once, on the loop's
 * thread, instead of being queued for a WRITEABLE callback: lws 4.1.6 arms
 * POLLOUT for each callback_on_writable and disarms it after (two epoll_ctl
 * calls and one more turn of the loop per message, 1.2 of every 10 samples
 * of a QR login's profile). Only when nothing of this socket's can be
 * overtaken: no queued message or ping, nothing lws kept of an earlier
 * write, no close frame prepared (lws_close_reason: the socket is closing
 * and must send nothing after it). A write the kernel takes in part is kept
 * by lws and finished from its own POLLOUT, which ends in a WRITEABLE that
 * is ours (write_due), as after a queued message. Returns 1 if the message
 * was dealt with (*rc says how), 0 if it must be queued. */
static int write_now(qrl_conn *c, const char *text, size_t len, qrl_err *rc) {
  unsigned char stack[LWS_PRE + 1024], *buf = stack;
  int n;

  if (c->kind != QRL_CONN_BROWSER && c->kind != QRL_CONN_PHONE) return 0;
  if (c->out_head || c->ping_due || c->write_due || lws_partial_buffered(c->wsi) ||
      lws_get_close_length(c->wsi))
    return 0;
  if (len > sizeof(stack) - LWS_PRE && !(buf = malloc(LWS_PRE + len))) return 0;
  memcpy(buf + LWS_PRE, text, len);
  n = lws_write(c->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
  if (buf != stack) free(buf);
  *rc = QRL_OK;
  if (n < 0) {
    /* The socket is unusable: lws closes it (as a failed write in
     * WRITEABLE would). */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
    *rc = QRL_NETWORK;
  } else if (lws_partial_buffered(c->wsi)) {
    c->write_due = 1;
  }
  return 1;
}

qrl_err qrl_conn_send(qrl_conn *c, const char *text, size_t len) {
  qrl_outmsg *m;
  qrl_err rc;

  if (!c->wsi) return QRL_NETWORK;
  if (c->out_count >= QRL_OUTQ_MAX_MSGS ||
      c->out_bytes + len > QRL_OUTQ_MAX_BYTES) {
    char id[24];
    snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
    qrl_log_kv(qrl_services_of(c->wsi)->log, QRL_LOG_NOTICE, "slow_peer", "conn", id, "ip",
               c->ip, "msg", "peer not reading: dropped", (const char *)NULL);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
    return QRL_UNAVAILABLE;
  }
  if (write_now(c, text, len, &rc)) return rc;
  m = malloc(sizeof(*m) + LWS_PRE + len);
  if (!m) return QRL_NOMEM;
  m->next = NULL;
  m->len = len;
  memcpy(m->buf + LWS_PRE, text, len);
  if (c->out_tail) c->out_tail->next = m;
  else c->out_head = m;
  c->out_tail = m;
  c->out_count++;
  c->out_bytes += len;
  c->write_due = 1;
  lws_callback_on_writable(c->wsi);
  return QRL_OK;
}

void qrl_conn_ping(qrl_conn *c) {
  c->ping_due = 1;
  c->write_due = 1;
  lws_callback_on_writable(c->wsi);
}

int qrl_conn_write_one(qrl_conn *c) {
  qrl_outmsg *m = c->out_head;
  int n;

  if (c->ping_due) {
    /* Not empty: lws 4.1.6 drops an empty pong before any callback, so the
     * answer to an empty ping would never count as the peer being heard. */
    unsigned char ping[LWS_PRE + 2] = {0};
    c->ping_due = 0;
    memcpy(ping + LWS_PRE, "ka", 2);
    if (lws_write(c->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0) return -1;
    if (m || lws_partial_buffered(c->wsi)) c->write_due = 1;
    if (m) lws_callback_on_writable(c->wsi);
    return 0;
  }
  if (!m) return 0;
  n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
  c->out_head = m->next;
  if (!c->out_head) c->out_tail = NULL;
  c->out_count--;
  c->out_bytes -= m->len;
  free(m);
  if (n < 0) return -1;
  /* lws calls back once it has sent what it kept of this message. */
  if (c->out_head || lws_partial_buffered(c->wsi)) c->write_due = 1;
  if (c->out_head) lws_callback_on_writable(c->wsi);
  return 0;
}

int qrl_conn_write_was_due(qrl_conn *c) {
  int due = c->write_due;
  c->write_due = 0;
  return due;
}

void qrl_conn_rx_reset(qrl_conn *c) {
  free(c->rx);
  c->rx = NULL;
  c->rx_len = 0;
  c->rx_overflow = 0;
}

int qrl_conn_rx(qrl_conn *c, struct lws *wsi, const void *in, size_t len) {
  if (lws_is_first_fragment(wsi)) qrl_conn_rx_reset(c);
  if (c->rx_len + len > QRL_MAX_MESSAGE ||
      lws_remaining_packet_payload(wsi) > QRL_MAX_MESSAGE - c->rx_len - len) {
    qrl_conn_rx_reset(c);
    return -1;
  }
  if (!c->rx) {
    c->rx = malloc(QRL_MAX_MESSAGE + 1);
    if (!c->rx) return -1;
  }
  memcpy(c->rx + c->rx_len, in, len);
  c->rx_len += len;
  c->rx[c->rx_len] = '\0';
  if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) return 1;
  return 0;
}

void qrl_conn_await_proof(qrl_conn *c, int secs) {
  c->awaiting_proof = 1;
  lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, secs);
}

void qrl_conn_proven(qrl_conn *c) {
  /* awaiting_proof is the phone's part of the union: on any other kind of
   * connection it is another field's bytes (an HTTP request's cookie or
   * body pointer), neither read nor written. */
  if (c->kind != QRL_CONN_PHONE || !c->awaiting_proof) return;
  c->awaiting_proof = 0;
  lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
}
