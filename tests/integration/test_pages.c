/*
 * test_pages.c - what a person's browser gets outside /api (pages.c): an
 * address that does not exist, a method a page does not take, a malformed
 * request - each an HTML page in the portal's style, Vietnamese then
 * English, with a link back to the login page and the same security headers
 * as the other pages (never lws's bare page asking for /error.css); /kiosk
 * and /portal typed without ".html" open their pages; /api keeps its JSON
 * errors with their codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* 1 if resp (headers and body) is our error page for status. */
static int is_error_page(const char *resp, int status) {
  char code[32];
  snprintf(code, sizeof(code), "Lỗi %d", status);
  return resp && strstr(resp, "content-type: text/html; charset=utf-8") &&
         strstr(resp, "content-security-policy: default-src 'none'") &&
         strstr(resp, "x-frame-options: deny") && strstr(resp, "<html lang=\"vi\">") &&
         strstr(resp, "href=\"/style.css\"") && !strstr(resp, "error.css") &&
         strstr(resp, code) && strstr(resp, "lang=\"en\"") &&
         strstr(resp, "<a class=\"primary\" id=\"back\" href=\"/\">Về trang đăng nhập</a>") &&
         strstr(resp, "Back to the login page") && !strstr(resp, "<script") &&
         !strstr(resp, "style=") && !strstr(resp, "http://") && !strstr(resp, "https://");
}

/* The request text method path (with body, if not NULL) sent as is; the
 * status, the whole answer in *resp. */
static int send_req(const qrl_h_server *s, const char *method, const char *path,
                    const char *body, char **resp) {
  char req[1024], length[48] = "";
  if (body) snprintf(length, sizeof(length), "Content-Length: %zu\r\n", strlen(body));
  snprintf(req, sizeof(req),
           "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\nAccept: text/html\r\n"
           "%sConnection: close\r\n\r\n%s",
           method, path, s->port, s->http, length, body ? body : "");
  return qrl_h_raw_http(s, req, resp);
}

SERVER_TEST(an_unknown_address_gets_the_portals_404_page, NULL) {
  static const char *const paths[] = {"/khong-co", "/a/b/c.html", "/.hidden", "/error.css",
                                      "/kiosk/", "/index.html.bak", "/%2e%2e/etc/passwd",
                                      "/a-name-longer-than-any-file-the-web-directory-holds.html"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    char *resp = NULL;
    int st = send_req(s, "GET", paths[i], NULL, &resp);
    if (st != 404 || !is_error_page(resp, 404) || !strstr(resp, "Không tìm thấy trang") ||
        !strstr(resp, "Page not found")) {
      fprintf(stderr, "GET %s: %d\n%s\n", paths[i], st, resp ? resp : "(none)");
      free(resp);
      return 1;
    }
    free(resp);
  }
  return 0;
}

SERVER_TEST(other_errors_on_pages_are_pages_too, NULL) {
  char *resp = NULL;
  /* a form posted to a page */
  ASSERT_EQ_INT(send_req(s, "POST", "/index.html", "{}", &resp), 405);
  ASSERT_TRUE(is_error_page(resp, 405));
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(send_req(s, "DELETE", "/", NULL, &resp), 405);
  ASSERT_TRUE(is_error_page(resp, 405));
  ASSERT_TRUE(strstr(resp, "Method not allowed") != NULL);
  free(resp);
  resp = NULL;
  /* a GET with a body: bad framing */
  ASSERT_EQ_INT(send_req(s, "GET", "/", "{}", &resp), 400);
  ASSERT_TRUE(is_error_page(resp, 400));
  free(resp);
  return 0;
}

SERVER_TEST(short_names_open_the_kiosk_and_portal_pages, NULL) {
  char *resp = NULL;
  ASSERT_EQ_INT(send_req(s, "GET", "/kiosk", NULL, &resp), 200);
  ASSERT_TRUE(strstr(resp, "content-security-policy: default-src 'none'") != NULL);
  ASSERT_TRUE(strstr(resp, "data-kiosk") != NULL);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(send_req(s, "GET", "/portal", NULL, &resp), 200);
  ASSERT_TRUE(strstr(resp, "portal.js") != NULL);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(send_req(s, "GET", "/", NULL, &resp), 200);
  ASSERT_TRUE(strstr(resp, "login.js") != NULL);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(send_req(s, "GET", "/i18n.js", NULL, &resp), 200);
  ASSERT_TRUE(strstr(resp, "content-type: text/javascript; charset=utf-8") != NULL);
  free(resp);
  return 0;
}

SERVER_TEST(the_api_keeps_its_json_errors, NULL) {
  char *resp = NULL;
  cJSON *o;
  ASSERT_EQ_INT(qrl_h_http(s, "GET", "/api/khong-co", s->http, NULL, NULL, &resp, NULL), 404);
  ASSERT_TRUE((o = cJSON_Parse(resp)) != NULL);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "code")), "not_found");
  cJSON_Delete(o);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(qrl_h_http(s, "POST", "/api/me", s->http, NULL, "{}", &resp, NULL), 405);
  ASSERT_TRUE((o = cJSON_Parse(resp)) != NULL);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "code")), "method_not_allowed");
  cJSON_Delete(o);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(qrl_h_http(s, "GET", "/healthz", NULL, NULL, NULL, &resp, NULL), 200);
  free(resp);
  return 0;
}

/* A HEAD of a page gets its headers, as from lws's file mount before. */
SERVER_TEST(a_head_of_a_page_gets_its_headers, NULL) {
  char *resp = NULL;
  ASSERT_EQ_INT(send_req(s, "HEAD", "/", NULL, &resp), 200);
  ASSERT_TRUE(strstr(resp, "content-type: text/html") != NULL);
  free(resp);
  resp = NULL;
  ASSERT_EQ_INT(send_req(s, "HEAD", "/khong-co", NULL, &resp), 404);
  free(resp);
  return 0;
}

/* A person who opened the server by a name it does not serve (its IP
 * address, say) reads why, on a page; scripts and /api still get JSON
 * (test_rebinding). */
SERVER_TEST(a_wrong_host_name_is_a_page_for_a_person, "--origin", "http://dichvucong.example",
            QRL_H_NO_DEMO, NULL) {
  char req[512], *resp = NULL;
  snprintf(req, sizeof(req),
           "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
           "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\nConnection: close\r\n\r\n",
           s->port);
  ASSERT_EQ_INT(qrl_h_raw_http(s, req, &resp), 421);
  ASSERT_TRUE(is_error_page(resp, 421));
  ASSERT_TRUE(strstr(resp, "Sai địa chỉ máy chủ") != NULL);
  free(resp);
  resp = NULL;
  snprintf(req, sizeof(req),
           "GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/html\r\n"
           "Connection: close\r\n\r\n",
           s->port);
  ASSERT_EQ_INT(qrl_h_raw_http(s, req, &resp), 421);
  ASSERT_TRUE(strstr(resp, "\"code\":\"bad_host\"") != NULL);
  free(resp);
  return 0;
}

TEST_MAIN(an_unknown_address_gets_the_portals_404_page, other_errors_on_pages_are_pages_too,
          short_names_open_the_kiosk_and_portal_pages, the_api_keeps_its_json_errors,
          a_head_of_a_page_gets_its_headers, a_wrong_host_name_is_a_page_for_a_person)
