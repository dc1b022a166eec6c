// A real `cutover serve` for the browser tests: a config on simulated providers (milliseconds, 20 ms batch windows)
// with a three-phase rollout whose first phase has gates, a keys file (admin from CUTOVER_ADMIN_KEY, a read-only
// key, a submit key), a free loopback port and a temporary data folder. Start-up is awaited on its
// "event=listening" line, never on a sleep.

const {spawn} = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const keys = {admin: 'console-admin-key-000001', read: 'console-read-key-0000001', submit: 'console-submit-key-00001'};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const {port} = s.address(); s.close(() => resolve(port)); });
  });
}

/// `failing`: every provider fails every call (one call per attempt), so each job ends dead-lettered.
function config(dir, failing) {
  const sim = `{latency_p50: 5ms, latency_p95: 20ms, failure_rate: ${failing ? '100%' : '0%'}, quality: 0.9}` +
              (failing ? '\n    retry: {max_attempts: 1, backoff: 10ms}' : '');
  return `server: {listen: 127.0.0.1:8080, max_body_bytes: 4096}
store: {path: ${dir}/cutover.db, synchronous: normal}
providers:
  gemini:
    kind: simulated
    mode: async
    cost_per_image: {sd: 0.03, hd: 0.039, 4k: 0.06}
    simulated: ${sim}
    polling: {schedule: [{every: 50ms, times: 4}, {every: 100ms}], deadline: 30s}
  photomaker:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.04, hd: 0.05, 4k: 0.08}
    simulated: ${sim}
  sdxl:
    kind: simulated
    mode: sync
    cost_per_image: {sd: 0.02, hd: 0.03, 4k: 0.05}
    simulated: ${sim}
tiers:
  sd: {batch: {max_items: 50, max_wait: 20ms}}
  hd: {batch: {max_items: 50, max_wait: 20ms}}
  4k: {batch: {max_items: 20, max_wait: 20ms}}
fallback: {gemini: [photomaker, sdxl], photomaker: [sdxl]}
budget: {daily_usd: 200, stop_at: 90%, providers: {gemini: 100}}
rollout:
  name: console-test
  baseline: photomaker
  candidate: gemini
  percent: 10
  tick: 200ms
  phases:
    - {percent: 10, min_duration: 1h, min_samples: 5,
       gates: {cost_per_image_max: 0.05, p95_max: 60s, failure_rate_max: 5%}}
    - {percent: 50, min_duration: 1h, min_samples: 5}
    - {percent: 100}
  triggers:
    error_rate:      {above: 5%, for: 5m, min_samples: 20}
    p95_vs_baseline: {factor: 3, for: 10m}
    silence:         {for: 2m}
auth: {keys_file: ${dir}/keys.yaml}
`;
}

class Engine {
  static async start(binary, {failing = false} = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-console-'));
    fs.writeFileSync(path.join(dir, 'config.yaml'), config(dir, failing));
    fs.writeFileSync(path.join(dir, 'keys.yaml'), `keys:
  - {name: ops, key_env: CUTOVER_ADMIN_KEY, scopes: [admin, read]}
  - {name: viewer, key: "${keys.read}", scopes: [read]}
  - {name: shop, key: "${keys.submit}", scopes: [submit]}
`);
    const port = await freePort();
    const child = spawn(binary, ['serve', '--config', path.join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`,
                                 '--data', dir],
                        {env: {...process.env, CUTOVER_ADMIN_KEY: keys.admin}, stdio: ['ignore', 'ignore', 'pipe']});
    const e = new Engine(child, dir, `http://127.0.0.1:${port}`);
    await e.waitForLog('event=listening', 20000);
    return e;
  }

  constructor(child, dir, url) {
    this.child = child; this.dir = dir; this.url = url; this.log = ''; this.waiters = [];
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal})));
    child.stderr.on('data', (d) => { this.log += d; for (const w of this.waiters) w(); });
  }

  waitForLog(text, ms) {
    return new Promise((resolve, reject) => {
      const check = () => { if (this.log.includes(text)) { done(); resolve(); } };
      const timer = setTimeout(() => { done(); reject(new Error(`no "${text}" from the engine in ${ms} ms:\n${this.log}`)); }, ms);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      this.child.once('exit', () => { done(); reject(new Error(`the engine exited:\n${this.log}`)); });
      check();
    });
  }

  /// The API with a key ('admin', 'read', 'submit' or none): {status, body}.
  async api(method, p, who, body) {
    const headers = {};
    if (who) headers.Authorization = 'Bearer ' + keys[who];
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url + p, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch (e) { /* not JSON */ }
    return {status: res.status, body: parsed};
  }

  /// `n` jobs of distinct users, each awaited until final, so both cohorts have figures.
  async traffic(n, final = 'succeeded') {
    const ids = [];
    for (let i = 0; i < n; ++i) {
      const a = await this.api('POST', '/v1/jobs', 'submit', {user_id: `user-${i}`, prompt: 'a kite', tier: 'sd'});
      if (a.status !== 202) throw new Error(`POST /v1/jobs answered ${a.status}: ${JSON.stringify(a.body)}`);
      const j = await this.api('GET', `/v1/jobs/${a.body.id}?wait=20`, 'admin');
      if (j.status !== 200 || j.body.status !== final) throw new Error(`job ${a.body.id}: ${JSON.stringify(j.body)}`);
      ids.push(a.body.id);
    }
    return ids;
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }

  cleanup() { fs.rmSync(this.dir, {recursive: true, force: true}); }
}

module.exports = {Engine, keys};
