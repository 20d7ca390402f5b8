/*
 * log.c - log lines built in a stack buffer and written in one write(2).
 */
#define _GNU_SOURCE /* O_CLOEXEC */
#include "helpers/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A line at most: longer values are cut (and end with "..."). */
#define LINE_MAX_BYTES 2048

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};

void qrl_log_init(qrl_log *l) {
  memset(l, 0, sizeof(*l));
  l->fd = 2;
  l->level = QRL_LOG_INFO;
  l->format = QRL_LOG_TEXT;
}

int qrl_log_parse_format(const char *s) {
  if (!s) return -1;
  if (!strcmp(s, "text")) return QRL_LOG_TEXT;
  if (!strcmp(s, "json")) return QRL_LOG_JSON;
  return -1;
}

int qrl_log_parse_level(const char *s) {
  if (!s) return -1;
  for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
    if (!strcmp(s, level_names[i])) return i;
  return -1;
}

const char *qrl_log_level_name(int level) {
  if (level < 0 || level > QRL_LOG_DEBUG) return "?";
  return level_names[level];
}

static int open_file(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

qrl_err qrl_log_open(qrl_log *l, const char *path) {
  char *copy = NULL;
  int fd = 2;
  if (path) {
    if (!(copy = strdup(path))) return QRL_NOMEM;
    if ((fd = open_file(path)) < 0) {
      int e = errno;
      free(copy);
      errno = e;
      return QRL_IO;
    }
  }
  if (l->fd != 2) {
    /* A descriptor of ours: what it refers to changes in one step (dup2),
     * so a worker writing now writes whole to the old file or the new one,
     * never to a closed or reused number. */
    if (dup2(fd, l->fd) < 0) {
      int e = errno;
      if (fd != 2) close(fd);
      free(copy);
      errno = e;
      return QRL_IO;
    }
    if (fd != 2) close(fd);
  } else if (fd != 2) {
    __atomic_store_n(&l->fd, fd, __ATOMIC_RELEASE);
  }
  free(l->path);
  l->path = copy;
  return QRL_OK;
}

qrl_err qrl_log_reopen(qrl_log *l) {
  int fd;
  if (!l->path) return QRL_OK;
  if ((fd = open_file(l->path)) < 0) return QRL_IO;
  /* dup2 replaces the descriptor in one step: a worker's write goes to the
   * old file or to the new one, never to a closed descriptor. */
  if (dup2(fd, l->fd) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return QRL_IO;
  }
  close(fd);
  return QRL_OK;
}

void qrl_log_set(qrl_log *l, int level, int format) {
  __atomic_store_n(&l->level, level, __ATOMIC_RELAXED);
  __atomic_store_n(&l->format, format, __ATOMIC_RELAXED);
}

int qrl_log_on(const qrl_log *l, int level) {
  return level <= (l ? __atomic_load_n(&l->level, __ATOMIC_RELAXED) : QRL_LOG_INFO);
}

void qrl_log_close(qrl_log *l) {
  if (l->fd != 2) close(l->fd);
  free(l->path);
  l->path = NULL;
  l->fd = 2;
}

const char *qrl_log_mask_id(const char *id, char out[16]) {
  size_t n = id ? strlen(id) : 0, i;
  if (n > 15) n = 15;
  for (i = 0; i < n; i++) out[i] = (i < 3 || i + 2 >= n) ? id[i] : '*';
  out[n] = '\0';
  return out;
}

/* ---- building a line ------------------------------------------------------ */

typedef struct line {
  char buf[LINE_MAX_BYTES];
  size_t len;
  int cut;    /* something did not fit: nothing more is added */
  int in_str; /* inside a JSON string (closed by finish() after a cut) */
} line;

/* Room kept at the end for what finish() adds: ..."}\n */
#define TAIL 6

/* Adds n bytes whole, or nothing (and the line is cut from here on). */
static void put(line *ln, const char *s, size_t n) {
  if (ln->cut || ln->len + n > sizeof(ln->buf) - TAIL) {
    ln->cut = 1;
    return;
  }
  memcpy(ln->buf + ln->len, s, n);
  ln->len += n;
}

static void puts_(line *ln, const char *s) { put(ln, s, strlen(s)); }

/* The length of the UTF-8 sequence led by c (1 for a stray byte). */
static size_t seq_len(unsigned char c) {
  return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* A value in JSON string quotes: control characters, quotes and
 * backslashes escaped; UTF-8 kept, a sequence added whole or not at all. */
static void put_json(line *ln, const char *s) {
  char esc[8];
  const unsigned char *p = (const unsigned char *)s;
  put(ln, "\"", 1);
  ln->in_str = !ln->cut;
  while (*p && !ln->cut) {
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      put(ln, esc, 2);
      p++;
    } else if (*p == '\n' || *p == '\r' || *p == '\t') {
      esc[0] = '\\';
      esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
      put(ln, esc, 2);
      p++;
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof(esc), "\\u%04x", *p);
      put(ln, esc, 6);
      p++;
    } else {
      size_t n = seq_len(*p), k;
      for (k = 1; k < n && p[k]; k++) {}
      put(ln, (const char *)p, k);
      p += k;
    }
  }
  put(ln, "\"", 1);
  if (!ln->cut) ln->in_str = 0;
}

/* A logfmt value: bare if it has no space, quote, '=' or control
 * character, else quoted with the same escapes as JSON. */
static void put_logfmt(line *ln, const char *s) {
  const unsigned char *p;
  if (*s) {
    for (p = (const unsigned char *)s; *p; p++)
      if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f) break;
    if (!*p) {
      puts_(ln, s);
      return;
    }
  }
  put_json(ln, s);
}

static void field(line *ln, int format, const char *key, const char *value) {
  /* A key is added with the start of its value or not at all. */
  if (ln->cut || ln->len + strlen(key) + 8 > sizeof(ln->buf) - TAIL) {
    ln->cut = 1;
    return;
  }
  if (format == QRL_LOG_JSON) {
    put(ln, ",\"", 2);
    puts_(ln, key);
    put(ln, "\":", 2);
    put_json(ln, value);
  } else {
    put(ln, " ", 1);
    puts_(ln, key);
    put(ln, "=", 1);
    put_logfmt(ln, value);
  }
}

static void begin(line *ln, int format, int level, const char *event) {
  struct timespec ts;
  struct tm tm;
  char when[80];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (long)(ts.tv_nsec / 1000000) % 1000);
  ln->len = 0;
  ln->cut = 0;
  ln->in_str = 0;
  if (format == QRL_LOG_JSON) {
    puts_(ln, "{\"time\":\"");
    puts_(ln, when);
    puts_(ln, "\",\"level\":\"");
    puts_(ln, qrl_log_level_name(level));
    puts_(ln, "\",\"event\":");
    put_json(ln, event);
  } else {
    puts_(ln, when);
    put(ln, " ", 1);
    puts_(ln, qrl_log_level_name(level));
    put(ln, " ", 1);
    put_logfmt(ln, event);
  }
}

/* Ends the line (TAIL bytes were kept for this) and writes it. */
static void finish(qrl_log *l, line *ln, int format) {
  ssize_t w;
  int fd = l ? __atomic_load_n(&l->fd, __ATOMIC_ACQUIRE) : 2;
  char *e = ln->buf + ln->len;
  if (ln->cut && (format != QRL_LOG_JSON || ln->in_str)) {
    /* The cut value says so; in JSON only inside a string. */
    memcpy(e, "...", 3);
    e += 3;
    if (ln->in_str) *e++ = '"';
  }
  if (format == QRL_LOG_JSON) *e++ = '}';
  *e++ = '\n';
  ln->len = (size_t)(e - ln->buf);
  do w = write(fd, ln->buf, ln->len);
  while (w < 0 && errno == EINTR);
  if (!l) return;
  if (w == (ssize_t)ln->len) __atomic_fetch_add(&l->lines, 1, __ATOMIC_RELAXED);
  else __atomic_fetch_add(&l->failed, 1, __ATOMIC_RELAXED);
}

void qrl_log_kv(qrl_log *l, int level, const char *event, ...) {
  line ln;
  va_list ap;
  const char *k, *v;
  int format = l ? __atomic_load_n(&l->format, __ATOMIC_RELAXED) : QRL_LOG_TEXT;
  if (!qrl_log_on(l, level)) return;
  begin(&ln, format, level, event);
  va_start(ap, event);
  while ((k = va_arg(ap, const char *))) {
    v = va_arg(ap, const char *);
    if (v) field(&ln, format, k, v);
  }
  va_end(ap);
  finish(l, &ln, format);
}

void qrl_log_msg(qrl_log *l, int level, const char *event, const char *fmt, ...) {
  char msg[LINE_MAX_BYTES];
  va_list ap;
  size_t n;
  if (!qrl_log_on(l, level)) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* lws and strerror() texts end in a newline: the line has its own. */
  n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  qrl_log_kv(l, level, event, "msg", msg, (const char *)NULL);
}
