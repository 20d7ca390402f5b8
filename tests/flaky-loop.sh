#!/usr/bin/env bash
# flaky-loop.sh - runs the whole ctest suite N times at -j16 with CPU load
# beside it, and stops at the first failure: the way to find a test that
# waits on time instead of on an event before it fails someone else's run.
#
#   tests/flaky-loop.sh [BUILD_DIR] [N] [-- CTEST_ARGS...]
#
#   tests/flaky-loop.sh                   # ./build, 20 passes
#   tests/flaky-loop.sh 5                 # ./build, 5 passes
#   tests/flaky-loop.sh build-x 20        # configures and builds build-x first if needed
#   tests/flaky-loop.sh build 20 -- -R 'unit|integration'
#
# BUILD_DIR defaults to build (relative to the source tree). A directory
# that has not been configured is configured (RelWithDebInfo, full suite);
# every run builds it first, so the loop tests the sources as they are.
#
# Environment:
#   FLAKY_JOBS      ctest -j (default 16)
#   FLAKY_LOAD      CPU hogs beside the tests (default: the number of cores;
#                   0: none). stress-ng --cpu if installed, else busy loops.
#   FLAKY_LOG_DIR   where logs go (default BUILD_DIR/flaky-loop)
#
# Output: one line per pass; on a failure the failed tests and the kept log
# (ctest's output and every test's output of that pass); last line
#   flaky-loop: P passed, F failed
# Exit status 0 if every pass passed, 1 on a failure, 2 on a usage or build
# error. The load processes are stopped on any exit (and if this script is
# killed outright, a watchdog stops them).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=build
passes=20
ctest_args=()

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

positional=()
while (($#)); do
  case $1 in
  --) shift; ctest_args=("$@"); break ;;
  -h | --help) usage ;;
  *) positional+=("$1"); shift ;;
  esac
done
case ${#positional[@]} in
0) ;;
1) if [[ ${positional[0]} =~ ^[0-9]+$ ]]; then passes=${positional[0]}; else build=${positional[0]}; fi ;;
2) build=${positional[0]}; passes=${positional[1]} ;;
*) usage ;;
esac
[[ $passes =~ ^[1-9][0-9]*$ ]] || { echo "flaky-loop: N must be a positive number, not '$passes'" >&2; exit 2; }
[[ $build = /* ]] || build=$src/$build

jobs=${FLAKY_JOBS:-16}
cores=$(nproc 2>/dev/null || echo 2)
load=${FLAKY_LOAD:-$cores}
logdir=${FLAKY_LOG_DIR:-$build/flaky-loop}

# ---- the load, stopped on every way out ------------------------------------
load_pids=()
stop_load() {
  local pid
  for pid in "${load_pids[@]}"; do
    # each hog leads its own process group (setsid): stop the group
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  load_pids=()
}
ctest_pid=
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $ctest_pid ]]; then
    kill -TERM -- "-$ctest_pid" 2>/dev/null || true
    wait "$ctest_pid" 2>/dev/null || true
    echo "flaky-loop: interrupted; $passed passed, $failed failed" >&2
  fi
  stop_load
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_load() {
  local i me=$$
  ((load > 0)) || return 0
  if command -v stress-ng >/dev/null 2>&1; then
    setsid stress-ng --cpu "$load" --quiet >/dev/null 2>&1 &
    load_pids+=($!)
    load_what="stress-ng --cpu $load"
  else
    for ((i = 0; i < load; i++)); do
      # a busy loop that also ends by itself once this script is gone
      setsid bash -c 'while kill -0 '"$me"' 2>/dev/null; do for ((j = 0; j < 200000; j++)); do :; done; done' \
        >/dev/null 2>&1 &
      load_pids+=($!)
    done
    load_what="$load busy loops"
  fi
  # Watchdog: if this script is killed without running its trap (SIGKILL),
  # the load must not outlive it. It waits on our pid, not on a clock.
  setsid bash -c 'tail --pid='"$me"' -f /dev/null >/dev/null 2>&1; kill -TERM -- '"$(printf -- '-%s ' "${load_pids[@]}")"' 2>/dev/null' \
    >/dev/null 2>&1 &
  load_pids+=($!)
}

# ---- build ------------------------------------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
  echo "flaky-loop: configuring $build"
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQRL_FULL_SUITE=ON \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 2; }
  rm -f "$build.configure.log"
fi
echo "flaky-loop: building $build"
mkdir -p "$logdir"
cmake --build "$build" -j"$cores" >"$logdir/build.log" 2>&1 || {
  tail -40 "$logdir/build.log" >&2
  echo "flaky-loop: build failed (log: $logdir/build.log)" >&2
  exit 2
}
# The browser test needs its node modules once.
if grep -q 'browser\.e2e' "$build/tests/CTestTestfile.cmake" 2>/dev/null &&
  [[ ! -d $src/tests/browser/node_modules ]] && command -v npm >/dev/null 2>&1; then
  echo "flaky-loop: npm ci in tests/browser"
  (cd "$src/tests/browser" && npm ci --no-audit --no-fund) >"$logdir/npm.log" 2>&1 || {
    tail -20 "$logdir/npm.log" >&2
    exit 2
  }
fi

# ---- the loop ----------------------------------------------------------------
load_what=none
passed=0
failed=0
start_load
echo "flaky-loop: $passes passes of ctest -j$jobs ${ctest_args[*]:-} in $build, load: $load_what"
for ((i = 1; i <= passes; i++)); do
  log=$logdir/pass-$i.log
  t0=$SECONDS
  # ctest runs in its own process group, in the background: a signal to this
  # script is handled at once (bash runs a trap only between commands, but
  # `wait` returns for it) and ends the whole run, tests included.
  setsid ctest --test-dir "$build" -j"$jobs" --output-on-failure --no-tests=error \
    "${ctest_args[@]}" >"$log" 2>&1 &
  ctest_pid=$!
  rc=0
  wait "$ctest_pid" || rc=$?
  ctest_pid=
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "flaky-loop: pass $i/$passes ok ($((SECONDS - t0)) s; $(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || echo '?'))"
    rm -f "$log"
  else
    failed=$((failed + 1))
    kept=$logdir/failed-pass-$i
    mkdir -p "$kept"
    mv "$log" "$kept/ctest.log"
    cp "$build/Testing/Temporary/LastTest.log" "$kept/LastTest.log" 2>/dev/null || true
    echo "flaky-loop: pass $i/$passes FAILED ($((SECONDS - t0)) s):"
    if [[ -s $build/Testing/Temporary/LastTestsFailed.log ]]; then
      sed 's/^/flaky-loop:   failed: /' "$build/Testing/Temporary/LastTestsFailed.log"
    else
      grep -E '\*\*\*|Failed|Timeout|Not Run' "$kept/ctest.log" | sed 's/^/flaky-loop:   /' || true
    fi
    echo "flaky-loop: logs kept in $kept (ctest.log: ctest's output; LastTest.log: every test's output)"
    break
  fi
done
stop_load
echo "flaky-loop: $passed passed, $failed failed"
((failed == 0))
