/*
 * test_errpage.c - the HTML error pages: each status has its own title in
 * Vietnamese and English, the page loads nothing from elsewhere and has no
 * script or inline style (the CSP forbids both), and leads back to "/".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/errpage.h"
#include "test.h"

static int has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

TEST(every_status_has_its_page) {
  static const struct {
    int status;
    const char *vi, *en;
  } want[] = {{400, "Yêu cầu không hợp lệ", "Bad request"},
              {403, "Không có quyền truy cập", "Access denied"},
              {404, "Không tìm thấy trang", "Page not found"},
              {405, "Thao tác không được hỗ trợ", "Method not allowed"},
              {413, "Dữ liệu gửi lên quá lớn", "Request too large"},
              {421, "Sai địa chỉ máy chủ", "Wrong server address"},
              {429, "Quá nhiều yêu cầu", "Too many requests"},
              {500, "Lỗi hệ thống", "Server error"},
              {503, "Hệ thống đang bận", "Service unavailable"},
              /* others read as their class */
              {411, "Yêu cầu không hợp lệ", "Bad request"},
              {502, "Lỗi hệ thống", "Server error"}};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    char *html = qrl_errpage_html(want[i].status), code[48];
    snprintf(code, sizeof(code), "Lỗi %d", want[i].status);
    ASSERT_TRUE(html != NULL);
    ASSERT_TRUE(has(html, "<html lang=\"vi\">"));
    ASSERT_TRUE(has(html, code));
    ASSERT_TRUE(has(html, want[i].vi));
    ASSERT_TRUE(has(html, want[i].en));
    ASSERT_TRUE(has(html, "lang=\"en\""));
    ASSERT_TRUE(has(html, "href=\"/\""));
    ASSERT_TRUE(has(html, "<link rel=\"stylesheet\" href=\"/style.css\">"));
    ASSERT_FALSE(has(html, "<script"));
    ASSERT_FALSE(has(html, "style="));
    ASSERT_FALSE(has(html, "http:")); /* nothing from another origin */
    ASSERT_FALSE(has(html, "https:"));
    free(html);
  }
  return 0;
}

TEST_MAIN(every_status_has_its_page)
