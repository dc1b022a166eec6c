#!/usr/bin/env bash
# Simulation figures (wall clock, not virtual time):
#   bench/simulate_bench.sh load    14 days at 2 requests/s (bench/scenarios/load-14d-2rps.yaml, about 2.4 million
#                                   jobs): wall time, peak memory, simulated jobs per second
#   bench/simulate_bench.sh sweep   the shipped config over the healthy 14-day scenario with the sd batch window
#                                   at 5 s, 15 s, 45 s and 90 s: user wait against batches, calls and cost
set -euo pipefail
cd "$(dirname "$0")/.."
b="${BUILD_DIR:-build}"
what="${1:-load}"
bin="$b/app/cutover"
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }
"$bin" simulate --help >/dev/null 2>&1 || { echo "simulate: this build has no 'cutover simulate'" >&2; exit 1; }
[ -x /usr/bin/time ] || ./scripts/install-deps.sh --test
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$what" in
  load)
    /usr/bin/time -v "$bin" simulate --config bench/scenarios/load.config.yaml \
      --scenario bench/scenarios/load-14d-2rps.yaml --seed 1 --out "$work/out" 2>"$work/time.txt" >/dev/null ||
      { tail -n 20 "$work/time.txt" >&2; exit 1; }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$work/time.txt")
    jobs=$(sed -n 's/.*"jobs": *\([0-9]*\).*/\1/p' "$work/out/summary.json" | head -n 1)
    echo "simulate scenario=load-14d-2rps jobs=${jobs:-?} wall_s=$wall peak_rss_mb=$rss jobs_per_s=$(awk -v j="${jobs:-0}" -v w="$wall" 'BEGIN {printf "%.0f", (w > 0 ? j / w : 0)}')"
    ;;
  sweep)
    "$bin" simulate --config config.yaml --scenario bench/scenarios/seed-healthy-14d.yaml --seed 1 \
      --sweep tiers.sd.batch.max_wait=5s,15s,45s,90s --out "$work/out" >/dev/null 2>"$work/err.txt" ||
      { tail -n 20 "$work/err.txt" >&2; exit 1; }
    column -s, -t < "$work/out/sweep.csv" 2>/dev/null || cat "$work/out/sweep.csv"
    echo "window_sweep key=tiers.sd.batch.max_wait values=5s,15s,45s,90s rows=$(( $(wc -l < "$work/out/sweep.csv") - 1 ))"
    ;;
  *) echo "usage: bench/simulate_bench.sh load|sweep" >&2; exit 2 ;;
esac
