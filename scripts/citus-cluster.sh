#!/usr/bin/env bash
# citus-cluster.sh start|stop: a local Citus cluster for the tests — a
# coordinator and two workers, PostgreSQL 15 instances on loopback ports,
# from the machine's PostgreSQL 15 binaries with Citus 13.2.2 installed from
# ../shared/citus (install.sh). `start` prints the exports the tests read:
#   GUE_TEST_DATABASE_URL   the coordinator (the server the suite creates databases on)
#   GUE_TEST_CITUS_WORKERS  the workers, comma-separated (each test database is created there too)
# State lives in $GUE_CITUS_DIR (default /dev/shm/gue-citus, in memory, where
# /dev/shm is writable; else /tmp/gue-citus); `stop` removes it. Every test
# creates tables and their shards, hundreds of files, and drops them: on
# ext4, finding a free inode among those just deleted costs more CPU than
# the statements themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mem=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && mem=/dev/shm
dir=${GUE_CITUS_DIR:-$mem/gue-citus}
bindir=/usr/lib/postgresql/15/bin
shared=${GUE_SHARED_DIR:-$here/../../shared}
log() { printf '[citus] %s\n' "$*" >&2; }

run=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  run=(runuser -u postgres --)
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

stop() {
  for n in coordinator worker1 worker2; do
    [ -d "$dir/$n" ] && "${run[@]}" "$bindir/pg_ctl" -D "$dir/$n" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() {
  if [ ! -f /usr/lib/postgresql/15/lib/citus.so ]; then
    if [ ! -x "$shared/citus/install.sh" ] && [ ! -f "$shared/citus/install.sh" ]; then
      log "no $shared/citus: cannot install Citus"; exit 3
    fi
    [ -x "$bindir/initdb" ] || "$here/apt-install.sh" postgresql-15
    log "installing Citus from $shared/citus"
    as_root bash "$shared/citus/install.sh" >&2
  fi
  stop
  mkdir -p "$dir"
  [ "${#run[@]}" -gt 0 ] && chown postgres "$dir"
  ports=()
  for n in coordinator worker1 worker2; do
    p=$(free_port)
    ports+=("$p")
    "${run[@]}" "$bindir/initdb" -D "$dir/$n" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
    "${run[@]}" "$bindir/pg_ctl" -D "$dir/$n" -l "$dir/$n.log" -w -o "-c listen_addresses=127.0.0.1 -c port=$p \
      -c unix_socket_directories=$dir -c shared_preload_libraries=citus -c fsync=off -c max_connections=400 \
      -c citus.max_client_connections=380 -c max_prepared_transactions=200 \
      -c max_worker_processes=128 -c citus.shard_count=4" start >/dev/null
    "${run[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$p" -U postgres -d postgres -c "CREATE EXTENSION citus" >/dev/null
  done
  c=${ports[0]}
  "${run[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$c" -U postgres -d postgres \
    -c "SELECT citus_set_coordinator_host('127.0.0.1', $c)" \
    -c "SELECT citus_add_node('127.0.0.1', ${ports[1]})" -c "SELECT citus_add_node('127.0.0.1', ${ports[2]})" >/dev/null
  log "coordinator on 127.0.0.1:$c, workers on ${ports[1]} and ${ports[2]} ($dir)"
  cat <<EOT
export GUE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$c/postgres?sslmode=disable
export GUE_TEST_CITUS_WORKERS=postgres://postgres@127.0.0.1:${ports[1]}/postgres?sslmode=disable,postgres://postgres@127.0.0.1:${ports[2]}/postgres?sslmode=disable
EOT
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
