/*
 * main.c - vneid-sim, the VNeID phone app as a command line.
 *
 *   vneid-sim [--server URL] [--home DIR] [--json] [--timeout MS] COMMAND
 * [ARGS]
 *
 * Builds the one sim_ctx, has the global options (up to the command name)
 * parsed into it by sim_getopt.c and hands the command to commands.c. It does
 * no work of its own; exit codes are enum qrl_sim_exit (docs/protocol.md).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "qrlogin/protocol.h"
#include "sim_getopt.h"
#include "sim_help.h"

int main(int argc, char **argv) {
  sim_ctx ctx;
  int ex, i, cmd = 0;

  memset(&ctx, 0, sizeof(ctx));
  ctx.server = SIM_DEFAULT_SERVER;
  ctx.timeout_ms = SIM_DEFAULT_TIMEOUT_MS;
  ctx.stdin_tty = isatty(0);
  ctx.command = "";

  /* --json anywhere decides the output format, even of early usage errors. */
  for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--json")) ctx.json = 1;

  ex = sim_getopt_global(&ctx, argc, argv, &cmd);
  if (ex == SIM_GETOPT_RUN) ex = sim_run(&ctx, argc - cmd, argv + cmd);
  cJSON_Delete(ctx.out);
  return ex;
}
