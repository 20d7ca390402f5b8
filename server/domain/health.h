/*
 * health.h - is the database usable: the cheap check behind /readyz.
 *
 * Run on a worker (it touches the file), at most about once a second (the
 * caller caches the answer). Not here: what the server does with the
 * answer (handlers/ops.c), the pool's saturation.
 * Depends on SQLite.
 */
#ifndef QRLOGIN_HEALTH_H
#define QRLOGIN_HEALTH_H

#include "domain/db.h"

/* Reads the schema through db (a worker's open handle) and through a new
 * read-only connection to path, which must still name a database file: an
 * open handle keeps working on a file that was deleted or replaced under
 * it, so only a fresh open tells that the server's data is gone. Creates
 * nothing. QRL_OK, or QRL_DB (said on stderr, with SQLite's reason). */
qrl_err qrl_db_health(qrl_db *db, const char *path);

#endif /* QRLOGIN_HEALTH_H */
