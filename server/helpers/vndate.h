/*
 * vndate.h - calendar days in Vietnam time (UTC+7, no daylight saving): a
 * configured day ("2024-07-01") to the unix time it begins, and a moment to
 * the day people read ("01/07/2024"). The seeds' dates (the cutover, the
 * day portal accounts close) are Vietnamese days, whatever the host's TZ.
 * Not here: times of day (the page formats those in the browser's zone).
 */
#ifndef QRLOGIN_VNDATE_H
#define QRLOGIN_VNDATE_H

#include <stdint.h>

/* Parses "YYYY-MM-DD" (a real day, years 2000..2100) into the unix time of
 * its first second in Vietnam. Returns 0, or -1 with *out untouched. */
int qrl_vndate_parse(const char *s, int64_t *out);

/* Writes the Vietnam day of unix time t as "dd/mm/yyyy" to out. */
void qrl_vndate_format(int64_t t, char out[11]);

#endif /* QRLOGIN_VNDATE_H */
