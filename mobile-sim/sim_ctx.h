/*
 * sim_ctx.h - the vneid-sim run-wide context. One sim_ctx is made by main()
 * from the global options and passed to every function of the simulator;
 * there are no globals. Plain data: the commands, the wire, the output and
 * the option parser all read it, and none of them needs the command table
 * (commands.h) to do so.
 */
#ifndef QRLOGIN_SIM_CTX_H
#define QRLOGIN_SIM_CTX_H

#include <cjson/cJSON.h>

#include "qrlogin/error.h"

#define SIM_DEFAULT_TIMEOUT_MS 10000
#define SIM_PATH_MAX 4096

/* The simulator's run-wide state. */
typedef struct sim_ctx {
  const char *server;      /* server URL; not owned (argv, the default, or
                              server_buf) */
  char server_buf[512];    /* an http(s):// --server rewritten as ws(s):// */
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

#endif /* QRLOGIN_SIM_CTX_H */
