/*
 * httpc.c - outgoing HTTP POSTs on libcurl (httpc.h).
 */
#include "helpers/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define BODY_MAX 65536

qrl_err qrl_httpc_global_init(void) {
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? QRL_OK : QRL_INTERNAL;
}

typedef struct sink {
  size_t got;
} sink;

/* The answer's body: counted and dropped; too much ends the transfer. */
static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  sink *s = arg;
  (void)p;
  s->got += size * n;
  return s->got > BODY_MAX ? 0 : size * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  const qrl_httpc_opts *o = arg;
  (void)a, (void)b, (void)c, (void)d;
  return o->abort_cb && o->abort_cb(o->abort_arg) ? 1 : 0;
}

/* 1 if host (as in a URL: a name, an IPv4 address, [IPv6]) is loopback. */
static int loopback(const char *host) {
  if (!strcmp(host, "localhost") || !strcmp(host, "[::1]") || !strcmp(host, "::1")) return 1;
  if (!strncmp(host, "127.", 4)) {
    for (const char *p = host + 4; *p; p++)
      if ((*p < '0' || *p > '9') && *p != '.') return 0;
    return 1;
  }
  return 0;
}

/* QRL_OK if url is http(s) and (plain http) its host allowed. */
static qrl_err check_url(const char *url, int allow_plain, char *why, size_t cap) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  qrl_err rc = QRL_INVAL;
  if (!u) return QRL_NOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    if (why) snprintf(why, cap, "not a URL");
  } else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
    if (why) snprintf(why, cap, "scheme %s refused", scheme);
  } else if (!strcmp(scheme, "http") && !allow_plain && !loopback(host)) {
    if (why) snprintf(why, cap, "plain http only to a loopback host");
  } else {
    rc = QRL_OK;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}

qrl_err qrl_httpc_post_form(const char *url, const char *body, size_t len,
                            const qrl_httpc_opts *o, long *status, char *why, size_t cap) {
  CURL *h = NULL;
  struct curl_slist *hdrs = NULL;
  sink s = {0};
  CURLcode cc;
  qrl_err rc;

  *status = 0;
  if (why && cap) why[0] = '\0';
  if ((rc = check_url(url, o->allow_plain, why, cap))) return rc;
  rc = QRL_NOMEM;
  if (!(h = curl_easy_init())) goto out;
  if (!(hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded")))
    goto out;
  /* No "Expect: 100-continue" (libcurl adds it past 1 KB): a portal that
   * does not answer it would cost each logout a second's wait. */
  {
    struct curl_slist *more = curl_slist_append(hdrs, "Expect:");
    if (!more) goto out;
    hdrs = more;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy from the environment */
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->total_ms);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "qrlogind");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)o);
  cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    if (why) snprintf(why, cap, "%s", curl_easy_strerror(cc));
    rc = QRL_NETWORK;
    goto out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  rc = QRL_OK;
out:
  curl_slist_free_all(hdrs);
  if (h) curl_easy_cleanup(h);
  return rc;
}
