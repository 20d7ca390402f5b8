/*
 * bench_oidc.c - qrl_bench_oidc: the OpenID Connect provider's cost per
 * relying-portal login once the citizen has a national session (issue 11:
 * "authorize -> code -> token -> ID token verified, per second on one
 * core").
 *
 *   qrl_bench_oidc [--secs S] [--conc K] [--keep]
 *
 * It starts qrlogind itself (load_proc.c: a free port, a temporary
 * database, --demo --no-rate-limits --hash-cost 10), pinned to the second
 * core with every thread it starts, while this program pins itself to the
 * first. One QR login as a citizen does it (the integration harness's raw
 * phone: scan, the number, a signed confirm, POST /api/session) gives the
 * one web session; its first authorize sets the provider's cookie qrl_op.
 * Then K threads, each on its own keep-alive HTTP/1.1 connection on
 * loopback, loop for S seconds as the demo portal's server would, one flow
 * after another:
 *
 *   GET /oauth2/authorize (fresh PKCE S256 verifier, state, nonce; the
 *       qrl_op cookie: SSO) -> 302 to the portal's redirect_uri with code,
 *       state and iss (all checked);
 *   POST /oauth2/token (client_secret_basic, the code, the verifier)
 *       -> 200 with the ID token;
 *   the ID token verified: ES256 over its signing input with OpenSSL,
 *       against the key of its kid in /oauth2/jwks (fetched once, the keys
 *       decoded once), then iss, aud, nonce and exp.
 *
 * Prints flows/s, the server's CPU per flow (every thread's schedstat, as
 * bench_load.c does), its CPU share of its core, the client's CPU per flow
 * (the ID token check included) and latency p50/p99 of a whole flow.
 * Exit status 0 once the figures are printed and no flow failed, 1 if the
 * bench could not run or a flow failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"
#include "helpers/b64.h"
#include "load_proc.h"

#ifndef QRLOGIND_PATH
#error "QRLOGIND_PATH must be defined by the build"
#endif

#define CLIENT "dongnai-demo"
#define SECRET "dongnai-demo-secret-for-the-demo-only"
#define REDIRECT "http://localhost:8081/callback"
#define REDIRECT_ENC "http%3A%2F%2Flocalhost%3A8081%2Fcallback"
#define MAX_KEYS 8
#define MAX_LAT 4000000

/* ---- the key set ------------------------------------------------------------- */

typedef struct jwk_key {
  char kid[64];
  EVP_PKEY *pk; /* owned */
} jwk_key;

typedef struct bench {
  int port;
  char issuer[64];
  char cookie[200];   /* "qrl_op=..." */
  char basic[200];    /* base64 of client:secret */
  jwk_key keys[MAX_KEYS];
  int nkeys;
  double deadline_ms;
  pthread_mutex_t mu;
  double *lat;        /* every flow's milliseconds (mu) */
  long nlat, failed, reconnects;
} bench;

/* The string member name of o, or "". */
static const char *jstr(const cJSON *o, const char *name) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
  return v ? v : "";
}

/* An EC P-256 public key from its JWK x and y (base64url). NULL if bad. */
static EVP_PKEY *ec_key(const char *x, const char *y) {
  uint8_t pt[65];
  EVP_PKEY *pk = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  OSSL_PARAM params[3];
  if (!x || !y || qrl_b64url_decode(x, strlen(x), pt + 1, 32) != 32 ||
      qrl_b64url_decode(y, strlen(y), pt + 33, 32) != 32)
    return NULL;
  pt[0] = 4;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
  params[2] = OSSL_PARAM_construct_end();
  if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pk = NULL;
  EVP_PKEY_CTX_free(ctx);
  return pk;
}

/* Reads /oauth2/jwks once: every EC key, decoded once. 0 or -1. */
static int load_jwks(bench *b, const qrl_h_server *s) {
  char *body = NULL;
  cJSON *set;
  const cJSON *k;
  if (qrl_h_http(s, "GET", "/oauth2/jwks", NULL, NULL, NULL, &body, NULL) != 200) return -1;
  set = cJSON_Parse(body);
  free(body);
  cJSON_ArrayForEach(k, cJSON_GetObjectItem(set, "keys")) {
    const char *kid = cJSON_GetStringValue(cJSON_GetObjectItem(k, "kid"));
    EVP_PKEY *pk = ec_key(cJSON_GetStringValue(cJSON_GetObjectItem(k, "x")),
                          cJSON_GetStringValue(cJSON_GetObjectItem(k, "y")));
    if (!kid || !pk || b->nkeys == MAX_KEYS) {
      EVP_PKEY_free(pk);
      continue;
    }
    snprintf(b->keys[b->nkeys].kid, sizeof(b->keys[0].kid), "%s", kid);
    b->keys[b->nkeys++].pk = pk;
  }
  cJSON_Delete(set);
  return b->nkeys ? 0 : -1;
}

/* Verifies a compact ES256 JWS against the key set and checks iss, aud,
 * nonce and exp. 0 or -1. */
static int verify_id_token(const bench *b, const char *jws, const char *nonce) {
  const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  uint8_t hdr[512], pay[2048], sig[64], der[80], *p = der;
  long hl, pl;
  int rc = -1, dl;
  cJSON *h = NULL, *c = NULL;
  EVP_PKEY *pk = NULL;
  EVP_MD_CTX *md = NULL;
  ECDSA_SIG *es = NULL;
  if (!d2 || (hl = qrl_b64url_decode(jws, (size_t)(d1 - jws), hdr, sizeof(hdr) - 1)) < 0 ||
      (pl = qrl_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pay, sizeof(pay) - 1)) < 0 ||
      qrl_b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig)) != 64)
    goto out;
  hdr[hl] = pay[pl] = '\0';
  if (!(h = cJSON_Parse((char *)hdr)) ||
      strcmp(jstr(h, "alg"), "ES256"))
    goto out;
  for (int i = 0; i < b->nkeys; i++)
    if (!strcmp(b->keys[i].kid, jstr(h, "kid")))
      pk = b->keys[i].pk;
  if (!pk) goto out;
  /* R || S (64 bytes) to the DER that EVP wants */
  if (!(es = ECDSA_SIG_new())) goto out;
  {
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      goto out;
    }
  }
  if ((dl = i2d_ECDSA_SIG(es, &p)) <= 0) goto out;
  if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1 ||
      EVP_DigestVerify(md, der, (size_t)dl, (const uint8_t *)jws, (size_t)(d2 - jws)) != 1)
    goto out;
  if (!(c = cJSON_Parse((char *)pay)) ||
      strcmp(jstr(c, "iss"), b->issuer) ||
      strcmp(jstr(c, "aud"), CLIENT) ||
      strcmp(jstr(c, "nonce"), nonce) ||
      cJSON_GetNumberValue(cJSON_GetObjectItem(c, "exp")) <= (double)time(NULL))
    goto out;
  rc = 0;
out:
  ECDSA_SIG_free(es);
  EVP_MD_CTX_free(md);
  cJSON_Delete(h);
  cJSON_Delete(c);
  return rc;
}

/* ---- a keep-alive HTTP/1.1 connection ------------------------------------------ */

typedef struct conn {
  int fd;
  char buf[16384];
  size_t have;
} conn;

static int conn_open(conn *c, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int one = 1;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->have = 0;
  if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

static void conn_close(conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->have = 0;
}

/* Sends req and reads one answer (headers, then Content-Length bytes).
 * The status, the headers in *hdrs and the body in *body (pointers into
 * c->buf, NUL-terminated, valid until the next call); -1 if the connection
 * failed (it is then closed). */
static int conn_call(conn *c, const char *req, size_t len, char **hdrs, char **body) {
  size_t off = 0, need;
  char *end, *cl;
  long clen;
  int status;
  while (off < len) {
    ssize_t w = send(c->fd, req + off, len - off, MSG_NOSIGNAL);
    if (w <= 0) goto fail;
    off += (size_t)w;
  }
  c->have = 0;
  for (;;) {
    ssize_t r;
    c->buf[c->have] = '\0';
    if ((end = strstr(c->buf, "\r\n\r\n"))) break;
    if (c->have >= sizeof(c->buf) - 1) goto fail;
    if ((r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have, 0)) <= 0) goto fail;
    c->have += (size_t)r;
  }
  *end = '\0';
  if (sscanf(c->buf, "HTTP/1.1 %d", &status) != 1 || !(cl = strcasestr(c->buf, "\ncontent-length:")))
    goto fail;
  clen = strtol(cl + 16, NULL, 10);
  need = (size_t)(end + 4 - c->buf) + (size_t)clen;
  if (clen < 0 || need >= sizeof(c->buf)) goto fail;
  while (c->have < need) {
    ssize_t r = recv(c->fd, c->buf + c->have, need - c->have, 0);
    if (r <= 0) goto fail;
    c->have += (size_t)r;
  }
  c->buf[need] = '\0';
  *hdrs = c->buf;
  *body = end + 4;
  return status;
fail:
  conn_close(c);
  return -1;
}

static void rand_b64(char *out, size_t cap, size_t nbytes) {
  uint8_t r[32];
  if (nbytes > sizeof(r) || RAND_bytes(r, (int)nbytes) != 1) abort();
  qrl_b64url_encode(r, nbytes, out, cap);
}

/* One whole flow on c. 0, 1 (a flow failed: said), or -1 (the connection
 * broke before an answer: the caller reconnects). */
static int flow(bench *b, conn *c) {
  char verifier[48], chal[48], state[24], nonce[24], req[2048], loc[1024], code[96], v[128];
  char form[512];
  char *hdrs, *body;
  uint8_t h[32];
  size_t n;
  int st;
  cJSON *tok = NULL;
  rand_b64(verifier, sizeof(verifier), 32);
  rand_b64(state, sizeof(state), 12);
  rand_b64(nonce, sizeof(nonce), 12);
  if (!EVP_Digest(verifier, strlen(verifier), h, NULL, EVP_sha256(), NULL)) return 1;
  qrl_b64url_encode(h, sizeof(h), chal, sizeof(chal));
  n = (size_t)snprintf(req, sizeof(req),
                       "GET /oauth2/authorize?response_type=code&client_id=" CLIENT
                       "&redirect_uri=%s&scope=openid&state=%s&nonce=%s"
                       "&code_challenge=%s&code_challenge_method=S256 HTTP/1.1\r\n"
                       "Host: 127.0.0.1:%d\r\nCookie: %s\r\n\r\n",
                       REDIRECT_ENC, state, nonce, chal, b->port, b->cookie);
  if ((st = conn_call(c, req, n, &hdrs, &body)) < 0) return -1;
  if (st != 302 || qrl_h_header(hdrs, "location:", loc, sizeof(loc)) ||
      strncmp(loc, REDIRECT "?", strlen(REDIRECT) + 1) ||
      qrl_h_url_param(loc, "code", code, sizeof(code)) ||
      qrl_h_url_param(loc, "state", v, sizeof(v)) || strcmp(v, state)) {
    fprintf(stderr, "oidc bench: authorize answered %d, Location '%s'\n", st, loc);
    return 1;
  }
  snprintf(form, sizeof(form), "grant_type=authorization_code&code=%s&redirect_uri=%s"
           "&code_verifier=%s", code, REDIRECT_ENC, verifier);
  n = (size_t)snprintf(req, sizeof(req),
                       "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "Authorization: Basic %s\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       b->port, b->basic, strlen(form), form);
  if ((st = conn_call(c, req, n, &hdrs, &body)) < 0) return -1;
  if (st != 200 || !(tok = cJSON_Parse(body)) ||
      verify_id_token(b, jstr(tok, "id_token"), nonce)) {
    fprintf(stderr, "oidc bench: token answered %d or the ID token did not verify: %.200s\n", st,
            body);
    cJSON_Delete(tok);
    return 1;
  }
  cJSON_Delete(tok);
  return 0;
}

static void *worker(void *arg) {
  bench *b = arg;
  conn c = {.fd = -1};
  while (bench_now_ms() < b->deadline_ms) {
    double t0 = bench_now_ms();
    int r;
    if (c.fd < 0 && conn_open(&c, b->port)) {
      pthread_mutex_lock(&b->mu);
      b->failed++;
      pthread_mutex_unlock(&b->mu);
      break;
    }
    r = flow(b, &c);
    pthread_mutex_lock(&b->mu);
    if (r == 0 && b->nlat < MAX_LAT) b->lat[b->nlat++] = bench_now_ms() - t0;
    if (r == 1) b->failed++;
    if (r == -1) b->reconnects++;
    pthread_mutex_unlock(&b->mu);
    if (r == 1 || b->reconnects > 100) break;
  }
  conn_close(&c);
  return NULL;
}

/* ---- the one national session ------------------------------------------------------ */

/* A QR login of the demo citizen An, then a first authorize with its
 * cookie: the provider's own cookie (qrl_op=...) into b->cookie. 0 or -1. */
static int national_session(bench *b, const qrl_h_server *s) {
  cJSON *ch = NULL, *m = NULL;
  qrl_wsc *br = NULL;
  qrl_h_phone p;
  char body[256], set[512] = "", sess[200], *hdrs = NULL;
  int rc = -1;
  memset(&p, 0, sizeof(p));
  if (!(br = qrl_h_browser(s, &ch)) || qrl_h_phone_ready(s, &p, "001099012345", "MatKhau@2024", NULL))
    goto out;
  m = qrl_h_confirm_page(s, &p, br, ch);
  if (!m || strcmp(qrl_h_type(m), "completed")) goto out;
  snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}", qrl_h_str(m, "code"),
           qrl_h_str(ch, "binding"));
  if (qrl_h_http(s, "POST", "/api/session", s->http, NULL, body, NULL, set) != 200) goto out;
  snprintf(sess, sizeof(sess), "%.*s", (int)strcspn(set, ";"), set);
  /* the first authorize with the web session sets the provider's cookie */
  set[0] = '\0';
  if (qrl_h_http_ex(s, "GET",
                    "/oauth2/authorize?response_type=code&client_id=" CLIENT
                    "&redirect_uri=" REDIRECT_ENC "&scope=openid&code_challenge="
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
                    NULL, sess, NULL, NULL, set, &hdrs) != 302)
    goto out;
  if (!strncmp(set, "qrl_op=", 7)) snprintf(b->cookie, sizeof(b->cookie), "%.*s",
                                             (int)strcspn(set, ";"), set);
  else snprintf(b->cookie, sizeof(b->cookie), "%s", sess); /* an older server: its own cookie */
  rc = 0;
out:
  free(hdrs);
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_h_phone_close(&p);
  qrl_wsc_free(br);
  return rc;
}

static double cpu_self_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
  int secs = 10, conc = 4, keep = 0, cpu_client, cpu_server, rc = 1;
  char sms[200], cred[128];
  lp_server srv;
  qrl_h_server hs;
  bench b;
  pthread_t th[64];
  int64_t cpu0, cpu1;
  double t0, t1, ccpu0, ccpu1;

  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--secs") && i + 1 < argc) secs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--conc") && i + 1 < argc) conc = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep")) keep = 1;
    else secs = -1;
  }
  if (secs < 1 || secs > 3600 || conc < 1 || conc > 64) {
    fprintf(stderr, "usage: qrl_bench_oidc [--secs 1..3600] [--conc 1..64] [--keep]\n");
    return 2;
  }
  memset(&b, 0, sizeof(b));
  pthread_mutex_init(&b.mu, NULL);
  if (!(b.lat = calloc(MAX_LAT, sizeof(double)))) return 1;
  lp_pick_cpus(&cpu_client, &cpu_server);
  lp_pin_self(cpu_client);
  if (lp_prepare(&srv)) return 1;
  snprintf(sms, sizeof(sms), "%s/sms-outbox.log", srv.dir);
  {
    const char *args[] = {QRLOGIND_PATH, "--port", "0", "--bind", "127.0.0.1", "--web", QRL_WEB_DIR,
                          "--demo", "--hash-cost", "10", "--no-rate-limits", "--db", srv.db,
                          "--sms-outbox", sms, NULL};
    if (lp_start(&srv, args, cpu_server)) goto out;
  }
  memset(&hs, 0, sizeof(hs));
  hs.pid = srv.pid;
  hs.pidfd = hs.out_fd = -1;
  hs.port = srv.port;
  snprintf(hs.dir, sizeof(hs.dir), "%s", srv.dir);
  snprintf(hs.db, sizeof(hs.db), "%s", srv.db);
  snprintf(hs.http, sizeof(hs.http), "http://127.0.0.1:%d", srv.port);
  snprintf(hs.ws, sizeof(hs.ws), "ws://127.0.0.1:%d/", srv.port);
  b.port = srv.port;
  snprintf(b.issuer, sizeof(b.issuer), "%s", hs.http);
  snprintf(cred, sizeof(cred), "%s:%s", CLIENT, SECRET);
  qrl_b64url_encode((const uint8_t *)cred, strlen(cred), b.basic, sizeof(b.basic));
  for (char *p = b.basic; *p; p++) /* base64, not base64url */
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  while (strlen(b.basic) % 4) strcat(b.basic, "=");
  if (national_session(&b, &hs) || load_jwks(&b, &hs)) {
    fprintf(stderr, "oidc bench: no national session or no key set\n");
    lp_dump_log(&srv);
    goto out;
  }

  printf("qrl_bench_oidc: %d s, %d connections (keep-alive HTTP/1.1, loopback); server on CPU %d, "
         "client on CPU %d\n", secs, conc, cpu_server, cpu_client);
  cpu0 = lp_cpu_ns(srv.pid);
  ccpu0 = cpu_self_ms();
  t0 = bench_now_ms();
  b.deadline_ms = t0 + secs * 1e3;
  for (int i = 0; i < conc; i++) pthread_create(&th[i], NULL, worker, &b);
  for (int i = 0; i < conc; i++) pthread_join(th[i], NULL);
  t1 = bench_now_ms();
  cpu1 = lp_cpu_ns(srv.pid);
  ccpu1 = cpu_self_ms();

  if (b.nlat == 0) {
    fprintf(stderr, "oidc bench: no flow completed\n");
    lp_dump_log(&srv);
    goto out;
  }
  qsort(b.lat, (size_t)b.nlat, sizeof(double), bench_cmp_double);
  printf("flows %ld in %.1f s: %.0f flows/s; failed %ld; reconnects %ld\n", b.nlat,
         (t1 - t0) / 1e3, (double)b.nlat * 1e3 / (t1 - t0), b.failed, b.reconnects);
  printf("server CPU per flow %.3f ms (%.1f %% of its core); client CPU per flow %.3f ms "
         "(ID token check included)\n",
         (double)(cpu1 - cpu0) / 1e6 / (double)b.nlat, (double)(cpu1 - cpu0) / 1e4 / (t1 - t0),
         (ccpu1 - ccpu0) / (double)b.nlat);
  printf("flow latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", b.lat[b.nlat / 2],
         b.lat[b.nlat * 99 / 100], b.lat[b.nlat - 1]);
  rc = b.failed ? 1 : 0;
out:
  if (lp_stop(&srv, keep) != 0 && rc == 0) {
    fprintf(stderr, "oidc bench: qrlogind did not exit 0\n");
    rc = 1;
  }
  for (int i = 0; i < b.nkeys; i++) EVP_PKEY_free(b.keys[i].pk);
  free(b.lat);
  return rc;
}
