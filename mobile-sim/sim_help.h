/*
 * sim_help.h - vneid-sim's help: the overview and a command's usage.
 *
 * Not here: the usage text of each command (its entry in the command table,
 * commands.c), option parsing (sim_getopt.c).
 */
#ifndef QRLOGIN_SIM_HELP_H
#define QRLOGIN_SIM_HELP_H

#include <stdio.h>

/* Prints the usage of command (NULL, or a name no command has: the overview)
 * to f. */
void sim_help(FILE *f, const char *command);

#endif /* QRLOGIN_SIM_HELP_H */
