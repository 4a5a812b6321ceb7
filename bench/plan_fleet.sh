#!/usr/bin/env bash
# `dbconnd plan` over a whole exported fleet: starts gcp-emulator with
# --seed fleet:N on a free loopback port, exports every project, then times
# one plan over all the files (expected: no changes, exit 0).
# Usage: bench/plan_fleet.sh [N] [build dir]   (defaults: 1000 build/ci)
set -euo pipefail
n="${1:-1000}"
build="${2:-build/ci}"
emu="$build/emulator/gcp-emulator"
cli="$build/cli/dbconnd"
for b in "$emu" "$cli"; do
  [[ -x "$b" ]] || { echo "missing $b: cmake --build --preset ci --target dbconnd gcp-emulator" >&2; exit 1; }
done
work="$(mktemp -d)"
emu_pid=""
cleanup() { [[ -n "$emu_pid" ]] && kill "$emu_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$emu" --listen 127.0.0.1:0 --seed "fleet:$n" --no-auth >"$work/emu.log" 2>&1 &
emu_pid=$!
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/emu.log" | head -1)"
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "emulator did not start: $(cat "$work/emu.log")" >&2; exit 1; }
echo "bench-token" >"$work/token" && chmod 600 "$work/token"
flags=(--access-token-file "$work/token")
for api in sqladmin run vpcaccess servicenetworking compute secretmanager cloudresourcemanager; do
  flags+=(--endpoint "$api=$url")
done
projects=$(( n < 3 ? n : 3 ))
for p in $(seq "$projects"); do
  "$cli" export --project "fleet-project-$p" --project-number "$((100000000000 + p))" \
    --output-dir "$work/intents" "${flags[@]}" >"$work/export.log" 2>&1 ||
    { cat "$work/export.log" >&2; exit 1; }
done
files=$(ls "$work/intents" | wc -l)
start=$(date +%s.%N)
rc=0
"$cli" plan "$work/intents" "${flags[@]}" >"$work/plan.txt" 2>&1 || rc=$?
end=$(date +%s.%N)
printf 'plan over %d intents: %.2f s, exit %d (%s)\n' "$files" "$(echo "$end - $start" | bc)" "$rc" \
  "$(tail -1 "$work/plan.txt")"
