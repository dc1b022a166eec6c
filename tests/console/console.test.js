// The operator console in Debian's Chromium (puppeteer-core), against a real `cutover serve` on loopback with a keys
// file and simulated providers. One case per run, named on the command line (ctest registers each):
//   node console.test.js <case> --binary build/app/cutover [--chromium /usr/bin/chromium]
//                        [--browser firefox [--firefox /usr/bin/firefox-esr]] [--sim-config F --sim-scenario S]
// Every wait is on a condition in the page or the engine (waitForFunction, the engine's log), never a sleep.

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const {execFileSync} = require('child_process');
const puppeteer = require('puppeteer-core');
const {Engine, keys} = require('./engine.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i >= 0 ? args[i + 1] : dflt; };
const binary = opt('binary');
const chromium = opt('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const WAIT = {timeout: 15000};

async function browserPage(browser) {
  const context = await browser.createBrowserContext(); // its own sessionStorage: a fresh tab
  const page = await context.newPage();
  await page.setViewport({width: 1280, height: 900});
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  page.errors = errors;
  return page;
}

const text = (page, sel) => page.$eval(sel, (n) => n.textContent.trim());

async function enterKey(page, key) {
  await page.waitForSelector('#key-dialog[open]', WAIT);
  await page.type('#key-input', key);
  await page.keyboard.press('Enter');
}

/// The row of a table in `host` whose first cell is `name`, as its cells' texts.
function row(page, host, name) {
  return page.$$eval(`${host} tbody tr`, (rows, name) => {
    const r = rows.find((tr) => tr.cells[0].textContent.trim() === name);
    return r ? [...r.cells].map((c) => c.textContent.trim()) : null;
  }, name);
}

/// The page fits its viewport: no horizontal page scroll (the content is not wider, and scrolling right moves
/// nothing), and the percent, phase, state and roll back button are inside it, not covered, at a tappable size.
async function assertFits(page, width) {
  const fit = await page.evaluate(() => {
    const d = document.documentElement;
    window.scrollTo(10000, 0);
    const out = {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, scrollX: window.scrollX, parts: {}};
    window.scrollTo(0, 0);
    for (const id of ['percent', 'phase', 'state', 'act-rollback']) {
      const n = document.getElementById(id);
      n.scrollIntoView({block: 'center'});
      const b = n.getBoundingClientRect();
      const top = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
      out.parts[id] = {left: b.left, right: b.right, width: b.width, height: b.height,
                       visible: getComputedStyle(n).visibility === 'visible', onTop: top === n || n.contains(top)};
    }
    window.scrollTo(0, 0);
    return out;
  });
  assert.strictEqual(fit.clientWidth, width, JSON.stringify(fit));
  assert.ok(fit.scrollWidth <= fit.clientWidth, `the page is ${fit.scrollWidth} px wide in a ${fit.clientWidth} px viewport`);
  assert.strictEqual(fit.scrollX, 0, 'the page scrolls sideways');
  for (const [id, b] of Object.entries(fit.parts)) {
    assert.ok(b.visible && b.width > 0 && b.left >= 0 && b.right <= width, `#${id} is outside the viewport: ${JSON.stringify(b)}`);
    assert.ok(b.onTop, `#${id} is covered by another element`);
  }
  assert.ok(fit.parts['act-rollback'].height >= 24, `the roll back button is ${fit.parts['act-rollback'].height} px tall`);
}

/// The figures of a gate or trigger as the page should print them (the units the names imply), written out here
/// rather than taken from the page's own formatter.
function shown(name, v) {
  if (name === 'min_samples') return String(v);
  if (name === 'min_duration' || name === 'silence') {
    const s = Math.round(v);
    return s >= 3600 ? `${s / 3600}h` : s >= 60 ? `${s / 60}m` : `${s}s`;
  }
  if (name.includes('rate')) return `${Math.round(v * 10000) / 100}%`;
  if (name.startsWith('p95')) return v < 1 && v > 0 ? `${Math.round(v * 1000)} ms` : `${Math.round(v * 100) / 100} s`;
  if (name.startsWith('cost')) return `$${v.toFixed(4)}`;
  throw new Error(`no expected format for ${name}`);
}

/// Every element of each selector (at least one each, with text) has a contrast of at least 4.5:1: its colour (an SVG
/// text's fill), faded by its ancestors' opacity, against the backgrounds it sits on, all from computed styles.
async function assertContrast(page, selectors) {
  const pairs = await page.evaluate((selectors) => {
    const rgba = (s) => { const m = s.match(/[\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
    const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3])).concat(1);
    const background = (n) => {
      const layers = [];
      for (let e = n; e; e = e.parentElement) {
        const b = rgba(getComputedStyle(e).backgroundColor);
        if (b[3] > 0) layers.push(b);
        if (b[3] === 1) break;
      }
      return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
    };
    const lum = (c) => {
      const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const out = [];
    for (const sel of selectors) {
      const nodes = [...document.querySelectorAll(sel)].filter((n) => n.textContent.trim() && n.getClientRects().length);
      if (!nodes.length) { out.push({sel, missing: true}); continue; }
      for (const n of nodes) {
        const st = getComputedStyle(n);
        const fg = rgba(n instanceof SVGElement ? st.fill : st.color);
        let opacity = 1;
        for (let e = n; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
        const bg = background(n);
        const [a, b] = [lum(over([fg[0], fg[1], fg[2], fg[3] * opacity], bg)), lum(bg)].sort((x, y) => y - x);
        out.push({sel, text: n.textContent.trim().slice(0, 30), ratio: Math.round((a + 0.05) / (b + 0.05) * 100) / 100});
      }
    }
    return out;
  }, selectors);
  assert.deepStrictEqual(pairs.filter((p) => p.missing).map((p) => p.sel), [], 'no element with text for these');
  assert.deepStrictEqual(pairs.filter((p) => !(p.ratio >= 4.5)), [], 'text below 4.5:1');
  const low = pairs.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  console.log(`# ${pairs.length} texts, lowest contrast ${low.ratio}:1 (${low.sel} "${low.text}")`);
}

const cases = {
  // the live percent and phase as the engine says them; a gate's figures; a decision shown after a page reload
  async 'live view'(engine, browser) {
    await engine.traffic(8);
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    const view = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    assert.strictEqual(view.percent, 10);
    assert.strictEqual(await text(page, '#percent'), `${view.percent}%`);
    assert.strictEqual(await text(page, '#phase'), `phase ${view.phase + 1} of 3`);
    assert.strictEqual(await text(page, '#state'), 'running');
    await page.waitForFunction(() => /live · updated/.test(document.getElementById('conn').textContent), WAIT);

    // a gate's figures: observed vs threshold with its verdict, as the engine judged them
    await page.waitForSelector('#gates tbody tr', WAIT);
    const md = await row(page, '#gates', 'min_duration');
    assert.ok(md, 'a min_duration row');
    assert.deepStrictEqual([md[1], md[3]], ['insufficient data', '1h']);
    const samples = await row(page, '#gates', 'min_samples');
    assert.strictEqual(samples[3], '5');
    const engineGate = view.gates.find((g) => g.name === 'min_samples');
    assert.strictEqual(samples[2], String(engineGate.observed));
    const cost = await row(page, '#gates', 'cost_per_image_max');
    assert.strictEqual(cost[3], '$0.0500');
    assert.match(await text(page, '#min-duration'), /^min_duration met in \d+m/);
    assert.ok(await row(page, '#cohorts', 'Cost per image'), 'a cohort comparison');
    assert.ok(await row(page, '#providers', 'gemini'), 'the candidate\'s breaker and limits');
    await assertFits(page, 1280); // usable at 1280 px

    // a decision made elsewhere shows after a reload, without asking for the key again (kept for the tab)
    const held = await engine.api('POST', '/v1/rollout/hold', 'admin');
    assert.strictEqual(held.status, 200);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#decisions tbody tr') !== null, WAIT);
    assert.strictEqual(await page.$('#key-dialog[open]'), null);
    const first = await page.$eval('#decisions tbody tr', (tr) => [...tr.cells].map((c) => c.textContent.trim()));
    assert.strictEqual(first[1], 'operator_hold');
    assert.strictEqual(first[4], 'held by an operator');
    await page.waitForFunction(() => document.getElementById('state').textContent === 'holding', WAIT);
    // its mark on the timeline shows the row on hover
    await page.hover('circle.mark[data-action="operator_hold"]');
    await page.waitForSelector('#tip:not([hidden])', WAIT);
    assert.match(await text(page, '#tip'), /operator_hold · 10% · holding/);
    // the keyboard reaches the marks too, and a refresh keeps the focus where it is
    await page.$eval('circle.mark[data-action="operator_hold"]', (m) => m.focus()); // an SVG element
    const before = await text(page, '#conn');
    await page.waitForFunction((b) => document.getElementById('conn').textContent !== b, WAIT, before);
    assert.strictEqual(await page.evaluate(() => document.activeElement.getAttribute('data-action')), 'operator_hold');
    assert.match(await text(page, '#tip'), /operator_hold/);
    // the engine would answer 409 to a second hold: the button is disabled and says why
    assert.strictEqual(await page.$eval('#act-hold', (b) => b.disabled), true);
    assert.match(await text(page, '#why-hold'), /only a running rollout can be held/);
    assert.deepStrictEqual(page.errors, []);
  },

  // the roll back button: a confirmation that says what will happen, then the engine's answer
  async 'roll back'(engine, browser) {
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => !document.getElementById('act-rollback').disabled, WAIT);
    await page.click('#act-rollback');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    assert.match(await text(page, '#confirm-text'), /every user goes to the baseline at once \(0%\)/);
    // cancel first: nothing happens
    await page.click('#confirm-cancel');
    assert.strictEqual((await engine.api('GET', '/v1/rollout', 'admin')).body.state, 'running');
    await page.click('#act-rollback');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /done\. The engine says rolled back at 0%/.test(
      document.getElementById('action-result').textContent), WAIT);
    const after = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    assert.strictEqual(after.state, 'rolled_back');
    assert.strictEqual(after.percent, 0);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '0%', WAIT);
    assert.strictEqual(await page.$eval('#act-rollback', (b) => b.disabled), true); // already rolled back: 409
    assert.strictEqual(await page.$eval('#act-promote', (b) => b.disabled), true);  // resume first: 409
    assert.strictEqual(await page.$eval('#act-resume', (b) => b.disabled), false);
    const audit = (await engine.api('GET', '/v1/rollout/decisions?limit=1', 'admin')).body.decisions;
    assert.strictEqual(audit[0].action, 'operator_rollback');
    assert.deepStrictEqual(page.errors, []);
  },

  // no key: the page asks for one and shows nothing; the API refuses; a read-only key's actions are refused
  async 'no key'(engine, browser) {
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await page.waitForSelector('#key-dialog[open]', WAIT);
    assert.strictEqual(await text(page, '#percent'), '–');
    const direct = await page.evaluate(async () => (await fetch('/v1/rollout/rollback', {method: 'POST'})).status);
    assert.strictEqual(direct, 401);
    // an unknown key is refused and asked again
    await page.type('#key-input', 'not-a-key-of-this-engine');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /refused the key/.test(document.getElementById('key-message').textContent), WAIT);
    // closing the dialog then leaves the page without a key (the refused one is not kept), and it can be asked again
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.getElementById('conn').textContent === 'no key: nothing shown', WAIT);
    await page.click('#forget-key');
    await page.waitForSelector('#key-dialog[open]', WAIT);
    // a read-only key shows the rollout, and its action is refused by the engine, as the page then says
    await page.$eval('#key-input', (i) => { i.value = ''; });
    await page.type('#key-input', keys.read);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    await page.click('#act-rollback');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /refused by the engine \(HTTP 403\)/.test(
      document.getElementById('action-result').textContent), WAIT);
    const view = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    assert.strictEqual(view.state, 'running');
    assert.strictEqual(view.percent, 10);
  },

  // the engine goes away: the page says so, keeps the last figures, and comes back on its own
  async 'unreachable'(engine, browser) {
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    await page.evaluate(() => { window.sameDocument = 'kept'; });
    await engine.stop();
    await page.waitForFunction(() => /engine unreachable/.test(document.getElementById('conn').textContent), WAIT);
    assert.strictEqual(await text(page, '#percent'), '10%');
    assert.strictEqual(await page.$eval('body', (b) => b.classList.contains('stale')), true);
    // it comes back (same port, same store) with a change made while the page could not see it
    await engine.restart();
    assert.strictEqual((await engine.api('POST', '/v1/rollout/hold', 'admin')).status, 200);
    await page.waitForFunction(() => /^live · updated/.test(document.getElementById('conn').textContent), WAIT);
    await page.waitForFunction(() => document.getElementById('state').textContent === 'holding', WAIT);
    assert.strictEqual(await page.$eval('body', (b) => b.classList.contains('stale')), false);
    assert.strictEqual(await page.evaluate(() => window.sameDocument), 'kept');
  },

  // a dead letter listed with its Replay button; the replay goes through the engine after a confirmation
  async 'dead letters'(engine, browser) {
    const [id] = await engine.traffic(1, 'dead_lettered');
    const before = (await engine.api('GET', `/v1/jobs/${id}`, 'admin')).body.attempts.length;
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForSelector(`#dead button[data-replay="${id}"]`, WAIT);
    const listed = await row(page, '#dead', id);
    assert.strictEqual(listed[2], 'sd');
    await page.click(`#dead button[data-replay="${id}"]`);
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    assert.match(await text(page, '#confirm-text'), new RegExp(`Job ${id} .* runs again`));
    await page.click('#confirm-ok');
    await page.waitForFunction((id) => new RegExp(`Replay ${id}: done`).test(
      document.getElementById('action-result').textContent), WAIT, id);
    // the engine ran it again: more attempts, and on these providers it fails again
    const again = await engine.api('GET', `/v1/jobs/${id}?wait=20`, 'admin');
    assert.strictEqual(again.body.status, 'dead_lettered');
    assert.ok(again.body.attempts.length > before, `${again.body.attempts.length} attempts after the replay, ${before} before`);
  },

  // a `cutover simulate --out` folder opened through the file input, in the same views
  async 'simulation'(engine, browser) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-console-sim-'));
    execFileSync(binary, ['simulate', '--config', opt('sim-config'), '--scenario', opt('sim-scenario'), '--out', out],
                 {stdio: ['ignore', 'ignore', 'pipe']});
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.read);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    // a folder without decisions.csv says what is missing and changes nothing
    const input = await page.$('#sim-files');
    await input.uploadFile(path.join(out, 'summary.json'), path.join(out, 'timeline.csv'));
    await page.waitForFunction(() => /decisions\.csv is missing/.test(document.getElementById('sim-error').textContent), WAIT);
    await input.uploadFile(...['summary.json', 'timeline.csv', 'decisions.csv', 'daily.csv'].map((f) => path.join(out, f)));
    await page.waitForFunction(() => /^simulation/.test(document.getElementById('conn').textContent), WAIT);
    assert.strictEqual(await text(page, '#percent'), `${summary.final_percent}%`);
    assert.strictEqual(await text(page, '#state'), summary.final_state.replace('_', ' '));
    // summary.json does not list the phases: the page names the phase without guessing their number
    assert.match(await text(page, '#phase'), /^(phase \d+|before the first phase)$/);
    const marks = await page.$$eval('circle.mark', (m) => m.map((c) => c.getAttribute('data-action')));
    assert.ok(marks.includes('promote'), 'the promotions are marked: ' + marks.join(','));
    const gate = await row(page, '#gates', 'min_samples');
    assert.ok(gate, 'the last gates judged in the run');
    assert.strictEqual(await page.$$eval('#budget-chart rect', (r) => r.length > 0), true);
    // a simulation takes no action, and a refresh of the live engine does not overwrite it
    assert.strictEqual(await page.$eval('#act-rollback', (b) => b.disabled), true);
    await page.click('#back-live');
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    fs.rmSync(out, {recursive: true, force: true});
    assert.deepStrictEqual(page.errors, []);
  },

  // hovering a decision's mark shows that decision's gate and trigger figures, as the engine recorded them
  async 'hover'(engine, browser) {
    // the first phase's gates pass after a second and two candidate samples (main: ENGINE): they promote
    await engine.traffic(30);
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForSelector('circle.mark[data-action="promote"]', WAIT);
    const promote = (await engine.api('GET', '/v1/rollout/decisions?limit=200', 'admin')).body.decisions
      .find((d) => d.action === 'promote');
    assert.ok(promote, 'the engine promoted');
    assert.ok(promote.evaluations.length >= 5, JSON.stringify(promote));
    assert.ok(await page.$('#tip[hidden]'), 'no figures before the hover');
    await page.hover('circle.mark[data-action="promote"]');
    await page.waitForSelector('#tip:not([hidden])', WAIT);
    const lines = await page.$$eval('#tip > *', (n) => n.map((x) => x.textContent));
    assert.ok(lines[0].endsWith(` · phase ${Number(promote.phase) + 1} · promote · ${promote.percent}% · ${promote.state}`),
              lines[0]);
    assert.strictEqual(lines[1], promote.reason);
    for (const e of promote.evaluations) {
      const want = `${e.kind} ${e.name}: ${e.verdict} (${shown(e.name, e.observed)} vs ${shown(e.name, e.threshold)}, n=${e.samples})`;
      assert.ok(lines.includes(want), `"${want}" not in the tip:\n${lines.join('\n')}`);
    }
    // the figures themselves: the candidate's price for sd in this config, the gate's line, the samples seen
    const cost = lines.find((l) => l.startsWith('gate cost_per_image_max:'));
    assert.match(cost, /^gate cost_per_image_max: pass \(\$0\.0300 vs \$0\.0500, n=\d+\)$/);
    assert.match(lines.find((l) => l.startsWith('gate min_samples:')), /^gate min_samples: pass \([2-9]\d* vs 2, n=/);
    // another mark shows its own row, not the first one's. Marks a fraction of a second apart overlap, so the
    // pointer goes to a hold mark that nothing covers at its centre; and the chart is drawn again when a decision
    // arrives (the engine keeps deciding), where a mark drawn anew under a still pointer gets no mouseenter: so the
    // pointer moves off and onto such a mark again until its figures show, within the usual wait
    const holdShown = () => /· hold ·/.test((document.querySelector('#tip strong') || {}).textContent || '');
    const until = Date.now() + WAIT.timeout;
    for (;;) {
      const at = await page.evaluate(() => {
        for (const m of document.querySelectorAll('circle.mark[data-action="hold"]')) {
          const b = m.getBoundingClientRect();
          const x = b.x + b.width / 2, y = b.y + b.height / 2;
          if (document.elementFromPoint(x, y) === m) return {x, y};
        }
        return null;
      });
      assert.ok(at || Date.now() < until, 'every hold mark is covered by another mark');
      if (at) {
        await page.mouse.move(0, 0);
        await page.mouse.move(at.x, at.y);
        if (await page.waitForFunction(holdShown, {timeout: 1000}).then(() => true, () => false)) break;
      } else {
        await page.waitForFunction(() => new Promise((done) => requestAnimationFrame(() => done(true))));
      }
      assert.ok(Date.now() < until, 'no hold mark showed its figures when hovered');
    }
    assert.ok(!(await text(page, '#tip')).includes('gate cost_per_image_max: pass'));
    assert.deepStrictEqual(page.errors, []);
  },

  // a change made elsewhere (the API with the admin key) shows without a reload: the same document all along
  async 'live refresh'(engine, browser) {
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    await page.evaluate(() => { window.sameDocument = 'kept'; });
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) ++navigations; });

    assert.strictEqual((await engine.api('POST', '/v1/rollout/promote', 'admin')).status, 200);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '50%', WAIT);
    assert.strictEqual(await text(page, '#phase'), 'phase 2 of 3');
    const promoted = (await engine.api('GET', '/v1/rollout/decisions?limit=1', 'admin')).body.decisions[0];
    await page.waitForFunction((a) => document.querySelector('#decisions tbody tr').cells[1].textContent === a, WAIT,
                               promoted.action);

    assert.strictEqual((await engine.api('POST', '/v1/rollout/percent', 'admin', {percent: 10})).status, 200);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    const view = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    await page.waitForFunction((s) => document.getElementById('state').textContent === s, WAIT, view.state.replace('_', ' '));
    assert.strictEqual(await text(page, '#phase'), `phase ${view.phase + 1} of 3`);
    assert.strictEqual(await page.evaluate(() => window.sameDocument), 'kept');
    assert.strictEqual(navigations, 0);
    assert.deepStrictEqual(page.errors, []);
  },

  // a phone: no sideways scroll, the percent, phase and roll back button in view, and the button works by touch
  async 'phone'(engine, browser) {
    const page = await browserPage(browser);
    await page.setViewport({width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2});
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    await page.waitForSelector('#gates tbody tr', WAIT);
    await page.waitForSelector('#timeline svg', WAIT);
    await assertFits(page, 390);
    assert.strictEqual(await text(page, '#phase'), 'phase 1 of 3');
    await page.waitForFunction(() => !document.getElementById('act-rollback').disabled, WAIT);
    await page.tap('#act-rollback');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    const box = await page.$eval('#confirm-dialog', (d) => { const b = d.getBoundingClientRect(); return [b.left, b.right]; });
    assert.ok(box[0] >= 0 && box[1] <= 390, `the confirmation is outside the phone's width: ${box}`);
    await page.tap('#confirm-ok');
    await page.waitForFunction(() => /done\. The engine says rolled back at 0%/.test(
      document.getElementById('action-result').textContent), WAIT);
    assert.strictEqual((await engine.api('GET', '/v1/rollout', 'admin')).body.state, 'rolled_back');
    await page.waitForFunction(() => document.getElementById('percent').textContent === '0%', WAIT);
    await assertFits(page, 390);
    assert.deepStrictEqual(page.errors, []);
  },

  // names for every control, the actions by keyboard, and the main colours' contrast
  async 'accessibility'(engine, browser) {
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await page.waitForSelector('#key-dialog[open]', WAIT);
    const named = async (selector) => {
      const out = [];
      for (const h of await page.$$(selector)) {
        const node = await page.accessibility.snapshot({root: h, interestingOnly: false});
        const id = await h.evaluate((n) => n.id || n.getAttribute('data-action') || n.getAttribute('data-replay') || n.outerHTML.slice(0, 60));
        if (!node) { // not rendered (hidden): nothing to name
          assert.ok(await h.evaluate((n) => n.closest('[hidden]') !== null || n.getClientRects().length === 0), `${id} has no accessibility node`);
          continue;
        }
        out.push([id, node.name || '']);
      }
      assert.ok(out.length > 0, `no control matches ${selector}`);
      for (const [id, name] of out) assert.ok(name.trim(), `${id} has no accessible name`);
      return Object.fromEntries(out);
    };
    const dialog = await named('#key-dialog input, #key-dialog button');
    assert.strictEqual(dialog['key-input'], 'Key');
    await page.type('#key-input', keys.admin);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    await page.waitForSelector('circle.mark', WAIT);
    const names = await named('button, input, select, [tabindex]');
    assert.strictEqual(names['act-rollback'], 'Roll back');
    assert.match(names['sim-files'], /Open a simulation/);
    assert.match(names['hold'], /hold · 10% · running/); // a mark, named by its decision's figures

    // the main colours' contrast while the rollout runs
    await page.waitForSelector('#gates tbody tr', WAIT);
    await assertContrast(page, ['h1', 'h2', '#percent', '#phase', '#state', '#conn', '.muted', '#min-duration',
                                'thead th', 'tbody th', 'tbody td', '.badge', 'button:not(:disabled)',
                                'button.danger:not(:disabled)', '.act small', '.file', '.chart .axis']);

    // the keyboard: Tab from the top reaches the actions, Enter opens the confirmation, Escape cancels
    await page.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
    await page.mouse.click(5, 5); // the focus navigation starts at the top of the page
    const order = [];
    for (let i = 0; i < 40 && order[order.length - 1] !== 'act-rollback'; ++i) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName));
    }
    assert.strictEqual(order[order.length - 1], 'act-rollback', 'Tab never reached roll back: ' + order.join(' '));
    assert.ok(order.includes('act-hold'), order.join(' '));
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    assert.strictEqual(await page.evaluate(() => document.activeElement.id), 'confirm-cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm-dialog:not([open])', WAIT);
    assert.strictEqual((await engine.api('GET', '/v1/rollout', 'admin')).body.state, 'running');
    assert.strictEqual(await text(page, '#action-result'), '');
    assert.strictEqual(await page.evaluate(() => document.activeElement.id), 'act-rollback'); // back where it was
    // and through the keyboard alone: Enter, Tab to the confirming button, Enter
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    await page.keyboard.press('Tab');
    assert.strictEqual(await page.evaluate(() => document.activeElement.id), 'confirm-ok');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /rolled back at 0%/.test(document.getElementById('action-result').textContent), WAIT);
    assert.strictEqual((await engine.api('GET', '/v1/rollout', 'admin')).body.state, 'rolled_back');

    // and after the action: the result's colours, the rolled back state's badge, the reasons under the buttons
    await page.waitForFunction(() => document.getElementById('percent').textContent === '0%', WAIT);
    await assertContrast(page, ['#action-result', '#state', '.act small', '.muted']);
    assert.deepStrictEqual(page.errors, []);
  },

  // the main flow in any browser (Firefox ESR over WebDriver BiDi): load, live percent and phase, a gate's
  // figures, roll back through the button
  async 'main flow'(engine, browser) {
    await engine.traffic(4);
    const page = await browserPage(browser);
    await page.goto(engine.url + '/console');
    await enterKey(page, keys.admin);
    await page.waitForFunction(() => document.getElementById('percent').textContent === '10%', WAIT);
    const view = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    assert.strictEqual(await text(page, '#phase'), `phase ${view.phase + 1} of 3`);
    assert.strictEqual(await text(page, '#state'), 'running');
    await page.waitForFunction(() => /live · updated/.test(document.getElementById('conn').textContent), WAIT);
    await page.waitForSelector('#gates tbody tr', WAIT);
    assert.deepStrictEqual((await row(page, '#gates', 'cost_per_image_max')).slice(3, 4), ['$0.0500']);
    const samples = await row(page, '#gates', 'min_samples');
    assert.strictEqual(samples[2], String(view.gates.find((g) => g.name === 'min_samples').observed));
    assert.strictEqual(samples[3], '5');
    await page.waitForFunction(() => !document.getElementById('act-rollback').disabled, WAIT);
    await page.click('#act-rollback');
    await page.waitForSelector('#confirm-dialog[open]', WAIT);
    assert.match(await text(page, '#confirm-text'), /every user goes to the baseline at once \(0%\)/);
    await page.click('#confirm-ok');
    await page.waitForFunction(() => /done\. The engine says rolled back at 0%/.test(
      document.getElementById('action-result').textContent), WAIT);
    const after = (await engine.api('GET', '/v1/rollout', 'admin')).body;
    assert.strictEqual(after.state, 'rolled_back');
    await page.waitForFunction(() => document.getElementById('percent').textContent === '0%', WAIT);
    assert.deepStrictEqual(page.errors, []);
  },
};

/// The engines some cases need (the others: Engine.start's defaults).
const ENGINE = {'dead letters': {failing: true}, 'hover': {minDuration: '1s', minSamples: 2}};

/// Chromium (the default) or, with --browser firefox, Firefox ESR over WebDriver BiDi.
function launch() {
  if (opt('browser', 'chromium') === 'firefox') {
    const firefox = opt('firefox', process.env.FIREFOX || '/usr/bin/firefox-esr');
    if (!fs.existsSync(firefox)) throw new Error(`${firefox} not found: install Debian's firefox-esr (scripts/install-deps.sh --test)`);
    return puppeteer.launch({browser: 'firefox', executablePath: firefox, headless: true});
  }
  if (!fs.existsSync(chromium)) throw new Error(`${chromium} not found: install Debian's chromium (scripts/install-deps.sh --test)`);
  return puppeteer.launch({executablePath: chromium, headless: true,
                           args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
}

async function main() {
  const name = args[0];
  if (!cases[name]) throw new Error(`no case "${name}"; cases: ${Object.keys(cases).join(', ')}`);
  if (!binary) throw new Error('--binary is required');
  const engine = await Engine.start(binary, ENGINE[name] || {});
  const browser = await launch();
  try {
    await cases[name](engine, browser);
    console.log(`ok - ${name}`);
  } finally {
    await browser.close();
    await engine.stop();
    engine.cleanup();
  }
}

main().catch((e) => { console.error(`not ok - ${args[0]}\n${e.stack || e}`); process.exit(1); });
