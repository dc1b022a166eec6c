// The console's views, drawn from one model whether it comes from a live engine (model.js: fromLive) or from a
// `cutover simulate --out` folder (model.js: fromSimulation), so a planned rollout and a live one look alike.

import {el, clear, pct, usd, secs, span, when, figure, verdictClass, isNum} from './format.js';
import {drawTimeline, drawSpend} from './charts.js';

const $ = (id) => document.getElementById(id);

function table(host, head, rows, empty) {
  clear(host);
  if (!rows.length) { host.append(el('p', {class: 'empty', text: empty})); return; }
  host.append(el('table', {},
                 el('thead', {}, el('tr', {}, head.map((h) => el('th', {scope: 'col', text: h})))),
                 el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c, i) =>
                   i === 0 ? el('th', {scope: 'row'}, c) : el('td', {}, c)))))));
}

const badge = (v) => el('span', {class: 'badge ' + verdictClass(v), text: v || '–'});

function rolloutHead(m) {
  const r = m.rollout;
  $('percent').textContent = isNum(r.percent) ? r.percent + '%' : '–';
  const phases = r.phases || [];
  $('phase').textContent = r.phase >= 0 ? (phases.length ? `phase ${r.phase + 1} of ${phases.length}` : `phase ${r.phase + 1}`) : 'before the first phase';
  const state = $('state');
  state.textContent = (r.state || '–').replace('_', ' ');
  state.className = 'badge state-' + (r.state || 'none');
  const bits = [];
  if (r.name) bits.push(`rollout ${r.name}`);
  if (r.since) bits.push(`since ${when(r.since)}`);
  if (r.enabled === false) bits.push('kill switch on: everyone on the baseline');
  if (r.config_hash) bits.push(`config ${r.config_hash}`);
  if (m.note) bits.push(m.note);
  $('since').textContent = bits.join(' · ');
}

function gates(m) {
  const r = m.rollout;
  const rows = (r.gates || []).map((g) => [g.name, badge(g.verdict), figure(g.name, g.observed),
                                            figure(g.name, g.threshold), g.baseline ? figure(g.name, g.baseline) : '–',
                                            String(g.samples ?? '–'), g.reason || '']);
  table($('gates'), ['Gate', 'Verdict', 'Observed', 'Threshold', 'Baseline', 'Samples', 'Why'], rows,
        r.phase >= 0 ? 'This phase has no gates.' : 'No phase yet: no gates.');
  const md = (r.gates || []).find((g) => g.name === 'min_duration');
  const left = md ? md.threshold - md.observed : null;
  const at = m.source === 'simulation' ? 'At that decision: ' : '';
  $('min-duration').textContent = md ? at + (left > 0 ? `min_duration met in ${span(left)} (${span(md.observed)} of ` +
                                                   `${span(md.threshold)} in this phase)`
                                                 : `min_duration met (${span(md.observed)} in this phase)`)
                                     : '';
  $('gates-source').textContent = m.gatesNote || '';
}

function triggers(m) {
  const list = m.rollout.triggers || [];
  // a quiet tick judges without sentences (the engine writes them with a decision): no empty column then
  const why = list.some((t) => t.reason);
  const rows = list.map((t) => [t.name, badge(t.verdict), figure(t.name, t.observed),
                                t.baseline ? figure(t.name, t.baseline) : '–', figure(t.name, t.threshold),
                                String(t.samples ?? '–'), ...(why ? [t.reason || ''] : [])]);
  table($('triggers'), ['Trigger', 'State', 'Candidate', 'Baseline', 'Fires above', 'Samples', ...(why ? ['Why'] : [])], rows,
        'No trigger judged yet.');
  $('triggers-at').textContent = m.rollout.triggers_at ? `as judged at ${when(m.rollout.triggers_at)}` : '';
}

function cohorts(m) {
  const c = (m.rollout.cohorts || {});
  const cand = c.candidate || {}, base = c.baseline || {};
  const row = (label, f) => [label, f(cand), f(base)];
  const rows = [
    row('Samples', (x) => String(x.samples ?? '–')),
    row('User wait p50', (x) => secs(x.user_wait_p50_s)),
    row('User wait p95', (x) => secs(x.user_wait_p95_s)),
    row('Provider p95', (x) => secs(x.p95_s)),
    row('Failure rate', (x) => pct(x.failure_rate)),
    row('Cost per image', (x) => usd(x.cost_per_image_usd)),
    row('Quality', (x) => isNum(x.quality_mean) ? x.quality_mean.toFixed(3) : '–'),
    row('Breaker trips', (x) => String(x.breaker_trips ?? '–')),
  ].filter((r) => r[1] !== '–' || r[2] !== '–');
  table($('cohorts'), ['', 'Candidate', 'Baseline'], rows, 'No cohort figures.');
  $('cohorts-source').textContent = m.cohortsNote || 'since the phase began';
}

function budget(m) {
  const rows = (m.budgetToday || []).map((b) => [b.provider, usd(b.consumed, 2), usd(b.reserved, 2),
                                                 usd(b.stop_line, 2), usd(b.limit, 2),
                                                 isNum(b.stop_line) && b.stop_line > 0
                                                   ? pct((b.consumed + (b.reserved || 0)) / b.stop_line, 1) : '–']);
  table($('budget-today'), ['Provider', 'Consumed', 'Reserved', 'Stop line', 'Limit', 'Of stop line'], rows,
        m.source === 'simulation' ? 'Per-day spend only (below).' : 'No budget figures.');
  $('budget-day').textContent = m.budgetDay ? `budget day ${m.budgetDay}` : '';
  drawSpend($('budget-chart'), m.budgetDays || []);
}

const BREAKER = {0: 'closed', 1: 'open', 2: 'half-open'};

function providers(m) {
  const rows = (m.providers || []).map((p) => {
    const lim = (w) => p.limits[w] ? `${p.limits[w].used} / ${p.limits[w].max || '∞'}` : '–';
    return [p.provider, el('span', {class: 'badge ' + (p.breaker === 0 ? 'ok' : p.breaker === 1 ? 'bad' : 'unknown'),
                                    text: BREAKER[p.breaker] ?? '–'}),
            String(p.trips ?? 0), lim('concurrency'), lim('hour'), lim('day')];
  });
  table($('providers'), ['Provider', 'Breaker', 'Trips', 'Concurrent', 'This hour', 'Today'], rows,
        m.source === 'simulation' ? 'Not in a simulation\'s output.' : 'No provider figures (is /metrics readable?).');
  // one row per provider, one column per stage (admission, window, waiting for a limit or a retry)
  const stages = [...new Set((m.queues || []).map((x) => x.stage))].sort();
  const byProvider = [...new Set((m.queues || []).map((x) => x.provider))].sort();
  const q = byProvider.map((p) => [p, ...stages.map((s) => {
    const hit = m.queues.find((x) => x.provider === p && x.stage === s);
    return hit ? String(hit.depth) : '–';
  })]);
  table($('queues'), ['Provider', ...stages.map((s) => `Items: ${s}`)], q,
        m.source === 'simulation' ? 'Not in a simulation\'s output.' : 'Nothing queued.');
}

function deadLetters(m, onReplay) {
  const host = $('dead');
  if (m.dead === null) {
    clear(host).append(el('p', {class: 'empty', text: m.deadMessage || 'Not in a simulation\'s output.'}));
    return;
  }
  const canReplay = m.source === 'live';
  const rows = m.dead.map((j) => [j.id, j.user_id, j.tier, j.provider || '–', j.error || '–', when(j.updated_at),
                                  canReplay ? el('button', {type: 'button', class: 'small', 'data-replay': j.id,
                                                            'aria-label': 'Replay job ' + j.id, text: 'Replay',
                                                            onclick: () => onReplay(j)}) : '']);
  table(host, ['Job', 'User', 'Tier', 'Provider', 'Error', 'Updated', ''], rows, 'No dead letters.');
}

function decisions(m) {
  const rows = (m.decisions || []).slice(0, 50).map((d) => [
    when(d.at), d.action, d.percent + '%', d.state, d.reason || '',
    el('details', {}, el('summary', {text: `${(d.evaluations || []).length} figures`}),
       el('ul', {}, (d.evaluations || []).map((e) => el('li', {},
         badge(e.verdict), ` ${e.kind} ${e.name}: ${figure(e.name, e.observed)} vs ${figure(e.name, e.threshold)}` +
         (e.samples !== undefined ? `, n=${e.samples}` : '') + (e.reason ? ` — ${e.reason}` : '')))))]);
  table($('decisions'), ['At', 'Action', 'Percent', 'State', 'Reason', 'Figures'], rows, 'No decision yet.');
}

// What each view was last drawn from: a view is drawn again only when its figures changed, so a refresh every few
// seconds neither moves the keyboard focus (a mark, a Replay button) nor closes an opened decision.
const drawn = new Map();
function once(name, key, draw) {
  const k = JSON.stringify(key);
  if (drawn.get(name) === k) return;
  drawn.set(name, k);
  draw();
}

/// Draws every view from the model; `onReplay(job)` replays a dead letter (live only).
export function render(m, onReplay) {
  const r = m.rollout || {};
  rolloutHead(m);
  // the line runs to now: drawn again each minute, unless the focus or the pointer is on a mark
  const busy = document.querySelector('#timeline-panel :focus, #timeline-panel :hover') !== null;
  once('timeline', [m.source, m.timeline.slice(0, -1), r.percent, r.state, m.decisions,
                    busy ? drawn.get('timeline-minute') : Math.floor(m.endMs / 60000)],
       () => drawTimeline($('timeline'), m.timeline || [], m.decisions || [], $('tip'), m.endMs));
  if (!busy) drawn.set('timeline-minute', Math.floor(m.endMs / 60000));
  once('gates', [m.source, r.gates, r.phase, m.gatesNote], () => gates(m));
  once('triggers', [m.source, r.triggers, r.triggers_at], () => triggers(m));
  once('cohorts', [m.source, r.cohorts, m.cohortsNote], () => cohorts(m));
  once('budget', [m.source, m.budgetToday, m.budgetDays, m.budgetDay], () => budget(m));
  once('providers', [m.source, m.providers, m.queues], () => providers(m));
  once('dead', [m.source, m.dead, m.deadMessage], () => deadLetters(m, onReplay));
  once('decisions', [m.source, m.decisions], () => decisions(m));
}
