#!/usr/bin/env bash
# Runs "go test -race" in each module directory given (on the PostgreSQL that
# GUE_TEST_DATABASE_URL or GUE_TEST_POSTGRES_IMAGE names, else see below), prints the test results
# without the noise of -v, and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
# With no PostgreSQL chosen, prepare Docker and the locally built image, so the
# command works on a fresh machine without a container registry.
if [ -z "${GUE_TEST_DATABASE_URL:-}" ] && [ -z "${GUE_TEST_POSTGRES_IMAGE:-}" ]; then
  # shellcheck source=test-env.sh
  . "$(dirname "$0")/test-env.sh" || exit 1
  set +e
fi
log=$(mktemp /tmp/gue-gotest.XXXXXX)
status=0
for dir in "$@"; do
  echo "== $(awk '/^module/ {print $2}' "$dir/go.mod")"
  (cd "$dir" && go test -race -count=1 -v -timeout 20m ./... 2>&1) | tee -a "$log" \
    | grep -E '^\s*--- (FAIL|SKIP)|^(ok|FAIL|PASS|panic:)|^conformance:|^\s+\S+_test\.go:[0-9]+:|\[no test files\]' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
passed=$(grep -cE '^\s*--- PASS' "$log")
failed=$(grep -cE '^\s*--- FAIL' "$log")
skipped=$(grep -cE '^\s*--- SKIP' "$log")
echo "full output: $log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $status
