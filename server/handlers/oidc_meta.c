/*
 * oidc_meta.c - the discovery document and the key set (oidc_meta.h).
 */
#include "handlers/oidc_meta.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "domain/oidc_clients.h"
#include "domain/oidc_keys.h"
#include "glue/config.h"
#include "glue/jsonio.h"
#include "glue/task.h"
#include "handlers/http.h"
#include "helpers/clock.h"
#include "helpers/jose.h"

#define JWKS_WAITERS 64    /* requests waiting for one read at most */
#define ISSUER_MAX 160

/* "public, max-age=300" */
#define STR_(x) #x
#define STR(x) STR_(x)
#define CACHE_PUBLIC "public, max-age=" STR(QRL_OIDC_META_MAX_AGE)

/* The provider's published state. One per server, loop thread only. */
struct qrl_oidc {
  char issuer[ISSUER_MAX]; /* "" until known (the port listened on) */
  char *discovery;         /* owned: the document for issuer, once built */
  char *jwks;              /* owned: the key set's JSON text */
  int reading;             /* a read is queued or running */
  uint64_t waiting[JWKS_WAITERS]; /* connection ids waiting for it */
  size_t nwaiting;
};

typedef struct jwks_task {
  qrl_task base;
  qrl_oidc *o;
  char *jwks; /* owned: what the worker built */
} jwks_task;

/* The key set {"keys":[...]} of the keys db publishes at now (malloc'd
 * into *out). */
static qrl_err build_jwks(qrl_db *db, int64_t now, char **out) {
  qrl_oidc_key keys[QRL_OIDC_KEYS_MAX];
  size_t n = 0;
  cJSON *doc = NULL, *arr;
  qrl_err rc;

  *out = NULL;
  if ((rc = qrl_oidc_keys_published(db, now, keys, QRL_OIDC_KEYS_MAX, &n))) return rc;
  rc = QRL_NOMEM;
  if (!(doc = cJSON_CreateObject()) || !(arr = cJSON_AddArrayToObject(doc, "keys"))) goto out;
  for (size_t i = 0; i < n; i++) {
    char *jwk = NULL;
    cJSON *k;
    if ((rc = qrl_oidc_key_jwk(&keys[i], &jwk))) goto out;
    k = cJSON_Parse(jwk);
    free(jwk);
    rc = QRL_NOMEM;
    if (!k || !cJSON_AddItemToArray(arr, k)) {
      cJSON_Delete(k);
      goto out;
    }
  }
  if ((*out = cJSON_PrintUnformatted(doc))) rc = QRL_OK;
out:
  cJSON_Delete(doc);
  return rc;
}

/* ---- the key set --------------------------------------------------------- */

static void answer_jwks(qrl_conn *c, const char *jwks) {
  char *body = jwks ? strdup(jwks) : NULL;
  if (!body) {
    qrl_http_error(c, jwks ? QRL_NOMEM : QRL_UNAVAILABLE, NULL);
    return;
  }
  qrl_http_respond(c, 200, body, NULL);
  c->resp_cache = CACHE_PUBLIC;
}

static void jwks_run(qrl_task *t, qrl_db *db) {
  jwks_task *k = qrl_container_of(t, jwks_task, base);
  t->rc = build_jwks(db, t->now, &k->jwks);
}

static void jwks_done(qrl_task *t, qrl_conn *c_unused) {
  jwks_task *k = qrl_container_of(t, jwks_task, base);
  qrl_services *sv = qrl_task_ctx(t);
  qrl_oidc *o = k->o;
  (void)c_unused;
  /* A read that failed or was dropped at shutdown: the last key set. */
  o->reading = 0;
  if (t->ran && !t->rc && k->jwks) {
    free(o->jwks);
    o->jwks = k->jwks;
    k->jwks = NULL;
  }
  free(k->jwks);
  k->jwks = NULL;
  for (size_t i = 0; i < o->nwaiting; i++) {
    qrl_conn *c = qrl_conn_find(sv->conns, o->waiting[i]);
    if (c) answer_jwks(c, o->jwks);
  }
  o->nwaiting = 0;
}

static const qrl_task_type jwks_type = {"oidc_jwks", jwks_run, jwks_done};

static void jwks(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_oidc *o = sv->oidc;
  jwks_task *k;
  (void)body;
  if (o->nwaiting == JWKS_WAITERS) { /* a storm: the last key set will do */
    answer_jwks(c, o->jwks);
    return;
  }
  if (!o->reading) {
    k = (jwks_task *)qrl_task_new(sv->tasks, NULL, &jwks_type, sizeof(*k));
    if (!k || (k->o = o, qrl_task_submit(&k->base))) { /* freed there */
      answer_jwks(c, o->jwks);
      return;
    }
    o->reading = 1;
  }
  o->waiting[o->nwaiting++] = c->id;
}

/* ---- the discovery document ---------------------------------------------- */

/* Adds name: [the NULL-terminated strings]. 0 or -1. */
static int add_strings(cJSON *doc, const char *name, const char *const *v) {
  cJSON *a = cJSON_AddArrayToObject(doc, name);
  if (!a) return -1;
  for (; *v; v++) {
    cJSON *s = cJSON_CreateString(*v);
    if (!s || !cJSON_AddItemToArray(a, s)) {
      cJSON_Delete(s);
      return -1;
    }
  }
  return 0;
}

/* Adds name: issuer + path. 0 or -1. */
static int add_url(cJSON *doc, const char *name, const char *issuer, const char *path) {
  char url[ISSUER_MAX + 64];
  snprintf(url, sizeof(url), "%s%s", issuer, path);
  return cJSON_AddStringToObject(doc, name, url) ? 0 : -1;
}

/* The discovery document for issuer (malloc'd), or NULL. Subjects are
 * public: one opaque identifier per citizen, the same for every portal, as
 * one national identity serves them all (a portal may ask for the citizen ID
 * itself under the citizen_id scope, which pairwise identifiers could not
 * hide from it). */
static char *build_discovery(const char *issuer) {
  static const char *const scopes[] = {"openid", "profile", "citizen_id", NULL};
  static const char *const response_types[] = {"code", NULL};
  static const char *const response_modes[] = {"query", NULL};
  static const char *const grant_types[] = {"authorization_code", NULL};
  static const char *const subject_types[] = {"public", NULL};
  static const char *const algs[] = {"ES256", "RS256", NULL};
  static const char *const auth_methods[] = {"client_secret_basic", "private_key_jwt", NULL};
  static const char *const pkce[] = {"S256", NULL};
  static const char *const acr[] = {"LoA1", "LoA2", NULL};
  static const char *const locales[] = {"vi", "en", NULL};
  static const char *const prompts[] = {"none", "login", NULL};
  static const char *const claims[] = {
      "iss",  "sub",  "aud", "exp",  "iat",       "auth_time", "nonce",      "acr",
      "amr",  "sid",  "name", "birthdate", "citizen_id", "level", NULL};
  cJSON *d = cJSON_CreateObject();
  int bad = !d;

  bad = bad || !cJSON_AddStringToObject(d, "issuer", issuer);
  bad = bad || add_url(d, "authorization_endpoint", issuer, "/oauth2/authorize");
  bad = bad || add_url(d, "token_endpoint", issuer, "/oauth2/token");
  bad = bad || add_url(d, "userinfo_endpoint", issuer, "/oauth2/userinfo");
  bad = bad || add_url(d, "jwks_uri", issuer, "/oauth2/jwks");
  bad = bad || add_url(d, "end_session_endpoint", issuer, "/oauth2/logout");
  bad = bad || add_strings(d, "scopes_supported", scopes);
  bad = bad || add_strings(d, "response_types_supported", response_types);
  bad = bad || add_strings(d, "response_modes_supported", response_modes);
  bad = bad || add_strings(d, "grant_types_supported", grant_types);
  bad = bad || add_strings(d, "subject_types_supported", subject_types);
  bad = bad || add_strings(d, "id_token_signing_alg_values_supported", algs);
  bad = bad || add_strings(d, "token_endpoint_auth_methods_supported", auth_methods);
  bad = bad || add_strings(d, "token_endpoint_auth_signing_alg_values_supported", algs);
  bad = bad || add_strings(d, "code_challenge_methods_supported", pkce);
  bad = bad || add_strings(d, "acr_values_supported", acr);
  bad = bad || add_strings(d, "ui_locales_supported", locales);
  bad = bad || add_strings(d, "prompt_values_supported", prompts);
  bad = bad || add_strings(d, "claims_supported", claims);
  bad = bad || !cJSON_AddBoolToObject(d, "claims_parameter_supported", 0);
  bad = bad || !cJSON_AddBoolToObject(d, "request_parameter_supported", 0);
  bad = bad || !cJSON_AddBoolToObject(d, "request_uri_parameter_supported", 0);
  bad = bad || !cJSON_AddBoolToObject(d, "authorization_response_iss_parameter_supported", 1);
  bad = bad || !cJSON_AddBoolToObject(d, "backchannel_logout_supported", 1);
  bad = bad || !cJSON_AddBoolToObject(d, "backchannel_logout_session_supported", 1);
  if (bad) {
    cJSON_Delete(d);
    return NULL;
  }
  return qrl_json_take_print(d);
}

/* The issuer: --issuer, else http(s)://<bind>:<the port c came in on>,
 * found once. 0, or -1. */
static int know_issuer(qrl_services *sv, qrl_oidc *o, qrl_conn *c) {
  const qrl_config *cfg = sv->cfg;
  int port = cfg->port;
  if (o->issuer[0]) return 0;
  if (!cfg->issuer && !port) {
    struct sockaddr_storage a;
    socklen_t alen = sizeof(a);
    int fd = (int)lws_get_socket_fd(lws_get_network_wsi(c->wsi));
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) return -1;
    if (a.ss_family == AF_INET) port = ntohs(((struct sockaddr_in *)&a)->sin_port);
    else if (a.ss_family == AF_INET6) port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    else return -1;
  }
  if (cfg->issuer) snprintf(o->issuer, sizeof(o->issuer), "%s", cfg->issuer);
  else
    snprintf(o->issuer, sizeof(o->issuer), "%s://%s:%d", cfg->tls_cert ? "https" : "http",
             cfg->bind, port);
  return 0;
}

const char *qrl_oidc_issuer(qrl_services *sv, qrl_conn *c) {
  qrl_oidc *o = sv->oidc;
  if (!o || know_issuer(sv, o, c)) return NULL;
  return o->issuer;
}

const char *qrl_oidc_issuer_known(qrl_services *sv) {
  qrl_oidc *o = sv->oidc;
  if (!o) return NULL;
  /* Without a connection only a configured issuer or port tells it. */
  if (!o->issuer[0] && (sv->cfg->issuer || sv->cfg->port)) know_issuer(sv, o, NULL);
  return o->issuer[0] ? o->issuer : NULL;
}

static void discovery(qrl_services *sv, qrl_conn *c, const cJSON *body) {
  qrl_oidc *o = sv->oidc;
  char *text;
  (void)body;
  if (!o->discovery && (know_issuer(sv, o, c) || !(o->discovery = build_discovery(o->issuer)))) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  if (!(text = strdup(o->discovery))) {
    qrl_http_error(c, QRL_NOMEM, NULL);
    return;
  }
  qrl_http_respond(c, 200, text, NULL);
  c->resp_cache = CACHE_PUBLIC;
}

/* ---- attach ----------------------------------------------------------------- */

static void oidc_free(void *arg) {
  qrl_oidc *o = arg;
  free(o->discovery);
  free(o->jwks);
  free(o);
}

/* Loads the keys (making the first) and the key set, and with --demo
 * registers the demo portal, before the loop runs. */
static qrl_err load_keys(const qrl_config *cfg, qrl_oidc *o, int64_t now) {
  qrl_db *db = NULL;
  qrl_err rc = qrl_db_open(cfg->db_path, &db);
  if (!rc) rc = qrl_oidc_keys_ensure_alg(db, "ES256", now, "qrlogind", NULL);
  if (!rc) rc = qrl_oidc_keys_ensure_alg(db, "RS256", now, "qrlogind", NULL);
  if (!rc) rc = build_jwks(db, now, &o->jwks);
  if (rc) fprintf(stderr, "qrlogind: cannot load the OpenID Connect signing keys: %s\n",
                  qrl_strerror(rc));
  else if (cfg->demo && (rc = qrl_client_seed_demo(db, now)))
    fprintf(stderr, "qrlogind: cannot register the demo portal: %s\n", qrl_strerror(rc));
  qrl_db_close(db);
  return rc;
}

static const qrl_route routes[] = {
    {"/.well-known/openid-configuration", 0, 0, 0, discovery},
    {"/oauth2/jwks", 0, 0, 0, jwks},
};

qrl_err qrl_oidc_meta_attach(qrl_server *srv, qrl_http **router) {
  /* "/oauth2" whole: the flow's routes (oidc_flow.h) join this router (lws
   * 4.1.6 allows few protocols and mounts). */
  static const char *const mounts[] = {"/.well-known/openid-configuration", "/oauth2", NULL};
  qrl_services *sv = qrl_server_services(srv);
  qrl_oidc *o = calloc(1, sizeof(*o));
  qrl_http *h;
  qrl_err rc;

  if (router) *router = NULL;
  if (!o) return QRL_NOMEM;
  if (qrl_server_at_free(srv, oidc_free, o)) {
    free(o);
    return QRL_NOMEM;
  }
  sv->oidc = o;
  if ((rc = load_keys(sv->cfg, o, qrl_clock_wall(sv->clock)))) return rc;
  if (!(h = qrl_http_attach_top(srv, "qrl-oidc", mounts, 0))) return QRL_NOMEM;
  if (router) *router = h;
  return qrl_http_add_routes(h, routes, sizeof(routes) / sizeof(routes[0]));
}
