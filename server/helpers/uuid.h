/*
 * uuid.h - random (version 4) UUIDs from libuuid, as lower-case text.
 *
 * Used as the "flow id" of a QR login: minted with the challenge and written
 * on every audit row of that login (scan, permission, confirm, web session,
 * code exchange), so support staff can follow one login across the browser
 * and the phone without the QR's secrets ever reaching the audit trail.
 * Depends on libc + libuuid only.
 */
#ifndef QRLOGIN_UUID_H
#define QRLOGIN_UUID_H

#include "qrlogin/error.h"

/* Length of the text form, without NUL: 8-4-4-4-12. */
#define QRL_UUID_STRLEN 36

/* Writes a new random UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") to out,
 * NUL-terminated. Returns QRL_OK, or QRL_CRYPTO if no good randomness was
 * available (libuuid fell back to a time-based or weak generator). */
qrl_err qrl_uuid_v4(char out[QRL_UUID_STRLEN + 1]);

/* Returns 1 if s is a well-formed lower-case UUID text of version 4. */
int qrl_uuid_valid(const char *s);

#endif /* QRLOGIN_UUID_H */
