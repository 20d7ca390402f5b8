/*
 * policy.c - the production values of the account rules (policy.h).
 */
#include "domain/policy.h"

qrl_acct_policy qrl_acct_policy_default(void) {
  qrl_acct_policy p;
  p.hash_cost_log2 = 15;
  p.passcode_max_failures = 5;
  p.passcode_lock_secs = 900;
  p.app_session_secs = 30 * 24 * 3600;
  p.web_session_secs = 8 * 3600;
  p.code_secs = 60;
  p.fresh_device_secs = 24 * 3600;
  p.kiosk_session_secs = 15 * 60;
  p.web_idle_secs = 30 * 60;
  p.kiosk_idle_secs = 120;
  p.required_level = 2;
  return p;
}
