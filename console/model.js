// The one model the views draw: from a live engine's answers (fromLive) or from the files `cutover simulate
// --out DIR` writes (fromSimulation: summary.json, timeline.csv, decisions.csv, and daily.csv when given).

/// The percent over time from the decisions (newest first, as the engine answers), ending now at the live percent.
function timelineOf(decisions, rollout, nowMs) {
  const asc = [...decisions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const points = asc.map((d) => ({t: Date.parse(d.at), percent: d.percent, state: d.state}));
  if (!points.length && rollout) points.push({t: Date.parse(rollout.since) || nowMs, percent: rollout.percent,
                                              state: rollout.state});
  if (rollout && points.length) points.push({t: nowMs, percent: rollout.percent, state: rollout.state});
  return points;
}

function metricsOf(metrics) {
  const providers = new Map();
  const provider = (name) => {
    if (!providers.has(name)) providers.set(name, {provider: name, breaker: undefined, trips: 0, limits: {}});
    return providers.get(name);
  };
  const queues = [];
  for (const s of metrics) {
    const p = s.labels.provider;
    if (s.name === 'cutover_breaker_state' && p) provider(p).breaker = s.value;
    else if (s.name === 'cutover_breaker_trips_total' && p) provider(p).trips = s.value;
    else if ((s.name === 'cutover_provider_limit_used' || s.name === 'cutover_provider_limit_max') && p) {
      const w = s.labels.window || 'limit';
      const lim = provider(p).limits[w] || (provider(p).limits[w] = {used: 0, max: 0});
      lim[s.name.endsWith('used') ? 'used' : 'max'] = s.value;
    } else if (s.name === 'cutover_queue_depth_items' && p) {
      queues.push({provider: p, stage: s.labels.stage || '', depth: s.value});
    }
  }
  return {providers: [...providers.values()].sort((a, b) => a.provider.localeCompare(b.provider)),
          queues: queues.sort((a, b) => (a.provider + a.stage).localeCompare(b.provider + b.stage))};
}

export function fromLive(live, nowMs) {
  const b = live.budget || {rows: []};
  const today = b.rows.filter((r) => r.day === b.day).map((r) => ({
    provider: r.provider, consumed: r.consumed_usd, reserved: r.reserved_usd, stop_line: r.stop_line_usd,
    limit: r.limit_usd}));
  const days = b.rows.filter((r) => r.provider !== 'all')
                     .map((r) => ({day: r.day, provider: r.provider, consumed: r.consumed_usd}));
  return {source: 'live', rollout: live.rollout, decisions: live.decisions,
          timeline: timelineOf(live.decisions, live.rollout, nowMs), endMs: nowMs,
          budgetDay: b.day, budgetToday: today, budgetDays: days, ...metricsOf(live.metrics),
          dead: live.dead, deadMessage: live.deadMessage};
}

// --- simulations

/// RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes) into objects keyed by the header.
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; ++i; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') ++i;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  if (!rows.length) return [];
  const head = rows[0];
  return rows.slice(1).map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

/// decisions.csv's items: "gate:p95_max=pass(41.200/60.000,n=612); trigger:error_rate=quiet(0.010/0.050,n=80)".
export function parseItems(text) {
  const out = [];
  for (const part of String(text || '').split('; ')) {
    const m = /^(\w+):(.+?)=([^=(]+)\((-?[\d.eE+-]+|nan|inf)\/(-?[\d.eE+-]+|nan|inf),n=(\d+)\)$/.exec(part.trim());
    if (m) out.push({kind: m[1], name: m[2], verdict: m[3], observed: Number(m[4]), threshold: Number(m[5]),
                     samples: Number(m[6])});
  }
  return out;
}

/// files: {summary (parsed JSON), timeline, decisions, daily (CSV texts; daily optional)}. Throws with a sentence
/// saying what is missing or malformed.
export function fromSimulation(files) {
  if (!files.summary) throw new Error('summary.json is missing (choose the files of one `cutover simulate --out` folder)');
  if (!files.timeline) throw new Error('timeline.csv is missing');
  if (!files.decisions) throw new Error('decisions.csv is missing');
  const s = files.summary;
  const hours = parseCsv(files.timeline);
  if (!hours.length || !('percent' in hours[0]) || !('time' in hours[0]))
    throw new Error('timeline.csv has no rows with time and percent');
  const decisions = parseCsv(files.decisions).map((d) => ({
    at: d.at, action: d.action, phase: Number(d.phase), percent: Number(d.percent), state: d.state,
    config_hash: d.config_hash, reason: d.reason, evaluations: parseItems(d.items)})).reverse(); // newest first
  const timeline = hours.map((h) => ({t: Date.parse(h.time), percent: Number(h.percent), state: h.state}));
  const endMs = Date.parse(s.end) || timeline[timeline.length - 1].t + 3600e3;
  const last = decisions[0];
  const lastWithGates = decisions.find((d) => d.evaluations.some((e) => e.kind === 'gate'));
  const lastHour = [...hours].reverse();
  const num = (v) => (v === '' || v === undefined ? undefined : Number(v));
  const lastOf = (col) => { const h = lastHour.find((r) => r[col] !== '' && r[col] !== undefined); return h ? num(h[col]) : undefined; };
  const rollout = {
    name: s.scenario ? `simulation of ${s.scenario}` : 'simulation', percent: s.final_percent,
    phase: last ? last.phase : -1, state: s.final_state || (last ? last.state : ''), since: last ? last.at : s.start,
    config_hash: s.config_hash, phases: [],
    gates: lastWithGates ? lastWithGates.evaluations.filter((e) => e.kind === 'gate') : [],
    triggers: lastWithGates ? lastWithGates.evaluations.filter((e) => e.kind === 'trigger') : [],
    triggers_at: lastWithGates ? lastWithGates.at : null,
    cohorts: {candidate: {user_wait_p95_s: lastOf('wait_p95_candidate_s')},
              baseline: {user_wait_p95_s: lastOf('wait_p95_baseline_s')}},
  };
  const days = files.daily ? parseCsv(files.daily).map((d) => ({day: d.day, provider: d.provider, consumed: Number(d.cost_usd)}))
                           : Object.entries(s.cost_usd_by_provider || {}).map(([p, c]) => ({day: 'whole run', provider: p, consumed: c}));
  const outcome = s.outcome ? `${s.outcome.kind}${s.outcome.detail ? ' (' + s.outcome.detail + ')' : ''}` : '';
  return {
    source: 'simulation', rollout, decisions, timeline, endMs,
    note: `seed ${s.seed}, ${s.days} days, ${s.jobs} jobs, ${s.rollbacks} rollback(s), outcome ${outcome}`,
    gatesNote: lastWithGates ? `as the last decision with gates judged them (${lastWithGates.at})` : '',
    cohortsNote: 'user wait p95 of the last simulated hour with jobs (per hour in timeline.csv)',
    budgetToday: [], budgetDays: days, providers: [], queues: [], dead: null,
  };
}
