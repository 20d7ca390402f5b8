/*
 * test_handlers.c - the handlers' rules that need no socket: a completion
 * (with its one-time code) reaches only the browser that still shows that
 * challenge - not one that has since asked for a new code, not a phone, not
 * a connection that has gone.
 */
#include <string.h>

#include "handlers/ws_browser.h"
#include "test.h"

TEST(completed_goes_only_to_the_browser_still_showing_the_challenge) {
  static qrl_conn br, ph; /* lws would own these: no socket needed */
  qrl_conns reg;
  memset(&br, 0, sizeof(br));
  memset(&ph, 0, sizeof(ph));
  ASSERT_ERR(qrl_conns_init(&reg), QRL_OK);
  ASSERT_ERR(qrl_conn_register(&reg, &br, NULL, QRL_CONN_BROWSER), QRL_OK);
  ASSERT_ERR(qrl_conn_register(&reg, &ph, NULL, QRL_CONN_PHONE), QRL_OK);
  snprintf(br.frames.id, sizeof(br.frames.id), "%s", "challenge-A");
  snprintf(ph.frames.id, sizeof(ph.frames.id), "%s", "challenge-A");

  ASSERT_EQ_INT(qrl_browser_push_completed(&reg, br.id, "challenge-A", "code", QRL_OK), 1);
  /* the page asked for a new code meanwhile: the old login's code is not its */
  snprintf(br.frames.id, sizeof(br.frames.id), "%s", "challenge-B");
  ASSERT_EQ_INT(qrl_browser_push_completed(&reg, br.id, "challenge-A", "code", QRL_OK), 0);
  ASSERT_EQ_INT(qrl_browser_push_completed(&reg, br.id, "challenge-A", NULL,
                                           QRL_UNAVAILABLE), 0);
  /* not a phone, not a connection that has gone */
  ASSERT_EQ_INT(qrl_browser_push_completed(&reg, ph.id, "challenge-A", "code", QRL_OK), 0);
  qrl_conn_release(&reg, &br);
  snprintf(br.frames.id, sizeof(br.frames.id), "%s", "challenge-A");
  ASSERT_EQ_INT(qrl_browser_push_completed(&reg, 1, "challenge-A", "code", QRL_OK), 0);
  qrl_conn_release(&reg, &ph);
  qrl_conns_free(&reg);
  return 0;
}

TEST_MAIN(completed_goes_only_to_the_browser_still_showing_the_challenge)
