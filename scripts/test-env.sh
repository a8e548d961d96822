#!/usr/bin/env bash
# Prepares a machine with no container registry for the test suite:
#   1. installs Debian's docker.io (and debootstrap) when missing,
#   2. starts dockerd when no daemon answers,
#   3. builds a local PostgreSQL image from Debian packages when it is absent,
#   4. installs Debian's chromium for the dashboard's browser tests,
#   5. installs Debian's pgbouncer, which the conformance suite runs through
#      in transaction pooling mode (GUE_TEST_PGBOUNCER names it).
# Source it (". scripts/test-env.sh") to get the exported variables, or run it
# and copy the printed exports. Safe to run repeatedly: every step is skipped
# when its result is already there. Sourced, it leaves the caller's shell
# options as they were: it runs with -euo pipefail itself, and a caller's
# shell that kept them would end at its next failing command (a test run
# with a failure, and whatever was to run after it).
case $- in *e*) _gue_e=-e ;; *) _gue_e=+e ;; esac
case $- in *u*) _gue_u=-u ;; *) _gue_u=+u ;; esac
if shopt -qo pipefail; then _gue_pf=-o; else _gue_pf=+o; fi
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
SUITE="${SUITE:-bookworm}"
# The tag names the build inputs, so a changed entrypoint builds a new image
# instead of reusing a stale one left on the machine.
_gue_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_gue_tag=$( (cat "$_gue_here/postgres-entrypoint.sh"; echo "$PG_MAJOR $SUITE") | sha256sum | cut -c1-10)
GUE_TEST_POSTGRES_IMAGE="${GUE_TEST_POSTGRES_IMAGE:-gue-go/postgres:$PG_MAJOR-$_gue_tag}"

log() { printf '[test-env] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_pkg() { # ensure_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (apt)"
  "$_gue_here/apt-install.sh" "$2"
}

# The docker client may exist without an engine, so look for dockerd itself.
if ! [ -x /usr/sbin/dockerd ] && ! command -v dockerd >/dev/null 2>&1; then ensure_pkg dockerd docker.io; fi
ensure_pkg debootstrap debootstrap
# The dashboard (ui/) is tested in a real browser, driven by chromedp.
ensure_pkg chromium chromium
# The conformance suite runs through a real PgBouncer in transaction mode.
if ! [ -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then ensure_pkg pgbouncer pgbouncer; fi
GUE_TEST_PGBOUNCER="${GUE_TEST_PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}"

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  dockerd_bin=$(command -v dockerd || echo /usr/sbin/dockerd)
  # The redirection covers the whole background job, not only the command:
  # the subshell that runs a function would otherwise keep the caller's
  # stdout open, and a caller reading it ($(...), a pipe) would wait for ever.
  { as_root nohup "$dockerd_bin"; } </dev/null >/tmp/gue-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/gue-dockerd.log"; tail -20 /tmp/gue-dockerd.log >&2; exit 1; }
fi

# The first URI of the machine's own Debian apt sources is the mirror to bootstrap from.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

if ! docker image inspect "$GUE_TEST_POSTGRES_IMAGE" >/dev/null 2>&1; then
  mirror=$(debian_mirror)
  root=$(mktemp -d /tmp/gue-pgroot.XXXXXX)
  trap 'as_root rm -rf "$root"' EXIT
  log "building $GUE_TEST_POSTGRES_IMAGE from $mirror ($SUITE, postgresql-$PG_MAJOR) in $root"
  as_root debootstrap --variant=minbase --include="postgresql-$PG_MAJOR" "$SUITE" "$root" "$mirror" >/tmp/gue-debootstrap.log 2>&1 \
    || { tail -30 /tmp/gue-debootstrap.log >&2; exit 1; }
  as_root install -m 0755 "$_gue_here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  as_root sed -i "s/@PG_MAJOR@/$PG_MAJOR/" "$root/usr/local/bin/docker-entrypoint.sh"
  # Package caches and docs only make the image bigger.
  as_root rm -rf "$root/var/cache/apt/archives"/*.deb "$root/usr/share/doc" "$root/usr/share/man" "$root/var/lib/apt/lists"/*
  as_root tar -C "$root" -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    -c 'EXPOSE 5432' \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    - "$GUE_TEST_POSTGRES_IMAGE" >/dev/null
  as_root rm -rf "$root"
  log "built $GUE_TEST_POSTGRES_IMAGE"
fi

export GUE_TEST_POSTGRES_IMAGE GUE_TEST_PGBOUNCER
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
export TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "export GUE_TEST_POSTGRES_IMAGE=$GUE_TEST_POSTGRES_IMAGE"
  echo "export GUE_TEST_PGBOUNCER=$GUE_TEST_PGBOUNCER"
  echo "export TESTCONTAINERS_HOST_OVERRIDE=$TESTCONTAINERS_HOST_OVERRIDE"
  echo "export TESTCONTAINERS_RYUK_DISABLED=$TESTCONTAINERS_RYUK_DISABLED"
else
  set "$_gue_e" "$_gue_u" "$_gue_pf" pipefail
fi
unset _gue_e _gue_u _gue_pf
