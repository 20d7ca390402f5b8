/*
 * harness.h - integration test harness: a real qrlogind, real sockets.
 *
 * qrl_h_start() spawns the built qrlogind on a free port (--port 0) bound to
 * 127.0.0.1, with a fresh temporary directory holding its SQLite database,
 * and waits (poll on its stdout, no sleeps) for the "listening on" line.
 * qrl_h_stop() sends SIGTERM, waits for the exit on a pidfd and returns the
 * exit status, which a clean shutdown makes 0.
 *
 * On top of that: the real vneid-sim run as a child process, websocket
 * clients for the browser and phone subprotocols (mobile-sim/ws_client.h), a
 * raw phone (device key, login, signed confirm) for the scenarios the
 * simulator refuses to produce, and a minimal HTTP/1.1 client.
 *
 * Every function that can fail prints why to stderr, so a failed ASSERT in a
 * test comes with the server's side of the story.
 */
#ifndef QRL_TEST_HARNESS_H
#define QRL_TEST_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "qrlogin/protocol.h"
#include "test.h"
#include "ws_client.h"

/* The longest wait for any single event. Only a failing test waits this long
 * (everything waits on the event itself), so it is sized for a loaded
 * machine: ctest -j16 on two shared cores beside a build saw an HTTP answer
 * and a valgrind start-up take over 10 s. */
#define QRL_H_TIMEOUT_MS 30000

/* A redis-server of the test's own (Debian's): unix socket dir/r.sock in a
 * temporary directory, no persistence, no TCP. */
typedef struct qrl_h_redis {
  pid_t pid;
  char dir[64];
  char sock[128];
  char url[140]; /* "unix:" sock, for --redis */
  char password[64]; /* set before qrl_h_redis_start: --requirepass */
} qrl_h_redis;

/* A PostgreSQL cluster of the test's own (Debian's) in a temporary
 * directory: a copy of the template cluster QRL_H_PG_TEMPLATE names (made
 * once per ctest run by tests/pg_template.sh), else initdb. postgres runs as
 * the test's child (as the postgres user when the test runs as root: it
 * refuses root) and dies with it; unix socket in the directory, no TCP,
 * fsync off. */
typedef struct qrl_h_pg {
  int up;
  pid_t pid;     /* the postmaster, while up */
  char dir[64];
  char url[200]; /* postgresql:///postgres?host=DIR&user=qrl, for --db */
} qrl_h_pg;

/* Makes a cluster in a new directory (pg->dir), starts it and waits until
 * it answers. 0, or -1 (its logs said). */
int qrl_h_pg_start(qrl_h_pg *pg);

/* Stops the cluster (fast shutdown: its connections are closed) and
 * starts it again on the same directory. 0 or -1. */
int qrl_h_pg_halt(qrl_h_pg *pg);
int qrl_h_pg_resume(qrl_h_pg *pg);

/* Stops it at once (immediate shutdown) and removes its directory. */
void qrl_h_pg_cleanup(qrl_h_pg *pg);

/* 1 if the harness's servers use PostgreSQL (QRL_H_PG=1 in the environment:
 * the suite again on the second database engine; a server started with a
 * --db of the test's own gets none). */
int qrl_h_on_pg(void);

typedef struct qrl_h_server {
  pid_t pid;
  int pidfd;
  int out_fd;               /* the server's stdout (read end) */
  int port;
  char dir[256];            /* temporary directory, removed by stop */
  char db[300];             /* dir/qrlogin.db, or with QRL_H_PG=1 pg.url */
  char http[64];            /* "http://127.0.0.1:PORT" (also the Origin) */
  char ws[64];              /* "ws://127.0.0.1:PORT/" */
  int tls;                  /* serving https/wss (--tls-cert given) */
  int exit_status;          /* after qrl_h_settle(): how it exited */
  char ca[300];             /* then: the certificate to trust */
  int json_log;             /* its log is JSON lines (the harness's default) */
  char otp_key[300];        /* dir/otp.key, with QRL_H_REDIS=1 */
  qrl_h_redis redis;        /* with QRL_H_REDIS=1 in the environment, every server
                               the harness starts has its own redis-server and
                               --redis (the suite again on the shared store) */
  qrl_h_pg pg;              /* with QRL_H_PG=1, every server's --db is a
                               PostgreSQL cluster of its own */
} qrl_h_server;

/* Runs one statement on s's database, whichever engine holds it (the SQLite
 * file, or PostgreSQL with QRL_H_PG=1), from another connection, as an
 * operator's shell would. sql is written for both, with ?1..?9 parameters
 * given by fmt: 't' a const char * (NULL: NULL), 'i' an int64_t, 'b' a
 * const void * and a size_t. Returns the first column of the last row as
 * an integer (NULL: -1; a boolean: 0 or 1) and copies its text into text
 * (cap bytes; "" for NULL) if text is not NULL; for a statement without
 * rows, the rows it changed. -2 on error (said on stderr). */
int64_t qrl_h_sql(const qrl_h_server *s, char *text, size_t cap, const char *sql,
                  const char *fmt, ...);

/* Every server the harness starts logs JSON lines (--log-format json; a
 * test's own --log-format comes later and wins). When it stops
 * (qrl_h_settle), its log is read: each line must be a JSON object with
 * "time", "level" and "event" (JSON logs, unsanitized builds), and no line
 * may hold a secret the test used - the harness registers the passwords,
 * passcodes, one-time codes, attempt ids, QR texts, app and web session
 * tokens it sends or receives. A log that fails makes the exit status
 * QRL_H_LOG_FAILED (the test fails, the lines said on stderr). */
#define QRL_H_LOG_FAILED 98

/* Registers secret (copied) as one the server must never log. */
void qrl_h_secret(const char *secret);

/* Forgets secret (a test that puts one in the log on purpose). */
void qrl_h_secret_drop(const char *secret);

/* Lines of the file at path that contain needle; -1 if it cannot be read. */
int qrl_h_count_lines(const char *path, const char *needle);

/* Waits (inotify on the file, no sleeps) until the file at path has at
 * least min lines containing needle. 0, or -1 after timeout_ms (said). */
int qrl_h_wait_lines(const char *path, const char *needle, int min, int timeout_ms);

/* Starts qrlogind with --demo --hash-cost 10 (and, with QRL_H_REDIS=1, --redis
 * on a redis-server of its own, stopped with it) and the extra arguments in argv
 * (NULL-terminated, may be NULL). Returns 0 on success. An extra argument
 * QRL_H_NO_DEMO is not passed on: it leaves --demo out (no demo accounts;
 * the server then needs --origin or --host). */
int qrl_h_start(qrl_h_server *s, const char *const *extra);

/* qrl_h_start() with qrlogind's RLIMIT_NOFILE set to soft/hard (as `ulimit
 * -n` would) before it runs. */
int qrl_h_start_nofile(qrl_h_server *s, const char *const *extra, long soft, long hard);

#define QRL_H_NO_DEMO "(harness: no --demo)"
/* An extra argument QRL_H_ONLY_ARGS: qrlogind gets the other extra arguments
 * and none of the harness's own (--port 0, --db, --demo, ...): a test that
 * configures it otherwise (a config file) must then say port = 0 and bind =
 * 127.0.0.1 itself. */
#define QRL_H_ONLY_ARGS "(harness: only the extra arguments)"


/* SIGTERM, wait, clean up the directory. Returns the exit status (0 after a
 * clean shutdown), 128+signal if killed, or -1 if it did not exit in time. */
int qrl_h_stop(qrl_h_server *s);

/* Stops the server (SIGTERM, clean shutdown) but keeps its directory: once
 * it has exited every queued write (audit rows are written by workers after
 * the answer went out) is in the database, which the test may then read.
 * Returns the exit status; qrl_h_stop() later just cleans up. */
int qrl_h_settle(qrl_h_server *s);

/* Restarts the server on the same directory and database: a clean shutdown
 * (as qrl_h_settle), then qrlogind again with the extra arguments in argv
 * (as qrl_h_start; it listens on a new port), its log appended to the
 * first's. Returns 0, or -1 if the shutdown was not clean or the start
 * failed. */
int qrl_h_restart(qrl_h_server *s, const char *const *extra);

/* Prints the server's log (stderr, kept in dir/server.log) to stderr. */
void qrl_h_dump_log(const qrl_h_server *s);

/* Runs vneid-sim --json --server <ws> --home <dir>/<home> ARGS... with stdin
 * from input (NULL: /dev/null). Returns the exit code (or -1) and, if out is
 * not NULL, the parsed JSON it printed (caller frees with cJSON_Delete). The
 * argument list ends with NULL. A run that could not connect at all (exit 9,
 * nothing sent) is made once more. */
int qrl_h_sim(const qrl_h_server *s, const char *home, const char *input,
              cJSON **out, ...);

/* A simulator run in progress: its stdin stays open, so the test can answer
 * a prompt once it knows the answer (the number on the login page). */
typedef struct qrl_h_proc {
  pid_t pid;
  int pidfd, in, out;
  char cmd[512];
  int shown;
} qrl_h_proc;

/* Starts vneid-sim like qrl_h_sim() without waiting. 0 or -1. */
int qrl_h_sim_spawn(const qrl_h_server *s, const char *home, qrl_h_proc *pr, ...);

/* Writes text to its stdin. 0 or -1. */
int qrl_h_proc_write(qrl_h_proc *pr, const char *text);

/* Closes its stdin, waits for it, returns the exit code and its JSON. */
int qrl_h_proc_finish(qrl_h_proc *pr, cJSON **out);

/* Connects a browser socket with the page's Origin and reads the first
 * `challenge`. Returns the client (caller frees) and the message in *challenge
 * (caller frees), or NULL. */
qrl_wsc *qrl_h_browser(const qrl_h_server *s, cJSON **challenge);
/* qrl_h_browser() from local address iface. */
qrl_wsc *qrl_h_browser_from(const qrl_h_server *s, const char *iface, cJSON **challenge);

/* Opens a websocket to the server with subprotocol proto, Origin origin
 * (NULL: none) from local address iface (NULL: any), like
 * qrl_wsc_connect_from(); an attempt that got no HTTP answer at all is made
 * again (lws's own handshake limit is 5 s) for up to 2 * QRL_H_TIMEOUT_MS.
 * The HTTP status of a refusal in *status (may be NULL). */
qrl_err qrl_h_connect(const qrl_h_server *s, const char *proto, const char *origin,
                      const char *iface, qrl_wsc **out, int *status);

/* Connects a phone socket (no Origin). NULL on failure. */
qrl_wsc *qrl_h_phone_socket(const qrl_h_server *s);

/* ... from local address iface (e.g. "127.0.1.1": another /24, "another
 * network" to the server). */
qrl_wsc *qrl_h_phone_socket_from(const qrl_h_server *s, const char *iface);

/* Waits for the next message and parses it; NULL on timeout/close/garbage.
 * A browser socket also hears the animated QR's `frame` push every few
 * seconds, at any moment: those are skipped (within the same timeout), so
 * "the next message" is never a redraw that happened to land first; so is
 * `held` (a phone granting its permission: the code waits longer), which
 * only qrl_h_expect(c, "held") returns. */
cJSON *qrl_h_recv(qrl_wsc *c, int timeout_ms);

/* Like qrl_h_recv, but NULL (with a message) unless its "type" is type.
 * expect(c, "frame") is the one way to get a `frame` push: it returns the
 * next message as it comes (which must then be a frame). */
cJSON *qrl_h_expect(qrl_wsc *c, const char *type, int timeout_ms);

/* Sends the JSON text and returns the next message (the answer; `frame`
 * pushes skipped, as in qrl_h_recv). */
cJSON *qrl_h_call(qrl_wsc *c, const char *json);

/* The QR the page on browser socket br shows now for challenge: a copy of the
 * "qr" object {payload, frame, version, size, bits} of the newest `frame`
 * push for it already received, else the challenge's own (caller frees).
 * With wait_new it first waits for a new frame push (an event: the server
 * redraws every --qr-frame-secs). Queued frames are read without waiting, so
 * a slow test never scans a frame that sat in the socket. NULL on timeout or
 * if a message other than a frame was queued (printed: at the moments a test
 * looks at the QR nothing else can be due). */
cJSON *qrl_h_shown_qr(qrl_wsc *br, const cJSON *challenge, int wait_new);

/* The "type" / string field of a message ("" if absent). */
const char *qrl_h_type(const cJSON *m);
const char *qrl_h_str(const cJSON *m, const char *name);

/* The "code" of an error message, or "" if m is not an error. */
const char *qrl_h_errcode(const cJSON *m);

/* A phone that speaks the protocol directly (its own device key). */
typedef struct qrl_h_phone {
  qrl_wsc *ws;
  uint8_t priv[32];
  uint8_t pub[65];
  char citizen[QRL_CITIZEN_ID_LEN + 1];
  char session[QRL_SESSION_B64LEN + 1];
} qrl_h_phone;

/* Makes a key, connects and logs in. Returns 0, or the error's answer code
 * copied into err (if not NULL) and -1. */
int qrl_h_phone_login(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                      const char *password, char err[64]);

/* qrl_h_phone_login() from local address iface. */
int qrl_h_phone_login_from(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                           const char *password, const char *iface, char err[64]);

/* Logs a raw phone in (from iface, may be NULL) and turns web login on with
 * the demo passcode 123456: ready to scan. 0 or -1. */
int qrl_h_phone_ready(const qrl_h_server *s, qrl_h_phone *p, const char *id,
                      const char *password, const char *iface);

/* Sends {type, session, ...fields} where fields is a JSON object's inner text
 * (e.g. "\"qr\":\"QRL1...\"", or NULL) and returns the answer. */
cJSON *qrl_h_phone_call(qrl_h_phone *p, const char *type, const char *fields);

/* Scans the QR that browser socket br shows for challenge, as a phone held
 * to the screen does: the newest frame (qrl_h_shown_qr). If the server finds
 * that frame already stale (a loaded machine took seconds between the push
 * and the scan) it waits for the next frame push and scans that, a few times
 * at most. Returns the answer to the last scan (caller frees; NULL if the
 * page showed nothing scannable) and the scanned frame in qp (may be NULL):
 * the one a confirm must sign. */
cJSON *qrl_h_phone_scan_page(qrl_h_phone *p, qrl_wsc *br, const cJSON *challenge,
                             qrl_qr_payload *qp);

/* Signs decision for the scanned frame qp at origin, with the matching
 * number (confirm; a decline signs 0), at ts with the phone's key, and writes
 * the request's fields ("challenge":…,["number":…,]"ts":…,"sig":…) to fields.
 * Returns 0, or -1 if signing failed or n is too small. */
int qrl_h_sign_fields(const qrl_h_phone *p, const qrl_qr_payload *qp,
                      const char *origin, int64_t ts, int number, qrl_decision d,
                      char *fields, size_t n);

/* Signs as above and sends confirm/decline. Returns the answer. */
cJSON *qrl_h_phone_decide(qrl_h_phone *p, const qrl_qr_payload *qp, const char *origin,
                          int64_t ts, int number, qrl_decision d);

/* Reads the browser's `scanned` push and returns the number it shows (the
 * one the citizen must pick on the phone), or -1. */
int qrl_h_scanned_number(qrl_wsc *br);

void qrl_h_phone_close(qrl_h_phone *p);

/* The phone p (logged in, web login on) scans the QR browser socket br
 * shows for challenge, picks the number the page shows and confirms.
 * Returns the browser's next message ("completed", or the error the login
 * ended with; caller frees), or NULL if the phone's scan or confirm was
 * refused (said on stderr). */
cJSON *qrl_h_confirm_page(const qrl_h_server *s, qrl_h_phone *p, qrl_wsc *br,
                          const cJSON *challenge);

/* A whole QR login as a citizen does it: a browser shows the QR, a raw phone
 * logs in as id, turns web login on, scans, picks the number and confirms;
 * the browser is told "completed". Both from local address iface (NULL:
 * 127.0.0.1). 0, or -1 with the error code (or "no answer") in failed (may
 * be NULL). */
int qrl_h_qr_login(const qrl_h_server *s, const char *id, const char *password,
                   const char *iface, char failed[64]);

/* Extracts id and secret from a browser `challenge` message's QR payload. */
int qrl_h_challenge_payload(const cJSON *challenge, qrl_qr_payload *out);

/* One HTTP/1.1 request to the server (Connection: close). origin and cookie
 * ("name=value") and body may be NULL. Returns the status code or -1; the
 * body in *resp (caller frees; may be NULL) and the Set-Cookie value in
 * set_cookie (if not NULL; "" if none). */
int qrl_h_http(const qrl_h_server *s, const char *method, const char *path,
               const char *origin, const char *cookie, const char *body,
               char **resp, char set_cookie[512]);

/* The latest one-time code SMS'd to phone on the demo network (read with
 * the real `vneid-sim inbox`). Returns 0 or -1. */
int qrl_h_otp_code(const qrl_h_server *s, const char *phone, char code[7]);

/* POSTs path ("/api/otp/start" or "/api/portal/start") with {field: who,
 * "password"}. Returns the status; the attempt (on 200) in attempt; the body
 * in *resp if resp is not NULL (caller frees). */
int qrl_h_otp_start(const qrl_h_server *s, const char *path, const char *field,
                    const char *who, const char *password, char attempt[23],
                    char **resp);

/* POSTs /api/otp/verify. Returns the status; on 200 the cookie pair
 * ("qrl_session=…") in cookie (if not NULL); the body in *resp if not NULL. */
int qrl_h_otp_verify(const qrl_h_server *s, const char *attempt, const char *code,
                     char cookie[128], char **resp);

/* The whole second login path: start, read the SMS, verify. Returns the
 * status of the step that failed, or of verify (200). */
int qrl_h_otp_login(const qrl_h_server *s, const char *path, const char *field,
                    const char *who, const char *password, const char *phone,
                    char cookie[128]);

/* GET /api/me with cookie; the parsed body on 200, else NULL. */
cJSON *qrl_h_me(const qrl_h_server *s, const char *cookie);

/* qrl_h_http() that also returns the response headers in *headers (caller
 * frees; may be NULL). Speaks TLS when the server does. */
int qrl_h_http_ex(const qrl_h_server *s, const char *method, const char *path,
                  const char *origin, const char *cookie, const char *body,
                  char **resp, char set_cookie[512], char **headers);

/* Sends request (the whole HTTP/1.x request text, as is: the test writes
 * its own Host) on a new connection, plain or TLS as the server speaks, and
 * reads the answer until the server closes, Content-Length is in, or (101)
 * the headers are: the connection is closed then either way. Returns
 * the status code or -1; the whole answer (headers and body) in *resp if
 * resp is not NULL (caller frees). */
int qrl_h_raw_http(const qrl_h_server *s, const char *request, char **resp);

/* Makes a self-signed P-256 certificate for 127.0.0.1 (also its own CA) and
 * its key in dir; writes their paths. 0 or -1. */
int qrl_h_make_cert(const char *dir, char cert[300], char key[300]);

/* Opens a websocket by hand (plain TCP only) with subprotocol proto and no
 * Origin; returns the socket after the 101, or -1. Caller closes it. For
 * behaviour a library client would never show (sending without reading). */
int qrl_h_raw_ws(const qrl_h_server *s, const char *proto);

/* Writes a masked, final text frame of text (at most 125 bytes) to out.
 * Returns its length, or 0 if it does not fit. */
size_t qrl_h_ws_frame(const char *text, uint8_t *out, size_t cap);

/* OAuth/OpenID helpers for the provider's tests and bench. */
/* Query parameter name of url, percent-decoded, into out (cap bytes): 0, or
 * -1 if absent. */
int qrl_h_url_param(const char *url, const char *name, char *out, size_t cap);
/* The value of header name (lowercase, with its colon, e.g. "location:") in
 * an answer's headers hdrs (may be NULL) into out: 0, or -1. */
int qrl_h_header(const char *hdrs, const char *name, char *out, size_t cap);
/* The PKCE S256 challenge of verifier (base64url, 43 characters) into out;
 * "" if hashing failed. */
void qrl_h_pkce_challenge(const char *verifier, char out[44]);

/* Milliseconds on the monotonic clock (for deadlines and for timing what a
 * test measures; never for waiting). */
int64_t qrl_h_mono_ms(void);

/* Reads and discards until the peer closes (1) or timeout_ms passes (0). */
int qrl_h_wait_eof(int fd, int timeout_ms);

/* The temp directory path joined with name (static buffer per call site is
 * the caller's: writes into out). */
void qrl_h_path(const qrl_h_server *s, const char *name, char *out, size_t n);

/* A test case with its own server: SERVER_TEST(name, "--flag", "value", NULL)
 * { ...body using `s`... }. The body's failure dumps the server log; a server
 * that does not exit 0 on SIGTERM fails the case. */
#define SERVER_TEST(name, ...)                                                \
  static int body_##name(qrl_h_server *s);                                    \
  TEST(name) {                                                                \
    static const char *const extra_[] = {__VA_ARGS__};                        \
    qrl_h_server srv_;                                                        \
    int r_, st_;                                                              \
    if (qrl_h_start(&srv_, extra_)) TEST_FAIL_("qrlogind did not start");     \
    r_ = body_##name(&srv_);                                                  \
    if (r_) qrl_h_dump_log(&srv_);                                            \
    st_ = qrl_h_stop(&srv_);                                                  \
    if (r_) return r_;                                                        \
    if (st_ != 0) TEST_FAIL_("qrlogind exit status %d, want 0", st_);         \
    return 0;                                                                 \
  }                                                                           \
  static int body_##name(qrl_h_server *s)

/* Starts it (again, on the same directory, after qrl_h_redis_kill) with
 * maxmemory-policy policy; returns 0 once it answers PING, else -1 (its log
 * said). */
int qrl_h_redis_start(qrl_h_redis *rp, const char *policy);
/* SIGKILLs it (a stopped one too) and reaps it; the directory stays. */
void qrl_h_redis_kill(qrl_h_redis *rp);
/* Kills it and removes its directory. */
void qrl_h_redis_cleanup(qrl_h_redis *rp);

/* Makes dir/otp.key (32 random bytes, mode 0600) unless it exists, for
 * --otp-key-file (the nodes of one test share it); its path in out (n
 * bytes). 0 or -1. */
int qrl_h_otp_key(const char *dir, char *out, size_t n);

#endif /* QRL_TEST_HARNESS_H */
