/*
 * ws_browser.c - the browser's websocket (ws_browser.h).
 */
#include "handlers/ws_browser.h"

#include <stdlib.h>
#include <string.h>

#include "glue/audit.h"
#include "domain/challenge.h"
#include "domain/websession.h"
#include "handlers/http.h"
#include "helpers/cookie.h"
#include "helpers/clock.h"
#include "glue/config.h"
#include "helpers/crypto.h"
#include "glue/jsonio.h"
#include "glue/origin.h"
#include "glue/reply.h"
#include "handlers/ws_common.h"
#include "glue/rules.h"
#include "glue/task.h"
#include "domain/store.h"
#include "glue/metrics.h"

/* The browser protocol's own state: when each page's next frame is due. */
typedef struct browser_state {
  qrl_services *sv;
  qrl_wheel frames; /* one node per page with a code waiting for its scan */
  int64_t now_ms;   /* the monotonic time of the wheel's current advance */
  int draining;     /* the node is stopping: no new codes */
} browser_state;

#define FRAME_SLOT_MS 10   /* frame times are kept to 10 ms ... */
#define FRAME_SLOTS 1024   /* ... on a wheel of 10 s (longer periods wait a turn) */
#define BROWSER_RX_BUFFER 128  /* lws reads a page's frames in pieces of this */
#define BROWSER_TX_PACKET 16384 /* ... and writes to it in pieces of up to this */

static browser_state *state_of(struct lws *wsi) {
  return (browser_state *)lws_get_protocol(wsi)->user;
}

/* Schedules c's next frame: the start of frame c->frame + 1, while its code
 * lives. */
static void schedule_next_frame(browser_state *bs, qrl_conn *c) {
  int64_t due = qrl_frames_start(&c->frames, c->frame + 1);
  if (due < c->frames.expires_ms) qrl_wheel_schedule(&bs->frames, &c->frame_at, due);
  else qrl_wheel_cancel(&bs->frames, &c->frame_at);
}

static qrl_err cancel_fn(qrl_challenge *ch, void *arg) {
  (void)arg;
  return qrl_challenge_cancel(ch) ? QRL_OK : qrl_challenge_state_error(ch->state);
}

static void cancel_current(qrl_services *sv, qrl_conn *c) {
  if (!c->frames.id[0]) return;
  qrl_store_apply(sv->store, c->frames.id, cancel_fn, NULL, NULL, NULL);
  qrl_cleanse(&c->frames, sizeof(c->frames)); /* no code, no key */
}

/* Adds frame qp to o as "qr" {payload, frame}: the page draws the QR from
 * the payload (web/qr.js), so a frame costs the server an HMAC and a few
 * bytes, not a QR encoding. */
static qrl_err add_qr(cJSON *o, const qrl_qr_payload *qp) {
  char payload[QRL_QR_PAYLOAD_MAX + 1];
  cJSON *q;
  qrl_err rc = qrl_qr_payload_format(qp, payload, sizeof(payload));
  if (!rc && !(q = cJSON_AddObjectToObject(o, "qr"))) rc = QRL_NOMEM;
  if (!rc) {
    cJSON_AddStringToObject(q, "payload", payload);
    cJSON_AddNumberToObject(q, "frame", (double)qp->frame);
  }
  return rc;
}

/* The "challenge" message for ch, first frame qp. NULL-safe errors. */
static qrl_err challenge_msg(const qrl_services *sv, const qrl_conn *c,
                             const qrl_challenge *ch, const qrl_qr_payload *qp,
                             cJSON **out) {
  cJSON *o = qrl_json_msg(QRL_MSG_CHALLENGE), *portal;
  qrl_err rc = QRL_NOMEM;
  if (!o) goto out;
  cJSON_AddStringToObject(o, "id", ch->id);
  if ((rc = add_qr(o, qp))) goto out;
  rc = QRL_NOMEM;
  if (!(portal = cJSON_AddObjectToObject(o, "portal"))) goto out;
  cJSON_AddStringToObject(o, "binding", ch->binding);
  cJSON_AddNumberToObject(o, "expires_in", (double)sv->cfg->challenge_ttl);
  cJSON_AddNumberToObject(o, "frame_secs", (double)ch->frame_secs);
  cJSON_AddStringToObject(portal, "name", ch->portal_name);
  cJSON_AddStringToObject(portal, "origin", ch->portal_origin);
  cJSON_AddBoolToObject(o, "demo", sv->cfg->demo);
  if (c->kiosk) cJSON_AddStringToObject(o, "kiosk", sv->cfg->kiosk_name);
  *out = o;
  o = NULL;
  rc = QRL_OK;
out:
  cJSON_Delete(o);
  return rc;
}

/* A code being put in the store for a page: what is sent once it is there. */
typedef struct minting {
  browser_state *bs;
  uint64_t conn; /* the page's socket (it may close meanwhile) */
  cJSON *msg;    /* the "challenge" message, first frame included */
  int64_t frame;
  const char *req; /* the request it answers (an error names it), or NULL */
  qrl_challenge ch; /* to put once the page's old code is cancelled (wiped) */
} minting;

/* The store has answered: the page gets its code (or the error), or, if it
 * has gone meanwhile, the code is cancelled. */
static void minted(void *ud, qrl_err rc, const qrl_challenge *ch) {
  minting *m = ud;
  qrl_services *sv = m->bs->sv;
  qrl_conn *c = qrl_conn_find(sv->conns, m->conn);

  if (c && c->kind != QRL_CONN_BROWSER) c = NULL;
  if (!rc && m->bs->draining) rc = QRL_UNAVAILABLE; /* the node began stopping */
  if (rc && c) {
    qrl_send_error(c, rc, m->req);
    if (m->req) qrl_audit_refusal(sv->audit, c, "browser_message", rc, m->req);
  }
  if (rc || !c || *sv->closing) {
    /* Stored, but nobody will show it. */
    if (ch) qrl_store_apply(sv->store, ch->id, cancel_fn, NULL, NULL, NULL);
  } else {
    /* A page that asked again before this answer: the older code goes. */
    if (c->frames.id[0] && strcmp(c->frames.id, ch->id) != 0) cancel_current(sv, c);
    qrl_metrics_login(sv->metrics, ch->kiosk ? QRL_LOGIN_QR_KIOSK : QRL_LOGIN_QR,
                      QRL_LOGIN_STARTED);
    c->frame = m->frame;
    qrl_frames_of(ch, &c->frames);
    schedule_next_frame(m->bs, c);
    qrl_send_json(c, m->msg);
    m->msg = NULL;
  }
  cJSON_Delete(m->msg);
  qrl_cleanse(&m->ch, sizeof(m->ch));
  free(m);
}

/* The page's old code is cancelled (or was already over): the new one goes
 * in now, so that it takes the old one's place under the caps - on a shared
 * store too, where the two would otherwise race. */
static void old_cancelled(void *ud, qrl_err rc, const qrl_challenge *old) {
  minting *m = ud;
  (void)rc;
  (void)old;
  qrl_store_put(m->bs->sv->store, &m->ch, minted, m);
}

/* Mints a challenge for browser socket c and sends it once the store has
 * it. An error returned here is the caller's to tell; one from the store
 * minted() tells. */
static qrl_err send_new_challenge(browser_state *bs, qrl_conn *c, const char *req) {
  qrl_services *sv = bs->sv;
  qrl_challenge ch;
  qrl_qr_payload qp;
  cJSON *o = NULL;
  minting *m = NULL;
  qrl_instant now = qrl_clock_now(sv->clock);
  qrl_err rc;

  if (bs->draining) return QRL_UNAVAILABLE; /* the node is stopping */
  /* A page that reloads in a loop (or a script minting codes to relay)
   * gets a few codes a minute per IP, not an unbounded stream. */
  if ((rc = qrl_throttle_hit_err(sv->thr, c, "mint:ip", c->ip, QRL_RL_MINT_IP,
                                 QRL_RL_MINT_WINDOW)))
    return rc; /* rate_limited, or unavailable (a shared throttle without Redis) */
  rc = qrl_challenge_init(&ch, sv->cfg->portal_name, qrl_conn_origin(c), c->ip, qrl_conn_ua(c), c->id, now,
                          sv->cfg->challenge_ttl, sv->cfg->qr_frame_secs);
  if (rc) goto out;
  ch.kiosk = c->kiosk;
  memcpy(ch.oidc_req, c->oidc_req, sizeof(c->oidc_req)); /* the phone names its portal */
  if ((rc = qrl_challenge_frame(&ch, now.mono_ms, &qp))) goto out;
  if ((rc = challenge_msg(sv, c, &ch, &qp, &o))) goto out;
  rc = QRL_NOMEM;
  if (!(m = calloc(1, sizeof(*m)))) goto out;
  *m = (minting){bs, c->id, o, qp.frame, req, ch};
  o = NULL;
  /* The old code goes first, and frees its place under the caps for the
   * new one. */
  if (c->frames.id[0]) {
    char old[sizeof(c->frames.id)];
    memcpy(old, c->frames.id, sizeof(old));
    qrl_cleanse(&c->frames, sizeof(c->frames));
    qrl_store_apply(sv->store, old, cancel_fn, NULL, old_cancelled, m);
  } else {
    qrl_store_put(sv->store, &ch, minted, m);
  }
  rc = QRL_OK;
out:
  cJSON_Delete(o);
  qrl_cleanse(&ch, sizeof(ch));
  return rc;
}

/* A page's frame is due: the next QR frame, if its code still waits for a
 * scan; then the one after is scheduled. Each page is on its own phase
 * (its code's creation), so the work is spread over time, not a burst. */
static void frame_due(qrl_wheel_node *n, void *arg) {
  browser_state *bs = arg;
  qrl_services *sv = bs->sv;
  qrl_conn *c = qrl_container_of(n, qrl_conn, frame_at);
  int64_t now_ms = bs->now_ms;
  qrl_qr_payload qp;
  char msg[QRL_FRAME_MSG_MAX];
  size_t len;

  /* Frames stop when the code leaves PENDING (on_challenge unschedules
   * them) or expires; no store lookup is needed to draw one. */
  if (*sv->closing || !c->frames.id[0] || now_ms >= c->frames.expires_ms) return;
  if (qrl_frames_at(&c->frames, now_ms, &qp)) return;
  if (qp.frame != c->frame && (len = qrl_frame_message(&qp, msg, sizeof(msg))))
    qrl_conn_send(c, msg, len);
  c->frame = qp.frame;
  schedule_next_frame(bs, c);
}

static void frames_every(void *arg, int64_t now_ms) {
  browser_state *bs = arg;
  bs->now_ms = now_ms;
  qrl_wheel_advance(&bs->frames, now_ms, frame_due, bs);
}

/* The browser that shows challenge id, if it is still connected. */
static qrl_conn *showing(qrl_conns *conns, uint64_t browser_conn, const char *id) {
  qrl_conn *c = qrl_conn_find(conns, browser_conn);
  if (!c || c->kind != QRL_CONN_BROWSER || strcmp(c->frames.id, id) != 0) return NULL;
  return c;
}

/* Seconds from now_ms until monotonic expires_ms, rounded down, >= 0. */
static double secs_left(int64_t expires_ms, int64_t now_ms) {
  return expires_ms > now_ms ? (double)((expires_ms - now_ms) / 1000) : 0;
}

static void on_challenge(void *arg, const qrl_challenge *ch, int prev) {
  browser_state *bs = arg;
  qrl_services *sv = bs->sv;
  const char *type = NULL;
  qrl_conn *c;
  cJSON *o;

  (void)prev;
  /* A code no longer waiting for its scan is not redrawn; a scanned one is
   * a login in flight (a draining node waits for it). */
  if ((c = showing(sv->conns, ch->browser_conn, ch->id))) {
    if (ch->state != QRL_CHAL_PENDING) qrl_wheel_cancel(&bs->frames, &c->frame_at);
    /* (completed: in flight until its code is pushed) */
    c->in_flight = ch->state == QRL_CHAL_SCANNED || ch->state == QRL_CHAL_COMPLETED;
  }
  switch (ch->state) {
  case QRL_CHAL_SCANNED: type = QRL_MSG_SCANNED; break;
  case QRL_CHAL_DECLINED: type = QRL_MSG_DECLINED; break;
  case QRL_CHAL_EXPIRED: type = QRL_MSG_EXPIRED; break;
  default: return; /* completed: pushed with its code, qrl_browser_push_completed */
  }
  if (!(c = showing(sv->conns, ch->browser_conn, ch->id))) return;
  if (!(o = qrl_json_msg(type))) return;
  /* The number the citizen must pick on the phone. */
  if (ch->state == QRL_CHAL_SCANNED) {
    cJSON_AddNumberToObject(o, "number", ch->match);
    /* The time left for the phone's confirm (--scan-grace). */
    cJSON_AddNumberToObject(o, "expires_in",
                            secs_left(ch->expires_ms, qrl_clock_mono_ms(sv->clock)));
  }
  cJSON_AddStringToObject(o, "id", ch->id);
  /* Why it was declined: the page says what happened (a wrong number is
   * not the citizen saying no). */
  if (ch->state == QRL_CHAL_DECLINED && qrl_chal_why_name(ch->why))
    cJSON_AddStringToObject(o, "reason", qrl_chal_why_name(ch->why));
  qrl_send_json(c, o);
}

static int push_held(qrl_conns *conns, const qrl_challenge *ch, int64_t now_ms) {
  qrl_conn *b = showing(conns, ch->browser_conn, ch->id);
  cJSON *o;
  if (!b) return 0;
  b->frames.expires_ms = ch->expires_ms; /* its frames go on as long */
  if (!(o = qrl_json_msg(QRL_MSG_HELD))) return 0;
  cJSON_AddStringToObject(o, "id", ch->id);
  cJSON_AddStringToObject(o, "reason", "permission");
  cJSON_AddNumberToObject(o, "expires_in", secs_left(ch->expires_ms, now_ms));
  qrl_send_json(b, o);
  return 1;
}

int qrl_browser_push_completed(qrl_conns *conns, uint64_t browser_conn, const char *id,
                               const char *code, qrl_err err) {
  qrl_conn *b = showing(conns, browser_conn, id);
  cJSON *o;
  if (!b) return 0;
  b->in_flight = 0;
  if (err) {
    qrl_send_error(b, err, NULL);
    return 1;
  }
  if (!(o = qrl_json_msg(QRL_MSG_COMPLETED))) return 0;
  cJSON_AddStringToObject(o, "id", id);
  cJSON_AddStringToObject(o, "code", code);
  qrl_send_json(b, o);
  return 1;
}

/* A note from the store about one of this node's pages: the citizen is
 * granting web login (the code lives longer), or the login is done (the
 * one-time code the page exchanges for its session, or why not). */
static void on_note(void *arg, const qrl_challenge *ch, const qrl_store_note *n) {
  browser_state *bs = arg;
  qrl_services *sv = bs->sv;
  if (*sv->closing) return;
  if (n->kind == QRL_STORE_HELD)
    push_held(sv->conns, ch, qrl_clock_mono_ms(sv->clock));
  else
    qrl_browser_push_completed(sv->conns, ch->browser_conn, ch->id, n->code, n->err);
}

/* ---- the node stopping ------------------------------------------------------- */

typedef struct drain_walk {
  browser_state *bs;
  int first;
  size_t in_flight;
} drain_walk;

/* A page waiting for a scan is told to reconnect (behind a load balancer:
 * to another node, for a new code) and its code is cancelled; a scanned
 * one waits for its login to finish. */
static void drain_one(qrl_conn *c, void *arg) {
  drain_walk *w = arg;
  qrl_services *sv = w->bs->sv;
  cJSON *o;
  if (c->watch) return;
  if (c->in_flight) {
    w->in_flight++;
    return;
  }
  if (!w->first) return;
  qrl_wheel_cancel(&w->bs->frames, &c->frame_at);
  cancel_current(sv, c);
  if ((o = qrl_json_msg(QRL_MSG_RECONNECT))) {
    cJSON_AddStringToObject(o, "reason", "node_stopping");
    qrl_send_json(c, o);
  }
}

static size_t drain(void *arg, int first) {
  browser_state *bs = arg;
  drain_walk w = {bs, first, 0};
  if (first) bs->draining = 1;
  qrl_conn_each(bs->sv->conns, QRL_CONN_BROWSER, drain_one, &w);
  return w.in_flight;
}

/* ---- the portal page: watching its own session ------------------------------ */

typedef struct watch_task {
  qrl_task base;
  char session[QRL_SESSION_B64LEN + 1];
  int64_t id;
} watch_task;

static void watch_run(qrl_task *t, qrl_db *db) {
  watch_task *w = qrl_container_of(t, watch_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  t->rc = qrl_acct_web_session_peek(db, sv->pol, w->session, t->now, &w->id);
}

static void send_ended(qrl_conn *c, const char *reason) {
  cJSON *o = qrl_json_msg(QRL_MSG_SESSION_ENDED);
  if (!o) return;
  cJSON_AddStringToObject(o, "reason", reason);
  qrl_send_json(c, o);
}

static const qrl_task_type watch_type;

static void watch_done(qrl_task *t, qrl_conn *c) {
  watch_task *w = qrl_container_of(t, watch_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  watch_task *again;
  qrl_err rc;
  if (!c) return;
  if (!t->rc && c->watch_recheck) {
    /* A session ended while this look-up was out, maybe this one, before
     * the socket could be told: look again (that ending is committed). */
    c->watch_recheck = 0;
    if (!(again = (watch_task *)qrl_task_new(sv->tasks, c, &watch_type, sizeof(*again)))) {
      qrl_send_error(c, QRL_NOMEM, "watch");
      return;
    }
    memcpy(again->session, w->session, sizeof(again->session));
    if ((rc = qrl_task_submit(&again->base))) qrl_send_error(c, rc, "watch");
    return;
  }
  if (t->rc == QRL_NOT_AUTHENTICATED) {
    send_ended(c, "not_live");
  } else if (t->rc) {
    qrl_send_error(c, t->rc, "watch");
  } else {
    c->web_session = w->id;
    qrl_send_json(c, qrl_json_msg(QRL_MSG_WATCHING));
  }
}

static const qrl_task_type watch_type = {"watch", watch_run, watch_done};

/* ESTABLISHED on /portal: looks the page's session up from its cookie (the
 * upgrade request's headers are still there now). */
static void start_watch(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  char hdr[4096] = "";
  watch_task *w;
  int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_COOKIE);
  qrl_err rc;

  /* A page reconnecting in a loop costs a database look-up each time. */
  if ((rc = qrl_throttle_hit_err(sv->thr, c, "watch:ip", c->ip, QRL_RL_WATCH_IP,
                                 QRL_RL_WATCH_WINDOW))) {
    qrl_send_error(c, rc, "watch");
    goto out;
  }
  if (len <= 0 || len >= (int)sizeof(hdr) ||
      lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) < 0)
    hdr[0] = '\0';
  if (!(w = (watch_task *)qrl_task_new(sv->tasks, c, &watch_type, sizeof(*w)))) {
    qrl_send_error(c, QRL_NOMEM, "watch");
    goto out;
  }
  if (!qrl_cookie_find(hdr, QRL_COOKIE_NAME, QRL_SESSION_B64LEN, w->session,
                       sizeof(w->session))) {
    qrl_task_free(&w->base);
    send_ended(c, "not_live");
    goto out;
  }
  if ((rc = qrl_task_submit(&w->base))) qrl_send_error(c, rc, "watch");
out:
  qrl_cleanse(hdr, sizeof(hdr));
}

typedef struct ended_arg {
  int64_t id;
  const char *reason;
  int told;
} ended_arg;

static void tell_ended(qrl_conn *c, void *arg) {
  ended_arg *a = arg;
  if (!c->watch) return;
  if (!c->web_session) c->watch_recheck = 1; /* its look-up is out */
  if (c->web_session != a->id) return;
  send_ended(c, a->reason);
  c->web_session = 0; /* told once */
  a->told++;
}

int qrl_browser_push_session_ended(qrl_conns *conns, int64_t id, const char *reason) {
  ended_arg a = {id, reason, 0};
  if (id <= 0) return 0;
  qrl_conn_each(conns, QRL_CONN_BROWSER, tell_ended, &a);
  return a.told;
}

static void handle_message(qrl_services *sv, qrl_conn *c, struct lws *wsi) {
  browser_state *bs = state_of(wsi);
  cJSON *msg = NULL;
  const char *type = NULL;
  qrl_err rc;

  if (lws_frame_is_binary(wsi)) {
    rc = QRL_BAD_JSON;
    goto fail;
  }
  if ((rc = qrl_json_parse_request(c->rx, c->rx_len, &msg, &type))) goto fail;
  if (strcmp(type, QRL_MSG_NEW_CHALLENGE) == 0 && !c->watch) {
    if ((rc = send_new_challenge(bs, c, QRL_MSG_NEW_CHALLENGE))) goto fail;
    goto out;
  }
  rc = QRL_UNKNOWN_TYPE;
fail:
  qrl_send_error(c, rc, type);
  /* The event is ours; the sender's type is only a detail. */
  qrl_audit_refusal(sv->audit, c, "browser_message", rc, type);
out:
  cJSON_Delete(msg);
}

static int browser_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                            void *in, size_t len) {
  qrl_conn *c = user;
  qrl_services *sv = qrl_services_of(wsi);
  qrl_err rc;

  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    char uri[32] = "";
    /* The kiosk page connects to /kiosk: its logins are a shared machine's. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) < (int)sizeof(uri))
      lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    c->kiosk = strcmp(uri, "/kiosk") == 0;
    c->watch = strcmp(uri, "/portal") == 0;
    /* A relying portal's login page ("/?oidc=ID") says whose request it
     * serves: 22 characters of base64url, else nothing. */
    c->oidc_req[0] = '\0';
    if (!c->kiosk && !c->watch) {
      char buf[64];
      const char *v = lws_get_urlarg_by_name(wsi, "oidc=", buf, (int)sizeof(buf));
      size_t n = v ? strlen(v) : 0;
      if (n == sizeof(c->oidc_req) - 1 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                    "0123456789-_") == n)
        memcpy(c->oidc_req, v, n + 1);
    }
    return qrl_origin_filter_ws(sv->cfg, sv->audit, c, wsi, 1);
  }
  case LWS_CALLBACK_ESTABLISHED:
    qrl_ws_established(sv, c, wsi, QRL_CONN_BROWSER);
    if (c->watch) start_watch(sv, c, wsi);
    else if ((rc = send_new_challenge(state_of(wsi), c, NULL))) qrl_send_error(c, rc, NULL);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    return qrl_ws_receive(sv, c, wsi, in, len, "browser_message", handle_message);
  case LWS_CALLBACK_RECEIVE_PONG:
    return qrl_ws_control(sv, c, wsi);
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return qrl_ws_writeable(sv, c, wsi);
  case LWS_CALLBACK_TIMER:
    return qrl_ws_timer(c, wsi);
  case LWS_CALLBACK_CLOSED:
    qrl_wheel_cancel(&state_of(wsi)->frames, &c->frame_at);
    if (!*sv->closing) cancel_current(sv, c);
    qrl_ws_closed(sv, c);
    return 0;
  default:
    break;
  }
  return 0;
}

static void state_free(void *arg) {
  browser_state *bs = arg;
  qrl_wheel_free(&bs->frames);
  free(bs);
}

qrl_err qrl_browser_attach(qrl_server *srv) {
  /* A page sends only short requests: lws's receive buffer (one per socket,
   * for as long as it is open) is kept to what a control frame needs (125
   * bytes); longer messages arrive in pieces, reassembled in qrl_conn_rx.
   * Writes are not cut to that size (tx_packet_size). */
  struct lws_protocols proto = {QRL_SUBPROTO_BROWSER, browser_callback, sizeof(qrl_conn),
                                BROWSER_RX_BUFFER, 0, NULL, BROWSER_TX_PACKET};
  qrl_services *sv = qrl_server_services(srv);
  browser_state *bs = calloc(1, sizeof(*bs));
  qrl_err rc;
  if (!bs) return QRL_NOMEM;
  bs->sv = sv;
  if ((rc = qrl_wheel_init(&bs->frames, FRAME_SLOT_MS, FRAME_SLOTS,
                           qrl_clock_mono_ms(sv->clock)))) {
    free(bs);
    return rc;
  }
  if ((rc = qrl_server_at_free(srv, state_free, bs))) {
    state_free(bs);
    return rc;
  }
  proto.user = bs; /* the callbacks find the state with lws_get_protocol() */
  rc = qrl_server_add_protocol(srv, &proto);
  if (!rc) rc = qrl_server_every(srv, FRAME_SLOT_MS, frames_every, bs);
  if (!rc) rc = qrl_server_on_challenge(srv, on_challenge, bs);
  if (!rc) rc = qrl_server_on_drain(srv, drain, bs);
  if (!rc) qrl_store_on_note(sv->store, on_note, bs);
  return rc;
}
