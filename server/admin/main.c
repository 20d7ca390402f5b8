/*
 * main.c - qrlogin-admin: operator commands on a qrlogin database.
 *
 *   qrlogin-admin [--db PATH] [--hash-cost N] GROUP ACTION [ARGS]
 *
 * Exit status: 0 done, 1 refused (the message names why; nothing was
 * written), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "oidc.h"
#include "portal_acct.h"
#include "helpers/num.h"
#include "domain/operator.h"
#include "domain/otp.h"
#include "domain/sms.h"

#define EX_REFUSED 1
#define EX_USAGE 2

static const char usage_text[] =
    "Usage: qrlogin-admin [--db PATH] [--hash-cost N] [--json] GROUP ACTION [ARGS]\n"
    "Operator commands on a qrlogin database (default ./qrlogin.db; it must\n"
    "exist). Every change is audited; a refused command writes nothing.\n"
    "--json (before or after the command) prints every listing and view as one\n"
    "JSON document on one line, for scripts; times are UTC ISO 8601 or null.\n\n"
    "  citizen add --id ID --name NAME --level 1|2 --phone 0XXXXXXXXX\n"
    "              --password PW --passcode NNNNNN [--web-login on|off]\n"
    "  citizen list\n"
    "  citizen show ID\n"
    "  citizen set-level ID 1|2\n"
    "  citizen set-password ID --password PW   (also ends its app and web sessions\n"
    "                                          and pending SMS-code logins)\n"
    "  citizen set-passcode ID --passcode NNNNNN\n"
    "  citizen unlock ID                       (clears passcode failures and locks)\n"
    "  device list ID\n"
    "  device revoke DEVICE_ID                 (and its app sessions)\n"
    "  session list ID\n"
    "  session revoke ID                       (every app and web session)\n"
    "  audit show ID [--limit N]               (newest first, default 50)\n"
    "  audit verify                            (checks the hash chain)\n"
    "  audit export [--after-id N] [--limit N] (every row from the oldest, as JSON\n"
    "                                          lines with id, times, event, outcome,\n"
    "                                          citizen, device, IP, user agent,\n"
    "                                          detail, flow and row_hash; a collector\n"
    "                                          resumes after the last id it stored)\n"
    "  stats [--days N]                        (audit rows by day in Vietnam time,\n"
    "                                          event and outcome, the last N days\n"
    "                                          with today; default 30)\n"
    "  portal verify-id USERNAME CITIZEN_ID    (support: check a portal account's\n"
    "                                           ID against the population register)\n";
static const char usage_tail[] = "\nExit status: 0 done, 1 refused, 2 usage error.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "qrlogin-admin: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'qrlogin-admin --help'.\n");
  return EX_USAGE;
}

static int refused(qrl_err err, const char *what) {
  fprintf(stderr, "qrlogin-admin: %s: %s (%s)\n", what, qrl_strerror(err),
          qrl_err_code(err));
  return EX_REFUSED;
}

static int valid_id(const char *id) {
  return id && qrl_citizen_id_valid(id, strlen(id));
}

typedef struct opts {
  const char *id, *name, *phone, *password, *passcode, *web_login;
  long level, limit, days, after_id;
  int json;
} opts;

/* Parses the action's --options (argv after GROUP ACTION) into o and leaves
 * the positional arguments at argv[optind..]. */
static int parse_opts(int argc, char **argv, opts *o) {
  static const struct option lo[] = {
      {"id", required_argument, NULL, 'i'},       {"name", required_argument, NULL, 'n'},
      {"level", required_argument, NULL, 'l'},    {"phone", required_argument, NULL, 'p'},
      {"password", required_argument, NULL, 'w'}, {"passcode", required_argument, NULL, 'c'},
      {"web-login", required_argument, NULL, 'o'}, {"limit", required_argument, NULL, 'm'},
      {"days", required_argument, NULL, 'y'},     {"after-id", required_argument, NULL, 'a'},
      {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
  int c;
  opterr = 0;
  optind = 0; /* 0, not 1: glibc then forgets main()'s "+" (stop at operands) */
  while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
    switch (c) {
    case 'i': o->id = optarg; break;
    case 'n': o->name = optarg; break;
    case 'l':
      if (qrl_parse_long(optarg, 1, 2, &o->level)) return usage_error("--level wants 1 or 2, not '%s'", optarg);
      break;
    case 'p': o->phone = optarg; break;
    case 'w': o->password = optarg; break;
    case 'c': o->passcode = optarg; break;
    case 'o':
      if (strcmp(optarg, "on") && strcmp(optarg, "off"))
        return usage_error("--web-login wants on or off, not '%s'", optarg);
      o->web_login = optarg;
      break;
    case 'm':
      if (qrl_parse_long(optarg, 1, 100000, &o->limit)) return usage_error("--limit wants 1..100000, not '%s'", optarg);
      break;
    case 'y':
      if (qrl_parse_long(optarg, 1, 3660, &o->days)) return usage_error("--days wants 1..3660, not '%s'", optarg);
      break;
    case 'a':
      if (qrl_parse_long(optarg, 0, 0x7fffffffffffffffL, &o->after_id))
        return usage_error("--after-id wants a row id (0 or more), not '%s'", optarg);
      break;
    case 'j': o->json = 1; break;
    case ':': return usage_error("option %s needs a value", argv[optind - 1]);
    default: return usage_error("unknown option %s", argv[optind - 1]);
    }
  }
  return 0;
}

/* The first second of the day days-1 days before now's, in Vietnam time
 * (UTC+7, no daylight saving). */
static int64_t days_back(int64_t now, long days) {
  const int64_t vn = 7 * 3600, day = 86400;
  int64_t today = (now + vn) / day * day - vn;
  return today - (int64_t)(days - 1) * day;
}

static int run(qrl_db *db, const qrl_acct_policy *pol, int json, const char *group,
               const char *action, int argc, char **argv) {
  opts o = {0};
  qrl_admin_format fmt;
  int64_t now = (int64_t)time(NULL);
  int npos, ex;
  char **pos;
  qrl_err err;

  if ((ex = qrl_admin_oidc_run(db, json, group, argc, argv, now)) >= 0) return ex;
  if ((ex = qrl_admin_portal_acct_run(db, pol, group, argc, argv, now)) >= 0) return ex;
  if ((ex = parse_opts(argc, argv, &o))) return ex;
  fmt = (json || o.json) ? QRL_ADMIN_JSON : QRL_ADMIN_TEXT;
  pos = argv + optind;
  npos = argc - optind;
#define NEED(n, what)                                                        \
  do {                                                                       \
    if (npos != (n)) return usage_error("%s", what);                         \
  } while (0)
#define NEED_ID(s)                                                           \
  do {                                                                       \
    if (!valid_id(s)) return usage_error("'%s' is not a 12-digit citizen ID", (s) ? (s) : ""); \
  } while (0)

  if (!strcmp(group, "citizen") && !strcmp(action, "add")) {
    NEED(0, "citizen add takes only options");
    if (!o.id || !o.name || !o.level || !o.phone || !o.password || !o.passcode)
      return usage_error("%s", "citizen add needs --id --name --level --phone --password --passcode");
    NEED_ID(o.id);
    if (!qrl_phone_valid(o.phone)) return usage_error("--phone '%s': 10 digits starting with 0", o.phone);
    if (!qrl_password_format_ok(o.password)) return usage_error("%s", "--password: 8 to 20 characters");
    if (!qrl_passcode_valid(o.passcode, strlen(o.passcode))) return usage_error("%s", "--passcode: 6 digits");
    err = qrl_db_add_citizen(db, pol, o.id, o.name, (int)o.level, o.phone, o.password,
                             o.passcode, o.web_login && !strcmp(o.web_login, "on"), now);
    if (err == QRL_BAD_MESSAGE) {
      fprintf(stderr, "qrlogin-admin: citizen %s exists already\n", o.id);
      return EX_REFUSED;
    }
    if (err) return refused(err, "citizen add");
    printf("added %s (%s), level %ld\n", o.id, o.name, o.level);
    return 0;
  }
  if (!strcmp(group, "citizen") && !strcmp(action, "list")) {
    NEED(0, "citizen list takes no arguments");
    err = qrl_admin_citizen_list(db, fmt, stdout, now);
    return err ? refused(err, "citizen list") : 0;
  }
  if (!strcmp(group, "citizen") && !strcmp(action, "show")) {
    NEED(1, "citizen show ID");
    NEED_ID(pos[0]);
    err = qrl_admin_citizen_show(db, pos[0], fmt, stdout, now);
    return err ? refused(err, pos[0]) : 0;
  }
  if (!strcmp(group, "citizen") && !strcmp(action, "set-level")) {
    long lv;
    NEED(2, "citizen set-level ID 1|2");
    NEED_ID(pos[0]);
    if (qrl_parse_long(pos[1], 1, 2, &lv)) return usage_error("level '%s': 1 or 2", pos[1]);
    err = qrl_op_set_level(db, pos[0], (int)lv, now);
    if (err) return refused(err, pos[0]);
    printf("%s is now level %ld\n", pos[0], lv);
    return 0;
  }
  if (!strcmp(group, "citizen") &&
      (!strcmp(action, "set-password") || !strcmp(action, "set-passcode"))) {
    int pc = !strcmp(action, "set-passcode");
    const char *v = pc ? o.passcode : o.password;
    NEED(1, pc ? "citizen set-passcode ID --passcode NNNNNN" : "citizen set-password ID --password PW");
    NEED_ID(pos[0]);
    if (!v) return usage_error("%s", pc ? "--passcode is required" : "--password is required");
    err = pc ? qrl_op_set_passcode(db, pol, pos[0], v, now)
             : qrl_op_set_password(db, pol, pos[0], v, now);
    if (err) return refused(err, pos[0]);
    printf("%s of %s replaced\n", pc ? "passcode" : "password", pos[0]);
    return 0;
  }
  if (!strcmp(group, "citizen") && !strcmp(action, "unlock")) {
    NEED(1, "citizen unlock ID");
    NEED_ID(pos[0]);
    err = qrl_op_unlock(db, pos[0], now);
    if (err) return refused(err, pos[0]);
    printf("%s unlocked\n", pos[0]);
    return 0;
  }
  if (!strcmp(group, "device") && !strcmp(action, "list")) {
    qrl_citizen c;
    NEED(1, "device list ID");
    NEED_ID(pos[0]);
    if ((err = qrl_db_get_citizen(db, pos[0], &c))) return refused(err, pos[0]);
    err = qrl_admin_device_list(db, pos[0], fmt, stdout);
    return err ? refused(err, "device list") : 0;
  }
  if (!strcmp(group, "device") && !strcmp(action, "revoke")) {
    long dev;
    NEED(1, "device revoke DEVICE_ID");
    if (qrl_parse_long(pos[0], 1, 0x7fffffffL, &dev)) return usage_error("device id '%s'", pos[0]);
    err = qrl_op_device_revoke(db, dev, now);
    if (err) return refused(err, "device revoke");
    printf("device %ld revoked\n", dev);
    return 0;
  }
  if (!strcmp(group, "session") && !strcmp(action, "list")) {
    qrl_citizen c;
    NEED(1, "session list ID");
    NEED_ID(pos[0]);
    if ((err = qrl_db_get_citizen(db, pos[0], &c))) return refused(err, pos[0]);
    err = qrl_admin_session_list(db, pos[0], fmt, stdout, now);
    return err ? refused(err, "session list") : 0;
  }
  if (!strcmp(group, "session") && !strcmp(action, "revoke")) {
    int n = 0;
    NEED(1, "session revoke ID");
    NEED_ID(pos[0]);
    err = qrl_op_session_revoke(db, pos[0], now, &n);
    if (err) return refused(err, pos[0]);
    printf("%d session(s) of %s revoked\n", n, pos[0]);
    return 0;
  }
  if (!strcmp(group, "audit") && !strcmp(action, "show")) {
    NEED(1, "audit show ID [--limit N]");
    NEED_ID(pos[0]);
    err = qrl_admin_audit_show(db, pos[0], o.limit ? (int)o.limit : 50, fmt, stdout);
    return err ? refused(err, "audit show") : 0;
  }
  if (!strcmp(group, "audit") && !strcmp(action, "verify")) {
    int64_t rows = 0, bad = 0;
    NEED(0, "audit verify takes no arguments");
    err = qrl_db_audit_verify(db, &rows, &bad);
    if (err == QRL_INTERNAL) {
      fprintf(stderr, "qrlogin-admin: audit chain broken at row %lld\n", (long long)bad);
      return EX_REFUSED;
    }
    if (err) return refused(err, "audit verify");
    printf("audit chain intact: %lld rows\n", (long long)rows);
    return 0;
  }
  if (!strcmp(group, "audit") && !strcmp(action, "export")) {
    int64_t rows = 0;
    NEED(0, "audit export [--after-id N] [--limit N]");
    err = qrl_admin_audit_export(db, o.after_id, o.limit, stdout, &rows);
    if (err == QRL_IO) { /* buffered: which rows reached the output is unknown */
      fprintf(stderr, "qrlogin-admin: audit export: the output could not be written (%s)\n",
              qrl_err_code(err));
      return EX_REFUSED;
    }
    if (err) {
      fprintf(stderr, "qrlogin-admin: audit export stopped after %lld rows: %s (%s)\n",
              (long long)rows, qrl_strerror(err), qrl_err_code(err));
      return EX_REFUSED;
    }
    return 0;
  }
  if (!strcmp(group, "stats") && !*action) {
    NEED(0, "stats [--days N]");
    err = qrl_admin_stats(db, days_back(now, o.days ? o.days : 30), fmt, stdout);
    return err ? refused(err, "stats") : 0;
  }
  if (!strcmp(group, "portal") && !strcmp(action, "verify-id")) {
    NEED(2, "portal verify-id USERNAME CITIZEN_ID");
    NEED_ID(pos[1]);
    err = qrl_op_portal_verify(db, pos[0], pos[1], now);
    if (err) return refused(err, pos[0]);
    printf("%s verified as %s\n", pos[0], pos[1]);
    return 0;
  }
  fprintf(stderr, "qrlogin-admin: unknown command '%s%s%s'\nTry 'qrlogin-admin --help'.\n",
          group, *action ? " " : "", action);
  return EX_USAGE;
#undef NEED
#undef NEED_ID
}

int main(int argc, char **argv) {
  static const struct option lo[] = {{"db", required_argument, NULL, 'd'},
                                     {"hash-cost", required_argument, NULL, 'k'},
                                     {"help", no_argument, NULL, 'h'},
                                     {"json", no_argument, NULL, 'j'},
                                     {NULL, 0, NULL, 0}};
  const char *path = "qrlogin.db";
  char shown[512];
  qrl_acct_policy pol = qrl_acct_policy_default();
  qrl_db *db = NULL;
  long v;
  int c, ex, json = 0, one_word;

  opterr = 0;
  while ((c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
    switch (c) {
    case 'd': path = optarg; break;
    case 'k':
      if (qrl_parse_long(optarg, 10, 20, &v)) return usage_error("--hash-cost wants 10..20, not '%s'", optarg);
      pol.hash_cost_log2 = (int)v;
      break;
    case 'h':
      fputs(usage_text, stdout);
      fputs(qrl_admin_oidc_usage, stdout);
      fputs(qrl_admin_portal_acct_usage, stdout);
      fputs(usage_tail, stdout);
      return 0;
    case 'j': json = 1; break;
    case ':': return usage_error("option %s needs a value", argv[optind - 1]);
    default: return usage_error("unknown option %s", argv[optind - 1]);
    }
  }
  /* "stats" is a command of one word; every other is GROUP ACTION. */
  one_word = argc - optind >= 1 && !strcmp(argv[optind], "stats");
  if (!one_word && argc - optind < 2)
    return usage_error("%s", "a command is GROUP ACTION, e.g. 'citizen list'");
  /* Never create a database by accident (a typo in --db). On PostgreSQL
   * a typo names a database that is not there: the connection fails. */
  qrl_db_shown(path, shown, sizeof(shown));
  if (!qrl_db_is_pg_url(path) && access(path, R_OK | W_OK) != 0) {
    fprintf(stderr, "qrlogin-admin: cannot open %s: %s\n", path, strerror(errno));
    return EX_REFUSED;
  }
  if (qrl_db_open(path, &db)) {
    fprintf(stderr, "qrlogin-admin: %s is not a qrlogin database we can open\n", shown);
    return EX_REFUSED;
  }
  ex = one_word ? run(db, &pol, json, argv[optind], "", argc - optind, argv + optind)
               : run(db, &pol, json, argv[optind], argv[optind + 1], argc - optind - 1,
                     argv + optind + 1);
  qrl_db_close(db);
  return ex;
}
