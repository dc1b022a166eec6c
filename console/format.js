// Small shared helpers: building DOM nodes without innerHTML (every figure and sentence from the engine or a file
// is text, never markup), and figures as people read them.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

export function pct(fraction, digits = 2) {
  if (!isNum(fraction)) return '–';
  return (Math.round(fraction * 100 * 10 ** digits) / 10 ** digits) + '%';
}

export function usd(v, digits = 4) {
  if (!isNum(v)) return '–';
  return '$' + v.toFixed(v >= 100 ? 2 : digits);
}

export function secs(v) {
  if (!isNum(v)) return '–';
  if (v < 1 && v > 0) return Math.round(v * 1000) + ' ms';
  return (Math.round(v * 100) / 100) + ' s';
}

/// 93784 -> "1d 2h 3m"
export function span(seconds) {
  if (!isNum(seconds)) return '–';
  let s = Math.max(0, Math.round(seconds));
  if (s === 0) return '0s';
  const parts = [];
  for (const [size, unit] of [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']]) {
    if (s >= size) { parts.push(Math.floor(s / size) + unit); s %= size; }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:00Z$/, 'Z');
}

/// A gate's or trigger's figure in the unit its name implies.
export function figure(name, v) {
  if (!isNum(v)) return '–';
  const n = String(name);
  if (n === 'min_duration' || n === 'silence') return span(v);
  if (n.includes('rate') && !n.startsWith('sequential_latency')) return pct(v);
  if (n.startsWith('p95') || n.startsWith('p99')) return secs(v);
  if (n.startsWith('cost')) return usd(v);
  if (n === 'quality_parity_min' || n === 'sequential_latency') return v.toFixed(3);
  return String(Math.round(v * 1000) / 1000);
}

/// 'pass' | 'fail' | 'insufficient' | 'fired' | 'quiet' -> a CSS class and a word.
export function verdictClass(v) {
  const s = String(v || '');
  if (s === 'pass' || s === 'quiet') return 'ok';
  if (s === 'fail' || s === 'fired') return 'bad';
  return 'unknown';
}
