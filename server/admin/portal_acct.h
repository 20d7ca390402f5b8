/*
 * portal_acct.h - qrlogin-admin's one-stop desk command: an official at a
 * "Bộ phận một cửa" makes a portal-issued account (portal-account add ...
 * --by-desk OFFICIAL). Citizens' accounts are refused from the
 * accounts-close day (default 2024-06-15, Vietnam time: the seeds' notice
 * that from then citizens register and log in only with VNeID and the desks
 * lose the function); organizations' are made at any date. Parses the
 * command's own arguments (a bad one: exit 2 naming it), calls the domain
 * (legacy.h) and prints. Not here: the other commands (main.c, oidc.c).
 */
#ifndef QRLOGIN_ADMIN_PORTAL_ACCT_H
#define QRLOGIN_ADMIN_PORTAL_ACCT_H

#include <stdint.h>

#include "domain/db.h"
#include "domain/policy.h"

/* The help lines of this command, for qrlogin-admin --help. */
extern const char qrl_admin_portal_acct_usage[];

/* Runs `group action argv...` (argv[0] is the action) if group is
 * "portal-account": returns the exit status (0 done, 1 refused, 2 usage
 * error, with the reason on stderr), or -1 if group is not ours. */
int qrl_admin_portal_acct_run(qrl_db *db, const qrl_acct_policy *pol, const char *group,
                              int argc, char **argv, int64_t now);

#endif /* QRLOGIN_ADMIN_PORTAL_ACCT_H */
