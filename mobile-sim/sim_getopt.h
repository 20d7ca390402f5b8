/*
 * sim_getopt.h - vneid-sim's command line: the one table of long options, the
 * global options before the command name, and a command's own arguments.
 *
 * Every long option the simulator knows is declared once, in sim_getopt.c,
 * with the command-option bit (SIM_CO_*) that says which commands accept it;
 * the global options (--server, --home, --json, --timeout, --ca, --help) have
 * no bit and are accepted before the command name and after it. Values are
 * checked here (URL, timeout, phone number, ...); whether the positional
 * arguments make sense for a command is the command's business.
 *
 * Not here: the command table and dispatch (commands.c), the usage texts
 * (sim_help.c), printing mechanics (sim_io.c).
 */
#ifndef QRLOGIN_SIM_GETOPT_H
#define QRLOGIN_SIM_GETOPT_H

#include "sim_ctx.h"

/* The command options; a command lists the ones it accepts in its table
 * entry (commands.c). */
enum sim_co_bit {
  SIM_CO_ID = 1 << 0,
  SIM_CO_PASSWORD = 1 << 1,
  SIM_CO_DEVICE_NAME = 1 << 2,
  SIM_CO_PASSCODE = 1 << 3,
  SIM_CO_IMAGE = 1 << 4,
  SIM_CO_YES = 1 << 5,
  SIM_CO_NO = 1 << 6,
  SIM_CO_GRANT = 1 << 7,
  SIM_CO_PHONE = 1 << 8,
  SIM_CO_WAIT = 1 << 9,
  SIM_CO_NUMBER = 1 << 10
};

/* A command's parsed arguments; the strings point into argv (not owned). */
typedef struct sim_args {
  const char *id, *password, *device_name, *passcode, *image, *phone;
  int wait_s; /* inbox --wait: seconds, 0 = do not wait */
  int number; /* scan --number: the number on the login page, 0 = ask */
  int yes, no, grant;
  const char *pos[4];
  int npos;
} sim_args;

/* sim_getopt_global() found a command to run. */
#define SIM_GETOPT_RUN (-1)

/* Parses the global options of argv (up to the command name) into ctx; the
 * option values are not copied (argv must outlive ctx). Returns
 * SIM_GETOPT_RUN with *cmd the index of the command name in argv, or, when
 * there is nothing to run (--help, a usage error, no command), the exit code
 * after printing the help or the error. */
int sim_getopt_global(sim_ctx *ctx, int argc, char **argv, int *cmd);

/* Parses the arguments of command name (argv[0] is its name; argv is
 * permuted) into *a: the options in accepted (enum sim_co_bit), the global
 * options, and min_pos..max_pos positional arguments. Returns 0, -1 if
 * --help was given, or the usage exit code after recording the error. */
int sim_getopt_command(sim_ctx *ctx, const char *name, int accepted,
                       int min_pos, int max_pos, int argc, char **argv,
                       sim_args *a);

#endif /* QRLOGIN_SIM_GETOPT_H */
