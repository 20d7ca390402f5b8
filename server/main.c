/*
 * main.c - qrlogind: parse the config file and options (finding the login page: the
 * installed copy, else the source tree's), build the runtime, attach the
 * handlers (the browser's and the phone's websockets, the /api routes, the
 * operators' /healthz, /readyz and /metrics, the OpenID Connect provider's
 * discovery document and key set), run,
 * exit 0 after a clean shutdown. The only place that names every handler.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "handlers/api_identity.h"
#include "handlers/api_otp.h"
#include "handlers/api_session.h"
#include "handlers/api_sessions.h"
#include "glue/config.h"
#include "handlers/http.h"
#include "handlers/oidc_flow.h"
#include "handlers/oidc_logout.h"
#include "handlers/oidc_meta.h"
#include "handlers/ops.h"
#include "handlers/pages.h"
#include "glue/server.h"
#include "helpers/log.h"
#include "handlers/ws_browser.h"
#include "handlers/ws_phone.h"

/* The installed page relative to the directory of the installed binary
 * (CMake: from CMAKE_INSTALL_BINDIR to CMAKE_INSTALL_DATADIR/qrlogin/web). */
#ifndef QRL_BINDIR_TO_WEB
#define QRL_BINDIR_TO_WEB "../share/qrlogin/web"
#endif
/* The source tree's web/: the page for a binary run from the build tree. */
#ifndef QRL_SOURCE_WEB_DIR
#define QRL_SOURCE_WEB_DIR "web"
#endif

/* The default for --web: <directory of this binary>/QRL_BINDIR_TO_WEB when
 * that is a directory (an installed qrlogind, wherever its prefix was moved),
 * else QRL_SOURCE_WEB_DIR. Writes the canonical path into out (n bytes) and
 * returns out, or returns the (static) source path. */
static const char *default_web_dir(char *out, size_t n) {
  char exe[PATH_MAX], cand[PATH_MAX + sizeof(QRL_BINDIR_TO_WEB) + 1], real[PATH_MAX];
  struct stat st;
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  char *slash;

  if (len <= 0) return QRL_SOURCE_WEB_DIR;
  exe[len] = '\0';
  if (!(slash = strrchr(exe, '/'))) return QRL_SOURCE_WEB_DIR;
  *slash = '\0';
  snprintf(cand, sizeof(cand), "%s/%s", exe, QRL_BINDIR_TO_WEB);
  if (!realpath(cand, real) || stat(real, &st) || !S_ISDIR(st.st_mode) ||
      strlen(real) >= n)
    return QRL_SOURCE_WEB_DIR;
  memcpy(out, real, strlen(real) + 1);
  return out;
}

static int attach_handlers(qrl_server *srv) {
  qrl_http *api, *oidc;
  /* The pages' "/" first: lws hands a request to the last mount that
   * matches (pages.h). */
  if (qrl_pages_attach(srv)) return -1;
  if (qrl_browser_attach(srv) || qrl_phone_attach(srv)) return -1;
  if (!(api = qrl_http_attach(srv))) return -1;
  if (qrl_api_session_attach(api) || qrl_api_otp_attach(api)) return -1;
  if (qrl_api_sessions_attach(api) || qrl_api_identity_attach(api)) return -1;
  if (qrl_ops_attach(srv)) return -1;
  if (qrl_oidc_meta_attach(srv, &oidc) || qrl_oidc_flow_attach(oidc)) return -1;
  if (qrl_oidc_logout_attach(srv, oidc)) return -1;
  return 0;
}

int main(int argc, char **argv) {
  qrl_config cfg;
  char web[PATH_MAX];
  const char *web_default = default_web_dir(web, sizeof(web));
  qrl_server *srv;
  int help = 0, rc = 1;

  qrl_config_defaults(&cfg, web_default);
  cfg.config_default = QRL_CONFIG_FILE;
  if (qrl_config_parse(&cfg, argc, argv, &help)) {
    rc = 2;
    goto out;
  }
  if (help) {
    qrl_config_usage(stdout, argv[0]);
    printf("\nThe login page without --web: %s\n", web_default);
    rc = 0;
    goto out;
  }
  if (qrl_config_check_hosts(&cfg, argv[0])) goto out; /* before any file or socket */
  if (!(srv = qrl_server_new(&cfg))) goto out;
  if (attach_handlers(srv))
    qrl_log_msg(qrl_server_services(srv)->log, QRL_LOG_ERROR, "startup",
                "cannot set up the handlers");
  else rc = qrl_server_run(srv);
  qrl_server_free(srv);
out:
  qrl_config_free(&cfg);
  return rc;
}
