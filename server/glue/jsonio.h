/*
 * jsonio.h - reading requests and writing replies as JSON (cJSON), with the
 * validation every field gets: type, presence, length.
 *
 * Not here: sockets (conn.h sends what these build). Depends on cJSON and the
 * domain's plain structs.
 */
#ifndef QRLOGIN_JSONIO_H
#define QRLOGIN_JSONIO_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "domain/accounts.h"
#include "qrlogin/error.h"

/* Parses len bytes as one JSON object with a string "type". On success *out
 * is the object (caller frees with cJSON_Delete) and *type points into it.
 * Returns QRL_OK, QRL_BAD_JSON (not JSON, or not an object) or
 * QRL_BAD_MESSAGE (no string "type"). */
qrl_err qrl_json_parse_request(const char *buf, size_t len, cJSON **out,
                               const char **type);

/* Finds string member name of o, 1..maxlen bytes, without control characters.
 * *out points into o. Returns QRL_OK or QRL_BAD_MESSAGE. */
qrl_err qrl_json_str(const cJSON *o, const char *name, size_t maxlen,
                     const char **out);

/* Like qrl_json_str, but an absent member gives QRL_OK and *out = NULL. */
qrl_err qrl_json_str_opt(const cJSON *o, const char *name, size_t maxlen,
                         const char **out);

/* Finds integer member name of o in [lo, hi]. Returns QRL_OK or
 * QRL_BAD_MESSAGE. */
qrl_err qrl_json_int(const cJSON *o, const char *name, double lo, double hi,
                     long long *out);

/* Finds boolean member name. Returns QRL_OK or QRL_BAD_MESSAGE. */
qrl_err qrl_json_bool(const cJSON *o, const char *name, int *out);

/* Returns a new object {"type": type}; NULL on allocation failure. */
cJSON *qrl_json_msg(const char *type);

/* Returns the error message
 * {"type":"error","code":…,"message":…(Vietnamese),"req":req} as a new
 * string the caller frees; req may be NULL. NULL on allocation failure. */
char *qrl_json_error(qrl_err err, const char *req);

/* The same message as a new cJSON object (caller deletes), for errors that
 * carry more fields (retry_in, attempts_left). NULL on allocation failure. */
cJSON *qrl_json_error_obj(qrl_err err, const char *req);

/* Adds "account": {id, full_name, level, web_login} to o. */
void qrl_json_add_account(cJSON *o, const qrl_citizen *c);

/* Prints o compactly into a new string (caller frees) and deletes o. */
char *qrl_json_take_print(cJSON *o);

#endif /* QRLOGIN_JSONIO_H */
