#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and
# runs the whole test suite (unit, integration, fuzz smoke, conformance).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# postgresql, postgresql-client, openssl: the real PostgreSQL the login tests
# (tests/integration/postgres_login_test.cc) start and log in to.
ensure_packages "${BUILD_PACKAGES[@]}" clang libclang-rt-14-dev prometheus \
  postgresql postgresql-client openssl
ensure_tool node nodejs
ensure_tool npm npm
build ci
log "running the test suite"
ctest --preset ci "$@"
