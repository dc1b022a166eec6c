// The console's wiring: the key (asked once, kept for the tab), the live refresh every few seconds with the
// engine's reachability shown, the operator actions with their confirmations, and opening a simulation's files.

import {getKey, setKey, forgetKey, loadLive, post} from './api.js';
import {fromLive, fromSimulation} from './model.js';
import {render} from './views.js';
import {el, clear, when} from './format.js';

const REFRESH_MS = 3000;
const $ = (id) => document.getElementById(id);
let mode = 'live', timer = null, lastOk = null, model = null;

// --- the key

function askKey(message) {
  $('key-message').textContent = message || '';
  $('key-input').value = '';
  if (!$('key-dialog').open) $('key-dialog').showModal();
  $('key-input').focus();
}

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = $('key-input').value.trim();
  if (!key) return;
  setKey(key);
  $('key-dialog').close();
  refresh();
});
$('forget-key').addEventListener('click', () => { forgetKey(); model = null; askKey('The key is forgotten.'); });
// closed without a key (Escape): the header says so; "Change the key" asks again
$('key-dialog').addEventListener('close', () => { if (!getKey()) setConn('idle', 'no key: nothing shown'); });

// --- live

function setConn(kind, text) {
  const c = $('conn');
  c.className = 'conn conn-' + kind;
  c.textContent = text;
}

async function refresh() {
  clearTimeout(timer);
  if (mode !== 'live') return;
  if (!getKey()) { setConn('idle', 'no key'); askKey(); return; }
  const live = await loadLive();
  if (mode !== 'live') return;
  if (live.status === 'unreachable') {
    setConn('down', `engine unreachable${lastOk ? ' (last answer ' + when(new Date(lastOk).toISOString()) + ')' : ''}` +
                    ` — retrying every ${REFRESH_MS / 1000} s`);
    document.body.classList.add('stale');
  } else if (live.status === 'unauthorized') {
    // the refused key is dropped, so closing the dialog (Escape) leaves the page as without a key, not waiting on it
    forgetKey();
    setConn('down', 'the key was refused');
    askKey(`The engine refused the key: ${live.message}`);
    return;
  } else if (live.status === 'error') {
    setConn('down', `the engine answered an error: ${live.message}`);
  } else {
    lastOk = Date.now();
    document.body.classList.remove('stale');
    setConn('up', `live · updated ${new Date(lastOk).toLocaleTimeString()}`);
    model = fromLive(live, Date.now());
    render(model, replay);
    actionsFor(model.rollout);
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

// --- actions

const ACTIONS = {
  hold: (r) => `Hold the rollout at ${r.percent}%: the gates stop promoting it. The triggers keep watching and can ` +
               'still roll it back. Resume lets the gates promote again.',
  resume: (r) => r.state === 'rolled_back'
    ? 'Resume after a rollback: the rollout starts again before its first phase and the gates promote it from there.'
    : `Resume at ${r.percent}%: the gates judge the phase again and promote it when they all pass.`,
  promote: (r) => {
    const next = (r.phases || [])[r.phase + 1];
    return `Promote by hand from ${r.percent}% to ${next ? next.percent : '?'}% now, without waiting for the ` +
           'gates: that share of users goes to the candidate at once.';
  },
  rollback: (r) => `Roll back from ${r.percent}%: every user goes to the baseline at once (0%), and the rollout ` +
                   'stays rolled back until someone resumes it.',
};

function actionsFor(r) {
  const live = mode === 'live';
  for (const name of Object.keys(ACTIONS)) {
    const b = $('act-' + name);
    const a = (r.actions || {})[name];
    b.disabled = !live || !a || !a.allowed;
    b.title = !live ? 'a simulation: no actions' : a && !a.allowed ? `the engine would refuse: ${a.refusal}` : '';
    $('why-' + name).textContent = live && a && !a.allowed ? a.refusal : '';
  }
  const sel = $('step-to'), targets = live ? (r.step_down_to || []) : [];
  if ([...sel.options].map((o) => o.value).join() !== targets.join()) { // rebuilt only when they change
    const keep = sel.value;
    clear(sel);
    for (const p of targets) sel.append(el('option', {value: p, text: p + '%'}));
    if (targets.map(String).includes(keep)) sel.value = keep;
  }
  sel.disabled = $('act-step').disabled = !targets.length;
  $('why-step').textContent = live && !targets.length ? 'no lower phase above 0% to step down to' : '';
}

function confirmThen(title, text, label, run) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = label;
  const d = $('confirm-dialog');
  d.returnValue = '';
  d.onclose = () => { if (d.returnValue === 'ok') run(); };
  d.showModal();
  $('confirm-cancel').focus();
}

function showResult(ok, text) {
  const out = $('action-result');
  out.className = 'result ' + (ok ? 'result-ok' : 'result-bad');
  out.textContent = text;
}

async function perform(label, path, body) {
  showResult(true, `${label}: sending…`);
  const res = await post(path, body);
  if (res.unreachable) showResult(false, `${label}: the engine is unreachable; nothing was done.`);
  else if (res.ok && res.body && res.body.state !== undefined)
    showResult(true, `${label}: done. The engine says ${res.body.state.replace('_', ' ')} at ${res.body.percent}%.`);
  else if (res.ok) showResult(true, `${label}: done (HTTP ${res.status}).`);
  else showResult(false, `${label}: refused by the engine (HTTP ${res.status}): ${res.message || 'no reason given'}`);
  refresh();
}

for (const name of Object.keys(ACTIONS)) {
  $('act-' + name).addEventListener('click', () => {
    if (!model) return;
    const label = $('act-' + name).textContent;
    confirmThen(label + '?', ACTIONS[name](model.rollout), label, () => perform(label, '/v1/rollout/' + name));
  });
}
$('act-step').addEventListener('click', () => {
  if (!model) return;
  const to = Number($('step-to').value);
  confirmThen(`Step down to ${to}%?`,
              `Step down from ${model.rollout.percent}% to ${to}%: users whose bucket is above ${to} go back to the ` +
              `baseline at once, and the rollout holds at ${to}% until someone resumes it.`,
              `Step down to ${to}%`, () => perform(`Step down to ${to}%`, '/v1/rollout/percent', {percent: to}));
});

function replay(job) {
  confirmThen(`Replay job ${job.id}?`,
              `Job ${job.id} (user ${job.user_id}, ${job.tier}) runs again from the start of its provider chain; it ` +
              'may cost money again.', 'Replay', () => perform(`Replay ${job.id}`, `/v1/dead-letters/${job.id}/replay`));
}

// --- simulations

async function readFiles(list) {
  const files = {};
  for (const f of list) {
    const name = f.name.toLowerCase();
    const text = await f.text();
    if (name.endsWith('summary.json')) {
      try { files.summary = JSON.parse(text); } catch (e) { throw new Error('summary.json is not JSON: ' + e.message); }
    } else if (name.endsWith('timeline.csv')) files.timeline = text;
    else if (name.endsWith('decisions.csv')) files.decisions = text;
    else if (name.endsWith('daily.csv')) files.daily = text;
  }
  return files;
}

$('sim-files').addEventListener('change', async (e) => {
  const list = [...e.target.files];
  if (!list.length) return;
  try {
    const m = fromSimulation(await readFiles(list));
    mode = 'simulation';
    clearTimeout(timer);
    model = m;
    document.body.classList.remove('stale');
    document.body.classList.add('simulation');
    setConn('sim', `simulation: ${list.map((f) => f.name).join(', ')}`);
    render(m, replay);
    actionsFor(m.rollout);
    $('back-live').hidden = false;
    $('sim-error').textContent = '';
  } catch (err) {
    $('sim-error').textContent = 'Cannot open this simulation: ' + err.message;
  }
  e.target.value = '';
});

$('back-live').addEventListener('click', () => {
  mode = 'live';
  document.body.classList.remove('simulation');
  $('back-live').hidden = true;
  model = null;
  refresh();
});

refresh();
