/*
 * sim_getopt.c - vneid-sim's option parsing (see sim_getopt.h).
 *
 * Holds the simulator's one table of long options. getopt_long() is given a
 * view of it: the global options alone while parsing up to the command name
 * (main's "+" mode stops there), all of them while parsing a command's
 * arguments. An option a command does not accept is a usage error naming it.
 *
 * It does not run commands, resolve the home directory or print help texts
 * itself (sim_help.c has them).
 */
#include "sim_getopt.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/num.h"
#include "qrlogin/protocol.h"
#include "sim_help.h"
#include "sim_io.h"

/* getopt_long() values of the long options. */
enum sim_opt_id {
  SIM_OPT_SERVER = 0x100,
  SIM_OPT_HOME,
  SIM_OPT_JSON,
  SIM_OPT_TIMEOUT,
  SIM_OPT_CA,
  SIM_OPT_HELP,
  SIM_OPT_ID = 0x200,
  SIM_OPT_PASSWORD,
  SIM_OPT_DEVICE_NAME,
  SIM_OPT_PASSCODE,
  SIM_OPT_IMAGE,
  SIM_OPT_YES,
  SIM_OPT_NO,
  SIM_OPT_GRANT,
  SIM_OPT_PHONE,
  SIM_OPT_WAIT,
  SIM_OPT_NUMBER
};

/* One long option: its name, whether it takes a value, its getopt value and
 * its command-option bit (0: a global option). */
typedef struct sim_optdef {
  const char *name;
  int has_arg;
  int id;
  int bit;
} sim_optdef;

/* The long options: the global ones first. */
static const sim_optdef sim_options[] = {
    {"server", required_argument, SIM_OPT_SERVER, 0},
    {"home", required_argument, SIM_OPT_HOME, 0},
    {"json", no_argument, SIM_OPT_JSON, 0},
    {"timeout", required_argument, SIM_OPT_TIMEOUT, 0},
    {"ca", required_argument, SIM_OPT_CA, 0},
    {"help", no_argument, SIM_OPT_HELP, 0},
    {"id", required_argument, SIM_OPT_ID, SIM_CO_ID},
    {"password", required_argument, SIM_OPT_PASSWORD, SIM_CO_PASSWORD},
    {"device-name", required_argument, SIM_OPT_DEVICE_NAME, SIM_CO_DEVICE_NAME},
    {"passcode", required_argument, SIM_OPT_PASSCODE, SIM_CO_PASSCODE},
    {"image", required_argument, SIM_OPT_IMAGE, SIM_CO_IMAGE},
    {"yes", no_argument, SIM_OPT_YES, SIM_CO_YES},
    {"no", no_argument, SIM_OPT_NO, SIM_CO_NO},
    {"grant", no_argument, SIM_OPT_GRANT, SIM_CO_GRANT},
    {"phone", required_argument, SIM_OPT_PHONE, SIM_CO_PHONE},
    {"wait", required_argument, SIM_OPT_WAIT, SIM_CO_WAIT},
    {"number", required_argument, SIM_OPT_NUMBER, SIM_CO_NUMBER},
};

#define SIM_NOPTS (sizeof(sim_options) / sizeof(sim_options[0]))

/* Fills out (SIM_NOPTS + 1 entries) with the getopt_long() view of the table:
 * the global options only if globals_only, else all; NULL-terminated. */
static void getopt_view(struct option *out, int globals_only) {
  size_t i, n = 0;
  for (i = 0; i < SIM_NOPTS; i++) {
    if (globals_only && sim_options[i].bit) continue;
    out[n].name = sim_options[i].name;
    out[n].has_arg = sim_options[i].has_arg;
    out[n].flag = NULL;
    out[n].val = sim_options[i].id;
    n++;
  }
  memset(&out[n], 0, sizeof(out[n]));
}

/* Returns the table entry with getopt value id, or NULL. */
static const sim_optdef *getopt_find(int id) {
  size_t i;
  for (i = 0; i < SIM_NOPTS; i++)
    if (sim_options[i].id == id) return &sim_options[i];
  return NULL;
}

/* ws://HOST[:PORT][/PATH] or wss://... (http:// and https://, the page's
 * address as a person copies it, name the same server): a scheme, a
 * non-empty host and, if given, a port in 1..65535. */
static int server_url_valid(const char *url) {
  const char *h, *p;
  size_t hl;
  if (!strncmp(url, "ws://", 5)) h = url + 5;
  else if (!strncmp(url, "wss://", 6)) h = url + 6;
  else if (!strncmp(url, "http://", 7)) h = url + 7;
  else if (!strncmp(url, "https://", 8)) h = url + 8;
  else return 0;
  if (strlen(url) >= 500) return 0;
  hl = strcspn(h, ":/");
  if (hl == 0 || hl > 253) return 0;
  for (size_t i = 0; i < hl; i++)
    if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-') return 0;
  p = h + hl;
  if (*p == ':') {
    char *end;
    long port = strtol(p + 1, &end, 10);
    if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
      return 0;
  }
  return 1;
}

/* Applies global option opt with argument arg (not copied: must outlive ctx)
 * to ctx. Returns 0, or -1 after reporting a usage error (exit code 2). */
static int global_option(sim_ctx *ctx, int opt, const char *arg) {
  long v;
  switch (opt) {
  case SIM_OPT_SERVER:
    if (!server_url_valid(arg)) {
      sim_usage_error(ctx, QRL_INVAL,
                      "bad --server '%s': expected ws://HOST[:PORT] or "
                      "wss://HOST[:PORT] (http:// and https:// too)", arg);
      return -1;
    }
    /* http(s):// is the same server's websocket: ws(s)://, the rest kept. */
    if (!strncmp(arg, "http", 4)) {
      int tls = arg[4] == 's';
      snprintf(ctx->server_buf, sizeof(ctx->server_buf), "%s%s", tls ? "wss" : "ws",
               arg + (tls ? 5 : 4));
      ctx->server = ctx->server_buf;
    } else {
      ctx->server = arg;
    }
    return 0;
  case SIM_OPT_HOME:
    if (!arg[0]) {
      sim_usage_error(ctx, QRL_INVAL, "--home needs a directory");
      return -1;
    }
    ctx->home_opt = arg;
    return 0;
  case SIM_OPT_JSON: ctx->json = 1; return 0;
  case SIM_OPT_CA:
    if (!arg[0] || access(arg, R_OK) != 0) {
      sim_usage_error(ctx, QRL_INVAL, "bad --ca '%s': a readable PEM file", arg);
      return -1;
    }
    ctx->ca_file = arg;
    return 0;
  case SIM_OPT_TIMEOUT:
    if (qrl_parse_long(arg, 1, 600000, &v)) {
      sim_usage_error(ctx, QRL_INVAL,
                      "bad --timeout '%s': milliseconds, 1 to 600000", arg);
      return -1;
    }
    ctx->timeout_ms = (int)v;
    return 0;
  default: sim_usage_error(ctx, QRL_INVAL, "unknown option"); return -1;
  }
}

int sim_getopt_global(sim_ctx *ctx, int argc, char **argv, int *cmd) {
  struct option longopts[SIM_NOPTS + 1];
  int opt, ex = QRL_EXIT_OK;

  getopt_view(longopts, 1);
  opterr = 0;
  /* "+": stop at the command name; its options are the command's. */
  while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
    if (opt == 'h' || opt == SIM_OPT_HELP) {
      sim_help(stdout, NULL);
      goto out;
    }
    if (opt == '?') {
      if (optopt)
        ex = sim_usage_error(ctx, QRL_INVAL, "unknown option '-%c'", optopt);
      else
        ex = sim_usage_error(ctx, QRL_INVAL, "unknown option '%s'",
                             argv[optind - 1]);
      ex = sim_finish(ctx, ex);
      goto out;
    }
    if (opt == ':') {
      ex = sim_finish(ctx, sim_usage_error(ctx, QRL_INVAL,
                                           "option '%s' needs a value",
                                           argv[optind - 1]));
      goto out;
    }
    if (global_option(ctx, opt, optarg)) {
      ex = sim_finish(ctx, QRL_EXIT_USAGE);
      goto out;
    }
  }
  if (optind >= argc) {
    if (ctx->json) {
      ex = sim_finish(ctx,
                      sim_usage_error(ctx, QRL_INVAL, "no command given"));
    } else {
      sim_help(stderr, NULL);
      ex = QRL_EXIT_USAGE;
    }
    goto out;
  }
  *cmd = optind;
  ex = SIM_GETOPT_RUN;
out:
  return ex;
}

int sim_getopt_command(sim_ctx *ctx, const char *name, int accepted,
                       int min_pos, int max_pos, int argc, char **argv,
                       sim_args *a) {
  struct option longopts[SIM_NOPTS + 1];
  const sim_optdef *d;
  int opt, help = 0;

  memset(a, 0, sizeof(*a));
  getopt_view(longopts, 0);
  opterr = 0;
  optind = 0; /* glibc: full re-initialisation */
  while ((opt = getopt_long(argc, argv, ":hyn", longopts, NULL)) != -1) {
    if (opt == 'h') opt = SIM_OPT_HELP;
    if (opt == 'y') opt = SIM_OPT_YES;
    if (opt == 'n') opt = SIM_OPT_NO;
    if (opt == '?') {
      if (optopt)
        return sim_usage_error(ctx, QRL_INVAL, "unknown option '-%c' for %s",
                               optopt, name);
      return sim_usage_error(ctx, QRL_INVAL, "unknown option '%s' for %s",
                             argv[optind - 1], name);
    }
    if (opt == ':')
      return sim_usage_error(ctx, QRL_INVAL, "option '%s' needs a value",
                             argv[optind - 1]);
    if (opt == SIM_OPT_HELP) {
      help = 1;
      continue;
    }
    d = getopt_find(opt);
    if (d && !d->bit) {
      if (global_option(ctx, opt, optarg)) return QRL_EXIT_USAGE;
      continue;
    }
    if (!d)
      return sim_usage_error(ctx, QRL_INVAL, "option '%s' is not valid for %s",
                             argv[optind - 1], name);
    if (!(accepted & d->bit))
      return sim_usage_error(ctx, QRL_INVAL,
                             "option '--%s' is not valid for %s", d->name,
                             name);
    switch (opt) {
    case SIM_OPT_ID: a->id = optarg; break;
    case SIM_OPT_PASSWORD: a->password = optarg; break;
    case SIM_OPT_DEVICE_NAME: a->device_name = optarg; break;
    case SIM_OPT_PASSCODE: a->passcode = optarg; break;
    case SIM_OPT_IMAGE: a->image = optarg; break;
    case SIM_OPT_YES: a->yes = 1; break;
    case SIM_OPT_NO: a->no = 1; break;
    case SIM_OPT_GRANT: a->grant = 1; break;
    case SIM_OPT_PHONE:
      if (strlen(optarg) != 10 || optarg[0] != '0' ||
          strspn(optarg, "0123456789") != 10)
        return sim_usage_error(ctx, QRL_INVAL,
                               "bad --phone '%s': 10 digits starting with 0", optarg);
      a->phone = optarg;
      break;
    case SIM_OPT_NUMBER: {
      long v;
      if (qrl_parse_long(optarg, 10, 99, &v))
        return sim_usage_error(ctx, QRL_INVAL, "bad --number '%s': the 2-digit number "
                               "shown on the login page", optarg);
      a->number = (int)v;
      break;
    }
    case SIM_OPT_WAIT: {
      long v;
      if (qrl_parse_long(optarg, 1, 3600, &v))
        return sim_usage_error(ctx, QRL_INVAL, "bad --wait '%s': 1 to 3600 seconds",
                               optarg);
      a->wait_s = (int)v;
      break;
    }
    default: break;
    }
  }
  if (help) return -1;
  for (; optind < argc; optind++) {
    if (a->npos >= max_pos)
      return sim_usage_error(ctx, QRL_INVAL, "unexpected argument '%s' for %s",
                             argv[optind], name);
    a->pos[a->npos++] = argv[optind];
  }
  if (a->npos < min_pos)
    return sim_usage_error(ctx, QRL_INVAL, "%s needs more arguments", name);
  if (a->passcode && !qrl_passcode_valid(a->passcode, strlen(a->passcode)))
    return sim_usage_error(ctx, QRL_BAD_PASSCODE_FORMAT,
                           "bad --passcode: it must be exactly 6 digits");
  return 0;
}
