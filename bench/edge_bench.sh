#!/usr/bin/env bash
# The HTTP edge alone, under wrk on loopback: `GET /healthz` of `cutover serve` (no engine work behind it) and, as
# the reference, nginx answering a static 202 to the same POST /v1/jobs requests bench/http_bench.sh sends (when
# nginx is installed; it listens on loopback only, with a config in a temporary folder).
#   bench/edge_bench.sh [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
conns="${2:-64}"
bin="${BUILD_DIR:-build}/app/cutover"
[ -x "$bin" ] || { echo "build first: ./scripts/build.sh" >&2; exit 1; }

work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
summary() { # $1 label, $2 wrk output
  echo "$1 connections=$conns duration_s=$duration per_s=$(awk '/^Requests\/sec/ {print $2}' "$2")" \
       "p50=$(awk '$1=="50%" {print $2}' "$2") p99=$(awk '$1=="99%" {print $2}' "$2")" \
       "non_2xx=$(awk '/Non-2xx/ {print $5}' "$2")"
}

port=$(shuf -i 20000-60000 -n 1)
cat > "$work/bench.yaml" <<YAML
server: {listen: 127.0.0.1:$port}
store: {path: bench.db, synchronous: normal}
providers:
  candidate: {kind: simulated, mode: sync, cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}}
  baseline:  {kind: simulated, mode: sync, cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}}
fallback: {candidate: [baseline]}
rollout: {name: bench, baseline: baseline, candidate: candidate, percent: 50, phases: [{percent: 100}]}
YAML
"$bin" serve --config "$work/bench.yaml" --data "$work" 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q "event=listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port/healthz" > "$work/healthz.txt"
summary "cutover_healthz" "$work/healthz.txt"

if command -v nginx >/dev/null; then
  nport=$(shuf -i 20000-60000 -n 1)
  mkdir -p "$work/ngx"
  cat > "$work/ngx/nginx.conf" <<NGX
worker_processes 2;
daemon off;
pid $work/ngx/nginx.pid;
error_log $work/ngx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/ngx/body;
  proxy_temp_path $work/ngx/proxy;
  fastcgi_temp_path $work/ngx/fastcgi;
  uwsgi_temp_path $work/ngx/uwsgi;
  scgi_temp_path $work/ngx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nport;
    location / { default_type application/json; return 202 '{"id":"j1","status":"accepted"}'; }
  }
}
NGX
  nginx -c "$work/ngx/nginx.conf" -p "$work/ngx" &
  pids+=($!)
  for _ in $(seq 1 50); do [ -s "$work/ngx/nginx.pid" ] && break; sleep 0.1; done
  wrk -t2 -c"$conns" -d"${duration}s" --latency -s bench/post_job.lua "http://127.0.0.1:$nport" > "$work/nginx.txt"
  summary "nginx_static_202" "$work/nginx.txt"
else
  echo "nginx_static_202 skipped: nginx is not installed"
fi
