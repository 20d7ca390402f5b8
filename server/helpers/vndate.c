/*
 * vndate.c - Vietnam calendar days (vndate.h), with Howard Hinnant's
 * civil-from-days algorithms: no TZ, no libc time zone state.
 */
#include "helpers/vndate.h"

#include <stdio.h>
#include <string.h>

#define VN_OFFSET (7 * 3600)

int qrl_vndate_parse(const char *s, int64_t *out) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, m, d, yy, era, yoe, doy, doe;
  char tail;
  if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
  if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return -1;
  if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return -1;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return -1;
  yy = y - (m <= 2);
  era = yy / 400;
  yoe = yy - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *out = ((int64_t)era * 146097 + doe - 719468) * 86400 - VN_OFFSET;
  return 0;
}

void qrl_vndate_format(int64_t t, char out[11]) {
  int64_t z = t + VN_OFFSET, days = z / 86400;
  int64_t era, doe, yoe, y, doy, mp, d, m;
  if (z % 86400 < 0) days--;
  days += 719468;
  era = (days >= 0 ? days : days - 146096) / 146097;
  doe = days - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  snprintf(out, 11, "%02u/%02u/%04u", (unsigned)d % 100u, (unsigned)m % 100u,
           (unsigned)(y % 10000));
}
