// Screenshots of the console for docs/: a live engine on simulated providers in its first phase (traffic sent,
// an operator hold), the same page on a phone's width, and a `cutover simulate --out` folder opened in the page.
//   node screenshots.js --binary build/app/cutover --sim-config F --sim-scenario S --out docs/
// Not a test: it asserts nothing beyond the page showing its figures; run it by hand when the page changes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const {execFileSync} = require('child_process');
const puppeteer = require('puppeteer-core');
const {Engine, keys} = require('./engine.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf('--' + name); return i >= 0 ? args[i + 1] : dflt; };
const out = opt('out', 'docs');
const WAIT = {timeout: 15000};

async function main() {
  const engine = await Engine.start(opt('binary'));
  const browser = await puppeteer.launch({executablePath: opt('chromium', '/usr/bin/chromium'), headless: true,
                                          args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  try {
    // the first phase with traffic, an operator's hold and resume, a promotion to 50 % and more traffic there
    await engine.traffic(30);
    await engine.api('POST', '/v1/rollout/hold', 'admin');
    await engine.api('POST', '/v1/rollout/resume', 'admin');
    await engine.api('POST', '/v1/rollout/promote', 'admin');
    await engine.traffic(20);
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 1000});
    await page.goto(engine.url + '/console');
    await page.waitForSelector('#key-dialog[open]', WAIT);
    await page.type('#key-input', keys.admin);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#gates tbody tr', WAIT);
    await page.hover('circle.mark[data-action="operator_hold"]');
    await page.waitForSelector('#tip:not([hidden])', WAIT);
    await page.screenshot({path: path.join(out, 'console-live.png')});
    // a phone's width: the viewport change reloads the page, which keeps the key (sessionStorage) and draws again
    await page.setViewport({width: 390, height: 844, isMobile: true, deviceScaleFactor: 1});
    await page.waitForFunction(() => document.getElementById('percent').textContent === '50%', WAIT);
    await page.waitForSelector('#timeline svg', WAIT);
    await page.screenshot({path: path.join(out, 'console-phone.png')});

    const sim = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-console-shots-'));
    execFileSync(opt('binary'), ['simulate', '--config', opt('sim-config'), '--scenario', opt('sim-scenario'),
                                 '--out', sim], {stdio: ['ignore', 'ignore', 'inherit']});
    await page.setViewport({width: 1280, height: 1000});
    await page.waitForFunction(() => document.getElementById('percent').textContent === '50%', WAIT);
    const input = await page.$('#sim-files');
    await input.uploadFile(...['summary.json', 'timeline.csv', 'decisions.csv', 'daily.csv'].map((f) => path.join(sim, f)));
    await page.waitForFunction(() => /^simulation/.test(document.getElementById('conn').textContent), WAIT);
    const mark = await page.$('circle.mark.mark-bad') || await page.$('circle.mark');
    await mark.hover();
    await page.screenshot({path: path.join(out, 'console-simulation.png')});
    fs.rmSync(sim, {recursive: true, force: true});
  } finally {
    await browser.close();
    await engine.stop();
    engine.cleanup();
  }
}

main().catch((e) => { console.error(e.stack || e); process.exit(1); });
