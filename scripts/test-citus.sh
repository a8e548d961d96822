#!/usr/bin/env bash
# test-citus.sh: the conformance suite (pgx v5 and lib/pq) and the
# multi-process exactly-once and SIGKILL scenarios on a local Citus cluster
# (scripts/citus-cluster.sh: a coordinator and two workers on loopback),
# with gue's tables distributed. Needs the prebuilt Citus in ../shared/citus;
# without it, it says so in one line and succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${GUE_SHARED_DIR:-$(cd .. && pwd)/shared}
if [ ! -f "$shared/citus/install.sh" ]; then
  echo "test-citus: skipped: no prebuilt Citus at $shared/citus"
  exit 0
fi
export GUE_SHARED_DIR=$shared
start=$(date +%s)
env_file=$(mktemp)
trap 'scripts/citus-cluster.sh stop; rm -f "$env_file"' EXIT
scripts/citus-cluster.sh start >"$env_file"
# shellcheck disable=SC1090
. "$env_file"
export GUE_TEST_DATABASE_URL GUE_TEST_CITUS_WORKERS
status=0
(cd conformance/drivertest && go test -race -count=1 -timeout 20m -run '^TestConformance(LibPQ)?$' ./pgxv5 ./libpq) || status=1
(cd reliability && go test -race -count=1 -timeout 20m -v -run 'TestExactlyOnceWithoutCrashes|TestSIGKILLLosesNothing|TestPeriodicOnePerTickAcrossProcesses' .) || status=1
echo "test-citus finished in $(( $(date +%s) - start ))s: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
