/*
 * httpc.h - a small blocking HTTP client for the server's own outgoing
 * calls (back-channel logout: glue/bclogout.h), on libcurl: one POST of an
 * application/x-www-form-urlencoded body, with a connect and a total
 * timeout, no redirect followed, no proxy from the environment, only http
 * and https, and plain http only to a loopback host (127.0.0.0/8, ::1,
 * localhost) unless the caller allows it. The answer's body is read and
 * dropped (at most 64 KB). Blocking: call it on a thread of its own, never
 * on the event loop. Not here: what is posted, retries. Depends on libcurl.
 */
#ifndef QRLOGIN_HTTPC_H
#define QRLOGIN_HTTPC_H

#include <stddef.h>

#include "qrlogin/error.h"

/* libcurl's global set-up: once per process, before any thread posts
 * (curl_global_init is not thread-safe). QRL_OK or QRL_INTERNAL. */
qrl_err qrl_httpc_global_init(void);

/* Options of one POST. */
typedef struct qrl_httpc_opts {
  long connect_ms;     /* connection (and TLS handshake) within this */
  long total_ms;       /* the whole exchange within this */
  int allow_plain;     /* 1: http:// to any host; 0: to loopback only */
  /* Called now and then during the transfer; returning nonzero aborts it
   * (a server shutting down). May be NULL. */
  int (*abort_cb)(void *arg);
  void *abort_arg;
} qrl_httpc_opts;

/* POSTs body (len bytes, form-urlencoded) to url. QRL_OK with the HTTP
 * status in *status; QRL_INVAL (the URL is no http(s) URL, or plain http to
 * a host that is not loopback: not worth retrying), QRL_NETWORK (no
 * connection, a timeout, a TLS failure, an abort: *status 0), QRL_NOMEM.
 * why (cap bytes, may be NULL) says what went wrong, never with the body. */
qrl_err qrl_httpc_post_form(const char *url, const char *body, size_t len,
                            const qrl_httpc_opts *o, long *status, char *why, size_t cap);

#endif /* QRLOGIN_HTTPC_H */
