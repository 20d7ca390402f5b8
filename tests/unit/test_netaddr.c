/*
 * test_netaddr.c - the proximity signal: same IPv4 /24 or IPv6 /48.
 */
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

TEST_MAIN(same_and_different_networks, garbage_is_never_near)
