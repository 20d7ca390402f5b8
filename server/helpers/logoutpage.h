/*
 * logoutpage.h - the pages of OpenID Connect logout (handlers/oidc_logout.c),
 * in the style of the error pages (errpage.h: the portal's own stylesheet,
 * no script, no inline style; Vietnamese first, English below): "Đã đăng
 * xuất / Logged out", with a link back to the relying portal when there is
 * one, and the "log out?" confirmation, a POST form carrying a one-time
 * token. Not here: deciding which to show. Depends on libc only.
 */
#ifndef QRLOGIN_LOGOUTPAGE_H
#define QRLOGIN_LOGOUTPAGE_H

#include <stddef.h>

/* The logged-out page; back_url (may be NULL: none) is the portal's
 * post-logout URL, HTML-escaped here. Caller frees; NULL without memory. */
char *qrl_logout_page_html(const char *back_url);

/* The confirmation page: a form POSTing confirm=token (base64url; escaped
 * all the same) to /oauth2/logout. Caller frees; NULL without memory. */
char *qrl_logout_confirm_html(const char *token);

/* Appends s to out (cap bytes, NUL-terminated) with & < > " ' escaped for
 * HTML text and attribute values. 0, or -1 if it does not fit (out is then
 * cut back as it was). */
int qrl_html_escape_cat(char *out, size_t cap, const char *s);

#endif /* QRLOGIN_LOGOUTPAGE_H */
