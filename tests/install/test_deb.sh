#!/usr/bin/env bash
# test_deb.sh BUILD_DIR - the Debian package, as an operator meets it: cpack
# builds it from BUILD_DIR; it must hold the programs, the page, the manual
# pages and the docs under /usr and depend on the libraries they link; dpkg
# installs it on this machine (root; it must not be installed already) and
# its postinst makes the qrlogin user and /var/lib/qrlogin; the
# installed qrlogind and vneid-sim then do a whole QR login - the integration
# test citizen_logs_in_by_scanning_the_page_qr with QRL_H_PREFIX=/usr, so the
# server serves its installed page and the phone is the installed simulator;
# dpkg --purge removes it and nothing of it is left. Run by .ci/run as root
# (it changes the machine: not a ctest).
set -euo pipefail
build=$(cd "$1" && pwd)
fail() { echo "test_deb: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (it installs the package with dpkg)"
if dpkg-query -W -f='${Status}' qrlogin 2>/dev/null | grep -q "ok installed"; then
  fail "a qrlogin package is installed already: remove it first (dpkg --purge qrlogin)"
fi

rm -f "$build"/qrlogin_*.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || { cat "$build/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$build"/qrlogin_*.deb)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/qrlogind ./usr/bin/vneid-sim ./usr/bin/qrlogin-admin \
         ./usr/share/qrlogin/web/index.html ./usr/share/man/man8/qrlogind.8 \
         ./usr/share/man/man8/qrlogin-admin.8 ./usr/share/man/man1/vneid-sim.1 \
         ./usr/share/doc/qrlogin/LICENSE ./usr/lib/systemd/system/qrlogind.service \
         ./usr/lib/sysusers.d/qrlogin.conf ./usr/share/doc/qrlogin/examples/qrlogind.conf.example; do
  grep -qxF "$f" <<<"$contents" || fail "$f is not in the package"
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libwebsockets17 libwebsockets-evlib-uv libsqlite3-0 libssl3 libcjson1; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

removed=0
purge() { ((removed)) || dpkg --purge qrlogin >/dev/null 2>&1 || true; }
trap purge EXIT
export DEBIAN_FRONTEND=noninteractive
dpkg -i "$deb" >"$build/dpkg.log" 2>&1 || { cat "$build/dpkg.log" >&2; fail "dpkg -i failed"; }
[ -x /usr/bin/qrlogind ] || fail "/usr/bin/qrlogind not installed"
getent passwd qrlogin >/dev/null || fail "postinst made no qrlogin user"
[ "$(stat -c %U:%a /var/lib/qrlogin)" = "qrlogin:750" ] ||
  fail "/var/lib/qrlogin is $(stat -c %U:%a /var/lib/qrlogin), want qrlogin:750"
grep -qxF "ExecStart=/usr/bin/qrlogind --config /etc/qrlogin/qrlogind.conf" \
  /usr/lib/systemd/system/qrlogind.service || fail "the packaged unit does not start /usr/bin/qrlogind"
/usr/bin/qrlogind --help | grep -q "/usr/share/qrlogin/web" ||
  fail "the installed qrlogind does not default to its installed page"

QRL_H_PREFIX=/usr "$build/tests/test_qr_login" citizen_logs_in_by_scanning_the_page_qr ||
  fail "a QR login with the installed programs failed"

dpkg --purge qrlogin >"$build/dpkg.log" 2>&1 || { cat "$build/dpkg.log" >&2; fail "dpkg --purge failed"; }
removed=1
for f in /usr/bin/qrlogind /usr/bin/vneid-sim /usr/bin/qrlogin-admin /usr/share/qrlogin \
         /usr/share/man/man8/qrlogind.8 /usr/share/doc/qrlogin /var/lib/qrlogin; do
  [ ! -e "$f" ] || fail "$f is left after dpkg --purge"
done
echo "test_deb: $(basename "$deb") built, installed, logged in with, purged"
