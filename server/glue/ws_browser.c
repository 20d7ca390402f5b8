/*
 * ws_browser.c - the browser's websocket (subprotocol qrlogin.browser.v1).
 *
 * On connect the socket gets a fresh challenge (QR modules, binding secret,
 * expiry); "new_challenge" replaces it. The store's events about a socket's
 * challenge are pushed to that socket only: scanned, declined, expired. The
 * completion (with its one-time code) is pushed by ws_phone.c after the
 * session is written. Closing the socket cancels its live challenge.
 * Not here: anything the phone does.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonio.h"
#include "qr.h"
#include "server.h"

static qrl_err cancel_fn(qrl_challenge *ch, void *arg) {
  (void)arg;
  return qrl_challenge_cancel(ch) ? QRL_OK : qrl_challenge_state_error(ch->state);
}

static void cancel_current(qrl_server *srv, qrl_conn *c) {
  if (!c->challenge[0]) return;
  qrl_store_apply(srv->store, c->challenge, cancel_fn, NULL, NULL);
  c->challenge[0] = '\0';
}

/* Adds the QR of frame qp to o as "qr" {payload, frame, version, size,
 * bits}. */
static qrl_err add_qr(cJSON *o, const qrl_qr_payload *qp) {
  char payload[QRL_QR_PAYLOAD_MAX + 1], bits[512];
  qrl_qr qr = {0, 0, NULL};
  cJSON *q;
  qrl_err rc = qrl_qr_payload_format(qp, payload, sizeof(payload));
  if (!rc) rc = qrl_qr_encode(payload, strlen(payload), &qr);
  if (!rc) rc = qrl_qr_bits_b64(&qr, bits, sizeof(bits));
  if (!rc && !(q = cJSON_AddObjectToObject(o, "qr"))) rc = QRL_NOMEM;
  if (!rc) {
    cJSON_AddStringToObject(q, "payload", payload);
    cJSON_AddNumberToObject(q, "frame", (double)qp->frame);
    cJSON_AddNumberToObject(q, "version", qr.version);
    cJSON_AddNumberToObject(q, "size", qr.width);
    cJSON_AddStringToObject(q, "bits", bits);
  }
  qrl_qr_free(&qr);
  return rc;
}

/* Mints a challenge for browser socket c and sends it. */
static qrl_err send_new_challenge(qrl_server *srv, qrl_conn *c) {
  qrl_challenge ch;
  qrl_qr_payload qp;
  cJSON *o = NULL, *portal;
  qrl_instant now = qrl_clock_now(qrl_clock_system());
  qrl_err rc;

  /* A page that reloads in a loop (or a script minting codes to relay)
   * gets a few codes a minute per IP, not an unbounded stream. */
  if (!qrl_server_throttle(srv, c, "mint:ip", c->ip, QRL_RL_MINT_IP, QRL_RL_MINT_WINDOW))
    return QRL_RATE_LIMITED;
  rc = qrl_challenge_init(&ch, srv->cfg->portal_name, c->origin, c->ip, c->ua,
                          c->id, now, srv->cfg->challenge_ttl, srv->cfg->qr_frame_secs);
  if (rc) goto out;
  ch.kiosk = c->kiosk;
  rc = qrl_challenge_frame(&ch, now.mono_ms, &qp);
  if (rc) goto out;
  rc = QRL_NOMEM;
  if (!(o = qrl_json_msg(QRL_MSG_CHALLENGE))) goto out;
  cJSON_AddStringToObject(o, "id", ch.id);
  if ((rc = add_qr(o, &qp))) goto out;
  rc = QRL_NOMEM;
  if (!(portal = cJSON_AddObjectToObject(o, "portal"))) goto out;
  cJSON_AddStringToObject(o, "binding", ch.binding);
  cJSON_AddNumberToObject(o, "expires_in", (double)srv->cfg->challenge_ttl);
  cJSON_AddNumberToObject(o, "frame_secs", (double)ch.frame_secs);
  cJSON_AddStringToObject(portal, "name", ch.portal_name);
  cJSON_AddStringToObject(portal, "origin", ch.portal_origin);
  cJSON_AddBoolToObject(o, "demo", srv->cfg->demo);
  if (c->kiosk) cJSON_AddStringToObject(o, "kiosk", srv->cfg->kiosk_name);
  /* The old code goes only now that the new one is ready (and frees its
   * place under --max-challenges for it). */
  cancel_current(srv, c);
  rc = qrl_store_put(srv->store, &ch);
  if (rc) goto out;
  memcpy(c->challenge, ch.id, sizeof(c->challenge));
  c->frame = qp.frame;
  qrl_send_json(c, o);
  o = NULL;
  rc = QRL_OK;
out:
  cJSON_Delete(o);
  qrl_cleanse(&ch, sizeof(ch));
  return rc;
}

void qrl_browser_frames(qrl_server *srv, int64_t now) {
  for (size_t b = 0; b < srv->conns.nbuckets; b++) {
    for (qrl_conn *c = srv->conns.buckets[b]; c; c = c->hnext) {
      qrl_challenge ch;
      qrl_qr_payload qp;
      cJSON *o;
      if (c->kind != QRL_CONN_BROWSER || !c->challenge[0]) continue;
      /* Only a QR still waiting for a scan is redrawn. */
      if (qrl_store_get(srv->store, c->challenge, &ch) || ch.state != QRL_CHAL_PENDING ||
          now >= ch.expires_ms)
        continue;
      if (qrl_challenge_frame(&ch, now, &qp) || qp.frame == c->frame) goto next;
      if (!(o = qrl_json_msg(QRL_MSG_FRAME))) goto next;
      cJSON_AddStringToObject(o, "id", ch.id);
      if (add_qr(o, &qp) == QRL_OK) {
        c->frame = qp.frame;
        qrl_send_json(c, o);
      } else {
        cJSON_Delete(o);
      }
    next:
      qrl_cleanse(&ch, sizeof(ch));
    }
  }
}

void qrl_browser_on_event(void *arg, const qrl_challenge *ch,
                          qrl_chal_state prev) {
  qrl_server *srv = arg;
  const char *type = NULL;
  qrl_conn *c;
  cJSON *o;

  (void)prev;
  if (srv->stopping) return;
  switch (ch->state) {
  case QRL_CHAL_SCANNED: type = QRL_MSG_SCANNED; break;
  case QRL_CHAL_DECLINED: type = QRL_MSG_DECLINED; break;
  case QRL_CHAL_EXPIRED: type = QRL_MSG_EXPIRED; break;
  default: return; /* completed: pushed with its code by ws_phone.c */
  }
  c = qrl_conn_find(&srv->conns, ch->browser_conn);
  if (!c || c->kind != QRL_CONN_BROWSER || strcmp(c->challenge, ch->id) != 0)
    return;
  o = qrl_json_msg(type);
  if (!o) return;
  /* The number the citizen must pick on the phone. */
  if (ch->state == QRL_CHAL_SCANNED) cJSON_AddNumberToObject(o, "number", ch->match);
  cJSON_AddStringToObject(o, "id", ch->id);
  qrl_send_json(c, o);
}

static void handle_message(qrl_server *srv, qrl_conn *c, struct lws *wsi) {
  cJSON *msg = NULL;
  const char *type = NULL;
  qrl_err rc;

  if (lws_frame_is_binary(wsi)) {
    rc = QRL_BAD_JSON;
    goto fail;
  }
  rc = qrl_json_parse_request(c->rx, c->rx_len, &msg, &type);
  if (rc) goto fail;
  if (strcmp(type, QRL_MSG_NEW_CHALLENGE) == 0) {
    rc = send_new_challenge(srv, c);
    if (rc) goto fail;
    goto out;
  }
  rc = QRL_UNKNOWN_TYPE;
fail:
  qrl_send_error(c, rc, type);
  qrl_server_audit(srv, c, "browser_message", rc, NULL, type, NULL);
out:
  cJSON_Delete(msg);
}

int qrl_browser_callback(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len) {
  qrl_conn *c = user;
  qrl_server *srv = qrl_server_of(wsi);
  qrl_err rc;

  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    char uri[32] = "";
    /* The kiosk page connects to /kiosk: its logins are a shared machine's. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) < (int)sizeof(uri))
      lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI);
    c->kiosk = strcmp(uri, "/kiosk") == 0;
    return qrl_ws_filter_origin(srv, c, wsi, 1);
  }
  case LWS_CALLBACK_ESTABLISHED:
    qrl_conn_register(&srv->conns, c, wsi, QRL_CONN_BROWSER);
    rc = send_new_challenge(srv, c);
    if (rc) qrl_send_error(c, rc, NULL);
    return 0;
  case LWS_CALLBACK_RECEIVE:
    switch (qrl_conn_rx(c, wsi, in, len)) {
    case -1:
      qrl_server_audit(srv, c, "browser_message", QRL_FRAME_TOO_BIG, NULL, NULL, NULL);
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                       (unsigned char *)"too big", 7);
      return -1;
    case 1: {
      int ok = qrl_server_socket_budget(srv, c, wsi);
      if (ok > 0) handle_message(srv, c, wsi);
      qrl_conn_rx_reset(c);
      if (ok < 0) return -1;
      break;
    }
    default:
      break;
    }
    return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE:
    return qrl_conn_write_one(c);
  case LWS_CALLBACK_CLOSED:
    if (!srv->stopping) cancel_current(srv, c);
    qrl_conn_release(&srv->conns, c);
    return 0;
  default:
    break;
  }
  return 0;
}
