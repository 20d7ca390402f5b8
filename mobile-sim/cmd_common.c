/*
 * cmd_common.c - steps shared by the vneid-sim commands (see cmd_common.h).
 *
 * A server answer of session_invalid (or wrong_device) makes the simulator
 * forget its session here, whatever the command. The home directory check
 * uses lstat(): a symbolic link is refused, never followed.
 *
 * It does not parse arguments or decide what a command does.
 */
#include "cmd_common.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/qr_scan.h"
#include "qrlogin/protocol.h"
#include "sim_io.h"
#include "sim_net.h"

void cmd_out_account(sim_ctx *ctx, const sim_account *acc) {
  cJSON *j;
  if (!ctx->json || !ctx->out) return;
  cJSON_DeleteItemFromObjectCaseSensitive(ctx->out, "account");
  j = sim_account_to_json(acc);
  if (j) cJSON_AddItemToObject(ctx->out, "account", j);
}

void cmd_say_account(sim_ctx *ctx, const sim_account *acc) {
  sim_say(ctx, "Tài khoản:  %s (%s)\n",
          acc->full_name[0] ? acc->full_name : "-", acc->id);
  sim_say(ctx, "Mức:        %d\n", acc->level);
  sim_say(ctx, "Đăng nhập trên website: %s\n", acc->web_login ? "bật" : "tắt");
}

int cmd_need_session(sim_ctx *ctx, sim_session *s) {
  qrl_err rc = sim_session_load(ctx->home, s);
  if (rc == QRL_OK) return 0;
  if (rc == QRL_NOT_LOGGED_IN) {
    if (ctx->json && ctx->out) cJSON_AddBoolToObject(ctx->out, "logged_in", 0);
    return sim_fail(ctx, QRL_NOT_LOGGED_IN, QRL_EXIT_NOT_LOGGED_IN);
  }
  sim_detail(ctx, "cannot read the session in %s", ctx->home);
  return sim_fail(ctx, rc, 0);
}

int cmd_server_fail(sim_ctx *ctx, qrl_err rc) {
  if (rc == QRL_SESSION_INVALID || rc == QRL_WRONG_DEVICE) {
    sim_session_forget(ctx->home);
    if (ctx->json && ctx->out) {
      cJSON_AddBoolToObject(ctx->out, "session_forgotten", 1);
      cJSON_AddBoolToObject(ctx->out, "logged_in", 0);
    }
    sim_say(ctx, "Đã xoá phiên đăng nhập ứng dụng trên thiết bị này.\n");
    if (rc == QRL_SESSION_INVALID)
      return sim_fail(ctx, rc, QRL_EXIT_NOT_LOGGED_IN);
  }
  return sim_fail(ctx, rc, 0);
}

cJSON *cmd_req(const char *type, const char *token) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  if (!cJSON_AddStringToObject(o, "type", type) ||
      (token && !cJSON_AddStringToObject(o, "session", token))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

qrl_err cmd_update_account(sim_ctx *ctx, sim_session *s, const cJSON *reply) {
  const cJSON *acc = cJSON_GetObjectItemCaseSensitive(reply, "account");
  sim_account a;
  if (!acc) return QRL_OK; /* nothing new */
  if (sim_account_from_json(acc, &a)) return QRL_PROTOCOL;
  s->account = a;
  return sim_session_save(ctx->home, s);
}

int cmd_passcode(sim_ctx *ctx, qrl_wsc *ws, const char *given, char *buf,
                 size_t len, qrl_err fallback, int fallback_exit) {
  int n;
  if (given) {
    n = snprintf(buf, len, "%s", given);
    return n < 0 || (size_t)n >= len ? sim_fail(ctx, QRL_INTERNAL, 0) : 0;
  }
  if (!sim_prompt(ctx, ws, "Nhập mã bảo vệ (6 chữ số): ", 0, buf, len))
    return sim_fail(ctx, fallback, fallback_exit);
  if (!qrl_passcode_valid(buf, strlen(buf)))
    return sim_usage_error(ctx, QRL_BAD_PASSCODE_FORMAT,
                           "the passcode must be 6 digits");
  return 0;
}

int cmd_set_web_login(sim_ctx *ctx, qrl_wsc *ws, sim_session *s, int value,
                      const char *passcode) {
  cJSON *req = NULL, *reply = NULL;
  int ex = 0;
  qrl_err rc;

  req = cmd_req(QRL_MSG_SET_PERMISSION, s->token);
  if (!req || !cJSON_AddStringToObject(req, "permission", QRL_PERM_WEB_LOGIN) ||
      !cJSON_AddBoolToObject(req, "value", value) ||
      !cJSON_AddStringToObject(req, "passcode", passcode)) {
    ex = sim_fail(ctx, QRL_NOMEM, 0);
    goto out;
  }
  if ((rc = sim_request(ctx, ws, req, &reply))) {
    ex = cmd_server_fail(ctx, rc);
    goto out;
  }
  if ((rc = cmd_update_account(ctx, s, reply))) {
    ex = sim_fail(ctx, rc, 0);
    goto out;
  }
  sim_say(ctx, "Đã %s quyền \"Đăng nhập trên website\".\n",
          value ? "bật" : "tắt");
out:
  if (req) {
    cJSON_DeleteItemFromObjectCaseSensitive(req, "passcode");
    cJSON_Delete(req);
  }
  cJSON_Delete(reply);
  return ex;
}

int cmd_check_home(sim_ctx *ctx) {
  struct stat st;
  unsigned mode;
  int ex = 0;

  switch (sim_home_check(ctx->home, &st)) {
  case SIM_HOME_SAFE: break;
  case SIM_HOME_SYMLINK:
    sim_detail(ctx, "unsafe home directory '%s': a symbolic link", ctx->home);
    ex = sim_fail_msg(ctx, QRL_IO, QRL_EXIT_USAGE,
                      "Thư mục %s là một liên kết tượng trưng (symlink), "
                      "không phải thư mục thật. Vui lòng dùng một thư mục "
                      "riêng của bạn.",
                      ctx->home);
    break;
  case SIM_HOME_NOT_DIR:
    sim_detail(ctx, "unsafe home directory '%s': not a directory", ctx->home);
    ex = sim_fail_msg(ctx, QRL_IO, QRL_EXIT_USAGE,
                      "%s không phải là thư mục. Vui lòng chọn thư mục khác "
                      "(--home).",
                      ctx->home);
    break;
  case SIM_HOME_OTHER_OWNER:
    sim_detail(ctx, "unsafe home directory '%s': owned by uid %ld, not %ld",
               ctx->home, (long)st.st_uid, (long)geteuid());
    ex = sim_fail_msg(ctx, QRL_IO, QRL_EXIT_USAGE,
                      "Thư mục %s thuộc về người dùng khác (uid %ld). Vui "
                      "lòng dùng một thư mục riêng của bạn.",
                      ctx->home, (long)st.st_uid);
    break;
  case SIM_HOME_WRITABLE:
    mode = (unsigned)(st.st_mode & 07777);
    sim_detail(ctx, "unsafe home directory '%s': writable by group or others "
               "(mode %04o); chmod 700 it", ctx->home, mode);
    ex = sim_fail_msg(ctx, QRL_IO, QRL_EXIT_USAGE,
                      "Thư mục %s có quyền ghi cho người khác (mode %04o). "
                      "Vui lòng chỉ để mình bạn có quyền (chmod 700 %s).",
                      ctx->home, mode, ctx->home);
    break;
  case SIM_HOME_UNREADABLE:
  default:
    sim_detail(ctx, "cannot check the home directory '%s'", ctx->home);
    ex = sim_fail_msg(ctx, QRL_IO, QRL_EXIT_USAGE,
                      "Không kiểm tra được thư mục %s. Vui lòng chọn thư mục "
                      "khác (--home).",
                      ctx->home);
    break;
  }
  return ex;
}

int cmd_read_qr_png(sim_ctx *ctx, const char *path, char *text, size_t cap) {
  qrl_err rc = qrl_qr_scan_png(path, text, cap);
  if (rc == QRL_IO || rc == QRL_INVAL) {
    sim_detail(ctx, "cannot read the PNG image '%s'", path);
    return sim_fail(ctx, QRL_IO, QRL_EXIT_USAGE);
  }
  if (rc) {
    sim_detail(ctx, "no QR code found in '%s'", path);
    return sim_fail(ctx, QRL_BAD_QR, 0);
  }
  return 0;
}
