#!/usr/bin/env bash
# apt-install.sh PACKAGE...: installs Debian packages without questions or
# noise. needrestart (an apt hook on some machines) is told to stay quiet,
# and apt's own output goes to a log that is shown only when the install
# fails. Runs "apt-get update" first, once per call.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
log=$(mktemp /tmp/gue-apt.XXXXXX)
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
if ! as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1 \
  apt-get update -qq >"$log" 2>&1 \
  || ! as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1 \
  apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@" >>"$log" 2>&1; then
  echo "apt-get install $* failed:" >&2
  tail -30 "$log" >&2
  exit 1
fi
rm -f "$log"
