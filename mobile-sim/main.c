/*
 * main.c - vneid-sim, the VNeID phone app as a command line.
 *
 *   vneid-sim [--server URL] [--home DIR] [--json] [--timeout MS] COMMAND
 * [ARGS]
 *
 * Parses the global options (up to the command name), builds the one sim_ctx
 * and hands the command to commands.c. It does no work of its own beyond
 * argument checking; exit codes are enum qrl_sim_exit (docs/protocol.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "qrlogin/protocol.h"
#include "sim_io.h"

static const struct option main_longopts[] = {
    {"server", required_argument, NULL, SIM_OPT_SERVER},
    {"home", required_argument, NULL, SIM_OPT_HOME},
    {"json", no_argument, NULL, SIM_OPT_JSON},
    {"timeout", required_argument, NULL, SIM_OPT_TIMEOUT},
    {"ca", required_argument, NULL, SIM_OPT_CA},
    {"help", no_argument, NULL, SIM_OPT_HELP},
    {NULL, 0, NULL, 0}};

int main(int argc, char **argv) {
  sim_ctx ctx;
  int opt, ex = QRL_EXIT_OK, i;

  memset(&ctx, 0, sizeof(ctx));
  ctx.server = SIM_DEFAULT_SERVER;
  ctx.timeout_ms = SIM_DEFAULT_TIMEOUT_MS;
  ctx.stdin_tty = isatty(0);
  ctx.command = "";

  /* --json anywhere decides the output format, even of early usage errors. */
  for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--json")) ctx.json = 1;

  opterr = 0;
  /* "+": stop at the command name; its options are the command's. */
  while ((opt = getopt_long(argc, argv, "+:h", main_longopts, NULL)) != -1) {
    if (opt == 'h' || opt == SIM_OPT_HELP) {
      sim_help(stdout, NULL);
      goto out;
    }
    if (opt == '?') {
      if (optopt)
        ex = sim_usage_error(&ctx, QRL_INVAL, "unknown option '-%c'", optopt);
      else
        ex = sim_usage_error(&ctx, QRL_INVAL, "unknown option '%s'",
                             argv[optind - 1]);
      ex = sim_finish(&ctx, ex);
      goto out;
    }
    if (opt == ':') {
      ex = sim_finish(&ctx, sim_usage_error(&ctx, QRL_INVAL,
                                            "option '%s' needs a value",
                                            argv[optind - 1]));
      goto out;
    }
    if (sim_global_option(&ctx, opt, optarg)) {
      ex = sim_finish(&ctx, QRL_EXIT_USAGE);
      goto out;
    }
  }
  if (optind >= argc) {
    if (ctx.json) {
      ex = sim_finish(&ctx,
                      sim_usage_error(&ctx, QRL_INVAL, "no command given"));
    } else {
      sim_help(stderr, NULL);
      ex = QRL_EXIT_USAGE;
    }
    goto out;
  }
  ex = sim_run(&ctx, argc - optind, argv + optind);
out:
  cJSON_Delete(ctx.out);
  return ex;
}
