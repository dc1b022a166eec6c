// The console's two charts, plain SVG drawn here (no library): the rollout's percent over time with every decision
// marked (hover or focus a mark: its gate and trigger figures), and the spend per day by provider.

import {el, clear, figure, when, usd} from './format.js';

const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const H = 260, L = 48, R = 12, T = 14, B = 34;
/// Drawn at the host's own width, so the labels keep their size on a phone instead of shrinking with the chart.
const widthOf = (host) => Math.max(320, Math.round(host.getBoundingClientRect().width) || 1000);

function markClass(action) {
  if (/rollback|step_down/.test(action)) return 'mark-bad';
  if (/promote|complete/.test(action)) return 'mark-good';
  if (/hold/.test(action)) return 'mark-hold';
  return 'mark-other';
}

function timeTicks(t0, t1, count) {
  const out = [];
  for (let i = 0; i <= count; ++i) out.push(t0 + (t1 - t0) * i / count);
  return out;
}

function tickLabel(t, spanMs) {
  const iso = new Date(t).toISOString();
  return spanMs > 3 * 86400e3 ? iso.slice(5, 10) : spanMs > 86400e3 ? iso.slice(5, 16).replace('T', ' ')
                                                                     : iso.slice(11, 19);
}

/// The decision's figures for the tooltip: one line per gate and trigger.
export function decisionLines(d) {
  const phase = d.phase >= 0 ? `phase ${d.phase + 1}` : 'before phase 1';
  const lines = [`${when(d.at)} · ${phase} · ${d.action} · ${d.percent}% · ${d.state}`];
  if (d.reason) lines.push(d.reason);
  for (const e of d.evaluations || [])
    lines.push(`${e.kind} ${e.name}: ${e.verdict} (${figure(e.name, e.observed)} vs ${figure(e.name, e.threshold)}` +
               `${e.samples !== undefined ? ', n=' + e.samples : ''})`);
  return lines;
}

/// points: [{t (ms), percent, state}] oldest first; decisions: [{at, action, percent, ...}]; tip: the tooltip node.
export function drawTimeline(host, points, decisions, tip, endMs) {
  clear(host);
  if (!points.length) { host.append(el('p', {class: 'empty', text: 'No decision yet: nothing to draw.'})); return; }
  const W = widthOf(host);
  const t0 = points[0].t, t1 = Math.max(endMs || points[points.length - 1].t, t0 + 60e3);
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const y = (p) => T + (H - T - B) * (1 - p / 100);
  // a group of marks the keyboard reaches (Tab), each an image named by its decision's figures
  const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'group',
                           'aria-label': 'Share of users on the candidate over time, decisions marked'});
  for (const p of [0, 10, 50, 100]) {
    root.append(svg('line', {x1: L, x2: W - R, y1: y(p), y2: y(p), class: 'grid'}));
    root.append(svg('text', {x: L - 6, y: y(p) + 4, class: 'axis', 'text-anchor': 'end'}, p + '%'));
  }
  timeTicks(t0, t1, W < 600 ? 2 : 5).forEach((t, i, all) =>
    root.append(svg('text', {x: x(t), y: H - 12, class: 'axis',
                             'text-anchor': i === 0 ? 'start' : i === all.length - 1 ? 'end' : 'middle'},
                    tickLabel(t, t1 - t0))));
  // rolled back spans shaded
  for (let i = 0; i < points.length; ++i) {
    if (points[i].state !== 'rolled_back') continue;
    const end = i + 1 < points.length ? points[i + 1].t : t1;
    root.append(svg('rect', {x: x(points[i].t), y: T, width: Math.max(1, x(end) - x(points[i].t)), height: H - T - B,
                             class: 'rolled-back'}));
  }
  let d = `M${x(points[0].t)},${y(points[0].percent)}`;
  for (let i = 1; i < points.length; ++i) d += `H${x(points[i].t)}V${y(points[i].percent)}`;
  d += `H${x(t1)}`;
  root.append(svg('path', {d, class: 'percent-line'}));
  for (const dec of decisions) {
    const t = Date.parse(dec.at);
    if (!(t >= t0 && t <= t1)) continue;
    const label = decisionLines(dec).join('\n');
    const mark = svg('circle', {cx: x(t), cy: y(dec.percent), r: 6, class: 'mark ' + markClass(dec.action),
                                tabindex: 0, role: 'img', 'aria-label': label, 'data-action': dec.action},
                     svg('title', {}, label));
    const show = () => showTip(tip, host, mark, decisionLines(dec));
    mark.addEventListener('mouseenter', show);
    mark.addEventListener('focus', show);
    mark.addEventListener('mouseleave', () => { tip.hidden = true; });
    mark.addEventListener('blur', () => { tip.hidden = true; });
    root.append(mark);
  }
  host.append(root);
}

function showTip(tip, host, mark, lines) {
  clear(tip);
  tip.append(el('strong', {text: lines[0]}));
  for (const l of lines.slice(1)) tip.append(el('div', {text: l}));
  tip.hidden = false;
  const box = mark.getBoundingClientRect(), hostBox = host.getBoundingClientRect();
  const left = Math.min(box.left - hostBox.left, hostBox.width - 320);
  tip.style.left = Math.max(0, left) + 'px';
  tip.style.top = (box.bottom - hostBox.top + 8) + 'px';
}

/// rows: [{day, provider, consumed}]: one stacked bar per day, one colour per provider.
export function drawSpend(host, rows) {
  clear(host);
  if (!rows.length) { host.append(el('p', {class: 'empty', text: 'No spend recorded.'})); return; }
  const W = widthOf(host);
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const providers = [...new Set(rows.map((r) => r.provider))].sort();
  const totals = days.map((d) => rows.filter((r) => r.day === d).reduce((s, r) => s + r.consumed, 0));
  const max = Math.max(...totals, 1e-6);
  const h = 200, bw = (W - L - R) / days.length;
  const y = (v) => T + (h - T - B) * (1 - v / max);
  const root = svg('svg', {viewBox: `0 0 ${W} ${h}`, class: 'chart', role: 'img',
                           'aria-label': 'Spend per day by provider, last ' + days.length + ' days'});
  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', {x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: 'grid'}));
    root.append(svg('text', {x: L - 6, y: y(max * f) + 4, class: 'axis', 'text-anchor': 'end'}, usd(max * f, 2)));
  }
  days.forEach((day, i) => {
    let base = 0;
    providers.forEach((p, k) => {
      const v = rows.filter((r) => r.day === day && r.provider === p).reduce((s, r) => s + r.consumed, 0);
      if (v <= 0) return;
      root.append(svg('rect', {x: L + i * bw + 2, width: Math.max(1, bw - 4), y: y(base + v), height: y(base) - y(base + v),
                               class: 'series-' + (k % 4)}, svg('title', {}, `${day} ${p}: ${usd(v, 2)}`)));
      base += v;
    });
    if (bw >= 40 || i % Math.ceil(40 / bw) === 0)
      root.append(svg('text', {x: L + i * bw + bw / 2, y: h - 12, class: 'axis', 'text-anchor': 'middle'}, day.slice(5)));
  });
  host.append(root);
  host.append(el('p', {class: 'legend'},
                 providers.map((p, k) => el('span', {class: 'key series-' + (k % 4)}, el('i', {'aria-hidden': 'true'}), p))));
}
