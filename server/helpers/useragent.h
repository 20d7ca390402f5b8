/*
 * useragent.h - "Chrome 131 trên Windows" out of a User-Agent header, for the
 * phone to show the citizen which browser is asking (they judge; nothing is
 * decided on it). Depends on libc only.
 */
#ifndef QRLOGIN_USERAGENT_H
#define QRLOGIN_USERAGENT_H

#include <stddef.h>

/* Writes "<browser> <major> trên <OS>" (or what is recognisable of it, or
 * "Trình duyệt không rõ") to out (outlen bytes, NUL-terminated). */
void qrl_ua_summary(const char *ua, char *out, size_t outlen);

/* Writes the browser ("Chrome 131", "Firefox 133") and the system
 * ("Windows", "Android") recognised in ua to browser (blen bytes) and os
 * (olen bytes), each "" when not recognised; NUL-terminated. */
void qrl_ua_parts(const char *ua, char *browser, size_t blen, char *os, size_t olen);

#endif /* QRLOGIN_USERAGENT_H */
