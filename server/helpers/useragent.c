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

void qrl_ua_summary(const char *ua, char *out, size_t outlen) {
  const char *browser = NULL, *os = NULL, *ver = NULL;
  size_t vlen = 0;
  if (!out || !outlen) return;
  for (size_t i = 0; ua && i < sizeof(browsers) / sizeof(browsers[0]) && !browser; i++) {
    const char *p = strstr(ua, browsers[i].token);
    if (!p) continue;
    browser = browsers[i].name;
    ver = p + strlen(browsers[i].token);
    vlen = strspn(ver, "0123456789");
    if (vlen > 5) vlen = 5;
  }
  for (size_t i = 0; ua && i < sizeof(systems) / sizeof(systems[0]) && !os; i++)
    if (strstr(ua, systems[i].token)) os = systems[i].name;
  if (browser && os)
    snprintf(out, outlen, "%s %.*s trên %s", browser, (int)vlen, ver, os);
  else if (browser)
    snprintf(out, outlen, "%s %.*s", browser, (int)vlen, ver);
  else if (os)
    snprintf(out, outlen, "Trình duyệt trên %s", os);
  else
    snprintf(out, outlen, "Trình duyệt không rõ");
}
