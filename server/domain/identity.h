/*
 * identity.h - who is logged in, as plain data: a VNeID citizen, a
 * portal-issued account, the web session that holds one of them. Shared by
 * accounts.h (VNeID identities, sessions) and legacy.h (portal accounts)
 * without either including the other. No functions, no secrets.
 */
#ifndef QRLOGIN_IDENTITY_H
#define QRLOGIN_IDENTITY_H

#include <stdint.h>

#include "qrlogin/protocol.h"

/* A citizen as the login flow sees it (no secrets). */
typedef struct qrl_citizen {
  char id[QRL_CITIZEN_ID_LEN + 1];
  char full_name[128];
  int level;     /* 1 or 2 */
  char phone[16];
  int web_login; /* "Đăng nhập trên website" granted: 0 or 1 */
} qrl_citizen;

/* A portal-issued account (before VNeID: citizens; still: organizations). */
typedef struct qrl_portal_account {
  int64_t id;             /* 0: none */
  char username[65];
  char kind[16];          /* "citizen" or "organization" */
  char display_name[128];
  char phone[16];
  char dob[11];           /* YYYY-MM-DD, citizens */
  char citizen_id[QRL_CITIZEN_ID_LEN + 1]; /* as declared; may be empty */
  int id_verified;        /* checked against the population register */
  char linked_citizen[QRL_CITIZEN_ID_LEN + 1]; /* the VNeID identity, if linked */
} qrl_portal_account;

/* A live web session, as the portal page sees it: a VNeID citizen's
 * (citizen.id set) or a portal account's (portal.id set). */
typedef struct qrl_web_session {
  qrl_citizen citizen;
  qrl_portal_account portal;
  char method[16]; /* "qr", "password_otp", "portal_otp" */
  int64_t created_at;
  int64_t id;      /* the session's row: its public handle ("Không phải tôi") */
  int step_up;     /* a QR login whose phone proved the passcode during it
                      (OpenID amr "pin", "mfa") */
} qrl_web_session;

#endif /* QRLOGIN_IDENTITY_H */
