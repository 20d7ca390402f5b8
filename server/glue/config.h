/*
 * config.h - qrlogind's settings: the config file and the command line.
 *
 * Long options only (getopt_long); a config file (libinih: key = value lines,
 * # or ; comments) has a key for every option, the same name without the
 * dashes, checked by the same code. The file is read first, the command line
 * overrides it. Every value is validated and a bad one is named in the error
 * (the file's as FILE:LINE: reason). Not here: the environment.
 * Depends on libc, libinih and protocol.h.
 */
#ifndef QRLOGIN_CONFIG_H
#define QRLOGIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "helpers/netaddr.h"
#include "qrlogin/error.h"

#define QRL_MAX_ORIGINS 16

/* What a phone on another network than the browser means (--proximity). */
enum { QRL_PROX_FLAG, QRL_PROX_STEP_UP, QRL_PROX_REFUSE };

typedef struct qrl_config {
  int port;                /* 8080; 0 = any free port */
  const char *bind;        /* "127.0.0.1"; not owned (points into argv) */
  const char *db_path;     /* "qrlogin.db" in the working directory */
  const char *web_dir;     /* the web/ directory to serve */
  const char *origins[QRL_MAX_ORIGINS]; /* exact Origin allowlist */
  size_t norigins;         /* 0: Origin must equal http://<Host> */
  const char *hosts[QRL_MAX_ORIGINS]; /* more Host names served (--host), any port */
  size_t nhosts;           /* without --origin or --host only --demo may run
                              (which also serves the loopback names) */
  int64_t challenge_ttl;   /* seconds a QR code lives: 120 */
  int64_t scan_grace;      /* seconds the citizen has on the phone after a scan
                              (or while granting web login), past the code's
                              own life if need be: 300 (0: none) */
  int64_t qr_frame_secs;   /* the QR changes every ... seconds: 2 */
  int fresh_device_hours;  /* a device this new cannot turn web login on: 24
                              (0 with --demo unless given) */
  int no_rate_limits;      /* load tests only: the in-memory throttles off */
  const char *kiosk_name;  /* the kiosk's name/place, shown on the phone */
  int kiosk_idle_secs;     /* a kiosk session ends after this idle time: 120 */
  int web_idle_secs;       /* any other web session ends after this idle time:
                              1800 */
  long bclogout_retry_ms;  /* the first back-channel logout retry's wait, ms:
                              1000 (then doubling; domain/oidc_logout.h) */
  int ws_ping_secs;        /* a silent websocket is pinged after this, closed
                              after twice this: 30 */
  int proximity;           /* phone and browser on different networks:
                              QRL_PROX_FLAG (record), _STEP_UP (passcode), _REFUSE */
  int demo;                /* seed demo citizens, show payloads on the page */
  int hash_cost;           /* scrypt log2(N) for new hashes: 15 */
  int workers;             /* worker threads: qrl_config_cores() */
  int required_level;      /* account level QR web login needs: 2 */
  const char *portal_name; /* the relying portal's display name */
  size_t max_challenges;   /* live challenges at most: 100000 */
  int max_conns_per_ip;    /* open connections per client IPv4 / IPv6 /64: 128;
                              0 = no cap (behind a proxy that caps them) */
  size_t max_challenges_per_ip; /* ... from one IPv4 address or IPv6 /64: 64 */
  int password_level;      /* level the ID + password + OTP path needs: 2 */
  int64_t cutover;         /* unix time legacy citizen logins end:
                              2024-07-01 00:00 Vietnam time */
  int64_t accounts_close;  /* unix time new citizen portal accounts end (a
                              citizen's or a one-stop desk's): 2024-06-15
                              00:00 Vietnam time; shown on the portal page
                              (qrlogin-admin enforces it for the desk) */
  const char *sms_outbox;  /* append-only SMS outbox file: "sms-outbox.log" */
  int otp_ttl;             /* seconds a one-time code stays valid: 300 */
  const char *tls_cert;    /* PEM certificate chain: serve https/wss (with key) */
  const char *tls_key;     /* PEM private key */
  int log_format;          /* QRL_LOG_TEXT (logfmt) or QRL_LOG_JSON */
  int log_level;           /* QRL_LOG_INFO: lines above it are left out */
  const char *log_file;    /* append the log here; NULL: stderr */
  qrl_cidr metrics_allow[QRL_MAX_ORIGINS]; /* who may read /metrics and /readyz:
                              127.0.0.1 and ::1 unless --metrics-allow is given */
  size_t nmetrics_allow;
  qrl_cidr trusted_proxies[QRL_MAX_ORIGINS]; /* --trusted-proxy: a connection
                              from one of these is a proxy's, and its client is
                              the rightmost X-Forwarded-For address that is
                              not a trusted proxy itself */
  size_t ntrusted_proxies;
  int drain_secs;          /* at SIGTERM, logins in flight (a page whose code
                              is scanned) get this long to finish: 10 */
  const char *redis;       /* --redis URL: challenges and their events shared
                              with other nodes through Redis (glue/redis.h);
                              NULL: the in-memory store (one process) */
  const char *redis_password_file; /* --redis-password-file: Redis' AUTH
                              password (the file's first line), or NULL */
  const char *otp_key_file; /* --otp-key-file: the SMS one-time codes' key
                              (SHA-256 of the file), the same file on every
                              node; NULL: a random key per process. Required
                              with --redis */
  const char *node_id;     /* --node-id: this node's name among the nodes
                              sharing a Redis ([A-Za-z0-9_-]{1,32}); NULL: a
                              random one per start */
  const char *issuer;      /* the OpenID Connect issuer (--issuer): scheme://host
                              [:port]; NULL: http://<bind>:<port listened on>
                              (https with --tls-cert) */
  const char *config_default; /* the config file read when --config is not
                              given, if it exists: NULL here (none); qrlogind
                              sets QRL_CONFIG_FILE. Not owned */
  struct qrl_config_str *strs; /* owned: the config file's values, which the
                              fields above point into (qrl_config_free) */
  const char *web_dir_default; /* the web_dir of qrl_config_defaults(); not owned */
  int argc;                /* the command line parsed (qrl_config_parse), */
  char **argv;             /* read again by qrl_config_reread(); not owned */
  void *errs;              /* FILE * where parse problems are said; NULL: stderr */
} qrl_config;

/* The config file qrlogind reads without --config, if it exists. */
#ifndef QRL_CONFIG_FILE
#define QRL_CONFIG_FILE "/etc/qrlogin/qrlogind.conf"
#endif

/* The cores this process may run on (its CPU affinity), 1..64: the default
 * number of workers. */
int qrl_config_cores(void);

/* Fills cfg with the defaults; web_dir_default is the compiled-in web/ path. */
void qrl_config_defaults(qrl_config *cfg, const char *web_dir_default);

/* Parses the config file (--config PATH, else cfg->config_default if that
 * exists) and then argv into cfg: a value on the command line wins, and a
 * repeatable option given there (--origin) replaces the file's list. The
 * file must be a regular file owned by root or the effective user and not
 * writable by others. Returns QRL_OK; QRL_INVAL after printing the problem to
 * stderr (a file's line as "FILE:LINE: reason"; the command line's with a
 * usage hint); or sets *want_help (and returns QRL_OK) for --help, before
 * any file is read. cfg's strings point into argv or into copies cfg owns:
 * call qrl_config_free() when done with cfg, whatever the result. */
qrl_err qrl_config_parse(qrl_config *cfg, int argc, char **argv, int *want_help);

/* Reads the config file and the command line cur was parsed from again,
 * into next (a reload, SIGHUP): QRL_OK, or QRL_INVAL with the problem said
 * to errs (a FILE *; NULL: stderr). Call qrl_config_free(next) either way. */
qrl_err qrl_config_reread(const qrl_config *cur, qrl_config *next, void *errs);

/* The keys a reload cannot change while the server runs (all but log-*,
 * tls-cert/tls-key paths and metrics-allow) whose values differ between a
 * and b: their names, space-separated, into out (n bytes, cut to fit).
 * Returns how many. */
size_t qrl_config_restart_keys(const qrl_config *a, const qrl_config *b, char *out, size_t n);

/* Frees what cfg owns (the config file's values); cfg's strings from the
 * file are invalid after. NULL-safe; cfg may be parsed again after
 * qrl_config_defaults(). */
void qrl_config_free(qrl_config *cfg);

/* Without --demo a server must be told the names it serves (--origin or
 * --host: DNS rebinding, threat-model.md). Returns QRL_OK if cfg may start;
 * else prints why, naming the flags, to stderr and returns QRL_INVAL. */
qrl_err qrl_config_check_hosts(const qrl_config *cfg, const char *prog);

/* Returns 1 if a client at address ip may read /metrics and /readyz
 * (--metrics-allow), else 0. */
int qrl_config_metrics_allowed(const qrl_config *cfg, const char *ip);

/* 1 if address ip is one of the --trusted-proxy blocks, else 0. */
int qrl_config_trusted_proxy(const qrl_config *cfg, const char *ip);

/* Prints the --help text to stream f (a FILE *). */
void qrl_config_usage(void *f, const char *prog);

#endif /* QRLOGIN_CONFIG_H */
