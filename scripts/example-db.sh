#!/usr/bin/env bash
# Sourced by gotest.sh: exports DATABASE_URL for the driver modules' runnable
# examples (go doc shows them; go test runs them against a real server).
# GUE_TEST_DATABASE_URL is used when set; otherwise one container of
# GUE_TEST_POSTGRES_IMAGE is started for the run and removed when the shell
# that sourced this file exits.
if [ -n "${GUE_TEST_DATABASE_URL:-}" ]; then
  export DATABASE_URL="$GUE_TEST_DATABASE_URL"
  return 0 2>/dev/null || exit 0
fi
_gue_example_cid=$(docker run -d --rm -e POSTGRES_USER=gue -e POSTGRES_PASSWORD=gue -e POSTGRES_DB=gue \
  -p 127.0.0.1::5432 "$GUE_TEST_POSTGRES_IMAGE" postgres -c fsync=off) || {
  echo "example-db: could not start $GUE_TEST_POSTGRES_IMAGE" >&2
  return 1 2>/dev/null || exit 1
}
trap 'docker rm -f "$_gue_example_cid" >/dev/null 2>&1' EXIT
_gue_example_port=$(docker port "$_gue_example_cid" 5432/tcp | head -1 | sed 's/.*://')
# The entrypoint's first-run server listens on no TCP address, so a TCP
# answer means the real server is up.
for _ in $(seq 1 120); do
  docker exec "$_gue_example_cid" sh -c 'ls /usr/lib/postgresql/*/bin/pg_isready >/dev/null && /usr/lib/postgresql/*/bin/pg_isready -q -h 127.0.0.1 -U gue' && break
  sleep 0.5
done
docker exec "$_gue_example_cid" sh -c '/usr/lib/postgresql/*/bin/pg_isready -q -h 127.0.0.1 -U gue' || {
  echo "example-db: PostgreSQL did not become ready in 60s:" >&2
  docker logs "$_gue_example_cid" 2>&1 | tail -20 >&2
  return 1 2>/dev/null || exit 1
}
export DATABASE_URL="postgres://gue:gue@127.0.0.1:$_gue_example_port/gue?sslmode=disable"
echo "example-db: PostgreSQL for examples at 127.0.0.1:$_gue_example_port (container ${_gue_example_cid:0:12})"
