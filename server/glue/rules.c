/*
 * rules.c - the holds of qrlogind's failure limits (rules.h).
 */
#include "glue/rules.h"

#include <stdio.h>
#include <string.h>

#include "helpers/crypto.h"

static void keep(qrl_rule *r, qrl_err a, qrl_err b, int n) {
  if (!r) return;
  r->keep[0] = a;
  r->keep[1] = b;
  r->nkeep = n;
}

void qrl_rules_password(qrl_hold *h, const char *username, const char *citizen_id,
                        const char *ip) {
  qrl_rule *r = username[0]
                    ? qrl_hold_add(h, "pw:user", username, QRL_RL_PW_KEY, QRL_RL_PW_WINDOW)
                    : qrl_hold_add(h, "pw:id", citizen_id, QRL_RL_PW_KEY, QRL_RL_PW_WINDOW);
  keep(r, QRL_BAD_CREDENTIALS, QRL_BAD_CREDENTIALS, 1);
  if (r) {
    r->reset_on_ok = 1;
    r->persist = 1; /* a restart must not hand out fresh guesses */
  }
  keep(qrl_hold_add(h, "pw:ip", ip, QRL_RL_PW_IP, QRL_RL_PW_WINDOW), QRL_BAD_CREDENTIALS,
       QRL_BAD_CREDENTIALS, 1);
}

void qrl_rules_sms(qrl_hold *h, const char *ip) {
  keep(qrl_hold_add(h, "sms:ip", ip, QRL_RL_SMS_IP, QRL_RL_SMS_WINDOW), QRL_OK, QRL_OK, 1);
}

void qrl_rules_otp(qrl_hold *h, const char *ip) {
  keep(qrl_hold_add(h, "otp:ip", ip, QRL_RL_OTP_IP, QRL_RL_OTP_WINDOW), QRL_OTP_WRONG,
       QRL_OTP_VOID, 2);
}

qrl_err qrl_rules_verify_id(qrl_hold *h, const char *ip, const char *session) {
  uint8_t d[QRL_SHA256_LEN];
  char fp[17];
  if (qrl_sha256(session, strlen(session), d)) {
    qrl_cleanse(d, sizeof(d));
    return QRL_CRYPTO; /* no fingerprint: refuse rather than share one bucket */
  }
  for (int i = 0; i < 8; i++) snprintf(fp + 2 * i, 3, "%02x", d[i]);
  keep(qrl_hold_add(h, "vid:ip", ip, QRL_RL_VID_IP, QRL_RL_VID_WINDOW),
       QRL_POPULATION_MISMATCH, QRL_POPULATION_MISMATCH, 1);
  keep(qrl_hold_add(h, "vid:sess", fp, QRL_RL_VID_SESSION, QRL_RL_VID_WINDOW),
       QRL_POPULATION_MISMATCH, QRL_POPULATION_MISMATCH, 1);
  return QRL_OK;
}
