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

. bench/fake_and_engine.sh

echo "direct to the fake:"
"$b/bench/cutover-loadgen" --url "$fake_url/v1/images/generations" --rate "$rate" --seconds "$seconds" \
  --header "Authorization: Bearer bench-key" --body '{"model":"gpt-image-1","prompt":"load {i}","user":"u{i}","n":1}'
echo "through cutover:"
"$b/bench/cutover-loadgen" --url "http://127.0.0.1:$port/v1/images/generations" --rate "$rate" --seconds "$seconds" \
  --body '{"model":"gpt-image-1","prompt":"load {i}","user":"u{i}","n":1}'
