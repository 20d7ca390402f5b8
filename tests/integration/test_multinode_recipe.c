/*
 * test_multinode_recipe.c - examples/multinode/run.sh, for real: the script
 * starts a redis-server, two qrlogind nodes sharing it and one SQLite
 * database, and Debian's haproxy in front on a free port. The test waits for
 * the script's "ready" line (a blocking read, no sleeps) and then, through the
 * proxy: answers come back; browser websockets upgrade, get their `challenge`,
 * and land on both nodes (each node's own /metrics counts them); a whole QR
 * login crosses nodes (page on one, phone on the other: Redis carries it); a
 * phone socket upgrades and logs in; /metrics and /readyz, in every spelling
 * qrlogind itself would serve, are not passed on. A web session made on one
 * node works on the other (the shared database). A node killed with SIGKILL is
 * routed around at once (the proxy retries elsewhere) and the script says
 * so; one stopped with SIGTERM (a rolling restart) tells its waiting page to
 * reconnect, which then finds the other node through the proxy. Ctrl-C (SIGINT
 * to the script's process group, as a terminal sends it) and SIGTERM each stop
 * everything: the script exits with the right status, no process it started is
 * left (the test is the child subreaper, so an orphan would become its child),
 * and no port answers.
 *
 * Without haproxy the cases that need it are skipped, loudly (exit 77);
 * CMake with -DQRL_FULL_SUITE=ON refuses to configure without it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAX_NODES 4
#define START_MS                                                               \
  (4 * QRL_H_TIMEOUT_MS) /* three programs in a row, then haproxy */

static const char AN[] = "001099012345", PW[] = "MatKhau@2024",
                  AN_PHONE[] = "0912345678";

/* One run of the script. */
typedef struct recipe {
  pid_t pid;
  int pidfd;
  int out;      /* its stdout (read end), -1 at EOF */
  char tmp[64]; /* the test's directory */
  char dir[96]; /* tmp/run: the script's --dir */
  int port;     /* the proxy's */
  int nnodes;
  int node_port[MAX_NODES];
  pid_t node_pid[MAX_NODES];
  pid_t redis_pid, haproxy_pid;
  char text[32768]; /* everything it printed */
  size_t len;
  int status; /* exit status once it exited */
} recipe;

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *f) {
  (void)sb, (void)flag, (void)f;
  return remove(p);
}

/* A port the kernel just gave out and took back: free, unless another
 * program takes it in the moment before the script binds it (the start is
 * then made again on another). */
static int free_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t n = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &n) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* Whether something accepts TCP connections on 127.0.0.1:port. */
static int port_answers(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/* Reads what the script prints until needle is in it (1), it closes its
 * stdout (0), or ms pass (0). */
static int wait_text(recipe *r, const char *needle, int ms) {
  int64_t deadline = qrl_h_mono_ms() + ms;
  while (!(needle && strstr(r->text, needle))) {
    struct pollfd pf = {.fd = r->out, .events = POLLIN};
    int64_t left = deadline - qrl_h_mono_ms();
    ssize_t got;
    if (r->out < 0 || left <= 0) return 0;
    if (poll(&pf, 1, (int)left) <= 0) continue;
    got = read(r->out, r->text + r->len, sizeof(r->text) - 1 - r->len);
    if (got <= 0) {
      close(r->out);
      r->out = -1;
      return needle ? strstr(r->text, needle) != NULL : 0;
    }
    r->len += (size_t)got;
    r->text[r->len] = '\0';
  }
  return 1;
}

/* Waits for the script to exit (ms at most): 0 with r->status, or -1. */
static int wait_exit(recipe *r, int ms) {
  struct pollfd pf = {.fd = r->pidfd, .events = POLLIN};
  int st;
  if (poll(&pf, 1, ms) != 1 || waitpid(r->pid, &st, 0) != r->pid) return -1;
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  close(r->pidfd);
  r->pidfd = -1;
  wait_text(r, NULL, QRL_H_TIMEOUT_MS); /* the rest, to EOF */
  return 0;
}

/* Starts run.sh with argv (NULL-terminated, after the script's name) and
 * env assignments envs (NULL-terminated, may be NULL), stdout to r->out,
 * stderr to tmp/run.err. 0 or -1. */
static int spawn(recipe *r, const char *const *argv, const char *const *envs) {
  const char *args[32];
  char err[128];
  int pipefd[2];
  size_t n = 0;
  args[n++] = "bash";
  args[n++] = QRL_MULTINODE_RUN;
  for (size_t i = 0; argv[i] && n < 31; i++)
    args[n++] = argv[i];
  args[n] = NULL;
  snprintf(err, sizeof(err), "%s/run.err", r->tmp);
  if (pipe2(pipefd, O_CLOEXEC)) return -1;
  r->pid = fork();
  if (r->pid == 0) {
    int e = open(err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    /* Its own process group, as a terminal's job has: Ctrl-C is a SIGINT to
     * that group. */
    setpgid(0, 0);
    dup2(pipefd[1], 1);
    if (e >= 0) dup2(e, 2);
    setenv("QRLOGIND", QRLOGIND_PATH, 1);
    setenv("VNEID_SIM", VNEID_SIM_PATH, 1);
    for (size_t i = 0; envs && envs[i]; i++)
      putenv((char *)envs[i]);
    execvp("bash", (char *const *)args);
    _exit(127);
  }
  close(pipefd[1]);
  if (r->pid < 0) {
    close(pipefd[0]);
    return -1;
  }
  r->out = pipefd[0];
  r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
  r->len = 0;
  r->text[0] = '\0';
  return r->pidfd < 0 ? -1 : 0;
}

/* The script's run.err, on stderr. */
static void dump_err(const recipe *r) {
  char path[128], buf[4096];
  FILE *f;
  size_t n;
  snprintf(path, sizeof(path), "%s/run.err", r->tmp);
  fprintf(stderr, "--- run.sh printed:\n%s--- and on stderr:\n", r->text);
  if (!(f = fopen(path, "r"))) return;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    fwrite(buf, 1, n, stderr);
  fclose(f);
}

/* The number after "name pid " in the line starting with prefix. */
static pid_t pid_in(const recipe *r, const char *prefix) {
  const char *l = strstr(r->text, prefix), *p;
  if (!l || !(p = strstr(l, " pid "))) return -1;
  return (pid_t)atoi(p + 5);
}

/* run.sh --nodes nodes --port (free) --dir tmp/run -- --hash-cost 10 (and
 * with QRL_H_PG=1 --postgresql: the nodes share a PostgreSQL cluster the
 * script starts), up to its "ready" line. 0, or -1 (said). */
static int recipe_start(recipe *r, int nodes) {
  char nn[8], pp[8], line[64];
  memset(r, 0, sizeof(*r));
  r->pidfd = r->out = -1;
  r->nnodes = nodes;
  snprintf(r->tmp, sizeof(r->tmp), "/tmp/qrl-mn-XXXXXX");
  if (!mkdtemp(r->tmp)) return -1;
  /* --postgresql as root: the postgres user runs the cluster in dir/pg. */
  if (qrl_h_on_pg() && chmod(r->tmp, 0711) != 0) return -1;
  snprintf(r->dir, sizeof(r->dir), "%s/run", r->tmp);
  snprintf(nn, sizeof(nn), "%d", nodes);
  for (int attempt = 0; attempt < 3; attempt++) {
    const char *argv[] = {"--nodes", nn,   "--port",      pp,   "--dir",
                          r->dir,    "--", "--hash-cost", "10", NULL};
    const char *argv_pg[] = {"--nodes", nn, "--port", pp, "--dir", r->dir, "--postgresql",
                             "--", "--hash-cost", "10", NULL};
    r->port = free_port();
    snprintf(pp, sizeof(pp), "%d", r->port);
    if (spawn(r, qrl_h_on_pg() ? argv_pg : argv, NULL)) return -1;
    if (wait_text(r, "multinode: ready ", START_MS)) break;
    kill(r->pid, SIGTERM);
    if (wait_exit(r, QRL_H_TIMEOUT_MS)) {
      kill(r->pid, SIGKILL);
      wait_exit(r, QRL_H_TIMEOUT_MS);
    }
    dump_err(r);
    if (!strstr(r->text, "multinode: node") || attempt == 2) return -1;
    fprintf(stderr, "(port %d taken meanwhile? once more on another)\n",
            r->port);
  }
  for (int k = 0; k < nodes; k++) {
    const char *l, *colon;
    snprintf(line, sizeof(line), "multinode: node%d http://127.0.0.1:", k + 1);
    if (!(l = strstr(r->text, line)) || !(colon = l + strlen(line))) return -1;
    r->node_port[k] = atoi(colon);
    snprintf(line, sizeof(line), "multinode: node%d ", k + 1);
    r->node_pid[k] = pid_in(r, line);
    if (r->node_port[k] <= 0 || r->node_pid[k] <= 0) return -1;
  }
  if (qrl_h_on_pg() && pid_in(r, "multinode: postgresql ") <= 0) return -1;
  r->redis_pid = pid_in(r, "multinode: redis ");
  r->haproxy_pid = pid_in(r, "multinode: haproxy ");
  return r->redis_pid > 0 && r->haproxy_pid > 0 ? 0 : -1;
}

/* SIGKILLs and reaps every child of this process (what run.sh left). */
static void kill_children(void) {
  char path[300], buf[512], *p;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    pid_t pid = (pid_t)atoi(e->d_name);
    FILE *f;
    if (pid <= 1) continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    if (!(f = fopen(path, "r"))) continue;
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
        atoi(p + 4) == (int)getpid()) {
      fprintf(stderr, "  left behind: %s\n", buf);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    fclose(f);
  }
  if (d) closedir(d);
}

/* Stops the script with sig, to its process group (Ctrl-C) if group; then
 * checks that it exited with want, that no process it started is left and
 * no port answers. Removes tmp. 0, or -1 (said). */
static int recipe_stop(recipe *r, int sig, int group, int want) {
  int rc = 0, st;
  pid_t p;
  if ((group ? killpg(r->pid, sig) : kill(r->pid, sig)) ||
      wait_exit(r, 2 * QRL_H_TIMEOUT_MS)) {
    fprintf(stderr, "run.sh did not exit after signal %d\n", sig);
    kill(r->pid, SIGKILL);
    wait_exit(r, QRL_H_TIMEOUT_MS);
    rc = -1;
  } else if (r->status != want) {
    fprintf(stderr, "run.sh exit status %d, want %d\n", r->status, want);
    rc = -1;
  }
  if (!strstr(r->text, "multinode: all stopped")) {
    fprintf(stderr, "run.sh did not say \"all stopped\"\n");
    rc = -1;
  }
  /* Anything it left behind is now our child (subreaper): alive or not,
   * there must be none. */
  while ((p = waitpid(-1, &st, WNOHANG)) != 0) {
    if (p < 0) break; /* ECHILD: none */
    fprintf(
        stderr,
        "process %d was left behind by run.sh (it exited after the script)\n",
        (int)p);
    rc = -1;
  }
  if (p == 0) {
    fprintf(stderr,
            "processes left behind by run.sh are still running (killed now)\n");
    kill_children();
    rc = -1;
  }
  /* A clean stop: every node shut down on a signal and exited 0 (stopped
   * by the script, or by the test before: a rolling restart). */
  for (int k = 0; want == 0 && k < r->nnodes; k++) {
    char said[64], again[64], log[160];
    snprintf(said, sizeof(said), "multinode: node%d stopped (exit status 0)",
             k + 1);
    snprintf(again, sizeof(again), "multinode: node%d exited with status 0",
             k + 1);
    snprintf(log, sizeof(log), "%s/node%d.log", r->dir, k + 1);
    if (!(strstr(r->text, said) || strstr(r->text, again)) ||
        qrl_h_count_lines(log, "shutting down") != 1) {
      fprintf(stderr, "node%d did not shut down cleanly (%s)\n", k + 1, log);
      rc = -1;
    }
  }
  for (int k = 0; k < r->nnodes; k++) {
    if (kill(r->node_pid[k], 0) == 0) {
      fprintf(stderr, "node%d (pid %d) still runs\n", k + 1,
              (int)r->node_pid[k]);
      rc = -1;
    }
    if (port_answers(r->node_port[k])) {
      fprintf(stderr, "node%d's port %d still answers\n", k + 1,
              r->node_port[k]);
      rc = -1;
    }
  }
  if (kill(r->redis_pid, 0) == 0 || kill(r->haproxy_pid, 0) == 0) {
    fprintf(stderr, "redis-server or haproxy still runs\n");
    rc = -1;
  }
  if (port_answers(r->port)) {
    fprintf(stderr, "the proxy's port %d still answers\n", r->port);
    rc = -1;
  }
  if (rc) dump_err(r);
  if (r->out >= 0) close(r->out);
  if (!getenv("QRL_KEEP_TMP")) nftw(r->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}

/* A qrl_h_server for the harness's clients: the proxy (port, the public
 * origin, its ws URL), or a node (its port and ws URL, but the public
 * origin: the page's Origin is the proxy's). dir: where vneid-sim's homes
 * go. */
static void as_server(const recipe *r, int port, qrl_h_server *s) {
  memset(s, 0, sizeof(*s));
  s->port = port;
  s->pid = -1;
  s->pidfd = -1;
  snprintf(s->dir, sizeof(s->dir), "%s", r->tmp);
  snprintf(s->http, sizeof(s->http), "http://127.0.0.1:%d", r->port);
  snprintf(s->ws, sizeof(s->ws), "ws://127.0.0.1:%d/", port);
}

/* The value of the series line "name value" in a node's /metrics; -1. */
static long metric(const qrl_h_server *node, const char *series) {
  char *body = NULL, *at;
  long v = -1;
  size_t n = strlen(series);
  if (qrl_h_http(node, "GET", "/metrics", NULL, NULL, NULL, &body, NULL) ==
          200 &&
      body)
    for (at = body; (at = strstr(at, series)); at += n)
      if ((at == body || at[-1] == '\n') && at[n] == ' ') {
        v = strtol(at + n + 1, NULL, 10);
        break;
      }
  free(body);
  return v;
}

/* A redis-server's CONFIG GET name through its unix socket, into out. */
static int redis_config(const char *sock, const char *name, char *out,
                        size_t n) {
  struct timeval tv = {5, 0};
  redisContext *c = redisConnectUnixWithTimeout(sock, tv);
  redisReply *rep = NULL;
  int rc = -1;
  if (c && !c->err) rep = redisCommand(c, "CONFIG GET %s", name);
  if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
      rep->element[1]->str) {
    snprintf(out, n, "%s", rep->element[1]->str);
    rc = 0;
  }
  if (rep) freeReplyObject(rep);
  if (c) redisFree(c);
  return rc;
}

/* haproxy where run.sh looks for it: PATH, else /usr/sbin. */
static int have_haproxy(void) {
  return system("command -v haproxy >/dev/null 2>&1 || test -x "
                "/usr/sbin/haproxy") == 0;
}

/* ---- cases ------------------------------------------------------------------
 */

TEST(two_nodes_behind_the_proxy_then_ctrl_c) {
  recipe r;
  qrl_h_server px, node[2];
  qrl_wsc *br[4] = {0};
  qrl_h_phone ph;
  char *body = NULL, sock[160], val[64] = "", cookie[128], failed[64];
  cJSON *ch, *me;
  long seen = 0, each[2];
  int fail = 1;
  static const char *const hidden[] = {
      "/metrics",      "//metrics", "/%6detrics",   "/./metrics",
      "/x/../metrics", "/readyz",   "/metrics?x=1", "/%72eadyz"};

  memset(&ph, 0, sizeof(ph));
  if (recipe_start(&r, 2)) {
    recipe_stop(&r, SIGTERM, 0, 0);
    TEST_FAIL_("run.sh did not come up");
  }
  as_server(&r, r.port, &px);
  for (int k = 0; k < 2; k++)
    as_server(&r, r.node_port[k], &node[k]);

  /* The proxy answers at once: the "ready" line means it. */
  if (qrl_h_http(&px, "GET", "/healthz", NULL, NULL, NULL, &body, NULL) !=
          200 ||
      !body || strcmp(body, "ok\n") != 0) {
    fprintf(stderr, "GET /healthz through the proxy: %s\n",
            body ? body : "(nothing)");
    goto out;
  }
  free(body);
  body = NULL;

  /* Redis as the recipe promises: never evicts, keeps nothing on disk. */
  snprintf(sock, sizeof(sock), "%s/redis.sock", r.dir);
  if (redis_config(sock, "maxmemory-policy", val, sizeof(val)) ||
      strcmp(val, "noeviction")) {
    fprintf(stderr, "redis maxmemory-policy: '%s'\n", val);
    goto out;
  }
  if (redis_config(sock, "save", val, sizeof(val)) || val[0]) {
    fprintf(stderr, "redis save: '%s', want none\n", val);
    goto out;
  }

  /* Four login pages through the proxy: each websocket upgrades and gets
   * its QR code; round-robin, no stickiness: both nodes hold some. */
  for (int i = 0; i < 4; i++) {
    ch = NULL;
    if (!(br[i] = qrl_h_browser(&px, &ch)) ||
        strcmp(qrl_h_type(ch), "challenge") != 0) {
      fprintf(stderr, "browser %d through the proxy: no challenge\n", i);
      cJSON_Delete(ch);
      goto out;
    }
    cJSON_Delete(ch);
  }
  for (int k = 0; k < 2; k++) {
    each[k] = metric(&node[k], "qrlogin_connections{kind=\"browser\"}");
    seen += each[k];
    if (each[k] < 1) {
      fprintf(
          stderr,
          "node%d holds %ld of the 4 pages: the proxy does not spread them\n",
          k + 1, each[k]);
      goto out;
    }
  }
  if (seen != 4) {
    fprintf(stderr, "the nodes hold %ld pages, want 4\n", seen);
    goto out;
  }

  /* A whole QR login through the proxy: the page's socket and then the
   * phone's are consecutive connections, which round-robin puts on
   * different nodes; Redis carries the login across. */
  if (qrl_h_qr_login(&px, AN, PW, NULL, failed)) {
    fprintf(stderr, "QR login through the proxy failed: %s\n", failed);
    goto out;
  }

  /* The phone's protocol upgrades through the proxy too, and the app login
   * (the database) works on whichever node it lands. */
  if (qrl_h_phone_login(&px, &ph, AN, PW, NULL)) {
    fprintf(stderr, "phone login through the proxy failed\n");
    goto out;
  }

  /* The operator's URLs are not passed on (every client of a node behind
   * the proxy has the proxy's address, which --metrics-allow lets in), in
   * any spelling a node would serve them under. */
  for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
    int st = qrl_h_http(&px, "GET", hidden[i], NULL, NULL, NULL, &body, NULL);
    if (st != 404 ||
        (body && (strstr(body, "qrlogin_") || strstr(body, "ready")))) {
      fprintf(stderr, "GET %s through the proxy: %d\n", hidden[i], st);
      goto out;
    }
    free(body);
    body = NULL;
  }
  /* ... while a node itself serves such a spelling to its own machine. */
  if (qrl_h_http(&node[0], "GET", "/%6detrics", NULL, NULL, NULL, &body,
                 NULL) != 200 ||
      !body || !strstr(body, "qrlogin_")) {
    fprintf(
        stderr,
        "node1 does not serve /%%6detrics: the check above proves nothing\n");
    goto out;
  }
  free(body);
  body = NULL;

  /* One database: a web session made on node1 works on node2 and through
   * the proxy. */
  if (qrl_h_otp_login(&node[0], "/api/otp/start", "id", AN, PW, AN_PHONE,
                      cookie) != 200) {
    fprintf(stderr, "ID + password + SMS login on node1 failed\n");
    goto out;
  }
  for (int k = 0; k < 3; k++) {
    if (!(me = qrl_h_me(k < 2 ? &node[1 - k] : &px, cookie))) {
      fprintf(stderr, "the session made on node1 does not work on %s\n",
              k == 0   ? "node2"
              : k == 1 ? "node1"
                       : "the proxy");
      goto out;
    }
    cJSON_Delete(me);
  }
  fail = 0;
out:
  free(body);
  qrl_h_phone_close(&ph);
  for (int i = 0; i < 4; i++)
    qrl_wsc_free(br[i]);
  /* Ctrl-C: every node drains and exits 0, then Redis; the script exits 0. */
  if (recipe_stop(&r, SIGINT, 1, 0)) fail = 1;
  if (fail) TEST_FAIL_("see above");
  return 0;
}

TEST(a_killed_node_is_routed_around_then_sigterm) {
  recipe r;
  qrl_h_server px, node1;
  qrl_wsc *br[4] = {0};
  char said[64];
  cJSON *ch;
  long on1;
  int fail = 1;

  if (recipe_start(&r, 2)) {
    recipe_stop(&r, SIGTERM, 0, 0);
    TEST_FAIL_("run.sh did not come up");
  }
  as_server(&r, r.port, &px);
  as_server(&r, r.node_port[0], &node1);

  /* node2 dies without a word; the script says so and goes on. */
  kill(r.node_pid[1], SIGKILL);
  snprintf(said, sizeof(said), "multinode: node2 exited with status 137");
  if (!wait_text(&r, said, QRL_H_TIMEOUT_MS) ||
      !wait_text(&r, "multinode: 1 node(s) left", QRL_H_TIMEOUT_MS)) {
    fprintf(stderr, "run.sh did not say that node2 (pid %d) died:\n%s\n",
            (int)r.node_pid[1], r.text);
    goto out;
  }
  /* Every page through the proxy still gets its QR code, at once: a
   * refused connection is tried on node1 before any health check says
   * node2 is down. */
  for (int i = 0; i < 4; i++) {
    ch = NULL;
    if (!(br[i] = qrl_h_browser(&px, &ch)) ||
        strcmp(qrl_h_type(ch), "challenge") != 0) {
      fprintf(stderr,
              "browser %d through the proxy after node2 died: no challenge\n",
              i);
      cJSON_Delete(ch);
      goto out;
    }
    cJSON_Delete(ch);
  }
  if ((on1 = metric(&node1, "qrlogin_connections{kind=\"browser\"}")) != 4) {
    fprintf(stderr, "node1 holds %ld pages, want all 4\n", on1);
    goto out;
  }
  fail = 0;
out:
  for (int i = 0; i < 4; i++)
    qrl_wsc_free(br[i]);
  /* SIGTERM: the rest stops; a node died, so the script exits 1. */
  if (recipe_stop(&r, SIGTERM, 0, 1)) fail = 1;
  if (fail) TEST_FAIL_("see above");
  return 0;
}

TEST(a_stopping_node_sends_its_pages_to_the_other) {
  recipe r;
  qrl_h_server px, node1, node2;
  qrl_wsc *page = NULL, *again = NULL;
  cJSON *ch = NULL, *m = NULL;
  long on2;
  int fail = 1;

  if (recipe_start(&r, 2)) {
    recipe_stop(&r, SIGTERM, 0, 0);
    TEST_FAIL_("run.sh did not come up");
  }
  as_server(&r, r.port, &px);
  as_server(&r, r.node_port[0], &node1);
  as_server(&r, r.node_port[1], &node2);

  /* A login page on node1 (its own port, the public Origin). */
  if (!(page = qrl_h_browser(&node1, &ch))) {
    fprintf(stderr, "no page on node1\n");
    goto out;
  }
  /* A rolling restart: node1 gets SIGTERM. Its waiting page is told to
   * reconnect; through the proxy it lands on node2 and gets a new code. */
  kill(r.node_pid[0], SIGTERM);
  if (!(m = qrl_h_expect(page, "reconnect", QRL_H_TIMEOUT_MS)) ||
      strcmp(qrl_h_str(m, "reason"), "node_stopping") != 0) {
    fprintf(stderr, "the page on node1 was not told to reconnect\n");
    goto out;
  }
  cJSON_Delete(ch);
  ch = NULL;
  if (!(again = qrl_h_browser(&px, &ch)) ||
      strcmp(qrl_h_type(ch), "challenge") != 0) {
    fprintf(stderr, "the page found no node through the proxy\n");
    goto out;
  }
  if ((on2 = metric(&node2, "qrlogin_connections{kind=\"browser\"}")) != 1) {
    fprintf(stderr, "node2 holds %ld pages, want the one that moved\n", on2);
    goto out;
  }
  /* node1 drained and exited 0: the script says so and goes on. */
  if (!wait_text(&r, "multinode: node1 exited with status 0",
                 QRL_H_TIMEOUT_MS)) {
    fprintf(stderr, "run.sh did not say that node1 exited 0\n");
    goto out;
  }
  fail = 0;
out:
  cJSON_Delete(m);
  cJSON_Delete(ch);
  qrl_wsc_free(page);
  qrl_wsc_free(again);
  /* A node stopped on purpose is clean: the script exits 0. */
  if (recipe_stop(&r, SIGTERM, 0, 0)) fail = 1;
  if (fail) TEST_FAIL_("see above");
  return 0;
}

/* Runs the script with argv and envs; its exit status and what it said on
 * stderr (into err) once it exits. */
static int run_briefly(const char *const *argv, const char *const *envs,
                       char *err, size_t n) {
  recipe r;
  char path[128];
  FILE *f;
  size_t got = 0;
  memset(&r, 0, sizeof(r));
  r.pidfd = r.out = -1;
  snprintf(r.tmp, sizeof(r.tmp), "/tmp/qrl-mn-XXXXXX");
  if (!mkdtemp(r.tmp) || spawn(&r, argv, envs) ||
      wait_exit(&r, QRL_H_TIMEOUT_MS))
    return -1;
  snprintf(path, sizeof(path), "%s/run.err", r.tmp);
  err[0] = '\0';
  if ((f = fopen(path, "r"))) {
    got = fread(err, 1, n - 1, f);
    fclose(f);
  }
  err[got] = '\0';
  if (r.out >= 0) close(r.out);
  nftw(r.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return r.status;
}

TEST(usage_errors_and_missing_programs_are_said) {
  char err[4096];
  const char *bad_nodes[] = {"--nodes", "0", NULL};
  const char *bad_opt[] = {"--frobnicate", NULL};
  const char *none[] = {"--nodes", "1", NULL};
  const char *no_qrlogind[] = {"QRLOGIND=/nonexistent/qrlogind", NULL};
  const char *no_haproxy[] = {"HAPROXY=/nonexistent/haproxy", NULL};
  const char *no_redis[] = {"REDIS_SERVER=/nonexistent/redis-server", NULL};

  ASSERT_EQ_INT(run_briefly(bad_nodes, NULL, err, sizeof(err)), 2);
  ASSERT_TRUE(strstr(err, "--nodes wants 1..16") != NULL);
  ASSERT_EQ_INT(run_briefly(bad_opt, NULL, err, sizeof(err)), 2);
  ASSERT_TRUE(strstr(err, "unknown option --frobnicate") != NULL);
  ASSERT_EQ_INT(run_briefly(none, no_qrlogind, err, sizeof(err)), 1);
  ASSERT_TRUE(strstr(err, "no qrlogind at /nonexistent/qrlogind") != NULL);
  ASSERT_EQ_INT(run_briefly(none, no_redis, err, sizeof(err)), 1);
  ASSERT_TRUE(
      strstr(err, "redis-server not found at /nonexistent/redis-server") !=
      NULL);
  /* A public port that something else holds: said before anything starts. */
  {
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), st;
    char pp[8], want[64];
    const char *taken[] = {"--port", pp, NULL};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_TRUE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                listen(fd, 4) == 0 &&
                getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    snprintf(pp, sizeof(pp), "%d", ntohs(a.sin_port));
    st = run_briefly(taken, NULL, err, sizeof(err));
    close(fd);
    ASSERT_EQ_INT(st, 1);
    snprintf(want, sizeof(want), "port %s is in use: pick another with --port",
             pp);
    ASSERT_TRUE(strstr(err, want) != NULL);
  }
  ASSERT_EQ_INT(run_briefly(none, no_haproxy, err, sizeof(err)), 1);
  ASSERT_TRUE(strstr(err, "haproxy not found at /nonexistent/haproxy: apt-get "
                          "install haproxy") != NULL);
  return 0;
}

int main(int argc, char **argv) {
  /* clang-format off */
  static const qrl_test_case all[] = {
      TEST_ENTRY(two_nodes_behind_the_proxy_then_ctrl_c)
      TEST_ENTRY(a_killed_node_is_routed_around_then_sigterm)
      TEST_ENTRY(a_stopping_node_sends_its_pages_to_the_other)
      TEST_ENTRY(usage_errors_and_missing_programs_are_said)};
  static const qrl_test_case without_haproxy[] = {
      TEST_ENTRY(usage_errors_and_missing_programs_are_said)};
  /* clang-format on */
  int rc;
  /* Whatever run.sh leaves behind becomes this process's child. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
    perror("PR_SET_CHILD_SUBREAPER");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if (have_haproxy())
    return qrl_test_main_(argc, argv, all, sizeof(all) / sizeof(all[0]));
  fprintf(
      stderr,
      "\n"
      "********************************************************************\n"
      "* SKIPPED: haproxy is not installed, so examples/multinode/run.sh  *\n"
      "* cannot run: only its usage checks ran. apt-get install haproxy   *\n"
      "* (bash .ci/deps --test installs it; CI always runs this test).    *\n"
      "********************************************************************"
      "\n\n");
  rc = qrl_test_main_(argc, argv, without_haproxy, 1);
  return rc ? rc : 77;
}
