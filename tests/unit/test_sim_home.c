/*
 * test_sim_home.c - the phone simulator's state directory (mobile-sim/
 * sim_home.c): directories it makes are 0700 whatever the umask; an existing
 * one is refused, as ssh refuses a bad ~/.ssh, when it is a symlink, not a
 * directory, another user's or writable by group or others; a path too long
 * for its buffers fails cleanly and removes no file that is not its own.
 *
 * Runs as any user; the "another user" case needs root (chown to 65534) and
 * is skipped with a note otherwise.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim_home.h"
#include "test.h"

#define NOBODY_UID 65534

/* Makes a fresh directory /tmp/qrl-test-simhome-XXXXXX into dir (96
 * bytes). Returns 0 or -1. */
static int tmp_make(char *dir) {
  snprintf(dir, 96, "/tmp/qrl-test-simhome-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int type,
                  struct FTW *f) {
  (void)st;
  (void)f;
  return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Removes dir and all it holds (symlinks are removed, not followed). */
static void tmp_remove(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes base/aaa.../aaa... (directories, mode 0700) so that the path is
 * exactly len bytes long; writes it into out (outlen bytes). Returns 0 or
 * -1. */
static int deep_dir(const char *base, size_t len, char *out, size_t outlen) {
  size_t n = strlen(base), k;
  if (len >= outlen || n + 2 > len) return -1;
  memcpy(out, base, n + 1);
  while (n < len) {
    k = len - n - 1; /* one component: '/' and k 'a's */
    if (k > 200) k = len - n - 201 == 1 ? 199 : 200; /* never leave 1 byte */
    out[n++] = '/';
    memset(out + n, 'a', k);
    n += k;
    out[n] = '\0';
    if (mkdir(out, 0700) && errno != EEXIST) return -1;
  }
  return 0;
}

static void session_fill(sim_session *s) {
  memset(s, 0, sizeof(*s));
  memset(s->token, 'A', QRL_SESSION_B64LEN);
  memcpy(s->account.id, "001099012345", QRL_CITIZEN_ID_LEN);
  snprintf(s->account.full_name, sizeof(s->account.full_name), "Nguyễn Văn An");
  s->account.level = 2;
}

/* A spy on unlink(2): this definition in the test program is the one the
 * simulator's code (linked statically) calls. While armed it counts calls. */
static int unlink_armed, unlink_calls;
int unlink(const char *path) {
  if (unlink_armed) unlink_calls++;
  return (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
}

TEST(made_directories_are_0700_whatever_the_umask) {
  char base[96], dir[160], parent[160];
  struct stat st;
  mode_t old;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(parent, sizeof(parent), "%s/phone", base);
  snprintf(dir, sizeof(dir), "%s/phone/an", base);
  old = umask(0277); /* would give 0500 */
  ASSERT_ERR(sim_home_ensure(dir), QRL_OK);
  umask(old);
  ASSERT_EQ_INT(lstat(dir, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 07777, 0700);
  ASSERT_EQ_INT(lstat(parent, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 07777, 0700);
  /* umask 0 gives no more than 0700 either */
  snprintf(dir, sizeof(dir), "%s/open", base);
  old = umask(0);
  ASSERT_ERR(sim_home_ensure(dir), QRL_OK);
  umask(old);
  ASSERT_EQ_INT(lstat(dir, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 07777, 0700);
  /* an existing directory of ours keeps its mode */
  ASSERT_EQ_INT(chmod(base, 0755), 0);
  ASSERT_ERR(sim_home_ensure(base), QRL_OK);
  ASSERT_EQ_INT(lstat(base, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 07777, 0755);
  tmp_remove(base);
  return 0;
}

TEST(own_directory_or_none_is_safe) {
  char base[96], dir[160];
  struct stat st;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(dir, sizeof(dir), "%s/not-yet", base);
  ASSERT_EQ_INT(sim_home_check(dir, &st), SIM_HOME_SAFE);
  ASSERT_EQ_INT(st.st_mode, 0); /* nothing found */
  ASSERT_EQ_INT(sim_home_check(base, NULL), SIM_HOME_SAFE); /* 0700 */
  ASSERT_EQ_INT(chmod(base, 0755), 0);
  ASSERT_EQ_INT(sim_home_check(base, &st), SIM_HOME_SAFE); /* like ~/.ssh */
  ASSERT_EQ_INT(st.st_mode & 07777, 0755);
  tmp_remove(base);
  return 0;
}

TEST(writable_by_group_or_others_is_refused) {
  static const mode_t modes[] = {0777, 0770, 0702, 0720, 01777};
  char base[96], dir[160];
  struct stat st;
  sim_session s;
  size_t i;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(dir, sizeof(dir), "%s/an-phone", base);
  ASSERT_EQ_INT(mkdir(dir, 0700), 0);
  session_fill(&s);
  for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    ASSERT_EQ_INT(chmod(dir, modes[i]), 0);
    ASSERT_EQ_INT(sim_home_check(dir, &st), SIM_HOME_WRITABLE);
    ASSERT_EQ_INT(st.st_mode & 07777, modes[i]);
    ASSERT_ERR(sim_home_ensure(dir), QRL_IO);
    ASSERT_ERR(sim_session_save(dir, &s), QRL_IO);
  }
  snprintf(dir, sizeof(dir), "%s/an-phone/session.json", base);
  ASSERT_NE_INT(access(dir, F_OK), 0); /* nothing was written there */
  tmp_remove(base);
  return 0;
}

TEST(another_users_directory_is_refused) {
  char base[96], dir[160];
  struct stat st;
  sim_key key;
  if (geteuid() != 0) {
    fprintf(stderr, "  (skipped: chown to another user needs root)\n");
    return 0;
  }
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(dir, sizeof(dir), "%s/an-phone", base);
  ASSERT_EQ_INT(mkdir(dir, 0700), 0);
  ASSERT_EQ_INT(chown(dir, NOBODY_UID, NOBODY_UID), 0);
  ASSERT_EQ_INT(sim_home_check(dir, &st), SIM_HOME_OTHER_OWNER);
  ASSERT_EQ_INT(st.st_uid, NOBODY_UID);
  ASSERT_ERR(sim_home_ensure(dir), QRL_IO);
  ASSERT_NE_INT(sim_key_load_or_create(dir, &key, NULL), QRL_OK);
  snprintf(dir, sizeof(dir), "%s/an-phone/device.key", base);
  ASSERT_NE_INT(access(dir, F_OK), 0); /* no key left in it */
  tmp_remove(base);
  return 0;
}

TEST(a_symlink_is_refused_not_followed) {
  char base[96], real[160], link[160], path[200];
  struct stat st;
  sim_session s;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(real, sizeof(real), "%s/real", base);
  snprintf(link, sizeof(link), "%s/link", base);
  ASSERT_EQ_INT(mkdir(real, 0700), 0); /* a perfectly good target */
  ASSERT_EQ_INT(symlink(real, link), 0);
  ASSERT_EQ_INT(sim_home_check(link, &st), SIM_HOME_SYMLINK);
  ASSERT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_ERR(sim_home_ensure(link), QRL_IO);
  session_fill(&s);
  ASSERT_ERR(sim_session_save(link, &s), QRL_IO);
  snprintf(path, sizeof(path), "%s/session.json", real);
  ASSERT_NE_INT(access(path, F_OK), 0); /* nothing written through it */
  /* a dangling link too */
  snprintf(link, sizeof(link), "%s/dangling", base);
  ASSERT_EQ_INT(symlink("/nonexistent/qrl", link), 0);
  ASSERT_EQ_INT(sim_home_check(link, NULL), SIM_HOME_SYMLINK);
  tmp_remove(base);
  return 0;
}

TEST(a_file_is_not_a_directory) {
  char base[96], file[160];
  int fd;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(file, sizeof(file), "%s/file", base);
  fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd >= 0);
  close(fd);
  ASSERT_EQ_INT(sim_home_check(file, NULL), SIM_HOME_NOT_DIR);
  ASSERT_ERR(sim_home_ensure(file), QRL_IO);
  tmp_remove(base);
  return 0;
}

/* The temporary name (dir/.session.json.<pid>.tmp) does not fit the buffer
 * while the file name does: the cut name may be another file's, which must
 * survive the failed write. */
TEST(a_cut_temporary_name_removes_nothing) {
  char base[96], dir[4096], victim[4096];
  sim_session s;
  int fd;
  ASSERT_EQ_INT(tmp_make(base), 0);
  ASSERT_EQ_INT(deep_dir(base, 4082, dir, sizeof(dir)), 0);
  /* what "%s/.session.json.<pid>.tmp" is cut to in 4096 bytes */
  ASSERT_EQ_INT(snprintf(victim, sizeof(victim), "%s/.session.jso", dir), 4095);
  fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_TRUE(fd >= 0);
  close(fd);
  session_fill(&s);
  ASSERT_NE_INT(sim_session_save(dir, &s), QRL_OK);
  ASSERT_EQ_INT(access(victim, F_OK), 0);
  tmp_remove(base);
  return 0;
}

/* dir fits, dir/session.json does not: the write fails before it has a
 * temporary name and must not unlink() whatever its buffer holds (it did,
 * an uninitialised one). */
TEST(a_home_path_too_long_removes_nothing) {
  char base[96], dir[4096];
  sim_session s;
  qrl_err rc;
  ASSERT_EQ_INT(tmp_make(base), 0);
  ASSERT_EQ_INT(deep_dir(base, 4088, dir, sizeof(dir)), 0);
  session_fill(&s);
  unlink_calls = 0;
  unlink_armed = 1;
  rc = sim_session_save(dir, &s);
  unlink_armed = 0;
  ASSERT_NE_INT(rc, QRL_OK);
  ASSERT_EQ_INT(unlink_calls, 0);
  tmp_remove(base);
  return 0;
}

TEST(session_roundtrip_in_a_made_home) {
  char base[96], dir[160];
  sim_session s, t;
  sim_key k1, k2;
  int created = 0;
  ASSERT_EQ_INT(tmp_make(base), 0);
  snprintf(dir, sizeof(dir), "%s/home/.vneid-sim", base);
  ASSERT_ERR(sim_session_load(dir, &t), QRL_NOT_LOGGED_IN);
  ASSERT_ERR(sim_key_load_or_create(dir, &k1, &created), QRL_OK);
  ASSERT_EQ_INT(created, 1);
  ASSERT_ERR(sim_key_load(dir, &k2), QRL_OK);
  ASSERT_EQ_INT(memcmp(k1.pub, k2.pub, sizeof(k1.pub)), 0);
  session_fill(&s);
  ASSERT_ERR(sim_session_save(dir, &s), QRL_OK);
  ASSERT_ERR(sim_session_load(dir, &t), QRL_OK);
  ASSERT_EQ_STR(t.token, s.token);
  ASSERT_EQ_STR(t.account.full_name, "Nguyễn Văn An");
  ASSERT_ERR(sim_session_forget(dir), QRL_OK);
  ASSERT_ERR(sim_session_load(dir, &t), QRL_NOT_LOGGED_IN);
  tmp_remove(base);
  return 0;
}

TEST_MAIN(made_directories_are_0700_whatever_the_umask,
          own_directory_or_none_is_safe,
          writable_by_group_or_others_is_refused,
          another_users_directory_is_refused,
          a_symlink_is_refused_not_followed, a_file_is_not_a_directory,
          a_cut_temporary_name_removes_nothing,
          a_home_path_too_long_removes_nothing,
          session_roundtrip_in_a_made_home)
