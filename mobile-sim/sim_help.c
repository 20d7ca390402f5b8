/*
 * sim_help.c - vneid-sim's help texts (see sim_help.h).
 *
 * The overview lists the commands, the global options and the exit codes
 * (docs/protocol.md has the table); a command's usage is its text from the
 * command table followed by one line on the global options. Help goes to the
 * stream it is given: stdout when asked for, stderr when no command was given.
 *
 * It does not parse options or decide exit codes.
 */
#include "sim_help.h"

void sim_help(FILE *f, const char *usage) {
  if (usage) {
    fputs(usage, f);
    fputs("GLOBAL options: --server URL --home DIR --json --timeout MS (see "
          "vneid-sim --help)\n",
          f);
    return;
  }
  fputs(
      "Usage: vneid-sim [--server URL] [--home DIR] [--json] [--timeout MS]\n"
      "                 COMMAND [ARGS]\n"
      "The VNeID phone app as a command line, for QR web login.\n"
      "\n"
      "Commands:\n"
      "  login --id ID --password PW    log the app in on this device\n"
      "  status                         login state, account, permission\n"
      "  scan PAYLOAD | --image FILE    scan a login QR code and confirm it\n"
      "  settings web-login on|off      set \"Đăng nhập trên website\"\n"
      "  logout                         log the app out\n"
      "  sessions [revoke ID]           recent web logins; end one (\"không phải tôi\")\n"
      "  decode --image FILE            the text of a QR code image\n"
      "  inbox --phone N [--wait S]     SMS to a number (demo mobile network)\n"
      "  help [COMMAND]                 this text, or a command's usage\n"
      "\n"
      "Global options (also accepted after the command):\n"
      "  --server URL   server, ws://HOST:PORT (http:// also accepted);\n"
      "                 default " SIM_DEFAULT_SERVER "\n"
      "  --home DIR     state directory; default $VNEID_SIM_HOME, else\n"
      "                 ~/.vneid-sim (device key, app session; mode 0700)\n"
      "  --json         print one JSON object per command on stdout:\n"
      "                 {\"ok\":true,\"command\":...,...,\"exit\":0} or\n"
      "                 "
      "{\"ok\":false,\"code\":...,\"message\":...,\"exit\":N}\n"
      "  --timeout MS   network waits in milliseconds (default 10000)\n"
      "  --ca FILE      trust these CA certificates (PEM) for a wss:// server\n"
      "  --help         this text; COMMAND --help for a command's usage\n"
      "\n"
      "Exit codes: 0 ok, 2 usage, 3 declined, 4 challenge expired/used/\n"
      "cancelled/unknown/other account, 5 web login not permitted or level "
      "too\n"
      "low, 6 wrong passcode, 7 locked, 8 not logged in, 9 network/protocol/\n"
      "server error, 10 wrong ID or password, 11 other refusal.\n",
      f);
}
