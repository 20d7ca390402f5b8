/*
 * commands.h - the vneid-sim command table and dispatch.
 *
 * Each command parses its own
 * arguments (global options are accepted there too), validates all of them
 * before any network use, does its work, and returns the process exit code
 * (enum qrl_sim_exit in qrlogin/protocol.h). Results are printed as human text
 * or, with --json, collected in ctx->out and printed as one JSON object.
 *
 * Not here: the run-wide context (sim_ctx.h), option parsing (sim_getopt.c), help (sim_help.c), the commands
 * (cmd_app.c, cmd_scan.c, cmd_view.c and their shared steps in cmd_common.c),
 * the state files (sim_home.c), output/prompt mechanics (sim_io.c), the wire
 * (sim_net.c).
 */
#ifndef QRLOGIN_SIM_COMMANDS_H
#define QRLOGIN_SIM_COMMANDS_H

#include "sim_ctx.h"


/* Returns the usage text of the command called name (static; not to be
 * freed), or NULL if there is no such command. */
const char *sim_command_usage(const char *name);

/* Runs the command argv[0] with its arguments argv[1..argc-1] (argv is
 * permuted by getopt). Prints the result and returns the exit code. */
int sim_run(sim_ctx *ctx, int argc, char **argv);

#endif /* QRLOGIN_SIM_COMMANDS_H */
