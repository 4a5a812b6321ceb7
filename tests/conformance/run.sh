#!/usr/bin/env bash
# Installs Google's Node.js clients (exact versions from package.json, no
# lock file) into WORKDIR and runs conformance.js against the emulator.
#   run.sh SOURCE_DIR WORKDIR GCP_EMULATOR
set -euo pipefail
src=$1 work=$2 emulator=$3
mkdir -p "$work"
cp "$src/package.json" "$src/conformance.js" "$work/"
cd "$work"
# Reinstall only when the pinned versions changed.
if ! cmp -s package.json .installed-package.json || [ ! -d node_modules ]; then
  rm -rf node_modules
  timeout 600 npm install --no-package-lock --no-audit --no-fund --loglevel=error
  cp package.json .installed-package.json
fi
exec timeout 300 node conformance.js "$emulator"
