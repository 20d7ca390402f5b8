/*
 * sms.h - sending SMS through a gateway, and the demo mobile network.
 *
 * qrl_sms_gateway is the interface a provider implements: send() is called
 * on a worker thread (it may block on I/O) and must be thread-safe. Two
 * implementations ship:
 *  - the outbox: every message appended as one JSON line to a file (mode
 *    0600; it holds one-time codes: a development and audit artifact, the
 *    place a provider hand-off would be wired in);
 *  - the demo network (--demo): messages kept in the database table sms_sim,
 *    read by `vneid-sim inbox` over the phone protocol (the glue pushes new
 *    ones to a subscribed simulator).
 * A real provider (HTTP API of a telco) would be one more implementation.
 * Depends on db.h (the demo network) and libc.
 */
#ifndef QRLOGIN_SMS_H
#define QRLOGIN_SMS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/db.h"

typedef struct qrl_sms_gateway qrl_sms_gateway;
struct qrl_sms_gateway {
  const char *name;
  /* Sends text to phone. db is the calling worker's connection (for
   * gateways that keep messages in the database). *id, if not NULL, gets the
   * gateway's message id (0 if it has none). */
  qrl_err (*send)(qrl_sms_gateway *gw, qrl_db *db, const char *phone,
                  const char *text, int64_t now, int64_t *id);
  void (*free)(qrl_sms_gateway *gw);
};

/* The outbox file gateway: appends {"at":…,"to":…,"text":…} lines to path
 * (created 0600 if absent). NULL and *err on failure (QRL_IO, QRL_NOMEM). */
qrl_sms_gateway *qrl_sms_outbox_new(const char *path, qrl_err *err);

/* The demo mobile network gateway (stores in sms_sim). */
qrl_sms_gateway *qrl_sms_sim_new(qrl_err *err);

/* A message of the demo network. */
typedef struct qrl_sms {
  int64_t id;
  int64_t at;
  char text[321];
} qrl_sms;

/* The newest (at most cap) messages to phone with id > after, oldest first. */
qrl_err qrl_sms_sim_inbox(qrl_db *db, const char *phone, int64_t after,
                          qrl_sms *out, size_t cap, size_t *n);

/* Returns 1 if s is a Vietnamese mobile number as stored: 10 digits, 0 first. */
int qrl_phone_valid(const char *s);

/* Writes the masked form of phone ("09******78") to out (16 bytes). */
void qrl_phone_mask(const char *phone, char out[16]);

/* Writes the OTP message for portal_name to out. Returns QRL_OK or
 * QRL_NOMEM if out is too small. */
qrl_err qrl_sms_otp_text(const char *portal_name, const char *otp, int minutes,
                         char *out, size_t outlen);

#endif /* QRLOGIN_SMS_H */
