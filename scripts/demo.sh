#!/usr/bin/env bash
# Installs what is missing, builds dbconnd, and runs the demo on the embedded
# emulator (no credentials, no network).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages "${BUILD_PACKAGES[@]}"
build release dbconnd
exec ./build/release/cli/dbconnd demo "$@"
