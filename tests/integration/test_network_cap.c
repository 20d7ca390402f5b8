/*
 * test_network_cap.c - live QR codes per browser network
 * (--max-challenges-per-ip): one IP holds at most that many, the next page
 * from it is told too_many_challenges_ip (its own code and Vietnamese
 * message) while a browser from another address still gets its QR, and the
 * places come back when a code's browser leaves, when it expires and when its
 * login completes. Other loopback addresses (127.0.0.2) are "another IP".
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define AN "001099012345"
#define PW "MatKhau@2024"
#define TOO_MANY "too_many_challenges_ip"

/* A browser socket from iface (NULL: 127.0.0.1) and its first message. */
static qrl_wsc *browser_from(const qrl_h_server *s, const char *iface, cJSON **first) {
  qrl_wsc *c = NULL;
  int status = 0;
  *first = NULL;
  if (qrl_h_connect(s, QRL_SUBPROTO_BROWSER, s->http, iface, &c, &status) != QRL_OK) {
    fprintf(stderr, "  browser from %s: HTTP %d\n", iface ? iface : "127.0.0.1", status);
    return NULL;
  }
  *first = qrl_h_recv(c, QRL_H_TIMEOUT_MS);
  return c;
}

/* 1 if m is the too_many_challenges_ip error with its Vietnamese message. */
static int is_too_many(const cJSON *m) {
  int ok = m && strcmp(qrl_h_errcode(m), TOO_MANY) == 0 &&
           strstr(qrl_h_str(m, "message"), "cùng mạng") != NULL;
  if (!ok) fprintf(stderr, "  wanted %s, got %s %s\n", TOO_MANY, m ? qrl_h_type(m) : "nothing",
                   m ? qrl_h_errcode(m) : "");
  return ok;
}

/* Asks for a new code on c; 1 if it got one. */
static int new_code(qrl_wsc *c) {
  cJSON *m = qrl_h_call(c, "{\"type\":\"new_challenge\"}");
  int ok = m && strcmp(qrl_h_type(m), "challenge") == 0;
  cJSON_Delete(m);
  return ok;
}

/* Asks for a new code on c until it gets one: the sockets of this IP just
 * closed, and the server frees their places on each close callback, which a
 * close handshake cut short by a loaded machine can leave for later. Each
 * try is a round trip (no sleeping); any answer but too_many_challenges_ip,
 * or no place freed within the harness's timeout, is a failure. */
static int new_code_once_freed(qrl_wsc *c) {
  int64_t deadline = qrl_h_mono_ms() + QRL_H_TIMEOUT_MS;
  while (qrl_h_mono_ms() < deadline) {
    cJSON *m = qrl_h_call(c, "{\"type\":\"new_challenge\"}");
    int got = m && strcmp(qrl_h_type(m), "challenge") == 0,
        refused = m && strcmp(qrl_h_errcode(m), TOO_MANY) == 0;
    cJSON_Delete(m);
    if (got) return 1;
    if (!refused) return 0;
  }
  fprintf(stderr, "  no place came back within %d ms\n", QRL_H_TIMEOUT_MS);
  return 0;
}

/* The finding: one IP could hold every live code. Three here: the fourth
 * page from 127.0.0.1 is refused, a page from 127.0.0.2 gets its QR, a page
 * at the cap can still replace its own code, and once the first IP's pages
 * close it gets exactly three codes again - its count went back to zero.
 * (--no-rate-limits: the mint throttle is not under test, the cap stays.) */
SERVER_TEST(one_ip_cannot_hold_every_code, "--max-challenges-per-ip", "3",
            "--no-rate-limits", NULL) {
  qrl_wsc *b[3] = {NULL, NULL, NULL}, *over, *other, *again[2], *last;
  cJSON *m = NULL;
  for (int i = 0; i < 3; i++) {
    b[i] = browser_from(s, NULL, &m);
    ASSERT_TRUE(b[i] != NULL);
    ASSERT_EQ_STR(qrl_h_type(m), "challenge");
    cJSON_Delete(m);
  }
  over = browser_from(s, NULL, &m);
  ASSERT_TRUE(over != NULL);
  ASSERT_TRUE(is_too_many(m));
  cJSON_Delete(m);

  other = browser_from(s, "127.0.0.2", &m);
  ASSERT_TRUE(other != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "challenge");
  cJSON_Delete(m);

  ASSERT_TRUE(new_code(b[0])); /* its old code's place is its new one's */
  m = qrl_h_call(over, "{\"type\":\"new_challenge\"}");
  ASSERT_TRUE(is_too_many(m));
  cJSON_Delete(m);

  /* The first IP's pages go away: their places come back. */
  for (int i = 0; i < 3; i++) qrl_wsc_free(b[i]);
  ASSERT_TRUE(new_code_once_freed(over));
  for (int i = 0; i < 2; i++) {
    again[i] = browser_from(s, NULL, &m);
    ASSERT_TRUE(again[i] != NULL);
    if (strcmp(qrl_h_type(m), "challenge") != 0) {
      ASSERT_TRUE(is_too_many(m));
      ASSERT_TRUE(new_code_once_freed(again[i]));
    }
    cJSON_Delete(m);
  }
  /* Three live again from 127.0.0.1 (over, again[0], again[1]): full. */
  last = browser_from(s, NULL, &m);
  ASSERT_TRUE(last != NULL);
  ASSERT_TRUE(is_too_many(m));
  cJSON_Delete(m);
  m = qrl_h_call(other, "{\"type\":\"new_challenge\"}");
  ASSERT_EQ_STR(qrl_h_type(m), "challenge");
  cJSON_Delete(m);
  qrl_wsc_free(last);
  qrl_wsc_free(again[0]);
  qrl_wsc_free(again[1]);
  qrl_wsc_free(other);
  qrl_wsc_free(over);
  return 0;
}

/* An expired code gives its place back: the page that was refused gets a
 * code once the other page is told its code expired. */
SERVER_TEST(an_expired_code_gives_its_place_back, "--max-challenges-per-ip", "1",
            "--challenge-ttl", "2", NULL) {
  cJSON *m = NULL;
  qrl_wsc *a = browser_from(s, NULL, &m), *b;
  ASSERT_TRUE(a != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "challenge");
  cJSON_Delete(m);
  b = browser_from(s, NULL, &m);
  ASSERT_TRUE(b != NULL);
  ASSERT_TRUE(is_too_many(m));
  cJSON_Delete(m);
  m = qrl_h_expect(a, "expired", QRL_H_TIMEOUT_MS); /* the sweep's push: an event */
  ASSERT_TRUE(m != NULL);
  cJSON_Delete(m);
  ASSERT_TRUE(new_code(b));
  m = qrl_h_call(a, "{\"type\":\"new_challenge\"}"); /* b holds the one place now */
  ASSERT_TRUE(is_too_many(m) || strcmp(qrl_h_type(m), "challenge") == 0);
  if (strcmp(qrl_h_type(m), "challenge") == 0) {
    /* b's 2-second code expired in between (a slow run): then a's turn. */
    cJSON_Delete(m);
    m = qrl_h_expect(b, "expired", QRL_H_TIMEOUT_MS);
    ASSERT_TRUE(m != NULL);
  }
  cJSON_Delete(m);
  qrl_wsc_free(a);
  qrl_wsc_free(b);
  return 0;
}

/* A completed login gives its place back. */
SERVER_TEST(a_completed_login_gives_its_place_back, "--max-challenges-per-ip", "1", NULL) {
  cJSON *ch = NULL, *m = NULL;
  qrl_wsc *br = browser_from(s, NULL, &ch), *b;
  qrl_h_phone p;
  ASSERT_TRUE(br != NULL);
  ASSERT_EQ_STR(qrl_h_type(ch), "challenge");
  b = browser_from(s, NULL, &m);
  ASSERT_TRUE(b != NULL);
  ASSERT_TRUE(is_too_many(m));
  cJSON_Delete(m);
  ASSERT_EQ_INT(qrl_h_phone_ready(s, &p, AN, PW, NULL), 0);
  m = qrl_h_confirm_page(s, &p, br, ch);
  ASSERT_TRUE(m != NULL);
  ASSERT_EQ_STR(qrl_h_type(m), "completed");
  cJSON_Delete(m);
  ASSERT_TRUE(new_code(b));
  qrl_h_phone_close(&p);
  cJSON_Delete(ch);
  qrl_wsc_free(br);
  qrl_wsc_free(b);
  return 0;
}

TEST_MAIN(one_ip_cannot_hold_every_code, an_expired_code_gives_its_place_back,
          a_completed_login_gives_its_place_back)
