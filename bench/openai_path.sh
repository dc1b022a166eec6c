#!/usr/bin/env bash
# The whole path as a client of the OpenAI-compatible endpoint sees it, closed loop: wrk keeps CONNECTIONS requests
# in flight, once straight to the fake provider (OpenAI wire format, 0 ms) and once through cutover (job stored,
# routed, no batch wait, the fake called, the outcome stored, the image answered). Prints both rates and the ratio,
# and the CPU time per request of the fake (direct) and of the engine (through).
#   [ROUNDS=N] [KEEP=1] [BY_THREAD=1] bench/openai_path.sh [SECONDS] [CONNECTIONS]
# With BY_THREAD=1, each through run also prints the engine's CPU time per request by group of threads of one name
# (cutover-http, cutover-client, cutover-store, cutover-image, cutover-flush, cutover-ckpt; CAF names its
# scheduler's workers caf.multiplexer).
# With ROUNDS, the two are measured in turn N times on the same processes (the direct rate of this 2-core machine
# swings by half between runs a minute apart): each round's figures, then the median of the rounds' ratios.
# With KEEP=1 the temporary folder (store and image files) is left in place and named at the end: on ext4 without
# a journal, deleting tens of thousands of files slows the next minutes' file creations (bench/README.md), so
# runs compared one after the other should keep theirs and remove them all afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
conns="${2:-64}"
b="${BUILD_DIR:-build}"
[ -x "$b/app/cutover" ] && [ -x "$b/tools/fake_provider/cutover-fake-provider" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || ./scripts/install-deps.sh --test
work=$(mktemp -d)
trap 'kill $fake_pid $engine_pid 2>/dev/null; wait 2>/dev/null; if [ "${KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT

. bench/fake_and_engine.sh

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
threads() { # one line per thread of process $1: tid, name (no spaces in the engine's names), CPU clock ticks
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null | LC_ALL=C sort -k1,1
}
run() { # name url auth pid: that process's CPU time per request is printed too
  local before after
  before=$(cpu_ticks "$4")
  threads "$4" > "$work/$1.threads-before"
  RUN="$(date +%s%N)-" AUTH="$3" wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/openai_request.lua "$2" > "$work/$1.txt"
  after=$(cpu_ticks "$4")
  threads "$4" > "$work/$1.threads-after"
  # with BY_THREAD=1, the same CPU time by group of threads of one name, into $work/<name>.by-thread
  LC_ALL=C join "$work/$1.threads-before" "$work/$1.threads-after" |
    awk -v n="$(awk '/ requests in / {print $1}' "$work/$1.txt")" -v hz="$(getconf CLK_TCK)" -v who="$1" '
      n > 0 { count[$2]++; ticks[$2] += $5 - $3 }
      END { for (t in ticks) printf "%s_thread=%s count=%d cpu_us_per_request=%.1f\n", who, t, count[t], ticks[t] * 1e6 / hz / n }' |
    sort -t= -k4 -g -r > "$work/$1.by-thread"
  awk -v name="$1" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v who="$5" \
    '/^Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$5} / requests in / {n=$1}
    END {printf "%s requests_per_s=%s p50=%s p99=%s non_2xx=%s %s_cpu_ms_per_request=%.3f\n", name, rps, p50, p99,
         bad+0, who, (n > 0 ? ticks * 1000 / hz / n : 0)}' "$work/$1.txt"
}
rounds="${ROUNDS:-1}"
ratios=()
for round in $(seq 1 "$rounds"); do
  direct=$(run direct "$fake_url" bench-key "$fake_pid" fake)
  through=$(run through "http://127.0.0.1:$port" "" "$engine_pid" engine)
  echo "$direct"
  echo "$through"
  if [ "${BY_THREAD:-}" = 1 ]; then cat "$work/through.by-thread"; fi
  d=$(echo "$direct" | sed 's/.*requests_per_s=\([0-9.]*\).*/\1/')
  t=$(echo "$through" | sed 's/.*requests_per_s=\([0-9.]*\).*/\1/')
  ratio=$(awk -v d="$d" -v t="$t" 'BEGIN {printf "%.3f", (d > 0 ? t / d : 0)}')
  ratios+=("$ratio")
  echo "openai_path connections=$conns seconds=$seconds direct_per_s=$d through_per_s=$t ratio=$ratio"
done
if [ "$rounds" -gt 1 ]; then
  echo "openai_path rounds=$rounds median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print (NR % 2 ? v[(NR+1)/2] : sprintf("%.3f", (v[NR/2]+v[NR/2+1])/2))}')"
fi
