/*
 * errpage.c - the HTML error pages (errpage.h).
 */
#include "helpers/errpage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static const char head[] =
    "<!doctype html>\n"
    "<html lang=\"vi\">\n"
    "<head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "  <meta name=\"referrer\" content=\"no-referrer\">\n"
    "  <title>%s — Cổng Dịch vụ công quốc gia</title>\n"
    "  <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\n"
    "  <link rel=\"stylesheet\" href=\"/style.css\">\n"
    "</head>\n"
    "<body class=\"errpage\">\n"
    "  <header class=\"top\">\n"
    "    <img src=\"/favicon.svg\" alt=\"\" class=\"logo\" width=\"40\" height=\"40\">\n"
    "    <span class=\"portal-name\">Cổng Dịch vụ công quốc gia</span>\n"
    "  </header>\n"
    "  <main class=\"card\" id=\"main\">\n";

static const char tail[] = "  </main>\n</body>\n</html>\n";

char *qrl_page_html(const char *title, const char *main_html) {
  int n = snprintf(NULL, 0, head, title);
  size_t ml = strlen(main_html), len;
  char *out;
  if (n < 0) return NULL;
  len = (size_t)n + ml + sizeof(tail);
  if (!(out = malloc(len))) return NULL;
  snprintf(out, len, head, title);
  memcpy(out + n, main_html, ml);
  memcpy(out + n + ml, tail, sizeof(tail)); /* with its NUL */
  return out;
}

static const char card_fmt[] =
    "    <p class=\"err-code\" id=\"err-code\"%s>Lỗi %d</p>\n"
    "    <h1 id=\"err-title\">%s</h1>\n"
    "    <p class=\"lead\">%s</p>\n"
    "    <p class=\"actions\"><a class=\"primary\" id=\"back\" href=\"/\">Về trang đăng nhập</a></p>\n"
    "    <section class=\"err-en\" lang=\"en\" aria-labelledby=\"err-title-en\">\n"
    "      <h2 id=\"err-title-en\">Error %d: %s</h2>\n"
    "      <p>%s</p>\n"
    "      <p><a href=\"/\" id=\"back-en\">Back to the login page</a></p>\n"
    "    </section>\n";

/* The page of t, with attr (" data-code=..." or "") on the error line. */
static char *render(const page_text *t, int status, const char *attr) {
  char *card = NULL, *out;
  int n = snprintf(NULL, 0, card_fmt, attr, status, t->title_vi, t->text_vi, status,
                   t->title_en, t->text_en);
  if (n < 0 || !(card = malloc((size_t)n + 1))) return NULL;
  snprintf(card, (size_t)n + 1, card_fmt, attr, status, t->title_vi, t->text_vi, status,
           t->title_en, t->text_en);
  out = qrl_page_html(t->title_vi, card);
  free(card);
  return out;
}

char *qrl_errpage_html(int status) {
  return render(text_for(status), status, "");
}

char *qrl_errpage_html_code(int status, const char *code, const char *title_vi,
                            const char *text_vi, const char *title_en, const char *text_en) {
  page_text t = {status, title_vi, text_vi, title_en, text_en};
  char attr[80];
  /* code is one of ours ([a-z_]): no escaping needed, checked all the same */
  for (const char *p = code; *p; p++)
    if ((*p < 'a' || *p > 'z') && *p != '_') return NULL;
  snprintf(attr, sizeof(attr), " data-code=\"%.60s\"", code);
  return render(&t, status, attr);
}
