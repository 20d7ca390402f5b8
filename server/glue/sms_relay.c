/*
 * sms_relay.c - the SMS gateways of one server (sms_relay.h).
 */
#include "glue/sms_relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "glue/jsonio.h"
#include "glue/reply.h"
#include "helpers/log.h"

qrl_err qrl_sms_relay_open(qrl_sms_relay *r, const char *outbox_path, int demo,
                           int ttl_secs, qrl_log *log) {
  qrl_err err = QRL_OK;
  memset(r, 0, sizeof(*r));
  r->ttl_secs = ttl_secs;
  if (!(r->gw[0] = qrl_sms_outbox_new(outbox_path, &err))) {
    qrl_log_msg(log, QRL_LOG_ERROR, "startup", "cannot open the SMS outbox %s: %s",
                outbox_path, err == QRL_IO ? strerror(errno) : qrl_strerror(err));
    return err;
  }
  r->n = 1;
  if (demo) {
    if (!(r->gw[1] = qrl_sms_sim_new(&err))) {
      qrl_log_msg(log, QRL_LOG_ERROR, "startup", "cannot start the demo SMS network: %s",
                  qrl_strerror(err));
      qrl_sms_relay_close(r);
      return err;
    }
    r->n = 2;
  }
  return QRL_OK;
}

void qrl_sms_relay_close(qrl_sms_relay *r) {
  for (size_t i = 0; i < r->n; i++) r->gw[i]->free(r->gw[i]);
  r->n = 0;
}

qrl_err qrl_sms_relay_send(qrl_sms_relay *r, qrl_db *db, const char *phone,
                           const char *code, int64_t now, qrl_sms_sent *out) {
  qrl_err rc = QRL_UNAVAILABLE;
  out->sim_id = 0;
  if (qrl_sms_otp_text("Cong Dich vu cong quoc gia", code, (r->ttl_secs + 59) / 60,
                       out->text, sizeof(out->text)))
    return QRL_INTERNAL;
  for (size_t i = 0; i < r->n; i++) {
    int64_t id = 0;
    qrl_err e = r->gw[i]->send(r->gw[i], db, phone, out->text, now, &id);
    if (e) {
      qrl_log_kv(qrl_db_log(db), QRL_LOG_WARN, "sms_failed", "gateway", r->gw[i]->name,
                 "error", qrl_strerror(e), (const char *)NULL);
      continue;
    }
    if (id) out->sim_id = id;
    rc = QRL_OK;
  }
  __atomic_add_fetch(rc ? &r->failed : &r->sent, 1, __ATOMIC_RELAXED);
  return rc;
}

void qrl_sms_relay_push(qrl_conns *conns, const char *phone, int64_t at,
                        const qrl_sms_sent *sent) {
  if (!sent->sim_id) return;
  for (size_t b = 0; b < conns->nbuckets; b++) {
    for (qrl_conn *c = conns->buckets[b]; c; c = c->hnext) {
      cJSON *o;
      if (c->kind != QRL_CONN_PHONE || strcmp(c->sms_phone, phone) != 0) continue;
      if (!(o = qrl_json_msg("sms"))) continue;
      cJSON_AddNumberToObject(o, "id", (double)sent->sim_id);
      cJSON_AddNumberToObject(o, "at", (double)at);
      cJSON_AddStringToObject(o, "text", sent->text);
      qrl_send_json(c, o);
    }
  }
}
