#!/usr/bin/env bash
# Installs, builds and starts the engine on ./config.yaml (simulated providers, SQLite in ./data).
# Extra arguments go to `cutover serve`, e.g. --listen 127.0.0.1:9090 (another host than loopback needs
# auth.keys_file in config.yaml: see README, API keys).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh --target cutover
exec "${BUILD_DIR:-build}/app/cutover" serve --config config.yaml "$@"
