/*
 * form.h - application/x-www-form-urlencoded text: reading a parameter of a
 * form body (the OpenID token endpoint's, an authorize or userinfo POST's)
 * and adding one to a URL's query (the redirects to relying portals).
 * Plain C, no allocation. Not here: lws's own query parsing (the GET
 * parameters come from lws_get_urlarg_by_name, already decoded).
 */
#ifndef QRLOGIN_FORM_H
#define QRLOGIN_FORM_H

#include <stddef.h>

/* Decodes n bytes of form-urlencoded text ("+" a space, "%XX" a byte) into
 * out (cap bytes, NUL-terminated). 0, or -1: a malformed escape, a NUL
 * byte, or longer than cap - 1 (out is then undefined). */
int qrl_form_decode(const char *in, size_t n, char *out, size_t cap);

/* The value of parameter name in body (len bytes, "a=b&c=d", not
 * NUL-terminated), decoded into out (cap bytes; "" when absent). 1 found;
 * 0 absent; -1 malformed, too long, or given more than once (RFC 6749
 * §3.1, §3.2: a parameter must not be repeated). A parameter without "="
 * has the empty value. */
int qrl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

/* Appends name=value to url (cap bytes, NUL-terminated), after "?" if url
 * has no query yet, else after "&"; value is percent-encoded (all but
 * A-Z a-z 0-9 - . _ ~). 0, or -1 if it does not fit (url is then cut back
 * as it was). */
int qrl_url_add_param(char *url, size_t cap, const char *name, const char *value);

#endif /* QRLOGIN_FORM_H */
