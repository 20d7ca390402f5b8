/*
 * oidc.h - qrlogin-admin's OpenID Connect commands: the provider's signing
 * keys (oidc key list|rotate) and its relying portals (client
 * add|list|show|rotate-secret|remove). Parses the command's own arguments
 * (a bad one: exit 2 naming it), calls the domain (oidc_keys.h,
 * oidc_clients.h) and prints, as text or (--json) one JSON document. Never
 * prints a private key or a secret's hash; a client secret only when it is
 * made. Not here: the other commands (main.c).
 */
#ifndef QRLOGIN_ADMIN_OIDC_H
#define QRLOGIN_ADMIN_OIDC_H

#include <stdint.h>

#include "domain/db.h"

/* The help lines of these commands, for qrlogin-admin --help. */
extern const char qrl_admin_oidc_usage[];

/* Runs `group action argv...` (argv[0] is the action; the rest its
 * arguments) if group is one of these commands' ("oidc", "client"): returns the exit
 * status (0 done, 1 refused, 2 usage error, with the reason on stderr), or
 * -1 if group is not ours. json: --json was given before the command. */
int qrl_admin_oidc_run(qrl_db *db, int json, const char *group, int argc, char **argv,
                       int64_t now);

#endif /* QRLOGIN_ADMIN_OIDC_H */
