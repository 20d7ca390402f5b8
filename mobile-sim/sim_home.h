/*
 * sim_home.h - the phone simulator's state directory.
 *
 * The directory (--home DIR, else $VNEID_SIM_HOME, else ~/.vneid-sim, mode
 * 0700) holds:
 *   device.key    the P-256 private scalar, base64url, one line (mode 0600)
 *   device.pub    the uncompressed public point, base64url, one line (0600)
 *   session.json  {"session":"<app session token>","account":{...}} (0600)
 * The key pair is made on first use (app login) and kept; the session file
 * exists only while the app is logged in. Files are replaced atomically
 * (temporary file + rename). Reading never creates the directory. Like ssh
 * with ~/.ssh, an existing directory must be this user's own real directory
 * (not a symlink), not writable by group or others (sim_home_check).
 *
 * Not here: talking to the server, printing. Depends on libc, cJSON, helpers.
 */
#ifndef QRLOGIN_SIM_HOME_H
#define QRLOGIN_SIM_HOME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "helpers/crypto.h"
#include "qrlogin/error.h"
#include "qrlogin/protocol.h"

/* The account as the server last described it. */
typedef struct sim_account {
  char id[QRL_CITIZEN_ID_LEN + 1];
  char full_name[256];
  int level;
  int web_login; /* 1 if "Đăng nhập trên website" is on */
} sim_account;

/* A logged-in app: the app session token and its account. */
typedef struct sim_session {
  char token[QRL_SESSION_B64LEN + 1];
  sim_account account;
} sim_session;

/* The device key pair. */
typedef struct sim_key {
  uint8_t priv[QRL_PRIVKEY_BYTES];
  uint8_t pub[QRL_PUBKEY_BYTES];
} sim_key;

/* Writes the state directory path into out (outlen bytes): opt if not NULL,
 * else $VNEID_SIM_HOME if set and not empty, else $HOME/.vneid-sim (or the
 * password database's home). Returns QRL_OK, QRL_INVAL (no home found) or
 * QRL_NOMEM (path longer than out). */
qrl_err sim_home_resolve(const char *opt, char *out, size_t outlen);

/* What makes a state directory unsafe (sim_home_check). */
typedef enum sim_home_fault {
  SIM_HOME_SAFE = 0,    /* this user's directory, closed to others; or absent */
  SIM_HOME_SYMLINK,     /* a symbolic link (never followed) */
  SIM_HOME_NOT_DIR,     /* something other than a directory */
  SIM_HOME_OTHER_OWNER, /* owned by another user than the effective one */
  SIM_HOME_WRITABLE,    /* writable by group or others */
  SIM_HOME_UNREADABLE   /* lstat() failed other than "does not exist" */
} sim_home_fault;

/* Checks dir itself (lstat(): a symlink is reported, not followed; its
 * parents are not checked). Fills *st (may be NULL) with what lstat() found,
 * zeroes if nothing. Returns SIM_HOME_SAFE if dir does not exist or is a
 * directory of the effective user without group/other write permission,
 * else what is wrong with it. */
sim_home_fault sim_home_check(const char *dir, struct stat *st);

/* Creates dir (and missing parents) with mode 0700 if it does not exist,
 * and checks it (sim_home_check). Returns QRL_OK, or QRL_IO if it cannot be
 * made or is unsafe. */
qrl_err sim_home_ensure(const char *dir);

/* Loads the device key pair from dir into *key. Returns QRL_OK,
 * QRL_NOT_LOGGED_IN if there is none, or QRL_IO if the files are unreadable
 * or malformed. */
qrl_err sim_key_load(const char *dir, sim_key *key);

/* Loads the device key pair, making and saving a new one (files 0600) if
 * there is none. Sets *created to 1 if it made one (created may be NULL).
 * Returns QRL_OK, QRL_IO or QRL_CRYPTO. */
qrl_err sim_key_load_or_create(const char *dir, sim_key *key, int *created);

/* Loads the app session from dir into *s. Returns QRL_OK, QRL_NOT_LOGGED_IN
 * if there is no session file or it is malformed, or QRL_IO. */
qrl_err sim_session_load(const char *dir, sim_session *s);

/* Saves *s (copied) to dir, mode 0600, replacing any earlier session.
 * Returns QRL_OK or QRL_IO. */
qrl_err sim_session_save(const char *dir, const sim_session *s);

/* Deletes the session file from dir. Returns QRL_OK (also if there was none)
 * or QRL_IO. */
qrl_err sim_session_forget(const char *dir);

/* Fills *a from the wire account object o ({"id","full_name","level",
 * "web_login"}); o is only read. Returns QRL_OK or QRL_PROTOCOL if a field
 * is missing or malformed. */
qrl_err sim_account_from_json(const cJSON *o, sim_account *a);

/* Returns a new cJSON object describing a (caller frees with cJSON_Delete),
 * or NULL if out of memory. */
cJSON *sim_account_to_json(const sim_account *a);

#endif /* QRLOGIN_SIM_HOME_H */
