#!/usr/bin/env bash
# Fuzz smoke: builds the clang+libFuzzer sub-build, runs the config loader
# target for FUZZ_SECONDS (default 25) on a copy of the seed corpus, then the
# redactor/URL-parser target for REDACT_FUZZ_SECONDS (default 8).
# Usage: run_smoke.sh SOURCE_DIR FUZZ_BUILD_DIR
set -euo pipefail
src="$1"
out="$2"
seconds="${FUZZ_SECONDS:-25}"
redact_seconds="${REDACT_FUZZ_SECONDS:-8}"

cmake -S "$src" -B "$out" -G Ninja -DDBCONND_FUZZ_ONLY=ON -DDBCONND_BUILD_TESTS=OFF \
  -DDBCONND_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDBCONND_WERROR=ON >"$out.configure.log" 2>&1 || { cat "$out.configure.log"; exit 1; }
cmake --build "$out" --target config_fuzz redact_fuzz -j2

corpus="$out/corpus"
rm -rf "$corpus" "$out/artifacts"
mkdir -p "$corpus" "$out/artifacts"
cp "$src"/examples/*.yaml "$corpus"/
cp "$src"/tests/data/invalid/*.yaml "$corpus"/ 2>/dev/null || true

"$out/tests/fuzz/config_fuzz" -max_total_time="$seconds" -rss_limit_mb=1024 \
  -timeout=5 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/" "$corpus"
echo "fuzz smoke: no crash, hang or memory blow-up in ${seconds}s"

rcorpus="$out/redact-corpus"
rm -rf "$rcorpus"
mkdir -p "$rcorpus"
cp "$src"/tests/fuzz/redact_corpus/* "$rcorpus"/
"$out/tests/fuzz/redact_fuzz" -max_total_time="$redact_seconds" -rss_limit_mb=1024 \
  -timeout=5 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/redact-" \
  "$rcorpus"
echo "redact fuzz smoke: no crash, hang, unmasked password or blow-up in ${redact_seconds}s"
