/*
 * logoutpage.c - the logout pages (logoutpage.h).
 */
#include "helpers/logoutpage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/errpage.h"

#define URL_MAX 4096

int qrl_html_escape_cat(char *out, size_t cap, const char *s) {
  size_t n = strlen(out), start = n;
  for (; *s; s++) {
    const char *e = NULL;
    char one[2] = {*s, 0};
    switch (*s) {
    case '&': e = "&amp;"; break;
    case '<': e = "&lt;"; break;
    case '>': e = "&gt;"; break;
    case '"': e = "&quot;"; break;
    case '\'': e = "&#39;"; break;
    default: e = one;
    }
    if (n + strlen(e) + 1 > cap) {
      out[start] = '\0';
      return -1;
    }
    memcpy(out + n, e, strlen(e) + 1);
    n += strlen(e);
  }
  return 0;
}

char *qrl_logout_page_html(const char *back_url) {
  char esc[URL_MAX * 6] = "", mid[URL_MAX * 6 + 1024];
  if (back_url && back_url[0] && qrl_html_escape_cat(esc, sizeof(esc), back_url)) esc[0] = '\0';
  snprintf(mid, sizeof(mid),
           "    <h1 id=\"logout-title\">Đã đăng xuất</h1>\n"
           "    <p class=\"lead\">Bạn đã đăng xuất khỏi tài khoản định danh điện tử trên Cổng Dịch vụ "
           "công quốc gia và các cổng dịch vụ công đã dùng tài khoản này.</p>\n"
           "    <p class=\"actions\">%s%s%s<a %sid=\"login\" href=\"/\">Về trang đăng nhập</a></p>\n"
           "    <section class=\"err-en\" lang=\"en\" aria-labelledby=\"logout-title-en\">\n"
           "      <h2 id=\"logout-title-en\">Logged out</h2>\n"
           "      <p>You have logged out of your electronic identity on the national public "
           "service portal and the portals that used it.</p>\n"
           "    </section>\n",
           esc[0] ? "<a class=\"primary\" id=\"back\" href=\"" : "", esc,
           esc[0] ? "\">Quay lại cổng dịch vụ công / Back to the portal</a> " : "",
           esc[0] ? "" : "class=\"primary\" ");
  return qrl_page_html("Đã đăng xuất", mid);
}

char *qrl_logout_confirm_html(const char *token) {
  char esc[256] = "", mid[2048];
  if (qrl_html_escape_cat(esc, sizeof(esc), token)) return NULL;
  snprintf(mid, sizeof(mid),
           "    <h1 id=\"confirm-title\">Đăng xuất?</h1>\n"
           "    <p class=\"lead\">Một cổng dịch vụ công yêu cầu đăng xuất tài khoản định danh "
           "điện tử của bạn trên trình duyệt này. Bạn có muốn đăng xuất không?</p>\n"
           "    <form method=\"post\" action=\"/oauth2/logout\" id=\"confirm-form\">\n"
           "      <input type=\"hidden\" name=\"confirm\" value=\"%s\">\n"
           "      <p class=\"actions\"><button class=\"primary\" type=\"submit\" id=\"confirm\">"
           "Đăng xuất / Log out</button> <a id=\"stay\" href=\"/\">Không, ở lại / No, stay</a></p>\n"
           "    </form>\n"
           "    <section class=\"err-en\" lang=\"en\" aria-labelledby=\"confirm-title-en\">\n"
           "      <h2 id=\"confirm-title-en\">Log out?</h2>\n"
           "      <p>A public service portal asks to log your electronic identity out of this "
           "browser. Do you want to log out?</p>\n"
           "    </section>\n",
           esc);
  return qrl_page_html("Đăng xuất?", mid);
}
