/*
 * lwslog.c - lws's log emit callback, writing through qrlogind's log.
 */
#include "glue/lwslog.h"

#include <libwebsockets.h>

#include "helpers/log.h"

/* The one file-scope variable of the server: lws's emit callback has no
 * argument to carry it (lwslog.h). */
static qrl_log *sink;

static void emit(int level, const char *line) {
  int lv = level & LLL_ERR ? QRL_LOG_ERROR : level & LLL_WARN ? QRL_LOG_WARN
         : level & LLL_USER ? QRL_LOG_NOTICE : QRL_LOG_DEBUG;
  qrl_log_msg(sink, lv, "lws", "%s", line);
}

void qrl_lwslog_attach(qrl_log *log) {
  int levels = LLL_ERR | LLL_WARN | LLL_USER;
  sink = log;
  if (qrl_log_on(log, QRL_LOG_DEBUG)) levels |= LLL_NOTICE;
  lws_set_log_level(levels, emit);
}

void qrl_lwslog_detach(void) {
  lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
  sink = NULL;
}
