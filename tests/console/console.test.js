// The operator console in Debian's Chromium (puppeteer-core), against a real `cutover serve` on loopback with a keys
// file and simulated providers. One case per run, named on the command line (ctest registers each):
//   node console.test.js <case> --binary build/app/cutover [--chromium /usr/bin/chromium] [--sim-config F --sim-scenario S]
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
    await engine.stop();
    await page.waitForFunction(() => /engine unreachable/.test(document.getElementById('conn').textContent), WAIT);
    assert.strictEqual(await text(page, '#percent'), '10%');
    assert.strictEqual(await page.$eval('body', (b) => b.classList.contains('stale')), true);
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
};

async function main() {
  const name = args[0];
  if (!cases[name]) throw new Error(`no case "${name}"; cases: ${Object.keys(cases).join(', ')}`);
  if (!binary) throw new Error('--binary is required');
  if (!fs.existsSync(chromium)) throw new Error(`${chromium} not found: install Debian's chromium (scripts/install-deps.sh --test)`);
  const engine = await Engine.start(binary, {failing: name === 'dead letters'});
  const browser = await puppeteer.launch({executablePath: chromium, headless: true,
                                          args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
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
