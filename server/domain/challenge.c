/*
 * challenge.c - the QR login challenge state machine.
 *
 * Pure transitions on a qrl_challenge: no I/O, no clock, no locks (times are
 * passed in: monotonic ms for deadlines and frames, wall seconds only for
 * created_at). The store
 * runs them atomically and publishes the resulting events; the glue turns
 * phone requests into calls here. Signature checks happen before decide().
 *
 *   PENDING ──scan──► SCANNED ──confirm──► COMPLETED (consumed)
 *      │                 │  └───decline──► DECLINED
 *      └──────ttl──────► EXPIRED ◄──ttl────┘
 *   PENDING/SCANNED ──browser gone / new code──► CANCELLED
 *
 * Every state change goes through move() below, which looks it up in
 * transitions[]: the one table of this machine (docs point here). A move to
 * DECLINED also records why (the table's last column: the citizen said no,
 * or picked the wrong number), which the browser is told. After
 * every change the store runs qrl_challenge_check(), the invariants of each
 * state (as sqlite's assert_pager_state() does for its pager), and refuses a
 * change that breaks them.
 */
#include "domain/challenge.h"

#include <stdio.h>
#include <string.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

/* The state machine. (from, event) -> (to, why); a pair not listed is
 * refused with the state's own error and changes nothing. why is
 * QRL_CHAL_WHY_NONE except on the moves to DECLINED.
 *
 *   from     event          to         made by                refusals (state unchanged)
 */
static const struct transition {
  qrl_chal_state from;
  qrl_chal_event event;
  qrl_chal_state to;
  qrl_chal_why why;
} transitions[] = {
    /* qrl_challenge_scan: the frame's code and freshness, then:   UNKNOWN (bad code),
     * FRAME_STALE, BAD_QR (future frame), EXPIRED (past ttl)          */
    {QRL_CHAL_PENDING, QRL_CHAL_EV_SCAN, QRL_CHAL_SCANNED, QRL_CHAL_WHY_NONE},
    /* a rescan by the same phone records the newer frame:        OTHER_ACCOUNT */
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_SCAN, QRL_CHAL_SCANNED, QRL_CHAL_WHY_NONE},
    /* qrl_challenge_decide (PENDING: NOT_SCANNED):               OTHER_ACCOUNT, EXPIRED */
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_CONFIRM, QRL_CHAL_COMPLETED, QRL_CHAL_WHY_NONE},
    /* a confirm with the wrong number fails closed (WRONG_NUMBER) */
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_WRONG_NUMBER, QRL_CHAL_DECLINED, QRL_CHAL_WHY_WRONG_NUMBER},
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_DECLINE, QRL_CHAL_DECLINED, QRL_CHAL_WHY_CITIZEN},
    /* qrl_challenge_expire: the ttl, counted on the monotonic clock */
    {QRL_CHAL_PENDING, QRL_CHAL_EV_TTL, QRL_CHAL_EXPIRED, QRL_CHAL_WHY_NONE},
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_TTL, QRL_CHAL_EXPIRED, QRL_CHAL_WHY_NONE},
    /* qrl_challenge_cancel: the browser left or asked for a new code */
    {QRL_CHAL_PENDING, QRL_CHAL_EV_CANCEL, QRL_CHAL_CANCELLED, QRL_CHAL_WHY_NONE},
    {QRL_CHAL_SCANNED, QRL_CHAL_EV_CANCEL, QRL_CHAL_CANCELLED, QRL_CHAL_WHY_NONE},
    /* COMPLETED, DECLINED, EXPIRED, CANCELLED are terminal: nothing leaves them
     * (USED, DECLINED, EXPIRED, CANCELLED to every request). */
};

/* The row of (from, event), or NULL. */
static const struct transition *row_of(qrl_chal_state from, qrl_chal_event event) {
  for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
    if (transitions[i].from == from && transitions[i].event == event) return &transitions[i];
  return NULL;
}

int qrl_challenge_next(qrl_chal_state from, qrl_chal_event event, qrl_chal_state *to) {
  const struct transition *t = row_of(from, event);
  if (!t) return 0;
  *to = t->to;
  return 1;
}

int qrl_challenge_allowed(qrl_chal_state from, qrl_chal_state to) {
  if (from == to) return 1;
  for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
    if (transitions[i].from == from && transitions[i].to == to) return 1;
  return 0;
}

/* Makes the move (from, event) of the table. 0, or -1 if the table has no
 * such row (then nothing changes): the functions below check first, so this
 * is the table holding them to it. */
static int move(qrl_challenge *c, qrl_chal_event event) {
  const struct transition *t = row_of(c->state, event);
  if (!t) return -1;
  c->state = t->to;
  c->why = t->why;
  return 0;
}

qrl_err qrl_challenge_check(const qrl_challenge *c) {
  int scanned = c->citizen_id[0] != '\0';
  if (!c->id[0] || !c->secret[0] || !c->binding[0]) return QRL_INTERNAL;
  if (c->frame_secs < 1 || c->expires_ms < c->created_ms) return QRL_INTERNAL;
  /* A declined challenge says why; no other state has a why. */
  if ((c->state == QRL_CHAL_DECLINED) != (qrl_chal_why_name(c->why) != NULL))
    return QRL_INTERNAL;
  switch (c->state) {
  case QRL_CHAL_PENDING: /* nobody has scanned it */
    if (scanned || c->device_id || c->match || c->scanned_ms) return QRL_INTERNAL;
    return QRL_OK;
  case QRL_CHAL_SCANNED: /* an account, a device, a number among the choices */
  case QRL_CHAL_COMPLETED:
  case QRL_CHAL_DECLINED: {
    int offered = 0;
    if (!scanned || c->device_id <= 0 || c->scanned_ms < c->created_ms) return QRL_INTERNAL;
    if (strcmp(c->scanned.id, c->id) != 0) return QRL_INTERNAL;
    for (int i = 0; i < QRL_MATCH_CHOICES; i++) offered |= c->choices[i] == c->match;
    if (c->match < 10 || c->match > 99 || !offered) return QRL_INTERNAL;
    return QRL_OK;
  }
  case QRL_CHAL_EXPIRED: /* from either live state */
  case QRL_CHAL_CANCELLED:
    if (scanned && c->device_id <= 0) return QRL_INTERNAL;
    return QRL_OK;
  }
  return QRL_INTERNAL;
}

const char *qrl_chal_state_name(qrl_chal_state state) {
  switch (state) {
  case QRL_CHAL_PENDING: return "pending";
  case QRL_CHAL_SCANNED: return "scanned";
  case QRL_CHAL_COMPLETED: return "completed";
  case QRL_CHAL_DECLINED: return "declined";
  case QRL_CHAL_EXPIRED: return "expired";
  case QRL_CHAL_CANCELLED: return "cancelled";
  }
  return "unknown";
}

const char *qrl_chal_why_name(qrl_chal_why why) {
  switch (why) {
  case QRL_CHAL_WHY_NONE: return NULL;
  case QRL_CHAL_WHY_CITIZEN: return QRL_DECLINE_CITIZEN;
  case QRL_CHAL_WHY_WRONG_NUMBER: return QRL_DECLINE_WRONG_NUMBER;
  }
  return NULL;
}

int qrl_chal_state_terminal(qrl_chal_state state) {
  return state != QRL_CHAL_PENDING && state != QRL_CHAL_SCANNED;
}

qrl_err qrl_challenge_state_error(qrl_chal_state state) {
  switch (state) {
  case QRL_CHAL_PENDING:
  case QRL_CHAL_SCANNED: return QRL_OK;
  case QRL_CHAL_COMPLETED: return QRL_CHALLENGE_USED;
  case QRL_CHAL_DECLINED: return QRL_CHALLENGE_DECLINED;
  case QRL_CHAL_EXPIRED: return QRL_CHALLENGE_EXPIRED;
  case QRL_CHAL_CANCELLED: return QRL_CHALLENGE_CANCELLED;
  }
  return QRL_INTERNAL;
}

qrl_err qrl_challenge_init(qrl_challenge *c, const char *portal_name,
                           const char *portal_origin, const char *browser_ip,
                           const char *browser_ua, uint64_t browser_conn,
                           qrl_instant now, int64_t ttl, int64_t frame_secs) {
  qrl_err rc;

  memset(c, 0, sizeof(*c));
  rc = qrl_random_token(QRL_TOKEN_BYTES, c->id, sizeof(c->id));
  if (rc) goto out;
  rc = qrl_random_token(QRL_TOKEN_BYTES, c->secret, sizeof(c->secret));
  if (rc) goto out;
  rc = qrl_random_token(QRL_TOKEN_BYTES, c->binding, sizeof(c->binding));
  if (rc) goto out;
  rc = qrl_uuid_v4(c->flow);
  if (rc) goto out;
  copy_str(c->portal_name, sizeof(c->portal_name), portal_name);
  copy_str(c->portal_origin, sizeof(c->portal_origin), portal_origin);
  copy_str(c->browser_ip, sizeof(c->browser_ip), browser_ip);
  copy_str(c->browser_ua, sizeof(c->browser_ua), browser_ua);
  c->browser_conn = browser_conn;
  c->created_at = now.wall;
  c->created_ms = now.mono_ms;
  c->expires_ms = now.mono_ms + ttl * 1000;
  c->frame_secs = frame_secs > 0 ? frame_secs : 1;
  c->state = QRL_CHAL_PENDING;
out:
  if (rc) memset(c, 0, sizeof(*c));
  return rc;
}

/* Is the scanner (citizen_id, device_id) the one recorded on c? */
static int same_scanner(const qrl_challenge *c, const char *citizen_id,
                        int64_t device_id) {
  return strcmp(c->citizen_id, citizen_id) == 0 && c->device_id == device_id;
}

/* The frame shown at monotonic now_ms: whole steps since creation. The
 * wire carries only this number; the phone never computes it. */
static int64_t frame_now(const qrl_frames *f, int64_t now_ms) {
  return now_ms <= f->created_ms ? 0 : (now_ms - f->created_ms) / (f->frame_secs * 1000);
}

static qrl_err frame_code(const qrl_frames *f, int64_t frame,
                          char out[QRL_FRAME_CODE_B64LEN + 1]) {
  uint8_t mac[QRL_SHA256_LEN];
  char msg[64];
  int n = snprintf(msg, sizeof(msg), "qrlogin.frame.v2\n%s\n%lld", f->id, (long long)frame);
  qrl_err rc = QRL_CRYPTO;

  out[0] = '\0';
  if (n < 0 || (size_t)n >= sizeof(msg)) goto out;
  /* A failed HMAC is never a code: no frame is drawn or accepted. */
  if (qrl_hmac_sha256((const uint8_t *)f->secret, strlen(f->secret), msg, (size_t)n, mac))
    goto out;
  if (qrl_b64url_encode(mac, QRL_FRAME_CODE_BYTES, out, QRL_FRAME_CODE_B64LEN + 1) !=
      QRL_FRAME_CODE_B64LEN)
    goto out;
  rc = QRL_OK;
out:
  if (rc) out[0] = '\0';
  qrl_cleanse(mac, sizeof(mac));
  return rc;
}

void qrl_frames_of(const qrl_challenge *c, qrl_frames *out) {
  memcpy(out->id, c->id, sizeof(out->id));
  memcpy(out->secret, c->secret, sizeof(out->secret));
  out->created_ms = c->created_ms;
  out->expires_ms = c->expires_ms;
  out->frame_secs = c->frame_secs;
}

qrl_err qrl_frames_at(const qrl_frames *f, int64_t now_ms, qrl_qr_payload *out) {
  memcpy(out->id, f->id, sizeof(out->id));
  out->frame = frame_now(f, now_ms);
  if (out->frame > QRL_FRAME_MAX) out->frame = QRL_FRAME_MAX;
  return frame_code(f, out->frame, out->code);
}

int64_t qrl_frames_start(const qrl_frames *f, int64_t frame) {
  return f->created_ms + frame * f->frame_secs * 1000;
}

qrl_err qrl_challenge_frame(const qrl_challenge *c, int64_t now_ms, qrl_qr_payload *out) {
  qrl_frames f;
  qrl_err rc;
  qrl_frames_of(c, &f);
  rc = qrl_frames_at(&f, now_ms, out);
  qrl_cleanse(&f, sizeof(f));
  return rc;
}

/* A 2-digit number and two different decoys, in a random order. */
static qrl_err draw_numbers(qrl_challenge *c) {
  uint8_t r[8];
  int n = 0, k;
  if (qrl_random(r, sizeof(r))) return QRL_CRYPTO;
  for (k = 0; n < QRL_MATCH_CHOICES && k < (int)sizeof(r); k++) {
    int v = 10 + r[k] % 90, dup = 0;
    for (int j = 0; j < n; j++) dup |= c->choices[j] == v;
    if (!dup) c->choices[n++] = v;
  }
  while (n < QRL_MATCH_CHOICES) c->choices[n] = 10 + (c->choices[n - 1] + 7) % 90, n++;
  c->match = c->choices[r[7] % QRL_MATCH_CHOICES];
  return QRL_OK;
}

/* Records the scanned frame field by field (no stray padding bytes: the
 * challenge is compared and copied whole). */
static void keep_frame(qrl_challenge *c, const qrl_qr_payload *qr) {
  memcpy(c->scanned.id, qr->id, sizeof(c->scanned.id));
  c->scanned.frame = qr->frame;
  memcpy(c->scanned.code, qr->code, sizeof(c->scanned.code));
}

qrl_err qrl_challenge_scan(qrl_challenge *c, const qrl_qr_payload *qr,
                           const char *citizen_id, int64_t device_id,
                           uint64_t phone_conn, int64_t now_ms) {
  return qrl_challenge_scan_seen(c, qr, citizen_id, device_id, phone_conn, now_ms, now_ms);
}

qrl_err qrl_challenge_scan_seen(qrl_challenge *c, const qrl_qr_payload *qr,
                                const char *citizen_id, int64_t device_id,
                                uint64_t phone_conn, int64_t seen_ms, int64_t now_ms) {
  char want[QRL_FRAME_CODE_B64LEN + 1];
  qrl_frames f;
  int64_t cur;
  qrl_err rc = qrl_challenge_state_error(c->state);

  if (rc) return rc;
  if (seen_ms > now_ms) return QRL_INVAL;
  if (strcmp(qr->id, c->id) != 0) return QRL_CHALLENGE_UNKNOWN;
  /* Nothing is seen before the code was made: another node's clock (a
   * shared store) may run a few ms behind the one that made it. */
  if (seen_ms < c->created_ms) seen_ms = c->created_ms;
  if (now_ms < c->created_ms) now_ms = c->created_ms;
  qrl_frames_of(c, &f);
  rc = frame_code(&f, qr->frame, want);
  cur = frame_now(&f, seen_ms); /* the frame on the page when it was seen */
  qrl_cleanse(&f, sizeof(f));
  if (rc) return QRL_CRYPTO;
  if (!qrl_ct_equal(want, qr->code, QRL_FRAME_CODE_B64LEN)) return QRL_CHALLENGE_UNKNOWN;
  if (now_ms >= c->expires_ms) return QRL_CHALLENGE_EXPIRED;
  if (qr->frame > cur) return QRL_BAD_QR;
  if (cur - qr->frame > QRL_FRAME_WINDOW) return QRL_FRAME_STALE;
  if (c->state == QRL_CHAL_SCANNED) {
    if (!same_scanner(c, citizen_id, device_id))
      return QRL_CHALLENGE_OTHER_ACCOUNT;
    c->phone_conn = phone_conn; /* the same phone, maybe a new socket */
    keep_frame(c, qr);
    return move(c, QRL_CHAL_EV_SCAN) ? QRL_INTERNAL : QRL_OK;
  }
  if ((rc = draw_numbers(c))) return rc;
  copy_str(c->citizen_id, sizeof(c->citizen_id), citizen_id);
  c->device_id = device_id;
  c->phone_conn = phone_conn;
  c->scanned_ms = now_ms;
  keep_frame(c, qr);
  return move(c, QRL_CHAL_EV_SCAN) ? QRL_INTERNAL : QRL_OK;
}

int qrl_challenge_extend(qrl_challenge *c, int64_t until_ms) {
  if (qrl_challenge_state_error(c->state) || until_ms <= c->expires_ms) return 0;
  c->expires_ms = until_ms;
  return 1;
}

qrl_err qrl_challenge_hold(qrl_challenge *c, const qrl_qr_payload *qr,
                           const char *citizen_id, int64_t device_id, int64_t now_ms,
                           int64_t grace_ms) {
  qrl_challenge probe = *c;
  qrl_err rc = qrl_challenge_scan(&probe, qr, citizen_id, device_id, 0, now_ms);

  qrl_cleanse(&probe, sizeof(probe));
  if (rc) return rc;
  if (c->state == QRL_CHAL_PENDING && grace_ms > 0) qrl_challenge_extend(c, now_ms + grace_ms);
  return QRL_OK;
}

qrl_err qrl_challenge_decide(qrl_challenge *c, const char *citizen_id,
                             int64_t device_id, qrl_decision decision, int number,
                             int64_t now_ms) {
  qrl_err rc = qrl_challenge_state_error(c->state);

  if (rc) return rc;
  if (c->state == QRL_CHAL_PENDING) return QRL_CHALLENGE_NOT_SCANNED;
  if (!same_scanner(c, citizen_id, device_id)) return QRL_CHALLENGE_OTHER_ACCOUNT;
  if (now_ms >= c->expires_ms) return QRL_CHALLENGE_EXPIRED;
  if (decision == QRL_DECISION_CONFIRM && number != c->match)
    return move(c, QRL_CHAL_EV_WRONG_NUMBER) ? QRL_INTERNAL : QRL_WRONG_NUMBER;
  return move(c, decision == QRL_DECISION_CONFIRM ? QRL_CHAL_EV_CONFIRM : QRL_CHAL_EV_DECLINE)
             ? QRL_INTERNAL
             : QRL_OK;
}

int qrl_challenge_expire(qrl_challenge *c, int64_t now_ms) {
  if (now_ms < c->expires_ms) return 0;
  return move(c, QRL_CHAL_EV_TTL) == 0;
}

int qrl_challenge_cancel(qrl_challenge *c) {
  return move(c, QRL_CHAL_EV_CANCEL) == 0;
}
