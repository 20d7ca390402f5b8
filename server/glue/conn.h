/*
 * conn.h - per-connection state shared by the HTTP, browser and phone
 * protocols, and the registry that finds a connection by id.
 *
 * A qrl_conn is lws's per-session data (lws allocates and frees it). Work
 * that finishes later (a worker job, a store event) refers to a connection
 * by its 64-bit id, never by pointer: if the connection closed meanwhile the
 * lookup fails and the result is dropped. An outgoing websocket message with
 * nothing ahead of it is written at once; the others are queued and written
 * one per WRITEABLE callback; a peer that does not read is cut off
 * when its queue passes a bound, so a slow reader cannot grow server memory.
 * Incoming websocket fragments are reassembled here up to QRL_MAX_MESSAGE.
 * Depends on lws.
 */
#ifndef QRLOGIN_CONN_H
#define QRLOGIN_CONN_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/challenge.h"
#include "helpers/intern.h"
#include "helpers/keepalive.h"
#include "helpers/wheel.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"

typedef enum qrl_conn_kind {
  QRL_CONN_NONE, /* not registered yet: no kind's state is in use */
  QRL_CONN_HTTP,
  QRL_CONN_BROWSER,
  QRL_CONN_PHONE
} qrl_conn_kind;

typedef struct qrl_outmsg qrl_outmsg;

/* The longest User-Agent / Origin kept (a longer User-Agent is cut, a longer
 * Origin counts as none). */
#define QRL_CONN_UA_MAX 159
#define QRL_CONN_ORIGIN_MAX 127

/* Most queued outgoing messages / bytes before a connection is dropped. */
#define QRL_OUTQ_MAX_MSGS 32
#define QRL_OUTQ_MAX_BYTES (64 * 1024)

typedef struct qrl_conn {
  uint64_t id; /* 0 until registered */
  struct lws *wsi;
  qrl_conn_kind kind;
  struct qrl_conn *hnext; /* registry chain */
  qrl_outmsg *out_head, *out_tail; /* owned */
  size_t out_count, out_bytes;
  int write_due; /* websocket: a WRITEABLE is due to us (asked for, or owed
                    after lws kept part of a write) */
  char *rx;     /* owned: reassembly buffer, allocated on the first fragment */
  size_t rx_len;
  int rx_overflow;
  char ip[48];
  /* The request's User-Agent (cleaned, cut to QRL_CONN_UA_MAX bytes) and
   * Origin, shared: thousands of waiting pages send a few dozen distinct
   * ones. References in the registry's table (qrl_conns.strs), taken by
   * qrl_conn_capture_headers and given back by qrl_conn_forget_headers; NULL
   * when absent. Read them with qrl_conn_ua() and qrl_conn_origin(). */
  const char *ua;
  const char *origin;
  double msg_tokens;  /* message budget (server.c) */
  int flooded;        /* over the budget: closing (1008) */
  int64_t msg_last;   /* monotonic ms of the last message */
  int msg_strikes;
  /* What only one kind of connection uses, overlaid: a waiting login page
   * is the most common connection, and it carries no HTTP request state.
   * Which part is live follows kind (the browser's is written from
   * FILTER_PROTOCOL_CONNECTION on, before it is registered). */
  union {
    struct { /* QRL_CONN_HTTP: the request and its answer */
      char path[48]; /* "/.well-known/openid-configuration" fits */
      int method_post;
      int64_t body_deadline; /* monotonic ms: the whole body must arrive by then
                                (slowloris) */
      char *body; /* owned */
      size_t body_len;
      char cookie[QRL_SESSION_B64LEN + 1];
      int http_status;
      char *resp;        /* owned: response body */
      char *resp_cookie; /* owned: Set-Cookie value */
      int resp_ready;
      int resp_close; /* the answer ends the connection ("Connection: close") */
      int rx_held;    /* reading stopped until the answer is written (pipelining) */
      int body_done;  /* BODY_COMPLETION seen */
      const char *resp_type; /* static: the answer's Content-Type; NULL: JSON */
      const char *resp_cache; /* static: the answer's Cache-Control; NULL: no-store
                                 (with "Pragma: no-cache") */
      char *resp_location;    /* owned: a redirect's Location, or NULL */
      const char *resp_auth;  /* static: the answer's WWW-Authenticate, or NULL */
      int64_t req_start_us;  /* monotonic us of an /api request (metrics.h); 0:
                                not timed */
    };
    struct { /* QRL_CONN_BROWSER and QRL_CONN_PHONE: websockets */
      int ping_due;  /* a ping goes out at the next WRITEABLE */
      qrl_keepalive_node alive; /* when it was last heard from (keepalive.h) */
      union {
        struct { /* QRL_CONN_BROWSER */
          int64_t frame;           /* the QR frame it shows */
          qrl_wheel_node frame_at; /* when its next frame is due */
          qrl_frames frames;       /* its live code (id "" if none): frame clock
                                      and key, wiped when the code or the
                                      socket goes */
          int kiosk;               /* the kiosk page (/kiosk) */
          int watch;               /* the portal page (/portal): no code, it
                                      waits to hear its session has ended */
          int64_t web_session;     /* watch: the session's row, once known */
          char oidc_req[23];       /* the page serves /oauth2/authorize request
                                      (its id, from "?oidc=" on the socket's
                                      URL), "" for none */
          int watch_recheck;       /* watch: a session ended while the look-up
                                      was out; look again */
          int in_flight;           /* its code is scanned: a login in flight
                                      (a draining node waits for it) */
        };
        struct { /* QRL_CONN_PHONE */
          char sms_phone[16]; /* (demo) the number whose SMS it receives */
          int awaiting_proof; /* closed unless a request succeeds in time */
          /* A scan refused only because the web-login permission is off,
           * of a frame that was genuine and fresh then: while the citizen
           * grants the permission (a dialogue at human speed), the same
           * phone's rescan of that very frame is judged fresh as of
           * held_seen_ms (handlers/phone_qr.c). held_seen_ms 0: none. */
          qrl_qr_payload held;
          int64_t held_seen_ms; /* monotonic ms the server first saw it */
          int64_t held_device;  /* by this device */
          int64_t pin_ok_ms;  /* monotonic ms this socket last proved the
                                 passcode (a permission grant); 0: never */
        };
      };
    };
  };
} qrl_conn;

/* The registry: connection id -> live qrl_conn. One per server. */
typedef struct qrl_conns {
  qrl_conn **buckets; /* owned */
  qrl_intern *strs;   /* owned: the connections' User-Agents and Origins */
  size_t nbuckets;
  size_t count;
  size_t by_kind[4]; /* registered connections by qrl_conn_kind */
  uint64_t next_id;
} qrl_conns;

/* Initialises reg. Returns QRL_OK or QRL_NOMEM. */
qrl_err qrl_conns_init(qrl_conns *reg);
/* Frees reg's table (the connections belong to lws). */
void qrl_conns_free(qrl_conns *reg);

/* Gives c a fresh id, binds it to wsi and kind, and adds it to reg. */
qrl_err qrl_conn_register(qrl_conns *reg, qrl_conn *c, struct lws *wsi,
                          qrl_conn_kind kind);
/* Removes c from reg and frees its queues and buffers. Safe if c was never
 * registered. */
void qrl_conn_release(qrl_conns *reg, qrl_conn *c);
/* Returns the live connection with id, or NULL. */
qrl_conn *qrl_conn_find(qrl_conns *reg, uint64_t id);

/* Calls fn(c, arg) for every registered connection of kind, in no order.
 * fn must not close or release connections (queueing messages is fine).
 * O(connections): for rare events only. */
void qrl_conn_each(qrl_conns *reg, qrl_conn_kind kind, void (*fn)(qrl_conn *c, void *arg),
                   void *arg);

/* A socket anyone can open but only a credential makes useful (the phone's)
 * is closed by lws after secs unless qrl_conn_proven() is called first. */
void qrl_conn_await_proof(qrl_conn *c, int secs);
/* A request of c succeeded (it showed a session or a password): c may stay
 * open as long as it answers pings. Nothing for a connection that is not a
 * phone's. */
void qrl_conn_proven(qrl_conn *c);

/* Copies the peer address of wsi into c and takes shared copies of its
 * User-Agent and Origin (giving back the ones c held). Call in
 * FILTER_PROTOCOL_CONNECTION or HTTP (the headers are gone later). */
void qrl_conn_capture_headers(qrl_conn *c, struct lws *wsi);
/* Gives back c's User-Agent and Origin (NULL after). Idempotent: called
 * wherever lws may free c (qrl_conn_release, protocol 0's WSI_DESTROY, and
 * the end of protocol 0's own filter, whose per-session data lws 4.1.6 frees
 * without a callback when it binds the request to another protocol). */
void qrl_conn_forget_headers(qrl_conns *reg, qrl_conn *c);

/* c's User-Agent, or "" if it sent none. */
static inline const char *qrl_conn_ua(const qrl_conn *c) { return c->ua ? c->ua : ""; }
/* c's Origin, or "" if it sent none (or one too long to keep). */
static inline const char *qrl_conn_origin(const qrl_conn *c) {
  return c->origin ? c->origin : "";
}

/* Sends len bytes of text (copied) to c: written at once when nothing of
 * c's is waiting to go out (a websocket's), else queued behind it with a
 * WRITEABLE callback asked for. If the queue is over its bound the
 * connection is closed instead. Call on the loop's thread only. */
qrl_err qrl_conn_send(qrl_conn *c, const char *text, size_t len);

/* Queues a ping ahead of c's messages. */
void qrl_conn_ping(qrl_conn *c);

/* Writes a due ping, else the first queued message; call from
 * SERVER_WRITEABLE. Returns 0, or -1 if the connection must close. */
int qrl_conn_write_one(qrl_conn *c);

/* For SERVER_WRITEABLE, before qrl_conn_write_one(): 1 if this callback is
 * one c is due (it asked for it, or lws finished sending part of a message
 * of c's); 0 if lws calls on its own, after writing a control frame - in
 * lws 4.1.6 that is after each pong it answers a client's ping with (and
 * after its own keepalive ping, every 30 s of silence). */
int qrl_conn_write_was_due(qrl_conn *c);

/* Appends a received websocket fragment. Returns 1 when a whole message is in
 * c->rx (c->rx_len bytes, NUL-terminated), 0 if more fragments follow, or -1
 * if the message is over QRL_MAX_MESSAGE (then close with 1009). */
int qrl_conn_rx(qrl_conn *c, struct lws *wsi, const void *in, size_t len);
/* Forgets the reassembled message. */
void qrl_conn_rx_reset(qrl_conn *c);

#endif /* QRLOGIN_CONN_H */
