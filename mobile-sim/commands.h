/*
 * commands.h - the vneid-sim run-wide context and the command dispatch.
 *
 * One sim_ctx is made by main() from the global options and passed to every
 * function of the simulator; there are no globals. Each command parses its own
 * arguments (global options are accepted there too), validates all of them
 * before any network use, does its work, and returns the process exit code
 * (enum qrl_sim_exit in qrlogin/protocol.h). Results are printed as human text
 * or, with --json, collected in ctx->out and printed as one JSON object.
 *
 * Not here: option parsing (sim_getopt.c), help (sim_help.c), the commands
 * (cmd_app.c, cmd_scan.c, cmd_view.c and their shared steps in cmd_common.c),
 * the state files (sim_home.c), output/prompt mechanics (sim_io.c), the wire
 * (sim_net.c).
 */
#ifndef QRLOGIN_SIM_COMMANDS_H
#define QRLOGIN_SIM_COMMANDS_H

#include <cjson/cJSON.h>

#include "qrlogin/error.h"

#define SIM_DEFAULT_SERVER "ws://127.0.0.1:8080"
#define SIM_DEFAULT_TIMEOUT_MS 10000
#define SIM_PATH_MAX 4096

/* The simulator's run-wide state. */
typedef struct sim_ctx {
  const char *server;      /* server URL; not owned (argv or the default) */
  const char *home_opt;    /* --home value or NULL; not owned */
  const char *ca_file;     /* --ca: PEM CA certificates for wss://; not owned */
  char home[SIM_PATH_MAX]; /* resolved state directory */
  int json;                /* 1: one JSON object on stdout */
  int timeout_ms;          /* network waits */
  int stdin_tty;           /* 1 if stdin is a terminal */
  const char *command;     /* the running command's name; not owned */
  cJSON *out;              /* owned: the JSON answer being built */
  /* The error being reported: its wire code, citizen message (the server's
   * when it sent one) and an optional English detail. */
  char err_code[64];
  char err_msg[1024];
  char err_detail[512];
  int got_logout;       /* a "logout" push arrived */
  char logout_msg[512]; /* its message */
} sim_ctx;

/* Returns the usage text of the command called name (static; not to be
 * freed), or NULL if there is no such command. */
const char *sim_command_usage(const char *name);

/* Runs the command argv[0] with its arguments argv[1..argc-1] (argv is
 * permuted by getopt). Prints the result and returns the exit code. */
int sim_run(sim_ctx *ctx, int argc, char **argv);

#endif /* QRLOGIN_SIM_COMMANDS_H */
