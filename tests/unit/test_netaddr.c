/*
 * test_netaddr.c - the proximity signal (same IPv4 /24 or IPv6 /48), the
 * network an address counts against (IPv4 address, IPv6 /64), and HTTP Host
 * values: strict parsing, and which names are loopback on every resolver.
 */
#include <string.h>

#include "helpers/netaddr.h"
#include "test.h"

TEST(same_and_different_networks) {
  ASSERT_TRUE(qrl_ip_same_network("192.168.1.10", "192.168.1.200"));
  ASSERT_FALSE(qrl_ip_same_network("192.168.1.10", "192.168.2.10"));
  ASSERT_TRUE(qrl_ip_same_network("127.0.0.1", "127.0.0.2"));
  ASSERT_FALSE(qrl_ip_same_network("127.0.0.1", "127.0.1.1"));
  ASSERT_TRUE(qrl_ip_same_network("2001:db8:1:a::1", "2001:db8:1:ffff::2"));
  ASSERT_FALSE(qrl_ip_same_network("2001:db8:1::1", "2001:db8:2::1"));
  ASSERT_TRUE(qrl_ip_same_network("::ffff:10.0.0.1", "10.0.0.9"));
  ASSERT_FALSE(qrl_ip_same_network("10.0.0.1", "2001:db8::1"));
  return 0;
}

TEST(garbage_is_never_near) {
  ASSERT_FALSE(qrl_ip_same_network("", ""));
  ASSERT_FALSE(qrl_ip_same_network(NULL, "10.0.0.1"));
  ASSERT_FALSE(qrl_ip_same_network("10.0.0.1x", "10.0.0.1"));
  ASSERT_FALSE(qrl_ip_same_network("localhost", "localhost"));
  return 0;
}

TEST(network_keys) {
  char k[QRL_NET_KEY_MAX], long_text[100];
  qrl_ip_network_key("203.0.113.7", k);
  ASSERT_EQ_STR(k, "203.0.113.7");
  qrl_ip_network_key("::ffff:203.0.113.7", k);
  ASSERT_EQ_STR(k, "203.0.113.7");
  qrl_ip_network_key("2001:DB8:1:2:3:4:5:6", k);
  ASSERT_EQ_STR(k, "2001:db8:1:2::/64");
  qrl_ip_network_key("2001:db8:1:2::", k);
  ASSERT_EQ_STR(k, "2001:db8:1:2::/64");
  qrl_ip_network_key("::1", k);
  ASSERT_EQ_STR(k, "::/64");
  qrl_ip_network_key("not an address", k);
  ASSERT_EQ_STR(k, "not an address");
  qrl_ip_network_key(NULL, k);
  ASSERT_EQ_STR(k, "");
  memset(long_text, 'x', sizeof(long_text) - 1);
  long_text[sizeof(long_text) - 1] = '\0';
  qrl_ip_network_key(long_text, k);
  ASSERT_EQ_INT(strlen(k), QRL_NET_KEY_MAX - 1);
  return 0;
}

TEST(host_values_parse_strictly) {
  char name[QRL_HOST_NAME_MAX];
  int port = 0;
  static const char *const bad[] = {"", ":80", "a:", "a:65536", "a:123456", "a:8o",
                                    "a b", "user@host", "host/path", "[::1", "[::1]x",
                                    "[nothing]", "[]", "a:80:90", "h%41st", "tab\there",
                                    "[::1]:", "a,b"};
  ASSERT_EQ_INT(qrl_host_parse("Portal.Example:8080", name, &port), 0);
  ASSERT_EQ_STR(name, "portal.example");
  ASSERT_EQ_INT(port, 8080);
  ASSERT_EQ_INT(qrl_host_parse("localhost", name, &port), 0);
  ASSERT_EQ_INT(port, -1);
  ASSERT_EQ_INT(qrl_host_parse("[::1]:0", name, &port), 0);
  ASSERT_EQ_STR(name, "[::1]");
  ASSERT_EQ_INT(port, 0);
  ASSERT_EQ_INT(qrl_host_parse("[2001:DB8::1]", name, &port), 0);
  ASSERT_EQ_STR(name, "[2001:db8::1]");
  ASSERT_EQ_INT(qrl_host_parse("a:65535", name, &port), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qrl_host_parse(bad[i], name, &port) == 0) TEST_FAIL_("'%s' parsed", bad[i]);
  ASSERT_EQ_INT(qrl_host_parse(NULL, name, &port), -1);
  {
    char huge[200];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    ASSERT_EQ_INT(qrl_host_parse(huge, name, &port), -1);
  }
  return 0;
}

/* Loopback on every resolver: a rebinding attacker cannot own these names. */
TEST(loopback_names) {
  static const char *const yes[] = {"localhost", "127.0.0.1", "127.0.0.2", "127.255.255.254",
                                    "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]"};
  static const char *const no[] = {"localhost.evil.example", "evil.example", "127.0.0.1.nip.io",
                                   "127.1", "2130706433", "0x7f000001", "128.0.0.1",
                                   "10.0.0.1", "[::2]", "[::ffff:10.0.0.1]", "::1", "",
                                   "localhost.", "[::1"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (!qrl_host_is_loopback(yes[i])) TEST_FAIL_("'%s' not loopback", yes[i]);
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    if (qrl_host_is_loopback(no[i])) TEST_FAIL_("'%s' taken for loopback", no[i]);
  ASSERT_FALSE(qrl_host_is_loopback(NULL));
  return 0;
}

/* --metrics-allow blocks: IPv4 and IPv6, exact prefixes, no host bits. */
TEST(cidr_blocks) {
  static const char *const bad[] = {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/8", "10/8",
                                    "10.0.0.0/08", "::1/129", "::ffff:10.0.0.0/104",
                                    "10.0.0.0/-1", "10.0.0.0/8/8", "host/8", "10.0.0.0/1x"};
  qrl_cidr b;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (qrl_cidr_parse(bad[i], &b) == 0) TEST_FAIL_("'%s' parsed", bad[i]);
  ASSERT_EQ_INT(qrl_cidr_parse(NULL, &b), -1);
  ASSERT_EQ_INT(qrl_cidr_parse("127.0.0.1", &b), 0);
  ASSERT_TRUE(qrl_cidr_match(&b, "127.0.0.1"));
  ASSERT_TRUE(qrl_cidr_match(&b, "::ffff:127.0.0.1"));
  ASSERT_FALSE(qrl_cidr_match(&b, "127.0.0.2"));
  ASSERT_FALSE(qrl_cidr_match(&b, "garbage"));
  ASSERT_EQ_INT(qrl_cidr_parse("10.1.0.0/17", &b), 0);
  ASSERT_TRUE(qrl_cidr_match(&b, "10.1.127.255"));
  ASSERT_FALSE(qrl_cidr_match(&b, "10.1.128.0"));
  ASSERT_FALSE(qrl_cidr_match(&b, "::a01:1")); /* IPv6, not mapped */
  ASSERT_EQ_INT(qrl_cidr_parse("0.0.0.0/0", &b), 0);
  ASSERT_TRUE(qrl_cidr_match(&b, "203.0.113.9"));
  ASSERT_FALSE(qrl_cidr_match(&b, "2001:db8::1"));
  ASSERT_EQ_INT(qrl_cidr_parse("::1", &b), 0);
  ASSERT_TRUE(qrl_cidr_match(&b, "::1"));
  ASSERT_FALSE(qrl_cidr_match(&b, "127.0.0.1"));
  ASSERT_EQ_INT(qrl_cidr_parse("2001:db8::/32", &b), 0);
  ASSERT_TRUE(qrl_cidr_match(&b, "2001:db8:ffff::1"));
  ASSERT_FALSE(qrl_cidr_match(&b, "2001:db9::1"));
  return 0;
}

TEST_MAIN(same_and_different_networks, garbage_is_never_near, network_keys,
          host_values_parse_strictly, loopback_names, cidr_blocks)
