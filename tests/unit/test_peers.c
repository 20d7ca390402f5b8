/*
 * test_peers.c - connections counted per client address (glue/peers.h):
 * the per-address and server-wide caps, IPv6 per /64, IPv4-mapped as IPv4,
 * entries that go when their last connection does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "glue/peers.h"
#include "test.h"

static struct sockaddr_in v4(const char *ip) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static struct sockaddr_in6 v6(const char *ip) {
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  inet_pton(AF_INET6, ip, &a.sin6_addr);
  return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

TEST(an_address_is_capped_and_others_are_not) {
  qrl_peers *p = qrl_peers_new(3, 100);
  struct sockaddr_in a = v4("203.0.113.7"), b = v4("203.0.113.8");
  qrl_peer *e[3], *other;
  qrl_err why = QRL_OK;
  ASSERT_TRUE(p != NULL);
  for (int i = 0; i < 3; i++) ASSERT_TRUE((e[i] = qrl_peers_take(p, SA(a), &why)) != NULL);
  ASSERT_TRUE(e[0] == e[1] && e[1] == e[2]);
  ASSERT_EQ_INT(qrl_peer_count(e[0]), 3);
  ASSERT_TRUE(qrl_peers_take(p, SA(a), &why) == NULL);
  ASSERT_EQ_INT(why, QRL_RATE_LIMITED);
  ASSERT_TRUE((other = qrl_peers_take(p, SA(b), &why)) != NULL);
  ASSERT_EQ_INT(qrl_peers_total(p), 4);
  ASSERT_EQ_INT(qrl_peers_size(p), 2);
  /* One closes: the address may open one again. */
  qrl_peers_release(p, e[2]);
  ASSERT_TRUE(qrl_peers_take(p, SA(a), &why) == e[0]);
  qrl_peers_free(p);
  return 0;
}

TEST(the_server_cap_counts_everyone) {
  qrl_peers *p = qrl_peers_new(0, 5); /* no per-address cap */
  char ip[32];
  qrl_err why = QRL_OK;
  ASSERT_TRUE(p != NULL);
  for (int i = 0; i < 5; i++) {
    struct sockaddr_in a;
    snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
    a = v4(ip);
    ASSERT_TRUE(qrl_peers_take(p, SA(a), &why) != NULL);
  }
  {
    struct sockaddr_in a = v4("198.51.100.99");
    ASSERT_TRUE(qrl_peers_take(p, SA(a), &why) == NULL);
    ASSERT_EQ_INT(why, QRL_SERVER_BUSY);
  }
  qrl_peers_free(p);
  return 0;
}

TEST(ipv6_counts_per_64_and_mapped_ipv4_as_ipv4) {
  qrl_peers *p = qrl_peers_new(2, 100);
  struct sockaddr_in6 h1 = v6("2001:db8:1:2::1"), h2 = v6("2001:db8:1:2:ffff::9"),
                      h3 = v6("2001:db8:1:2:abcd::1"), next = v6("2001:db8:1:3::1"),
                      mapped = v6("::ffff:192.0.2.1");
  struct sockaddr_in plain = v4("192.0.2.1");
  qrl_peer *e, *m;
  qrl_err why = QRL_OK;
  char name[64];
  ASSERT_TRUE(p != NULL);
  ASSERT_TRUE((e = qrl_peers_take(p, SA(h1), &why)) != NULL);
  ASSERT_TRUE(qrl_peers_take(p, SA(h2), &why) == e); /* the same /64 */
  ASSERT_TRUE(qrl_peers_take(p, SA(h3), &why) == NULL);
  ASSERT_EQ_INT(why, QRL_RATE_LIMITED);
  ASSERT_TRUE(qrl_peers_take(p, SA(next), &why) != NULL); /* the next /64 is another */
  qrl_peer_name(e, name, sizeof(name));
  ASSERT_EQ_STR(name, "2001:db8:1:2::/64");
  ASSERT_TRUE((m = qrl_peers_take(p, SA(mapped), &why)) != NULL);
  ASSERT_TRUE(qrl_peers_take(p, SA(plain), &why) == m);
  qrl_peer_name(m, name, sizeof(name));
  ASSERT_EQ_STR(name, "192.0.2.1");
  qrl_peers_free(p);
  return 0;
}

TEST(entries_go_with_their_last_connection_and_the_table_grows) {
  enum { N = 5000 };
  static qrl_peer *held[N];
  qrl_peers *p = qrl_peers_new(4, 1000000);
  qrl_err why = QRL_OK;
  ASSERT_TRUE(p != NULL);
  for (int i = 0; i < N; i++) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
    ASSERT_TRUE((held[i] = qrl_peers_take(p, SA(a), &why)) != NULL);
  }
  ASSERT_EQ_INT(qrl_peers_size(p), N);
  for (int i = 0; i < N; i++) qrl_peers_release(p, held[i]);
  ASSERT_EQ_INT(qrl_peers_size(p), 0);
  ASSERT_EQ_INT(qrl_peers_total(p), 0);
  qrl_peers_release(p, NULL); /* nothing counted: nothing to do */
  qrl_peers_free(p);
  return 0;
}

TEST(other_address_families_are_refused) {
  qrl_peers *p = qrl_peers_new(2, 10);
  struct sockaddr unix_sa = {.sa_family = AF_UNIX};
  qrl_err why = QRL_OK;
  ASSERT_TRUE(p != NULL);
  ASSERT_TRUE(qrl_peers_take(p, &unix_sa, &why) == NULL);
  ASSERT_EQ_INT(why, QRL_INVAL);
  ASSERT_EQ_INT(qrl_peers_total(p), 0);
  qrl_peers_free(p);
  return 0;
}

TEST_MAIN(an_address_is_capped_and_others_are_not, the_server_cap_counts_everyone,
          ipv6_counts_per_64_and_mapped_ipv4_as_ipv4,
          entries_go_with_their_last_connection_and_the_table_grows,
          other_address_families_are_refused)
