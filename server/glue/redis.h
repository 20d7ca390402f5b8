/*
 * redis.h - one connection to Redis on the server's libuv loop (hiredis's
 * async API and its libuv adapter), for the state that many qrlogind nodes
 * share (issue 13: challenges, pushes, throttles). This is its transport:
 * the address, the connection's life, and a deadline on every call.
 *
 * Debian's hiredis (0.14) has no timeouts of its own, so this module keeps
 * them: a connection that is not up within connect_ms, or a command with no
 * reply within command_ms, drops the connection - every command waiting on
 * it is answered QRL_UNAVAILABLE - and it is made again with backoff (100 ms
 * doubling to 5 s). While it is down a command is refused at once: callers
 * fail closed, never wait. A Redis whose maxmemory-policy is not noeviction
 * (it could drop a live challenge or a throttle's count without a word) is
 * never used: the connection stays "misconfigured" and says why.
 *
 * Loop thread only. Depends on hiredis, libuv and helpers (log).
 */
#ifndef QRLOGIN_REDIS_H
#define QRLOGIN_REDIS_H

#include <stdint.h>
#include <uv.h>

#include "qrlogin/error.h"

struct redisReply;
struct qrl_log;

/* Where Redis is: "redis://HOST[:PORT][/DB]" (port 6379, db 0) or
 * "unix:/PATH[?db=N]". */
typedef struct qrl_redis_addr {
  char host[256]; /* TCP host, or "" for a unix socket */
  int port;
  char path[108]; /* unix socket path, or "" */
  int db;         /* 0..15 */
  char password[513]; /* AUTH's, or "" for none (never from the URL: a file) */
} qrl_redis_addr;

/* Parses url into *out. QRL_OK, or QRL_INVAL with the reason in why (n
 * bytes). */
qrl_err qrl_redis_addr_parse(const char *url, qrl_redis_addr *out, char *why, size_t n);

typedef enum qrl_redis_state {
  QRL_REDIS_DOWN,          /* not connected; the next attempt is scheduled */
  QRL_REDIS_CONNECTING,    /* connecting, selecting the db, checking the policy */
  QRL_REDIS_UP,            /* commands are sent */
  QRL_REDIS_MISCONFIGURED  /* refused (maxmemory-policy): not retried */
} qrl_redis_state;

typedef struct qrl_redis_stats {
  uint64_t commands;   /* sent */
  uint64_t replies;    /* answered by Redis (an error reply too) */
  uint64_t refused;    /* refused at once: not up */
  uint64_t timeouts;   /* connections dropped for a late reply */
  uint64_t failed;     /* commands answered QRL_UNAVAILABLE by a drop */
  uint64_t connects;   /* connections that came up */
  uint64_t drops;      /* connections that went down after being up */
} qrl_redis_stats;

typedef struct qrl_redis qrl_redis;

/* A command's answer: err QRL_OK with Redis' reply (borrowed: valid during
 * the call; an error reply is REDIS_REPLY_ERROR), or QRL_UNAVAILABLE and
 * reply NULL (timed out, connection lost, client freed). Called exactly once
 * per accepted command, on the loop, never from inside qrl_redis_cmd(). */
typedef void (*qrl_redis_cb)(void *arg, qrl_err err, struct redisReply *reply);

/* Starts connecting to addr (copied) on loop. connect_ms, command_ms: the
 * deadlines (>= 10). log (not owned, may be NULL): connection events.
 * NULL only without memory. */
qrl_redis *qrl_redis_new(uv_loop_t *loop, const qrl_redis_addr *addr, int connect_ms,
                         int command_ms, struct qrl_log *log);

/* Sends a command (hiredis's printf-like format: %s, %b with a length, %d
 * ...). QRL_OK: cb will be called. QRL_UNAVAILABLE: not up (refused at once,
 * cb not called). */
qrl_err qrl_redis_cmd(qrl_redis *r, qrl_redis_cb cb, void *arg, const char *fmt, ...);

/* A subscriber's message (borrowed: valid during the call), and its
 * (re)subscription. */
typedef void (*qrl_redis_msg_cb)(void *arg, const char *msg, size_t len);
typedef void (*qrl_redis_up_cb)(void *arg);

/* Makes r a subscriber to channel (copied; call once, before it is up): at
 * every bring-up it subscribes and calls up(arg) once Redis has confirmed
 * (messages published while it was down are lost: the caller re-reads what
 * it needs then), and msg(arg, ...) for each message. No commands can be
 * sent on a subscriber (qrl_redis_cmd refuses). */
void qrl_redis_subscribe(qrl_redis *r, const char *channel, qrl_redis_msg_cb msg,
                         qrl_redis_up_cb up, void *arg);

/* fn(arg, up) each time r comes up (1: ready for commands, or for a
 * subscriber once connected) or goes down (0) - at once, however short the
 * outage. One per connection; NULL to stop. */
void qrl_redis_on_state(qrl_redis *r, void (*fn)(void *arg, int up), void *arg);

qrl_redis_state qrl_redis_state_of(const qrl_redis *r);

/* Why the last connection attempt failed or was refused ("" if none). */
const char *qrl_redis_why(const qrl_redis *r);

const qrl_redis_stats *qrl_redis_stats_of(const qrl_redis *r);

/* Closes the connection (commands waiting get QRL_UNAVAILABLE) and frees r
 * once its handles have closed (the loop must run a little longer).
 * NULL-safe. */
void qrl_redis_free(qrl_redis *r);

#endif /* QRLOGIN_REDIS_H */
