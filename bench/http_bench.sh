#!/usr/bin/env bash
# HTTP benchmark: durable 202s per second and their latency percentiles at 64 concurrent connections on loopback,
# against `cutover serve` on zero-latency simulated providers, with wrk (Debian's package) as the load generator.
#   [SYNC_MODE=full|normal|off] bench/http_bench.sh [DURATION_S] [CONNECTIONS]
# SYNC_MODE is store.synchronous (default full, as shipped).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
conns="${2:-64}"
sync_mode="${SYNC_MODE:-full}"
bin="${BUILD_DIR:-build}/app/cutover"
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || ./scripts/install-deps.sh --test

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(shuf -i 20000-32000 -n 1) # below the ephemeral range, where wrk's closed connections wait out TIME_WAIT
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port, max_body_bytes: 65536}
store: {path: bench.db, synchronous: $sync_mode}
providers:
  candidate: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}}
  baseline:  {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}}
tiers:
  sd: {batch: {max_items: 50, max_wait: 5ms}}
  hd: {batch: {max_items: 50, max_wait: 5ms}}
  4k: {batch: {max_items: 20, max_wait: 5ms}}
fallback: {candidate: [baseline]}
rollout: {name: bench, baseline: baseline, candidate: candidate, percent: 50, phases: [{percent: 100}]}
YAML
"$bin" serve --config "$work/bench.yaml" --data "$work" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do grep -q "event=listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q "event=listening" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }

wrk -t2 -c"$conns" -d"${duration}s" --latency -s bench/post_job.lua "http://127.0.0.1:$port" | tee "$work/wrk.txt"
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
stored=$(sqlite3 "$work/cutover.db" "SELECT COUNT(*) FROM jobs" 2>/dev/null || echo "?")
# Jobs already finished when the load stops: intake and processing share the cores, so a build whose processing
# falls behind accepts more 202s in the window and works off its backlog after it.
final=$(sqlite3 "$work/cutover.db" \
  "SELECT COUNT(*) FROM jobs WHERE status IN ('succeeded','failed','dead_lettered','cancelled')" 2>/dev/null || echo "?")
echo "http synchronous=$sync_mode connections=$conns duration_s=$duration accepted_202_per_s=$rps p50=$p50 p99=$p99 non_2xx=${non2xx:-0} jobs_stored=$stored jobs_final=$final"
