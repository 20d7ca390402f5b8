/*
 * jsonio.c - JSON request parsing and reply building with strict field checks.
 */
#include "glue/jsonio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

qrl_err qrl_json_parse_request(const char *buf, size_t len, cJSON **out,
                               const char **type) {
  cJSON *o = cJSON_ParseWithLength(buf, len);
  const cJSON *t;

  *out = NULL;
  *type = NULL;
  if (!o) return QRL_BAD_JSON;
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return QRL_BAD_JSON;
  }
  t = cJSON_GetObjectItemCaseSensitive(o, "type");
  if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 32) {
    cJSON_Delete(o);
    return QRL_BAD_MESSAGE;
  }
  *out = o;
  *type = t->valuestring;
  return QRL_OK;
}

qrl_err qrl_json_str_opt(const cJSON *o, const char *name, size_t maxlen,
                         const char **out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  size_t n;

  *out = NULL;
  if (!v) return QRL_OK;
  if (!cJSON_IsString(v)) return QRL_BAD_MESSAGE;
  n = strlen(v->valuestring);
  if (n == 0 || n > maxlen) return QRL_BAD_MESSAGE;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v->valuestring[i] < 0x20) return QRL_BAD_MESSAGE;
  *out = v->valuestring;
  return QRL_OK;
}

qrl_err qrl_json_str(const cJSON *o, const char *name, size_t maxlen,
                     const char **out) {
  qrl_err rc = qrl_json_str_opt(o, name, maxlen, out);
  if (rc == QRL_OK && !*out) rc = QRL_BAD_MESSAGE;
  return rc;
}

qrl_err qrl_json_int(const cJSON *o, const char *name, double lo, double hi,
                     long long *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  double d;

  if (!cJSON_IsNumber(v)) return QRL_BAD_MESSAGE;
  d = v->valuedouble;
  if (!isfinite(d) || d < lo || d > hi || floor(d) != d) return QRL_BAD_MESSAGE;
  *out = (long long)d;
  return QRL_OK;
}

qrl_err qrl_json_bool(const cJSON *o, const char *name, int *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (!cJSON_IsBool(v)) return QRL_BAD_MESSAGE;
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return QRL_OK;
}

cJSON *qrl_json_msg(const char *type) {
  cJSON *o = cJSON_CreateObject();
  if (o && !cJSON_AddStringToObject(o, "type", type)) {
    cJSON_Delete(o);
    o = NULL;
  }
  return o;
}

char *qrl_json_take_print(cJSON *o) {
  char *s;
  if (!o) return NULL;
  s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return s;
}

cJSON *qrl_json_error_obj(qrl_err err, const char *req) {
  cJSON *o = qrl_json_msg("error");
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "code", qrl_err_code(err));
  cJSON_AddStringToObject(o, "message", qrl_err_message_vi(err));
  cJSON_AddStringToObject(o, "message_en", qrl_strerror(err));
  if (req) cJSON_AddStringToObject(o, "req", req);
  return o;
}

char *qrl_json_error(qrl_err err, const char *req) {
  cJSON *o = qrl_json_error_obj(err, req);
  return o ? qrl_json_take_print(o) : NULL;
}

void qrl_json_add_account(cJSON *o, const qrl_citizen *c) {
  cJSON *a = cJSON_AddObjectToObject(o, "account");
  if (!a) return;
  cJSON_AddStringToObject(a, "id", c->id);
  cJSON_AddStringToObject(a, "full_name", c->full_name);
  cJSON_AddNumberToObject(a, "level", c->level);
  cJSON_AddBoolToObject(a, "web_login", c->web_login);
}
