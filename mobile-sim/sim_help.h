/*
 * sim_help.h - vneid-sim's help: the overview and a command's usage.
 *
 * Not here: the usage text of each command (its entry in the command table,
 * commands.c, which passes it in), option parsing (sim_getopt.c).
 */
#ifndef QRLOGIN_SIM_HELP_H
#define QRLOGIN_SIM_HELP_H

#include <stdio.h>

/* The server vneid-sim talks to unless told otherwise. */
#define SIM_DEFAULT_SERVER "ws://127.0.0.1:8080"

/* Prints a command's usage (its text from the command table, then a line on
 * the global options) to f, or the overview if usage is NULL. */
void sim_help(FILE *f, const char *usage);

#endif /* QRLOGIN_SIM_HELP_H */
