#!/usr/bin/env bash
# Configures and builds cutover into ./build (override with BUILD_DIR); extra arguments go to cmake --build.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j "$(nproc)" "$@"
