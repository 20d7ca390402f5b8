/*
 * ws_client.c - the blocking websocket client of ws_client.h, over the
 * libwebsockets 4.1.6 client API.
 *
 * Each qrl_wsc owns one lws_context with one protocol and one client wsi. The
 * context is serviced only inside qrl_wsc_* calls, with a deadline taken from
 * CLOCK_MONOTONIC; a scheduled lws timer (sul) wakes lws_service() at the
 * deadline, because lws 4.1.6 ignores the lws_service() timeout argument.
 * Received fragments are reassembled into whole messages and queued; sends are
 * queued and written one lws_write() per WRITEABLE callback with LWS_PRE
 * headroom (lws itself finishes a partial write of one large message).
 *
 * It does not: retry connections, answer anything on its own beyond what lws
 * does (pings), validate message content, or use threads. The Origin header
 * is sent verbatim (LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN; without it lws
 * 4.1.6 prefixes "http://"), and not at all when origin is NULL.
 *
 * For wss:// each qrl_wsc also owns the OpenSSL client context it hands to
 * lws (provided_client_ssl_ctx), and frees it after the lws context. lws
 * 4.1.6's own client contexts leak when a process holds two lws contexts at
 * once: it files each SSL_CTX's bookkeeping under an ex-data index that every
 * new context allocates again (lib/tls/openssl/openssl-tls.c), so destroying
 * the older context looks it up at the newer index, finds nothing and never
 * frees the SSL_CTX. lws still verifies the chain and the host name on every
 * connection (SSL_VERIFY_PEER, X509_VERIFY_PARAM_set1_host).
 */
#include "ws_client.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Largest message accepted from the peer; bigger closes with 1009. */
#define WSC_MAX_RX (16u * 1024u * 1024u)
/* How long qrl_wsc_free() waits for the close handshake. */
#define WSC_CLOSE_WAIT_MS 1000
#define WSC_PROTO_NAME "qrl-wsc"

enum wsc_state { WSC_CONNECTING, WSC_OPEN, WSC_CLOSED, WSC_FAILED };

/* One queued message. For sends, data has LWS_PRE bytes of headroom. */
typedef struct wsc_msg {
  struct wsc_msg *next;
  unsigned char *data; /* owned */
  size_t len;
  int binary;
} wsc_msg;

struct qrl_wsc {
  struct lws_context *ctx; /* owned */
  SSL_CTX *tls;            /* owned, wss only; freed after ctx */
  struct lws *wsi;         /* NULL once closed */
  lws_sorted_usec_list_t wake;
  enum wsc_state state;
  int http_status;
  int close_code;
  int want_close;
  unsigned char *rx; /* owned: the message being reassembled */
  size_t rx_len, rx_cap;
  int rx_binary;
  wsc_msg *rxq, *rxq_tail; /* owned: whole received messages */
  wsc_msg *txq, *txq_tail; /* owned: messages waiting to be written */
};

/* ---- small helpers ------------------------------------------------------- */

static int64_t wsc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wsc_msg_free(wsc_msg *m) {
  if (!m) return;
  free(m->data);
  free(m);
}

static void wsc_queue_free(wsc_msg *m) {
  while (m) {
    wsc_msg *next = m->next;
    wsc_msg_free(m);
    m = next;
  }
}

static void wsc_push(wsc_msg **head, wsc_msg **tail, wsc_msg *m) {
  m->next = NULL;
  if (*tail)
    (*tail)->next = m;
  else
    *head = m;
  *tail = m;
}

static wsc_msg *wsc_pop(wsc_msg **head, wsc_msg **tail) {
  wsc_msg *m = *head;
  if (!m) return NULL;
  *head = m->next;
  if (!*head) *tail = NULL;
  m->next = NULL;
  return m;
}

/* Appends len bytes to the reassembly buffer. Returns 0, or -1 if the
 * message would exceed WSC_MAX_RX or memory runs out. */
static int wsc_rx_append(qrl_wsc *c, const void *in, size_t len) {
  if (c->rx_len + len > WSC_MAX_RX) return -1;
  if (c->rx_len + len + 1 > c->rx_cap) {
    size_t cap = c->rx_cap ? c->rx_cap : 1024;
    unsigned char *p;
    while (cap < c->rx_len + len + 1)
      cap *= 2;
    p = realloc(c->rx, cap);
    if (!p) return -1;
    c->rx = p;
    c->rx_cap = cap;
  }
  if (len) memcpy(c->rx + c->rx_len, in, len);
  c->rx_len += len;
  return 0;
}

/* Moves the reassembled message to the receive queue. Returns 0 or -1. */
static int wsc_rx_finish(qrl_wsc *c) {
  wsc_msg *m = calloc(1, sizeof(*m));
  if (!m) return -1;
  if (wsc_rx_append(c, "", 0)) {
    free(m);
    return -1;
  }
  c->rx[c->rx_len] = '\0';
  m->data = c->rx;
  m->len = c->rx_len;
  m->binary = c->rx_binary;
  c->rx = NULL;
  c->rx_len = c->rx_cap = 0;
  wsc_push(&c->rxq, &c->rxq_tail, m);
  return 0;
}

static void wsc_mark_closed(qrl_wsc *c) {
  if (c->state == WSC_CONNECTING)
    c->state = WSC_FAILED;
  else
    c->state = WSC_CLOSED;
  if (!c->close_code) c->close_code = -1;
  c->wsi = NULL;
}

/* ---- the lws callback ---------------------------------------------------- */

static int wsc_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len) {
  qrl_wsc *c;
  (void)user;

  switch (reason) {
  case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
    /* For a ws client this runs before the upgrade is checked: keep the
     * status so a refused upgrade (e.g. 403) can be reported. */
    c = lws_context_user(lws_get_context(wsi));
    c->http_status = (int)lws_http_client_http_response(wsi);
    return 0;

  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    c = lws_context_user(lws_get_context(wsi));
    if (!c->http_status)
      c->http_status = (int)lws_http_client_http_response(wsi);
    if (getenv("QRL_WSC_DEBUG"))
      fprintf(stderr, "qrl_wsc: connection error: %s (http %d)\n",
              in ? (const char *)in : "(none)", c->http_status);
    c->state = WSC_FAILED;
    c->wsi = NULL;
    return 0;

  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    c = lws_context_user(lws_get_context(wsi));
    c->state = WSC_OPEN;
    c->http_status = 101;
    if (c->txq || c->want_close) lws_callback_on_writable(wsi);
    return 0;

  case LWS_CALLBACK_CLIENT_RECEIVE:
    c = lws_context_user(lws_get_context(wsi));
    if (lws_is_first_fragment(wsi)) {
      c->rx_len = 0;
      c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (wsc_rx_append(c, in, len)) {
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
      return -1;
    }
    if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) &&
        wsc_rx_finish(c))
      return -1;
    return 0;

  case LWS_CALLBACK_CLIENT_WRITEABLE: {
    wsc_msg *m;
    int n;
    c = lws_context_user(lws_get_context(wsi));
    m = wsc_pop(&c->txq, &c->txq_tail);
    if (!m) {
      if (c->want_close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
      }
      return 0;
    }
    n = lws_write(wsi, m->data + LWS_PRE, m->len,
                  m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    wsc_msg_free(m);
    if (n < 0) return -1;
    if (c->txq || c->want_close) lws_callback_on_writable(wsi);
    return 0;
  }

  case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    c = lws_context_user(lws_get_context(wsi));
    if (len >= 2) {
      const unsigned char *p = in;
      c->close_code = (p[0] << 8) | p[1];
    } else {
      c->close_code = LWS_CLOSE_STATUS_NO_STATUS; /* 1005: no code given */
    }
    return 0;

  case LWS_CALLBACK_CLIENT_CLOSED:
    c = lws_context_user(lws_get_context(wsi));
    wsc_mark_closed(c);
    return 0;

  case LWS_CALLBACK_WSI_DESTROY:
    /* A handshake lws gave up on (its timeout) ends here without a
     * CONNECTION_ERROR: say so at once instead of waiting out timeout_ms. */
    c = lws_context_user(lws_get_context(wsi));
    if (c && c->state == WSC_CONNECTING) {
      c->state = WSC_FAILED;
      c->wsi = NULL;
    }
    return 0;

  default: return 0;
  }
}

static const struct lws_protocols wsc_protocols[] = {
    {WSC_PROTO_NAME, wsc_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ---- the service loop ---------------------------------------------------- */

static void wsc_wake(lws_sorted_usec_list_t *sul) {
  (void)sul;
}

typedef int (*wsc_cond)(const qrl_wsc *c);

static int wsc_connected(const qrl_wsc *c) {
  return c->state != WSC_CONNECTING;
}
static int wsc_has_msg(const qrl_wsc *c) {
  return c->rxq || c->state == WSC_CLOSED || c->state == WSC_FAILED;
}
static int wsc_is_closed(const qrl_wsc *c) {
  return c->state == WSC_CLOSED || c->state == WSC_FAILED;
}

/* Services c's context until cond(c) holds or timeout_ms passes (0: one
 * non-blocking pass). Returns 1 if cond holds. */
static int wsc_service_until(qrl_wsc *c, int timeout_ms, wsc_cond cond) {
  int64_t deadline = wsc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  int ok = 0;

  if (cond(c)) return 1;
  if (timeout_ms <= 0) {
    lws_service(c->ctx, -1);
    return cond(c);
  }
  for (;;) {
    int64_t left = deadline - wsc_now_ms();
    if (left <= 0) break;
    lws_sul_schedule(c->ctx, 0, &c->wake, wsc_wake, (lws_usec_t)left * 1000);
    if (lws_service(c->ctx, 0) < 0) break;
    if (cond(c)) {
      ok = 1;
      break;
    }
  }
  lws_sul_cancel(&c->wake);
  return ok || cond(c);
}

/* ---- URL ----------------------------------------------------------------- */

typedef struct wsc_url {
  char buf[1024];
  char host[300];
  char path[1024];
  const char *address;
  int port;
  int tls;
} wsc_url;

/* Splits url into address, port, path and the Host header. Returns QRL_OK or
 * QRL_INVAL. */
static qrl_err wsc_parse_url(const char *url, wsc_url *u) {
  const char *prot = NULL, *path = NULL;
  int n;
  qrl_err rc = QRL_OK;

  n = snprintf(u->buf, sizeof(u->buf), "%s", url);
  if (n < 0 || (size_t)n >= sizeof(u->buf)) {
    rc = QRL_INVAL;
    goto out;
  }
  u->port = 0;
  if (!strstr(u->buf, "://")) {
    rc = QRL_INVAL;
    goto out;
  }
  if (lws_parse_uri(u->buf, &prot, &u->address, &u->port, &path)) {
    rc = QRL_INVAL;
    goto out;
  }
  if (!strcmp(prot, "wss") || !strcmp(prot, "https"))
    u->tls = 1;
  else if (!strcmp(prot, "ws") || !strcmp(prot, "http"))
    u->tls = 0;
  else {
    rc = QRL_INVAL;
    goto out;
  }
  if (!u->address[0] || u->port <= 0 || u->port > 65535) {
    rc = QRL_INVAL;
    goto out;
  }
  /* lws_parse_uri() defaults the port from the scheme and gives the path
   * without its leading '/', or "/" when there is none. */
  if (!path) path = "/";
  n = snprintf(u->path, sizeof(u->path), "%s%s", path[0] == '/' ? "" : "/",
               path);
  if (n < 0 || (size_t)n >= sizeof(u->path)) {
    rc = QRL_INVAL;
    goto out;
  }
  if ((u->tls && u->port == 443) || (!u->tls && u->port == 80))
    n = snprintf(u->host, sizeof(u->host), "%s", u->address);
  else
    n = snprintf(u->host, sizeof(u->host), "%s:%d", u->address, u->port);
  if (n < 0 || (size_t)n >= sizeof(u->host)) rc = QRL_INVAL;
out:
  return rc;
}

/* ---- TLS ----------------------------------------------------------------- */

/* A client context trusting ca_file (PEM), or the system's CAs when NULL, on
 * TLS 1.2 or later. *out is owned by the caller. QRL_INVAL if the CA file
 * does not load, QRL_NOMEM otherwise. */
static qrl_err wsc_tls_new(const char *ca_file, SSL_CTX **out) {
  SSL_CTX *t = SSL_CTX_new(TLS_client_method());
  qrl_err rc = QRL_OK;

  *out = NULL;
  if (!t) {
    rc = QRL_NOMEM;
    goto out;
  }
  SSL_CTX_set_options(t, SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(t, SSL_MODE_RELEASE_BUFFERS);
  if (!SSL_CTX_set_min_proto_version(t, TLS1_2_VERSION)) {
    rc = QRL_NOMEM;
    goto out;
  }
  if (ca_file ? SSL_CTX_load_verify_file(t, ca_file) != 1
              : SSL_CTX_set_default_verify_paths(t) != 1) {
    rc = ca_file ? QRL_INVAL : QRL_NOMEM;
    goto out;
  }
  *out = t;
  t = NULL;
out:
  SSL_CTX_free(t);
  return rc;
}

/* ---- public API ---------------------------------------------------------- */

qrl_err qrl_wsc_connect(const char *url, const char *subprotocol,
                        const char *origin, int timeout_ms, qrl_wsc **out,
                        int *http_status) {
  return qrl_wsc_connect_ca(url, subprotocol, origin, NULL, timeout_ms, out,
                            http_status);
}

qrl_err qrl_wsc_connect_ca(const char *url, const char *subprotocol,
                           const char *origin, const char *ca_file, int timeout_ms,
                           qrl_wsc **out, int *http_status) {
  return qrl_wsc_connect_from(url, subprotocol, origin, ca_file, NULL, timeout_ms, out,
                              http_status);
}

qrl_err qrl_wsc_connect_from(const char *url, const char *subprotocol,
                             const char *origin, const char *ca_file, const char *iface,
                             int timeout_ms, qrl_wsc **out, int *http_status) {
  struct lws_context_creation_info info;
  struct lws_client_connect_info ci;
  qrl_wsc *c = NULL;
  wsc_url *u = NULL;
  qrl_err rc = QRL_OK;

  if (http_status) *http_status = 0;
  if (!url || !out) {
    rc = QRL_INVAL;
    goto out;
  }
  *out = NULL;
  u = calloc(1, sizeof(*u));
  c = calloc(1, sizeof(*c));
  if (!u || !c) {
    rc = QRL_NOMEM;
    goto out;
  }
  if ((rc = wsc_parse_url(url, u))) goto out;

  lws_set_log_level(getenv("QRL_WSC_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE |
                                                  LLL_INFO | LLL_CLIENT
                                            : LLL_ERR,
                    NULL);

  memset(&info, 0, sizeof(info));
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = wsc_protocols;
  info.user = c;
  info.fd_limit_per_thread = 8;
  /* lws's own handshake timeout (5 s by default) follows the caller's. */
  info.timeout_secs = timeout_ms > 1000 ? (unsigned)((timeout_ms + 999) / 1000) : 1;
  info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
  if (u->tls) {
    if ((rc = wsc_tls_new(ca_file, &c->tls))) goto out;
    /* lws 4.1.6 takes a provided client context only with the global init. */
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.provided_client_ssl_ctx = c->tls;
  }
  c->ctx = lws_create_context(&info);
  if (!c->ctx) {
    rc = QRL_NETWORK;
    goto out;
  }

  memset(&ci, 0, sizeof(ci));
  ci.context = c->ctx;
  ci.address = u->address;
  ci.port = u->port;
  ci.path = u->path;
  ci.host = u->host;
  ci.iface = iface; /* NULL: any local address */
  ci.origin = origin;        /* NULL: lws sends no Origin header at all */
  ci.protocol = subprotocol; /* NULL: no Sec-WebSocket-Protocol */
  ci.local_protocol_name = WSC_PROTO_NAME;
  ci.pwsi = &c->wsi;
  if (u->tls) {
    /* Always verified: chain and host name. A private CA is given with
     * ca_file, never by turning the checks off. */
    ci.ssl_connection = LCCSCF_USE_SSL;
  }
  c->state = WSC_CONNECTING;
  if (!lws_client_connect_via_info(&ci)) c->state = WSC_FAILED;

  wsc_service_until(c, timeout_ms, wsc_connected);
  if (c->state != WSC_OPEN) {
    rc = QRL_NETWORK;
    if (http_status) *http_status = c->http_status == 101 ? 0 : c->http_status;
    goto out;
  }
  *out = c;
  c = NULL;
out:
  if (c) {
    if (c->ctx) lws_context_destroy(c->ctx);
    c->ctx = NULL;
    SSL_CTX_free(c->tls);
    free(c->rx);
    wsc_queue_free(c->rxq);
    wsc_queue_free(c->txq);
    free(c);
  }
  free(u);
  return rc;
}

qrl_err qrl_wsc_send(qrl_wsc *c, const void *data, size_t len, int binary) {
  wsc_msg *m = NULL;
  qrl_err rc = QRL_OK;

  if (!c || (!data && len)) {
    rc = QRL_INVAL;
    goto out;
  }
  if (c->state != WSC_OPEN || !c->wsi || c->want_close) {
    rc = QRL_NETWORK;
    goto out;
  }
  m = calloc(1, sizeof(*m));
  if (!m || !(m->data = malloc(LWS_PRE + len + 1))) {
    rc = QRL_NOMEM;
    goto out;
  }
  if (len) memcpy(m->data + LWS_PRE, data, len);
  m->len = len;
  m->binary = binary ? 1 : 0;
  wsc_push(&c->txq, &c->txq_tail, m);
  m = NULL;
  lws_callback_on_writable(c->wsi);
  /* One non-blocking pass starts the write; later calls finish it. */
  lws_service(c->ctx, -1);
out:
  wsc_msg_free(m);
  return rc;
}

qrl_err qrl_wsc_send_text(qrl_wsc *c, const char *text) {
  if (!text) return QRL_INVAL;
  return qrl_wsc_send(c, text, strlen(text), 0);
}

qrl_err qrl_wsc_recv(qrl_wsc *c, int timeout_ms, char **msg, size_t *len) {
  wsc_msg *m = NULL;
  qrl_err rc = QRL_OK;

  if (!c || !msg) {
    rc = QRL_INVAL;
    goto out;
  }
  *msg = NULL;
  if (len) *len = 0;
  wsc_service_until(c, timeout_ms, wsc_has_msg);
  m = wsc_pop(&c->rxq, &c->rxq_tail);
  if (!m) {
    rc = wsc_is_closed(c) ? QRL_NETWORK : QRL_UNAVAILABLE;
    goto out;
  }
  *msg = (char *)m->data;
  if (len) *len = m->len;
  m->data = NULL;
out:
  wsc_msg_free(m);
  return rc;
}

int qrl_wsc_wait_closed(qrl_wsc *c, int timeout_ms) {
  if (!c) return 1;
  return wsc_service_until(c, timeout_ms, wsc_is_closed);
}

int qrl_wsc_close_code(const qrl_wsc *c) {
  if (!c) return -1;
  return c->close_code;
}

void qrl_wsc_free(qrl_wsc *c) {
  if (!c) return;
  if (c->state == WSC_OPEN && c->wsi) {
    /* Flush what is queued, then a normal close (1000), and wait briefly
     * for the peer's answer. */
    c->want_close = 1;
    lws_callback_on_writable(c->wsi);
    wsc_service_until(c, WSC_CLOSE_WAIT_MS, wsc_is_closed);
  }
  if (c->ctx) lws_context_destroy(c->ctx);
  SSL_CTX_free(c->tls); /* after the lws context: its connections use it */
  free(c->rx);
  wsc_queue_free(c->rxq);
  wsc_queue_free(c->txq);
  free(c);
}
