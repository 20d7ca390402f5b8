/*
 * lwslog.h - what libwebsockets logs goes into qrlogind's log (log.h), as
 * lines of event "lws" at the matching level: its errors and warnings always
 * (as the log's level lets them), its notices at debug.
 *
 * lws 4.1.6's emit callback (lws_set_log_level) takes no user pointer, so
 * the log it writes to is the one process-wide pointer in qrlogind, set here
 * before the lws context is made and cleared after it is gone. Loop thread
 * (lws logs from there), and the pointer is only read while set.
 */
#ifndef QRLOGIN_LWSLOG_H
#define QRLOGIN_LWSLOG_H

struct qrl_log;

/* lws's lines go to log (not owned) until qrl_lwslog_detach(). */
void qrl_lwslog_attach(struct qrl_log *log);

/* lws's lines go to stderr as lws writes them, at errors and warnings. */
void qrl_lwslog_detach(void);

#endif /* QRLOGIN_LWSLOG_H */
