/*
 * log.h - qrlogind's log: one line per event, logfmt text or one JSON
 * object per line, each with its time, level and event name, then named
 * fields. The line is built in a buffer and leaves in one write(2) on an
 * O_APPEND descriptor, so lines from the loop and the workers never mix.
 *
 * What goes in a line is the caller's choice, and never a secret: no token,
 * code, password, passcode or OTP - a test greps a whole run's logs for every
 * secret it used (tests/integration/test_logs.c). Citizen IDs go in masked
 * (qrl_log_mask_id). Values are escaped here (JSON, or logfmt quoting), so a
 * peer's text cannot forge a line or a field.
 *
 * Thread-safe: the level and format are read and written atomically, the
 * counters too; qrl_log_reopen() swaps the descriptor with dup2() so a
 * line being written goes to the old file or the new one, whole. Depends on
 * libc only.
 */
#ifndef QRLOGIN_LOG_H
#define QRLOGIN_LOG_H

#include <stdint.h>

#include "qrlogin/error.h"

typedef enum qrl_log_level {
  QRL_LOG_ERROR,  /* the server cannot do what it should */
  QRL_LOG_WARN,   /* something was lost or refused that an operator must see */
  QRL_LOG_NOTICE, /* start, stop, reloads, refusals of unknown clients */
  QRL_LOG_INFO,   /* every audited event: logins, logouts, settings */
  QRL_LOG_DEBUG   /* what lws says at its notice level */
} qrl_log_level;

typedef enum qrl_log_format { QRL_LOG_TEXT, QRL_LOG_JSON } qrl_log_format;

typedef struct qrl_log {
  int fd;          /* where lines go: 2 (stderr) or the log file's */
  char *path;      /* owned: the log file, or NULL for stderr */
  int level;       /* lines above this level are not written (atomic) */
  int format;      /* qrl_log_format (atomic) */
  uint64_t lines;  /* lines written (atomic) */
  uint64_t failed; /* lines that could not be written whole (atomic) */
} qrl_log;

/* A log on stderr, text, at QRL_LOG_INFO. */
void qrl_log_init(qrl_log *l);

/* Parses "text"/"json" and "error"/"warn"/"notice"/"info"/"debug". Return
 * -1 for anything else. */
int qrl_log_parse_format(const char *s);
int qrl_log_parse_level(const char *s);
const char *qrl_log_level_name(int level);

/* Sends lines to the file at path from now on (created 0640, appended to;
 * path is copied), or to stderr if path is NULL. Safe while other threads
 * log: the descriptor they write to is switched with dup2(), never closed.
 * QRL_OK, or QRL_IO with the log unchanged (the caller says why: errno is
 * kept). */
qrl_err qrl_log_open(qrl_log *l, const char *path);

/* Opens the log file again (after logrotate moved it): the lines after this
 * go to a new file at the same path. QRL_OK (also for stderr), or QRL_IO
 * with the old file kept. */
qrl_err qrl_log_reopen(qrl_log *l);

void qrl_log_set(qrl_log *l, int level, int format);

/* 1 if a line at level would be written. */
int qrl_log_on(const qrl_log *l, int level);

/* Closes the file, if any; the log writes to stderr after. */
void qrl_log_close(qrl_log *l);

/* Writes one line: event (a static name of ours, [a-z0-9_.]) and then
 * key/value string pairs, ended by a NULL key; a pair whose value is NULL is
 * left out. l may be NULL: a text line on stderr (code that runs before the
 * log exists). Never fails: a line that could not be written whole is
 * counted in l->failed. */
__attribute__((sentinel)) void qrl_log_kv(qrl_log *l, int level, const char *event, ...);

/* Writes one line whose "msg" field is the printf-formatted text. */
__attribute__((format(printf, 4, 5))) void qrl_log_msg(qrl_log *l, int level, const char *event,
                                                     const char *fmt, ...);

/* A citizen ID as logs carry it: the first 3 digits (the province) and
 * the last 2, the rest '*'. out: at least 16 bytes. Returns out. */
const char *qrl_log_mask_id(const char *id, char out[16]);

#endif /* QRLOGIN_LOG_H */
