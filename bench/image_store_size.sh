#!/usr/bin/env bash
# The store's size per 10,000 succeeded jobs: runs `cutover serve` (BIN, default build/app/cutover) on zero-latency
# simulated providers, submits JOBS jobs of N images each (distinct prompts, so distinct images), waits until every
# one is final, stops the engine (SIGTERM: the WAL is checkpointed) and prints the SQLite file and, when there is
# one, the images folder: apparent bytes and disk usage (du), both scaled to 10,000 succeeded jobs. Run it with a
# build of main (images as base64 in SQLite) and with this one (images as files) to compare.
# With IMAGE_BYTES set, the providers are the OpenAI adapter against tools/fake_provider (FAKE, default its build
# here) answering images of about IMAGE_BYTES bytes each (1024x1024; noise in a PNG chunk, incompressible like
# pixels), so both builds store results of a realistic size; without it, the simulated providers' 64x64 PNGs.
# FAKE_URL instead points the OpenAI adapter at an OpenAI-compatible server already running (e.g. the fake provider
# started with --image-bytes by hand, or with an older fake binary that lacks the option).
#   [BIN=path/to/cutover] [IMAGE_BYTES=1000000 | FAKE_URL=http://127.0.0.1:PORT] bench/image_store_size.sh [JOBS] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-2000}"
n="${2:-1}"
bin="${BIN:-build/app/cutover}"
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }

image_bytes="${IMAGE_BYTES:-0}"
fake_bin="${FAKE:-build/tools/fake_provider/cutover-fake-provider}"

work=$(mktemp -d)
pid=
fake_pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$fake_pid" ] && kill $fake_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port=$(shuf -i 20000-32000 -n 1)
given_url="${FAKE_URL:-}"
fake_url="$given_url"
if [ -n "$given_url" ]; then
  export CUTOVER_BENCH_OPENAI_KEY=test-key
  provider() { echo "{kind: openai, mode: sync, base_url: \"$fake_url/v1\", api_key_env: CUTOVER_BENCH_OPENAI_KEY, model: gpt-image-1, timeout: 60s, cost_per_image: $1}"; }
elif [ "$image_bytes" -gt 0 ]; then
  [ -x "$fake_bin" ] || { echo "build the fake provider first: cmake --build build --target cutover-fake-provider" >&2; exit 1; }
  "$fake_bin" --image-bytes "$image_bytes" >"$work/fake.out" 2>"$work/fake.log" &
  fake_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/fake.out" && break; sleep 0.1; done
  fake_url=$(sed -n 's/^listening //p' "$work/fake.out")
  export CUTOVER_BENCH_OPENAI_KEY=test-key
  provider() { echo "{kind: openai, mode: sync, base_url: \"$fake_url/v1\", api_key_env: CUTOVER_BENCH_OPENAI_KEY, model: gpt-image-1, timeout: 60s, cost_per_image: $1}"; }
else
  provider() { echo "{kind: simulated, mode: sync, cost_per_image: $1}"; }
fi
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port}
store: {path: data/cutover.db, synchronous: normal}
providers:
  candidate: $(provider "{sd: 0.03, hd: 0.039, 4k: 0.06}")
  baseline:  $(provider "{sd: 0.04, hd: 0.05, 4k: 0.08}")
tiers:
  sd: {batch: {max_items: 50, max_wait: 5ms}}
  hd: {batch: {max_items: 50, max_wait: 5ms}}
  4k: {batch: {max_items: 20, max_wait: 5ms}}
fallback: {candidate: [baseline]}
rollout: {name: size, baseline: baseline, candidate: candidate, percent: 50, phases: [{percent: 100}]}
YAML
"$bin" serve --config "$work/bench.yaml" --data "$work/data" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do grep -q event=listening "$work/serve.log" && break; sleep 0.1; done
seq "$jobs" | xargs -P 8 -I{} curl -s -o /dev/null -X POST "http://127.0.0.1:$port/v1/jobs" \
  -H 'content-type: application/json' -d "{\"user_id\":\"u{}\",\"prompt\":\"bench prompt {}\",\"tier\":\"sd\",\"n\":$n}"
final() { sqlite3 "file:$work/data/cutover.db?mode=ro" \
  "SELECT COUNT(*) FROM jobs WHERE status IN ('succeeded','failed','dead_lettered')" 2>/dev/null || echo 0; }
for _ in $(seq 600); do [ "$(final)" -ge "$jobs" ] && break; sleep 0.5; done
kill -TERM $pid; wait $pid || true; pid=
done_jobs=$(final)
ok_jobs=$(sqlite3 "file:$work/data/cutover.db?mode=ro" "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'")
# per 10,000 succeeded jobs: a failed job stores no image, so counting it would make images look cheaper
scale() { echo $(( $1 * 10000 / (ok_jobs > 0 ? ok_jobs : 1) )); }
db_bytes=$(stat -c %s "$work/data/cutover.db")
wal_bytes=$(stat -c %s "$work/data/cutover.db-wal" 2>/dev/null || echo 0)
echo "binary: $bin"
echo "jobs final: $done_jobs of $jobs ($ok_jobs succeeded), $n image(s) each," \
     "$([ -n "$given_url" ] && echo "images from the OpenAI-compatible server at $fake_url" ||
        { [ "$image_bytes" -gt 0 ] && echo "images of about $image_bytes bytes (fake OpenAI)" || echo "64x64 simulated PNGs"; })"
echo "sqlite: $((db_bytes + wal_bytes)) bytes (db $db_bytes + wal $wal_bytes) -> per 10,000 succeeded jobs: $(scale $((db_bytes + wal_bytes))) bytes"
if [ -d "$work/data/images" ]; then
  files=$(find "$work/data/images" -type f -name '*.png' | wc -l)
  file_bytes=$(find "$work/data/images" -type f -name '*.png' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  apparent=$(du -sb "$work/data/images" | cut -f1)
  disk=$(du -sB1 "$work/data/images" | cut -f1)
  echo "images: $files files of $file_bytes bytes ($apparent with the folders, $disk on disk) -> per 10,000 succeeded jobs:" \
       "$(scale "$file_bytes") in files, $(scale "$apparent") with folders, $(scale "$disk") on disk"
else
  echo "images: no images folder (results are inside SQLite)"
fi
