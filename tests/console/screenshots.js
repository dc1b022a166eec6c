// Screenshots of the console for docs/: a live engine on simulated providers whose gates promoted it to 50 % (its
// figures shown on hover), with an operator's hold there, the same page on a phone, and a `cutover simulate --out`
// folder opened in the page.
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
  // a first phase the gates pass after 2 s and two candidate samples, so the promotion carries real figures
  const engine = await Engine.start(opt('binary'), {minDuration: '2s', minSamples: 2});
  const browser = await puppeteer.launch({executablePath: opt('chromium', '/usr/bin/chromium'), headless: true,
                                          args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  try {
    // the first phase with traffic, the gates' promotion to 50 %, more traffic there, an operator's hold
    await engine.traffic(30);
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 1000});
    await page.goto(engine.url + '/console');
    await page.waitForSelector('#key-dialog[open]', WAIT);
    await page.type('#key-input', keys.admin);
    await page.keyboard.press('Enter');
    await page.waitForSelector('circle.mark[data-action="promote"]', WAIT);
    await engine.traffic(30);
    await engine.api('POST', '/v1/rollout/hold', 'admin');
    await page.waitForSelector('circle.mark[data-action="operator_hold"]', WAIT);
    await page.waitForSelector('#gates tbody tr', WAIT);
    await page.hover('circle.mark[data-action="promote"]');
    await page.waitForSelector('#tip:not([hidden])', WAIT);
    await page.screenshot({path: path.join(out, 'console-live.png')});
    // a phone's width: the viewport change reloads the page, which keeps the key (sessionStorage) and draws again
    await page.mouse.move(0, 0);
    await page.setViewport({width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1});
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
