#!/usr/bin/env bash
# make check: the fast tier a contributor runs before each commit. It catches
# the common mistakes in minutes; "make test" (everything, on every driver)
# stays the full tier that CI runs.
#
#   1. gofmt and go vet of every module of go.work;
#   2. with -race -short -failfast: core's unit tests, the conformance suite on
#      pgx v5 (extended protocol; default and batch modes), the lying-adapter
#      self-test, and the CLI's and dashboard's tests that need no browser.
#
# PostgreSQL: GUE_TEST_DATABASE_URL when set, else the one scripts/check-db.sh
# keeps running between runs (started from the machine's own binaries; no
# Docker). GUE_CHECK_TIMEOUT is go test's -timeout (default 4m): short enough
# that a hang prints its goroutine dump within minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
timeout="${GUE_CHECK_TIMEOUT:-4m}"
phases=()
phase() { # phase NAME SINCE
  phases+=("$(printf '%-34s %4ss' "$1" $(($(date +%s) - $2)))")
}
summary() {
  local rc=$?
  echo "---- make check"
  [ "${#phases[@]}" -gt 0 ] && printf '  %s\n' "${phases[@]}"
  if [ "$rc" = 0 ]; then
    echo "check ok in $(($(date +%s) - start))s"
  else
    echo "check FAILED (exit $rc) after $(($(date +%s) - start))s"
  fi
}
trap summary EXIT

mapfile -t modules < <(go list -m -f '{{.Dir}}')

t=$(date +%s)
out=$(gofmt -l "${modules[@]}")
if [ -n "$out" ]; then
  echo "gofmt needed:"
  echo "$out"
  exit 1
fi
phase gofmt "$t"

t=$(date +%s)
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done
phase "go vet (${#modules[@]} modules)" "$t"

t=$(date +%s)
if [ -z "${GUE_TEST_DATABASE_URL:-}" ]; then
  GUE_TEST_DATABASE_URL=$(scripts/check-db.sh start)
  export GUE_TEST_DATABASE_URL
fi
phase "PostgreSQL" "$t"

# go test in workspace mode takes packages of several modules in one run, and
# builds and runs them two at a time on two cores. -run and -skip apply to
# every package given, hence two runs: the conformance suite on pgx v5 (its
# other tests, simple protocol included, are make test's), and the rest (the
# dashboard's one browser test is make test's).
gotest() {
  go test -race -short -failfast -count=1 -timeout "$timeout" "$@"
}
t=$(date +%s)
gotest -run '^TestConformance$' ./conformance/drivertest/pgxv5
phase "conformance on pgx v5 (-short)" "$t"

t=$(date +%s)
gotest -skip '^TestInABrowser$' ./core/... ./conformance/drivertest/lying ./cmd/gue/... ./ui/...
phase "core, lying adapter, CLI, dashboard" "$t"
