#!/bin/sh
# The template PostgreSQL cluster of one ctest run (tests/CMakeLists.txt: the
# fixture of the integration-pg.* tests and test_postgresql). initdb once
# here; the harness copies DIR/data for each server instead of running
# initdb again (harness_db.c), which under ctest -j16 on two cores cost
# tens of seconds a server.
#
#   sh tests/pg_template.sh PG_BINDIR DIR
set -eu
bindir=$1
dir=$2
rm -rf "$dir"
mkdir -p "$dir"
run=
if [ "$(id -u)" = 0 ]; then
  # initdb refuses root; the harness copies the template as postgres too.
  chown postgres:postgres "$dir"
  run="runuser -u postgres --"
fi
if ! $run "$bindir/initdb" -D "$dir/data" -U qrl --auth=trust -E UTF8 \
    --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2
  exit 1
fi
echo "pg_template: $dir/data"
