/*
 * test_logoutpage.c - the logout pages (helpers/logoutpage.h): HTML
 * escaping of what a portal controls (its URI and state), the pages' shape
 * (no script, no inline style: the CSP allows neither), the confirmation
 * form posting its token to /oauth2/logout.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers/logoutpage.h"
#include "test.h"

TEST(escape_covers_markup_and_quotes) {
  char out[64] = "x";
  ASSERT_EQ_INT(qrl_html_escape_cat(out, sizeof(out), "<a href=\"q\">&'"), 0);
  ASSERT_EQ_STR(out, "x&lt;a href=&quot;q&quot;&gt;&amp;&#39;");
  strcpy(out, "keep");
  ASSERT_EQ_INT(qrl_html_escape_cat(out, 8, "\"\""), -1); /* does not fit: unchanged */
  ASSERT_EQ_STR(out, "keep");
  return 0;
}

TEST(logged_out_page_links_back_only_when_asked) {
  char *p = qrl_logout_page_html(NULL);
  ASSERT_TRUE(p && strstr(p, "Đã đăng xuất") && strstr(p, "Logged out"));
  ASSERT_TRUE(!strstr(p, "id=\"back\"") && !strstr(p, "<script") && !strstr(p, "style="));
  free(p);
  p = qrl_logout_page_html("https://p.example/bye?state=a\"><script>");
  ASSERT_TRUE(p && strstr(p, "href=\"https://p.example/bye?state=a&quot;&gt;&lt;script&gt;\""));
  ASSERT_TRUE(!strstr(p, "<script"));
  free(p);
  return 0;
}

TEST(confirm_page_posts_its_token) {
  char *p = qrl_logout_confirm_html("tok_en-123");
  ASSERT_TRUE(p && strstr(p, "<form method=\"post\" action=\"/oauth2/logout\""));
  ASSERT_TRUE(strstr(p, "name=\"confirm\" value=\"tok_en-123\""));
  ASSERT_TRUE(!strstr(p, "<script") && !strstr(p, "style="));
  free(p);
  return 0;
}

TEST_MAIN(escape_covers_markup_and_quotes, logged_out_page_links_back_only_when_asked,
          confirm_page_posts_its_token)
