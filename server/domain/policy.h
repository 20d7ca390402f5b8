/*
 * policy.h - the tunables of the account rules (lifetimes, locks, levels,
 * hash cost), shared by every domain module that applies them. Plain data:
 * no I/O. Not here: the rules themselves (accounts.h, legacy.h, otp.h).
 */
#ifndef QRLOGIN_POLICY_H
#define QRLOGIN_POLICY_H

#include <stdint.h>

/* Tunables of the account rules; qrl_acct_policy_default() gives production
 * values. */
typedef struct qrl_acct_policy {
  int hash_cost_log2;          /* scrypt log2(N) for new hashes: 15 */
  int passcode_max_failures;   /* wrong passcodes before lock: 5 */
  int64_t passcode_lock_secs;  /* first lock: 900; each next one in a row doubles
                                  (up to 64x) until a right passcode */
  int64_t app_session_secs;    /* app session lifetime: 30 days */
  int64_t web_session_secs;    /* web session lifetime: 8 hours */
  int64_t code_secs;           /* completion code lifetime: 60 */
  int64_t kiosk_session_secs;  /* a web session from a kiosk: 15 min */
  int64_t web_idle_secs;       /* a web session unused this long ends: 30 min */
  int64_t kiosk_idle_secs;     /* ... a kiosk's: 120 s (websession.h) */
  int64_t fresh_device_secs;   /* a device this new cannot turn web login on
                                  or link old accounts: 24 h */
  int required_level;          /* level a QR web login needs: 2 */
} qrl_acct_policy;

/* Returns the production defaults listed in qrl_acct_policy. */
qrl_acct_policy qrl_acct_policy_default(void);

#endif /* QRLOGIN_POLICY_H */
