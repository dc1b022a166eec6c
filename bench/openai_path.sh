#!/usr/bin/env bash
# The whole path as a client of the OpenAI-compatible endpoint sees it, closed loop: wrk keeps CONNECTIONS requests
# in flight, once straight to the fake provider (OpenAI wire format, 0 ms) and once through cutover (job stored,
# routed, no batch wait, the fake called, the outcome stored, the image answered). Prints both rates and the ratio.
#   bench/openai_path.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
conns="${2:-64}"
b="${BUILD_DIR:-build}"
[ -x "$b/app/cutover" ] && [ -x "$b/tools/fake_provider/cutover-fake-provider" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || ./scripts/install-deps.sh --test
work=$(mktemp -d)
trap 'kill $fake_pid $engine_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

"$b/tools/fake_provider/cutover-fake-provider" --port 0 --api-key bench-key > "$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_url=$(awk '{print $2}' "$work/fake.out")
port=$(shuf -i 20000-60000 -n 1)
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port}
store: {path: cutover.db}
providers:
  candidate:
    kind: openai
    base_url: $fake_url/v1
    api_key_env: BENCH_OPENAI_KEY
    model: gpt-image-1
    cost_per_image: {sd: 0.04, hd: 0.08, 4k: 0.12}
  baseline: {kind: simulated, mode: sync, cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 0s}}
fallback: {candidate: [baseline]}
rollout: {name: bench, baseline: baseline, candidate: candidate, percent: 100, phases: [{percent: 100}]}
YAML
BENCH_OPENAI_KEY=bench-key "$b/app/cutover" serve --config "$work/bench.yaml" --data "$work" 2>"$work/serve.log" &
engine_pid=$!
for _ in $(seq 1 100); do grep -q "event=listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q "event=listening" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }

run() { # name url auth
  AUTH="$3" wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/openai_request.lua "$2" > "$work/$1.txt"
  awk -v name="$1" '/^Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$5}
    END {printf "%s requests_per_s=%s p50=%s p99=%s non_2xx=%s\n", name, rps, p50, p99, bad+0}' "$work/$1.txt"
}
direct=$(run direct "$fake_url" bench-key)
through=$(run through "http://127.0.0.1:$port" "")
echo "$direct"
echo "$through"
d=$(echo "$direct" | sed 's/.*requests_per_s=\([0-9.]*\).*/\1/')
t=$(echo "$through" | sed 's/.*requests_per_s=\([0-9.]*\).*/\1/')
echo "openai_path connections=$conns seconds=$seconds direct_per_s=$d through_per_s=$t ratio=$(awk -v d="$d" -v t="$t" 'BEGIN {printf "%.3f", (d > 0 ? t / d : 0)}')"
