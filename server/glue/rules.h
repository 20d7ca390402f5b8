/*
 * rules.h - every throttle qrlogind has, listed once: the rates (tokens per
 * window in seconds) and the holds a request is counted in (throttle.h).
 * Not here: how buckets work (ratelimit.h), taking and settling (throttle.h).
 */
#ifndef QRLOGIN_RULES_H
#define QRLOGIN_RULES_H

#include "glue/throttle.h"

/* Rates (qrl_throttle_hit). */
#define QRL_RL_MINT_IP 30        /* QR codes minted per IP ... */
#define QRL_RL_MINT_WINDOW 60    /* ... per minute */
#define QRL_RL_WATCH_IP 60       /* portal pages' session look-ups (/portal) per IP ... */
#define QRL_RL_WATCH_WINDOW 60   /* ... per minute */
#define QRL_RL_PHONE_ACCT 20     /* scans, confirms, declines per account ... */
#define QRL_RL_PHONE_WINDOW 60   /* ... per minute */
#define QRL_RL_SOCKET_MSGS 60    /* messages per socket ... */
#define QRL_RL_SOCKET_WINDOW 60  /* ... per minute */
#define QRL_RL_SOCKET_STRIKES 10 /* refused messages before the socket is closed */

/* Holds (qrl_throttle_take). */
#define QRL_RL_PW_IP 20          /* failed passwords per IP ... */
#define QRL_RL_PW_KEY 5          /* ... per citizen ID or portal username ... */
#define QRL_RL_PW_WINDOW 900     /* ... per 15 minutes */
#define QRL_RL_SMS_IP 10         /* SMS codes sent per IP ... */
#define QRL_RL_SMS_WINDOW 3600   /* ... per hour */
#define QRL_RL_OTP_IP 30         /* wrong SMS codes per IP ... */
#define QRL_RL_OTP_WINDOW 900    /* ... per 15 minutes */
#define QRL_RL_VID_IP 10         /* "Cập nhật từ CSDL" mismatches per IP ... */
#define QRL_RL_VID_SESSION 5     /* ... per portal session ... */
#define QRL_RL_VID_WINDOW 3600   /* ... per hour */

/* A password check (the web page's password step and the phone app's login
 * share these): per portal username (if username is not "") or citizen ID,
 * and per IP. A wrong password spends both tokens; a right one clears the
 * ID's record and gives the IP's token back; anything else gives both back.
 * The ID's (username's) bucket persists: it is kept in the database too, so
 * a restart does not reset it (the IP's may start over). */
void qrl_rules_password(qrl_hold *h, const char *username, const char *citizen_id,
                        const char *ip);

/* An SMS code sent, per IP: spent only when a code went out. */
void qrl_rules_sms(qrl_hold *h, const char *ip);

/* An SMS code typed, per IP: spent only when it was wrong (or its attempt
 * void). */
void qrl_rules_otp(qrl_hold *h, const char *ip);

/* "Cập nhật từ CSDL Quốc gia về dân cư" (an ID-guessing oracle), per IP and
 * per portal session - keyed by a fingerprint of the session token, never
 * the token: spent only on a mismatch. QRL_CRYPTO if the fingerprint cannot
 * be computed (the hold is then never taken). */
qrl_err qrl_rules_verify_id(qrl_hold *h, const char *ip, const char *session);

#endif /* QRLOGIN_RULES_H */
