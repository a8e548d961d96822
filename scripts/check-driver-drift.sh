#!/usr/bin/env bash
# driver-pgxv4 and driver-pgxv5 share most of their code: the same adapter
# on two major versions of pgx. This check keeps them from drifting apart.
# It normalises the version in each shared file, diffs the two drivers, and
# compares that diff with the one recorded in scripts/driver-drift.expected:
# a change made to one driver only (or a new difference) fails make lint.
# After changing both drivers on purpose, record the new difference with
#   scripts/check-driver-drift.sh --update
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
expected="$root/scripts/driver-drift.expected"
norm() { sed -E 's#(pgx/v|puddle/v)[45]#\1N#g; s#pgxv[45]#pgxvN#g; s#pgx v[45]#pgx vN#g' "$1"; }
actual=$(for f in pool.go listen.go errors.go tx.go doc.go; do
  echo "=== $f"
  # Differing lines only, without positions: an edit made to both drivers
  # moves lines but changes no difference.
  diff --unchanged-line-format='' --old-line-format='< %L' --new-line-format='> %L' \
    <(norm "$root/driver-pgxv4/$f") <(norm "$root/driver-pgxv5/$f") || true
done)
if [ "${1:-}" = --update ]; then
  printf '%s\n' "$actual" >"$expected"
  echo "recorded the pgx v4/v5 difference in $expected"
  exit 0
fi
if ! diff <(cat "$expected") <(printf '%s\n' "$actual") >/dev/null; then
  echo "driver-pgxv4 and driver-pgxv5 drifted apart: their difference is no longer the recorded one."
  echo "Apply the change to both drivers, or record an intended difference with scripts/check-driver-drift.sh --update."
  diff <(cat "$expected") <(printf '%s\n' "$actual") || true
  exit 1
fi
echo "driver-pgxv4 and driver-pgxv5: shared code in step ($(printf '%s\n' "$actual" | grep -c '^[<>]') differing lines, as recorded)"
