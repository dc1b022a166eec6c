#!/usr/bin/env bash
# The benchmark harness: builds, runs the named benchmarks (all by default), prints one table and keeps every
# figure as CSV in bench/results/<date>-<commit>/ with the machine it came from (see bench/README.md).
#   bench/run.sh [--list] [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."

# name | what it measures | command (run from the project root; its last line is key=value figures)
benchmarks=(
  "pipeline|in-process durable jobs through the whole actor tree|\$B/bench/cutover-bench --jobs 200000"
  "store|SQLite store alone, a job's six writes in group commits|\$B/bench/cutover-store-bench 100000 2000"
  "http|durable POST /v1/jobs at 64 connections (wrk)|bench/http_bench.sh 10 64"
  "overhead|latency added over calling the fake directly, 1,000 requests/s open loop|bench/overhead.sh 1000 10"
  "openai-path|OpenAI endpoint to the 0 ms fake vs the fake directly, 64 connections closed loop|bench/openai_path.sh 10 64"
  "provider|calls per second through one provider actor|\$B/bench/cutover-provider-bench --calls 200000 --in-flight 256"
  "budget|ledger admissions under contention (core and actor)|\$B/bench/cutover-ledger-bench --admissions 1000000"
  "rollout|one rollout tick and routing decisions|\$B/bench/cutover-rollout-bench"
  "simulate|cutover simulate over 14 days at 2 requests/s (about 2.4 million jobs)|bench/simulate_bench.sh load"
  "notify|webhook delivery latency, a job's final event to a receiver on loopback, 50 jobs/s|bench/notify_latency.sh 1000 50"
  "window-sweep|batch window sweep: user wait against batches and cost|bench/simulate_bench.sh sweep"
)

if [ "${1:-}" = "--list" ]; then
  for b in "${benchmarks[@]}"; do IFS='|' read -r n what _ <<<"$b"; printf '%-13s %s\n' "$n" "$what"; done
  exit 0
fi
wanted=("$@")
selected() { [ ${#wanted[@]} -eq 0 ] && return 0; local w; for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
for w in "${wanted[@]}"; do
  found=""; for b in "${benchmarks[@]}"; do [ "${b%%|*}" = "$w" ] && found=yes; done
  [ -n "$found" ] || { echo "bench/run.sh: no benchmark named '$w' (bench/run.sh --list)" >&2; exit 2; }
done

./scripts/install-deps.sh --test
./scripts/build.sh --target cutover cutover-bench cutover-store-bench cutover-provider-bench cutover-ledger-bench \
  cutover-rollout-bench cutover-loadgen cutover-fake-provider >/dev/null
export B="${BUILD_DIR:-build}"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"
out="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)-$commit"
mkdir -p "$out"
{
  echo "commit=$commit"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cores=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "memory_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
} > "$out/machine.txt"

echo "benchmark,metric,value" > "$out/results.csv"
table=()
for b in "${benchmarks[@]}"; do
  IFS='|' read -r name what cmd <<<"$b"
  selected "$name" || continue
  cmd=${cmd//\$B/$B}
  echo "== $name: $cmd" >&2
  if ! bash -c "$cmd" > "$out/$name.log" 2>"$out/$name.err"; then
    table+=("$(printf '%-13s FAILED (see %s/%s.err)' "$name" "$out" "$name")")
    continue
  fi
  # every key=value pair of the summary lines (the lines that start with a word and carry figures)
  figures=$(grep -E '^[a-z_]+( [a-z_]+)* [a-z_0-9]+=' "$out/$name.log" | tail -n 3 || true)
  [ -n "$figures" ] || figures=$(tail -n 1 "$out/$name.log")
  while read -r line; do
    label=$(echo "$line" | awk '{for (i = 1; i <= NF && $i !~ /=/; i++) printf "%s%s", (i > 1 ? "_" : ""), $i}')
    for kv in $line; do
      case "$kv" in
        *=*) echo "$name,${label:+$label.}${kv%%=*},${kv#*=}" >> "$out/results.csv" ;;
      esac
    done
  done <<<"$figures"
  table+=("$(printf '%-13s %s' "$name" "$(echo "$figures" | tail -n 1)")")
done

echo
echo "machine: $(sed -n 's/^cpu=//p' "$out/machine.txt"), $(nproc) cores; commit $commit"
printf '%s\n' "${table[@]}"
echo "figures: $out/results.csv"
