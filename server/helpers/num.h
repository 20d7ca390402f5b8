/*
 * num.h - strict decimal numbers from command lines, prompts and config:
 * digits only (no sign, spaces, suffix, hex), within inclusive bounds,
 * no overflow. Depends on libc only.
 */
#ifndef QRLOGIN_NUM_H
#define QRLOGIN_NUM_H

/* Parses s as a whole decimal number in [lo, hi] (lo >= 0) into *out.
 * Returns 0, or -1 (and leaves *out alone) if s is NULL, empty, has any
 * character but 0-9, or is out of range. */
int qrl_parse_long(const char *s, long lo, long hi, long *out);

#endif /* QRLOGIN_NUM_H */
