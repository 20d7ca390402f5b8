/*
 * phone.h - what the phone's request handlers share (ws_phone.c: the socket,
 * the message table, the account requests; phone_qr.c: the QR login).
 * Private to server/handlers.
 *
 * A message type is one row of the table in ws_phone.c: its name and its
 * prep function, which checks the request's shape (bad_message, bad_qr, ...)
 * before anything else - so a malformed request is named as such whoever
 * sends it - and returns a task ready to submit (with its throttle hold
 * filled, if it has one).
 */
#ifndef QRLOGIN_PHONE_H
#define QRLOGIN_PHONE_H

#include <cjson/cJSON.h>

#include "domain/accounts.h"
#include "glue/conn.h"
#include "glue/server.h"
#include "glue/task.h"

/* Makes the task for msg from c. QRL_OK with *out set, or the error to
 * answer (nothing allocated). */
typedef qrl_err (*qrl_phone_prep)(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                                  qrl_task **out);

/* Copies the request's app session token ("session") into out. */
qrl_err qrl_phone_session(const cJSON *msg, char out[QRL_SESSION_B64LEN + 1]);

/* Sends {type, [session], account} to c. */
void qrl_phone_reply_account(qrl_conn *c, const char *type, const qrl_citizen *who,
                             const char *session);

/* phone_qr.c: scan, set_permission, confirm, decline. */
qrl_err qrl_phone_prep_scan(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                            qrl_task **out);
qrl_err qrl_phone_prep_setperm(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out);
qrl_err qrl_phone_prep_confirm(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out);
qrl_err qrl_phone_prep_decline(qrl_services *sv, qrl_conn *c, const cJSON *msg,
                               qrl_task **out);

#endif /* QRLOGIN_PHONE_H */
