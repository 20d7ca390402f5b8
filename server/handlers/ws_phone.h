/*
 * ws_phone.h - the phone's websocket (subprotocol qrlogin.phone.v1).
 *
 * Turns phone requests into account work on a worker (app session checks,
 * scrypt) and challenge transitions on the loop (the store), in that order:
 *
 *   login          worker: password, device, app session
 *   status         worker: app session
 *   scan           worker: app session -> loop: level, permission, PENDING->SCANNED
 *   set_permission worker: app session, passcode (attempt-limited)
 *   confirm        worker: app session, signature -> loop: SCANNED->COMPLETED
 *                  -> worker: web session + code, app session revoked
 *                  -> loop: "completed" to the owning browser, "logout" to phone
 *   decline        worker: app session, signature -> loop: SCANNED->DECLINED
 *   logout         worker: app session revoked
 *   web_logins, revoke_web_login   worker: "Không phải tôi"
 *   sms_inbox      worker (demo only): the simulated mobile network
 *
 * Every request is validated before any work; a refusal names its error and
 * changes nothing. Not here: the browser's socket (ws_browser.h).
 */
#ifndef QRLOGIN_WS_PHONE_H
#define QRLOGIN_WS_PHONE_H

#include "glue/server.h"

/* A phone socket is closed unless a request arrives within this many seconds
 * of the socket opening or of the last one, until one of them succeeds (an
 * app session or a password shown): sockets nobody logs in on cannot be
 * hoarded by answering pings. */
#define QRL_PHONE_PROOF_SECS 20

/* Registers the phone protocol with srv. */
qrl_err qrl_phone_attach(qrl_server *srv);

#endif /* QRLOGIN_WS_PHONE_H */
