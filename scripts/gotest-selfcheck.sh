#!/usr/bin/env bash
# Proves that gotest.sh (the test command of make test and CI) exits non-zero
# for every way a Go test run can fail, and 0 for a passing one. Each case is a
# throwaway module in a temporary directory; no database is used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/gue-selfcheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# case NAME WANT BODY: a module whose only test file is BODY; WANT is pass or fail.
bad=0
check() {
  local name=$1 want=$2 body=$3 dir="$tmp/$1"
  mkdir -p "$dir"
  printf 'module selfcheck/%s\n\ngo 1.23\n' "$name" >"$dir/go.mod"
  printf 'package selfcheck\n\nimport (\n\t"os"\n\t"syscall"\n\t"testing"\n\t"time"\n)\n\nvar _, _, _ = os.Getpid, syscall.Kill, time.Sleep\n\n%s\n' "$body" >"$dir/x_test.go"
  local rc=0
  GOWORK=off GUE_TEST_DATABASE_URL=selfcheck GUE_GOTEST_TIMEOUT=20s \
    bash "$here/gotest.sh" "$dir" >"$dir/out" 2>&1 || rc=$?
  if { [ "$want" = pass ] && [ "$rc" != 0 ]; } || { [ "$want" = fail ] && [ "$rc" = 0 ]; }; then
    echo "gotest self-check: case $name: exit $rc, want $want"; cat "$dir/out"; bad=1
  else
    echo "gotest self-check: $name -> exit $rc ($want) ok"
  fi
}

check passing pass 'func TestOK(t *testing.T) {}'
check failing fail 'func TestFail(t *testing.T) { t.Fatal("deliberate") }'
check build-error fail 'func TestBuild(t *testing.T) { undefined() }'
check panic fail 'func TestPanic(t *testing.T) { panic("deliberate") }'
check goroutine-panic fail 'func TestGoPanic(t *testing.T) { done := make(chan int); go func() { panic("deliberate") }(); <-done }'
check timeout fail 'func TestTimeout(t *testing.T) { time.Sleep(time.Minute) }'
check killed fail 'func TestKilled(t *testing.T) { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); time.Sleep(time.Minute) }'
check os-exit-0 fail 'func TestExit(t *testing.T) { os.Exit(0) }'
[ "$bad" = 0 ] && echo "gotest self-check ok"
exit "$bad"
