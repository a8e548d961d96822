#!/usr/bin/env bash
# For every driver: a scratch user module that requires core and that one
# driver (replace lines to this checkout, as the README's recipe says) must
# tidy and build standalone (GOWORK=off), and its go.sum must not name
# testcontainers or Docker: test-only dependencies stay out of users' builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/gue-drivercheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bad=0
for drv in pgxv5 pgxv4 pgxv3 libpq; do
  dir="$tmp/$drv"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module example.com/user-$drv

go 1.23.0

require (
	github.com/gue-go/gue/core v0.0.0
	github.com/gue-go/gue/driver-$drv v0.0.0
)

replace (
	github.com/gue-go/gue/core => $root/core
	github.com/gue-go/gue/driver-$drv => $root/driver-$drv
)
MOD
  cat >"$dir/main.go" <<SRC
package main

import (
	gue "github.com/gue-go/gue/core"
	_ "github.com/gue-go/gue/driver-$drv"
)

func main() { _ = gue.NewClient }
SRC
  if ! (cd "$dir" && GOWORK=off go mod tidy >"$dir/log" 2>&1 && GOWORK=off go build ./... >>"$dir/log" 2>&1); then
    echo "driver-$drv: a user module requiring core and driver-$drv does not tidy/build:"; cat "$dir/log"; bad=1; continue
  fi
  if grep -Eiq 'testcontainers|docker' "$dir/go.sum" "$dir/go.mod" 2>/dev/null; then
    echo "driver-$drv: a user module's go.sum names test-only modules:"; grep -Ei 'testcontainers|docker' "$dir/go.sum" | head; bad=1; continue
  fi
  if grep -q 'gue-go/gue/conformance' "$root/driver-$drv/go.mod"; then
    echo "driver-$drv/go.mod requires conformance"; bad=1; continue
  fi
  echo "driver-$drv: user module tidies and builds; go.sum has $(wc -l <"$dir/go.sum" 2>/dev/null || echo 0) lines, no testcontainers/docker"
done
exit "$bad"
