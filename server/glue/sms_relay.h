/*
 * sms_relay.h - one-time codes out to the citizen's phone: through every
 * configured gateway (the outbox file; in demo mode also the simulated
 * mobile network), and the demo network's messages pushed to the
 * simulators listening for that number.
 * Not here: the gateways themselves (domain/sms.h), the codes (otp.h).
 */
#ifndef QRLOGIN_SMS_RELAY_H
#define QRLOGIN_SMS_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "glue/conn.h"
#include "domain/db.h"
#include "domain/sms.h"

#define QRL_SMS_TEXT_MAX 321

typedef struct qrl_sms_relay {
  qrl_sms_gateway *gw[2]; /* owned */
  size_t n;
  int ttl_secs;           /* a code's life, said in the text */
  uint64_t sent, failed;  /* texts some gateway took / none took (atomic:
                             workers send) */
} qrl_sms_relay;

/* One SMS as sent: its text and the demo network's message id (0 if none). */
typedef struct qrl_sms_sent {
  char text[QRL_SMS_TEXT_MAX];
  int64_t sim_id;
} qrl_sms_sent;

/* Opens the outbox at outbox_path and, with demo, the simulated network.
 * Returns QRL_OK, or an error (said on stderr) with nothing left open. */
struct qrl_log;
/* Opens the gateways: the outbox file, and with demo the simulated network.
 * A problem is said in log. */
qrl_err qrl_sms_relay_open(qrl_sms_relay *r, const char *outbox_path, int demo,
                           int ttl_secs, struct qrl_log *log);
void qrl_sms_relay_close(qrl_sms_relay *r);

/* Worker thread: sends code to phone through every gateway. QRL_OK if at
 * least one took it (a failing gateway is logged); fills *out. */
qrl_err qrl_sms_relay_send(qrl_sms_relay *r, qrl_db *db, const char *phone,
                           const char *code, int64_t now, qrl_sms_sent *out);

/* Loop thread: pushes a demo-network message to every phone socket that
 * listens for phone (sms_inbox). Nothing if sent has no sim_id. */
void qrl_sms_relay_push(qrl_conns *conns, const char *phone, int64_t at,
                        const qrl_sms_sent *sent);

#endif /* QRLOGIN_SMS_RELAY_H */
