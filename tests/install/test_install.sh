#!/usr/bin/env bash
# install.web_root - the installed layout works on its own.
#
#   test_install.sh CMAKE BUILD_DIR CURL
#
# Installs BUILD_DIR into a temporary prefix (cmake --install; the unit file
# must name the installed binary), marks the
# installed index.html so that a page served from anywhere else (the source
# tree's web/) is caught, then starts the installed qrlogind from an unrelated
# working directory with no --web, waits for its "listening on" line (a
# blocking read on its stdout, never a sleep), and fetches / and every local
# file the page loads. --help must name the installed directory as the
# default, and SIGTERM must end the server with status 0.
set -euo pipefail
cmake=$1 build=$2 curl=$3

tmp=$(mktemp -d /tmp/qrl-install-XXXXXX)
srv_pid=""
cleanup() {
  if [ -n "$srv_pid" ]; then kill -KILL "$srv_pid" 2>/dev/null || true; fi
  if [ -z "${QRL_KEEP_TMP:-}" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() {
  echo "install.web_root: $*" >&2
  if [ -f "$tmp/server.log" ]; then
    echo "---- qrlogind log ----" >&2; cat "$tmp/server.log" >&2
    echo "---- end of log ----" >&2
  fi
  exit 1
}

prefix="$tmp/prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
for f in bin/qrlogind bin/vneid-sim bin/qrlogin-admin; do
  [ -x "$prefix/$f" ] || fail "$f not installed"
done
for f in share/qrlogin/web/index.html share/doc/qrlogin/README.md \
         share/doc/qrlogin/LICENSE share/doc/qrlogin/protocol.md \
         share/man/man8/qrlogind.8 share/man/man8/qrlogin-admin.8 \
         share/man/man1/vneid-sim.1 \
         share/doc/qrlogin/examples/qrlogind.conf.example \
         lib/systemd/system/qrlogind.service lib/sysusers.d/qrlogin.conf; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
# The unit starts this prefix's qrlogind.
grep -qxF "ExecStart=$prefix/bin/qrlogind --config /etc/qrlogin/qrlogind.conf" \
  "$prefix/lib/systemd/system/qrlogind.service" ||
  fail "the installed unit does not start $prefix/bin/qrlogind"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$prefix/lib/systemd/system/qrlogind.service" >"$tmp/verify.log" 2>&1 ||
    { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify refuses the installed unit"; }
fi

web=$(cd "$prefix/share/qrlogin/web" && pwd -P)
marker="qrl-install-test-$$-$RANDOM"
printf '<!-- %s -->\n' "$marker" >>"$web/index.html"

mkdir "$tmp/run"
cd "$tmp/run"
help=$("$prefix/bin/qrlogind" --help) || fail "--help failed"
grep -qxF "The login page without --web: $web" <<<"$help" ||
  fail "--help does not name $web as the default: $(tail -n 1 <<<"$help")"

# The README's command, from another directory (only faster demo hashes).
coproc SRV { exec "$prefix/bin/qrlogind" --demo --port 0 --hash-cost 10 2>"$tmp/server.log"; }
srv_pid=$SRV_PID
line=""
IFS= read -r -t 120 line <&"${SRV[0]}" || fail "qrlogind did not report listening"
[[ $line =~ ^qrlogind:\ listening\ on\ http://127\.0\.0\.1:([0-9]+)/$ ]] ||
  fail "unexpected first line: '$line'"
base="http://127.0.0.1:${BASH_REMATCH[1]}"

"$curl" -fsS --max-time 30 -o "$tmp/index.html" "$base/" || fail "GET / failed"
grep -qF "$marker" "$tmp/index.html" || fail "GET / is not the installed page"
grep -qi '<html' "$tmp/index.html" || fail "GET / is not a page"
assets=$(grep -o '\(src\|href\)="/[^"]*"' "$tmp/index.html" | sed 's/^[a-z]*="\(.*\)"$/\1/' | sort -u)
[ -n "$assets" ] || fail "the page loads nothing from the server?"
for a in $assets; do
  "$curl" -fsS --max-time 30 -o "$tmp/asset" "$base$a" || fail "GET $a failed"
  cmp -s "$tmp/asset" "$web$a" || fail "GET $a is not the installed $web$a"
done

kill -TERM "$srv_pid"
status=0
wait "$srv_pid" || status=$?
srv_pid=""
[ "$status" -eq 0 ] || fail "qrlogind exit status $status after SIGTERM, want 0"
echo "install.web_root: $base/ served $web (/ and $(wc -w <<<"$assets") files)"
