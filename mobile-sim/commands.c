/*
 * commands.c - the vneid-sim command table and dispatch (see commands.h).
 *
 * The table says, for each command, the function that runs it, the options
 * and positional arguments it accepts, whether it uses the state directory,
 * and its usage text. sim_run() finds the command, parses its arguments
 * (sim_getopt.c), resolves and checks the home directory, runs it and prints
 * the outcome (sim_finish).
 *
 * Not here: the commands (cmd_app.c, cmd_scan.c, cmd_view.c), option parsing
 * (sim_getopt.c), the overview help (sim_help.c).
 */
#include "commands.h"

#include <string.h>

#include "cmd_app.h"
#include "cmd_common.h"
#include "cmd_scan.h"
#include "cmd_view.h"
#include "qrlogin/protocol.h"
#include "sim_getopt.h"
#include "sim_help.h"
#include "sim_home.h"
#include "sim_io.h"

typedef int (*cmd_fn)(sim_ctx *ctx, sim_args *a);

/* One command. */
typedef struct cmd_def {
  const char *name;
  cmd_fn fn;
  int opts; /* enum sim_co_bit accepted */
  int min_pos, max_pos;
  const char *usage;
  int home; /* 1: uses the state directory (checked before it runs) */
} cmd_def;

static const cmd_def cmd_table[] = {
    {"login", cmd_login, SIM_CO_ID | SIM_CO_PASSWORD | SIM_CO_DEVICE_NAME, 0, 0,
     "Usage: vneid-sim [GLOBAL] login --id ID --password PW [--device-name "
     "NAME]\n"
     "  Logs the app in on this device and registers the device key (made on\n"
     "  first use, kept in the home directory). ID: 12-digit citizen ID.\n", 1},
    {"status", cmd_status, 0, 0, 0,
     "Usage: vneid-sim [GLOBAL] status\n"
     "  Shows whether the app is logged in, the account, its level and the\n"
     "  \"Đăng nhập trên website\" permission (asks the server). Exit 8 if "
     "not\n"
     "  logged in; a session the server rejects is forgotten.\n", 1},
    {"scan", cmd_scan,
     SIM_CO_IMAGE | SIM_CO_YES | SIM_CO_NO | SIM_CO_GRANT | SIM_CO_PASSCODE |
         SIM_CO_NUMBER,
     0, 1,
     "Usage: vneid-sim [GLOBAL] scan (PAYLOAD | --image FILE.png)\n"
     "                 [--yes [--number NN] | --no] [--grant [--passcode N]]\n"
     "  Scans a login QR code (the text QRL2.<id>.<frame>.<code>, or a PNG\n"
     "  image; it changes every few seconds, scan the one on screen), shows who\n"
     "  is asking and asks \"Xác nhận đăng nhập? [y/N]\", then which of three\n"
     "  numbers the login page shows (the page shows it after the scan).\n"
     "  --yes / --no      answer without a prompt (confirm / decline)\n"
     "  --number NN       the number on the login page (else it is asked for,\n"
     "                    from the terminal or a line on stdin)\n"
     "  --grant           if web login is not permitted, turn it on without\n"
     "                    asking (needs the passcode: --passcode or a prompt)\n"
     "  --passcode N      the 6-digit passcode (mã bảo vệ) used to grant it\n"
     "  After a confirm the server logs the app out; log in again to scan.\n", 1},
    {"settings", cmd_settings, SIM_CO_PASSCODE, 1, 2,
     "Usage: vneid-sim [GLOBAL] settings web-login on|off [--passcode N]\n"
     "  Turns \"Đăng nhập trên website\" on or off. The passcode is asked for\n"
     "  when not given and stdin is a terminal.\n", 1},
    {"logout", cmd_logout, 0, 0, 0,
     "Usage: vneid-sim [GLOBAL] logout\n"
     "  Logs the app out on the server and forgets the session.\n", 1},
    {"decode", cmd_decode, SIM_CO_IMAGE, 0, 0,
     "Usage: vneid-sim [GLOBAL] decode --image FILE.png\n"
     "  Reads the QR code in the image and prints its text (the camera alone,\n"
     "  no server).\n", 0},
    {"sessions", cmd_sessions, 0, 0, 2,
     "Usage: vneid-sim [GLOBAL] sessions [revoke ID]\n"
     "  Lists the account's web logins of the last 30 days (when, from where,\n"
     "  which browser, still active?). \"Không phải tôi\": revoke ID ends one\n"
     "  at once.\n", 1},
    {"inbox", cmd_inbox, SIM_CO_PHONE | SIM_CO_WAIT, 0, 0,
     "Usage: vneid-sim [GLOBAL] inbox --phone NUMBER [--wait SECONDS]\n"
     "  The SMS received by this phone number on the demo mobile network\n"
     "  (qrlogind --demo), e.g. the one-time code of an ID + password login.\n"
     "  --wait S   then wait up to S seconds for the next message (exit 9 if\n"
     "             none comes). With --json the latest code is in \"otp\".\n", 0},
};

static const cmd_def *cmd_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++)
    if (!strcmp(cmd_table[i].name, name)) return &cmd_table[i];
  return NULL;
}

const char *sim_command_usage(const char *name) {
  const cmd_def *c = cmd_find(name);
  return c ? c->usage : NULL;
}

int sim_run(sim_ctx *ctx, int argc, char **argv) {
  const cmd_def *def;
  sim_args a;
  int ex;
  qrl_err rc;

  if (!strcmp(argv[0], "help")) {
    if (argc > 1 && !cmd_find(argv[1])) {
      ctx->command = "help";
      return sim_finish(ctx, sim_usage_error(ctx, QRL_INVAL,
                                             "unknown command '%s'", argv[1]));
    }
    sim_help(stdout, argc > 1 ? sim_command_usage(argv[1]) : NULL);
    return QRL_EXIT_OK;
  }
  def = cmd_find(argv[0]);
  if (!def) {
    ctx->command = "";
    return sim_finish(
        ctx, sim_usage_error(ctx, QRL_INVAL, "unknown command '%s'", argv[0]));
  }
  ctx->command = def->name;
  ctx->out = cJSON_CreateObject();
  if (!ctx->out) return sim_finish(ctx, sim_fail(ctx, QRL_NOMEM, 0));
  ex = sim_getopt_command(ctx, def->name, def->opts, def->min_pos,
                          def->max_pos, argc, argv, &a);
  if (ex == -1) {
    sim_help(stdout, sim_command_usage(def->name));
    return QRL_EXIT_OK;
  }
  if (ex) return sim_finish(ctx, ex);
  rc = sim_home_resolve(ctx->home_opt, ctx->home, sizeof(ctx->home));
  if (rc)
    return sim_finish(
        ctx,
        sim_usage_error(ctx, QRL_INVAL, "no home directory: use --home DIR"));
  if (def->home && (ex = cmd_check_home(ctx))) return sim_finish(ctx, ex);
  return sim_finish(ctx, def->fn(ctx, &a));
}
