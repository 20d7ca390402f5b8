/*
 * load_ws.h - the load benchmark's client side: many websockets (and a few
 * HTTP/1.1 POSTs) on one thread, one epoll set, no library.
 *
 * The RFC 6455 client part is written out here because it is small and the
 * bench must not pay for a library's per-socket context: the upgrade request
 * (the RFC's sample key, checked against its accept value), masked client
 * frames, server frames with 7-, 16- and 64-bit lengths, fragments put back
 * together, ping answered with pong as a browser does, and the close
 * handshake. Every connection is made from one of several loopback source
 * addresses (127.0.0.2, 127.0.0.3, ...), round robin, with
 * IP_BIND_ADDRESS_NO_PORT so that the port is chosen per 4-tuple.
 *
 * What it does not do: TLS, extensions (no permessage-deflate is asked for),
 * redirects, keep-alive HTTP. Not thread-safe: one loop, one thread.
 */
#ifndef QRL_BENCH_LOAD_WS_H
#define QRL_BENCH_LOAD_WS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lw_loop lw_loop;
typedef struct lw_conn lw_conn;

/* Why a connection ended (the closed callback's why). */
typedef enum lw_why {
  LW_CONNECT_FAILED = 1, /* TCP connect failed (refused, no port left, ...) */
  LW_REFUSED,            /* the upgrade was answered, but not with a good 101 */
  LW_PEER_CLOSED,        /* the server sent a close frame (code in close_code) */
  LW_EOF,                /* the socket ended without a close frame */
  LW_PROTOCOL            /* the server broke the framing rules */
} lw_why;

/* What the loop calls back with. Every pointer may be NULL. user is the
 * pointer given when the connection was made. A connection is freed right
 * after its closed (or http_done) callback returns, never inside another. */
typedef struct lw_events {
  /* The upgrade succeeded. */
  void (*open)(lw_conn *c, void *user, void *arg);
  /* A whole text or binary message (msg is NUL-terminated, len without). */
  void (*message)(lw_conn *c, void *user, const char *msg, size_t len, void *arg);
  /* The connection ended; http_status is the refusal's status (LW_REFUSED),
   * close_code the close frame's code (LW_PEER_CLOSED), else 0. */
  void (*closed)(lw_conn *c, void *user, lw_why why, int http_status, int close_code,
                 void *arg);
  /* An HTTP POST was answered (status -1: no answer). head and body are
   * NUL-terminated; head holds the status line and headers. */
  void (*http_done)(lw_conn *c, void *user, int status, const char *head,
                    const char *body, size_t body_len, void *arg);
} lw_events;

/* Counters of the whole loop. */
typedef struct lw_stats {
  uint64_t pings, pongs_sent, messages, bytes_in;
} lw_stats;

/* A loop for connections to 127.0.0.1:port, made from naddrs source
 * addresses starting at 127.0.0.2. ev is copied; arg goes to every
 * callback. NULL if out of memory or epoll is unavailable. */
lw_loop *lw_loop_new(int port, int naddrs, const lw_events *ev, void *arg);

/* Closes every connection still open (without callbacks) and frees the
 * loop. NULL-safe. */
void lw_loop_free(lw_loop *l);

/* Starts a websocket to / with subprotocol proto and Origin origin (NULL:
 * no Origin header, as a phone app sends). The result comes as an open or
 * closed callback. NULL only if no socket could be made (said on stderr). */
lw_conn *lw_ws_connect(lw_loop *l, const char *proto, const char *origin, void *user);

/* Starts POST path with the JSON body (copied), Origin origin, and
 * "Connection: close"; the answer comes as http_done. NULL as above. */
lw_conn *lw_http_post(lw_loop *l, const char *path, const char *origin, const char *body,
                      void *user);

/* Sends text as one masked text frame. 0, or -1 if the connection is not
 * open (it is then closed). */
int lw_send_text(lw_conn *c, const char *text, size_t len);

/* Sends a close frame (1001, going away) if open and closes the socket
 * now, without a closed callback. The connection is freed later. */
void lw_close(lw_conn *c);

/* Replaces the user pointer of c. */
void lw_set_user(lw_conn *c, void *user);

/* Waits up to timeout_ms for events and handles them. Returns the number
 * handled, or -1 if epoll failed. */
int lw_run(lw_loop *l, int timeout_ms);

/* Connections made and not yet freed. */
size_t lw_live(const lw_loop *l);

/* The loop's counters. */
lw_stats lw_get_stats(const lw_loop *l);

/* CLOCK_MONOTONIC in milliseconds (fractional). */
double lw_now_ms(void);

#endif /* QRL_BENCH_LOAD_WS_H */
