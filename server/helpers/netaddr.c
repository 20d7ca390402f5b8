/*
 * netaddr.c - see netaddr.h.
 */
#include "helpers/netaddr.h"

#include <arpa/inet.h>
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
