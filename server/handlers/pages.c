/*
 * pages.c - the login pages, their files and the HTML error pages (pages.h).
 */
#include "handlers/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glue/config.h"
#include "handlers/http.h"

/* What people type without ".html", and the page each one means. */
static const struct {
  const char *path, *file;
} short_names[] = {
    {"/", "index.html"},
    {"/kiosk", "kiosk.html"},
    {"/portal", "portal.html"},
};

int qrl_pages_file_for(const char *path, char *out, size_t cap) {
  const char *name = path + 1;
  size_t n;

  if (!path || path[0] != '/') return -1;
  for (size_t i = 0; i < sizeof(short_names) / sizeof(short_names[0]); i++)
    if (strcmp(path, short_names[i].path) == 0) {
      name = short_names[i].file;
      break;
    }
  n = strlen(name);
  if (!n || n >= cap || name[0] == '.') return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '-' || ch == '_'))
      return -1;
  }
  memcpy(out, name, n + 1);
  return 0;
}

/* ---- error pages ------------------------------------------------------------ */

typedef struct page_text {
  int status;
  const char *title_vi, *text_vi, *title_en, *text_en;
} page_text;

static const page_text texts[] = {
    {400, "Yêu cầu không hợp lệ",
     "Trình duyệt đã gửi một yêu cầu mà Cổng không đọc được. Hãy mở lại trang đăng nhập.",
     "Bad request", "Your browser sent a request the portal cannot read. Open the login page again."},
    {403, "Không có quyền truy cập", "Bạn không có quyền mở trang này.", "Access denied",
     "You are not allowed to open this page."},
    {404, "Không tìm thấy trang",
     "Địa chỉ bạn mở không có trên Cổng. Hãy kiểm tra lại địa chỉ hoặc quay về trang đăng nhập.",
     "Page not found",
     "The address you opened does not exist on the portal. Check it, or go back to the login page."},
    {405, "Thao tác không được hỗ trợ", "Trang này chỉ để xem, không nhận dữ liệu gửi lên.",
     "Method not allowed", "This page can only be viewed; it does not accept submitted data."},
    {413, "Dữ liệu gửi lên quá lớn", "Yêu cầu gửi lên vượt quá giới hạn cho phép.",
     "Request too large", "The request is larger than the portal accepts."},
    {421, "Sai địa chỉ máy chủ", "Cổng không phục vụ tên máy chủ trong địa chỉ bạn đã mở.",
     "Wrong server address", "The portal does not serve the host name in the address you opened."},
    {429, "Quá nhiều yêu cầu", "Bạn đã gửi quá nhiều yêu cầu. Vui lòng chờ một lát rồi thử lại.",
     "Too many requests", "You have sent too many requests. Please wait a moment and try again."},
    {500, "Lỗi hệ thống", "Đã có lỗi xảy ra phía máy chủ. Vui lòng thử lại sau.",
     "Server error", "Something went wrong on the server. Please try again later."},
    {503, "Hệ thống đang bận", "Cổng đang quá tải hoặc tạm ngừng phục vụ. Vui lòng thử lại sau ít phút.",
     "Service unavailable", "The portal is busy or briefly unavailable. Please try again in a few minutes."},
};

static const page_text *text_for(int status) {
  const page_text *fallback = NULL;
  for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    if (texts[i].status == status) return &texts[i];
    if (texts[i].status == (status >= 400 && status < 500 ? 400 : 500)) fallback = &texts[i];
  }
  return fallback;
}

/* No inline script or style (the CSP forbids both) and nothing from
 * elsewhere: the portal's own stylesheet and icon. Absolute links, since
 * the page answers any path. */
static const char page_fmt[] =
    "<!doctype html>\n"
    "<html lang=\"vi\">\n"
    "<head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "  <title>%s — Cổng Dịch vụ công quốc gia</title>\n"
    "  <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n"
    "  <link rel=\"stylesheet\" href=\"/style.css\">\n"
    "</head>\n"
    "<body class=\"errpage\">\n"
    "  <header class=\"top\">\n"
    "    <img src=\"/favicon.svg\" alt=\"\" class=\"logo\" width=\"40\" height=\"40\">\n"
    "    <span class=\"portal-name\">Cổng Dịch vụ công quốc gia</span>\n"
    "  </header>\n"
    "  <main class=\"card\" id=\"main\">\n"
    "    <p class=\"err-code\" id=\"err-code\">Lỗi %d</p>\n"
    "    <h1 id=\"err-title\">%s</h1>\n"
    "    <p class=\"lead\">%s</p>\n"
    "    <p class=\"actions\"><a class=\"primary\" id=\"back\" href=\"/\">Về trang đăng nhập</a></p>\n"
    "    <section class=\"err-en\" lang=\"en\" aria-labelledby=\"err-title-en\">\n"
    "      <h2 id=\"err-title-en\">Error %d: %s</h2>\n"
    "      <p>%s</p>\n"
    "      <p><a href=\"/\" id=\"back-en\">Back to the login page</a></p>\n"
    "    </section>\n"
    "  </main>\n"
    "</body>\n"
    "</html>\n";

char *qrl_pages_error_html(int status) {
  const page_text *t = text_for(status);
  char *out = NULL;
  int n = snprintf(NULL, 0, page_fmt, t->title_vi, status, t->title_vi, t->text_vi, status,
                   t->title_en, t->text_en);
  if (n < 0 || !(out = malloc((size_t)n + 1))) return NULL;
  snprintf(out, (size_t)n + 1, page_fmt, t->title_vi, status, t->title_vi, t->text_vi, status,
           t->title_en, t->text_en);
  return out;
}

/* ---- serving ---------------------------------------------------------------- */

static void answer_page(qrl_conn *c, int status) {
  char *html = qrl_pages_error_html(status);
  if (html) qrl_http_respond_as(c, status, html, "text/html; charset=utf-8");
  else qrl_http_error(c, QRL_NOMEM, NULL);
}

/* The Content-Type of file name, as lws's file mount gave it (JavaScript
 * as text/javascript in UTF-8); NULL for a type not served. */
static const char *type_of(const char *name) {
  size_t n = strlen(name);
  if (n > 3 && strcmp(name + n - 3, ".js") == 0) return "text/javascript; charset=utf-8";
  return lws_get_mimetype(name, NULL);
}

static int serve_get(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  char name[sizeof(c->path)], full[4096];
  const char *type;
  struct stat st;
  int n;

  if (qrl_pages_file_for(c->path, name, sizeof(name)) || !(type = type_of(name)) ||
      snprintf(full, sizeof(full), "%s/%s", sv->cfg->web_dir, name) >= (int)sizeof(full) ||
      stat(full, &st) || !S_ISREG(st.st_mode)) {
    answer_page(c, 404);
    return 0;
  }
  n = lws_serve_http_file(wsi, full, type, NULL, 0);
  if (n < 0) return -1;
  /* > 0: lws answered and ended the transaction itself (the file went away
   * meanwhile); the connection may still close. */
  return n > 0 && lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const qrl_http_pages pages = {serve_get, qrl_pages_error_html};

qrl_err qrl_pages_attach(qrl_server *srv) {
  static const char *const mounts[] = {"/", NULL};
  return qrl_http_attach_pages(srv, "qrl-pages", mounts, &pages) ? QRL_OK : QRL_NOMEM;
}
