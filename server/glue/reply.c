/*
 * reply.c - JSON onto a connection's send queue (conn.c writes it).
 */
#include "glue/reply.h"

#include <stdlib.h>
#include <string.h>

#include "glue/jsonio.h"
#include "glue/metrics.h"
#include "glue/services.h"

void qrl_send_json(qrl_conn *c, cJSON *o) {
  char *s;
  if (!o) return;
  s = qrl_json_take_print(o);
  if (s) qrl_conn_send(c, s, strlen(s));
  free(s);
}

void qrl_send_error(qrl_conn *c, qrl_err err, const char *req) {
  char *s = qrl_json_error(err, req);
  if (c->wsi) qrl_metrics_error(qrl_services_of(c->wsi)->metrics, err);
  if (s) qrl_conn_send(c, s, strlen(s));
  free(s);
}
