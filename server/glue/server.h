/*
 * server.h - the qrlogind server context and the task plumbing between the
 * event loop and the worker threads.
 *
 * One qrl_server per process, reached from any lws callback through the
 * context user pointer (no globals). It owns the libuv loop that lws runs on,
 * the challenge store, the connection registry and the worker pool. Slow work
 * (scrypt, SQLite) is a qrl_task: its run() goes to a worker thread with that
 * thread's own database handle; its done() comes back on the loop thread,
 * where it looks its connection up by id (it may have closed) and answers.
 * Depends on domain, helpers, lws and libuv.
 */
#ifndef QRLOGIN_SERVER_H
#define QRLOGIN_SERVER_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "accounts.h"
#include "challenge.h"
#include "config.h"
#include "conn.h"
#include "crypto.h"
#include "jsonio.h"
#include "legacy.h"
#include "otp.h"
#include "ratelimit.h"
#include "sms.h"
#include "store.h"
#include "workq.h"

typedef struct qrl_server {
  const qrl_config *cfg; /* not owned */
  qrl_acct_policy pol;
  uv_loop_t loop;
  uv_signal_t sig_int, sig_term;
  uv_timer_t sweep;
  uv_async_t wake; /* workers -> loop: finished tasks are waiting */
  struct lws_context *ctx;
  struct lws_vhost *vhost;
  qrl_store *store; /* owned */
  qrl_workq *wq;    /* owned */
  qrl_conns conns;
  qrl_otp_policy opol;       /* holds the OTP pepper */
  qrl_ratelimit *rl;         /* owned; loop thread only */
  qrl_sms_gateway *sms[2];   /* owned: the outbox, and the demo network */
  size_t nsms;
  int stopping;
} qrl_server;

typedef struct qrl_task qrl_task;

/* A unit of slow work with everything its handlers need. One struct serves
 * every request kind; each uses the fields it names. */
struct qrl_task {
  qrl_job job; /* first: a qrl_task is a qrl_job */
  qrl_server *srv;
  uint64_t conn_id; /* who to answer; 0 for fire-and-forget */
  void (*run)(qrl_db *db, qrl_task *t);   /* worker thread */
  void (*done)(qrl_server *srv, qrl_task *t, qrl_conn *c); /* loop; c may be NULL */
  qrl_err rc;
  const char *req; /* request type, static string */
  char ip[48];
  char ua[160];
  int64_t now;
  /* inputs */
  char session[QRL_SESSION_B64LEN + 1]; /* app session or web session token */
  char citizen_id[QRL_CITIZEN_ID_LEN + 4];
  char password[129];
  char passcode[QRL_PASSCODE_LEN + 1];
  char device_name[65];
  uint8_t pub[QRL_PUBKEY_BYTES];
  int value;
  qrl_challenge chal;
  int64_t ts;
  uint8_t sig[QRL_SIG_MAX];
  size_t siglen;
  qrl_decision decision;
  int number; /* confirm: the matching number the user picked */
  qrl_err chal_refusal; /* confirm/decline: what the challenge's state says,
                           told only after the app session checks out */
  char code[QRL_SESSION_B64LEN + 1];
  char binding[QRL_TOKEN_B64LEN + 1];
  /* outputs */
  char token[QRL_SESSION_B64LEN + 1];
  qrl_app_auth auth;
  qrl_citizen who;
  qrl_web_session web;
  /* ID/username + password + OTP */
  char username[65];
  char otp_code[17]; /* as typed: validated (and counted) by otp.c */
  qrl_otp_sent otp;
  char sms_text[321];
  int64_t sms_id;
  int64_t retry_in;
  int left;
  /* web_logins */
  qrl_web_login logins[20];
  size_t nlogins;
  int64_t target_id;
  /* sms_inbox */
  qrl_sms inbox[20];
  size_t ninbox;
  /* /api/me */
  qrl_dossier dossiers[32];
  size_t ndossiers;
  qrl_link_state link;
  /* audit-only tasks */
  char flow[QRL_UUID_STRLEN + 1]; /* the login's flow id, if known */
  char event[32];
  qrl_err outcome;
  char detail[96];
};

/* Allocates a zeroed task for connection c (may be NULL) with the request
 * context (ip, user agent, time) filled in. NULL on allocation failure. */
qrl_task *qrl_task_new(qrl_server *srv, qrl_conn *c, const char *req);

/* Hands t to a worker. On QRL_OK the pool owns t until t->done runs, after
 * which the server frees it (done must not). On failure t is freed here. */
qrl_err qrl_task_submit(qrl_task *t);

/* The audit context of t: its ip, user agent, time, and flow id (t->flow,
 * else that of the challenge it carries, else none). */
qrl_req_ctx qrl_task_ctx(const qrl_task *t);

/* Appends an audit row from the loop thread (written by a worker). flow is
 * the QR login's flow id, or NULL. */
void qrl_server_audit(qrl_server *srv, qrl_conn *c, const char *event,
                      qrl_err outcome, const char *citizen_id,
                      const char *detail, const char *flow);

/* Returns the server that owns wsi. */
qrl_server *qrl_server_of(struct lws *wsi);

/* Returns 1 if origin is allowed for a request to host: in the --origin
 * allowlist if one was given, else equal to "http://" host. */
int qrl_server_origin_allowed(const qrl_server *srv, const char *origin,
                              const char *host);

/* The request's host as the client named it: Host, or HTTP/2's :authority.
 * "" if absent or not shorter than cap. */
void qrl_request_host(struct lws *wsi, char *out, size_t cap);

/* Current unix time in seconds. */
int64_t qrl_now(void);

/* Runs qrlogind with cfg until SIGINT/SIGTERM. Returns the process exit
 * status: 0 after a clean shutdown. */
int qrl_server_run(const qrl_config *cfg);

/* Throttle rules of the websockets (token buckets, ratelimit.h): tokens per
 * window in seconds. */
#define QRL_RL_MINT_IP 30      /* QR codes minted per IP ... */
#define QRL_RL_MINT_WINDOW 60  /* ... per minute */
#define QRL_RL_PHONE_ACCT 20   /* scans, confirms, declines per account ... */
#define QRL_RL_PHONE_WINDOW 60 /* ... per minute */
#define QRL_RL_SOCKET_MSGS 60  /* messages per socket per minute */
#define QRL_RL_SOCKET_STRIKES 10 /* refused messages before the socket is closed */
/* Failed passwords (HTTP and the phone's app login share the buckets). */
#define QRL_RL_PW_IP 20        /* per IP ... */
#define QRL_RL_PW_KEY 5        /* per citizen ID or portal username ... */
#define QRL_RL_PW_WINDOW 900   /* ... per 15 minutes */
/* "Cập nhật từ CSDL Quốc gia về dân cư" refusals (an ID-guessing oracle). */
#define QRL_RL_VID_IP 10       /* per IP ... */
#define QRL_RL_VID_SESSION 5   /* per portal session ... */
#define QRL_RL_VID_WINDOW 3600 /* ... per hour */

/* Spends a token of "<kind>:<value>" from srv->rl. 1 if allowed; else 0 and
 * the refusal is logged and audited. */
int qrl_server_throttle(qrl_server *srv, qrl_conn *c, const char *kind,
                        const char *value, int limit, int window);

/* One throttle bucket a request is counted in: "<kind>:<value>", limit tokens
 * per window seconds. */
typedef struct qrl_rl_rule {
  char key[QRL_RL_KEY_MAX + 1];
  int limit;
  int window;
} qrl_rl_rule;

void qrl_rl_rule_set(qrl_rl_rule *r, const char *kind, const char *value, int limit,
                     int window);

/* For limits on failures (wrong passwords, wrong codes...): takes a token of
 * every rule when the request arrives - all or none - so that parallel
 * requests cannot all pass before the first has failed. 1 if allowed; else
 * 0, *retry_in set (seconds) and the refusal logged and audited: the caller
 * answers. qrl_server_refund() gives tokens back for requests that turn out
 * not to count. Both do nothing with --no-rate-limits. */
int qrl_server_take(qrl_server *srv, qrl_conn *c, const qrl_rl_rule *rules, size_t n,
                    int64_t *retry_in);
void qrl_server_refund(qrl_server *srv, const qrl_rl_rule *rules, size_t n);

/* The failed-password buckets, shared by the web page's password step and
 * the phone app's login: [0] per portal username (if username is not "") or
 * citizen ID, [1] per IP. */
void qrl_pw_rules(qrl_rl_rule r[2], const char *username, const char *citizen_id,
                  const char *ip);

/* Settles the password buckets once the check is done: a wrong password
 * keeps both tokens; a right one empties the ID's record and gives the IP's
 * token back; any other outcome gives both back. */
void qrl_server_pw_settle(qrl_server *srv, const qrl_rl_rule r[2], qrl_err outcome);

/* Per-socket message budget: 1 if the message may be handled. Closes the
 * socket (1008) after too many refusals; returns -1 then. */
int qrl_server_socket_budget(qrl_server *srv, qrl_conn *c, struct lws *wsi);

/* Sends an OTP text through every gateway (worker thread). QRL_OK if at least
 * one took it; fills t->sms_text and t->sms_id (the demo network's id). */
qrl_err qrl_server_send_sms(qrl_db *db, qrl_task *t, const qrl_otp_sent *sent);

/* Pushes t's SMS to simulators subscribed to its phone (loop thread; demo). */
void qrl_server_push_sms(qrl_server *srv, const qrl_task *t);

/* The protocol callbacks (http.c, ws_browser.c, ws_phone.c). */
int qrl_reject_callback(struct lws *wsi, enum lws_callback_reasons reason,
                        void *user, void *in, size_t len);
int qrl_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);
int qrl_browser_callback(struct lws *wsi, enum lws_callback_reasons reason,
                         void *user, void *in, size_t len);
int qrl_phone_callback(struct lws *wsi, enum lws_callback_reasons reason,
                       void *user, void *in, size_t len);

/* Store event sink (ws_browser.c): pushes state changes to the browser. */
void qrl_browser_on_event(void *srv, const qrl_challenge *c,
                          qrl_chal_state prev);

/* Pushes the next QR frame to every browser whose frame changed (the sweep
 * timer calls it each second; ws_browser.c). */
void qrl_browser_frames(qrl_server *srv, int64_t now);

/* Shared by both websocket protocols: checks the upgrade's Origin. A missing
 * Origin is refused when required is 1. Returns 0 to accept, -1 to refuse. */
int qrl_ws_filter_origin(qrl_server *srv, qrl_conn *c, struct lws *wsi,
                         int required);

/* Sends the error message for err in answer to request type req on c. */
void qrl_send_error(qrl_conn *c, qrl_err err, const char *req);

/* Sends cJSON object o (deleted here) on c. */
void qrl_send_json(qrl_conn *c, cJSON *o);

#endif /* QRLOGIN_SERVER_H */
