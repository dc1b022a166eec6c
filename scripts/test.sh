#!/usr/bin/env bash
# Installs, builds and runs every test (unit, virtual-time actor, HTTP and SQLite integration, crash).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --test
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
