/*
 * oidc.c - qrlogin-admin's OpenID Connect commands (oidc.h).
 */
#include "oidc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain/oidc_clients.h"
#include "domain/oidc_keys.h"
#include "domain/operator.h"

#define EX_REFUSED 1
#define EX_USAGE 2

const char qrl_admin_oidc_usage[] =
    "  oidc key list                           (the provider's signing keys: kid,\n"
    "                                          state, when published, signing,\n"
    "                                          retired, unpublished; never the\n"
    "                                          private key)\n"
    "  oidc key rotate [--alg ES256|RS256]     (a new key of that algorithm (ES256\n"
    "                                          by default), published now, signs\n"
    "                                          after 15 minutes; the old one stays\n"
    "                                          published until its tokens expire)\n"
    "  client add CLIENT_ID --name NAME --redirect-uri URI [--redirect-uri URI ...]\n"
    "             [--post-logout-redirect-uri URI ...] [--backchannel-logout-uri URI]\n"
    "             [--auth client_secret_basic|private_key_jwt] [--jwks FILE]\n"
    "             [--min-acr LoA1|LoA2] [--id-token-alg ES256|RS256]\n"
    "                                          (a relying portal; NAME is what\n"
    "                                          citizens see; prints its secret once)\n"
    "  client list\n"
    "  client show CLIENT_ID\n"
    "  client rotate-secret CLIENT_ID          (a new secret, printed once; the old\n"
    "                                          one stops working at once)\n"
    "  client remove CLIENT_ID\n";

__attribute__((format(printf, 1, 2))) static int usage(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "qrlogin-admin: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'qrlogin-admin --help'.\n");
  return EX_USAGE;
}

static int refused(qrl_err err, const char *what) {
  fprintf(stderr, "qrlogin-admin: %s: %s (%s)\n", what, qrl_strerror(err), qrl_err_code(err));
  return EX_REFUSED;
}

/* t as UTC ISO 8601 into out, or "-" for 0. */
static const char *when(int64_t t, char out[24]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!t || !gmtime_r(&tt, &tm)) snprintf(out, 24, "-");
  else strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

/* Adds name: the time t, or null for 0. */
static void add_time(cJSON *o, const char *name, int64_t t) {
  char buf[24];
  if (t) cJSON_AddStringToObject(o, name, when(t, buf));
  else cJSON_AddNullToObject(o, name);
}

/* Prints doc on one line and frees it. 0, or EX_REFUSED if it could not be
 * built. */
static int print_json(cJSON *doc) {
  char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
  int ex = text ? 0 : refused(QRL_NOMEM, "json");
  if (text) printf("%s\n", text);
  free(text);
  cJSON_Delete(doc);
  return ex;
}

/* ---- oidc key ----------------------------------------------------------- */

static cJSON *key_json(const qrl_oidc_key *k, int64_t now) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddStringToObject(o, "kid", k->kid);
  cJSON_AddStringToObject(o, "alg", k->alg);
  cJSON_AddStringToObject(o, "state", qrl_oidc_key_state_name(qrl_oidc_key_state_at(k, now)));
  add_time(o, "published_at", k->created_at);
  add_time(o, "signs_from", k->activate_at);
  add_time(o, "retires_at", k->retire_at);
  add_time(o, "expires_at", k->expire_at);
  return o;
}

static int key_list(qrl_db *db, int json, int64_t now) {
  qrl_oidc_key keys[QRL_OIDC_KEYS_MAX];
  size_t n = 0;
  qrl_err err = qrl_oidc_keys_list(db, keys, QRL_OIDC_KEYS_MAX, &n);
  if (err) return refused(err, "oidc key list");
  if (json) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
      cJSON *o = key_json(&keys[i], now);
      if (!o || !cJSON_AddItemToArray(a, o)) {
        cJSON_Delete(o);
        cJSON_Delete(a);
        a = NULL;
      }
    }
    return print_json(a);
  }
  printf("%-43s  %-5s  %-7s  %-20s  %-20s  %-20s  %s\n", "KID", "ALG", "STATE", "PUBLISHED",
         "SIGNS FROM", "RETIRES", "EXPIRES");
  for (size_t i = 0; i < n; i++) {
    char a[24], b[24], c[24], d[24];
    printf("%-43s  %-5s  %-7s  %-20s  %-20s  %-20s  %s\n", keys[i].kid, keys[i].alg,
           qrl_oidc_key_state_name(qrl_oidc_key_state_at(&keys[i], now)),
           when(keys[i].created_at, a), when(keys[i].activate_at, b), when(keys[i].retire_at, c),
           when(keys[i].expire_at, d));
  }
  return 0;
}

static int key_rotate(qrl_db *db, const char *alg, int json, int64_t now) {
  qrl_oidc_key_policy pol = qrl_oidc_key_policy_default();
  qrl_oidc_key k;
  char a[24];
  qrl_err err = qrl_oidc_keys_rotate_alg(db, alg, &pol, now, QRL_OP_AGENT, &k);
  if (err == QRL_FORBIDDEN) {
    fprintf(stderr,
            "qrlogin-admin: oidc key rotate: key %s is already waiting to sign (from %s); "
            "rotate again after that\n",
            k.kid, when(k.activate_at, a));
    return EX_REFUSED;
  }
  if (err) return refused(err, "oidc key rotate");
  if (json) return print_json(key_json(&k, now));
  printf("new %s key %s published; it signs from %s\n", k.alg, k.kid, when(k.activate_at, a));
  return 0;
}

/* ---- client -------------------------------------------------------------- */

/* The arguments of `client ...`. */
typedef struct client_opts {
  qrl_client_spec spec;
  const char *jwks_file;
  int auth_set, name_set;
  int json;
} client_opts;

/* Reads the JWK Set file path (at most QRL_CLIENT_JWKS_MAX bytes) into a
 * malloc'd string, or NULL with the reason said. */
static char *read_jwks(const char *path) {
  FILE *f = fopen(path, "re");
  char *buf = NULL;
  size_t n = 0;
  if (!f) {
    fprintf(stderr, "qrlogin-admin: --jwks %s: %s\n", path, strerror(errno));
    return NULL;
  }
  if ((buf = malloc(QRL_CLIENT_JWKS_MAX + 2))) {
    n = fread(buf, 1, QRL_CLIENT_JWKS_MAX + 1, f);
    buf[n] = '\0';
  }
  if (!buf || ferror(f) || n > QRL_CLIENT_JWKS_MAX || memchr(buf, '\0', n)) {
    fprintf(stderr, "qrlogin-admin: --jwks %s: %s\n", path,
            !buf ? "out of memory" : n > QRL_CLIENT_JWKS_MAX ? "larger than 16 KB" : "cannot read it");
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

/* Parses `client ACTION ...` options into o; positional arguments stay at
 * argv[optind..]. 0, or the usage exit status (said). */
static int parse_client(int argc, char **argv, client_opts *o) {
  enum { O_NAME = 1, O_REDIRECT, O_POST, O_BACK, O_AUTH, O_JWKS, O_ACR, O_JSON, O_ALG };
  static const struct option lo[] = {{"name", required_argument, NULL, O_NAME},
                                     {"redirect-uri", required_argument, NULL, O_REDIRECT},
                                     {"post-logout-redirect-uri", required_argument, NULL, O_POST},
                                     {"backchannel-logout-uri", required_argument, NULL, O_BACK},
                                     {"auth", required_argument, NULL, O_AUTH},
                                     {"jwks", required_argument, NULL, O_JWKS},
                                     {"min-acr", required_argument, NULL, O_ACR},
                                     {"json", no_argument, NULL, O_JSON},
                                     {"id-token-alg", required_argument, NULL, O_ALG},
                                     {NULL, 0, NULL, 0}};
  qrl_client_spec *s = &o->spec;
  const char *why;
  int c;
  opterr = 0;
  optind = 0;
  s->min_acr = 1;
  s->auth = QRL_CLIENT_SECRET_BASIC;
  while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
    switch (c) {
    case O_NAME:
      if (!qrl_client_name_valid(optarg))
        return usage("--name '%s': 1..120 bytes of UTF-8 text without control characters",
                     optarg);
      s->name = optarg;
      o->name_set = 1;
      break;
    case O_REDIRECT:
    case O_POST:
    case O_BACK:
      {
        const char *opt = c == O_REDIRECT ? "--redirect-uri"
                          : c == O_POST   ? "--post-logout-redirect-uri"
                                          : "--backchannel-logout-uri";
        if ((why = qrl_client_uri_problem(optarg))) return usage("%s '%s': %s", opt, optarg, why);
        if (c == O_BACK) {
          if (s->backchannel) return usage("%s", "--backchannel-logout-uri is given once");
          s->backchannel = optarg;
          break;
        }
        {
          const char **v = c == O_REDIRECT ? s->redirect : s->post_logout;
          size_t *n = c == O_REDIRECT ? &s->nredirect : &s->npost_logout;
          if (*n == QRL_CLIENT_URIS_MAX) return usage("%s: 16 at most", opt);
          for (size_t i = 0; i < *n; i++)
            if (!strcmp(v[i], optarg)) return usage("%s '%s' is given twice", opt, optarg);
          v[(*n)++] = optarg;
        }
      }
      break;
    case O_AUTH:
      if (qrl_client_auth_parse(optarg, &s->auth))
        return usage("--auth wants client_secret_basic or private_key_jwt, not '%s'", optarg);
      o->auth_set = 1;
      break;
    case O_JWKS: o->jwks_file = optarg; break;
    case O_ACR:
      if (!strcmp(optarg, "LoA1")) s->min_acr = 1;
      else if (!strcmp(optarg, "LoA2")) s->min_acr = 2;
      else return usage("--min-acr wants LoA1 or LoA2, not '%s'", optarg);
      break;
    case O_JSON: o->json = 1; break;
    case O_ALG:
      if (!qrl_oidc_alg_valid(optarg))
        return usage("--id-token-alg wants ES256 or RS256, not '%s'", optarg);
      s->id_token_alg = optarg;
      break;
    case ':': return usage("option %s needs a value", argv[optind - 1]);
    default: /* "-x..." is read as short options: name the letter */
      if (optopt) return usage("unknown option -%c", optopt);
      return usage("unknown option %s", argv[optind - 1]);
    }
  }
  return 0;
}

/* Prints a client's secret (shown once), as text or JSON. */
static int print_secret(const char *id, const char *secret, int json, const char *what) {
  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "client_id", id);
      if (secret[0]) cJSON_AddStringToObject(o, "client_secret", secret);
      else cJSON_AddNullToObject(o, "client_secret");
    }
    return print_json(o);
  }
  printf("%s %s\n", what, id);
  if (secret[0])
    printf("client_secret: %s\n(shown this once: give it to the portal now; "
           "'client rotate-secret' makes a new one)\n",
           secret);
  else
    printf("it authenticates with private_key_jwt: no secret\n");
  return 0;
}

static int client_add(qrl_db *db, client_opts *o, int npos, char **pos, int64_t now) {
  qrl_client_spec *s = &o->spec;
  char secret[QRL_CLIENT_SECRET_LEN + 1], *jwks = NULL;
  const char *why;
  qrl_err err;
  int ex;

  if (npos != 1) return usage("%s", "client add CLIENT_ID --name NAME --redirect-uri URI ...");
  s->id = pos[0];
  if (!qrl_client_id_valid(s->id))
    return usage("'%s' is not a client id: 3..64 of A-Z a-z 0-9 . _ -, starting with a letter "
                 "or digit",
                 s->id);
  if (!o->name_set) return usage("%s", "client add needs --name (what citizens see)");
  if (!s->nredirect) return usage("%s", "client add needs --redirect-uri (one at least)");
  if (s->auth == QRL_CLIENT_PRIVATE_KEY_JWT && !o->jwks_file)
    return usage("%s", "--auth private_key_jwt needs --jwks FILE (the portal's public keys)");
  if (s->auth != QRL_CLIENT_PRIVATE_KEY_JWT && o->jwks_file)
    return usage("%s", "--jwks goes with --auth private_key_jwt");
  if (o->jwks_file) {
    if (!(jwks = read_jwks(o->jwks_file))) return EX_USAGE;
    if ((why = qrl_client_jwks_problem(jwks))) {
      free(jwks);
      return usage("--jwks %s: %s", o->jwks_file, why);
    }
    s->jwks = jwks;
  }
  if ((why = qrl_client_spec_problem(s))) { /* what the options did not catch */
    free(jwks);
    return usage("client add: %s", why);
  }
  err = qrl_client_add(db, s, now, secret);
  free(jwks);
  if (err == QRL_BAD_MESSAGE) {
    fprintf(stderr, "qrlogin-admin: client %s exists already\n", s->id);
    return EX_REFUSED;
  }
  if (err) return refused(err, "client add");
  ex = print_secret(s->id, secret, o->json, "added client");
  qrl_cleanse(secret, sizeof(secret));
  return ex;
}

static const char *acr_name(int level) { return level == 2 ? "LoA2" : "LoA1"; }

static int client_list(qrl_db *db, int json) {
  qrl_client_row *rows = NULL;
  size_t n = 0;
  qrl_err err = qrl_client_list(db, &rows, &n);
  char a[24];
  if (err) return refused(err, "client list");
  if (json) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        cJSON_Delete(arr);
        arr = NULL;
        break;
      }
      cJSON_AddStringToObject(o, "client_id", rows[i].id);
      cJSON_AddStringToObject(o, "name", rows[i].name);
      cJSON_AddStringToObject(o, "auth", qrl_client_auth_name(rows[i].auth));
      cJSON_AddStringToObject(o, "min_acr", acr_name(rows[i].min_acr));
      cJSON_AddNumberToObject(o, "redirect_uris", (double)rows[i].nredirect);
      add_time(o, "created_at", rows[i].created_at);
    }
    free(rows);
    return print_json(arr);
  }
  printf("%-24s  %-19s  %-7s  %-9s  %-20s  %s\n", "CLIENT_ID", "AUTH", "MIN_ACR", "REDIRECTS",
         "CREATED", "NAME");
  for (size_t i = 0; i < n; i++)
    printf("%-24s  %-19s  %-7s  %-9zu  %-20s  %s\n", rows[i].id,
           qrl_client_auth_name(rows[i].auth), acr_name(rows[i].min_acr), rows[i].nredirect,
           when(rows[i].created_at, a), rows[i].name);
  free(rows);
  return 0;
}

static int client_show(qrl_db *db, const char *id, int json) {
  qrl_client *c = calloc(1, sizeof(*c));
  cJSON *o = NULL, *a;
  char t1[24], t2[24];
  qrl_err err;
  int ex = 0;

  if (!c) return refused(QRL_NOMEM, "client show");
  if ((err = qrl_client_get(db, id, c))) {
    if (err != QRL_NOT_FOUND) {
      ex = refused(err, "client show");
      goto out;
    }
    fprintf(stderr, "qrlogin-admin: no client %s\n", id);
    ex = EX_REFUSED;
    goto out;
  }
  if (json) {
    if ((o = cJSON_CreateObject())) {
      cJSON_AddStringToObject(o, "client_id", c->id);
      cJSON_AddStringToObject(o, "name", c->name);
      cJSON_AddStringToObject(o, "auth", qrl_client_auth_name(c->auth));
      cJSON_AddStringToObject(o, "min_acr", acr_name(c->min_acr));
      cJSON_AddStringToObject(o, "id_token_alg", c->id_token_alg);
      if ((a = cJSON_AddArrayToObject(o, "redirect_uris")))
        for (size_t i = 0; i < c->nredirect; i++)
          cJSON_AddItemToArray(a, cJSON_CreateString(c->redirect[i]));
      if ((a = cJSON_AddArrayToObject(o, "post_logout_redirect_uris")))
        for (size_t i = 0; i < c->npost_logout; i++)
          cJSON_AddItemToArray(a, cJSON_CreateString(c->post_logout[i]));
      if (c->backchannel[0]) cJSON_AddStringToObject(o, "backchannel_logout_uri", c->backchannel);
      else cJSON_AddNullToObject(o, "backchannel_logout_uri");
      if (c->jwks) cJSON_AddItemToObject(o, "jwks", cJSON_Parse(c->jwks));
      else cJSON_AddNullToObject(o, "jwks");
      add_time(o, "created_at", c->created_at);
      add_time(o, "secret_at", c->secret_at);
    }
    ex = print_json(o);
    goto out;
  }
  printf("client_id:  %s\nname:       %s\nauth:       %s\nmin_acr:    %s\n"
         "id_token_alg: %s\n",
         c->id, c->name, qrl_client_auth_name(c->auth), acr_name(c->min_acr), c->id_token_alg);
  for (size_t i = 0; i < c->nredirect; i++) printf("redirect:   %s\n", c->redirect[i]);
  for (size_t i = 0; i < c->npost_logout; i++) printf("post-logout: %s\n", c->post_logout[i]);
  printf("backchannel: %s\n", c->backchannel[0] ? c->backchannel : "-");
  if (c->jwks) printf("jwks:       %s\n", c->jwks);
  printf("created:    %s\nsecret:     %s\n", when(c->created_at, t1),
         c->secret_at ? when(c->secret_at, t2) : "none (private_key_jwt)");
out:
  qrl_client_clear(c);
  free(c);
  return ex;
}

static int client_cmd(qrl_db *db, int json, int argc, char **argv, int64_t now) {
  const char *action = argv[0];
  client_opts o;
  char secret[QRL_CLIENT_SECRET_LEN + 1];
  char **pos;
  int ex, npos;
  qrl_err err;

  memset(&o, 0, sizeof(o));
  if ((ex = parse_client(argc, argv, &o))) return ex;
  json = o.json = json || o.json;
  pos = argv + optind;
  npos = argc - optind;
  if (!strcmp(action, "add")) return client_add(db, &o, npos, pos, now);
  if (o.spec.name || o.spec.nredirect || o.spec.npost_logout || o.spec.backchannel ||
      o.auth_set || o.jwks_file || o.spec.min_acr != 1 || o.spec.id_token_alg)
    return usage("client %s takes no options but --json", action);
  if (!strcmp(action, "list")) {
    if (npos) return usage("%s", "client list takes no arguments");
    return client_list(db, json);
  }
  if (strcmp(action, "show") && strcmp(action, "rotate-secret") && strcmp(action, "remove"))
    return usage("unknown command 'client %s': client add|list|show|rotate-secret|remove",
                 action);
  if (npos != 1) return usage("client %s CLIENT_ID", action);
  if (!qrl_client_id_valid(pos[0]))
    return usage("'%s' is not a client id: 3..64 of A-Z a-z 0-9 . _ -, starting with a letter "
                 "or digit",
                 pos[0]);
  if (!strcmp(action, "show")) return client_show(db, pos[0], json);
  if (!strcmp(action, "remove")) {
    err = qrl_client_remove(db, pos[0], now);
    if (err == QRL_NOT_FOUND) {
      fprintf(stderr, "qrlogin-admin: no client %s\n", pos[0]);
      return EX_REFUSED;
    }
    if (err) return refused(err, "client remove");
    if (json) {
      cJSON *r = cJSON_CreateObject();
      if (r) {
        cJSON_AddStringToObject(r, "client_id", pos[0]);
        cJSON_AddBoolToObject(r, "removed", 1);
      }
      return print_json(r);
    }
    printf("removed client %s\n", pos[0]);
    return 0;
  }
  err = qrl_client_rotate_secret(db, pos[0], now, secret);
  if (err == QRL_NOT_FOUND) {
    fprintf(stderr, "qrlogin-admin: no client %s\n", pos[0]);
    return EX_REFUSED;
  }
  if (err == QRL_FORBIDDEN) {
    fprintf(stderr, "qrlogin-admin: client %s authenticates with private_key_jwt: it has no "
                    "secret to rotate (change its keys instead)\n", pos[0]);
    return EX_REFUSED;
  }
  if (err) return refused(err, "client rotate-secret");
  ex = print_secret(pos[0], secret, json, "new secret for client");
  qrl_cleanse(secret, sizeof(secret));
  return ex;
}

/* ---- dispatch ------------------------------------------------------------ */

/* Takes --json and --alg (into *alg, when alg is not NULL) out of argv
 * (argv[0] is the action); the positional arguments stay at
 * argv[optind..]. 0, or the usage exit status. */
static int parse_key_opts(int argc, char **argv, int *json, const char **alg) {
  static const struct option lo[] = {
      {"json", no_argument, NULL, 'j'}, {"alg", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
    if (c == 'j') *json = 1;
    else if (c == 'a') {
      if (!qrl_oidc_alg_valid(optarg)) return usage("--alg wants ES256 or RS256, not '%s'", optarg);
      *alg = optarg;
    } else if (c == ':') return usage("option %s needs a value", argv[optind - 1]);
    else return usage("unknown option %s", argv[optind - 1]);
  }
  return 0;
}

int qrl_admin_oidc_run(qrl_db *db, int json, const char *group, int argc, char **argv,
                       int64_t now) {
  const char *alg = NULL;
  int ex, npos;
  if (!strcmp(group, "client")) return client_cmd(db, json, argc, argv, now);
  if (strcmp(group, "oidc") != 0) return -1;
  if (strcmp(argv[0], "key") != 0)
    return usage("unknown command 'oidc %s': oidc key list|rotate", argv[0]);
  if ((ex = parse_key_opts(argc, argv, &json, &alg))) return ex;
  npos = argc - optind;
  if (npos == 1 && !strcmp(argv[optind], "list") && !alg) return key_list(db, json, now);
  if (npos == 1 && !strcmp(argv[optind], "rotate"))
    return key_rotate(db, alg ? alg : "ES256", json, now);
  return usage("%s", "oidc key list|rotate [--alg ES256|RS256] takes no other arguments");
}
