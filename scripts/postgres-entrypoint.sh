#!/bin/sh
# Entrypoint of the locally built PostgreSQL image. It honours the variables of
# the official image that testcontainers sets (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, PGDATA) and, like it, runs a temporary server during the first
# initialisation, so "ready to accept connections" is logged twice. A restarted
# container keeps its data directory and skips the initialisation.
set -eu
PGBIN=/usr/lib/postgresql/@PG_MAJOR@/bin
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export PGDATA

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi
shift

mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    -E UTF8 --no-locale --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses=''" start
  if [ "$POSTGRES_DB" != postgres ]; then
    runuser -u postgres -- "$PGBIN/psql" -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop
fi

# setpriv execs (runuser would fork), so postgres is PID 1 and receives the
# container's signals itself: "docker kill -s INT" is a fast shutdown.
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  "$PGBIN/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
