/*
 * netaddr.c - see netaddr.h.
 */
#include "helpers/netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Parses s into a 16-byte IPv6 form (IPv4 as ::ffff:a.b.c.d). */
static int parse(const char *s, unsigned char out[16], int *v4) {
  struct in_addr a4;
  if (!s || !*s) return -1;
  if (inet_pton(AF_INET, s, &a4) == 1) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &a4, 4);
    *v4 = 1;
    return 0;
  }
  if (inet_pton(AF_INET6, s, out) != 1) return -1;
  *v4 = memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
  return 0;
}

int qrl_ip_same_network(const char *a, const char *b) {
  unsigned char x[16], y[16];
  int xv4 = 0, yv4 = 0;
  if (parse(a, x, &xv4) || parse(b, y, &yv4) || xv4 != yv4) return 0;
  if (xv4) return memcmp(x + 12, y + 12, 3) == 0; /* /24 */
  return memcmp(x, y, 6) == 0; /* /48 */
}

void qrl_ip_network_key(const char *ip, char out[QRL_NET_KEY_MAX]) {
  unsigned char a[16];
  char net[INET6_ADDRSTRLEN];
  int v4 = 0;
  if (parse(ip, a, &v4)) {
    snprintf(out, QRL_NET_KEY_MAX, "%s", ip ? ip : "");
    return;
  }
  if (v4) {
    inet_ntop(AF_INET, a + 12, out, QRL_NET_KEY_MAX);
    return;
  }
  memset(a + 8, 0, 8); /* the interface half */
  if (!inet_ntop(AF_INET6, a, net, sizeof(net))) net[0] = '\0';
  snprintf(out, QRL_NET_KEY_MAX, "%s/64", net);
}

int qrl_host_parse(const char *host, char name[QRL_HOST_NAME_MAX], int *port) {
  const char *end, *colon;
  size_t n;
  long p = 0;

  if (!host) return -1;
  if (host[0] == '[') {
    unsigned char a6[16];
    char lit[INET6_ADDRSTRLEN];
    if (!(end = strchr(host, ']'))) return -1;
    n = (size_t)(end - host - 1);
    if (n == 0 || n >= sizeof(lit)) return -1;
    memcpy(lit, host + 1, n);
    lit[n] = '\0';
    if (inet_pton(AF_INET6, lit, a6) != 1) return -1;
    end++; /* past ']' */
  } else {
    end = host + strcspn(host, ":");
    n = (size_t)(end - host);
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++)
      if (!isalnum((unsigned char)host[i]) && !strchr("-._", host[i])) return -1;
  }
  n = (size_t)(end - host);
  if (n >= QRL_HOST_NAME_MAX) return -1;
  for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)host[i]);
  name[n] = '\0';
  *port = -1;
  if (!*end) return 0;
  if (*end != ':') return -1;
  colon = end + 1;
  n = strlen(colon);
  if (n == 0 || n > 5 || strspn(colon, "0123456789") != n) return -1;
  for (size_t i = 0; i < n; i++) p = p * 10 + (colon[i] - '0');
  if (p > 65535) return -1;
  *port = (int)p;
  return 0;
}

int qrl_host_is_loopback(const char *name) {
  unsigned char a[16];
  char lit[INET6_ADDRSTRLEN];
  size_t n;
  int v4 = 0;
  if (!name) return 0;
  if (strcmp(name, "localhost") == 0) return 1;
  if (name[0] == '[') { /* [::1], however written, or [::ffff:127.x.y.z] */
    n = strlen(name);
    if (n < 3 || n - 2 >= sizeof(lit) || name[n - 1] != ']') return 0;
    memcpy(lit, name + 1, n - 2);
    lit[n - 2] = '\0';
    if (inet_pton(AF_INET6, lit, a) != 1) return 0;
    if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0) return 1;
    return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 && a[12] == 127;
  }
  /* Dotted decimal only: a name like "127.evil.example" is DNS's. */
  if (parse(name, a, &v4) || !v4 || strchr(name, ':')) return 0;
  return a[12] == 127;
}

int qrl_cidr_parse(const char *s, qrl_cidr *out) {
  char addr[INET6_ADDRSTRLEN];
  const char *slash = s ? strchr(s, '/') : NULL;
  size_t n = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
  int v4 = 0, bits, max;
  if (!s || n == 0 || n >= sizeof(addr)) return -1;
  memcpy(addr, s, n);
  addr[n] = '\0';
  /* A bare IPv4 address, not a mapped one written as IPv6. */
  if (parse(addr, out->addr, &v4) || (v4 && strchr(addr, ':'))) return -1;
  max = v4 ? 32 : 128;
  bits = max;
  if (slash) {
    const char *p = slash + 1;
    if (!*p || strlen(p) > 3) return -1;
    bits = 0;
    for (; *p; p++) {
      if (*p < '0' || *p > '9') return -1;
      bits = bits * 10 + (*p - '0');
    }
    if (bits > max || (slash[1] == '0' && slash[2])) return -1; /* no "/08" */
  }
  out->bits = v4 ? 96 + bits : bits;
  for (int i = out->bits; i < 128; i++) /* host bits are zero */
    if (out->addr[i / 8] & (0x80 >> (i % 8))) return -1;
  return 0;
}

int qrl_cidr_match(const qrl_cidr *b, const char *ip) {
  unsigned char a[16];
  int v4 = 0, full = b->bits / 8, rest = b->bits % 8;
  if (parse(ip, a, &v4)) return 0;
  if (memcmp(a, b->addr, (size_t)full) != 0) return 0;
  if (!rest) return 1;
  return ((a[full] ^ b->addr[full]) & (0xff00 >> rest) & 0xff) == 0;
}
