#!/usr/bin/env bash
# Where the engine's CPU goes on the OpenAI path, thread by thread: the same closed loop as the through phase of
# bench/openai_path.sh (wrk keeps CONNECTIONS requests in flight to cutover's OpenAI-compatible endpoint, the fake
# provider behind it answering at once), then each group of the engine's threads with the same name (cutover-http,
# cutover-store, cutover-image, ...; CAF names its scheduler's workers caf.multiplexer) and its CPU time (user +
# system) per request, from /proc/<pid>/task/*/stat before and after the run.
#   [SYNC_MODE=full|normal|off] bench/engine_threads.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
conns="${2:-64}"
b="${BUILD_DIR:-build}"
[ -x "$b/app/cutover" ] && [ -x "$b/tools/fake_provider/cutover-fake-provider" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || ./scripts/install-deps.sh --test
work=$(mktemp -d)
trap 'kill ${fake_pid:-} ${engine_pid:-} 2>/dev/null; wait ${fake_pid:-} ${engine_pid:-} 2>/dev/null; rm -rf "$work"' EXIT

. bench/fake_and_engine.sh

threads() { # one line per thread: tid, name (no spaces in the engine's names), user + system clock ticks
  for t in /proc/"$engine_pid"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null | LC_ALL=C sort -k1,1
}
RUN="warm-$(date +%s%N)-" wrk -t2 -c"$conns" -d2s -s bench/openai_request.lua "http://127.0.0.1:$port" >/dev/null
threads > "$work/before"
RUN="$(date +%s%N)-" wrk -t2 -c"$conns" -d"${seconds}s" --latency -s bench/openai_request.lua \
  "http://127.0.0.1:$port" > "$work/wrk.txt"
threads > "$work/after"
requests=$(awk '/ requests in / {print $1}' "$work/wrk.txt")
LC_ALL=C join "$work/before" "$work/after" | awk -v n="$requests" -v hz="$(getconf CLK_TCK)" '
  n > 0 { name=$2; count[name]++; ticks[name] += $5 - $3 }
  END { for (name in ticks) printf "thread=%s count=%d cpu_us_per_request=%.1f\n", name, count[name], ticks[name] * 1e6 / hz / n }' |
  sort -t= -k4 -g -r
total=$(LC_ALL=C join "$work/before" "$work/after" | awk '{t += $5 - $3} END {print t + 0}')
awk -v n="$requests" -v t="$total" -v hz="$(getconf CLK_TCK)" '/^Requests\/sec/ {rps=$2} $1=="99%" {p99=$2} /Non-2xx/ {bad=$5}
  END {printf "engine_threads requests_per_s=%s p99=%s non_2xx=%d cpu_us_per_request=%.1f\n", rps, p99, bad, (n > 0 ? t * 1e6 / hz / n : 0)}' \
  "$work/wrk.txt"
