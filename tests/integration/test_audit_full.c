/*
 * test_audit_full.c - a full disk (issue 9, finding 3): qrlogind's database
 * lives on a small tmpfs of the test's own, which the test fills to the last
 * page. An operation whose audit row is part of its meaning (turning web
 * login on, a phone login that takes the account's device) fails with a
 * clear error and changes nothing; a refusal's row that cannot be written is
 * said in the log and counted; once space returns the same operations work,
 * a QR login completes, and the audit hash chain verifies.
 *
 * The tmpfs is mounted in a mount namespace of this test's own (as root, or
 * as root of a new user namespace where the kernel allows that), so nothing
 * outside sees it and it goes away with the test.
 */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef QRLOGIN_ADMIN_PATH
#error "QRLOGIN_ADMIN_PATH must be defined by the build"
#endif

#define AN "001099012345"
#define PW "MatKhau@2024"

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n = (ssize_t)strlen(text);
  int ok = fd >= 0 && write(fd, text, (size_t)n) == n;
  if (fd >= 0) close(fd);
  return ok ? 0 : -1;
}

/* A mount namespace of our own, as root or as root of a new user namespace. */
static int own_mount_namespace(void) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  char map[64];
  if (unshare(CLONE_NEWNS) == 0) goto private;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
    perror("unshare (no mount namespace for the test's tmpfs)");
    return -1;
  }
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
  if (write_file("/proc/self/uid_map", map)) return -1;
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
  if (write_file("/proc/self/gid_map", map)) return -1;
private:
  return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* Fills the filesystem of dir until a write fails for want of space. */
static int fill(const char *path) {
  static char block[65536];
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t sizes[] = {sizeof(block), 4096, 512, 1};
  if (fd < 0) return -1;
  memset(block, 'x', sizeof(block));
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    while (write(fd, block, sizes[i]) == (ssize_t)sizes[i]) {
    }
  close(fd);
  return errno == ENOSPC ? 0 : -1;
}

static int run_admin_verify(const char *db) {
  int st = 0;
  pid_t pid = fork();
  if (pid == 0) {
    execl(QRLOGIN_ADMIN_PATH, QRLOGIN_ADMIN_PATH, "--db", db, "audit", "verify",
          (char *)NULL);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *errcode_of(cJSON *m) { return m ? qrl_h_errcode(m) : "no answer"; }

TEST(a_full_disk_fails_closed_and_the_chain_survives) {
  char dir[] = "/tmp/qrl-full-XXXXXX", db[64], ballast[64], logpath[300], failed[64];
  const char *extra[] = {"--db", db, NULL};
  qrl_h_server srv, *s = &srv;
  qrl_h_phone p1, p2;
  cJSON *m = NULL;
  char *resp = NULL;
  int r = 1, started = 0, status;

  memset(&p1, 0, sizeof(p1));
  memset(&p2, 0, sizeof(p2));
  if (!mkdtemp(dir)) TEST_FAIL_("mkdtemp");
  if (own_mount_namespace() || mount("tmpfs", dir, "tmpfs", 0, "size=4m,mode=0700")) {
    perror("mount");
    TEST_FAIL_("cannot mount the test's own tmpfs");
  }
  snprintf(db, sizeof(db), "%s/qrlogin.db", dir);
  snprintf(ballast, sizeof(ballast), "%s/ballast", dir);
  if (qrl_h_start(s, extra)) goto out;
  started = 1;
  qrl_h_path(s, "server.log", logpath, sizeof(logpath));

  /* A citizen's phone is logged in, web login still off. */
  if (qrl_h_phone_login(s, &p1, AN, PW, NULL)) goto out;

  /* The disk fills up. */
  if (fill(ballast)) {
    fprintf(stderr, "could not fill the tmpfs\n");
    goto out;
  }
  /* Turning web login on is refused - its audit row cannot be written. */
  m = qrl_h_phone_call(&p1, "set_permission",
                       "\"permission\":\"web_login\",\"value\":true,\"passcode\":\"123456\"");
  if (strcmp(errcode_of(m), "internal") != 0) {
    fprintf(stderr, "set_permission on a full disk answered %s, want internal\n",
            errcode_of(m));
    goto out;
  }
  cJSON_Delete(m);
  m = NULL;
  /* A login from a second phone (it would take the account's one device)
   * is refused too: its persisted failure count, or its row, cannot be
   * written. */
  if (qrl_h_phone_login(s, &p2, AN, PW, failed) == 0 || strcmp(failed, "internal") != 0) {
    fprintf(stderr, "a phone login on a full disk: %s, want internal\n", failed);
    goto out;
  }
  qrl_h_phone_close(&p2);
  /* A refusal whose row is written by itself: a cross-site POST. */
  status = qrl_h_http(s, "POST", "/api/logout", "http://evil.example", NULL, "{}", &resp,
                      NULL);
  free(resp);
  resp = NULL;
  if (status != 403) {
    fprintf(stderr, "cross-site POST answered %d, want 403\n", status);
    goto out;
  }
  /* Each lost row was said. (The refusal's row is written by a worker after
   * the answer: wait for its line.) */
  {
    static const char *const said[] = {
        "\"event\":\"audit_lost\",\"audit_event\":\"set_permission\"",
        "\"event\":\"audit_lost\",\"audit_event\":\"http_post\"", NULL};
    if (qrl_h_wait_lines(logpath, said[0], 1, QRL_H_TIMEOUT_MS) ||
        qrl_h_wait_lines(logpath, said[1], 1, QRL_H_TIMEOUT_MS)) {
      fprintf(stderr, "the lost audit rows were not all said in the log\n");
      goto out;
    }
  }

  /* Space returns. Nothing of the refused operations happened: the first
   * phone is still the account's device, web login is still off. */
  if (unlink(ballast)) goto out;
  m = qrl_h_phone_call(&p1, "status", NULL);
  if (strcmp(qrl_h_type(m), "status_ok") != 0 ||
      !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
          cJSON_GetObjectItemCaseSensitive(m, "account"), "web_login"))) {
    fprintf(stderr, "after the full disk the account changed: %s\n", qrl_h_type(m));
    goto out;
  }
  cJSON_Delete(m);
  m = NULL;
  /* ... and everything works again. */
  if (qrl_h_qr_login(s, AN, PW, NULL, failed)) {
    fprintf(stderr, "no QR login once space returned: %s\n", failed);
    goto out;
  }
  qrl_h_phone_close(&p1);
  /* The server says at exit how many rows the trail is missing. */
  if (qrl_h_settle(s) != 0) goto out;
  started = 0;
  if (qrl_h_count_lines(logpath, "rows could not be written") != 1) {
    fprintf(stderr, "no count of the lost rows at exit\n");
    goto out;
  }
  /* The chain is whole: lost rows left no gap, as they never were. */
  if (run_admin_verify(db) != 0) {
    fprintf(stderr, "qrlogin-admin audit verify failed after the full disk\n");
    goto out;
  }
  r = 0;
out:
  cJSON_Delete(m);
  qrl_h_phone_close(&p1);
  qrl_h_phone_close(&p2);
  if (r) qrl_h_dump_log(s);
  if (started) qrl_h_settle(s);
  qrl_h_stop(s); /* the harness directory; the tmpfs goes with the namespace */
  return r;
}

TEST_MAIN(a_full_disk_fails_closed_and_the_chain_survives)
