/*
 * uuid.c - see uuid.h.
 */
#include "helpers/uuid.h"

#include <string.h>
#include <uuid/uuid.h>

qrl_err qrl_uuid_v4(char out[QRL_UUID_STRLEN + 1]) {
  uuid_t u;
  /* uuid_generate_random() reads getrandom()/urandom; the _safe variant is
   * for time-based UUIDs. The version nibble tells us it was random. */
  uuid_generate_random(u);
  if ((u[6] >> 4) != 4) return QRL_CRYPTO;
  uuid_unparse_lower(u, out);
  return QRL_OK;
}

int qrl_uuid_valid(const char *s) {
  static const char hex[] = "0123456789abcdef";
  if (!s || strlen(s) != QRL_UUID_STRLEN) return 0;
  for (int i = 0; i < QRL_UUID_STRLEN; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!s[i] || !strchr(hex, s[i])) {
      return 0;
    }
  }
  return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}
