/*
 * useragent.c - see useragent.h. Order matters: Edge and Opera and Cốc Cốc
 * also say "Chrome", Chrome also says "Safari".
 */
#include "helpers/useragent.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *token, *name;
} browsers[] = {{"Edg/", "Edge"},          {"OPR/", "Opera"},
                {"coc_coc_browser/", "Cốc Cốc"}, {"SamsungBrowser/", "Samsung Internet"},
                {"Firefox/", "Firefox"},   {"HeadlessChrome/", "Chrome (headless)"},
                {"Chrome/", "Chrome"},     {"Version/", "Safari"}};

static const struct {
  const char *token, *name;
} systems[] = {{"Windows NT", "Windows"}, {"Android", "Android"}, {"iPhone", "iOS"},
               {"iPad", "iPadOS"},        {"CrOS", "ChromeOS"},   {"Mac OS X", "macOS"},
               {"Linux", "Linux"}};

void qrl_ua_parts(const char *ua, char *browser, size_t blen, char *os, size_t olen) {
  const char *name = NULL, *sys = NULL, *ver = NULL;
  size_t vlen = 0;
  for (size_t i = 0; ua && i < sizeof(browsers) / sizeof(browsers[0]) && !name; i++) {
    const char *p = strstr(ua, browsers[i].token);
    if (!p) continue;
    name = browsers[i].name;
    ver = p + strlen(browsers[i].token);
    vlen = strspn(ver, "0123456789");
    if (vlen > 5) vlen = 5;
  }
  for (size_t i = 0; ua && i < sizeof(systems) / sizeof(systems[0]) && !sys; i++)
    if (strstr(ua, systems[i].token)) sys = systems[i].name;
  if (browser && blen) {
    if (name && vlen) snprintf(browser, blen, "%s %.*s", name, (int)vlen, ver);
    else snprintf(browser, blen, "%s", name ? name : "");
  }
  if (os && olen) snprintf(os, olen, "%s", sys ? sys : "");
}

void qrl_ua_summary(const char *ua, char *out, size_t outlen) {
  char browser[48], os[24];
  if (!out || !outlen) return;
  qrl_ua_parts(ua, browser, sizeof(browser), os, sizeof(os));
  if (browser[0] && os[0])
    snprintf(out, outlen, "%s trên %s", browser, os);
  else if (browser[0])
    snprintf(out, outlen, "%s", browser);
  else if (os[0])
    snprintf(out, outlen, "Trình duyệt trên %s", os);
  else
    snprintf(out, outlen, "Trình duyệt không rõ");
}
