/*
 * netaddr.h - is the phone on the same network as the browser, which
 * network does an address count against, and what does an HTTP Host name?
 *
 * A weak proximity signal for cross-device login: the same IPv4 /24 or IPv6
 * /48 (or both loopback) usually means the same Wi-Fi or office network; a
 * phone on mobile data does not match its desktop, so a mismatch is a risk
 * flag for policy to weigh, not proof of an attack. Depends on libc only.
 */
#ifndef QRLOGIN_NETADDR_H
#define QRLOGIN_NETADDR_H

/* Returns 1 if the textual addresses a and b are in the same IPv4 /24 or
 * IPv6 /48 (IPv4-mapped IPv6 compares as IPv4), 0 if not or unparsable. */
int qrl_ip_same_network(const char *a, const char *b);

/* The longest key qrl_ip_network_key() writes, with its NUL. */
#define QRL_NET_KEY_MAX 52 /* an IPv6 address, "/64" and NUL fit */

/* Writes to out (QRL_NET_KEY_MAX bytes) the network that address ip counts
 * against when clients are limited per network: an IPv4 address is its own
 * network (an IPv4-mapped IPv6 one too, written as IPv4); an IPv6 address
 * counts per /64 (a subscriber is usually given a whole /64, so one client
 * could otherwise take 2^64 addresses), written "2001:db8:1:2::/64". Text
 * that is no address is its own key, cut to fit (NULL is ""). */
void qrl_ip_network_key(const char *ip, char out[QRL_NET_KEY_MAX]);

/* The longest host name qrl_host_parse() writes, with its NUL. */
#define QRL_HOST_NAME_MAX 128

/* Parses an HTTP Host value, uri-host [":" port] (RFC 9110 7.2), strictly: a
 * name of letters, digits, '-', '.' and '_' (lowercased into name), or an
 * IPv6 literal in brackets (written back in brackets, lowercased), then
 * optionally ':' and 0..65535 (*port; -1 if none). No user info, no spaces,
 * no percent escapes. Returns 0, or -1 if host is no such value. */
int qrl_host_parse(const char *host, char name[QRL_HOST_NAME_MAX], int *port);

/* Returns 1 if name (as qrl_host_parse() wrote it) names this machine on
 * every resolver: "localhost", an IPv4 address in 127.0.0.0/8 or "[::1]";
 * else 0. Other names resolve through DNS, which an attacker may answer. */
int qrl_host_is_loopback(const char *name);

/* An address block: IPv4 or IPv6 (IPv4 held as IPv4-mapped IPv6, with its
 * prefix length counted from the mapped form's 96). */
typedef struct qrl_cidr {
  unsigned char addr[16];
  int bits; /* 0..128 */
} qrl_cidr;

/* Parses "ADDR/LEN" (IPv4 with 0..32, IPv6 with 0..128) or a bare address
 * (a block of one) into *out; host bits past the prefix must be zero
 * ("10.0.0.1/8" is refused: it is most likely a typo). 0, or -1. */
int qrl_cidr_parse(const char *s, qrl_cidr *out);

/* Returns 1 if the textual address ip is inside block b (an IPv4-mapped
 * IPv6 address matches IPv4 blocks), else 0 (also if ip is no address). */
int qrl_cidr_match(const qrl_cidr *b, const char *ip);

#endif /* QRLOGIN_NETADDR_H */
