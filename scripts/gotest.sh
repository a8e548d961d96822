#!/usr/bin/env bash
# Runs "go test -race" in each module directory given (on the PostgreSQL that
# GUE_TEST_DATABASE_URL or GUE_TEST_POSTGRES_IMAGE names, else see below), prints the test results
# without the noise of -v, and ends with one line "N passed, N failed, N skipped".
#
# It exits non-zero when any module's "go test" does: a failing test, a
# package that does not compile, a panic, a -timeout hit, a test binary killed
# by a signal. scripts/gotest-selfcheck.sh (run by "make lint") proves it.
# GUE_GOTEST_TIMEOUT overrides go test's -timeout (default 20m).
# GUE_GOTEST_PARALLEL overrides go test's -parallel (default 4, not the
# number of CPUs): many conformance cases spend seconds waiting (for a
# poll, a lock hint's spacing, a timeout), and at 2 slots a package left
# the machine a third idle. The drivertest module, nothing else running,
# 2 cores: 403 s at -parallel 4 against 494 s at 2 (2026-12-07).
set -uo pipefail
# With no PostgreSQL chosen, prepare Docker and the locally built image, so the
# command works on a fresh machine without a container registry.
if [ -z "${GUE_TEST_DATABASE_URL:-}" ] && [ -z "${GUE_TEST_POSTGRES_IMAGE:-}" ]; then
  # shellcheck source=test-env.sh
  . "$(dirname "$0")/test-env.sh" || exit 1
fi
set +e
here=$(cd "$(dirname "$0")" && pwd)
# Runnable examples of the driver modules read DATABASE_URL: give them one
# server for the whole run (see scripts/example-db.sh).
if [ -z "${DATABASE_URL:-}" ]; then
  # shellcheck source=example-db.sh
  . "$here/example-db.sh" || exit 1
fi
log=$(mktemp /tmp/gue-gotest.XXXXXX)
rcfile=$(mktemp /tmp/gue-gotest-rc.XXXXXX)
status=0
extra_failed=0
failed_modules=()
durations=() # "seconds module", for the closing table
run_start=$(date +%s)
for dir in "$@"; do
  module=$(awk '/^module/ {print $2}' "$dir/go.mod")
  echo "== $module"
  mod_start=$(date +%s)
  modlog=$(mktemp /tmp/gue-gotest-mod.XXXXXX)
  # The exit status of go test travels through a file: a pipeline's status is
  # tee's or grep's, and grep "fails" whenever it filters everything out.
  (cd "$dir" && go test -race -count=1 -v -timeout "${GUE_GOTEST_TIMEOUT:-20m}" -parallel "${GUE_GOTEST_PARALLEL:-4}" ./... 2>&1; echo $? >"$rcfile") \
    | tee "$modlog" \
    | grep -E '^\s*--- (FAIL|SKIP)|^(ok|FAIL|PASS|panic:)|^conformance:|^\s+\S+\.go:[0-9]+:|\[no test files\]|\[build failed\]|^#'
  rc=$(cat "$rcfile" 2>/dev/null)
  # Belt and braces: a FAIL line or a panic in the output fails the module
  # even if the exit status was somehow lost.
  if [ "${rc:-1}" != 0 ] || grep -qE '^\s*--- FAIL|^FAIL|^panic:' "$modlog"; then
    status=1
    failed_modules+=("$module (go test exit ${rc:-unknown})")
    # A build failure, panic or timeout may leave no "--- FAIL" line: count
    # the module itself so the closing line never says 0 failed.
    grep -qE '^\s*--- FAIL' "$modlog" || extra_failed=$((extra_failed + 1))
  fi
  cat "$modlog" >>"$log"
  rm -f "$modlog"
  durations+=("$(($(date +%s) - mod_start)) $module")
done
rm -f "$rcfile"
passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(( $(grep -cE '^\s*--- FAIL' "$log") + extra_failed ))
skipped=$(grep -cE '^\s*--- SKIP' "$log")
# Where the time went: each module's wall time (build included), and the
# packages' own test times as go test reports them, slowest first.
echo "---- time by module ($(($(date +%s) - run_start))s in all)"
printf '%s\n' "${durations[@]}" | sort -rn | awk '{printf "  %5ss  %s\n", $1, $2}'
echo "---- slowest packages (go test's own time)"
grep -E '^(ok|FAIL)\s+\S+\s+[0-9.]+s' "$log" | awk '{t=$3; sub(/s$/, "", t); printf "%8.1fs  %s\n", t, $2}' | sort -rn | head -15
echo "full output: $log"
if [ "$status" != 0 ]; then
  echo "FAILED modules:"
  printf '  %s\n' "${failed_modules[@]}"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
