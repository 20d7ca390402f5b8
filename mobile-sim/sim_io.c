/*
 * sim_io.c - vneid-sim output and prompts (see sim_io.h).
 *
 * Keeps stdout machine-readable with --json (exactly one object, written by
 * sim_finish), reports errors as "message (code)" in human mode, and reads
 * prompt answers byte by byte from fd 0 with poll() so the websocket keeps
 * being serviced (pings answered) while the citizen thinks.
 *
 * It does not decide exit codes beyond qrl_sim_exit_for() and the usage code.
 */
#include "sim_io.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "helpers/text.h"
#include "qrlogin/protocol.h"

void sim_say(sim_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  char buf[8192];
  int n;
  if (ctx->json) return;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) return;
  /* What the server sent (browsers, names, messages) is shown as text: a
   * terminal escape in a User-Agent must not rewrite the screen. */
  qrl_text_clean(buf, 1);
  fputs(buf, stdout);
  fflush(stdout);
}

static void io_copy(char *dst, size_t len, const char *src) {
  int n = snprintf(dst, len, "%s", src ? src : "");
  if (n < 0) dst[0] = '\0';
}

void sim_detail(sim_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(ctx->err_detail, sizeof(ctx->err_detail), fmt, ap);
  va_end(ap);
  if (n < 0) ctx->err_detail[0] = '\0';
}

void sim_set_server_error(sim_ctx *ctx, const char *code, const char *message) {
  io_copy(ctx->err_code, sizeof(ctx->err_code), code);
  io_copy(ctx->err_msg, sizeof(ctx->err_msg), message);
  qrl_text_clean(ctx->err_code, 0);
  qrl_text_clean(ctx->err_msg, 1);
}

void sim_note_passcode_refusal(sim_ctx *ctx, qrl_err err, const cJSON *m) {
  const cJSON *left = cJSON_GetObjectItemCaseSensitive(m, "tries_left");
  const cJSON *until = cJSON_GetObjectItemCaseSensitive(m, "locked_until");
  char when[32] = "";
  time_t t;
  struct tm tm;

  if (err == QRL_WRONG_PASSCODE && cJSON_IsNumber(left) && left->valueint > 0) {
    snprintf(ctx->err_msg, sizeof(ctx->err_msg),
             "Mã bảo vệ không đúng. Bạn còn %d lần thử.", left->valueint);
    snprintf(ctx->err_detail, sizeof(ctx->err_detail), "wrong passcode: %d %s left",
             left->valueint, left->valueint == 1 ? "try" : "tries");
    if (ctx->json && (ctx->out || (ctx->out = cJSON_CreateObject())))
      cJSON_AddNumberToObject(ctx->out, "tries_left", left->valueint);
    return;
  }
  if (err != QRL_LOCKED || !cJSON_IsNumber(until) || until->valuedouble <= 0) return;
  t = (time_t)until->valuedouble;
  if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%d/%m/%Y %H:%M", &tm)) return;
  snprintf(ctx->err_msg, sizeof(ctx->err_msg),
           "Bạn đã nhập sai mã bảo vệ quá nhiều lần. Tài khoản tạm khoá đến %s "
           "(giờ trên điện thoại). Vui lòng thử lại sau thời điểm này.", when);
  snprintf(ctx->err_detail, sizeof(ctx->err_detail),
           "too many wrong passcodes: locked until %s (local time)", when);
  if (ctx->json && (ctx->out || (ctx->out = cJSON_CreateObject()))) {
    cJSON_AddNumberToObject(ctx->out, "locked_until", until->valuedouble);
    cJSON_AddStringToObject(ctx->out, "locked_until_local", when);
  }
}

void sim_clear_error(sim_ctx *ctx) {
  ctx->err_code[0] = ctx->err_msg[0] = ctx->err_detail[0] = '\0';
}

int sim_fail(sim_ctx *ctx, qrl_err err, int exit) {
  const char *code = qrl_err_code(err);
  /* Keep the server's own message when it reported this very code. */
  if (strcmp(ctx->err_code, code) || !ctx->err_msg[0]) {
    if (err != QRL_PROTOCOL || !ctx->err_code[0]) {
      io_copy(ctx->err_code, sizeof(ctx->err_code), code);
      io_copy(ctx->err_msg, sizeof(ctx->err_msg), qrl_err_message_vi(err));
    } else if (!ctx->err_msg[0]) {
      /* An unknown code from the server: keep it, with a generic text. */
      io_copy(ctx->err_msg, sizeof(ctx->err_msg), qrl_err_message_vi(err));
    }
  }
  if (exit > 0) return exit;
  if (err == QRL_PROTOCOL && strcmp(ctx->err_code, qrl_err_code(QRL_PROTOCOL)))
    return QRL_EXIT_REFUSED; /* a refusal this simulator does not know */
  return qrl_sim_exit_for(err);
}

int sim_fail_msg(sim_ctx *ctx, qrl_err err, int exit, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(ctx->err_msg, sizeof(ctx->err_msg), fmt, ap);
  va_end(ap);
  if (n < 0) ctx->err_msg[0] = '\0';
  io_copy(ctx->err_code, sizeof(ctx->err_code), qrl_err_code(err));
  return sim_fail(ctx, err, exit); /* keeps the message: same code */
}

int sim_usage_error(sim_ctx *ctx, qrl_err err, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(ctx->err_detail, sizeof(ctx->err_detail), fmt, ap);
  va_end(ap);
  if (n < 0) ctx->err_detail[0] = '\0';
  io_copy(ctx->err_code, sizeof(ctx->err_code), qrl_err_code(err));
  io_copy(ctx->err_msg, sizeof(ctx->err_msg), qrl_err_message_vi(err));
  return QRL_EXIT_USAGE;
}

int sim_finish(sim_ctx *ctx, int exit) {
  char *txt = NULL;
  cJSON *o = ctx->out;

  if (!ctx->json) {
    if (exit == QRL_EXIT_USAGE) {
      fprintf(stderr, "vneid-sim: %s\n",
              ctx->err_detail[0] ? ctx->err_detail : ctx->err_msg);
      if (ctx->err_detail[0] && strcmp(ctx->err_code, "invalid_argument"))
        fprintf(stderr, "  %s (%s)\n", ctx->err_msg, ctx->err_code);
      if (ctx->command && ctx->command[0] && strcmp(ctx->command, "help"))
        fprintf(stderr, "Try 'vneid-sim %s --help'.\n", ctx->command);
      else
        fprintf(stderr, "Try 'vneid-sim --help'.\n");
    } else if (exit != QRL_EXIT_OK && exit != QRL_EXIT_DECLINED &&
               ctx->err_code[0]) {
      /* (A decline is the citizen's own choice, already reported.) */
      fprintf(stderr, "Lỗi: %s (%s)\n", ctx->err_msg, ctx->err_code);
      if (ctx->err_detail[0]) fprintf(stderr, "  %s\n", ctx->err_detail);
    }
    goto out;
  }
  if (!o) o = ctx->out = cJSON_CreateObject();
  if (!o) goto out;
  {
    /* Rebuild with a fixed key order: ok, command, fields..., outcome. */
    cJSON *r = cJSON_CreateObject();
    cJSON *it;
    if (!r) goto out;
    cJSON_AddBoolToObject(r, "ok", exit == QRL_EXIT_OK);
    cJSON_AddStringToObject(r, "command", ctx->command ? ctx->command : "");
    while ((it = o->child)) {
      const char *key = it->string;
      cJSON_DetachItemViaPointer(o, it);
      if (key && (!strcmp(key, "code") || !strcmp(key, "message") ||
                  !strcmp(key, "exit") || !strcmp(key, "detail"))) {
        cJSON_Delete(it);
        continue;
      }
      /* cJSON copies key before it frees the item's old key. */
      cJSON_AddItemToObject(r, key ? key : "", it);
    }
    if (exit != QRL_EXIT_OK) {
      cJSON_AddStringToObject(r, "code",
                              ctx->err_code[0] ? ctx->err_code : "internal");
      cJSON_AddStringToObject(r, "message", ctx->err_msg);
      if (ctx->err_detail[0])
        cJSON_AddStringToObject(r, "detail", ctx->err_detail);
    }
    cJSON_AddNumberToObject(r, "exit", exit);
    cJSON_Delete(o);
    ctx->out = o = r;
  }
  txt = cJSON_PrintUnformatted(o);
  if (txt) {
    fputs(txt, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
out:
  cJSON_free(txt);
  return exit;
}

static int64_t io_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd 0 is readable. Returns 1 if readable (or at EOF/error, so
 * read() reports it), 0 on the deadline (-1: none). Services ws meanwhile. */
static int io_wait_stdin(qrl_wsc *ws, int64_t deadline) {
  struct pollfd p;
  for (;;) {
    int slice = ws ? 50 : 1000, n;
    if (deadline >= 0) {
      int64_t left = deadline - io_now_ms();
      if (left <= 0) return 0;
      if (left < slice) slice = (int)left;
    }
    p.fd = 0;
    p.events = POLLIN;
    p.revents = 0;
    n = poll(&p, 1, slice);
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return 1;
    if (ws) qrl_wsc_wait_closed(ws, 50);
  }
}

int sim_prompt(sim_ctx *ctx, qrl_wsc *ws, const char *question, int echo,
               char *buf, size_t len) {
  FILE *f = ctx->json ? stderr : stdout;
  struct termios old, quiet;
  int restore = 0, got = 0;
  int64_t deadline = ctx->stdin_tty ? -1 : io_now_ms() + ctx->timeout_ms;
  size_t used = 0;
  char ch;

  if (!len) goto out;
  buf[0] = '\0';
  fputs(question, f);
  fflush(f);
  if (!echo && ctx->stdin_tty && !tcgetattr(0, &old)) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (!tcsetattr(0, TCSAFLUSH, &quiet)) restore = 1;
  }
  for (;;) {
    ssize_t n;
    if (!io_wait_stdin(ws, deadline)) break; /* no answer in time */
    n = read(0, &ch, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { /* end of input */
      got = used > 0;
      break;
    }
    if (ch == '\n') {
      got = 1;
      break;
    }
    if (ch == '\r') continue;
    if (used + 1 < len) buf[used++] = ch;
  }
  buf[used] = '\0';
  if (restore) {
    tcsetattr(0, TCSAFLUSH, &old);
    fputc('\n', f);
  } else if (!ctx->stdin_tty) {
    fputc('\n', f); /* the answer did not echo: end the prompt line */
  }
  fflush(f);
out:
  return got;
}

int sim_ask_yes(sim_ctx *ctx, qrl_wsc *ws, const char *question) {
  char q[512], a[32];
  int n = snprintf(q, sizeof(q), "%s [y/N] ", question);
  if (n < 0 || (size_t)n >= sizeof(q)) return 0;
  if (!sim_prompt(ctx, ws, q, 1, a, sizeof(a))) return 0;
  return !strcasecmp(a, "y") || !strcasecmp(a, "yes") || !strcasecmp(a, "c") ||
         !strcmp(a, "có") || !strcmp(a, "Có");
}
