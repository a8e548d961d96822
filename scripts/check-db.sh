#!/usr/bin/env bash
# One PostgreSQL for "make check", started from the machine's own binaries
# (Debian's postgresql-15, installed when missing) and kept running between
# runs, so that the second run pays no start-up and no Docker is needed.
#
#   scripts/check-db.sh start   start it when it is not running; print its URL
#   scripts/check-db.sh url     print its URL (exit 1 when it is not running)
#   scripts/check-db.sh stop    stop it and remove its data
#
# Its data lives in GUE_CHECK_DB_DIR (default /dev/shm/gue-check-db, in
# memory, where /dev/shm is writable; else /tmp/gue-check-db): throw-away,
# with fsync off. Every conformance case creates and drops a database of
# some 300 files: on ext4, finding a free inode among those just deleted
# cost more CPU than the cases' statements. The settings are the tests' own (conformance/postgres.go;
# no others: the suite checks synchronous_commit, for one):
# max_connections=300 for the process-level tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mem=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && mem=/dev/shm
dir="${GUE_CHECK_DB_DIR:-$mem/gue-check-db}"
port_file="$dir/port"

log() { printf '[check-db] %s\n' "$*" >&2; }

# PostgreSQL refuses to run as root: run it as the postgres system user then.
run=()
if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi

bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true
}

url() {
  echo "postgres://postgres@127.0.0.1:$(cat "$port_file")/postgres?sslmode=disable"
}

running() {
  local b
  b=$(bindir)
  [ -n "$b" ] && [ -f "$port_file" ] && [ -f "$dir/data/postmaster.pid" ] &&
    "$b/pg_isready" -q -h 127.0.0.1 -p "$(cat "$port_file")" -U postgres
}

# binaries names the installed server build: an upgrade of the package (Citus's
# install.sh brings postgresql-15 up to date, for one) replaces the libraries
# under a running server, which then fails to load plpgsql.
binaries() {
  local b
  b=$(bindir)
  [ -n "$b" ] && stat -c '%Y %s' "$b/postgres" "$(dirname "$b")/lib/plpgsql.so" 2>/dev/null | tr '\n' ' '
}

start() {
  if running; then
    if [ "$(cat "$dir/binaries" 2>/dev/null)" = "$(binaries)" ]; then url; return 0; fi
    log "the PostgreSQL binaries changed since the server started: restarting it"
    "${run[@]}" "$(bindir)/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
  fi
  local b
  b=$(bindir)
  if [ -z "$b" ] || [ ! -x "$b/initdb" ]; then
    log "installing postgresql-15 from Debian"
    "$here/apt-install.sh" postgresql-15
    b=$(bindir)
  fi
  if [ "${#run[@]}" -gt 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$dir" postgres
  fi
  mkdir -p "$dir"
  [ "${#run[@]}" -gt 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"
    "${run[@]}" "$b/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  # A stale pid file of a server that died (a machine restart) is PostgreSQL's
  # own business: pg_ctl start handles it. A port stays the server's for its
  # life, so a URL printed once keeps working.
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55433)
  echo "$port" >"$port_file"
  "${run[@]}" "$b/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=300" \
    start >/dev/null || { log "PostgreSQL did not start:"; tail -20 "$dir/server.log" >&2; exit 1; }
  binaries >"$dir/binaries"
  log "PostgreSQL on 127.0.0.1:$port (data in $dir; scripts/check-db.sh stop ends it)"
  url
}

stop() {
  local b
  b=$(bindir)
  if [ -n "$b" ] && [ -f "$dir/data/postmaster.pid" ]; then
    "${run[@]}" "$b/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  log "stopped; $dir removed"
}

case "${1:-start}" in
start) start ;;
url) running && url ;;
stop) stop ;;
*) echo "usage: $0 start|url|stop" >&2; exit 2 ;;
esac
