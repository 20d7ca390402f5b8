/*
 * main.c - qrlogind: parse the options, build the runtime, attach the
 * handlers (the browser's and the phone's websockets, the /api routes), run,
 * exit 0 after a clean shutdown. The only place that names every handler.
 */
#include <stdio.h>

#include <libwebsockets.h>

#include "api_otp.h"
#include "api_session.h"
#include "config.h"
#include "http.h"
#include "server.h"
#include "ws_browser.h"
#include "ws_phone.h"

#ifndef QRL_DEFAULT_WEB_DIR
#define QRL_DEFAULT_WEB_DIR "web"
#endif

static int attach_handlers(qrl_server *srv) {
  qrl_http *api;
  if (qrl_browser_attach(srv) || qrl_phone_attach(srv)) return -1;
  if (!(api = qrl_http_attach(srv))) return -1;
  if (qrl_api_session_attach(api) || qrl_api_otp_attach(api)) return -1;
  return 0;
}

int main(int argc, char **argv) {
  qrl_config cfg;
  qrl_server *srv;
  int help = 0, rc = 1;

  qrl_config_defaults(&cfg, QRL_DEFAULT_WEB_DIR);
  if (qrl_config_parse(&cfg, argc, argv, &help)) return 2;
  if (help) {
    qrl_config_usage(stdout, argv[0]);
    return 0;
  }
  lws_set_log_level(LLL_ERR | LLL_WARN | LLL_USER, NULL);
  if (!(srv = qrl_server_new(&cfg))) return 1;
  if (attach_handlers(srv)) fprintf(stderr, "qrlogind: cannot set up the handlers\n");
  else rc = qrl_server_run(srv);
  qrl_server_free(srv);
  return rc;
}
