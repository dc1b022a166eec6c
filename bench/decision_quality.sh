#!/usr/bin/env bash
# Decision quality of a rollout configuration, by sensitivity runs of `cutover simulate` at a typical production volume
# (about 6,000 images a day): how often a healthy but noisy candidate is rolled back or held
# (bench/scenarios/dq-healthy.yaml, 14 days, K runs), and how long each regression takes to be rolled back
# (bench/scenarios/dq-p95x*.yaml, dq-err*.yaml: at 50 % from their first minute, onset at 1d15h, K runs each). Prints one markdown table; the
# simulate outputs (runs.csv, summary.json, the first seed's decisions.csv) stay in the output directory.
# See docs/decision-quality.md.
#
# usage: bench/decision_quality.sh [--config F] [--healthy-runs K] [--regression-runs K] [--out DIR]
#                                  [--only NAME] [--table-only]
#   --config F           the configuration judged (default config.yaml, the shipped one)
#   --healthy-runs K     seeds 1..K of the healthy scenario (default 100)
#   --regression-runs K  seeds 1..K of each regression scenario (default 20)
#   --out DIR            where the runs go (default ./dq-out)
#   --only NAME          run only that scenario (e.g. dq-err2); the table shows every scenario found in DIR
#   --table-only         run nothing: print the table of the runs already in DIR
# CUTOVER=path/to/cutover overrides the binary (default build/app/cutover). Simulate uses two processes.
set -euo pipefail
cd "$(dirname "$0")/.."

config=config.yaml
healthy_runs=100
regression_runs=20
out=dq-out
only=""
table_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --healthy-runs) healthy_runs="$2"; shift 2 ;;
    --regression-runs) regression_runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --table-only) table_only=1; shift ;;
    *) echo "decision_quality.sh: unknown argument $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done
bin="${CUTOVER:-build/app/cutover}"
scenarios="dq-healthy dq-p95x1.5 dq-p95x2 dq-p95x4 dq-err2 dq-err5"

if [ "$table_only" = 0 ]; then
  [ -x "$bin" ] || { echo "decision_quality.sh: $bin not found: build first (./scripts/build.sh)" >&2; exit 2; }
  mkdir -p "$out"
  for s in $scenarios; do
    [ -z "$only" ] || [ "$only" = "$s" ] || continue
    k=$regression_runs
    [ "$s" = dq-healthy ] && k=$healthy_runs
    echo "decision_quality.sh: $s, $k runs, $config" >&2
    "$bin" simulate --config "$config" --scenario "bench/scenarios/$s.yaml" --runs "$k" --seed 1 \
      --out "$out/$s" >"$out/$s.log" 2>&1 || { echo "decision_quality.sh: $s failed, see $out/$s.log" >&2; exit 1; }
  done
fi

echo "| scenario | runs | reached 100 % | rolled back (first trigger) | held (failing gates) | not due | false alarms | detected | onset -> rollback min / median / max |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in $scenarios; do
  csv="$out/$s/runs.csv"
  [ -f "$csv" ] || continue
  # runs.csv: seed,outcome,detail,final_percent,hours_to_100,rollbacks,jobs,images,cost_usd,wait_p50_s,wait_p95_s,
  #           onset_to_rollback_s,onset_to_drained_s (detail: trigger or gate names joined by '+', no commas)
  delays=$(awk -F, 'NR > 1 && $12 != "" { print $12 }' "$csv" | sort -g)
  awk -F, -v name="$s" -v delays="$(echo $delays)" '
    NR == 1 { next }
    {
      runs++
      if ($2 == "reached_100") reached++
      if ($2 == "held") { held++; gates[$3]++ }
      if ($2 == "not_due") notdue++
      if ($6 > 0) { rolled++; t = ($3 == "" ? "after 100 %" : $3); trig[t]++ }
      if ($12 != "") detected++
      else if ($6 > 0) before++
    }
    function span(x) { return x < 5400 ? sprintf("%.0f min", x / 60) : sprintf("%.1f h", x / 3600) }
    function list(a,   k, s) { s = ""; for (k in a) s = s (s == "" ? "" : ", ") k " " a[k]; return s }
    END {
      healthy = (name == "dq-healthy")
      n = split(delays, d, " ")
      if (n > 0) {
        m = (n % 2) ? d[(n + 1) / 2] : (d[n / 2] + d[n / 2 + 1]) / 2
        delay = span(d[1]) " / " span(m) " / " span(d[n])
      } else delay = "-"
      rb = rolled + 0; if (rb > 0) rb = rb " (" list(trig) ")"
      hd = held + 0; if (hd > 0) hd = hd " (" list(gates) ")"
      fa = healthy ? (rolled + held) " of " runs : (before + 0) " before onset"
      det = healthy ? "-" : (detected + 0) " of " runs
      printf "| %s | %d | %d | %s | %s | %d | %s | %s | %s |\n", name, runs, reached, rb, hd, notdue, fa, det,
             healthy ? "-" : delay
    }' "$csv"
done
