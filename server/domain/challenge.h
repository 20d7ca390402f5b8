/*
 * challenge.h - the QR login challenge and its state machine.
 *
 * A challenge is what one QR code stands for: a random id and secret, the
 * relying portal, the browser that asked for it (and the binding secret only
 * that browser holds), an expiry, and - once scanned - the account and device
 * that scanned it. The transitions are pure functions on a struct: no I/O, no
 * clock, no locking; the store (store.h) applies them atomically and tells the
 * parties. See challenge.c for the diagram and the transition table.
 *
 * Time: deadlines and the QR frame numbering run on monotonic milliseconds
 * (clock.h: `now_ms` below), so stepping the wall clock neither expires nor
 * revives a code; only created_at - shown to the phone and audited - is wall
 * time (unix seconds).
 * Depends on helpers (crypto, clock) and protocol.h.
 */
#ifndef QRLOGIN_CHALLENGE_H
#define QRLOGIN_CHALLENGE_H

#include <stdint.h>

#include "helpers/clock.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"
#include "helpers/uuid.h"

typedef enum qrl_chal_state {
  QRL_CHAL_PENDING,   /* shown as a QR, not scanned yet */
  QRL_CHAL_SCANNED,   /* scanned by one account; waiting for its confirm */
  QRL_CHAL_COMPLETED, /* confirmed: consumed (terminal) */
  QRL_CHAL_DECLINED,  /* declined on the phone (terminal) */
  QRL_CHAL_EXPIRED,   /* ttl passed (terminal) */
  QRL_CHAL_CANCELLED  /* the browser went away or asked for a new one (terminal) */
} qrl_chal_state;

/* What happens to a challenge (the events of the transition table at the top
 * of challenge.c). */
typedef enum qrl_chal_event {
  QRL_CHAL_EV_SCAN,
  QRL_CHAL_EV_CONFIRM,
  QRL_CHAL_EV_WRONG_NUMBER, /* a confirm with the wrong matching number */
  QRL_CHAL_EV_DECLINE,
  QRL_CHAL_EV_TTL,
  QRL_CHAL_EV_CANCEL
} qrl_chal_event;

/* Why a challenge ended DECLINED: the transition's event, kept on the
 * challenge so that the browser is told (the `reason` of its `declined`
 * push, protocol.h QRL_DECLINE_*). QRL_CHAL_WHY_NONE in every other state. */
typedef enum qrl_chal_why {
  QRL_CHAL_WHY_NONE,
  QRL_CHAL_WHY_CITIZEN,     /* the citizen declined on the phone */
  QRL_CHAL_WHY_WRONG_NUMBER /* a confirm with the wrong matching number (fail closed) */
} qrl_chal_why;

/* Returns the wire name of why (QRL_DECLINE_CITIZEN, ...), or NULL for
 * QRL_CHAL_WHY_NONE. */
const char *qrl_chal_why_name(qrl_chal_why why);

/* The transition table: 1 and *to set if event moves a challenge in state
 * from, else 0. */
int qrl_challenge_next(qrl_chal_state from, qrl_chal_event event, qrl_chal_state *to);

/* 1 if some event moves from -> to (or from == to), else 0. */
int qrl_challenge_allowed(qrl_chal_state from, qrl_chal_state to);

/* Returns a lowercase name for state ("pending"); never NULL. */
const char *qrl_chal_state_name(qrl_chal_state state);

/* Returns 1 if state is terminal (no transition leaves it), else 0. */
int qrl_chal_state_terminal(qrl_chal_state state);

/* A challenge. Plain data: copy it freely. */
typedef struct qrl_challenge {
  char id[QRL_TOKEN_B64LEN + 1];      /* public, in the QR */
  char secret[QRL_TOKEN_B64LEN + 1];  /* server only: keys the frame HMAC */
  char binding[QRL_TOKEN_B64LEN + 1]; /* the browser's only; never in the QR */
  char flow[QRL_UUID_STRLEN + 1];     /* audit correlation id (not secret) */
  char portal_name[96];
  char portal_origin[128];
  char browser_ip[48];
  char browser_ua[160];
  char oidc_req[24];     /* the /oauth2/authorize request its page serves (the
                            page socket's "?oidc="), "" for none: the phone
                            names that portal, on whichever node it scans */
  int64_t created_at;    /* wall clock, unix seconds: for people and audit */
  int64_t created_ms;    /* monotonic ms: frame 0 starts here */
  int64_t expires_ms;    /* monotonic ms: live until (excluded) */
  int64_t frame_secs;    /* the QR animation step (seconds) */
  uint64_t browser_conn; /* the owning browser socket (glue's connection id) */
  qrl_chal_state state;
  qrl_chal_why why; /* set by the move to DECLINED, else QRL_CHAL_WHY_NONE */
  /* set by scan: */
  char citizen_id[QRL_CITIZEN_ID_LEN + 1];
  int64_t device_id;
  uint64_t phone_conn;
  int64_t scanned_ms;   /* monotonic ms of the first scan */
  qrl_qr_payload scanned;           /* the frame the phone scanned (signed) */
  int match;                        /* the number the browser shows, 10..99 */
  int far;                          /* the phone scanned from another network */
  int kiosk;                        /* shown on a kiosk (a shared machine) */
  int choices[QRL_MATCH_CHOICES];   /* what the phone offers, match among them */
} qrl_challenge;

/* Frames older than this many steps are stale at scan (the current frame and
 * the one before it are accepted: the camera and the network take time). */
#define QRL_FRAME_WINDOW 1

/* Makes a new PENDING challenge with fresh random id, secret and binding
 * (128 bits each, CSPRNG) and a new flow id (UUID v4), created at now
 * (created_at = now.wall; frames and the expiry count from now.mono_ms) and
 * live for ttl seconds. Strings are copied (truncated to fit); NULL means
 * empty. Returns QRL_OK or QRL_CRYPTO. */
qrl_err qrl_challenge_init(qrl_challenge *c, const char *portal_name,
                           const char *portal_origin, const char *browser_ip,
                           const char *browser_ua, uint64_t browser_conn,
                           qrl_instant now, int64_t ttl, int64_t frame_secs);

/* The QR frame of c at monotonic now_ms: number (whole frame_secs steps since
 * created_ms) and code (an HMAC under the secret, see protocol.h). Returns
 * QRL_OK, or QRL_CRYPTO with an empty code if the HMAC failed. */
qrl_err qrl_challenge_frame(const qrl_challenge *c, int64_t now_ms, qrl_qr_payload *out);

/* What drawing a challenge's frames needs and no more, so that the page's
 * socket can draw each frame with one HMAC and no store lookup. It holds the
 * frame secret: the holder wipes it (qrl_cleanse) when done. */
typedef struct qrl_frames {
  char id[QRL_TOKEN_B64LEN + 1];
  char secret[QRL_TOKEN_B64LEN + 1];
  int64_t created_ms, expires_ms, frame_secs;
} qrl_frames;

/* Copies c's frame clock and key into out. */
void qrl_frames_of(const qrl_challenge *c, qrl_frames *out);
/* The frame at monotonic now_ms, as qrl_challenge_frame(). */
qrl_err qrl_frames_at(const qrl_frames *f, int64_t now_ms, qrl_qr_payload *out);
/* When frame number frame begins (monotonic ms). */
int64_t qrl_frames_start(const qrl_frames *f, int64_t frame);

/* The error a request on a challenge in a terminal state gets
 * (QRL_CHALLENGE_USED for COMPLETED, ...). QRL_OK for live states. */
qrl_err qrl_challenge_state_error(qrl_chal_state state);

/* PENDING -> SCANNED by citizen_id on device_id, with frame qr: its code
 * must be this challenge's for that frame (compared in constant time) and
 * the frame fresh. The first scan draws the match number and the choices.
 * A rescan by the same account and device records the newer frame. Errors
 * (state unchanged): QRL_CHALLENGE_UNKNOWN for a wrong code (as if the id
 * were unknown), QRL_FRAME_STALE, QRL_BAD_QR (a future frame),
 * QRL_CHALLENGE_EXPIRED if now_ms >= expires_ms, QRL_CHALLENGE_OTHER_ACCOUNT
 * if another account or device scanned it, QRL_CRYPTO if the HMAC failed, the
 * terminal state's error. now_ms is monotonic. */
qrl_err qrl_challenge_scan(qrl_challenge *c, const qrl_qr_payload *qr,
                           const char *citizen_id, int64_t device_id,
                           uint64_t phone_conn, int64_t now_ms);

/* qrl_challenge_scan with the frame's freshness judged at seen_ms instead of
 * now_ms: seen_ms is when the server itself first saw this phone present
 * this very frame (a scan held while the citizen granted the web-login
 * permission, handlers/phone_qr.c), never a time the phone claims. Expiry is
 * still judged at now_ms. QRL_INVAL if seen_ms > now_ms. */
qrl_err qrl_challenge_scan_seen(qrl_challenge *c, const qrl_qr_payload *qr,
                                const char *citizen_id, int64_t device_id,
                                uint64_t phone_conn, int64_t seen_ms, int64_t now_ms);

/* Gives the citizen time on the phone: a live challenge's expiry moves to
 * until_ms if that is later (never earlier; a terminal state is left as it
 * is). Returns 1 if it moved. The caller tells the page (its countdown). */
int qrl_challenge_extend(qrl_challenge *c, int64_t until_ms);

/* A scan that cannot go on yet because the account's web-login permission
 * is off, while the citizen grants it (three confirmations and the
 * passcode: minutes at human speed): if qr would scan now (the same checks
 * as qrl_challenge_scan, nothing recorded), a PENDING challenge lives until
 * at least now_ms + grace_ms. QRL_OK, or the scan's error (unchanged). */
qrl_err qrl_challenge_hold(qrl_challenge *c, const qrl_qr_payload *qr,
                           const char *citizen_id, int64_t device_id, int64_t now_ms,
                           int64_t grace_ms);

/* SCANNED -> COMPLETED (confirm, with number == the match) or -> DECLINED
 * (decline; why = QRL_CHAL_WHY_CITIZEN), by the account and device that
 * scanned. The signature is checked by the caller first. A confirm with the
 * wrong number fails closed: -> DECLINED (why = QRL_CHAL_WHY_WRONG_NUMBER)
 * and QRL_WRONG_NUMBER (the user cannot see the page: a relay).
 * Other errors (state unchanged): QRL_CHALLENGE_NOT_SCANNED,
 * QRL_CHALLENGE_OTHER_ACCOUNT, QRL_CHALLENGE_EXPIRED, the terminal state's.
 * now_ms is monotonic. */
qrl_err qrl_challenge_decide(qrl_challenge *c, const char *citizen_id,
                             int64_t device_id, qrl_decision decision, int number,
                             int64_t now_ms);

/* PENDING or SCANNED -> EXPIRED if monotonic now_ms >= expires_ms. Returns 1
 * if it expired now, else 0. */
int qrl_challenge_expire(qrl_challenge *c, int64_t now_ms);

/* Any live state -> CANCELLED. Returns 1 if it changed, else 0. */
int qrl_challenge_cancel(qrl_challenge *c);

/* The invariants of c's state: secrets set, expiry after creation; PENDING
 * has no scanner; SCANNED, COMPLETED and DECLINED have an account, a device
 * and a match number among the choices; DECLINED, and only DECLINED, has a
 * why; ... QRL_OK, or QRL_INTERNAL if c breaks one (the store refuses such a
 * change). */
qrl_err qrl_challenge_check(const qrl_challenge *c);

#endif /* QRLOGIN_CHALLENGE_H */
