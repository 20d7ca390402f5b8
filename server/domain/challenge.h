/*
 * challenge.h - the QR login challenge and its state machine.
 *
 * A challenge is what one QR code stands for: a random id and secret, the
 * relying portal, the browser that asked for it (and the binding secret only
 * that browser holds), an expiry, and - once scanned - the account and device
 * that scanned it. The transitions are pure functions on a struct: no I/O, no
 * clock, no locking; the store (store.h) applies them atomically and tells the
 * parties. See challenge.c for the diagram and the transition table.
 * Depends on helpers (crypto) and protocol.h.
 */
#ifndef QRLOGIN_CHALLENGE_H
#define QRLOGIN_CHALLENGE_H

#include <stdint.h>

#include "qrlogin/error.h"
#include "qrlogin/protocol.h"
#include "uuid.h"

typedef enum qrl_chal_state {
  QRL_CHAL_PENDING,   /* shown as a QR, not scanned yet */
  QRL_CHAL_SCANNED,   /* scanned by one account; waiting for its confirm */
  QRL_CHAL_COMPLETED, /* confirmed: consumed (terminal) */
  QRL_CHAL_DECLINED,  /* declined on the phone (terminal) */
  QRL_CHAL_EXPIRED,   /* ttl passed (terminal) */
  QRL_CHAL_CANCELLED  /* the browser went away or asked for a new one (terminal) */
} qrl_chal_state;

/* Returns a lowercase name for state ("pending"); never NULL. */
const char *qrl_chal_state_name(qrl_chal_state state);

/* Returns 1 if state is terminal (no transition leaves it), else 0. */
int qrl_chal_state_terminal(qrl_chal_state state);

/* A challenge. Plain data: copy it freely. */
typedef struct qrl_challenge {
  char id[QRL_TOKEN_B64LEN + 1];      /* public, in the QR */
  char secret[QRL_TOKEN_B64LEN + 1];  /* in the QR; signed by the phone */
  char binding[QRL_TOKEN_B64LEN + 1]; /* the browser's only; never in the QR */
  char flow[QRL_UUID_STRLEN + 1];     /* audit correlation id (not secret) */
  char portal_name[96];
  char portal_origin[128];
  char browser_ip[48];
  char browser_ua[160];
  int64_t created_at;
  int64_t expires_at;
  uint64_t browser_conn; /* the owning browser socket (glue's connection id) */
  qrl_chal_state state;
  /* set by scan: */
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  int64_t device_id;
  uint64_t phone_conn;
  int64_t scanned_at;
} qrl_challenge;

/* Makes a new PENDING challenge with fresh random id, secret and binding
 * (128 bits each, CSPRNG) and a new flow id (UUID v4). Strings are copied (truncated to fit); NULL means
 * empty. Returns QRL_OK or QRL_CRYPTO. */
qrl_err qrl_challenge_init(qrl_challenge *c, const char *portal_name,
                           const char *portal_origin, const char *browser_ip,
                           const char *browser_ua, uint64_t browser_conn,
                           int64_t now, int64_t ttl);

/* The error a request on a challenge in a terminal state gets
 * (QRL_CHALLENGE_USED for COMPLETED, ...). QRL_OK for live states. */
qrl_err qrl_challenge_state_error(qrl_chal_state state);

/* PENDING -> SCANNED by citizen_id on device_id. A rescan by the same account
 * and device is allowed and changes nothing. Errors (state unchanged):
 * QRL_CHALLENGE_EXPIRED if now >= expires_at, QRL_CHALLENGE_OTHER_ACCOUNT if
 * another account or device scanned it, the terminal state's error. */
qrl_err qrl_challenge_scan(qrl_challenge *c, const char *citizen_id,
                           int64_t device_id, uint64_t phone_conn, int64_t now);

/* SCANNED -> COMPLETED (confirm) or -> DECLINED (decline), by the account and
 * device that scanned. The signature is checked by the caller first. Errors
 * (state unchanged): QRL_CHALLENGE_NOT_SCANNED, QRL_CHALLENGE_OTHER_ACCOUNT,
 * QRL_CHALLENGE_EXPIRED, the terminal state's error. */
qrl_err qrl_challenge_decide(qrl_challenge *c, const char *citizen_id,
                             int64_t device_id, qrl_decision decision,
                             int64_t now);

/* PENDING or SCANNED -> EXPIRED if now >= expires_at. Returns 1 if it expired
 * now, else 0. */
int qrl_challenge_expire(qrl_challenge *c, int64_t now);

/* Any live state -> CANCELLED. Returns 1 if it changed, else 0. */
int qrl_challenge_cancel(qrl_challenge *c);

#endif /* QRLOGIN_CHALLENGE_H */
