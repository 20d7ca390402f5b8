/*
 * num.c - see num.h.
 */
#include "helpers/num.h"

#include <errno.h>
#include <stdlib.h>

int qrl_parse_long(const char *s, long lo, long hi, long *out) {
  char *end = NULL;
  long v;

  if (!s || *s < '0' || *s > '9') return -1;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || *end != '\0' || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}
