/*
 * portal_acct.c - portal-account add at a one-stop desk (portal_acct.h).
 */
#include "portal_acct.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "domain/legacy.h"
#include "domain/otp.h"
#include "domain/sms.h"
#include "helpers/vndate.h"

#define EX_REFUSED 1
#define EX_USAGE 2
#define DEFAULT_ACCOUNTS_CLOSE "2024-06-15"

const char qrl_admin_portal_acct_usage[] =
    "  portal-account add USERNAME --kind citizen|organization --name NAME\n"
    "              --phone 0XXXXXXXXX --password PW --by-desk OFFICIAL\n"
    "              [--dob YYYY-MM-DD] [--id CITIZEN_ID] [--accounts-close DATE]\n"
    "                                          (a one-stop desk official makes a\n"
    "                                          portal account; a citizen's is refused\n"
    "                                          from the accounts-close day, default\n"
    "                                          2024-06-15, Vietnam time; give the\n"
    "                                          same date as qrlogind's accounts-close)\n";

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "qrlogin-admin: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'qrlogin-admin --help'.\n");
  return EX_USAGE;
}

typedef struct desk_opts {
  const char *kind, *name, *phone, *password, *official, *dob, *id, *close;
} desk_opts;

/* Parses add's options into o; the username is left at argv[optind]. */
static int parse(int argc, char **argv, desk_opts *o) {
  static const struct option lo[] = {
      {"kind", required_argument, NULL, 'k'},     {"name", required_argument, NULL, 'n'},
      {"phone", required_argument, NULL, 'p'},    {"password", required_argument, NULL, 'w'},
      {"by-desk", required_argument, NULL, 'b'},  {"dob", required_argument, NULL, 'd'},
      {"id", required_argument, NULL, 'i'},       {"accounts-close", required_argument, NULL, 'c'},
      {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
    switch (c) {
    case 'k': o->kind = optarg; break;
    case 'n': o->name = optarg; break;
    case 'p': o->phone = optarg; break;
    case 'w': o->password = optarg; break;
    case 'b': o->official = optarg; break;
    case 'd': o->dob = optarg; break;
    case 'i': o->id = optarg; break;
    case 'c': o->close = optarg; break;
    case 'j': break; /* accepted after the command as everywhere; add prints no view */
    case ':': return usage("option %s needs a value", argv[optind - 1]);
    default: return usage("unknown option %s", argv[optind - 1]);
    }
  }
  return 0;
}

static int add(qrl_db *db, const qrl_acct_policy *pol, int argc, char **argv, int64_t now) {
  desk_opts o = {0};
  int64_t close, dob_unused;
  const char *user;
  char day[11];
  qrl_err err;
  int ex;

  if ((ex = parse(argc, argv, &o))) return ex;
  if (argc - optind != 1) return usage("%s", "portal-account add takes one USERNAME");
  user = argv[optind];
  if (!o.kind || !o.name || !o.phone || !o.password || !o.official)
    return usage("%s", "portal-account add needs --kind --name --phone --password --by-desk");
  if (strcmp(o.kind, "citizen") && strcmp(o.kind, "organization"))
    return usage("--kind wants citizen or organization, not '%s'", o.kind);
  if (!*o.official || strlen(o.official) > 64)
    return usage("%s", "--by-desk wants the official's name or staff code (1..64 bytes)");
  if (qrl_vndate_parse(o.close ? o.close : DEFAULT_ACCOUNTS_CLOSE, &close))
    return usage("--accounts-close wants a date YYYY-MM-DD (2000..2100), not '%s'", o.close);
  if (o.dob && qrl_vndate_parse(o.dob, &dob_unused))
    return usage("--dob wants a date YYYY-MM-DD, not '%s'", o.dob);
  if (o.id && !qrl_citizen_id_valid(o.id, strlen(o.id)))
    return usage("--id '%s' is not a 12-digit citizen ID", o.id);
  if (o.id && strcmp(o.kind, "citizen"))
    return usage("%s", "--id is for a citizen's account");
  if (!qrl_portal_username_valid(user))
    return usage("username '%s': 3 to 64 of A-Z a-z 0-9 . _ @ -", user);
  if (!qrl_phone_valid(o.phone)) return usage("--phone '%s': 10 digits starting with 0", o.phone);
  if (!qrl_password_format_ok(o.password)) return usage("%s", "--password: 8 to 20 characters");

  err = qrl_portal_add_at_desk(db, pol, o.official, close, o.kind, user, o.name, o.password,
                               o.phone, o.dob, o.id, now, NULL);
  if (err == QRL_ACCOUNTS_CLOSED) {
    qrl_vndate_format(close, day);
    fprintf(stderr,
            "qrlogin-admin: portal-account add: since %s one-stop desks no longer make\n"
            "citizen portal accounts: citizens register and log in with VNeID (%s).\n"
            "Organizations still get accounts.\n",
            day, qrl_err_code(err));
    return EX_REFUSED;
  }
  if (err == QRL_BAD_MESSAGE) {
    fprintf(stderr, "qrlogin-admin: portal account %s exists already\n", user);
    return EX_REFUSED;
  }
  if (err) {
    fprintf(stderr, "qrlogin-admin: portal-account add: %s (%s)\n", qrl_strerror(err),
            qrl_err_code(err));
    return EX_REFUSED;
  }
  printf("added %s account %s (%s) at the desk of %s\n", o.kind, user, o.name, o.official);
  return 0;
}

int qrl_admin_portal_acct_run(qrl_db *db, const qrl_acct_policy *pol, const char *group,
                              int argc, char **argv, int64_t now) {
  if (strcmp(group, "portal-account") != 0) return -1;
  if (strcmp(argv[0], "add") != 0)
    return usage("unknown command 'portal-account %s': portal-account add", argv[0]);
  return add(db, pol, argc, argv, now);
}
