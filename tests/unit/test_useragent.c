/*
 * test_useragent.c - what the phone shows of the asking browser.
 */
#include "test.h"
#include "helpers/useragent.h"

static const char *sum(const char *ua) {
  static char out[96];
  qrl_ua_summary(ua, out, sizeof(out));
  return out;
}

TEST(common_browsers) {
  ASSERT_EQ_STR(sum("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                    "like Gecko) Chrome/131.0.0.0 Safari/537.36"),
                "Chrome 131 trên Windows");
  ASSERT_EQ_STR(sum("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                    "like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"),
                "Edge 131 trên Windows");
  ASSERT_EQ_STR(sum("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
                "Firefox 133 trên Linux");
  ASSERT_EQ_STR(sum("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 "
                    "(KHTML, like Gecko) Version/18.1 Safari/605.1.15"),
                "Safari 18 trên macOS");
  ASSERT_EQ_STR(sum("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                    "like Gecko) coc_coc_browser/131.0.212 Chrome/125.0.0.0 Safari/537.36"),
                "Cốc Cốc 131 trên Windows");
  ASSERT_EQ_STR(sum("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, "
                    "like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"),
                "Chrome 131 trên Android");
  return 0;
}

TEST(unknown_and_empty) {
  ASSERT_EQ_STR(sum(""), "Trình duyệt không rõ");
  ASSERT_EQ_STR(sum(NULL), "Trình duyệt không rõ");
  ASSERT_EQ_STR(sum("curl/8.5.0"), "Trình duyệt không rõ");
  ASSERT_EQ_STR(sum("Something (Linux)"), "Trình duyệt trên Linux");
  return 0;
}

/* The portal page's list shows the browser and the system apart. */
TEST(parts_apart) {
  char b[48], o[24];
  qrl_ua_parts("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
               "Gecko) Chrome/131.0.0.0 Safari/537.36", b, sizeof(b), o, sizeof(o));
  ASSERT_EQ_STR(b, "Chrome 131");
  ASSERT_EQ_STR(o, "Windows");
  qrl_ua_parts("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", b, sizeof(b), o,
               sizeof(o));
  ASSERT_EQ_STR(b, "Safari 17");
  ASSERT_EQ_STR(o, "iOS");
  qrl_ua_parts("curl/8.5.0", b, sizeof(b), o, sizeof(o));
  ASSERT_EQ_STR(b, "");
  ASSERT_EQ_STR(o, "");
  qrl_ua_parts(NULL, b, sizeof(b), o, sizeof(o));
  ASSERT_EQ_STR(b, "");
  ASSERT_EQ_STR(o, "");
  return 0;
}

TEST_MAIN(common_browsers, unknown_and_empty, parts_apart)
