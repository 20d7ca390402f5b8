/*
 * api_otp.h - the second login path over HTTP (docs/protocol.md):
 *
 *   POST /api/otp/start        {"id","password"}        -> attempt + SMS
 *   POST /api/portal/start     {"username","password"}  -> attempt + SMS
 *   POST /api/otp/verify       {"attempt","otp"[,"kiosk"]} -> session cookie
 *                              ("kiosk": true from the kiosk page: a kiosk's
 *                              session, method "otp_kiosk")
 *   POST /api/otp/resend       {"attempt"}              -> a new code
 *   POST /api/portal/verify-id {"citizen_id"} + cookie  -> ID verified
 *
 * The throttles that must treat unknown IDs like real ones are holds taken
 * on the loop (rules.h): failed passwords per IP and per ID/username, wrong
 * codes per IP, SMS per IP. The ones tied to stored state (per attempt, per
 * phone) are in otp.c.
 */
#ifndef QRLOGIN_API_OTP_H
#define QRLOGIN_API_OTP_H

#include "handlers/http.h"

/* Adds the routes above to h. */
qrl_err qrl_api_otp_attach(qrl_http *h);

#endif /* QRLOGIN_API_OTP_H */
