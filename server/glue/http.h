/*
 * http.h - what the /api handlers share (http.c: the QR code exchange, /me,
 * logout and the routing; http_otp.c: the password + OTP and portal-account
 * endpoints). Private to server/glue.
 *
 * A handler runs on the loop thread with the request's JSON body parsed; it
 * either answers at once (qrl_http_error / qrl_http_json) or hands a task to
 * a worker whose done() answers. The answer is written on the next
 * HTTP_WRITEABLE.
 */
#ifndef QRLOGIN_HTTP_H
#define QRLOGIN_HTTP_H

#include "server.h"

#define QRL_COOKIE_NAME "qrl_session"

/* Answers with status and body (owned, may be NULL for "{}") and an optional
 * Set-Cookie value. */
void qrl_http_respond(qrl_conn *c, int status, char *body, const char *cookie);

/* Answers {"code","message"} for err with its HTTP status; o (may be NULL)
 * gives extra fields and is deleted. */
void qrl_http_error(qrl_conn *c, qrl_err err, cJSON *extra);

/* Answers 200 with o (deleted), and the session cookie for token if set. */
void qrl_http_json(qrl_conn *c, cJSON *o, const char *token);

/* Hands t to a worker or answers the error. */
void qrl_http_submit(qrl_conn *c, qrl_task *t);

/* The HTTP status for err. */
int qrl_http_status_for(qrl_err err);

/* http_otp.c: handles POST /otp/start, /otp/verify, /otp/resend,
 * /portal/start and /portal/verify-id. Returns 1 if path is one of them. */
int qrl_http_otp_route(qrl_server *srv, qrl_conn *c, const char *path,
                       const cJSON *body);

#endif /* QRLOGIN_HTTP_H */
