#!/usr/bin/env bash
# Webhook delivery latency: from a job's final event (the `at` of the delivery's body, on the engine's clock) to
# its arrival at a receiver on loopback, for JOBS jobs submitted at RATE per second to `cutover serve` on
# zero-latency simulated providers, each with its own `webhook_url`. The receiver (Python, on loopback) checks
# every signature. Prints p50/p99/max in milliseconds.
#   [SYNC_MODE=full|normal] bench/notify_latency.sh [JOBS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-1000}"
rate="${2:-50}"
sync_mode="${SYNC_MODE:-full}"
bin="${BUILD_DIR:-build}/app/cutover"
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(shuf -i 20000-32000 -n 1)
hook_port=$((port + 1))
export CUTOVER_BENCH_HOOK_SECRET=bench-secret
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
notify: {job_secret_env: CUTOVER_BENCH_HOOK_SECRET, allow_private: true}
YAML
"$bin" serve --config "$work/bench.yaml" --data "$work" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do grep -q "event=listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q "event=listening" "$work/serve.log" || { cat "$work/serve.log" >&2; exit 1; }

line=$(python3 - "$port" "$hook_port" "$jobs" "$rate" <<'PY'
import hashlib, hmac, http.client, http.server, json, sys, threading, time
from datetime import datetime

port, hook_port, jobs, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
secret = b"bench-secret"
latencies, bad = [], [0]
lock, done = threading.Lock(), threading.Event()

class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        received = time.time()
        fields = dict(p.split("=", 1) for p in self.headers.get("Cutover-Signature", "").split(","))
        mac = hmac.new(secret, fields.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        at = datetime.fromisoformat(json.loads(body)["at"].replace("Z", "+00:00")).timestamp()
        with lock:
            if not hmac.compare_digest(mac, fields.get("v1", "")):
                bad[0] += 1
            latencies.append((received - at) * 1000.0)
            if len(latencies) >= jobs:
                done.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()

conn = http.client.HTTPConnection("127.0.0.1", port)
start = time.time()
for i in range(jobs):
    wait = start + i / rate - time.time()
    if wait > 0:
        time.sleep(wait)  # pacing the open-loop submissions, not synchronisation
    body = json.dumps({"user_id": f"u{i}", "prompt": f"kite {i}", "tier": "sd",
                       "webhook_url": f"http://127.0.0.1:{hook_port}/hook"})
    conn.request("POST", "/v1/jobs", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status != 202:
        sys.exit(f"submission {i} answered {r.status}")
done.wait(120)
with lock:
    xs = sorted(latencies)
def pct(p):
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")
print(f"notify_latency jobs={jobs} rate_per_s={rate:g} delivered={len(xs)} bad_signatures={bad[0]} "
      f"p50_ms={pct(50):.1f} p90_ms={pct(90):.1f} p99_ms={pct(99):.1f} max_ms={xs[-1] if xs else float('nan'):.1f}")
PY
)
echo "$line failed_tries=$(grep -c "event=notify_failed" "$work/serve.log" || true)"
