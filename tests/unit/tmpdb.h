/*
 * tmpdb.h - a database file in a fresh temporary directory, for the unit
 * tests of modules that keep their state in SQLite (a real file: WAL, the
 * migrations, the triggers - not an in-memory stand-in).
 *
 *   qrl_tmpdb t;
 *   if (qrl_tmpdb_make(&t, "legacy") != 0) return -1;  // a new directory
 *   qrl_db_open(t.path, &db);                           // <dir>/test.db
 *   qrl_db_close(db);
 *   qrl_tmpdb_remove(&t);                     // the file, -wal, -shm, the dir
 *
 * The directory is made by mkdtemp(3) from /tmp/qrl-test-<tag>-XXXXXX (the
 * six X are its template, replaced by random characters).
 *
 * The caller owns the struct; nothing is allocated.
 */
#ifndef QRLOGIN_TEST_TMPDB_H
#define QRLOGIN_TEST_TMPDB_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct qrl_tmpdb {
  char dir[96];
  char path[128];
} qrl_tmpdb;

/* Makes the directory; t->path names test.db inside it (not created).
 * Returns 0, or -1 with errno set. */
static inline int qrl_tmpdb_make(qrl_tmpdb *t, const char *tag) {
  snprintf(t->dir, sizeof(t->dir), "/tmp/qrl-test-%s-XXXXXX", tag);
  if (!mkdtemp(t->dir)) return -1;
  snprintf(t->path, sizeof(t->path), "%s/test.db", t->dir);
  return 0;
}

/* Removes the database file, its WAL and shared-memory files and the
 * directory (which must hold nothing else). Close the database first. */
static inline void qrl_tmpdb_remove(qrl_tmpdb *t) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  char p[160];
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
    unlink(p);
  }
  rmdir(t->dir);
}

#endif /* QRLOGIN_TEST_TMPDB_H */
