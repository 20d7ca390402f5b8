#!/usr/bin/env bash
# The click-through demo: qrlogind --demo (the national login,
# http://127.0.0.1:8080/) and the demo provincial portal "Cổng Dịch vụ công
# tỉnh Đồng Nai (demo)" (http://localhost:8081/), which logs citizens in
# through it. Run from the source tree after building (README, Quick start):
#
#   bash examples/demo-portal/demo.sh [qrlogind options...]
#
# Installs the portal's npm packages (pinned by its package-lock.json) the
# first time, starts the portal in the background and qrlogind in the
# foreground; Ctrl-C stops both. QRLOGIND=path picks another qrlogind
# (default ./build/qrlogind).
set -euo pipefail
cd "$(dirname "$0")/../.."
portal=examples/demo-portal
qrlogind=${QRLOGIND:-./build/qrlogind}
[ -x "$qrlogind" ] || { echo "demo.sh: no $qrlogind (build first: cmake -S . -B build && cmake --build build)" >&2; exit 1; }

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "demo.sh: the demo portal needs Node.js 20 or later (openid-client 6); this machine has" \
       "'$(node --version 2>/dev/null || echo none)'. Starting qrlogind alone." >&2
  exec "$qrlogind" --demo "$@"
fi
if [ ! -d "$portal/node_modules/openid-client" ] ||
   [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; then
  (cd "$portal" && npm ci --no-audit --no-fund --loglevel=error)
fi

node "$portal/server.js" &
portal_pid=$!
trap 'kill "$portal_pid" 2>/dev/null; wait "$portal_pid" 2>/dev/null || true' EXIT
echo "demo.sh: open http://localhost:8081/ and click \"Đăng nhập\" (README: Quick start)"
"$qrlogind" --demo "$@"
