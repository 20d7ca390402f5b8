/*
 * test_config.c - qrlogind's command line and config file: the defaults,
 * every option's value and bounds, the demo's own defaults (and that explicit
 * options win over them), the cutover date as midnight in Vietnam, options
 * that go together, and refusals of anything malformed (the server then exits
 * 2 before it touches a file or a socket) - with their exact messages, the
 * file's as FILE:LINE: reason; the file's keys, comments and repeated keys,
 * the command line overriding the file, and the file's own ownership.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glue/config.h"
#include "test.h"

#define WEB "/usr/share/qrlogin/web"
#ifndef QRL_EXAMPLE_CONF /* tests/CMakeLists.txt: packaging/qrlogind.conf.example */
#error "QRL_EXAMPLE_CONF must name the example config file"
#endif

/* Parses the NULL-terminated options after a program name into *cfg (set to
 * the defaults first). Returns the parse result; *help gets want_help. */
static qrl_err parse(qrl_config *cfg, int *help, ...) {
  char *argv[64];
  int argc = 0;
  va_list ap;
  char *a;
  int dummy;
  argv[argc++] = "qrlogind";
  va_start(ap, help);
  while ((a = va_arg(ap, char *)) != NULL && argc < 63) argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  qrl_config_defaults(cfg, WEB);
  return qrl_config_parse(cfg, argc, argv, help ? help : &dummy);
}

/* One option, one value: accepted (1) or refused (0). */
static int accepts(const char *opt, const char *value) {
  qrl_config c;
  return parse(&c, NULL, opt, value, NULL) == QRL_OK;
}

TEST(defaults_are_the_documented_ones) {
  qrl_config c;
  int help = -1;
  ASSERT_ERR(parse(&c, &help, NULL), QRL_OK);
  ASSERT_EQ_INT(help, 0);
  ASSERT_EQ_INT(c.port, 8080);
  ASSERT_EQ_STR(c.bind, "127.0.0.1");
  ASSERT_EQ_STR(c.db_path, "qrlogin.db");
  ASSERT_EQ_STR(c.web_dir, WEB);
  ASSERT_EQ_INT(c.norigins, 0);
  ASSERT_EQ_INT(c.challenge_ttl, 120);
  ASSERT_EQ_INT(c.qr_frame_secs, 2);
  ASSERT_EQ_INT(c.fresh_device_hours, 24);
  ASSERT_EQ_INT(c.no_rate_limits, 0);
  ASSERT_EQ_INT(c.kiosk_idle_secs, 120);
  ASSERT_EQ_INT(c.web_idle_secs, 1800);
  ASSERT_EQ_INT(c.ws_ping_secs, 30);
  ASSERT_EQ_INT(c.proximity, QRL_PROX_FLAG);
  ASSERT_EQ_INT(c.demo, 0);
  ASSERT_EQ_INT(c.nmetrics_allow, 2);
  ASSERT_TRUE(qrl_config_metrics_allowed(&c, "127.0.0.1"));
  ASSERT_TRUE(qrl_config_metrics_allowed(&c, "::1"));
  ASSERT_FALSE(qrl_config_metrics_allowed(&c, "127.0.0.2"));
  ASSERT_FALSE(qrl_config_metrics_allowed(&c, "10.0.0.1"));
  ASSERT_EQ_INT(c.hash_cost, 15);
  ASSERT_EQ_INT(c.workers, qrl_config_cores());
  ASSERT_TRUE(c.workers >= 1 && c.workers <= 64);
  ASSERT_EQ_INT(c.required_level, 2);
  ASSERT_EQ_INT(c.password_level, 2);
  ASSERT_EQ_STR(c.portal_name, "Cổng Dịch vụ công quốc gia");
  ASSERT_EQ_INT(c.max_challenges, 100000);
  ASSERT_EQ_INT(c.max_challenges_per_ip, 64);
  ASSERT_EQ_INT(c.max_conns_per_ip, 128);
  ASSERT_EQ_INT(c.nhosts, 0);
  ASSERT_EQ_INT(c.cutover, 1719766800); /* 2024-07-01 00:00 +07:00 */
  ASSERT_EQ_STR(c.sms_outbox, "sms-outbox.log");
  ASSERT_EQ_INT(c.otp_ttl, 300);
  ASSERT_TRUE(c.tls_cert == NULL && c.tls_key == NULL);
  return 0;
}

TEST(every_option_sets_its_field) {
  qrl_config c;
  ASSERT_ERR(parse(&c, NULL, "--port", "0", "--bind", "0.0.0.0", "--db", "/tmp/x.db",
                   "--web", "/srv/web", "--origin", "https://dichvucong.gov.vn",
                   "--origin", "http://localhost:8080", "--challenge-ttl", "60",
                   "--qr-frame-secs", "3", "--fresh-device-hours", "48", "--no-rate-limits",
                   "--kiosk-name", "UBND phường Bến Nghé", "--kiosk-idle-secs", "45",
                   "--web-idle-secs", "900", "--ws-ping-secs", "5",
                   "--proximity", "step-up", "--hash-cost", "12", "--workers", "8",
                   "--required-level", "1", "--portal-name", "Cổng DVC Hà Nội",
                   "--max-challenges", "500", "--max-challenges-per-ip", "7",
                   "--max-conns-per-ip", "9",
                   "--host", "dichvucong.internal", "--host", "[::1]", "--password-level", "1",
                   "--cutover", "2025-01-01", "--sms-outbox", "/tmp/o.log",
                   "--otp-ttl", "120", "--metrics-allow", "10.0.0.0/8",
                   "--metrics-allow", "192.0.2.7", NULL),
             QRL_OK);
  ASSERT_EQ_INT(c.port, 0);
  ASSERT_EQ_STR(c.bind, "0.0.0.0");
  ASSERT_EQ_STR(c.db_path, "/tmp/x.db");
  ASSERT_EQ_STR(c.web_dir, "/srv/web");
  ASSERT_EQ_INT(c.norigins, 2);
  ASSERT_EQ_STR(c.origins[0], "https://dichvucong.gov.vn");
  ASSERT_EQ_STR(c.origins[1], "http://localhost:8080");
  ASSERT_EQ_INT(c.challenge_ttl, 60);
  ASSERT_EQ_INT(c.qr_frame_secs, 3);
  ASSERT_EQ_INT(c.fresh_device_hours, 48);
  ASSERT_EQ_INT(c.no_rate_limits, 1);
  ASSERT_EQ_STR(c.kiosk_name, "UBND phường Bến Nghé");
  ASSERT_EQ_INT(c.kiosk_idle_secs, 45);
  ASSERT_EQ_INT(c.web_idle_secs, 900);
  ASSERT_EQ_INT(c.ws_ping_secs, 5);
  ASSERT_EQ_INT(c.proximity, QRL_PROX_STEP_UP);
  ASSERT_EQ_INT(c.hash_cost, 12);
  ASSERT_EQ_INT(c.workers, 8);
  ASSERT_EQ_INT(c.required_level, 1);
  ASSERT_EQ_STR(c.portal_name, "Cổng DVC Hà Nội");
  ASSERT_EQ_INT(c.max_challenges, 500);
  ASSERT_EQ_INT(c.max_challenges_per_ip, 7);
  ASSERT_EQ_INT(c.max_conns_per_ip, 9);
  ASSERT_EQ_INT(c.nhosts, 2);
  ASSERT_EQ_STR(c.hosts[0], "dichvucong.internal");
  ASSERT_EQ_STR(c.hosts[1], "[::1]");
  ASSERT_EQ_INT(c.password_level, 1);
  ASSERT_EQ_INT(c.cutover, 1735664400); /* 2025-01-01 00:00 +07:00 */
  ASSERT_EQ_STR(c.sms_outbox, "/tmp/o.log");
  ASSERT_EQ_INT(c.otp_ttl, 120);
  /* The first --metrics-allow replaces the loopback default. */
  ASSERT_EQ_INT(c.nmetrics_allow, 2);
  ASSERT_TRUE(qrl_config_metrics_allowed(&c, "10.200.0.1"));
  ASSERT_TRUE(qrl_config_metrics_allowed(&c, "192.0.2.7"));
  ASSERT_FALSE(qrl_config_metrics_allowed(&c, "192.0.2.8"));
  ASSERT_FALSE(qrl_config_metrics_allowed(&c, "127.0.0.1"));
  ASSERT_ERR(parse(&c, NULL, "--proximity", "refuse", NULL), QRL_OK);
  ASSERT_EQ_INT(c.proximity, QRL_PROX_REFUSE);
  ASSERT_ERR(parse(&c, NULL, "--proximity", "flag", NULL), QRL_OK);
  ASSERT_EQ_INT(c.proximity, QRL_PROX_FLAG);
  return 0;
}

/* The demo is driven by hand: 15-second frames and a usable fresh phone,
 * unless the command line says otherwise. */
TEST(demo_defaults_yield_to_explicit_options) {
  qrl_config c;
  ASSERT_ERR(parse(&c, NULL, "--demo", NULL), QRL_OK);
  ASSERT_EQ_INT(c.demo, 1);
  ASSERT_EQ_INT(c.qr_frame_secs, 15);
  ASSERT_EQ_INT(c.fresh_device_hours, 0);
  ASSERT_ERR(parse(&c, NULL, "--qr-frame-secs", "2", "--demo", "--fresh-device-hours", "24",
                   NULL),
             QRL_OK);
  ASSERT_EQ_INT(c.qr_frame_secs, 2);
  ASSERT_EQ_INT(c.fresh_device_hours, 24);
  return 0;
}

TEST(bounds_are_inclusive_and_enforced) {
  static const struct {
    const char *opt, *lo, *hi, *below, *above;
  } b[] = {
      {"--port", "0", "65535", "-1", "65536"},
      {"--challenge-ttl", "1", "3600", "0", "3601"},
      {"--qr-frame-secs", "1", "60", "0", "61"},
      {"--fresh-device-hours", "0", "720", "-1", "721"},
      {"--kiosk-idle-secs", "10", "3600", "9", "3601"},
      {"--web-idle-secs", "60", "28800", "59", "28801"},
      {"--ws-ping-secs", "1", "300", "0", "301"},
      {"--hash-cost", "10", "20", "9", "21"},
      {"--workers", "1", "64", "0", "65"},
      {"--required-level", "1", "2", "0", "3"},
      {"--password-level", "1", "2", "0", "3"},
      {"--max-challenges", "1", "10000000", "0", "10000001"},
      {"--max-challenges-per-ip", "1", "10000000", "0", "10000001"},
      {"--max-conns-per-ip", "0", "1000000", "-1", "1000001"},
      {"--otp-ttl", "1", "3600", "0", "3601"},
  };
  for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
    if (!accepts(b[i].opt, b[i].lo)) TEST_FAIL_("%s %s refused", b[i].opt, b[i].lo);
    if (!accepts(b[i].opt, b[i].hi)) TEST_FAIL_("%s %s refused", b[i].opt, b[i].hi);
    if (accepts(b[i].opt, b[i].below)) TEST_FAIL_("%s %s accepted", b[i].opt, b[i].below);
    if (accepts(b[i].opt, b[i].above)) TEST_FAIL_("%s %s accepted", b[i].opt, b[i].above);
  }
  return 0;
}

/* Numbers are digits only: no sign, spaces, suffixes, hex or overflow. */
TEST(numbers_are_digits_only) {
  static const char *const bad[] = {"", " 80", "+80", "80 ", "80x", "0x50", "8e1", "1.5",
                                    "99999999999999999999999", "８０"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (accepts("--port", bad[i])) TEST_FAIL_("--port '%s' accepted", bad[i]);
  ASSERT_TRUE(accepts("--port", "0080"));
  return 0;
}

TEST(cutover_is_a_real_date_at_midnight_in_vietnam) {
  qrl_config c;
  static const char *const bad[] = {"2024-7-01",  "2024-07-1",  "01-07-2024", "2024/07/01",
                                    "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10",
                                    "1999-12-31", "2101-01-01", "2024-+7-01", "2024-07-01x",
                                    " 2024-07-1", "tomorrow",   ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (accepts("--cutover", bad[i])) TEST_FAIL_("--cutover '%s' accepted", bad[i]);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (accepts("--accounts-close", bad[i])) TEST_FAIL_("--accounts-close '%s' accepted", bad[i]);
  ASSERT_ERR(parse(&c, NULL, NULL), QRL_OK);
  ASSERT_EQ_INT(c.accounts_close, 1718384400); /* 2024-06-15 00:00 +07:00 */
  ASSERT_ERR(parse(&c, NULL, "--accounts-close", "2024-06-16", NULL), QRL_OK);
  ASSERT_EQ_INT(c.accounts_close, 1718470800);
  ASSERT_ERR(parse(&c, NULL, "--cutover", "2024-02-29", NULL), QRL_OK);
  ASSERT_EQ_INT(c.cutover, 1709139600); /* 2024-02-29 00:00 +07:00 */
  ASSERT_ERR(parse(&c, NULL, "--cutover", "2000-03-01", NULL), QRL_OK);
  ASSERT_EQ_INT(c.cutover, 951843600);
  ASSERT_ERR(parse(&c, NULL, "--cutover", "2100-12-31", NULL), QRL_OK);
  ASSERT_EQ_INT(c.cutover, 4133869200);
  return 0;
}

TEST(origins_are_exact_and_counted) {
  qrl_config c;
  char *argv[40];
  int argc = 0, help;
  static const char *const bad[] = {"dichvucong.gov.vn", "ftp://x", "https://x/",
                                    "https://a b", "", "https://x\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (accepts("--origin", bad[i])) TEST_FAIL_("--origin '%s' accepted", bad[i]);
  ASSERT_TRUE(accepts("--origin", "https://dichvucong.gov.vn:8443"));
  /* 16 at most. */
  argv[argc++] = "qrlogind";
  for (int i = 0; i < 17; i++) {
    argv[argc++] = "--origin";
    argv[argc++] = "https://a.example";
  }
  argv[argc] = NULL;
  qrl_config_defaults(&c, WEB);
  ASSERT_ERR(qrl_config_parse(&c, argc - 2, argv, &help), QRL_OK);
  ASSERT_EQ_INT(c.norigins, QRL_MAX_ORIGINS);
  qrl_config_defaults(&c, WEB);
  ASSERT_ERR(qrl_config_parse(&c, argc, argv, &help), QRL_INVAL);
  return 0;
}

/* --origin is scheme://host[:port] and nothing more (its host is served);
 * --host is a name or address without a port (any port is served). */
/* The issuer is compared byte for byte by relying parties: one spelling
 * only, and the reason named. */
TEST(issuer_is_an_exact_origin) {
  static const char *const bad[] = {"",
                                    "xacthuc.dichvucong.gov.vn",
                                    "ftp://x",
                                    "https://x/",
                                    "https://x/sso",
                                    "https://x?a=1",
                                    "https://x#f",
                                    "https://X.gov.vn",
                                    "https://user@x",
                                    "https://x:99999",
                                    "https://"};
  qrl_config c;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (accepts("--issuer", bad[i])) TEST_FAIL_("--issuer '%s' accepted", bad[i]);
  ASSERT_ERR(parse(&c, NULL, NULL), QRL_OK);
  ASSERT_TRUE(c.issuer == NULL); /* http://<bind>:<port>, known once listening */
  ASSERT_ERR(parse(&c, NULL, "--issuer", "https://xacthuc.dichvucong.gov.vn", NULL), QRL_OK);
  ASSERT_EQ_STR(c.issuer, "https://xacthuc.dichvucong.gov.vn");
  ASSERT_TRUE(accepts("--issuer", "http://127.0.0.1:8080"));
  ASSERT_TRUE(accepts("--issuer", "http://[::1]:8080"));
  return 0;
}

TEST(hosts_are_names_without_ports) {
  static const char *const bad_host[] = {"", "dichvucong.gov.vn:443", "https://x", "a b",
                                         "x/y", "user@x", "[::1", "*.gov.vn"};
  static const char *const bad_origin[] = {"https://x/path", "https://x:99999",
                                           "https://user@x", "https://", "http://:80"};
  for (size_t i = 0; i < sizeof(bad_host) / sizeof(bad_host[0]); i++)
    if (accepts("--host", bad_host[i])) TEST_FAIL_("--host '%s' accepted", bad_host[i]);
  for (size_t i = 0; i < sizeof(bad_origin) / sizeof(bad_origin[0]); i++)
    if (accepts("--origin", bad_origin[i])) TEST_FAIL_("--origin '%s' accepted", bad_origin[i]);
  ASSERT_TRUE(accepts("--host", "dichvucong.gov.vn"));
  ASSERT_TRUE(accepts("--host", "10.0.0.5"));
  ASSERT_TRUE(accepts("--host", "[2001:db8::1]"));
  ASSERT_TRUE(accepts("--origin", "http://[::1]:8080"));
  return 0;
}

/* Outside --demo the served names must be given (DNS rebinding): --origin
 * or --host, else the server refuses to start. */
TEST(outside_the_demo_the_served_names_are_required) {
  qrl_config c;
  ASSERT_ERR(parse(&c, NULL, NULL), QRL_OK);
  ASSERT_ERR(qrl_config_check_hosts(&c, "qrlogind"), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--port", "9000", NULL), QRL_OK);
  ASSERT_ERR(qrl_config_check_hosts(&c, "qrlogind"), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--demo", NULL), QRL_OK);
  ASSERT_ERR(qrl_config_check_hosts(&c, "qrlogind"), QRL_OK);
  ASSERT_ERR(parse(&c, NULL, "--origin", "https://dichvucong.gov.vn", NULL), QRL_OK);
  ASSERT_ERR(qrl_config_check_hosts(&c, "qrlogind"), QRL_OK);
  ASSERT_ERR(parse(&c, NULL, "--host", "dichvucong.gov.vn", NULL), QRL_OK);
  ASSERT_ERR(qrl_config_check_hosts(&c, "qrlogind"), QRL_OK);
  return 0;
}

TEST(strings_have_limits) {
  char longname[100];
  memset(longname, 'x', 91);
  longname[91] = '\0';
  ASSERT_FALSE(accepts("--portal-name", longname));
  ASSERT_FALSE(accepts("--kiosk-name", longname));
  longname[90] = '\0';
  ASSERT_TRUE(accepts("--portal-name", longname));
  ASSERT_TRUE(accepts("--kiosk-name", longname));
  ASSERT_FALSE(accepts("--portal-name", ""));
  ASSERT_FALSE(accepts("--kiosk-name", ""));
  ASSERT_FALSE(accepts("--db", ""));
  ASSERT_FALSE(accepts("--web", ""));
  ASSERT_FALSE(accepts("--bind", ""));
  ASSERT_FALSE(accepts("--sms-outbox", ""));
  ASSERT_FALSE(accepts("--proximity", "sometimes"));
  ASSERT_FALSE(accepts("--metrics-allow", ""));
  ASSERT_FALSE(accepts("--metrics-allow", "10.0.0.1/8"));
  ASSERT_FALSE(accepts("--metrics-allow", "10.0.0.0/33"));
  ASSERT_FALSE(accepts("--metrics-allow", "prometheus.internal"));
  ASSERT_TRUE(accepts("--metrics-allow", "::1/128"));
  {
    qrl_config c;
    char *argv[40] = {"qrlogind"};
    int argc = 1, help;
    for (int i = 0; i < 17; i++) {
      argv[argc++] = "--metrics-allow";
      argv[argc++] = "10.0.0.0/8";
    }
    qrl_config_defaults(&c, WEB);
    ASSERT_ERR(qrl_config_parse(&c, argc - 2, argv, &help), QRL_OK);
    ASSERT_EQ_INT(c.nmetrics_allow, 16);
    qrl_config_defaults(&c, WEB);
    ASSERT_ERR(qrl_config_parse(&c, argc, argv, &help), QRL_INVAL);
  }
  return 0;
}

TEST(tls_files_must_be_readable_and_paired) {
  qrl_config c;
  char key[] = "/tmp/qrl-test-key-XXXXXX";
  int fd = mkstemp(key); /* 0600 */
  ASSERT_TRUE(fd >= 0);
  close(fd);
  /* Any readable file passes the parser; the server then loads it. */
  ASSERT_ERR(parse(&c, NULL, "--tls-cert", "/etc/hostname", "--tls-key", key, NULL), QRL_OK);
  ASSERT_EQ_STR(c.tls_cert, "/etc/hostname");
  ASSERT_ERR(parse(&c, NULL, "--tls-cert", "/etc/hostname", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--tls-key", key, NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--tls-cert", "/nonexistent.pem", "--tls-key", key, NULL),
             QRL_INVAL);
  /* a private key others may read is refused, whoever could read it */
  ASSERT_EQ_INT(chmod(key, 0640), 0);
  ASSERT_ERR(parse(&c, NULL, "--tls-cert", "/etc/hostname", "--tls-key", key, NULL),
             QRL_INVAL);
  ASSERT_EQ_INT(chmod(key, 0604), 0);
  ASSERT_ERR(parse(&c, NULL, "--tls-cert", "/etc/hostname", "--tls-key", key, NULL),
             QRL_INVAL);
  unlink(key);
  return 0;
}

/* Many nodes (issue 13): --redis wants an address and the SMS codes' key
 * file all nodes share; that file is a secret (0600) of 32..4096 bytes;
 * a node's name is short and plain. */
TEST(many_nodes_options) {
  qrl_config c;
  char key[] = "/tmp/qrl-test-otpkey-XXXXXX";
  int fd = mkstemp(key); /* 0600 */
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ_INT(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
  close(fd);
  ASSERT_ERR(parse(&c, NULL, "--redis", "unix:/run/redis.sock", "--otp-key-file", key,
                   "--node-id", "node-1_a", "--drain-secs", "0", NULL),
             QRL_OK);
  ASSERT_EQ_STR(c.redis, "unix:/run/redis.sock");
  ASSERT_EQ_STR(c.otp_key_file, key);
  ASSERT_EQ_STR(c.node_id, "node-1_a");
  ASSERT_EQ_INT(c.drain_secs, 0);
  /* without the shared key file, a node would refuse its peers' SMS codes */
  ASSERT_ERR(parse(&c, NULL, "--redis", "redis://10.0.0.5:6379/2", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--redis", "http://x", "--otp-key-file", key, NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--redis", "redis://h/16", "--otp-key-file", key, NULL),
             QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--node-id", "a b", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--node-id", "", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--node-id", "123456789012345678901234567890123", NULL),
             QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--drain-secs", "601", NULL), QRL_INVAL);
  /* the key alone is fine (one node, a key that outlives restarts) */
  ASSERT_ERR(parse(&c, NULL, "--otp-key-file", key, NULL), QRL_OK);
  ASSERT_EQ_INT(chmod(key, 0640), 0);
  ASSERT_ERR(parse(&c, NULL, "--otp-key-file", key, NULL), QRL_INVAL);
  ASSERT_EQ_INT(chmod(key, 0600), 0);
  ASSERT_EQ_INT(truncate(key, 31), 0);
  ASSERT_ERR(parse(&c, NULL, "--otp-key-file", key, NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--otp-key-file", "/nonexistent/key", NULL), QRL_INVAL);
  /* Redis' password file: the owner's alone, and only with --redis. */
  ASSERT_EQ_INT(truncate(key, 32), 0);
  {
    char pw[] = "/tmp/qrl-test-redispw-XXXXXX";
    int pfd = mkstemp(pw); /* 0600 */
    ASSERT_TRUE(pfd >= 0);
    ASSERT_EQ_INT(write(pfd, "s3cret\n", 7), 7);
    close(pfd);
    ASSERT_ERR(parse(&c, NULL, "--redis", "unix:/r.sock", "--otp-key-file", key,
                     "--redis-password-file", pw, NULL),
               QRL_OK);
    ASSERT_EQ_STR(c.redis_password_file, pw);
    ASSERT_ERR(parse(&c, NULL, "--redis-password-file", pw, NULL), QRL_INVAL); /* no --redis */
    ASSERT_EQ_INT(chmod(pw, 0604), 0);
    ASSERT_ERR(parse(&c, NULL, "--redis", "unix:/r.sock", "--otp-key-file", key,
                     "--redis-password-file", pw, NULL),
               QRL_INVAL);
    ASSERT_EQ_INT(chmod(pw, 0600), 0);
    ASSERT_EQ_INT(truncate(pw, 0), 0);
    ASSERT_ERR(parse(&c, NULL, "--redis", "unix:/r.sock", "--otp-key-file", key,
                     "--redis-password-file", pw, NULL),
               QRL_INVAL);
    unlink(pw);
  }
  unlink(key);
  return 0;
}

TEST(unknown_missing_and_stray_arguments_are_refused) {
  qrl_config c;
  int help = -1;
  ASSERT_ERR(parse(&c, NULL, "--bogus", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "-p", "80", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--port", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "stray", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--demo", "extra", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, NULL, "--demo=yes", NULL), QRL_INVAL);
  ASSERT_ERR(parse(&c, &help, "--help", NULL), QRL_OK);
  ASSERT_EQ_INT(help, 1);
  /* Parsing twice in one process starts over (getopt state is reset). */
  ASSERT_ERR(parse(&c, &help, "--port", "81", NULL), QRL_OK);
  ASSERT_EQ_INT(help, 0);
  ASSERT_EQ_INT(c.port, 81);
  return 0;
}

TEST(help_text_names_every_option) {
  static const char *const names[] = {
      "--port",         "--bind",          "--db",          "--web",
      "--origin",       "--challenge-ttl", "--qr-frame-secs", "--proximity",
      "--fresh-device-hours", "--tls-cert", "--tls-key",   "--required-level",
      "--portal-name",  "--workers",       "--hash-cost",   "--max-challenges",
      "--password-level", "--cutover", "--accounts-close", "--otp-ttl",     "--sms-outbox",
      "--host",         "--max-challenges-per-ip", "--max-conns-per-ip",
      "--kiosk-name",   "--kiosk-idle-secs", "--web-idle-secs", "--ws-ping-secs", "--no-rate-limits", "--demo",
      "--metrics-allow", "--config", "--issuer", "--redis", "--node-id", "--otp-key-file",
      "--drain-secs", "--scan-grace",
      "--help"};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT_TRUE(f != NULL);
  qrl_config_usage(f, "qrlogind");
  fclose(f);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!strstr(buf, names[i])) {
      free(buf);
      TEST_FAIL_("--help does not mention %s", names[i]);
    }
  }
  free(buf);
  return 0;
}


/* ---- the config file ------------------------------------------------------ */

/* Writes text to a new temporary file of the given mode; its path in path. */
static int write_conf(char path[64], const char *text, mode_t mode) {
  int fd;
  size_t n = strlen(text);
  snprintf(path, 64, "/tmp/qrl-test-conf-XXXXXX");
  if ((fd = mkstemp(path)) < 0) return -1;
  if (write(fd, text, n) != (ssize_t)n || fchmod(fd, mode) != 0) {
    close(fd);
    return -1;
  }
  return close(fd);
}

/* Parses argv (NULL-terminated, after the program name) from the defaults,
 * with the default config file dflt (may be NULL), with stderr caught in err
 * (n bytes). Returns the parse result; cfg must be qrl_config_free()d. */
static qrl_err parse_caught(qrl_config *cfg, const char *dflt, char *err, size_t n,
                            const char *const *args) {
  char *argv[32] = {"qrlogind"};
  int argc = 1, help = 0, saved, fd;
  char errpath[] = "/tmp/qrl-test-err-XXXXXX";
  qrl_err rc;
  ssize_t got;
  for (int i = 0; args && args[i] && argc < 31; i++) argv[argc++] = (char *)args[i];
  argv[argc] = NULL;
  qrl_config_defaults(cfg, WEB);
  cfg->config_default = dflt;
  fflush(stderr);
  fd = mkstemp(errpath);
  saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  rc = qrl_config_parse(cfg, argc, argv, &help);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  got = pread(fd, err, n - 1, 0);
  err[got > 0 ? got : 0] = '\0';
  close(fd);
  unlink(errpath);
  return rc;
}

/* The config file holding text, parsed with --config; the result, with
 * stderr in err. */
static qrl_err parse_conf(qrl_config *cfg, const char *text, char path[64], char *err,
                          size_t n) {
  const char *args[] = {"--config", path, NULL};
  qrl_err rc;
  if (write_conf(path, text, 0600)) return QRL_IO;
  rc = parse_caught(cfg, NULL, err, n, args);
  unlink(path);
  return rc;
}

TEST(config_file_keys_are_the_options) {
  qrl_config c;
  char path[64], err[512];
  const char *text =
      "# qrlogind.conf\n"
      "; both comment styles\n"
      "\n"
      "port = 9000\n"
      "bind=0.0.0.0\n"
      "db = /var/lib/qrlogin/qrlogin.db   ; an inline comment\n"
      "origin = https://dichvucong.gov.vn\n"
      "origin = https://dvc.example.vn:8443\n"
      "host = dichvucong.internal\n"
      "portal-name = Cổng DVC Hà Nội\n"
      "proximity = step-up\n"
      "cutover = 2025-01-01\n"
      "metrics-allow = 10.0.0.0/8\n"
      "demo = true\n"
      "no-rate-limits = no\n"
      "qr-frame-secs = 3\n";
  ASSERT_ERR(parse_conf(&c, text, path, err, sizeof(err)), QRL_OK);
  ASSERT_EQ_STR(err, "");
  ASSERT_EQ_INT(c.port, 9000);
  ASSERT_EQ_STR(c.bind, "0.0.0.0");
  ASSERT_EQ_STR(c.db_path, "/var/lib/qrlogin/qrlogin.db");
  ASSERT_EQ_INT(c.norigins, 2); /* a repeated key adds, as the option does */
  ASSERT_EQ_STR(c.origins[0], "https://dichvucong.gov.vn");
  ASSERT_EQ_STR(c.origins[1], "https://dvc.example.vn:8443");
  ASSERT_EQ_INT(c.nhosts, 1);
  ASSERT_EQ_STR(c.portal_name, "Cổng DVC Hà Nội");
  ASSERT_EQ_INT(c.proximity, QRL_PROX_STEP_UP);
  ASSERT_EQ_INT(c.cutover, 1735664400);
  ASSERT_EQ_INT(c.nmetrics_allow, 1); /* replaces the loopback default */
  ASSERT_TRUE(qrl_config_metrics_allowed(&c, "10.1.2.3"));
  ASSERT_FALSE(qrl_config_metrics_allowed(&c, "127.0.0.1"));
  ASSERT_EQ_INT(c.demo, 1);
  ASSERT_EQ_INT(c.no_rate_limits, 0);
  ASSERT_EQ_INT(c.qr_frame_secs, 3);     /* given: the demo's 15 yields */
  ASSERT_EQ_INT(c.fresh_device_hours, 0); /* not given: the demo's 0 */
  ASSERT_EQ_INT(c.hash_cost, 15);        /* not in the file: the default */
  qrl_config_free(&c);
  return 0;
}

TEST(command_line_overrides_the_file) {
  qrl_config c;
  char path[64], err[512];
  const char *args[] = {"--port", "9001", "--config", path, "--origin", "https://b.vn", NULL};
  ASSERT_EQ_INT(write_conf(path,
                           "port = 9000\n"
                           "db = /srv/q.db\n"
                           "origin = https://a.vn\n"
                           "origin = https://a2.vn\n"
                           "host = a.internal\n",
                           0600),
                0);
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), args), QRL_OK);
  ASSERT_EQ_INT(c.port, 9001);            /* the flag wins, before or after --config */
  ASSERT_EQ_STR(c.db_path, "/srv/q.db");  /* the file's, where no flag says */
  ASSERT_EQ_INT(c.norigins, 1);           /* the command line's list replaces the file's */
  ASSERT_EQ_STR(c.origins[0], "https://b.vn");
  ASSERT_EQ_INT(c.nhosts, 1);             /* ... but only for the option it gives */
  ASSERT_EQ_STR(c.hosts[0], "a.internal");
  qrl_config_free(&c);
  unlink(path);
  return 0;
}

/* Each mistake: the file, the line, the reason - and nothing is served. */
TEST(config_file_mistakes_name_file_and_line) {
  static const struct {
    const char *text;
    int line;
    const char *why;
  } cases[] = {
      {"port = 8080\n# fine so far\nprot = 8081\n", 3, "unknown key 'prot'"},
      {"port = 80800\n", 1, "invalid value '80800': port wants 0..65535"},
      {"\nhash-cost = 9\n", 2, "invalid value '9': hash-cost wants 10..20"},
      {"origin = https://a.vn\norigin = dichvucong.gov.vn\n", 2,
       "invalid value 'dichvucong.gov.vn': origin wants scheme://host[:port], e.g. "
       "https://dichvucong.gov.vn"},
      {"demo = maybe\n", 1, "invalid value 'maybe': demo wants true or false"},
      {"db =\n", 1, "invalid value '': db wants a file path or a postgresql:// URL"},
      {"port = 8080\n[server]\nport = 8081\n", 2,
       "sections are not part of this format: keys go at the top level"},
      {"port = 8080\njust words\n", 2, "not a 'key = value' line"},
      {"demo\n", 1, "not a 'key = value' line"},
      {"origin = https://a.vn\n  https://b.vn\n", 2,
       "indented line (no continuation lines: one key = value per line)"},
      {"help = true\n", 1, "unknown key 'help'"},
      {"config = /etc/other.conf\n", 1, "unknown key 'config'"},
      {"--port = 1\n", 1, "unknown key '--port'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    qrl_config c;
    char path[64], err[512], want[512];
    qrl_err rc = parse_conf(&c, cases[i].text, path, err, sizeof(err));
    qrl_config_free(&c);
    snprintf(want, sizeof(want), "%s:%d: %s\n", path, cases[i].line, cases[i].why);
    if (rc != QRL_INVAL) TEST_FAIL_("case %zu accepted", i);
    if (strcmp(err, want)) TEST_FAIL_("case %zu said '%s', want '%s'", i, err, want);
  }
  {
    /* A line longer than inih reads at once is refused, not cut in two. */
    qrl_config c;
    char path[64], err[512], text[400];
    memset(text, 'x', sizeof(text));
    memcpy(text, "portal-name = ", 14);
    text[sizeof(text) - 2] = '\n';
    text[sizeof(text) - 1] = '\0';
    ASSERT_ERR(parse_conf(&c, text, path, err, sizeof(err)), QRL_INVAL);
    qrl_config_free(&c);
    ASSERT_TRUE(strstr(err, ":1: line longer than ") != NULL);
  }
  return 0;
}

TEST(config_file_must_exist_if_named_and_belong_to_us) {
  qrl_config c;
  char path[64], err[512];
  const char *missing[] = {"--config", "/nonexistent/qrlogind.conf", NULL};
  const char *named[] = {"--config", path, NULL};
  const char *port[] = {"--port", "81", NULL};
  /* Named and missing: an error. The default and missing: the defaults. */
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), missing), QRL_INVAL);
  ASSERT_EQ_STR(err, "qrlogind: cannot read the config file /nonexistent/qrlogind.conf: "
                     "No such file or directory\n");
  qrl_config_free(&c);
  ASSERT_ERR(parse_caught(&c, "/nonexistent/qrlogind.conf", err, sizeof(err), port), QRL_OK);
  ASSERT_EQ_INT(c.port, 81);
  qrl_config_free(&c);
  /* The default file is read when it exists. */
  ASSERT_EQ_INT(write_conf(path, "port = 82\nworkers = 3\n", 0640), 0);
  ASSERT_ERR(parse_caught(&c, path, err, sizeof(err), port), QRL_OK);
  ASSERT_EQ_INT(c.port, 81);
  ASSERT_EQ_INT(c.workers, 3);
  qrl_config_free(&c);
  /* Anyone may write it: refused, named or not. */
  ASSERT_EQ_INT(chmod(path, 0666), 0);
  ASSERT_ERR(parse_caught(&c, path, err, sizeof(err), NULL), QRL_INVAL);
  ASSERT_TRUE(strstr(err, "is writable by anyone") != NULL);
  qrl_config_free(&c);
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), named), QRL_INVAL);
  qrl_config_free(&c);
  ASSERT_EQ_INT(chmod(path, 0644), 0);
  /* Another user's file (root can make one): refused. */
  if (geteuid() == 0 && chown(path, 4242, 4242) == 0) {
    ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), named), QRL_INVAL);
    ASSERT_TRUE(strstr(err, "must belong to root or to the user running the server") != NULL);
    qrl_config_free(&c);
  }
  unlink(path);
  /* --help answers without reading any file. */
  {
    const char *help[] = {"--config", "/nonexistent/qrlogind.conf", "--help", NULL};
    ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), help), QRL_OK);
    ASSERT_EQ_STR(err, "");
    qrl_config_free(&c);
  }
  return 0;
}

/* The secret key from a file is checked as from the command line. */
TEST(config_file_tls_key_must_be_private) {
  qrl_config c;
  char key[] = "/tmp/qrl-test-key-XXXXXX", path[64], err[512], text[200];
  int fd = mkstemp(key);
  ASSERT_TRUE(fd >= 0);
  close(fd);
  snprintf(text, sizeof(text), "tls-cert = /etc/hostname\ntls-key = %s\n", key);
  ASSERT_ERR(parse_conf(&c, text, path, err, sizeof(err)), QRL_OK);
  ASSERT_EQ_STR(c.tls_key, key);
  qrl_config_free(&c);
  ASSERT_EQ_INT(chmod(key, 0640), 0);
  ASSERT_ERR(parse_conf(&c, text, path, err, sizeof(err)), QRL_INVAL);
  qrl_config_free(&c);
  ASSERT_TRUE(strstr(err, ":2: invalid value '") != NULL);
  ASSERT_TRUE(strstr(err, "': tls-key must not be readable or writable by group or others "
                          "(chmod 600)\n") != NULL);
  unlink(key);
  return 0;
}

/* The command line's messages are as they were before the file existed. */
TEST(command_line_messages_are_exact) {
  qrl_config c;
  char err[512];
  const char *port[] = {"--port", "abc", NULL};
  const char *unknown[] = {"--bogus", NULL};
  const char *novalue[] = {"--port", NULL};
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), port), QRL_INVAL);
  ASSERT_EQ_STR(err, "qrlogind: invalid value 'abc': --port wants 0..65535\n"
                     "Try 'qrlogind --help'.\n");
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), unknown), QRL_INVAL);
  ASSERT_EQ_STR(err, "qrlogind: unknown option --bogus\nTry 'qrlogind --help'.\n");
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), novalue), QRL_INVAL);
  ASSERT_EQ_STR(err, "qrlogind: option --port needs a value\nTry 'qrlogind --help'.\n");
  qrl_config_free(&c);
  return 0;
}

/* packaging/qrlogind.conf.example: as shipped (all commented) it parses;
 * it names every key; and with its "# key = value" lines uncommented (not the
 * TLS files, which do not exist here) every value it shows is valid. */
TEST(example_config_names_every_key_with_valid_values) {
  static const char *const keys[] = {
      "port", "bind", "db", "web", "origin", "challenge-ttl", "qr-frame-secs", "proximity",
      "fresh-device-hours", "tls-cert", "tls-key", "required-level", "portal-name",
      "workers", "hash-cost", "max-challenges", "password-level", "cutover", "accounts-close",
      "otp-ttl",
      "sms-outbox", "host", "max-challenges-per-ip", "max-conns-per-ip", "kiosk-name",
      "kiosk-idle-secs", "web-idle-secs", "ws-ping-secs", "no-rate-limits", "demo",
      "metrics-allow", "issuer"};
  const char *args[] = {"--config", QRL_EXAMPLE_CONF, NULL};
  char err[512], path[64], line[512], *text = NULL, *all = NULL;
  size_t tlen = 0, alen = 0;
  FILE *in, *out, *whole;
  qrl_config c;
  ASSERT_ERR(parse_caught(&c, NULL, err, sizeof(err), args), QRL_OK);
  qrl_config_free(&c);
  ASSERT_TRUE((in = fopen(QRL_EXAMPLE_CONF, "r")) != NULL);
  out = open_memstream(&text, &tlen);
  whole = open_memstream(&all, &alen);
  while (fgets(line, sizeof(line), in)) {
    const char *k = line + 2;
    size_t n = strspn(k, "abcdefghijklmnopqrstuvwxyz-");
    fputs(line, whole);
    if (strncmp(line, "# ", 2) || n == 0 || strncmp(k + n, " = ", 3)) continue;
    if (!strncmp(k, "tls-", 4)) continue;
    fputs(k, out);
  }
  fclose(in);
  fclose(out);
  fclose(whole);
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    char want[64];
    snprintf(want, sizeof(want), "\n# %s = ", keys[i]);
    if (!strstr(all, want)) {
      free(text);
      free(all);
      TEST_FAIL_("the example does not show '%s'", keys[i]);
    }
  }
  free(all);
  {
    qrl_err rc = parse_conf(&c, text, path, err, sizeof(err));
    qrl_config_free(&c);
    free(text);
    if (rc != QRL_OK) TEST_FAIL_("the example's values, uncommented: %s", err);
  }
  return 0;
}

TEST_MAIN(defaults_are_the_documented_ones, every_option_sets_its_field,
          demo_defaults_yield_to_explicit_options, bounds_are_inclusive_and_enforced,
          numbers_are_digits_only, cutover_is_a_real_date_at_midnight_in_vietnam,
          origins_are_exact_and_counted, issuer_is_an_exact_origin, hosts_are_names_without_ports,
          outside_the_demo_the_served_names_are_required, strings_have_limits,
          tls_files_must_be_readable_and_paired, many_nodes_options,
          unknown_missing_and_stray_arguments_are_refused, help_text_names_every_option,
          config_file_keys_are_the_options, command_line_overrides_the_file,
          config_file_mistakes_name_file_and_line,
          config_file_must_exist_if_named_and_belong_to_us,
          config_file_tls_key_must_be_private, command_line_messages_are_exact,
          example_config_names_every_key_with_valid_values)
