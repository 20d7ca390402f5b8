/*
 * redis.c - the Redis connection (redis.h): hiredis async on libuv, with
 * our own connect and command deadlines, backoff, and the policy check.
 *
 * Commands wait in a FIFO of our own beside hiredis's (Redis answers a
 * connection's commands in order), so the oldest one's deadline is the one
 * to watch: one timer, whatever the number in flight.
 */
#define _GNU_SOURCE
#include "glue/redis.h"

#include <arpa/inet.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/crypto.h"
#include "helpers/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct pending {
  struct pending *next;
  qrl_redis *r;
  qrl_redis_cb cb;      /* NULL: the client's own (SELECT, the policy check) */
  void *arg;
  uint64_t deadline;    /* uv_now() ms */
} pending;

struct qrl_redis {
  uv_loop_t *loop;
  qrl_redis_addr addr;
  int connect_ms, command_ms;
  qrl_log *log;
  redisAsyncContext *ac; /* NULL while down */
  qrl_redis_state state;
  int ready_steps;       /* replies the bring-up still waits for */
  int backoff_ms;
  int freeing;           /* qrl_redis_free() began */
  int said_down;         /* "down" logged since it was last up */
  int dropping;          /* drop() is closing it: its why stands */
  int timers_open;       /* uv handles still to close */
  uv_timer_t retry;      /* the next connection attempt */
  uv_timer_t watch;      /* deadlines: the connection's, the oldest command's */
  uint64_t connect_deadline;
  pending *head, *tail;  /* sent, not answered, oldest first */
  char channel[96];      /* a subscriber's channel, or "" */
  int deferred;          /* a deadline passed with bytes waiting: the loop
                            gets one turn to read them before it counts */
  qrl_redis_msg_cb on_msg;
  qrl_redis_up_cb on_up;
  void *sub_arg;
  void (*on_state)(void *arg, int up); /* qrl_redis_on_state */
  void *state_arg;
  char why[200];
  qrl_redis_stats st;
};

/* ---- the address ----------------------------------------------------------- */

qrl_err qrl_redis_addr_parse(const char *url, qrl_redis_addr *out, char *why, size_t n) {
  const char *p;
  char *end;
  long v;
  memset(out, 0, sizeof(*out));
  out->port = 6379;
  if (!url || !*url) goto bad;
  if (!strncmp(url, "unix:", 5)) {
    const char *q = strstr(url + 5, "?db=");
    size_t len = q ? (size_t)(q - (url + 5)) : strlen(url + 5);
    if (url[5] != '/' || len >= sizeof(out->path)) {
      snprintf(why, n, "unix: wants an absolute socket path shorter than %zu bytes",
               sizeof(out->path));
      return QRL_INVAL;
    }
    memcpy(out->path, url + 5, len);
    out->path[len] = '\0';
    if (q) {
      v = strtol(q + 4, &end, 10);
      if (end == q + 4 || *end || v < 0 || v > 15) goto bad_db;
      out->db = (int)v;
    }
    return QRL_OK;
  }
  if (strncmp(url, "redis://", 8) != 0) goto bad;
  p = url + 8;
  {
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof(out->host)) goto bad;
    memcpy(out->host, p, hl);
    out->host[hl] = '\0';
    for (size_t i = 0; i < hl; i++) {
      char c = out->host[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-'))
        goto bad;
    }
    p += hl;
  }
  if (*p == ':') {
    v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/')) {
      snprintf(why, n, "the port wants 1..65535");
      return QRL_INVAL;
    }
    out->port = (int)v;
    p = end;
  }
  if (*p == '/') {
    if (!p[1]) return QRL_OK;
    v = strtol(p + 1, &end, 10);
    if (end == p + 1 || *end || v < 0 || v > 15) goto bad_db;
    out->db = (int)v;
    return QRL_OK;
  }
  if (*p) goto bad;
  return QRL_OK;
bad_db:
  snprintf(why, n, "the database number wants 0..15");
  return QRL_INVAL;
bad:
  snprintf(why, n, "wants redis://HOST[:PORT][/DB] or unix:/PATH[?db=N]");
  return QRL_INVAL;
}

/* ---- the connection's life --------------------------------------------------- */

static void schedule_retry(qrl_redis *r);

static const char *where(const qrl_redis *r, char *buf, size_t n) {
  if (r->addr.path[0]) snprintf(buf, n, "unix:%s", r->addr.path);
  else snprintf(buf, n, "%s:%d", r->addr.host, r->addr.port);
  return buf;
}

/* The connection is gone (or never came): forget it, try again later
 * unless misconfigured or freeing. What waited on it is answered by hiredis
 * (on_reply with no reply) as it frees the context: a pending entry is
 * hiredis's to answer once sent, never ours to drop. */
static void went_down(qrl_redis *r, const char *why) {
  char at[300];
  int was_up = r->state == QRL_REDIS_UP;
  r->ac = NULL;
  if (why && *why) snprintf(r->why, sizeof(r->why), "%s", why);
  if (was_up) r->st.drops++;
  if (was_up && r->on_state && !r->freeing) r->on_state(r->state_arg, 0);
  if (r->state != QRL_REDIS_MISCONFIGURED) r->state = QRL_REDIS_DOWN;
  if (r->freeing) return;
  if (!r->said_down && r->state != QRL_REDIS_MISCONFIGURED) { /* once per outage */
    r->said_down = 1;
    qrl_log_kv(r->log, QRL_LOG_WARN, "redis_down", "at", where(r, at, sizeof(at)), "msg",
               r->why, (const char *)NULL);
  }
  if (r->state == QRL_REDIS_DOWN) schedule_retry(r);
}

/* Drops the connection now (a deadline passed): hiredis answers what it
 * holds with NULL replies, then calls on_disconnect. */
static void drop(qrl_redis *r, const char *why) {
  redisAsyncContext *ac = r->ac;
  if (why != r->why) snprintf(r->why, sizeof(r->why), "%s", why);
  if (!ac) return;
  r->dropping = 1; /* on_disconnect keeps this why */
  if (r->state == QRL_REDIS_CONNECTING && !(ac->c.flags & REDIS_CONNECTED)) {
    /* Not connected yet: hiredis will call neither callback. */
    r->ac = NULL;
    redisAsyncFree(ac);
    went_down(r, NULL);
    r->dropping = 0;
    return;
  }
  redisAsyncFree(ac); /* on_disconnect runs inside, and went_down() */
  if (r->ac == ac) went_down(r, NULL);
  r->dropping = 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void on_sub(redisAsyncContext *ac, void *reply, void *privdata);

static void on_disconnect(const redisAsyncContext *ac, int status) {
  qrl_redis *r = ac->data;
  (void)status;
  if (!r || r->ac != ac) return;
  went_down(r, r->dropping ? NULL : ac->errstr[0] ? ac->errstr : "connection closed");
}

static int send_internal(qrl_redis *r, const char *fmt, ...) {
  pending *p = calloc(1, sizeof(*p));
  va_list ap;
  int rc;
  if (!p) return -1;
  p->r = r;
  p->deadline = uv_now(r->loop) + (uint64_t)r->connect_ms;
  va_start(ap, fmt);
  rc = redisvAsyncCommand(r->ac, on_reply, p, fmt, ap);
  va_end(ap);
  if (rc != REDIS_OK) {
    free(p);
    return -1;
  }
  if (r->tail) r->tail->next = p;
  else r->head = p;
  r->tail = p;
  return 0;
}

/* A subscriber's replies: the subscription's confirmation, then messages
 * ([kind, channel, payload]). None (NULL) as the connection goes. */
static void on_sub(redisAsyncContext *ac, void *reply, void *privdata) {
  qrl_redis *r = privdata;
  redisReply *rep = reply;
  (void)ac;
  if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
      rep->element[0]->type != REDIS_REPLY_STRING)
    return;
  if (strcmp(rep->element[0]->str, "subscribe") == 0) {
    if (r->on_up) r->on_up(r->sub_arg);
  } else if (strcmp(rep->element[0]->str, "message") == 0 &&
             rep->element[2]->type == REDIS_REPLY_STRING) {
    r->st.replies++;
    if (r->on_msg) r->on_msg(r->sub_arg, rep->element[2]->str, rep->element[2]->len);
  }
}

void qrl_redis_on_state(qrl_redis *r, void (*fn)(void *arg, int up), void *arg) {
  r->on_state = fn;
  r->state_arg = arg;
}

void qrl_redis_subscribe(qrl_redis *r, const char *channel, qrl_redis_msg_cb msg,
                         qrl_redis_up_cb up, void *arg) {
  snprintf(r->channel, sizeof(r->channel), "%s", channel);
  r->on_msg = msg;
  r->on_up = up;
  r->sub_arg = arg;
}

/* A reply to the bring-up: SELECT's, then CONFIG GET maxmemory-policy's. */
static void bring_up_reply(qrl_redis *r, redisReply *rep) {
  char at[300];
  if (r->state != QRL_REDIS_CONNECTING || !rep) return; /* no reply: going down already */
  if (rep->type == REDIS_REPLY_ERROR) {
    drop(r, rep->str);
    return;
  }
  if (rep->type == REDIS_REPLY_ARRAY) {
    const char *policy = rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_STRING
                             ? rep->element[1]->str
                             : "";
    if (strcmp(policy, "noeviction") != 0) {
      snprintf(r->why, sizeof(r->why),
               "maxmemory-policy is '%s', not noeviction: Redis could drop live challenges "
               "and throttle counts", policy);
      r->state = QRL_REDIS_MISCONFIGURED;
      qrl_log_kv(r->log, QRL_LOG_ERROR, "redis_refused", "at", where(r, at, sizeof(at)), "msg",
                 r->why, (const char *)NULL);
      drop(r, r->why);
      return;
    }
  }
  if (--r->ready_steps > 0) return;
  r->state = QRL_REDIS_UP;
  r->why[0] = '\0';
  r->said_down = 0;
  r->backoff_ms = BACKOFF_MIN_MS;
  r->st.connects++;
  qrl_log_kv(r->log, QRL_LOG_NOTICE, "redis_up", "at", where(r, at, sizeof(at)),
             (const char *)NULL);
  if (r->on_state) r->on_state(r->state_arg, 1);
  if (r->channel[0] &&
      redisAsyncCommand(r->ac, on_sub, r, "SUBSCRIBE %s", r->channel) != REDIS_OK)
    drop(r, "cannot subscribe");
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  pending *p = privdata;
  qrl_redis *r = p->r;
  pending **link;
  (void)ac;
  /* Unlink p (the head, as Redis answers in order). */
  for (link = &r->head; *link && *link != p; link = &(*link)->next) {}
  if (*link) {
    *link = p->next;
    if (r->tail == p) {
      r->tail = NULL;
      for (pending *q = r->head; q; q = q->next) r->tail = q;
    }
  }
  if (!p->cb) {
    bring_up_reply(r, reply);
  } else if (reply) {
    r->st.replies++;
    p->cb(p->arg, QRL_OK, reply);
  } else {
    r->st.failed++;
    p->cb(p->arg, QRL_UNAVAILABLE, NULL);
  }
  free(p);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  qrl_redis *r = ac->data;
  if (!r || r->ac != ac) return;
  if (status != REDIS_OK) {
    went_down(r, ac->errstr[0] ? ac->errstr : "cannot connect"); /* hiredis frees ac */
    return;
  }
  /* Connected: the password, the database, then the policy; up after
   * every reply (an error, e.g. WRONGPASS, drops the connection and says
   * why; Redis' words never hold the password). */
  r->ready_steps = r->addr.password[0] ? 3 : 2;
  if ((r->addr.password[0] && send_internal(r, "AUTH %s", r->addr.password)) ||
      send_internal(r, "SELECT %d", r->addr.db) ||
      send_internal(r, "CONFIG GET maxmemory-policy"))
    drop(r, "cannot send the bring-up commands");
}

static void connect_now(qrl_redis *r) {
  redisAsyncContext *ac = r->addr.path[0] ? redisAsyncConnectUnix(r->addr.path)
                                          : redisAsyncConnect(r->addr.host, r->addr.port);
  if (!ac) {
    snprintf(r->why, sizeof(r->why), "out of memory");
    schedule_retry(r);
    return;
  }
  if (ac->err) {
    snprintf(r->why, sizeof(r->why), "%s", ac->errstr);
    redisAsyncFree(ac);
    went_down(r, NULL);
    return;
  }
  ac->data = r;
  if (redisLibuvAttach(ac, r->loop) != REDIS_OK) {
    snprintf(r->why, sizeof(r->why), "cannot watch the socket");
    redisAsyncFree(ac);
    went_down(r, NULL);
    return;
  }
  r->ac = ac;
  r->state = QRL_REDIS_CONNECTING;
  uv_update_time(r->loop); /* uv_now() is the loop's cached time: it may be old */
  r->connect_deadline = uv_now(r->loop) + (uint64_t)r->connect_ms;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void on_retry(uv_timer_t *t) {
  qrl_redis *r = t->data;
  if (!r->freeing && r->state == QRL_REDIS_DOWN && !r->ac) connect_now(r);
}

static void schedule_retry(qrl_redis *r) {
  int ms = r->backoff_ms;
  r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
  uv_timer_start(&r->retry, on_retry, (uint64_t)ms, 0);
}

/* Whether the connection's socket has something to read now: a process
 * that did not run for a while (a loaded machine) finds its timers due
 * before it has read the replies waiting for it. */
static int reply_waiting(const qrl_redis *r) {
  struct pollfd p = {.fd = r->ac ? r->ac->c.fd : -1, .events = POLLIN | POLLOUT};
  if (p.fd < 0 || poll(&p, 1, 0) != 1) return 0;
  return r->state == QRL_REDIS_CONNECTING ? (p.revents & (POLLIN | POLLOUT)) != 0
                                          : (p.revents & POLLIN) != 0;
}

/* The deadlines: the connection's while it comes up, the oldest command's. */
static void on_watch(uv_timer_t *t) {
  qrl_redis *r = t->data;
  uint64_t now = uv_now(r->loop);
  int late;
  if (!r->ac) return;
  late = (r->state == QRL_REDIS_CONNECTING && now >= r->connect_deadline) ||
         (r->head && now >= r->head->deadline);
  /* Late only if nothing has come: what has is read first - once (an
   * end of file stays "readable" for ever). */
  if (!late) {
    r->deferred = 0;
    return;
  }
  if (!r->deferred && reply_waiting(r)) {
    r->deferred = 1;
    return;
  }
  r->deferred = 0;
  if (r->state == QRL_REDIS_CONNECTING && now >= r->connect_deadline) {
    drop(r, "no connection within the connect timeout");
    return;
  }
  if (r->head && now >= r->head->deadline) {
    r->st.timeouts++;
    drop(r, "no reply within the command timeout");
  }
}

qrl_redis *qrl_redis_new(uv_loop_t *loop, const qrl_redis_addr *addr, int connect_ms,
                         int command_ms, qrl_log *log) {
  qrl_redis *r = calloc(1, sizeof(*r));
  int tick;
  if (!r) return NULL;
  r->loop = loop;
  r->addr = *addr;
  r->connect_ms = connect_ms < 10 ? 10 : connect_ms;
  r->command_ms = command_ms < 10 ? 10 : command_ms;
  r->log = log;
  r->backoff_ms = BACKOFF_MIN_MS;
  /* hiredis resolves a name with a blocking getaddrinfo() at each connect:
   * resolved once here (before the loop serves anyone), an address after. */
  if (r->addr.host[0]) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(r->addr.host, NULL, &hints, &ai) == 0 && ai) {
      char ip[INET6_ADDRSTRLEN] = "";
      const void *a = ai->ai_family == AF_INET
                          ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
      if (inet_ntop(ai->ai_family, a, ip, sizeof(ip)))
        snprintf(r->addr.host, sizeof(r->addr.host), "%s", ip);
    }
    if (ai) freeaddrinfo(ai);
  }
  uv_timer_init(loop, &r->retry);
  uv_timer_init(loop, &r->watch);
  r->retry.data = r->watch.data = r;
  r->timers_open = 2;
  /* Deadlines are kept to a fifth of the shorter one. */
  tick = (r->command_ms < r->connect_ms ? r->command_ms : r->connect_ms) / 5;
  uv_timer_start(&r->watch, on_watch, (uint64_t)(tick < 2 ? 2 : tick),
                 (uint64_t)(tick < 2 ? 2 : tick));
  connect_now(r);
  return r;
}

qrl_err qrl_redis_cmd(qrl_redis *r, qrl_redis_cb cb, void *arg, const char *fmt, ...) {
  pending *p;
  va_list ap;
  int rc;
  if (r->state != QRL_REDIS_UP || !r->ac || !cb || r->channel[0]) {
    r->st.refused++;
    return QRL_UNAVAILABLE;
  }
  if (!(p = calloc(1, sizeof(*p)))) {
    r->st.refused++;
    return QRL_UNAVAILABLE;
  }
  p->r = r;
  p->cb = cb;
  p->arg = arg;
  uv_update_time(r->loop);
  p->deadline = uv_now(r->loop) + (uint64_t)r->command_ms;
  va_start(ap, fmt);
  rc = redisvAsyncCommand(r->ac, on_reply, p, fmt, ap);
  va_end(ap);
  if (rc != REDIS_OK) {
    free(p);
    r->st.refused++;
    return QRL_UNAVAILABLE;
  }
  if (r->tail) r->tail->next = p;
  else r->head = p;
  r->tail = p;
  r->st.commands++;
  return QRL_OK;
}

qrl_redis_state qrl_redis_state_of(const qrl_redis *r) { return r->state; }
const char *qrl_redis_why(const qrl_redis *r) { return r->why; }
const qrl_redis_stats *qrl_redis_stats_of(const qrl_redis *r) { return &r->st; }

static void on_timer_closed(uv_handle_t *h) {
  qrl_redis *r = h->data;
  if (--r->timers_open == 0) {
    qrl_cleanse(r->addr.password, sizeof(r->addr.password));
    free(r);
  }
}

void qrl_redis_free(qrl_redis *r) {
  if (!r) return;
  r->freeing = 1;
  if (r->ac) drop(r, "closed"); /* hiredis answers what waits */
  uv_timer_stop(&r->retry);
  uv_timer_stop(&r->watch);
  uv_close((uv_handle_t *)&r->retry, on_timer_closed);
  uv_close((uv_handle_t *)&r->watch, on_timer_closed);
}
