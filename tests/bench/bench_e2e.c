/*
 * bench_e2e.c - end-to-end figures against a real qrlogind (started by the
 * integration harness on a free port with a temporary database):
 *
 *   - browser connect: websocket upgrade + Origin check + challenge minted,
 *     QR rendered and pushed, measured to the `challenge` message;
 *   - QR login: scan → signed confirm → `completed` pushed to the browser →
 *     HTTP code exchange (cookie), measured from the scan request to the
 *     cookie, with a fresh app login (not timed) before each round, since a
 *     completed login revokes the app session.
 *
 * Usage: qrl_bench_e2e [rounds]   (default 200). Not a test: figures only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "harness.h"

static void report(const char *what, double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
  printf("%-44s p50 %6.2f ms   p90 %6.2f ms   p99 %6.2f ms   (n=%d)\n", what,
         v[n / 2], v[n * 9 / 10], v[n * 99 / 100], n);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 200;
  /* Many logins of one account from one IP: the throttles would stop it. */
  static const char *const extra[] = {"--workers", "2", "--no-rate-limits", NULL};
  qrl_h_server s;
  double *conn = NULL, *login = NULL;
  int rc = 1;

  if (rounds < 10 || rounds > 100000) {
    fprintf(stderr, "usage: qrl_bench_e2e [rounds 10..100000]\n");
    return 2;
  }
  conn = calloc((size_t)rounds, sizeof(double));
  login = calloc((size_t)rounds, sizeof(double));
  if (!conn || !login || qrl_h_start(&s, extra)) return 1;

  for (int i = 0; i < rounds; i++) {
    cJSON *ch = NULL, *m;
    qrl_wsc *br;
    qrl_h_phone p;
    qrl_qr_payload qp;
    char f[160], body[256];
    double t0 = bench_now_ms();

    if (!(br = qrl_h_browser(&s, &ch))) goto out;
    conn[i] = bench_now_ms() - t0;
    if (qrl_h_challenge_payload(ch, &qp) ||
        qrl_h_phone_login(&s, &p, "001099012345", "MatKhau@2024", NULL))
      goto out;
    if (i == 0) {
      m = qrl_h_phone_call(&p, "set_permission",
                           "\"permission\":\"web_login\",\"value\":true,"
                           "\"passcode\":\"123456\"");
      cJSON_Delete(m);
    }
    snprintf(f, sizeof(f), "\"qr\":\"%s\"",
             qrl_h_str(cJSON_GetObjectItemCaseSensitive(ch, "qr"), "payload"));
    t0 = bench_now_ms();
    m = qrl_h_phone_call(&p, "scan", f);
    if (strcmp(qrl_h_type(m), "scan_ok")) goto out;
    cJSON_Delete(m);
    m = qrl_h_phone_decide(&p, &qp, s.http, (int64_t)time(NULL), qrl_h_scanned_number(br),
                           QRL_DECISION_CONFIRM);
    if (strcmp(qrl_h_type(m), "confirm_ok")) goto out;
    cJSON_Delete(m);
    if (!(m = qrl_h_expect(br, "completed", QRL_H_TIMEOUT_MS))) goto out;
    snprintf(body, sizeof(body), "{\"code\":\"%s\",\"binding\":\"%s\"}",
             qrl_h_str(m, "code"), qrl_h_str(ch, "binding"));
    cJSON_Delete(m);
    if (qrl_h_http(&s, "POST", "/api/session", s.http, NULL, body, NULL,
                   NULL) != 200)
      goto out;
    login[i] = bench_now_ms() - t0;
    qrl_h_phone_close(&p);
    qrl_wsc_free(br);
    cJSON_Delete(ch);
  }
  printf("qrlogin end-to-end, one client at a time, %d rounds, loopback\n",
         rounds);
  report("browser connect -> challenge with QR", conn, rounds);
  report("scan -> confirm -> completed -> cookie", login, rounds);
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench_e2e: a round failed\n");
  qrl_h_stop(&s);
  free(conn);
  free(login);
  return rc;
}
