#!/usr/bin/env bash
# Engine overhead against the fake provider (OpenAI wire format, 0 ms latency): the same open-loop load at RATE
# requests/s, once straight to the fake, once through cutover's OpenAI-compatible endpoint (job stored, routed,
# no batch wait, called, stored, answered). The difference of the percentiles is the latency cutover adds.
#   bench/overhead.sh [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-1000}"
seconds="${2:-10}"
b="${BUILD_DIR:-build}"
work=$(mktemp -d)
trap 'kill $fake_pid $engine_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

"$b/tools/fake_provider/cutover-fake-provider" --port 0 --api-key bench-key > "$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_url=$(awk '{print $2}' "$work/fake.out")
port=$(shuf -i 20000-60000 -n 1)
sync_mode="${SYNC_MODE:-normal}"
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port}
store: {path: cutover.db, synchronous: $sync_mode}
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

echo "direct to the fake:"
"$b/bench/cutover-loadgen" --url "$fake_url/v1/images/generations" --rate "$rate" --seconds "$seconds" \
  --header "Authorization: Bearer bench-key" --body '{"model":"gpt-image-1","prompt":"load {i}","user":"u{i}","n":1}'
echo "through cutover:"
"$b/bench/cutover-loadgen" --url "http://127.0.0.1:$port/v1/images/generations" --rate "$rate" --seconds "$seconds" \
  --body '{"model":"gpt-image-1","prompt":"load {i}","user":"u{i}","n":1}'
