#!/usr/bin/env node
// Installs the tests' npm projects (tests/openai-client, tests/console) from tarballs committed beside this file,
// exactly as their package-lock.json pins them, with no registry and no npm: the test command must work on a machine
// that reaches Debian's archive but not the npm registry (or not through its TLS). Each tarball is checked against the
// lock's sha512 integrity before it is unpacked, so a tarball that is not the one the lock names is refused.
//   node vendor.js install LOCK DEST   unpack LOCK's packages into DEST/node_modules/... (skipped when DEST already
//                                       holds this lock's packages); exit 1 naming any missing or altered tarball
//   node vendor.js fetch LOCK...        (maintainers, after changing a lock) download the locks' tarballs from the
//                                       registry into tarballs/, check them, and remove tarballs no lock names
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const tarballs = path.join(__dirname, 'tarballs');

// The packages a lock (lockfileVersion 2 or 3) installs: its install path, name, version and integrity. Packages
// for another platform (os/cpu) are left out, as npm leaves them out.
function packagesOf(lockFile) {
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
  if (!lock.packages) throw new Error(`${lockFile}: no "packages" (lockfileVersion ${lock.lockfileVersion}, want 2 or 3)`);
  const fits = (list, value) => !list || list.some(x => x === value) || (list.every(x => x.startsWith('!')) && !list.includes('!' + value));
  const out = [];
  for (const [where, p] of Object.entries(lock.packages)) {
    if (!where || p.link) continue;
    if (!p.version || !p.integrity) throw new Error(`${lockFile}: ${where} has no version or integrity`);
    if (!fits(p.os, process.platform) || !fits(p.cpu, process.arch)) continue;
    const name = p.name || where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push({ where, name, version: p.version, integrity: p.integrity });
  }
  return out;
}

const fileOf = pkg => path.join(tarballs, `${pkg.name.replace('/', '+')}-${pkg.version}.tgz`);

function checkIntegrity(pkg, bytes) {
  const [algo, want] = pkg.integrity.split(' ')[0].split(/-(.*)/s);
  const got = crypto.createHash(algo).update(bytes).digest('base64');
  if (got !== want) throw new Error(`${path.basename(fileOf(pkg))}: ${algo} is ${got}, the lock says ${want}`);
}

function install(lockFile, dest) {
  const stamp = path.join(dest, 'installed.lock');
  const lockText = fs.readFileSync(lockFile, 'utf8');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === lockText) return 0;
  const pkgs = packagesOf(lockFile);
  const missing = pkgs.filter(p => !fs.existsSync(fileOf(p)));
  if (missing.length) {
    console.error(`missing tarballs in ${tarballs} (run: node ${__filename} fetch ${lockFile}):`);
    for (const p of missing) console.error(`  ${path.basename(fileOf(p))}`);
    return 1;
  }
  for (const p of pkgs) checkIntegrity(p, fs.readFileSync(fileOf(p)));   // all of them before anything is unpacked
  fs.rmSync(path.join(dest, 'node_modules'), { recursive: true, force: true });
  fs.rmSync(stamp, { force: true });
  for (const p of pkgs) {
    const into = path.join(dest, p.where);
    fs.mkdirSync(into, { recursive: true });
    // npm's tarballs hold one top folder (usually "package/"); owners and odd modes are not kept
    execFileSync('tar', ['-xzf', fileOf(p), '-C', into, '--strip-components=1', '--no-same-owner', '--no-same-permissions']);
    execFileSync('chmod', ['-R', 'u+rwX,go+rX', into]);
  }
  fs.writeFileSync(stamp, lockText);
  console.log(`installed ${pkgs.length} packages from ${path.relative(process.cwd(), lockFile) || lockFile} into ${dest}`);
  return 0;
}

async function fetchAll(lockFiles) {
  fs.mkdirSync(tarballs, { recursive: true });
  const keep = new Set();
  for (const lockFile of lockFiles) {
    for (const p of packagesOf(lockFile)) {
      const file = fileOf(p);
      keep.add(path.basename(file));
      if (fs.existsSync(file)) { checkIntegrity(p, fs.readFileSync(file)); continue; }
      const url = `https://registry.npmjs.org/${p.name}/-/${p.name.split('/').pop()}-${p.version}.tgz`;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      checkIntegrity(p, bytes);
      fs.writeFileSync(file, bytes);
      console.log(`fetched ${path.basename(file)}`);
    }
  }
  for (const f of fs.readdirSync(tarballs)) {
    if (f.endsWith('.tgz') && !keep.has(f)) { fs.rmSync(path.join(tarballs, f)); console.log(`removed ${f}`); }
  }
}

function main(argv) {
  const [what, ...rest] = argv;
  if (what === 'install' && rest.length === 2) return install(rest[0], rest[1]);
  if (what === 'fetch' && rest.length > 0) return fetchAll(rest).then(() => 0);
  console.error('usage: vendor.js install LOCK DEST | vendor.js fetch LOCK...');
  return 2;
}

Promise.resolve()
  .then(() => main(process.argv.slice(2)))
  .then(code => { process.exitCode = code; })
  .catch(e => { console.error(e.message); process.exitCode = 1; });
