// The engine's own API, as the console calls it: the key is asked once and kept for this tab only
// (sessionStorage), every call carries it as "Authorization: Bearer <key>", and a call that cannot reach the
// engine says so instead of throwing.

const KEY = 'cutover.console.key';

export function getKey() { return sessionStorage.getItem(KEY) || ''; }
export function setKey(key) { sessionStorage.setItem(KEY, key.trim()); }
export function forgetKey() { sessionStorage.removeItem(KEY); }

/// {ok, status, body (parsed JSON or text), unreachable}
export async function call(method, path, body) {
  const headers = {};
  const key = getKey();
  if (key) headers['Authorization'] = 'Bearer ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                             cache: 'no-store'});
  } catch (e) {
    return {ok: false, status: 0, body: null, unreachable: true, message: 'the engine is unreachable'};
  }
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try { parsed = JSON.parse(text); } catch (e) { /* keep the text */ }
  }
  const message = parsed && parsed.error ? parsed.error.message : (res.ok ? '' : text);
  return {ok: res.ok, status: res.status, body: parsed, unreachable: false, message};
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

/// Prometheus text format into [{name, labels: {..}, value}] (comments and malformed lines skipped).
export function parseMetrics(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[3] || '')) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    out.push({name: m[1], labels, value: Number(m[4])});
  }
  return out;
}

/// Everything one refresh of the live views needs, fetched side by side. `status` says how it went:
/// 'ok', 'unreachable', 'unauthorized' (401/403 on the rollout), or 'error'.
export async function loadLive() {
  const [rollout, decisions, budget, metrics, dead] = await Promise.all([
    get('/v1/rollout'), get('/v1/rollout/decisions?limit=200'), get('/v1/budget?days=14'),
    get('/metrics'), get('/v1/dead-letters?limit=50')]);
  if (rollout.unreachable) return {status: 'unreachable'};
  if (rollout.status === 401 || rollout.status === 403) return {status: 'unauthorized', message: rollout.message};
  if (!rollout.ok) return {status: 'error', message: rollout.message || ('HTTP ' + rollout.status)};
  return {
    status: 'ok',
    rollout: rollout.body,
    decisions: decisions.ok ? decisions.body.decisions : [],
    budget: budget.ok ? budget.body : null,
    metrics: metrics.ok ? parseMetrics(metrics.body) : [],
    dead: dead.ok ? dead.body.dead_letters : null,
    deadMessage: dead.ok ? '' : dead.message,
  };
}
