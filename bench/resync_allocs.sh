#!/usr/bin/env bash
# Heap allocations per reconcile pass in a SIGHUP resync of a converged
# fleet: the controller's per-pass overhead, apart from list parsing.
#
#   bench/resync_allocs.sh [N] [BUILD_DIR]      (defaults: 10000 build/release)
#
# Needs heaptrack (Debian package heaptrack, which attaches through gdb).
# controller_bench --keep writes the fleet's intent files; gcp-emulator
# --seed fleet:N holds what they declare. After the first sync, heaptrack
# attaches to `dbconnd run`, five SIGHUP resyncs run 4 s apart, and the
# allocation calls are divided by the passes the daemon counted
# (dbconnd_reconcile_duration_seconds_count of kind instance: one instance
# per intent). The first sync is not included.
set -euo pipefail

N=${1:-10000}
BUILD=${2:-build/release}
for tool in heaptrack heaptrack_print curl; do
  command -v "$tool" >/dev/null || { echo "resync_allocs: $tool not found (apt-get install heaptrack curl)" >&2; exit 2; }
done
for bin in "$BUILD/bench/controller_bench" "$BUILD/emulator/gcp-emulator" "$BUILD/cli/dbconnd"; do
  [[ -x $bin ]] || { echo "resync_allocs: $bin missing; build it: cmake --build --preset release" >&2; exit 2; }
done

work=$(mktemp -d /tmp/dbconnd-resync-allocs-XXXXXX)
emu_pid=""
daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; fi
  if [[ -n $emu_pid ]]; then kill "$emu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "writing the intents of a $N-database fleet (controller_bench --keep) ..." >&2
"$BUILD/bench/controller_bench" --n "$N" --samples 0 --resync 5 --keep >"$work/bench.out" 2>"$work/bench.err"
kept=$(sed -n 's/^kept //p' "$work/bench.err" | tail -1)
[[ -d $kept/config ]] || { echo "resync_allocs: controller_bench kept no config:" >&2; cat "$work/bench.err" >&2; exit 1; }
mv "$kept/config" "$work/config"
rm -rf "$kept"

port_of() {  # the port a process logged it listens on
  local file=$1 pattern=$2 p=""
  for _ in $(seq 1 300); do
    p=$(grep -o "${pattern}[0-9]*" "$file" 2>/dev/null | head -1 | grep -o '[0-9]*$' || true)
    [[ -n $p ]] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}
metric() {  # sum of one series' samples
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'
}

echo tok >"$work/token"
chmod 600 "$work/token"
"$BUILD/emulator/gcp-emulator" --listen 127.0.0.1:0 --seed "fleet:$N" --accept-token tok \
  >"$work/emulator.out" 2>"$work/emulator.err" &
emu_pid=$!
emu_port=$(port_of "$work/emulator.out" "listening on http://127.0.0.1:") ||
  { echo "resync_allocs: gcp-emulator did not start: $(tail -3 "$work/emulator.err")" >&2; exit 1; }
args=(run --config "$work/config" --listen 127.0.0.1:0 --state-dir "$work/state" --resync 600s
      --log-level info --access-token-file "$work/token" --no-rate-limits --concurrency 8)
for api in sqladmin run vpcaccess servicenetworking compute secretmanager cloudresourcemanager; do
  args+=(--endpoint "$api=http://127.0.0.1:$emu_port")
done
"$BUILD/cli/dbconnd" "${args[@]}" >"$work/dbconnd.out" 2>"$work/dbconnd.err" &
daemon_pid=$!
port=$(port_of "$work/dbconnd.err" "/status on http://127.0.0.1:") ||
  { echo "resync_allocs: dbconnd run did not start: $(tail -3 "$work/dbconnd.err")" >&2; exit 1; }

echo "waiting for the first full sync ..." >&2
for _ in $(seq 1 600); do
  [[ $(metric "$port" dbconnd_full_sync_last_success_timestamp_seconds) != 0 ]] && break
  sleep 0.5
done
[[ $(metric "$port" dbconnd_full_sync_last_success_timestamp_seconds) != 0 ]] ||
  { echo "resync_allocs: no first full sync within 300 s" >&2; exit 1; }

heaptrack -o "$work/heap" -p "$daemon_pid" >"$work/heaptrack.out" 2>&1 &
ht_pid=$!
sleep 4  # gdb injects the preload library
passes0=$(metric "$port" 'dbconnd_reconcile_duration_seconds_count{kind="instance"}')
for i in 1 2 3 4 5; do
  echo "SIGHUP resync $i/5 ..." >&2
  kill -HUP "$daemon_pid"
  sleep 4
done
passes=$(( $(metric "$port" 'dbconnd_reconcile_duration_seconds_count{kind="instance"}') - passes0 ))
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=""
wait "$ht_pid" || true
calls=$(heaptrack_print "$work"/heap*.zst 2>/dev/null | sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p')
[[ -n $calls && $passes -gt 0 ]] || { echo "resync_allocs: no figures (heaptrack: $(tail -3 "$work/heaptrack.out"))" >&2; exit 1; }
echo "N=$N: $passes passes in 5 SIGHUP resyncs, $calls allocation calls, $(( calls / passes )) per pass (list parsing and shutdown included)"
