/*
 * netaddr.h - is the phone on the same network as the browser?
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

#endif /* QRLOGIN_NETADDR_H */
