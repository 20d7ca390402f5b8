/*
 * sms.c - see sms.h.
 */
#include "domain/sms.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql.h"

/* ---- outbox file ---------------------------------------------------------- */

typedef struct outbox {
  qrl_sms_gateway gw; /* first */
  int fd;
  pthread_mutex_t mu; /* one line at a time */
} outbox;

/* Appends s as a JSON string body (quotes and control characters escaped). */
static size_t json_escape(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; *s && n + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[n++] = '\\';
      out[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = '\0';
  return n;
}

static qrl_err outbox_send(qrl_sms_gateway *gw, qrl_db *db, const char *phone,
                           const char *text, int64_t now, int64_t *id) {
  outbox *o = (outbox *)gw;
  char line[1024], esc[700], to[64];
  int n;
  ssize_t w;
  (void)db;
  if (id) *id = 0;
  json_escape(text, esc, sizeof(esc));
  json_escape(phone, to, sizeof(to));
  n = snprintf(line, sizeof(line), "{\"at\":%lld,\"to\":\"%s\",\"text\":\"%s\"}\n",
               (long long)now, to, esc);
  if (n < 0 || (size_t)n >= sizeof(line)) return QRL_INVAL;
  pthread_mutex_lock(&o->mu);
  w = write(o->fd, line, (size_t)n); /* O_APPEND: one write, one line */
  pthread_mutex_unlock(&o->mu);
  return w == n ? QRL_OK : QRL_IO;
}

static void outbox_free(qrl_sms_gateway *gw) {
  outbox *o = (outbox *)gw;
  close(o->fd);
  pthread_mutex_destroy(&o->mu);
  free(o);
}

qrl_sms_gateway *qrl_sms_outbox_new(const char *path, qrl_err *err) {
  outbox *o = calloc(1, sizeof(*o));
  if (!o) {
    *err = QRL_NOMEM;
    return NULL;
  }
  o->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (o->fd < 0) {
    int e = errno; /* the caller says it */
    free(o);
    errno = e;
    *err = QRL_IO;
    return NULL;
  }
  pthread_mutex_init(&o->mu, NULL);
  o->gw.name = "outbox";
  o->gw.send = outbox_send;
  o->gw.free = outbox_free;
  return &o->gw;
}

/* ---- demo mobile network --------------------------------------------------- */

static qrl_err sim_send(qrl_sms_gateway *gw, qrl_db *db, const char *phone,
                        const char *text, int64_t now, int64_t *id) {
  qrl_stmt *st = qrl_sql_prep(db, "INSERT INTO sms_sim(at, phone, text) VALUES(?,?,?)"
                                      " RETURNING id");
  qrl_err rc;
  (void)gw;
  if (st) {
    qrl_sql_bind_int64(st, 1, now);
    qrl_sql_bind_text(st, 2, phone);
    qrl_sql_bind_text(st, 3, text);
  }
  rc = qrl_sql_run_id(db, st, id);
  return rc;
}

static void sim_free(qrl_sms_gateway *gw) { free(gw); }

qrl_sms_gateway *qrl_sms_sim_new(qrl_err *err) {
  qrl_sms_gateway *gw = calloc(1, sizeof(*gw));
  if (!gw) {
    *err = QRL_NOMEM;
    return NULL;
  }
  gw->name = "demo-network";
  gw->send = sim_send;
  gw->free = sim_free;
  return gw;
}

qrl_err qrl_sms_sim_inbox(qrl_db *db, const char *phone, int64_t after,
                          qrl_sms *out, size_t cap, size_t *n) {
  /* The newest cap messages after `after`, oldest first. */
  qrl_stmt *st = qrl_sql_prep(db, "SELECT id, at, text FROM (SELECT id, at, text"
                                      " FROM sms_sim WHERE phone = ? AND id > ?"
                                      " ORDER BY id DESC LIMIT ?) AS newest ORDER BY id");
  *n = 0;
  if (!st) return QRL_DB;
  qrl_sql_bind_text(st, 1, phone);
  qrl_sql_bind_int64(st, 2, after);
  qrl_sql_bind_int64(st, 3, (int64_t)cap);
  while (*n < cap && qrl_sql_step(st) == QRL_SQL_ROW) {
    out[*n].id = qrl_sql_col_int64(st, 0);
    out[*n].at = qrl_sql_col_int64(st, 1);
    qrl_sql_copy_col(st, 2, out[*n].text, sizeof(out[*n].text));
    (*n)++;
  }
  qrl_sql_done(db, st);
  return QRL_OK;
}

/* ---- helpers --------------------------------------------------------------- */

int qrl_phone_valid(const char *s) {
  if (!s || strlen(s) != 10 || s[0] != '0') return 0;
  for (int i = 0; i < 10; i++)
    if (!isdigit((unsigned char)s[i])) return 0;
  return 1;
}

void qrl_phone_mask(const char *phone, char out[16]) {
  size_t n = phone ? strlen(phone) : 0;
  if (n < 5 || n > 15) {
    snprintf(out, 16, "******");
    return;
  }
  snprintf(out, 16, "%.2s%.*s%s", phone, (int)(n - 4), "***************", phone + n - 2);
}

qrl_err qrl_sms_otp_text(const char *portal_name, const char *otp, int minutes,
                         char *out, size_t outlen) {
  int n = snprintf(out, outlen,
                   "%s: ma OTP dang nhap cua ban la %s, hieu luc %d phut. "
                   "KHONG cung cap ma nay cho bat ky ai.",
                   portal_name, otp, minutes);
  return n > 0 && (size_t)n < outlen ? QRL_OK : QRL_NOMEM;
}
