/*
 * load_ws.c - see load_ws.h. Level-triggered epoll; one read per readiness
 * into a loop-wide buffer, so that a waiting socket costs the client only
 * its small struct (a partial frame is copied out and kept until the rest
 * comes).
 */
#define _GNU_SOURCE
#include "load_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_CHUNK 65536
#define MAX_MESSAGE (1u << 20) /* far above qrlogind's 4096: a bigger one is a bug */
#define MAX_HEAD 8192          /* the 101's headers, or an HTTP answer's */
#define EVENTS 512

/* RFC 6455 section 1.3's sample key and the accept value it must get back:
 * the server cannot tell it from a fresh one, and checking it costs nothing. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define USER_AGENT                                                                  \
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " \
  "Chrome/131.0.0.0 Safari/537.36"

enum { ST_CONNECTING, ST_UPGRADING, ST_OPEN, ST_HTTP, ST_DEAD };

struct lw_conn {
  lw_loop *l;
  void *user;
  lw_conn *prev, *next; /* the loop's live list; next also links the dead */
  int fd;
  uint8_t state, is_http, out_armed, close_sent;
  char *keep;           /* owned: bytes not parsed yet (a partial frame, the headers) */
  size_t keep_len;
  char *msg;            /* owned: a fragmented message so far */
  size_t msg_len;
  char *tx;             /* owned: bytes the socket has not taken yet */
  size_t tx_len, tx_off;
};

struct lw_loop {
  int ep, port, naddrs;
  unsigned next_addr;
  uint32_t rnd;
  lw_events ev;
  void *arg;
  char *buf; /* owned: the read buffer */
  size_t buf_cap;
  lw_conn *live, *dead;
  size_t nlive;
  lw_stats st;
  int said_fail;
};

double lw_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* xorshift32: masks need not be secret here, only present. */
static uint32_t next_rand(lw_loop *l) {
  uint32_t x = l->rnd;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return l->rnd = x;
}

lw_loop *lw_loop_new(int port, int naddrs, const lw_events *ev, void *arg) {
  lw_loop *l = calloc(1, sizeof(*l));
  if (!l) return NULL;
  l->port = port;
  l->naddrs = naddrs < 1 ? 1 : naddrs > 250 ? 250 : naddrs;
  l->ev = *ev;
  l->arg = arg;
  l->rnd = (uint32_t)time(NULL) | 1u;
  l->buf_cap = RX_CHUNK + MAX_HEAD;
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  if (l->ep < 0 || !(l->buf = malloc(l->buf_cap + 1))) {
    if (l->ep >= 0) close(l->ep);
    free(l->buf);
    free(l);
    return NULL;
  }
  return l;
}

static void conn_free(lw_conn *c) {
  free(c->keep);
  free(c->msg);
  free(c->tx);
  free(c);
}

/* Closes the socket and moves c to the dead list (freed after the round:
 * events of this round may still name it). */
static void kill_conn(lw_conn *c) {
  lw_loop *l = c->l;
  if (c->state == ST_DEAD) return;
  close(c->fd); /* also leaves the epoll set */
  c->fd = -1;
  c->state = ST_DEAD;
  if (c->prev) c->prev->next = c->next;
  else l->live = c->next;
  if (c->next) c->next->prev = c->prev;
  l->nlive--;
  c->prev = NULL;
  c->next = l->dead;
  l->dead = c;
}

static void free_dead(lw_loop *l) {
  while (l->dead) {
    lw_conn *c = l->dead;
    l->dead = c->next;
    conn_free(c);
  }
}

void lw_loop_free(lw_loop *l) {
  if (!l) return;
  while (l->live) kill_conn(l->live);
  free_dead(l);
  close(l->ep);
  free(l->buf);
  free(l);
}

size_t lw_live(const lw_loop *l) { return l->nlive; }

lw_stats lw_get_stats(const lw_loop *l) { return l->st; }

void lw_set_user(lw_conn *c, void *user) { c->user = user; }

/* Ends c with the callback its kind takes. */
static void finish(lw_conn *c, lw_why why, int status, int code) {
  lw_loop *l = c->l;
  if (c->state == ST_DEAD) return;
  if (c->is_http) {
    if (l->ev.http_done) l->ev.http_done(c, c->user, -1, "", "", 0, l->arg);
  } else if (l->ev.closed) {
    l->ev.closed(c, c->user, why, status, code, l->arg);
  }
  kill_conn(c);
}

static void arm_out(lw_conn *c, int on) {
  struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  if (c->out_armed == on) return;
  c->out_armed = (uint8_t)on;
  epoll_ctl(c->l->ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Writes what is queued; 0, or -1 if the socket failed (c is then ended). */
static int flush_tx(lw_conn *c) {
  while (c->tx_off < c->tx_len) {
    ssize_t w = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      arm_out(c, 1);
      return 0;
    }
    if (w <= 0) {
      finish(c, LW_EOF, 0, 0);
      return -1;
    }
    c->tx_off += (size_t)w;
  }
  free(c->tx);
  c->tx = NULL;
  c->tx_len = c->tx_off = 0;
  arm_out(c, 0);
  return 0;
}

/* Queues n bytes (copied) and writes what the socket takes. 0 or -1. */
static int conn_write(lw_conn *c, const void *data, size_t n) {
  char *nt;
  if (c->state == ST_DEAD) return -1;
  if (!(nt = realloc(c->tx, c->tx_len + n))) {
    finish(c, LW_EOF, 0, 0);
    return -1;
  }
  c->tx = nt;
  memcpy(c->tx + c->tx_len, data, n);
  c->tx_len += n;
  if (c->state == ST_CONNECTING) return 0; /* sent once connected */
  return flush_tx(c);
}

/* Writes one masked frame of opcode op. 0 or -1. */
static int send_frame(lw_conn *c, int op, const void *payload, size_t len) {
  uint8_t small[4096 + 14], *f = small, *p;
  size_t hl = 2;
  uint32_t key = next_rand(c->l);
  const uint8_t *in = payload, *mask = (const uint8_t *)&key;
  int rc;

  if (len > 65535) hl += 8;
  else if (len > 125) hl += 2;
  if (len + hl + 4 > sizeof(small) && !(f = malloc(len + hl + 4))) return -1;
  f[0] = (uint8_t)(0x80 | op);
  if (len > 65535) {
    f[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  } else if (len > 125) {
    f[1] = 0x80 | 126;
    f[2] = (uint8_t)(len >> 8);
    f[3] = (uint8_t)len;
  } else {
    f[1] = (uint8_t)(0x80 | len);
  }
  memcpy(f + hl, mask, 4);
  p = f + hl + 4;
  for (size_t i = 0; i < len; i++) p[i] = in[i] ^ mask[i & 3];
  rc = conn_write(c, f, hl + 4 + len);
  if (f != small) free(f);
  return rc;
}

int lw_send_text(lw_conn *c, const char *text, size_t len) {
  if (c->state != ST_OPEN) return -1;
  return send_frame(c, 0x1, text, len);
}

void lw_close(lw_conn *c) {
  if (c->state == ST_OPEN && !c->close_sent) {
    static const uint8_t going_away[2] = {0x03, 0xe9}; /* 1001 */
    c->close_sent = 1;
    send_frame(c, 0x8, going_away, sizeof(going_away));
  }
  kill_conn(c);
}

/* Makes the socket and starts connecting; the request goes out once
 * connected. */
static lw_conn *start(lw_loop *l, const char *req, size_t reqlen, int is_http, void *user) {
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT};
  lw_conn *c = calloc(1, sizeof(*c));
  int one = 1, fd = -1;

  if (!c) return NULL;
  src.sin_addr.s_addr = htonl(0x7f000002u + l->next_addr++ % (unsigned)l->naddrs);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons((uint16_t)l->port);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) goto fail;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) goto fail;
  if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS)
    goto fail;
  c->l = l;
  c->fd = fd;
  c->user = user;
  c->is_http = (uint8_t)is_http;
  c->state = ST_CONNECTING;
  c->out_armed = 1;
  if (!(c->tx = malloc(reqlen))) goto fail;
  memcpy(c->tx, req, reqlen);
  c->tx_len = reqlen;
  e.data.ptr = c;
  if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e) != 0) goto fail;
  c->next = l->live;
  if (l->live) l->live->prev = c;
  l->live = c;
  l->nlive++;
  return c;
fail:
  if (!l->said_fail++)
    fprintf(stderr, "load_ws: cannot start a connection: %s (said once)\n", strerror(errno));
  if (fd >= 0) close(fd);
  if (c) free(c->tx);
  free(c);
  return NULL;
}

lw_conn *lw_ws_connect(lw_loop *l, const char *proto, const char *origin, void *user) {
  char req[1024];
  int n = snprintf(req, sizeof(req),
                   "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: " USER_AGENT "\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: %s\r\n%s%s%s\r\n",
                   l->port, proto, origin ? "Origin: " : "", origin ? origin : "",
                   origin ? "\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof(req)) return NULL;
  return start(l, req, (size_t)n, 0, user);
}

lw_conn *lw_http_post(lw_loop *l, const char *path, const char *origin, const char *body,
                      void *user) {
  char req[4096];
  size_t blen = strlen(body);
  int n = snprintf(req, sizeof(req),
                   "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: " USER_AGENT "\r\n"
                   "Origin: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   path, l->port, origin, blen, body);
  if (n < 0 || (size_t)n >= sizeof(req)) return NULL;
  return start(l, req, (size_t)n, 1, user);
}

/* The value of header name (with its colon, lower case) in head, or NULL;
 * its length in *len. */
static const char *header(const char *head, const char *name, size_t *len) {
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
    const char *v = p + 2;
    if (strncasecmp(v, name, nl) != 0) continue;
    v += nl;
    while (*v == ' ') v++;
    *len = strcspn(v, "\r\n");
    return v;
  }
  return NULL;
}

/* The 101 (or a refusal) in buf[0..n). Returns the bytes it took, 0 if the
 * headers are not all in yet, or -1 if c was ended. */
static long parse_upgrade(lw_conn *c, char *buf, size_t n) {
  char *end, save;
  size_t alen = 0;
  const char *acc;
  int status;

  buf[n] = '\0';
  if (!(end = strstr(buf, "\r\n\r\n"))) {
    if (n < MAX_HEAD) return 0;
    finish(c, LW_REFUSED, 0, 0);
    return -1;
  }
  save = end[2];
  end[2] = '\0'; /* head ends with its last header's CRLF */
  status = strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
  acc = header(buf, "sec-websocket-accept:", &alen);
  end[2] = save;
  if (status != 101 || !acc || alen != strlen(WS_ACCEPT) || memcmp(acc, WS_ACCEPT, alen)) {
    finish(c, LW_REFUSED, status, 0);
    return -1;
  }
  c->state = ST_OPEN;
  if (c->l->ev.open) c->l->ev.open(c, c->user, c->l->arg);
  return c->state == ST_DEAD ? -1 : (long)(end + 4 - buf);
}

static void deliver(lw_conn *c, const char *msg, size_t len) {
  lw_loop *l = c->l;
  l->st.messages++;
  if (l->ev.message) l->ev.message(c, c->user, msg, len, l->arg);
}

/* One data or control frame (payload unmasked already). 0, or -1 if c was
 * ended. */
static int on_frame(lw_conn *c, int fin, int op, char *p, size_t len) {
  switch (op) {
  case 0x0: /* continuation */
  case 0x1: /* text */
  case 0x2: { /* binary */
    char *nm;
    if (op != 0 && !c->msg && fin) { /* the usual case: one frame, one message */
      char save = p[len];
      p[len] = '\0';
      deliver(c, p, len);
      p[len] = save;
      break;
    }
    if ((op == 0) != (c->msg != NULL) || c->msg_len + len > MAX_MESSAGE ||
        !(nm = realloc(c->msg, c->msg_len + len + 1))) {
      finish(c, LW_PROTOCOL, 0, 0);
      return -1;
    }
    c->msg = nm;
    memcpy(c->msg + c->msg_len, p, len);
    c->msg_len += len;
    c->msg[c->msg_len] = '\0';
    if (fin) {
      deliver(c, c->msg, c->msg_len);
      if (c->state == ST_DEAD) return -1;
      free(c->msg);
      c->msg = NULL;
      c->msg_len = 0;
    }
    break;
  }
  case 0x8: { /* close: answer with the same code, then hang up */
    int code = len >= 2 ? ((uint8_t)p[0] << 8) | (uint8_t)p[1] : 1005;
    if (!c->close_sent) {
      c->close_sent = 1;
      send_frame(c, 0x8, p, len >= 2 ? 2 : 0);
    }
    finish(c, LW_PEER_CLOSED, 0, code);
    return -1;
  }
  case 0x9: /* ping: a browser answers at once with the same payload */
    c->l->st.pings++;
    if (len > 125 || send_frame(c, 0xA, p, len)) {
      finish(c, LW_PROTOCOL, 0, 0);
      return -1;
    }
    c->l->st.pongs_sent++;
    break;
  case 0xA: /* pong */
    break;
  default:
    finish(c, LW_PROTOCOL, 0, 0);
    return -1;
  }
  return c->state == ST_DEAD ? -1 : 0;
}

/* Frames in buf[0..n). Returns the bytes taken (a partial frame stays), or
 * -1 if c was ended. */
static long parse_frames(lw_conn *c, char *buf, size_t n) {
  size_t off = 0;
  while (n - off >= 2) {
    uint8_t *h = (uint8_t *)buf + off;
    int fin = h[0] & 0x80, op = h[0] & 0x0f, masked = h[1] & 0x80;
    uint64_t len = h[1] & 0x7f;
    size_t hl = 2;
    if (len == 126) {
      if (n - off < 4) break;
      len = ((uint64_t)h[2] << 8) | h[3];
      hl = 4;
    } else if (len == 127) {
      if (n - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
      hl = 10;
    }
    if (len > MAX_MESSAGE || (h[0] & 0x70)) { /* no extension was agreed: no RSV bits */
      finish(c, LW_PROTOCOL, 0, 0);
      return -1;
    }
    if (masked) hl += 4; /* a server must not mask; undone anyway */
    if (n - off < hl + len) break;
    if (masked)
      for (uint64_t i = 0; i < len; i++) h[hl + i] ^= h[hl - 4 + (i & 3)];
    /* on_frame NUL-terminates in place: the byte after the payload is
     * restored before the next frame is read (the buffer has one spare). */
    if (on_frame(c, fin != 0, op, (char *)h + hl, (size_t)len)) return -1;
    off += hl + (size_t)len;
  }
  return (long)off;
}

/* An HTTP answer in buf[0..n): complete at EOF, or once Content-Length
 * bytes of body are in. Returns 1 if it was delivered (c ended), else 0. */
static int http_answer(lw_conn *c, char *buf, size_t n, int eof) {
  lw_loop *l = c->l;
  char *end, *body;
  const char *cl;
  size_t cllen = 0, blen;
  int status;

  buf[n] = '\0';
  if (!(end = strstr(buf, "\r\n\r\n"))) {
    if (!eof && n < MAX_HEAD) return 0;
    finish(c, LW_EOF, 0, 0);
    return 1;
  }
  body = end + 4;
  blen = n - (size_t)(body - buf);
  end[2] = '\0';
  cl = header(buf, "content-length:", &cllen);
  if (!eof && (!cl || blen < strtoul(cl, NULL, 10))) {
    end[2] = '\r';
    return 0;
  }
  status = strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
  if (l->ev.http_done) l->ev.http_done(c, c->user, status, buf, body, blen, l->arg);
  kill_conn(c);
  return 1;
}

static void on_readable(lw_conn *c) {
  lw_loop *l = c->l;
  size_t have = c->keep_len;
  ssize_t r;
  long took = 0;

  if (have + RX_CHUNK > l->buf_cap) {
    char *nb = realloc(l->buf, have + RX_CHUNK + 1);
    if (!nb) return;
    l->buf = nb;
    l->buf_cap = have + RX_CHUNK;
  }
  r = read(c->fd, l->buf + have, RX_CHUNK);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r > 0) l->st.bytes_in += (uint64_t)r;
  if (have) memcpy(l->buf, c->keep, have);
  free(c->keep);
  c->keep = NULL;
  c->keep_len = 0;
  if (r <= 0) {
    if (c->state == ST_HTTP) http_answer(c, l->buf, have, 1);
    else finish(c, LW_EOF, 0, 0);
    return;
  }
  have += (size_t)r;
  if (c->state == ST_HTTP) {
    if (http_answer(c, l->buf, have, 0)) return;
    took = 0; /* all of it is kept until the answer is whole */
  } else {
    if (c->state == ST_UPGRADING && (took = parse_upgrade(c, l->buf, have)) <= 0) {
      if (took < 0) return;
    }
    if (c->state == ST_OPEN) {
      long f = parse_frames(c, l->buf + took, have - (size_t)took);
      if (f < 0) return;
      took += f;
    }
  }
  if ((size_t)took < have) {
    if (!(c->keep = malloc(have - (size_t)took))) {
      finish(c, LW_EOF, 0, 0);
      return;
    }
    memcpy(c->keep, l->buf + took, have - (size_t)took);
    c->keep_len = have - (size_t)took;
  }
}

static void on_writable(lw_conn *c) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t el = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
      finish(c, LW_CONNECT_FAILED, 0, 0);
      return;
    }
    c->state = c->is_http ? ST_HTTP : ST_UPGRADING;
  }
  flush_tx(c);
}

int lw_run(lw_loop *l, int timeout_ms) {
  struct epoll_event ev[EVENTS];
  int n = epoll_wait(l->ep, ev, EVENTS, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; i++) {
    lw_conn *c = ev[i].data.ptr;
    if (c->state == ST_DEAD) continue;
    if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP) &&
        (c->state == ST_CONNECTING || c->tx_len))
      on_writable(c);
    if (c->state != ST_DEAD && c->state != ST_CONNECTING &&
        ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
      on_readable(c);
  }
  free_dead(l);
  return n;
}
