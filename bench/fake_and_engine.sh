# Sourced by bench/overhead.sh and bench/openai_path.sh: starts the fake provider (OpenAI wire format, 0 ms) and
# `cutover serve` with the fake as its candidate at 100 %, no batch wait, on loopback. Needs $b (the build folder)
# and $work (a temporary folder); sets fake_url, port, fake_pid and engine_pid (the caller's trap stops them).
# SYNC_MODE sets store.synchronous (default: the shipped full).
"$b/tools/fake_provider/cutover-fake-provider" --port 0 --api-key bench-key > "$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
for _ in $(seq 1 100); do grep -q listening "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake_url=$(awk '{print $2}' "$work/fake.out")
port=$(shuf -i 20000-32000 -n 1) # below the ephemeral range, where closed load connections wait out TIME_WAIT
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port}
store: {path: cutover.db, synchronous: ${SYNC_MODE:-full}}
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
