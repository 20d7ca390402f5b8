/*
 * api_identity.h - "Thông tin định danh" on the portal page over HTTP:
 *
 *   GET /api/identity  cookie -> where the old portal account stands with
 *                      the VNeID identity, and the seeds' two dates
 *
 * Answer: {"kind": "citizen"|"legacy_citizen"|"organization",
 *          "status": "none"|"linked"|"verified"|"unverified"|"organization",
 *          "username": old account's or "", "verified_at"/"linked_at": unix
 *          time or null, "vneid_notice": true if a portal-account session
 *          should now log in with VNeID, "accounts_close"/"cutover":
 *          "dd/mm/yyyy" (Vietnam days), "cutover_passed": bool}.
 * Read on a worker; 401 without a live session.
 */
#ifndef QRLOGIN_API_IDENTITY_H
#define QRLOGIN_API_IDENTITY_H

#include "handlers/http.h"

/* Adds the route above to h. */
qrl_err qrl_api_identity_attach(qrl_http *h);

#endif /* QRLOGIN_API_IDENTITY_H */
