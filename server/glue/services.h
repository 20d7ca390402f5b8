/*
 * services.h - what every handler and glue module may use of the running
 * server: the qrl_services record (all owned by the runtime, server.h), and
 * how an lws callback finds it. Header only, below the runtime: a glue
 * module that needs the services (a counter, the audit) reads them here and
 * never calls up into server.c.
 *
 * The runtime makes the lws context with its qrl_server as the user
 * pointer, and a qrl_server begins with its qrl_services (checked where it
 * is defined), so the context's user pointer is the services.
 */
#ifndef QRLOGIN_SERVICES_H
#define QRLOGIN_SERVICES_H

#include <libwebsockets.h>

struct qrl_config;
struct qrl_acct_policy;
struct qrl_otp_policy;
struct qrl_store;
struct qrl_conns;
struct qrl_tasks;
struct qrl_throttle;
struct qrl_audit;
struct qrl_sms_relay;
struct qrl_clock;
struct qrl_metrics;
struct qrl_log;
typedef struct qrl_ops qrl_ops;
typedef struct qrl_oidc qrl_oidc;

/* What every handler may use, all owned by the server and valid from
 * qrl_server_new() to qrl_server_free(). Loop thread, except where the
 * module says otherwise (policies are read-only, the SMS relay's send is for
 * workers). */
typedef struct qrl_services {
  const struct qrl_config *cfg;
  const struct qrl_clock *clock; /* wall time for people, monotonic for deadlines */
  const struct qrl_acct_policy *pol;
  const struct qrl_otp_policy *opol;
  struct qrl_store *store;   /* live challenges */
  struct qrl_conns *conns;   /* connections by id */
  struct qrl_tasks *tasks;   /* slow work on the workers */
  struct qrl_throttle *thr;  /* token buckets */
  struct qrl_audit *audit;   /* audit rows */
  struct qrl_sms_relay *sms; /* one-time codes out */
  struct qrl_keepalive *alive; /* pings of silent websockets */
  const int *closing;        /* 1 once shutdown closes the sockets */
  struct qrl_metrics *metrics; /* counters and histograms (metrics.h) */
  qrl_ops *ops;              /* the operators' URLs' state (handlers/ops.h), set
                                when they attach */
  qrl_oidc *oidc;            /* the OpenID Connect provider's published state
                                (handlers/oidc_meta.h), set when it attaches */
  struct qrl_log *log;       /* the log (helpers/log.h); any thread */
  struct qrl_bclogout *bclogout; /* the back-channel logout deliverer
                                (glue/bclogout.h), set when the provider's
                                logout attaches; NULL before */
} qrl_services;

/* The services of the server that owns wsi (any lws callback). */
static inline qrl_services *qrl_services_of(struct lws *wsi) {
  return (qrl_services *)lws_context_user(lws_get_context(wsi));
}

#endif /* QRLOGIN_SERVICES_H */
