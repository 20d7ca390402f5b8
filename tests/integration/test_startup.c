/*
 * test_startup.c - qrlogind never claims what did not happen: a port that is
 * in use, an address that is not this machine's, a --web directory without
 * the login page, a database that cannot be used (and why) each end the start
 * with a clear message and exit 1, and
 * "listening on" is never printed for them. A port freed again is taken.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Runs qrlogind with args (NULL-terminated, after --db/--sms-outbox in dir)
 * to its end; its stdout+stderr in out. The exit status, or -1 if it did not
 * end within 20 s (it would be serving: the bug). */
static int run_to_end(const char *dir, char *out, size_t cap, const char *const *args) {
  const char *argv[32];
  char db[300], outbox[300];
  int pipefd[2], n = 0, st = 0;
  size_t got = 0;
  pid_t pid;
  snprintf(db, sizeof(db), "%s/t.db", dir);
  snprintf(outbox, sizeof(outbox), "%s/outbox.log", dir);
  argv[n++] = QRLOGIND_PATH;
  argv[n++] = "--db";
  argv[n++] = db;
  argv[n++] = "--sms-outbox";
  argv[n++] = outbox;
  for (size_t i = 0; args[i] && n < 30; i++) argv[n++] = args[i];
  argv[n] = NULL;
  if (pipe(pipefd)) return -1;
  if ((pid = fork()) < 0) return -1;
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    execv(QRLOGIND_PATH, (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  out[0] = '\0';
  for (;;) {
    struct pollfd p = {pipefd[0], POLLIN, 0};
    ssize_t r;
    if (poll(&p, 1, 20000) <= 0) { /* still running: it is serving */
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      close(pipefd[0]);
      return -1;
    }
    r = read(pipefd[0], out + got, cap - 1 - got);
    if (r <= 0) break;
    got += (size_t)r;
    out[got] = '\0';
    if (got >= cap - 1) break;
  }
  close(pipefd[0]);
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

SERVER_TEST(a_port_in_use_is_said_and_nothing_listens, NULL) {
  char out[4096], port[16];
  const char *args[] = {"--port", port, "--host", "127.0.0.1", NULL};
  snprintf(port, sizeof(port), "%d", s->port);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), args), 1);
  ASSERT_TRUE(strstr(out, "is in use") != NULL);
  ASSERT_TRUE(strstr(out, "listening on") == NULL);
  return 0;
}

SERVER_TEST(an_address_not_of_this_machine_or_a_missing_page_is_refused, NULL) {
  char out[4096];
  const char *foreign[] = {"--port", "0", "--bind", "192.0.2.1", "--host", "127.0.0.1", NULL}; /* TEST-NET-1 */
  const char *no_dir[] = {"--port", "0", "--web", "/nonexistent-qrlogin-web", "--host", "127.0.0.1", NULL};
  const char *no_page[] = {"--port", "0", "--web", "/", "--host", "127.0.0.1", NULL};
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), foreign), 1);
  ASSERT_TRUE(strstr(out, "not an address of this machine") != NULL);
  ASSERT_TRUE(strstr(out, "listening on") == NULL);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), no_dir), 1);
  ASSERT_TRUE(strstr(out, "is not a directory") != NULL);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), no_page), 1);
  ASSERT_TRUE(strstr(out, "no readable index.html") != NULL);
  ASSERT_TRUE(strstr(out, "listening on") == NULL);
  return 0;
}

/* A database that cannot be used says why. */
SERVER_TEST(a_database_that_cannot_be_used_says_why, NULL) {
  char out[4096], junk[300];
  const char *missing[] = {"--port", "0", "--db", "/nonexistent-qrlogin-dir/x.db", "--host", "127.0.0.1", NULL};
  const char *not_db[] = {"--port", "0", "--db", junk, "--host", "127.0.0.1", NULL};
  FILE *f;
  snprintf(junk, sizeof(junk), "%s/junk.db", s->dir);
  ASSERT_TRUE((f = fopen(junk, "w")) != NULL);
  fputs("this is not a database, but it is long enough to look like a file\n", f);
  fclose(f);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), missing), 1);
  ASSERT_TRUE(strstr(out, "No such file or directory") != NULL);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), not_db), 1);
  ASSERT_TRUE(strstr(out, "not a database") != NULL);
  ASSERT_TRUE(strstr(out, "listening on") == NULL);
  return 0;
}

/* Outside --demo the server must be told the names it serves (DNS
 * rebinding): without --origin or --host it says so, naming both, and exits
 * 1 before it creates a file or listens. --demo alone still starts
 * (loopback names only: test_rebinding). */
SERVER_TEST(without_demo_the_served_names_are_required, NULL) {
  char out[4096], db[300];
  const char *bare[] = {"--port", "0", NULL};
  const char *other_flags[] = {"--port", "0", "--qr-frame-secs", "3", NULL};
  snprintf(db, sizeof(db), "%s/t.db", s->dir);
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), bare), 1);
  ASSERT_TRUE(strstr(out, "refusing to start without --origin or --host") != NULL);
  ASSERT_TRUE(strstr(out, "DNS rebinding") != NULL);
  ASSERT_TRUE(strstr(out, "--demo") != NULL);
  ASSERT_TRUE(strstr(out, "listening on") == NULL);
  ASSERT_TRUE(access(db, F_OK) != 0); /* nothing created */
  ASSERT_EQ_INT(run_to_end(s->dir, out, sizeof(out), other_flags), 1);
  ASSERT_TRUE(strstr(out, "refusing to start") != NULL);
  return 0;
}

TEST_MAIN(a_port_in_use_is_said_and_nothing_listens, a_database_that_cannot_be_used_says_why,
          an_address_not_of_this_machine_or_a_missing_page_is_refused,
          without_demo_the_served_names_are_required)
