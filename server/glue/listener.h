/*
 * listener.h - qrlogind's listening socket, accepted on the libuv loop by
 * us rather than by lws, so that every connection passes the server's own
 * checks before lws sees it (per-client caps, peers.h) and running out of
 * file descriptors is handled instead of spun on.
 *
 * Out of descriptors (EMFILE/ENFILE): the listener closes a descriptor it
 * keeps spare, accepts and closes the waiting connections (the clients see
 * the connection close at once rather than hang in the backlog), takes its
 * spare back, and pauses accepting for a moment; the log gets one line per
 * 10 s saying how many were shed - never one per accept. Loop thread only.
 * Depends on libuv.
 */
#ifndef QRLOGIN_LISTENER_H
#define QRLOGIN_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

typedef struct qrl_listener qrl_listener;
struct qrl_log;

/* A new connection: fd is non-blocking and close-on-exec, and now belongs
 * to the callee (adopt it or close it). */
typedef void (*qrl_accept_fn)(void *arg, int fd, const struct sockaddr *peer);

#define QRL_LISTEN_PAUSE_MS 100   /* accepting pauses this long when out of fds */
#define QRL_LISTEN_LOG_MS 10000   /* at most one "shed" line this often */
#define QRL_LISTEN_BATCH 64       /* accepts per wakeup, so the loop moves on */

typedef struct qrl_listener_stats {
  uint64_t accepted; /* handed to the callback */
  uint64_t shed;     /* accepted and closed at once: out of descriptors */
  uint64_t pauses;   /* times accepting paused */
} qrl_listener_stats;

/* Binds addr (IPv4 text) : port (0: any free port) and listens. On failure
 * logs why to log (NULL: stderr; port in use, not this machine's address, a
 * privileged port, ...) and returns NULL. Accepting starts with
 * qrl_listener_start(). */
qrl_listener *qrl_listener_open(uv_loop_t *loop, const char *addr, int port,
                               struct qrl_log *log);

/* The port it listens on (the one picked, for port 0). */
int qrl_listener_port(const qrl_listener *l);

/* Starts accepting: fn(arg, ...) for each connection. 0 or -1. */
int qrl_listener_start(qrl_listener *l, qrl_accept_fn fn, void *arg);

/* Stops accepting and closes the socket (new clients are refused by the
 * kernel); the listener is freed once libuv has closed its handles. Safe on
 * NULL and on a listener never started. */
void qrl_listener_close(qrl_listener *l);

const qrl_listener_stats *qrl_listener_stats_of(const qrl_listener *l);

#endif /* QRLOGIN_LISTENER_H */
