#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || C" here means: C unless both A and B hold
# Many qrlogind nodes on one machine, for trying the multi-node setup
# (docs/multinode.md): a redis-server, N qrlogind nodes sharing it and one
# database (a PostgreSQL cluster of its own with --postgresql, else one SQLite
# file), and Debian's haproxy in front on one public port (websocket
# upgrade, round-robin, no stickiness, health checks on /readyz). Everything
# runs as the current user in one directory; Ctrl-C or SIGTERM stops it all.
#
#   bash examples/multinode/run.sh [--nodes N] [--port P] [--dir D]
#                                  [--node-port P0] [--db DB] [--postgresql]
#                                  [-- QRLOGIND_OPTION...]
#
#   --nodes N      qrlogind nodes (default 2, 1..16)
#   --port P       the proxy's public port on 127.0.0.1 (default 8080)
#   --dir D        where the database, sockets, configs and logs go (kept);
#                  default a new temporary directory, removed at the end
#   --node-port P0 the nodes listen on P0, P0+1, ... (default 0: free ports)
#   --db DB        the database every node shares: a SQLite file (default
#                  D/qrlogin.db; nodes on one machine only) or a postgresql://
#                  URL of a PostgreSQL server of yours
#   --postgresql   start a PostgreSQL cluster in D/pg (initdb, unix socket
#                  only; as the postgres user when run as root) and use it
#                  (apt-get install postgresql)
#   -- ...         more options for every node (e.g. --hash-cost 10)
#
# Programs: QRLOGIND (default ./build/qrlogind), VNEID_SIM (default
# ./build/vneid-sim, only named in the instructions), REDIS_SERVER and HAPROXY
# (default: from PATH or /usr/sbin; apt-get install redis-server haproxy). MULTINODE_START_SECS
# bounds each program's start (default 120).
#
# Output (stdout), one line each, machine-readable before the "ready" line:
#   multinode: redis unix:D/redis.sock pid N log D/redis.log
#   multinode: postgresql postgresql:///postgres?host=D/pg&user=qrlogin pid N log D/pg.log
#   multinode: nodeK http://127.0.0.1:PORT/ pid N log D/nodeK.log
#   multinode: haproxy http://127.0.0.1:P/ pid N log D/haproxy.log
#   multinode: ready http://127.0.0.1:P/
# then how to point a browser and the simulator at it. A child that exits on
# its own is said ("multinode: node2 exited with status 137"); the proxy
# routes around a node that is gone, and a dead Redis or proxy stops
# everything. Exit status: 0 when every program exited cleanly (a node
# stopped on purpose with SIGTERM, say for a rolling restart, exits 0 and
# counts as clean), 1 if something failed or died, 2 for a usage error.
set -euo pipefail

me=multinode
say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: %s\n' "$me" "$*" >&2; exit "${2:-1}"; }
# After the first child started: say why, stop everything, exit 1.
fail() { printf '%s: %s\n' "$me" "$*" >&2; failed=1; stop_all; }
usage() { sed -n '10,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))) ||
  die "needs bash 4.4 or later; this is $BASH_VERSION"

# ---- options ------------------------------------------------------------------
nodes=2 port=8080 dir="" node_port=0 db="" pg=0 extra=()
while (($#)); do
  case $1 in
    --nodes|--port|--dir|--node-port|--db)
      (($# >= 2)) || die "$1 wants a value" 2
      case $1 in
        --nodes) nodes=$2 ;; --port) port=$2 ;; --dir) dir=$2 ;;
        --node-port) node_port=$2 ;; --db) db=$2 ;;
      esac
      shift 2 ;;
    --postgresql) pg=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage ;;
    *) printf '%s: unknown option %s\n' "$me" "$1" >&2; usage ;;
  esac
done
[[ $nodes =~ ^[0-9]+$ ]] && ((nodes >= 1 && nodes <= 16)) || die "--nodes wants 1..16" 2
[[ $port =~ ^[0-9]+$ ]] && ((port >= 1 && port <= 65535)) || die "--port wants 1..65535" 2
[[ $node_port =~ ^[0-9]+$ ]] && ((node_port == 0 || (node_port >= 1 && node_port + nodes - 1 <= 65535))) ||
  die "--node-port wants 0 (free ports) or a first port with room for $nodes" 2

# ---- programs -----------------------------------------------------------------
src=$(cd "$(dirname "$0")/../.." && pwd)
qrlogind=${QRLOGIND:-$src/build/qrlogind}
sim=${VNEID_SIM:-$src/build/vneid-sim}
[ -x "$qrlogind" ] ||
  die "no qrlogind at $qrlogind (build first: cmake -S . -B build && cmake --build build; or set QRLOGIND=PATH)"
# Debian puts haproxy in /usr/sbin, which a user's PATH may not have.
find_prog() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
redis_server=${REDIS_SERVER:-$(find_prog redis-server)}
haproxy=${HAPROXY:-$(find_prog haproxy)}
[ -n "$redis_server" ] && [ -x "$redis_server" ] ||
  die "redis-server not found${REDIS_SERVER:+ at $REDIS_SERVER}: apt-get install redis-server"
[ -n "$haproxy" ] && [ -x "$haproxy" ] ||
  die "haproxy not found${HAPROXY:+ at $HAPROXY}: apt-get install haproxy (Debian's; bash .ci/deps --test installs it)"
if ((pg)); then
  [ -z "$db" ] || die "--db and --postgresql: one or the other" 2
  pg_bin=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/postgres" ] ||
    die "PostgreSQL's initdb and postgres not found${pg_bin:+ in $pg_bin}: apt-get install postgresql libpq-dev (or set PG_BINDIR)"
  # initdb refuses root: as root, the cluster is the postgres user's. setpriv
  # execs (no process in between, so SIGTERM reaches postgres itself) and
  # sets the parent-death signal again after the change of user, which
  # clears it.
  pg_as=()
  if ((EUID == 0)); then
    id postgres >/dev/null 2>&1 || die "running as root, PostgreSQL needs the postgres user (apt-get install postgresql)"
    pg_as=(setpriv --reuid=postgres --regid=postgres --clear-groups --pdeathsig TERM --)
  fi
fi
for prog in setsid setpriv mkfifo; do
  command -v "$prog" >/dev/null 2>&1 || die "$prog not found (Debian's util-linux and coreutils have it)"
done
start_secs=${MULTINODE_START_SECS:-120}
# How long a node may take to stop: its --drain-secs (default 10) for logins in
# flight, 3 s for the last work, and a margin; then it is killed.
drain=10
for ((i = 0; i < ${#extra[@]}; i++)); do
  case ${extra[i]} in
    --drain-secs) drain=${extra[i + 1]:-10} ;;
    --drain-secs=*) drain=${extra[i]#*=} ;;
  esac
done
[[ $drain =~ ^[0-9]+$ ]] || drain=600
stop_secs=$((drain + 3 + 15))

# The public port must be free (a program already there would also answer
# the probe below that says haproxy is up).
if { exec {probe_fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
  exec {probe_fd}<&-
  die "port $port is in use: pick another with --port"
fi

# ---- the directory ------------------------------------------------------------
made_dir=0
if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/qrl-multinode-XXXXXX")
  made_dir=1
else
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
fi
chmod 700 "$dir"
# As root with --postgresql, the postgres user must reach D/pg (no more: D
# stays unlistable).
if ((pg && EUID == 0)); then
  chmod 711 "$dir"
  "${pg_as[@]}" test -x "$dir" ||
    die "the postgres user cannot reach $dir (a parent directory is closed to it): pick a --dir it can reach" 2
fi
db=${db:-$dir/qrlogin.db}
((pg)) && db="postgresql:///postgres?host=$dir/pg&user=qrlogin"
public=http://127.0.0.1:$port
# unix socket paths are short (108 bytes)
((${#dir} < 90)) || die "--dir path too long for a unix socket: $dir" 2

# ---- children -----------------------------------------------------------------
never=$dir/.never events=$dir/.events
rm -f "$never" "$events"
mkfifo -m 600 "$never" "$events"
# Opened read-write: never blocks, never ends.
exec {events}<>"$events"
# Every child runs in its own session (setsid: a Ctrl-C at the terminal
# reaches this script alone, which then stops them in order: proxy, nodes,
# Redis) and gets SIGTERM should this script die without cleaning up
# (setpriv --pdeathsig: no orphans even after a kill -9 of the script).
declare -A name_of=() pid_of=() status_of=() drainer_of=()
pids=() failed=0
redis_pid="" haproxy_pid=""

# start NAME READY_PATTERN CMD...: starts CMD with its stdout and stderr in
# D/NAME.log, waits (a bounded blocking read, no polling) until a line
# matches READY_PATTERN (none if ""), and puts that line in $ready_line. A
# child that exits first ends the script with its last log lines.
start() {
  local name=$1 pattern=$2 fifo="$dir/.$1.out" fd line pid
  shift 2
  rm -f "$fifo"
  mkfifo -m 600 "$fifo" || fail "cannot make $fifo"
  setsid setpriv --pdeathsig TERM -- "$@" >"$fifo" 2>&1 </dev/null &
  pid=$!
  pids+=("$pid")
  name_of[$pid]=$name
  pid_of[$name]=$pid
  exec {fd}<"$fifo"
  rm -f "$fifo"
  : >>"$dir/$name.log"
  ready_line=""
  [ -n "$pattern" ] || ready_line="(not waited for)"
  while [ -z "$ready_line" ] && IFS= read -r -t "$start_secs" -u "$fd" line; do
    printf '%s\n' "$line" >>"$dir/$name.log"
    if [[ $line =~ $pattern ]]; then ready_line=$line; break; fi
  done
  if [ -z "$ready_line" ]; then
    exec {fd}<&-
    tail -n 15 "$dir/$name.log" >&2
    fail "$name did not start (within $start_secs s): the end of $dir/$name.log is above"
  fi
  # The rest of its output goes on to the log; the drainer ignores Ctrl-C so
  # that the child's last lines (its shutdown) are not lost. At the end of
  # the output (the child exited) it says so on the events FIFO, which the
  # main loop reads: no race with bash's job table.
  (trap '' INT TERM; cat; printf '%s\n' "$name" >&"$events") <&"$fd" >>"$dir/$name.log" &
  drainer_of[$name]=$!
  exec {fd}<&-
  last_pid=$pid
}

# Sends SIGTERM to child NAME's process group (it leads one: setsid), so
# that what it forked (haproxy's worker) is told too.
term() {
  local pid=${pid_of[$1]:-}
  # Not one already reaped: its number may belong to another process now.
  [ -n "$pid" ] && [ -z "${status_of[$pid]:-}" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
}

# Waits (secs at most, then SIGKILL to its group) until child NAME has
# exited and its output has ended - every process of its group that held it
# is gone too - and says how it exited.
reap() {
  local name=$1 secs=$2 pid=${pid_of[$1]:-} st=0 dog
  [ -n "$pid" ] || return 0
  # The watchdog waits with bash's own read on a FIFO nobody writes (no
  # sleep process to orphan).
  (read -r -t "$secs" <>"$never" || true
   kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null) &
  dog=$!
  if [ -z "${status_of[$pid]:-}" ]; then
    wait "$pid" || st=$?
    status_of[$pid]=$st
    # qrlogind, postgres and redis-server exit 0 after SIGTERM; haproxy
    # dies of it (143: its hard stop).
    ((st == 0)) || [[ $name == haproxy && $st == 143 ]] || failed=1
    say "$name stopped (exit status $st)"
  fi
  [ -z "${drainer_of[$name]:-}" ] || wait "${drainer_of[$name]}" 2>/dev/null || true
  kill -KILL "$dog" 2>/dev/null || true
  wait "$dog" 2>/dev/null || true
}

# Stops everything that runs, in order (the proxy, every node at once, then
# Redis, which the nodes use until they are gone), and exits.
stop_all() {
  local pid
  trap '' INT TERM
  term haproxy
  reap haproxy 10
  # Every node drains at once (qrlogind: stops accepting, sends its waiting
  # pages elsewhere, gives logins in flight --drain-secs and the last work
  # 3 s, closes its sockets, exits 0).
  for pid in "${pids[@]}"; do
    [[ ${name_of[$pid]} == node* ]] && term "${name_of[$pid]}"
  done
  for pid in "${pids[@]}"; do
    [[ ${name_of[$pid]} == node* ]] && reap "${name_of[$pid]}" "$stop_secs"
  done
  term pg
  reap pg 30
  term redis
  reap redis 10
  rm -f "$never" "$dir/.events"
  if ((made_dir)); then
    rm -rf "$dir"
  else
    say "kept $dir (database, configs, logs)"
  fi
  say "all stopped"
  exit $((failed ? 1 : 0))
}
trap 'say "stopping (signal)"; stop_all' INT TERM HUP

# ---- Redis --------------------------------------------------------------------
# Unix socket only, no persistence (the demo's challenges are short-lived),
# noeviction: an evicted key would drop a live login or open a throttle.
redis_sock=$dir/redis.sock
start redis '[Rr]eady to accept connections' \
  "$redis_server" --port 0 --unixsocket "$redis_sock" --unixsocketperm 700 \
  --save '' --appendonly no --maxmemory-policy noeviction --dir "$dir" --logfile ''
redis_pid=$last_pid
say "redis unix:$redis_sock pid $redis_pid log $dir/redis.log"

# ---- PostgreSQL ---------------------------------------------------------------
# A cluster of the recipe's own: unix socket in D/pg (mode 700, so trust
# authentication lets in only its owner, and root), no TCP. Kept in D like
# the rest: a second run on the same --dir starts it again.
if ((pg)); then
  mkdir -p "$dir/pg"
  ((EUID == 0)) && chown postgres "$dir/pg"
  chmod 700 "$dir/pg"
  if [ ! -s "$dir/pg/data/PG_VERSION" ]; then
    "${pg_as[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -U qrlogin --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { tail -n 15 "$dir/initdb.log" >&2; fail "initdb failed: the end of $dir/initdb.log is above"; }
  fi
  start pg 'database system is ready to accept connections' \
    "${pg_as[@]}" "$pg_bin/postgres" -D "$dir/pg/data" -k "$dir/pg" -c listen_addresses=''
  say "postgresql $db pid $last_pid log $dir/pg.log"
fi

# ---- the nodes ----------------------------------------------------------------
# What every node shares goes in one config file, as in production; only the
# port and the node's name differ, on its command line.
conf=$dir/qrlogind.conf
# The key the SMS one-time codes are kept under: one for every node, so a
# code one node sent is checked by any (kept if the directory is reused).
otp_key=$dir/otp.key
if [[ ! -s $otp_key ]]; then
  (umask 077 && head -c 32 /dev/urandom >"$otp_key")
fi
cat >"$conf" <<EOF
# Written by examples/multinode/run.sh: what every node shares.
# The database every node shares: a SQLite file (one machine), or a
# PostgreSQL URL (--postgresql, or --db postgresql://...).
db = $db
redis = unix:$redis_sock
otp-key-file = $otp_key
# The public address is the proxy's: the page's Origin and the OpenID issuer
# are the same on every node.
origin = $public
origin = http://localhost:$port
issuer = $public
bind = 127.0.0.1
# Every client comes through the proxy, with its address: cap at the proxy;
# the client's own address is the one the proxy appends to X-Forwarded-For.
max-conns-per-ip = 0
trusted-proxy = 127.0.0.1
ws-ping-secs = 30
sms-outbox = $dir/sms-outbox.log
# Demo citizens, the QR text on the page, the simulated mobile network.
demo = true
EOF
chmod 600 "$conf"

node_urls=()
for ((k = 1; k <= nodes; k++)); do
  p=0
  ((node_port == 0)) || p=$((node_port + k - 1))
  # One after another: the first creates and migrates the database and seeds
  # the demo; the others find it done.
  start "node$k" 'qrlogind: listening on http://[0-9.]+:([0-9]+)/' \
    "$qrlogind" --config "$conf" --port "$p" --node-id "node$k" "${extra[@]}"
  [[ $ready_line =~ :([0-9]+)/ ]] && np=${BASH_REMATCH[1]}
  node_urls+=("127.0.0.1:$np")
  say "node$k http://127.0.0.1:$np/ pid $last_pid log $dir/node$k.log"
done

# ---- haproxy ------------------------------------------------------------------
hcfg=$dir/haproxy.cfg
{
  cat <<EOF
# Written by examples/multinode/run.sh (docs/multinode.md explains each line).
global
    log stderr format raw local0 info
    # no user/group/chroot/daemon: runs as the current user, in the foreground
    # The runtime API, e.g. to drain a node before restarting it:
    #   echo "set server qrlogind/node1 state drain" | socat stdio unix:$dir/haproxy.sock
    stats socket $dir/haproxy.sock mode 600 level admin

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 5s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout client 60s
    timeout server 60s
    timeout queue 5s
    # A websocket, once upgraded: the login page waits minutes for a phone.
    # qrlogind pings every ws-ping-secs (30 s), so a live socket is never
    # silent this long; a dead one is hung up by qrlogind after 2x that.
    timeout tunnel 1h
    timeout client-fin 10s
    timeout server-fin 10s
    # A node that refuses (stopped, dead) before the health check saw it:
    # the request is tried on another one.
    retries 2
    option redispatch 1

frontend public
    bind 127.0.0.1:$port
    # /metrics and /readyz answer addresses in --metrics-allow, 127.0.0.1 by
    # default, and every request through the proxy comes from 127.0.0.1:
    # never pass them on (scrape each node's own port instead).
    # (Matched anywhere in the decoded path: no page has these words.)
    http-request deny deny_status 404 if { path,url_dec -i -m sub metrics readyz }
    # The client's address, appended: the nodes trust it from 127.0.0.1
    # (--trusted-proxy; docs/multinode.md, the client's address).
    option forwardfor
    default_backend qrlogind

backend qrlogind
    # Round-robin, no cookie, no stick table: any node serves any request.
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
    default-server check inter 2s fastinter 500ms downinter 1s rise 2 fall 2
EOF
  for ((k = 1; k <= nodes; k++)); do
    printf '    server node%d %s\n' "$k" "${node_urls[k - 1]}"
  done
} >"$hcfg"
"$haproxy" -c -q -f "$hcfg" || fail "haproxy refused $hcfg (above)"

# One haproxy process in the foreground (-db; no master-worker mode, whose
# master re-executes itself after "Loading success." and dies of a SIGTERM
# that comes in that moment). SIGTERM is its hard stop: it dies of it (143).
start haproxy "" "$haproxy" -db -f "$hcfg"
haproxy_pid=$last_pid

# haproxy says nothing once it listens: ask it. A GET /healthz through it
# (bash's /dev/tcp), again every 50 ms while the port refuses, until a node
# answers 200 through the proxy.
probe() {
  local s line=""
  exec {s}<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&"$s"
  IFS= read -r -t 10 -u "$s" line || true
  exec {s}<&-
  [[ $line == "HTTP/1."?" 200 "* ]]
}
deadline=$((SECONDS + start_secs))
until probe 2>/dev/null; do
  if ! kill -0 "$haproxy_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    tail -n 15 "$dir/haproxy.log" >&2
    fail "haproxy did not answer on port $port (within $start_secs s): the end of $dir/haproxy.log is above"
  fi
  read -r -t 0.05 <>"$never" || true
done
say "haproxy $public/ pid $haproxy_pid log $dir/haproxy.log"

say "ready $public/"
cat <<EOF

  Browser: open $public/ and pick "Tài khoản Định danh điện tử cấp bởi Bộ Công an";
           "Tải ảnh mã QR (PNG)" or the QR's text is under "Chế độ thử nghiệm (demo)".
  Phone:   export VNEID_SIM_HOME=$dir/an-phone
           $sim --server ws://127.0.0.1:$port/ login --id 001099012345 --password 'MatKhau@2024'
           $sim --server ws://127.0.0.1:$port/ settings web-login on --passcode 123456
           $sim --server ws://127.0.0.1:$port/ scan 'QRL2....' --yes
  The page and the phone may land on different nodes: Redis carries the login
  across, and the SMS code one node sent is checked by any (--otp-key-file).
  Each node directly (metrics: curl -H 'Host: 127.0.0.1' URL/metrics): ${node_urls[*]}
  Drain a node (rolling restart, docs/multinode.md; apt-get install socat):
           echo "set server qrlogind/node1 state drain" | socat stdio unix:$dir/haproxy.sock
  Logs: $dir/*.log    Stop: Ctrl-C
EOF

# ---- wait ---------------------------------------------------------------------
# Until a signal (the trap stops everything), or a child exits on its own:
# its drainer names it on the events FIFO once its output ends.
while :; do
  name=""
  read -r -u "$events" name || continue
  done_pid=${pid_of[$name]:-}
  [ -n "$done_pid" ] && [ -z "${status_of[$done_pid]:-}" ] || continue
  st=0
  wait "$done_pid" || st=$?
  status_of[$done_pid]=$st
  # A node that exits 0 by itself was stopped on purpose (SIGTERM: it
  # drained, say for a rolling restart); anything else is a failure.
  ((st == 0)) || failed=1
  say "$name exited with status $st (its log: $dir/$name.log)"
  case $name in
    redis|pg|haproxy) failed=1; say "cannot go on without $name"; stop_all ;;
  esac
  alive=0
  for pid in "${pids[@]}"; do
    [[ ${name_of[$pid]} == node* && -z ${status_of[$pid]:-} ]] && alive=$((alive + 1))
  done
  ((alive)) || { say "no node left"; stop_all; }
  say "$alive node(s) left: the proxy sends their clients on"
done
