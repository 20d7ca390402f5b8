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
#include "helpers/errpage.h"

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

/* ---- serving ---------------------------------------------------------------- */

static void answer_page(qrl_conn *c, int status) {
  char *html = qrl_errpage_html(status);
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

static const qrl_http_pages pages = {serve_get, qrl_errpage_html};

qrl_err qrl_pages_attach(qrl_server *srv) {
  static const char *const mounts[] = {"/", NULL};
  return qrl_http_attach_pages(srv, "qrl-pages", mounts, &pages) ? QRL_OK : QRL_NOMEM;
}
