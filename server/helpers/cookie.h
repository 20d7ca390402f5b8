/*
 * cookie.h - finding one cookie in a Cookie request header.
 *
 * Used for the session cookie; the input is whatever the client sent, so
 * the parser is strict and total (fuzzed: tests/fuzz/fuzz_cookie.c).
 * Depends on libc only.
 */
#ifndef QRLOGIN_COOKIE_H
#define QRLOGIN_COOKIE_H

#include <stddef.h>

/* Looks for "name=value" at a pair boundary of the header (pairs separated by
 * ';' and optional spaces). Copies the value into out (NUL-terminated) if it
 * is exactly want_len characters of [A-Za-z0-9_-]; returns 1 then, else 0
 * (absent, empty, another length, other characters). The first pair with
 * that name decides. */
int qrl_cookie_find(const char *header, const char *name, size_t want_len,
                    char *out, size_t outlen);

#endif /* QRLOGIN_COOKIE_H */
