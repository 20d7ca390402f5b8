/*
 * test_shutdown.c - SIGTERM with a long queue: requests no worker has
 * started are dropped and answered "unavailable", the ones running finish
 * and are answered, and qrlogind exits 0 within a bound - instead of
 * working through the whole queue first.
 *
 * 20 phone sockets send 30 app logins each (wrong password: a scrypt check
 * each at --hash-cost 14, one worker): tens of seconds of work queued. Then
 * SIGTERM. Every request must be answered (bad_credentials if it ran,
 * unavailable if it was dropped), most of them dropped, and the process
 * gone within 10 s.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "helpers/b64.h"
#include "helpers/crypto.h"
#include "harness.h"

#define SOCKETS 20
#define PER_SOCKET 30 /* under the 32-message send queue of a socket */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

SERVER_TEST(sigterm_drops_queued_work_answers_it_and_exits_in_time, "--workers", "1",
            "--hash-cost", "14", "--no-rate-limits", NULL) {
  qrl_wsc *ph[SOCKETS] = {0};
  uint8_t priv[32], pub[65];
  char key[100], msg[400];
  int answered = 0, unavailable = 0, wrong = 0, other = 0, rc = 1;
  double t0, elapsed;

  ASSERT_ERR(qrl_ec_keygen(priv, pub), QRL_OK);
  ASSERT_TRUE(qrl_b64url_encode(pub, sizeof(pub), key, sizeof(key)) > 0);
  snprintf(msg, sizeof(msg),
           "{\"type\":\"login\",\"id\":\"001099012345\",\"password\":\"Sai@MatKhau2024\","
           "\"device_key\":\"%s\"}",
           key);
  for (int i = 0; i < SOCKETS; i++) {
    ph[i] = qrl_h_phone_socket(s);
    if (!ph[i]) goto out;
    for (int k = 0; k < PER_SOCKET; k++)
      if (qrl_wsc_send_text(ph[i], msg)) goto out;
  }
  /* The worker is busy once the first answer is back. */
  {
    cJSON *m = qrl_h_recv(ph[0], 60000);
    if (!m) goto out;
    answered++;
    if (strcmp(qrl_h_errcode(m), "bad_credentials") == 0) wrong++;
    else other++;
    cJSON_Delete(m);
  }
  t0 = now_s();
  if (kill(s->pid, SIGTERM)) goto out;
  /* Every socket gets an answer to each request, then is closed. */
  for (int i = 0; i < SOCKETS; i++) {
    cJSON *m;
    while ((m = qrl_h_recv(ph[i], 15000))) {
      const char *code = qrl_h_errcode(m);
      answered++;
      if (strcmp(code, "unavailable") == 0) unavailable++;
      else if (strcmp(code, "bad_credentials") == 0) wrong++;
      else {
        fprintf(stderr, "  unexpected answer: %s %s\n", qrl_h_type(m), code);
        other++;
      }
      cJSON_Delete(m);
    }
  }
  elapsed = now_s() - t0;
  fprintf(stderr, "  %d answers (%d unavailable, %d wrong password) in %.2f s\n", answered,
          unavailable, wrong, elapsed);
  rc = 0;
out:
  for (int i = 0; i < SOCKETS; i++) qrl_wsc_free(ph[i]);
  ASSERT_EQ_INT(rc, 0);
  ASSERT_EQ_INT(answered, SOCKETS * PER_SOCKET);
  ASSERT_EQ_INT(other, 0);
  ASSERT_TRUE(unavailable > SOCKETS * PER_SOCKET / 2); /* most never ran */
  ASSERT_TRUE(elapsed < 10.0);
  return 0;
}

TEST_MAIN(sigterm_drops_queued_work_answers_it_and_exits_in_time)
