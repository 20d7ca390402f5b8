/*
 * peers.h - open connections counted per client address, so that one client
 * cannot hold every socket the server has. An IPv4 address is one peer; an
 * IPv6 client is counted per /64 (one subscriber's network: a host there can
 * pick any of 2^64 addresses). IPv4-mapped IPv6 counts as IPv4.
 *
 * The table holds an entry per peer with open connections (freed when its
 * last one closes), so its size follows the connections, not the attacker's
 * address space. Its hash is keyed with a random seed. Loop thread only.
 * Depends on libc and OpenSSL's RAND (the seed).
 */
#ifndef QRLOGIN_PEERS_H
#define QRLOGIN_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "qrlogin/error.h"

typedef struct qrl_peers qrl_peers;
typedef struct qrl_peer qrl_peer;

/* A table allowing per_peer open connections per peer (0: no per-peer cap)
 * and total in all. NULL if out of memory. Free with qrl_peers_free(). */
qrl_peers *qrl_peers_new(unsigned per_peer, size_t total);
/* Frees p and every entry (the connections are gone). */
void qrl_peers_free(qrl_peers *p);

/* Counts one more connection from sa (AF_INET or AF_INET6). Returns the
 * peer's entry, to give back with qrl_peers_release() when the connection
 * closes; or NULL with *why: QRL_RATE_LIMITED (this peer has per_peer
 * already), QRL_SERVER_BUSY (total reached), QRL_NOMEM, QRL_INVAL (another
 * address family). */
qrl_peer *qrl_peers_take(qrl_peers *p, const struct sockaddr *sa, qrl_err *why);

/* One connection of e closed. e may be NULL (nothing counted). */
void qrl_peers_release(qrl_peers *p, qrl_peer *e);

/* Connections of e open now (0 for NULL). */
unsigned qrl_peer_count(const qrl_peer *e);
/* Connections open now, and peers with at least one. */
size_t qrl_peers_total(const qrl_peers *p);
size_t qrl_peers_size(const qrl_peers *p);

/* The peer's address as text: the IPv4 address, or the IPv6 /64 as
 * "2001:db8:1:2::/64". */
void qrl_peer_name(const qrl_peer *e, char *out, size_t cap);

#endif /* QRLOGIN_PEERS_H */
