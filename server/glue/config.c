/*
 * config.c - parses qrlogind's config file and long options into a
 * qrl_config and validates each value, both through apply(). Opens only the
 * config file; the files the options name (database, TLS key, ...) are the
 * server's to open, though the TLS key's mode is checked here.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "glue/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glue/redis.h"
#include "helpers/log.h"
#include "helpers/netaddr.h"
#include "helpers/num.h"
#include "helpers/text.h"
#include "helpers/vndate.h"

/* Where parse problems are said: cfg->errs, or stderr. */
static FILE *errs_of(const qrl_config *cfg) { return cfg->errs ? cfg->errs : stderr; }

int qrl_config_cores(void) {
  cpu_set_t set;
  long n = 0;
  /* The cores this process may run on (taskset, a cgroup's cpuset), else
   * the machine's. */
  if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

void qrl_config_defaults(qrl_config *cfg, const char *web_dir_default) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->web_dir_default = web_dir_default;
  cfg->port = 8080;
  cfg->bind = "127.0.0.1";
  cfg->db_path = "qrlogin.db";
  cfg->web_dir = web_dir_default;
  cfg->challenge_ttl = 120;
  cfg->scan_grace = 300;
  cfg->qr_frame_secs = 2;
  cfg->fresh_device_hours = 24;
  cfg->kiosk_name = "Máy tự phục vụ dịch vụ công";
  cfg->kiosk_idle_secs = 120;
  cfg->web_idle_secs = 1800;
  cfg->ws_ping_secs = 30;
  cfg->bclogout_retry_ms = 1000;
  cfg->drain_secs = 10;
  cfg->hash_cost = 15;
  cfg->workers = qrl_config_cores();
  cfg->required_level = 2;
  cfg->portal_name = "Cổng Dịch vụ công quốc gia";
  cfg->max_challenges = 100000;
  cfg->max_conns_per_ip = 128;
  /* The mint throttle (30 codes a minute per IP) and the 120 s lifetime
   * already hold one address to about 60 live codes: a busy school or office
   * NAT loses next to nothing, one network gets 0.064 % of the server.
   * README "Configuration" says more. */
  cfg->max_challenges_per_ip = 64;
  cfg->password_level = 2;
  cfg->cutover = 1719766800; /* 2024-07-01 00:00 +07:00 */
  cfg->accounts_close = 1718384400; /* 2024-06-15 00:00 +07:00 */
  cfg->sms_outbox = "sms-outbox.log";
  cfg->otp_ttl = 300;
  cfg->log_format = QRL_LOG_TEXT;
  cfg->log_level = QRL_LOG_INFO;
  /* /metrics and /readyz: this machine only, until --metrics-allow. */
  (void)qrl_cidr_parse("127.0.0.1", &cfg->metrics_allow[0]);
  (void)qrl_cidr_parse("::1", &cfg->metrics_allow[1]);
  cfg->nmetrics_allow = 2;
}

int qrl_config_trusted_proxy(const qrl_config *cfg, const char *ip) {
  for (size_t i = 0; i < cfg->ntrusted_proxies; i++)
    if (qrl_cidr_match(&cfg->trusted_proxies[i], ip)) return 1;
  return 0;
}

int qrl_config_metrics_allowed(const qrl_config *cfg, const char *ip) {
  for (size_t i = 0; i < cfg->nmetrics_allow; i++)
    if (qrl_cidr_match(&cfg->metrics_allow[i], ip)) return 1;
  return 0;
}

void qrl_config_usage(void *stream, const char *prog) {
  FILE *f = stream;
  fprintf(f,
          "Usage: %s [OPTIONS]\n"
          "QR cross-device login server (HTTP + websockets on one port).\n\n"
          "  --port N             TCP port (default 8080; 0 picks a free one)\n"
          "  --bind ADDR          address to listen on (default 127.0.0.1)\n"
          "  --db PATH|URL        SQLite database file (default ./qrlogin.db), or a\n"
          "                       PostgreSQL database: postgresql://USER@HOST/DB or\n"
          "                       postgresql:///DB?host=/run/postgresql (several nodes\n"
          "                       share one; a password belongs in ~/.pgpass or\n"
          "                       PGPASSFILE, not in the URL, which ps shows)\n"
          "  --web DIR            directory of the login page (default: the installed one,\n"
          "                       PREFIX/share/qrlogin/web found from this program's own\n"
          "                       path; else the source tree's web/; see the last line)\n"
          "  --origin URL         allowed browser Origin, exact (repeatable); its host\n"
          "                       name is also served (any port). Without --origin an\n"
          "                       Origin must equal http://<Host>\n"
          "  --host NAME          also answer requests whose Host is NAME (repeatable; no\n"
          "                       port: any port), e.g. the name a proxy forwards.\n"
          "                       Without --demo, --origin or --host is required; other\n"
          "                       Hosts get 421 (DNS rebinding). --demo also serves\n"
          "                       localhost, 127.0.0.0/8 and [::1]\n"
          "  --challenge-ttl S    seconds a QR code stays valid (default 120, 1..3600)\n"
          "  --scan-grace S       once scanned (or while the citizen turns web login on),\n"
          "                       the code lives at least S seconds more for the phone's\n"
          "                       confirm (default 300, 0..3600)\n"
          "  --redis URL          share live QR codes, their events and the throttles with\n"
          "                       the other nodes via Redis: redis://HOST[:PORT][/DB] or\n"
          "                       unix:/PATH[?db=N] (default: none, this process alone).\n"
          "                       Its maxmemory-policy must be noeviction\n"
          "  --redis-password-file PATH  Redis' password (requirepass): the file's first\n"
          "                       line, chmod 600; sent as AUTH on every connection\n"
          "  --drain-secs S       at SIGTERM, pages waiting for a scan are told to\n"
          "                       reconnect (to another node) and logins already scanned\n"
          "                       get up to S seconds to finish (default 10, 0..600)\n"
          "  --trusted-proxy CIDR a reverse proxy's address or block (repeatable): on its\n"
          "                       connections the client is the rightmost X-Forwarded-For\n"
          "                       address not itself a trusted proxy (default: none; the\n"
          "                       header is then ignored)\n"
          "  --otp-key-file PATH  the key the SMS one-time codes are stored under (32..4096\n"
          "                       random bytes, chmod 600; the same file on every node).\n"
          "                       Required with --redis; default: a random key per start\n"
          "  --node-id NAME       this node's name among those sharing a Redis (1..32 of\n"
          "                       A-Z a-z 0-9 - _; default: a random one per start)\n"
          "  --qr-frame-secs S    the QR code changes every S seconds; a frame older\n"
          "                       than the one before is refused (default 2; 15 with\n"
          "                       --demo; 1..60)\n"
          "  --proximity P        phone on another network than the browser (IPv4 /24,\n"
          "                       IPv6 /48): flag (record it; default), step-up (the\n"
          "                       confirm needs the passcode) or refuse\n"
          "  --fresh-device-hours N  a phone registered less than N hours ago cannot\n"
          "                       turn web login on or link old accounts (default 24;\n"
          "                       0 with --demo; 0..720)\n"
          "  --portal-name NAME   the relying portal's name shown on the phone\n"
          "  --required-level N   account level QR web login needs (1 or 2; default 2)\n"
          "  --workers N          worker threads for hashing and database work (default:\n"
          "                       the cores this process may use, at most 64)\n"
          "  --hash-cost N        scrypt cost log2(N) for new hashes (10..20, default 15)\n"
          "  --max-challenges N   live QR codes at most (default 100000)\n"
          "  --max-conns-per-ip N open connections per client address (IPv4, or IPv6\n"
          "                       /64) at most (default 128; 0 = no cap, for a server\n"
          "                       behind a proxy that caps them: all its clients share\n"
          "                       the proxy's address)\n"
          "  --max-challenges-per-ip N  live QR codes at most from one IPv4 address or\n"
          "                       IPv6 /64 (default 64; too_many_challenges_ip beyond)\n"
          "  --password-level N   account level the ID + password + OTP login needs\n"
          "                       (1 or 2; default 2)\n"
          "  --cutover DATE       from this day (YYYY-MM-DD, Vietnam time) citizens can no\n"
          "                       longer log in with portal-issued accounts (default\n"
          "                       2024-07-01); organizations still can\n"
          "  --accounts-close DATE  from this day (YYYY-MM-DD, Vietnam time) no new citizen\n"
          "                       portal accounts are made, not even at a one-stop desk\n"
          "                       (default 2024-06-15); organizations still get them\n"
          "  --otp-ttl S          seconds a one-time code stays valid (default 300, 1..3600)\n"
          "  --sms-outbox PATH    append every SMS sent to this file (default\n"
          "                       ./sms-outbox.log; it holds one-time codes: mode 0600)\n"
          "  --tls-cert PEM       serve HTTPS and wss:// with this certificate chain\n"
          "  --tls-key PEM        ... and this private key, mode 600 (both or neither); adds HSTS\n"
          "                       and Secure cookies\n"
          "  --issuer URL         the OpenID Connect issuer relying portals see, e.g.\n"
          "                       https://xacthuc.dichvucong.gov.vn: scheme://host[:port],\n"
          "                       no path, query, fragment or trailing slash; the\n"
          "                       provider's endpoints are under it (default\n"
          "                       http://<bind>:<port>, https with --tls-cert)\n"
          "  --bclogout-retry-ms N  wait N ms before retrying a back-channel logout a\n"
          "                       portal did not take, doubling each time up to 10\n"
          "                       minutes, for an hour at most (default 1000, 10..600000)\n"
          "  --kiosk-name NAME    the kiosk's name and place, shown on the phone for\n"
          "                       logins from /kiosk.html (a shared machine)\n"
          "  --kiosk-idle-secs N  a kiosk session ends after N seconds unused, on the\n"
          "                       server (default 120, 10..3600); at most 15 minutes in\n"
          "                       all. The page warns 30 s before and leaves a tenth early\n"
          "  --web-idle-secs N    any other web session ends after N seconds unused, on\n"
          "                       the server (default 1800, 60..28800); at most 8 hours\n"
          "                       in all\n"
          "  --ws-ping-secs N     ping a websocket after N seconds without a frame from it,\n"
          "                       hang up after 2N (default 30, 1..300; keep it under any\n"
          "                       proxy's idle timeout)\n"
          "  --metrics-allow CIDR who may read /metrics and /readyz (repeatable; an\n"
          "                       address or block, e.g. 10.0.0.0/8; default 127.0.0.1\n"
          "                       and ::1); others get 404. /healthz is for anyone\n"
          "  --log-format F       text (logfmt: time level event key=value ...; default)\n"
          "                       or json (one object per line)\n"
          "  --log-level L        error, warn, notice, info (default: every audited\n"
          "                       event too) or debug\n"
          "  --log-file PATH      append the log to this file (mode 0640) instead of\n"
          "                       stderr; SIGHUP opens it again (after logrotate)\n"
          "  --no-rate-limits     turn the per-IP/account/socket throttles off: for load\n"
          "                       tests and benchmarks only, never in production\n"
          "  --demo               seed demo citizens, portal accounts and dossiers, and\n"
          "                       the demo provincial portal's OpenID Connect client; the\n"
          "                       page shows the QR text; SMS also go to the simulated\n"
          "                       mobile network (vneid-sim inbox)\n"
          "  --config PATH        read the options from this file first (default\n"
          "                       %s if it exists): one 'name = value'\n"
          "                       per line, the names of these options without the\n"
          "                       dashes (demo = true), # comments; options given here\n"
          "                       override it\n"
          "  --help               this text\n\n"
          "Prints \"qrlogind: listening on http://ADDR:PORT/\" on stdout once ready;\n"
          "SIGHUP reopens the log file, loads the TLS certificate and key again and\n"
          "applies the config file's log-*, tls-* and metrics-allow keys; exits 0 after\n"
          "a clean shutdown on SIGINT or SIGTERM.\n",
          prog, QRL_CONFIG_FILE);
}

/* scheme "://" host [":" port], nothing more: the host is also served. */
static int origin_ok(const char *s) {
  size_t n = strlen(s);
  char name[QRL_HOST_NAME_MAX];
  int port;
  if (n == 0 || n > 127) return 0;
  if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) return 0;
  return qrl_host_parse(strstr(s, "://") + 3, name, &port) == 0;
}

/* An OpenID Connect issuer: origin_ok() and a lowercase host, or NULL; else
 * the reason (static). Relying parties compare it byte for byte with the
 * "iss" of every token, so nothing may vary: no path (our endpoints are at
 * the root), query, fragment or trailing slash. */
static const char *issuer_problem(const char *s) {
  const char *host = strstr(s, "://");
  if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
    return "--issuer wants an absolute http:// or https:// URL, e.g. "
           "https://xacthuc.dichvucong.gov.vn";
  if (!host[3]) return "--issuer wants a host: scheme://host[:port]";
  if (strpbrk(s, "?#")) return "--issuer takes no query or fragment";
  if (s[strlen(s) - 1] == '/')
    return "--issuer takes no trailing slash (tokens carry it byte for byte): "
           "https://host, not https://host/";
  if (strchr(host + 3, '/')) return "--issuer takes no path: the endpoints are at the server's root";
  if (strchr(host + 3, '@')) return "--issuer takes no user name";
  for (const char *p = host + 3; *p; p++)
    if (*p >= 'A' && *p <= 'Z') return "--issuer wants a lowercase host name";
  if (!origin_ok(s)) return "--issuer wants scheme://host[:port] with a valid host and port";
  return NULL;
}

/* A Host name without a port. */
static int host_ok(const char *s) {
  char name[QRL_HOST_NAME_MAX];
  int port;
  return qrl_host_parse(s, name, &port) == 0 && port < 0;
}

qrl_err qrl_config_check_hosts(const qrl_config *cfg, const char *prog) {
  if (cfg->demo || cfg->norigins || cfg->nhosts) return QRL_OK;
  fprintf(errs_of(cfg),
          "%s: refusing to start without --origin or --host: outside --demo the server\n"
          "answers only for the names it is told, since a page on any other name\n"
          "(DNS rebinding) could drive it from a citizen's browser. Give the login\n"
          "page's origin, e.g. --origin https://dichvucong.gov.vn, and --host for any\n"
          "other name a proxy forwards; or run --demo (localhost only).\n",
          prog);
  return QRL_INVAL;
}

/* ---- one option, from the command line or the file ----------------------- */

enum {
  OPT_BCLRETRY = 900, /* --bclogout-retry-ms */
  OPT_PORT = 1000, OPT_BIND, OPT_DB, OPT_WEB, OPT_ORIGIN, OPT_TTL, OPT_DEMO,
  OPT_HASH, OPT_WORKERS, OPT_LEVEL, OPT_PORTAL, OPT_MAXCH, OPT_HELP,
  OPT_PWLEVEL, OPT_CUTOVER, OPT_OUTBOX, OPT_OTPTTL, OPT_CERT, OPT_KEY, OPT_FRAME,
  OPT_PROX, OPT_FRESH, OPT_NORL, OPT_KNAME, OPT_KIDLE, OPT_HOST, OPT_MAXCH_IP,
  OPT_MAXCONNIP, OPT_WIDLE, OPT_WSPING, OPT_METRICS_ALLOW, OPT_CONFIG, OPT_LOGFMT,
  OPT_LOGLEVEL, OPT_LOGFILE, OPT_ISSUER, OPT_ACCTCLOSE, OPT_GRACE, OPT_REDIS, OPT_NODEID, OPT_DRAIN, OPT_OTPKEY, OPT_TPROXY,
  OPT_REDISPW
};

/* A node's name: 1..32 of [A-Za-z0-9_-] (it names Redis keys and channels). */
static int node_id_valid(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 32) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
      return 0;
  return 1;
}

/* Every option; a config file's keys are the same names (not help, config). */
static const struct option opts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"password-level", required_argument, NULL, OPT_PWLEVEL},
    {"cutover", required_argument, NULL, OPT_CUTOVER},
    {"accounts-close", required_argument, NULL, OPT_ACCTCLOSE},
    {"sms-outbox", required_argument, NULL, OPT_OUTBOX},
    {"otp-ttl", required_argument, NULL, OPT_OTPTTL},
    {"qr-frame-secs", required_argument, NULL, OPT_FRAME},
    {"proximity", required_argument, NULL, OPT_PROX},
    {"fresh-device-hours", required_argument, NULL, OPT_FRESH},
    {"no-rate-limits", no_argument, NULL, OPT_NORL},
    {"kiosk-name", required_argument, NULL, OPT_KNAME},
    {"kiosk-idle-secs", required_argument, NULL, OPT_KIDLE},
    {"web-idle-secs", required_argument, NULL, OPT_WIDLE},
    {"ws-ping-secs", required_argument, NULL, OPT_WSPING},
    {"tls-cert", required_argument, NULL, OPT_CERT},
    {"tls-key", required_argument, NULL, OPT_KEY},
    {"bind", required_argument, NULL, OPT_BIND},
    {"db", required_argument, NULL, OPT_DB},
    {"web", required_argument, NULL, OPT_WEB},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"challenge-ttl", required_argument, NULL, OPT_TTL},
    {"scan-grace", required_argument, NULL, OPT_GRACE},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"node-id", required_argument, NULL, OPT_NODEID},
    {"drain-secs", required_argument, NULL, OPT_DRAIN},
    {"otp-key-file", required_argument, NULL, OPT_OTPKEY},
    {"redis-password-file", required_argument, NULL, OPT_REDISPW},
    {"trusted-proxy", required_argument, NULL, OPT_TPROXY},
    {"demo", no_argument, NULL, OPT_DEMO},
    {"hash-cost", required_argument, NULL, OPT_HASH},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"required-level", required_argument, NULL, OPT_LEVEL},
    {"portal-name", required_argument, NULL, OPT_PORTAL},
    {"max-challenges", required_argument, NULL, OPT_MAXCH},
    {"max-conns-per-ip", required_argument, NULL, OPT_MAXCONNIP},
    {"max-challenges-per-ip", required_argument, NULL, OPT_MAXCH_IP},
    {"host", required_argument, NULL, OPT_HOST},
    {"metrics-allow", required_argument, NULL, OPT_METRICS_ALLOW},
    {"log-format", required_argument, NULL, OPT_LOGFMT},
    {"log-level", required_argument, NULL, OPT_LOGLEVEL},
    {"log-file", required_argument, NULL, OPT_LOGFILE},
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"bclogout-retry-ms", required_argument, NULL, OPT_BCLRETRY},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

/* Where a value came from: a later source overrides an earlier one. */
enum { SRC_DEFAULT, SRC_FILE, SRC_ARGV };
enum { LIST_ORIGIN, LIST_HOST, LIST_METRICS_ALLOW, LIST_TRUSTED_PROXY, NLISTS };

/* What one parse remembers across the file and the command line. */
typedef struct parse_state {
  int frame_set, fresh_set; /* given at all: the demo's defaults yield */
  int list_src[NLISTS];     /* the source of a repeatable option's values */
} parse_state;

/* A repeatable option's first value from a source replaces what an earlier
 * source gave (the file's --origin list, or the default --metrics-allow). */
static void list_from(parse_state *st, int list, int src, size_t *count) {
  if (st->list_src[list] != src) *count = 0;
  st->list_src[list] = src;
}

/* A config file's on/off value for an option that takes none on the command
 * line: 1, 0, or -1. */
static int parse_bool(const char *s) {
  static const char *const on[] = {"true", "yes", "on", "1"};
  static const char *const off[] = {"false", "no", "off", "0"};
  for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
    if (!strcmp(s, on[i])) return 1;
    if (!strcmp(s, off[i])) return 0;
  }
  return -1;
}

/* Applies option c (OPT_*) with value arg (NULL for an option without a value
 * given on the command line) from source src to cfg. arg must outlive cfg
 * (not copied). Returns 0, or -1 with the reason in *what (static text). */
static int apply(qrl_config *cfg, parse_state *st, int c, const char *arg, int src,
                 const char **what) {
  long v;
  switch (c) {
  case OPT_PORT:
    if (qrl_parse_long(arg, 0, 65535, &v)) { *what = "--port wants 0..65535"; return -1; }
    cfg->port = (int)v;
    break;
  case OPT_BIND:
    {
      struct in_addr ia;
      if (strlen(arg) > 63 || inet_pton(AF_INET, arg, &ia) != 1) {
        *what = "--bind wants an IPv4 address (127.0.0.1, 0.0.0.0, ...)";
        return -1;
      }
    }
    cfg->bind = arg;
    break;
  case OPT_DB:
    if (!*arg) { *what = "--db wants a file path or a postgresql:// URL"; return -1; }
    cfg->db_path = arg;
    break;
  case OPT_WEB:
    if (!*arg) { *what = "--web wants a directory"; return -1; }
    cfg->web_dir = arg;
    break;
  case OPT_ORIGIN:
    if (!origin_ok(arg)) {
      *what = "--origin wants scheme://host[:port], e.g. https://dichvucong.gov.vn";
      return -1;
    }
    list_from(st, LIST_ORIGIN, src, &cfg->norigins);
    if (cfg->norigins == QRL_MAX_ORIGINS) { *what = "too many --origin (16 at most)"; return -1; }
    cfg->origins[cfg->norigins++] = arg;
    break;
  case OPT_HOST:
    if (!host_ok(arg)) {
      *what = "--host wants a host name or address without a port (any port is served), "
              "e.g. dichvucong.gov.vn";
      return -1;
    }
    list_from(st, LIST_HOST, src, &cfg->nhosts);
    if (cfg->nhosts == QRL_MAX_ORIGINS) { *what = "too many --host (16 at most)"; return -1; }
    cfg->hosts[cfg->nhosts++] = arg;
    break;
  case OPT_METRICS_ALLOW:
    list_from(st, LIST_METRICS_ALLOW, src, &cfg->nmetrics_allow);
    if (cfg->nmetrics_allow == QRL_MAX_ORIGINS) {
      *what = "too many --metrics-allow (16 at most)";
      return -1;
    }
    if (qrl_cidr_parse(arg, &cfg->metrics_allow[cfg->nmetrics_allow])) {
      *what = "--metrics-allow wants an address or ADDR/LEN with no host bits set, "
              "e.g. 10.0.0.0/8 or ::1";
      return -1;
    }
    cfg->nmetrics_allow++;
    break;
  case OPT_TPROXY:
    list_from(st, LIST_TRUSTED_PROXY, src, &cfg->ntrusted_proxies);
    if (cfg->ntrusted_proxies == QRL_MAX_ORIGINS) {
      *what = "too many --trusted-proxy (16 at most)";
      return -1;
    }
    if (qrl_cidr_parse(arg, &cfg->trusted_proxies[cfg->ntrusted_proxies])) {
      *what = "--trusted-proxy wants an address or ADDR/LEN with no host bits set, "
              "e.g. 10.0.0.0/24 or 127.0.0.1";
      return -1;
    }
    cfg->ntrusted_proxies++;
    break;
  case OPT_TTL:
    if (qrl_parse_long(arg, 1, 3600, &v)) { *what = "--challenge-ttl wants 1..3600 seconds"; return -1; }
    cfg->challenge_ttl = v;
    break;
  case OPT_GRACE:
    if (qrl_parse_long(arg, 0, 3600, &v)) { *what = "--scan-grace wants 0..3600 seconds"; return -1; }
    cfg->scan_grace = v;
    break;
  case OPT_REDIS: {
    qrl_redis_addr ra;
    char why[160];
    if (qrl_redis_addr_parse(arg, &ra, why, sizeof(why))) {
      *what = "--redis wants redis://HOST[:PORT][/DB] (DB 0..15) or unix:/PATH[?db=N]";
      return -1;
    }
    cfg->redis = arg;
    break;
  }
  case OPT_DRAIN:
    if (qrl_parse_long(arg, 0, 600, &v)) { *what = "--drain-secs wants 0..600 seconds"; return -1; }
    cfg->drain_secs = (int)v;
    break;
  case OPT_NODEID:
    if (!node_id_valid(arg)) {
      *what = "--node-id wants 1..32 letters, digits, '-' or '_'";
      return -1;
    }
    cfg->node_id = arg;
    break;
  case OPT_DEMO:
  case OPT_NORL:
    v = arg ? parse_bool(arg) : 1;
    if (v < 0) {
      *what = c == OPT_DEMO ? "--demo wants true or false" : "--no-rate-limits wants true or false";
      return -1;
    }
    if (c == OPT_DEMO) cfg->demo = (int)v;
    else cfg->no_rate_limits = (int)v;
    break;
  case OPT_HASH:
    if (qrl_parse_long(arg, 10, 20, &v)) { *what = "--hash-cost wants 10..20"; return -1; }
    cfg->hash_cost = (int)v;
    break;
  case OPT_WORKERS:
    if (qrl_parse_long(arg, 1, 64, &v)) { *what = "--workers wants 1..64"; return -1; }
    cfg->workers = (int)v;
    break;
  case OPT_LEVEL:
    if (qrl_parse_long(arg, 1, 2, &v)) { *what = "--required-level wants 1 or 2"; return -1; }
    cfg->required_level = (int)v;
    break;
  case OPT_PORTAL:
    if (!*arg || strlen(arg) > 90 || !qrl_text_is_clean(arg)) {
      *what = "--portal-name wants 1..90 bytes of UTF-8 text without control characters";
      return -1;
    }
    cfg->portal_name = arg;
    break;
  case OPT_MAXCH:
    if (qrl_parse_long(arg, 1, 10000000, &v)) { *what = "--max-challenges wants 1..10000000"; return -1; }
    cfg->max_challenges = (size_t)v;
    break;
  case OPT_MAXCONNIP:
    if (qrl_parse_long(arg, 0, 1000000, &v)) { *what = "--max-conns-per-ip wants 0..1000000"; return -1; }
    cfg->max_conns_per_ip = (int)v;
    break;
  case OPT_MAXCH_IP:
    if (qrl_parse_long(arg, 1, 10000000, &v)) {
      *what = "--max-challenges-per-ip wants 1..10000000";
      return -1;
    }
    cfg->max_challenges_per_ip = (size_t)v;
    break;
  case OPT_PWLEVEL:
    if (qrl_parse_long(arg, 1, 2, &v)) { *what = "--password-level wants 1 or 2"; return -1; }
    cfg->password_level = (int)v;
    break;
  case OPT_CUTOVER:
    if (qrl_vndate_parse(arg, &cfg->cutover)) {
      *what = "--cutover wants a date YYYY-MM-DD (2000..2100)";
      return -1;
    }
    break;
  case OPT_ACCTCLOSE:
    if (qrl_vndate_parse(arg, &cfg->accounts_close)) {
      *what = "--accounts-close wants a date YYYY-MM-DD (2000..2100)";
      return -1;
    }
    break;
  case OPT_REDISPW: {
    /* A secret too: checked like the OTP key, read when the store starts. */
    struct stat sb;
    if (!*arg || access(arg, R_OK) != 0 || stat(arg, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      *what = "--redis-password-file wants a readable file";
      return -1;
    }
    if (sb.st_mode & 077) {
      *what = "--redis-password-file must not be readable or writable by group or others "
              "(chmod 600)";
      return -1;
    }
    if (sb.st_size < 1 || sb.st_size > 512) {
      *what = "--redis-password-file wants a password of 1..512 bytes on its first line";
      return -1;
    }
    cfg->redis_password_file = arg;
    break;
  }
  case OPT_OTPKEY: {
    /* A secret: the owner's alone, like a TLS key; read (and its size
     * checked) when the server starts. */
    struct stat sb;
    if (!*arg || access(arg, R_OK) != 0 || stat(arg, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      *what = "--otp-key-file wants a readable file";
      return -1;
    }
    if (sb.st_mode & 077) {
      *what = "--otp-key-file must not be readable or writable by group or others (chmod 600)";
      return -1;
    }
    if (sb.st_size < 32 || sb.st_size > 4096) {
      *what = "--otp-key-file wants 32..4096 bytes of random data (openssl rand -out FILE 32)";
      return -1;
    }
    cfg->otp_key_file = arg;
    break;
  }
  case OPT_CERT:
  case OPT_KEY:
    if (!*arg || access(arg, R_OK) != 0) {
      *what = c == OPT_CERT ? "--tls-cert wants a readable PEM file"
                            : "--tls-key wants a readable PEM file";
      return -1;
    }
    if (c == OPT_KEY) {
      /* The private key is the owner's alone, as ssh insists for its own. */
      struct stat sb;
      if (stat(arg, &sb) != 0 || (sb.st_mode & 077)) {
        *what = "--tls-key must not be readable or writable by group or others "
                "(chmod 600)";
        return -1;
      }
      cfg->tls_key = arg;
    } else {
      cfg->tls_cert = arg;
    }
    break;
  case OPT_ISSUER:
    if ((*what = issuer_problem(arg))) return -1;
    cfg->issuer = arg;
    break;
  case OPT_KNAME:
    if (!*arg || strlen(arg) > 90 || !qrl_text_is_clean(arg)) {
      *what = "--kiosk-name wants 1..90 bytes of UTF-8 text without control characters";
      return -1;
    }
    cfg->kiosk_name = arg;
    break;
  case OPT_KIDLE:
    if (qrl_parse_long(arg, 10, 3600, &v)) { *what = "--kiosk-idle-secs wants 10..3600"; return -1; }
    cfg->kiosk_idle_secs = (int)v;
    break;
  case OPT_WIDLE:
    if (qrl_parse_long(arg, 60, 28800, &v)) { *what = "--web-idle-secs wants 60..28800"; return -1; }
    cfg->web_idle_secs = (int)v;
    break;
  case OPT_BCLRETRY:
    if (qrl_parse_long(arg, 10, 600000, &v)) {
      *what = "--bclogout-retry-ms wants 10..600000";
      return -1;
    }
    cfg->bclogout_retry_ms = v;
    break;
  case OPT_WSPING:
    if (qrl_parse_long(arg, 1, 300, &v)) { *what = "--ws-ping-secs wants 1..300"; return -1; }
    cfg->ws_ping_secs = (int)v;
    break;
  case OPT_FRESH:
    if (qrl_parse_long(arg, 0, 720, &v)) { *what = "--fresh-device-hours wants 0..720"; return -1; }
    cfg->fresh_device_hours = (int)v;
    st->fresh_set = 1;
    break;
  case OPT_PROX:
    if (!strcmp(arg, "flag")) cfg->proximity = QRL_PROX_FLAG;
    else if (!strcmp(arg, "step-up")) cfg->proximity = QRL_PROX_STEP_UP;
    else if (!strcmp(arg, "refuse")) cfg->proximity = QRL_PROX_REFUSE;
    else { *what = "--proximity wants flag, step-up or refuse"; return -1; }
    break;
  case OPT_FRAME:
    if (qrl_parse_long(arg, 1, 60, &v)) { *what = "--qr-frame-secs wants 1..60"; return -1; }
    cfg->qr_frame_secs = v;
    st->frame_set = 1;
    break;
  case OPT_OTPTTL:
    if (qrl_parse_long(arg, 1, 3600, &v)) { *what = "--otp-ttl wants 1..3600 seconds"; return -1; }
    cfg->otp_ttl = (int)v;
    break;
  case OPT_OUTBOX:
    if (!*arg) { *what = "--sms-outbox wants a file path"; return -1; }
    cfg->sms_outbox = arg;
    break;
  case OPT_LOGFMT:
    if ((cfg->log_format = qrl_log_parse_format(arg)) < 0) {
      *what = "--log-format wants text or json";
      return -1;
    }
    break;
  case OPT_LOGLEVEL:
    if ((cfg->log_level = qrl_log_parse_level(arg)) < 0) {
      *what = "--log-level wants error, warn, notice, info or debug";
      return -1;
    }
    break;
  case OPT_LOGFILE:
    if (!*arg) { *what = "--log-file wants a file path"; return -1; }
    cfg->log_file = arg;
    break;
  default:
    *what = "not an option";
    return -1;
  }
  return 0;
}

/* ---- the config file ------------------------------------------------------ */

/* A copy of a file's value, kept until qrl_config_free(). */
struct qrl_config_str {
  struct qrl_config_str *next;
  char s[];
};

static const char *keep_string(qrl_config *cfg, const char *s) {
  size_t n = strlen(s) + 1;
  struct qrl_config_str *k = malloc(sizeof(*k) + n);
  if (!k) return NULL;
  memcpy(k->s, s, n);
  k->next = cfg->strs;
  cfg->strs = k;
  return k->s;
}

void qrl_config_free(qrl_config *cfg) {
  struct qrl_config_str *k, *next;
  if (!cfg) return;
  for (k = cfg->strs; k; k = next) {
    next = k->next;
    free(k);
  }
  cfg->strs = NULL;
}

/* One file being read: inih asks read_line() for lines and hands each
 * key = value to on_key(); the first problem stops both. */
typedef struct file_ctx {
  FILE *f;
  const char *path;
  qrl_config *cfg;
  parse_state *st;
  int line;           /* of the line last read */
  int err_line;       /* 0, or where the first problem is */
  char why[256];      /* ... and what it is */
} file_ctx;

/* Records the first problem, at the line last read. */
__attribute__((format(printf, 2, 3))) static void file_fail(file_ctx *fc, const char *fmt,
                                                             ...) {
  va_list ap;
  if (fc->err_line) return;
  fc->err_line = fc->line;
  va_start(ap, fmt);
  vsnprintf(fc->why, sizeof(fc->why), fmt, ap);
  va_end(ap);
}

/* inih's reader: one line, refusing what inih would take some other way
 * than this file format means (sections, continuation lines, long lines). */
static char *read_line(char *buf, int num, void *stream) {
  file_ctx *fc = stream;
  size_t len;
  const char *p;
  if (fc->err_line || !fgets(buf, num, fc->f)) return NULL;
  fc->line++;
  len = strlen(buf);
  if (len == (size_t)num - 1 && buf[len - 1] != '\n') {
    int ch = getc(fc->f);
    if (ch != EOF) {
      file_fail(fc, "line longer than %d bytes", num - 2);
      return NULL;
    }
  }
  for (p = buf; *p == ' ' || *p == '\t'; p++) {}
  if (*p == '[') {
    file_fail(fc, "sections are not part of this format: keys go at the top level");
    return NULL;
  }
  if (p != buf && *p && *p != '\n' && *p != '\r' && *p != '#' && *p != ';') {
    file_fail(fc, "indented line (no continuation lines: one key = value per line)");
    return NULL;
  }
  return buf;
}

/* The text of reason without the command line's "--" before option names:
 * in the file they are keys. */
static void strip_dashes(const char *reason, char *out, size_t n) {
  size_t j = 0;
  for (size_t i = 0; reason[i] && j + 1 < n; i++) {
    if (reason[i] == '-' && reason[i + 1] == '-' && reason[i + 2] >= 'a' &&
        reason[i + 2] <= 'z' && (i == 0 || reason[i - 1] == ' ')) {
      i++;
      continue;
    }
    out[j++] = reason[i];
  }
  out[j] = '\0';
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
  file_ctx *fc = user;
  const struct option *o;
  const char *what = NULL, *kept;
  char reason[200];
  (void)section; /* always "": read_line() refuses section headers */
  if (fc->err_line) return 0;
  for (o = opts; o->name; o++)
    if (!strcmp(o->name, name)) break;
  if (!o->name || o->val == OPT_HELP || o->val == OPT_CONFIG) {
    file_fail(fc, "unknown key '%s'", name);
    return 0;
  }
  if (!(kept = keep_string(fc->cfg, value))) {
    file_fail(fc, "out of memory");
    return 0;
  }
  if (apply(fc->cfg, fc->st, o->val, kept, SRC_FILE, &what)) {
    strip_dashes(what, reason, sizeof(reason));
    file_fail(fc, "invalid value '%s': %s", value, reason);
    return 0;
  }
  return 1;
}

/* Reads the config file at path into cfg. explicit: --config named it, so a
 * missing file is an error (the default one is optional). Returns QRL_OK or
 * QRL_INVAL after saying why on stderr ("FILE:LINE: reason" for its lines). */
static qrl_err load_file(qrl_config *cfg, parse_state *st, const char *prog, const char *path,
                         int explicit) {
  file_ctx fc;
  struct stat sb;
  int r;
  qrl_err rc = QRL_INVAL;

  memset(&fc, 0, sizeof(fc));
  fc.path = path;
  fc.cfg = cfg;
  fc.st = st;
  if (!(fc.f = fopen(path, "re"))) {
    if (errno == ENOENT && !explicit) return QRL_OK;
    fprintf(errs_of(cfg), "%s: cannot read the config file %s: %s\n", prog, path, strerror(errno));
    return QRL_INVAL;
  }
  if (fstat(fileno(fc.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fprintf(errs_of(cfg), "%s: the config file %s is not a regular file\n", prog, path);
    goto out;
  }
  /* Whoever may write it may choose the key and the database: only root
   * or the user running the server, and never everyone. */
  if (sb.st_mode & S_IWOTH) {
    fprintf(errs_of(cfg), "%s: the config file %s is writable by anyone (chmod o-w)\n", prog, path);
    goto out;
  }
  if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
    fprintf(errs_of(cfg), "%s: the config file %s must belong to root or to the user running "
                    "the server (uid %ld), not uid %ld\n",
            prog, path, (long)geteuid(), (long)sb.st_uid);
    goto out;
  }
  r = ini_parse_stream(read_line, &fc, on_key, &fc);
  if (r > 0 && (!fc.err_line || r < fc.err_line)) {
    fc.err_line = r;
    snprintf(fc.why, sizeof(fc.why), "not a 'key = value' line");
  } else if (r < 0 && !fc.err_line) {
    fprintf(errs_of(cfg), "%s: cannot read the config file %s\n", prog, path);
    goto out;
  }
  if (!fc.err_line && ferror(fc.f)) {
    fprintf(errs_of(cfg), "%s: cannot read the config file %s: %s\n", prog, path, strerror(errno));
    goto out;
  }
  if (fc.err_line) {
    fprintf(errs_of(cfg), "%s:%d: %s\n", path, fc.err_line, fc.why);
    goto out;
  }
  rc = QRL_OK;
out:
  fclose(fc.f);
  return rc;
}

/* ---- the command line ----------------------------------------------------- */

qrl_err qrl_config_parse(qrl_config *cfg, int argc, char **argv, int *want_help) {
  const char *prog = argc > 0 ? argv[0] : "qrlogind";
  const char *what = NULL, *config = NULL;
  parse_state st;
  int c, explicit = 0;

  memset(&st, 0, sizeof(st));
  *want_help = 0;
  opterr = 0;
  /* First pass: --help and --config only; the file's values come first so
   * that the command line overrides them. Mistakes are said in the second. */
  optind = 0;
  while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
    if (c == OPT_HELP) {
      *want_help = 1;
      return QRL_OK;
    }
    if (c == OPT_CONFIG) {
      config = optarg;
      explicit = 1;
    }
  }
  if (explicit && !*config) {
    fprintf(errs_of(cfg), "%s: invalid value '': --config wants a file path\n", prog);
    goto usage;
  }
  if (!config) config = cfg->config_default;
  if (config && load_file(cfg, &st, prog, config, explicit)) return QRL_INVAL;

  optind = 0;
  while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
    switch (c) {
    case OPT_CONFIG: break; /* read above */
    case ':':
      fprintf(errs_of(cfg), "%s: option %s needs a value\n", prog, argv[optind - 1]);
      goto usage;
    case '?':
      fprintf(errs_of(cfg), "%s: unknown option %s\n", prog, argv[optind - 1]);
      goto usage;
    default:
      /* glibc leaves optarg NULL for an option without a value */
      if (apply(cfg, &st, c, c == OPT_DEMO || c == OPT_NORL ? NULL : optarg, SRC_ARGV, &what))
        goto bad;
    }
  }
  if (optind < argc) {
    fprintf(errs_of(cfg), "%s: unexpected argument '%s'\n", prog, argv[optind]);
    goto usage;
  }
  /* A demo is driven by hand (download the PNG, type the command): slower
   * frames unless asked otherwise. */
  if (cfg->demo && !st.frame_set) cfg->qr_frame_secs = 15;
  /* ... and starts with a just-registered simulator. */
  if (cfg->demo && !st.fresh_set) cfg->fresh_device_hours = 0;
  /* Many nodes check each other's SMS codes: one key for all of them. */
  if (cfg->redis && !cfg->otp_key_file) {
    fprintf(errs_of(cfg),
            "%s: --redis needs --otp-key-file: every node must check the SMS codes the "
            "others sent, so all of them need the same key file (openssl rand -out FILE 32; "
            "chmod 600)\n",
            prog);
    goto usage;
  }
  if (cfg->redis_password_file && !cfg->redis) {
    fprintf(errs_of(cfg), "%s: --redis-password-file goes with --redis\n", prog);
    goto usage;
  }
  if (!cfg->tls_cert != !cfg->tls_key) {
    fprintf(errs_of(cfg), "%s: --tls-cert and --tls-key go together\n", prog);
    goto usage;
  }
  cfg->argc = argc;
  cfg->argv = argv;
  return QRL_OK;
bad:
  fprintf(errs_of(cfg), "%s: invalid value '%s': %s\n", prog, optarg, what);
usage:
  fprintf(errs_of(cfg), "Try '%s --help'.\n", prog);
  return QRL_INVAL;
}

/* ---- reloads -------------------------------------------------------------- */

qrl_err qrl_config_reread(const qrl_config *cur, qrl_config *next, void *errs) {
  int help = 0;
  qrl_config_defaults(next, cur->web_dir_default);
  next->config_default = cur->config_default;
  next->errs = errs;
  return qrl_config_parse(next, cur->argc, cur->argv, &help);
}

static int str_differs(const char *a, const char *b) {
  return !a != !b || (a && strcmp(a, b) != 0);
}

static int list_differs(const char *const *a, size_t na, const char *const *b, size_t nb) {
  if (na != nb) return 1;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0) return 1;
  return 0;
}

size_t qrl_config_restart_keys(const qrl_config *a, const qrl_config *b, char *out, size_t n) {
  size_t count = 0, len = 0;
  out[0] = '\0';
#define KEY_DIFFERS(cond, name)                                                  \
  do {                                                                          \
    if (cond) {                                                                 \
      int w = snprintf(out + len, n - len, "%s%s", count ? " " : "", name);     \
      if (w > 0 && (size_t)w < n - len) len += (size_t)w;                       \
      count++;                                                                  \
    }                                                                           \
  } while (0)
#define FIELD(f, name) KEY_DIFFERS(a->f != b->f, name)
#define STR(f, name) KEY_DIFFERS(str_differs(a->f, b->f), name)
  FIELD(port, "port");
  STR(bind, "bind");
  STR(db_path, "db");
  STR(web_dir, "web");
  KEY_DIFFERS(list_differs(a->origins, a->norigins, b->origins, b->norigins), "origin");
  KEY_DIFFERS(list_differs(a->hosts, a->nhosts, b->hosts, b->nhosts), "host");
  KEY_DIFFERS(a->ntrusted_proxies != b->ntrusted_proxies ||
                  memcmp(a->trusted_proxies, b->trusted_proxies,
                         a->ntrusted_proxies * sizeof(a->trusted_proxies[0])) != 0,
              "trusted-proxy");
  FIELD(challenge_ttl, "challenge-ttl");
  FIELD(scan_grace, "scan-grace");
  STR(redis, "redis");
  STR(node_id, "node-id");
  STR(otp_key_file, "otp-key-file");
  STR(redis_password_file, "redis-password-file");
  FIELD(drain_secs, "drain-secs");
  FIELD(qr_frame_secs, "qr-frame-secs");
  FIELD(fresh_device_hours, "fresh-device-hours");
  FIELD(no_rate_limits, "no-rate-limits");
  STR(kiosk_name, "kiosk-name");
  FIELD(kiosk_idle_secs, "kiosk-idle-secs");
  FIELD(web_idle_secs, "web-idle-secs");
  FIELD(ws_ping_secs, "ws-ping-secs");
  FIELD(bclogout_retry_ms, "bclogout-retry-ms");
  FIELD(proximity, "proximity");
  FIELD(demo, "demo");
  FIELD(hash_cost, "hash-cost");
  FIELD(workers, "workers");
  FIELD(required_level, "required-level");
  STR(portal_name, "portal-name");
  FIELD(max_challenges, "max-challenges");
  FIELD(max_conns_per_ip, "max-conns-per-ip");
  FIELD(max_challenges_per_ip, "max-challenges-per-ip");
  FIELD(password_level, "password-level");
  FIELD(cutover, "cutover");
  FIELD(accounts_close, "accounts-close");
  STR(sms_outbox, "sms-outbox");
  FIELD(otp_ttl, "otp-ttl");
  KEY_DIFFERS(!a->tls_cert != !b->tls_cert, "tls-cert");
  STR(issuer, "issuer");
#undef STR
#undef FIELD
#undef KEY_DIFFERS
  return count;
}
