#!/usr/bin/env bash
# `systemd-analyze verify` on deploy/systemd/dbconnd.service with the binary
# replaced by /bin/true (it is not installed here). Any diagnostic (unknown
# key, bad value) fails the test. Skips (exit 77) without systemd-analyze.
set -euo pipefail
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze not found" >&2
  exit 77
fi
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
sed 's#^ExecStart=/usr/local/bin/dbconnd#ExecStart=/bin/true#' "$1/deploy/systemd/dbconnd.service" >"$dir/dbconnd.service"
msg="$(systemd-analyze verify "$dir/dbconnd.service" 2>&1)" || { echo "$msg" >&2; exit 1; }
if [ -n "$msg" ]; then echo "$msg" >&2; exit 1; fi
echo "systemd-analyze verify: clean"
