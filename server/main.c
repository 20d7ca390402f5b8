/*
 * main.c - qrlogind: parse the options, run the server, exit 0 after a clean
 * shutdown. Everything else lives in server/glue.
 */
#include <stdio.h>

#include <libwebsockets.h>

#include "config.h"
#include "server.h"

#ifndef QRL_DEFAULT_WEB_DIR
#define QRL_DEFAULT_WEB_DIR "web"
#endif

int main(int argc, char **argv) {
  qrl_config cfg;
  int help = 0;

  qrl_config_defaults(&cfg, QRL_DEFAULT_WEB_DIR);
  if (qrl_config_parse(&cfg, argc, argv, &help)) return 2;
  if (help) {
    qrl_config_usage(stdout, argv[0]);
    return 0;
  }
  lws_set_log_level(LLL_ERR | LLL_WARN | LLL_USER, NULL);
  return qrl_server_run(&cfg);
}
