#!/usr/bin/env bash
# Runs the quickstart example. PostgreSQL comes from DATABASE_URL when it is
# set; otherwise a disposable server is started from the machine's PostgreSQL
# binaries (installed from Debian's postgresql-15 when missing) in a temporary
# directory, and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "[quickstart] installing postgresql-15 from Debian" >&2
    scripts/apt-install.sh postgresql-15
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  dir=$(mktemp -d /tmp/gue-quickstart.XXXXXX)
  # PostgreSQL refuses to run as root: run it as the postgres system user then.
  run=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
    chown postgres "$dir"
    run=(runuser -u postgres --)
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
  cleanup() {
    "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap cleanup EXIT
  "${run[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "[quickstart] disposable PostgreSQL on 127.0.0.1:$port" >&2
fi

cd examples
go run "./${EXAMPLE:-quickstart}" "$@"
