#!/usr/bin/env bash
# Builds and runs every benchmark, printing one summary line each (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh --target cutover cutover-bench cutover-store-bench cutover-provider-bench cutover-ledger-bench cutover-rollout-bench cutover-loadgen \
  cutover-fake-provider >/dev/null
b="${BUILD_DIR:-build}/bench"
"$b/cutover-store-bench" 100000 2000
"$b/cutover-bench" --jobs 200000 | tail -n 1
bench/http_bench.sh 10 64 | tail -n 1
"$b/cutover-provider-bench" --calls 200000 --in-flight 256
"$b/cutover-ledger-bench" --admissions 1000000
"$b/cutover-rollout-bench"
bench/overhead.sh 1000 10 | grep loadgen
