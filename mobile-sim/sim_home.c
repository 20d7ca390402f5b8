/*
 * sim_home.c - the phone simulator's state directory (see sim_home.h).
 *
 * Keeps the device key pair and the app session on disk with owner-only
 * permissions: the directory is made 0700, every file is written 0600 to a
 * temporary name and renamed into place, and files are opened O_NOFOLLOW.
 * Never creates anything when only reading. A directory found there is used
 * only if it is a real directory (lstat: a symlink is not followed) of this
 * user, not writable by group or others, as ssh wants of ~/.ssh.
 *
 * It does not talk to the server or print anything.
 */
#include "sim_home.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/b64.h"

#define SIM_KEY_FILE "device.key"
#define SIM_PUB_FILE "device.pub"
#define SIM_SESSION_FILE "session.json"
#define SIM_FILE_MAX 65536

/* Writes dir "/" name into out. Returns QRL_OK or QRL_NOMEM. */
static qrl_err home_path(const char *dir, const char *name, char *out,
                         size_t outlen) {
  int n = snprintf(out, outlen, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= outlen) return QRL_NOMEM;
  return QRL_OK;
}

qrl_err sim_home_resolve(const char *opt, char *out, size_t outlen) {
  const char *base = opt;
  const char *suffix = "";
  struct passwd *pw;
  int n;
  qrl_err rc = QRL_OK;

  if (!base || !*base) {
    base = getenv("VNEID_SIM_HOME");
    if (!base || !*base) {
      base = getenv("HOME");
      if (!base || !*base) {
        pw = getpwuid(getuid());
        base = pw ? pw->pw_dir : NULL;
      }
      suffix = "/.vneid-sim";
    }
  }
  if (!base || !*base) {
    rc = QRL_INVAL;
    goto out;
  }
  n = snprintf(out, outlen, "%s%s", base, suffix);
  if (n < 0 || (size_t)n >= outlen) rc = QRL_NOMEM;
out:
  return rc;
}

sim_home_fault sim_home_check(const char *dir, struct stat *st) {
  struct stat sb;
  sim_home_fault f = SIM_HOME_SAFE;

  if (!st) st = &sb;
  memset(st, 0, sizeof(*st));
  if (lstat(dir, st)) {
    f = errno == ENOENT ? SIM_HOME_SAFE : SIM_HOME_UNREADABLE;
    goto out;
  }
  if (S_ISLNK(st->st_mode))
    f = SIM_HOME_SYMLINK;
  else if (!S_ISDIR(st->st_mode))
    f = SIM_HOME_NOT_DIR;
  else if (st->st_uid != geteuid())
    f = SIM_HOME_OTHER_OWNER;
  else if (st->st_mode & (S_IWGRP | S_IWOTH))
    f = SIM_HOME_WRITABLE;
out:
  return f;
}

/* Makes directory path with mode 0700 (whatever the umask) if it does not
 * exist. Returns 0, or -1 with errno set. */
static int home_mkdir(const char *path) {
  if (mkdir(path, 0700)) return errno == EEXIST ? 0 : -1;
  return chmod(path, 0700);
}

qrl_err sim_home_ensure(const char *dir) {
  char path[4096];
  struct stat st;
  size_t i, len = strlen(dir);
  qrl_err rc = QRL_OK;

  if (len == 0 || len >= sizeof(path)) {
    rc = QRL_IO;
    goto out;
  }
  memcpy(path, dir, len + 1);
  /* Parents first (mode 0700 too; they are usually there already). */
  for (i = 1; i < len; i++) {
    if (path[i] != '/') continue;
    path[i] = '\0';
    if (home_mkdir(path)) {
      rc = QRL_IO;
      goto out;
    }
    path[i] = '/';
  }
  if (home_mkdir(path)) {
    rc = QRL_IO;
    goto out;
  }
  /* Whether made now or found: ours, a real directory, closed to others. */
  if (sim_home_check(path, &st) != SIM_HOME_SAFE || !S_ISDIR(st.st_mode))
    rc = QRL_IO;
out:
  return rc;
}

/* Reads the whole file at path into a new NUL-terminated buffer *out (caller
 * frees). Returns QRL_OK, QRL_NOT_LOGGED_IN if it does not exist, or QRL_IO. */
static qrl_err home_read(const char *path, char **out) {
  char *buf = NULL;
  size_t len = 0;
  ssize_t n;
  int fd = -1;
  qrl_err rc = QRL_OK;

  *out = NULL;
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENOENT ? QRL_NOT_LOGGED_IN : QRL_IO;
    goto out;
  }
  buf = malloc(SIM_FILE_MAX + 1);
  if (!buf) {
    rc = QRL_NOMEM;
    goto out;
  }
  while (len < SIM_FILE_MAX) {
    n = read(fd, buf + len, SIM_FILE_MAX - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = QRL_IO;
      goto out;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *out = buf;
  buf = NULL;
out:
  free(buf);
  if (fd >= 0) close(fd);
  return rc;
}

/* Replaces the file dir/name with len bytes of data, mode 0600, atomically.
 * Returns QRL_OK or QRL_IO. */
static qrl_err home_write(const char *dir, const char *name, const void *data,
                          size_t len) {
  char path[4096], tmp[4096];
  const char *p = data;
  size_t done = 0;
  ssize_t n;
  int fd = -1, made = 0; /* made: tmp is ours to remove on failure */
  qrl_err rc = QRL_OK;

  if ((rc = home_path(dir, name, path, sizeof(path)))) goto out;
  n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    rc = QRL_NOMEM; /* tmp holds a cut path, maybe another file's name */
    goto out;
  }
  unlink(tmp);
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = QRL_IO;
    goto out;
  }
  made = 1;
  if (fchmod(fd, 0600)) {
    rc = QRL_IO;
    goto out;
  }
  while (done < len) {
    n = write(fd, p + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = QRL_IO;
      goto out;
    }
    done += (size_t)n;
  }
  if (fsync(fd)) {
    rc = QRL_IO;
    goto out;
  }
  if (close(fd)) {
    fd = -1;
    rc = QRL_IO;
    goto out;
  }
  fd = -1;
  if (rename(tmp, path)) rc = QRL_IO;
out:
  if (fd >= 0) close(fd);
  if (rc && made) unlink(tmp);
  return rc;
}

/* Decodes the first line of text as base64url into exactly want bytes.
 * Returns QRL_OK or QRL_IO. */
static qrl_err home_decode_line(const char *text, uint8_t *out, size_t want) {
  size_t len = strcspn(text, "\r\n");
  long n = qrl_b64url_decode(text, len, out, want);
  return n == (long)want ? QRL_OK : QRL_IO;
}

qrl_err sim_key_load(const char *dir, sim_key *key) {
  char path[4096];
  char *priv_txt = NULL, *pub_txt = NULL;
  qrl_err rc = QRL_OK, rc2;

  if ((rc = home_path(dir, SIM_KEY_FILE, path, sizeof(path)))) goto out;
  rc = home_read(path, &priv_txt);
  if ((rc2 = home_path(dir, SIM_PUB_FILE, path, sizeof(path)))) {
    rc = rc2;
    goto out;
  }
  rc2 = home_read(path, &pub_txt);
  if (rc == QRL_NOT_LOGGED_IN && rc2 == QRL_NOT_LOGGED_IN) goto out;
  if (rc || rc2) { /* one file without the other is damage, not absence */
    rc = QRL_IO;
    goto out;
  }
  if ((rc = home_decode_line(priv_txt, key->priv, QRL_PRIVKEY_BYTES))) goto out;
  if ((rc = home_decode_line(pub_txt, key->pub, QRL_PUBKEY_BYTES))) goto out;
  if (qrl_ec_pub_check(key->pub, QRL_PUBKEY_BYTES)) rc = QRL_IO;
out:
  free(priv_txt);
  free(pub_txt);
  return rc;
}

qrl_err sim_key_load_or_create(const char *dir, sim_key *key, int *created) {
  char txt[QRL_B64_ENCLEN(QRL_PUBKEY_BYTES) + 2];
  long n;
  qrl_err rc;

  if (created) *created = 0;
  rc = sim_key_load(dir, key);
  if (rc != QRL_NOT_LOGGED_IN) goto out;
  if ((rc = sim_home_ensure(dir))) goto out;
  if ((rc = qrl_ec_keygen(key->priv, key->pub))) goto out;
  n = qrl_b64url_encode(key->priv, QRL_PRIVKEY_BYTES, txt, sizeof(txt) - 1);
  if (n < 0) {
    rc = QRL_INTERNAL;
    goto out;
  }
  txt[n] = '\n';
  if ((rc = home_write(dir, SIM_KEY_FILE, txt, (size_t)n + 1))) goto out;
  n = qrl_b64url_encode(key->pub, QRL_PUBKEY_BYTES, txt, sizeof(txt) - 1);
  if (n < 0) {
    rc = QRL_INTERNAL;
    goto out;
  }
  txt[n] = '\n';
  if ((rc = home_write(dir, SIM_PUB_FILE, txt, (size_t)n + 1))) goto out;
  if (created) *created = 1;
out:
  memset(txt, 0, sizeof(txt));
  return rc;
}

qrl_err sim_account_from_json(const cJSON *o, sim_account *a) {
  const cJSON *id, *name, *level, *web;
  int n;
  qrl_err rc = QRL_OK;

  memset(a, 0, sizeof(*a));
  if (!cJSON_IsObject(o)) {
    rc = QRL_PROTOCOL;
    goto out;
  }
  id = cJSON_GetObjectItemCaseSensitive(o, "id");
  name = cJSON_GetObjectItemCaseSensitive(o, "full_name");
  level = cJSON_GetObjectItemCaseSensitive(o, "level");
  web = cJSON_GetObjectItemCaseSensitive(o, "web_login");
  if (!cJSON_IsString(id) || strlen(id->valuestring) != QRL_CITIZEN_ID_LEN ||
      !cJSON_IsNumber(level) || !cJSON_IsBool(web)) {
    rc = QRL_PROTOCOL;
    goto out;
  }
  memcpy(a->id, id->valuestring, QRL_CITIZEN_ID_LEN + 1);
  if (cJSON_IsString(name)) {
    n = snprintf(a->full_name, sizeof(a->full_name), "%s", name->valuestring);
    if (n < 0) a->full_name[0] = '\0';
  }
  a->level = level->valueint;
  a->web_login = cJSON_IsTrue(web) ? 1 : 0;
out:
  return rc;
}

cJSON *sim_account_to_json(const sim_account *a) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  if (!cJSON_AddStringToObject(o, "id", a->id) ||
      !cJSON_AddStringToObject(o, "full_name", a->full_name) ||
      !cJSON_AddNumberToObject(o, "level", a->level) ||
      !cJSON_AddBoolToObject(o, "web_login", a->web_login)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

qrl_err sim_session_load(const char *dir, sim_session *s) {
  char path[4096];
  char *txt = NULL;
  cJSON *root = NULL;
  const cJSON *tok;
  qrl_err rc = QRL_OK;

  memset(s, 0, sizeof(*s));
  if ((rc = home_path(dir, SIM_SESSION_FILE, path, sizeof(path)))) goto out;
  if ((rc = home_read(path, &txt))) goto out;
  root = cJSON_Parse(txt);
  tok = cJSON_GetObjectItemCaseSensitive(root, "session");
  if (!cJSON_IsString(tok) || strlen(tok->valuestring) != QRL_SESSION_B64LEN ||
      sim_account_from_json(cJSON_GetObjectItemCaseSensitive(root, "account"),
                            &s->account)) {
    rc = QRL_NOT_LOGGED_IN; /* a damaged session is no session */
    goto out;
  }
  memcpy(s->token, tok->valuestring, QRL_SESSION_B64LEN + 1);
out:
  cJSON_Delete(root);
  free(txt);
  return rc;
}

qrl_err sim_session_save(const char *dir, const sim_session *s) {
  cJSON *root = NULL, *acc;
  char *txt = NULL;
  qrl_err rc = QRL_OK;

  if ((rc = sim_home_ensure(dir))) goto out;
  root = cJSON_CreateObject();
  acc = sim_account_to_json(&s->account);
  if (!root || !acc) {
    cJSON_Delete(acc);
    rc = QRL_NOMEM;
    goto out;
  }
  cJSON_AddItemToObject(root, "account", acc);
  if (!cJSON_AddStringToObject(root, "session", s->token) ||
      !(txt = cJSON_Print(root))) {
    rc = QRL_NOMEM;
    goto out;
  }
  rc = home_write(dir, SIM_SESSION_FILE, txt, strlen(txt));
out:
  if (txt) memset(txt, 0, strlen(txt));
  cJSON_free(txt);
  cJSON_Delete(root);
  return rc;
}

qrl_err sim_session_forget(const char *dir) {
  char path[4096];
  qrl_err rc = QRL_OK;

  if ((rc = home_path(dir, SIM_SESSION_FILE, path, sizeof(path)))) goto out;
  if (unlink(path) && errno != ENOENT) rc = QRL_IO;
out:
  return rc;
}
