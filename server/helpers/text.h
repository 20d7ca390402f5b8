/*
 * text.h - text that came from outside (a User-Agent, a name) made safe to
 * store and to show on a citizen's screen: valid UTF-8 without control
 * characters (C0, DEL, C1 - terminal escapes, bells) and without the
 * bidirectional overrides that reorder what is shown. Not here: JSON
 * escaping (cJSON), HTML (the page uses textContent). Also: the width such
 * text takes in a terminal. Depends on libc only.
 */
#ifndef QRLOGIN_TEXT_H
#define QRLOGIN_TEXT_H

#include <stddef.h>

/* Cleans s in place: every control character, bidi override/isolate and
 * byte that is not part of valid UTF-8 becomes '?' - except '\n' and '\t'
 * when keep_lines is 1 (text printed as lines). Returns how many were
 * replaced. */
size_t qrl_text_clean(char *s, int keep_lines);

/* 1 if qrl_text_clean(copy of s, 0) would change nothing, else 0. */
int qrl_text_is_clean(const char *s);

/* The columns clean UTF-8 text s takes on a terminal, for aligning tables:
 * one per character, none for a combining mark (Vietnamese written with
 * separate tone marks, NFD), two for East Asian wide characters. A byte
 * that is not valid UTF-8 counts one. */
size_t qrl_text_width(const char *s);

#endif /* QRLOGIN_TEXT_H */
