/*
 * pages.h - what a person's browser gets outside /api: the login pages and
 * their files from the web directory, the short names people type (/kiosk,
 * /portal), and an HTML page for every HTTP error on the way (404, 405...;
 * helpers/errpage.h) - never lws's bare error page.
 *
 * The router is mounted at "/" and sees every request no other mount takes
 * (the /api JSON router, /healthz, the operators' URLs keep theirs): a file
 * that exists is handed to lws to send (a HEAD gets its headers); anything
 * else is answered here.
 * Not here: the API's JSON errors (http.c), websockets, the Host check
 * (origin.c, before any mount).
 */
#ifndef QRLOGIN_PAGES_H
#define QRLOGIN_PAGES_H

#include <stddef.h>

#include "glue/server.h"
#include "qrlogin/error.h"

/* Registers the pages router with srv, mounted at "/". It must be the first
 * mount registered: lws 4.1.6 gives a request to the last callback mount
 * that matches it, whatever its length, so "/" must come before /api and
 * the others. QRL_NOMEM on allocation failure. */
qrl_err qrl_pages_attach(qrl_server *srv);

/* The file under the web directory that serves path (a URI path such as
 * "/", "/kiosk" or "/style.css"), written to out (cap bytes): "index.html",
 * "kiosk.html", "style.css". Only plain names at the top of the directory
 * qualify (letters, digits, '.', '-', '_', not starting with '.'). 0, or -1
 * if no file can serve path. */
int qrl_pages_file_for(const char *path, char *out, size_t cap);

#endif /* QRLOGIN_PAGES_H */
