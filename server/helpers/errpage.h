/*
 * errpage.h - the page a person's browser gets for an HTTP error outside
 * /api (404, 405, 400, 421...): in the portal's style (its own stylesheet
 * and icon, nothing from elsewhere, no script - the CSP allows neither
 * inline script nor inline style), Vietnamese first and English below, with
 * a link back to the login page. Not here: sending it (handlers/pages.c,
 * glue/origin.c), the API's JSON errors. Depends on libc only.
 */
#ifndef QRLOGIN_ERRPAGE_H
#define QRLOGIN_ERRPAGE_H

/* The error page for HTTP status (any status: an unknown 4xx reads as a
 * bad request, anything else as a server error), as a NUL-terminated HTML
 * document: caller frees. NULL on allocation failure. */
char *qrl_errpage_html(int status);

/* A page for one particular refusal: status, the stable machine-readable
 * code (the error's wire code, [a-z_] only; shown as data-code on the error
 * line) and its texts (static, trusted HTML-free text). Caller frees; NULL
 * on allocation failure or a code of other characters. */
char *qrl_errpage_html_code(int status, const char *code, const char *title_vi,
                            const char *text_vi, const char *title_en, const char *text_en);

/* The portal's page shell - head (its stylesheet and icon, no referrer),
 * header, a main card - around main_html (trusted HTML: the caller escapes
 * what it puts in), titled "title — Cổng Dịch vụ công quốc gia" (title is
 * trusted text). The error pages and the logout pages (logoutpage.h) are
 * made with it. Caller frees; NULL on allocation failure. */
char *qrl_page_html(const char *title, const char *main_html);

#endif /* QRLOGIN_ERRPAGE_H */
