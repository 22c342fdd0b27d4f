#!/usr/bin/env node
// Makes sure a Chromium is installed for the dashboard's browser test and screenshot
// (test/functions/dashboard.browser.azurite.test.ts, shared/scripts/dashboard-screenshot.js).
// Uses only Node's standard library, like ensure-install.js.
//
// Looks for CERTFLEET_CHROMIUM, then /usr/bin/chromium, then chromium or chromium-browser on the
// PATH. When none is there and this is root on a system with apt-get (Debian, Ubuntu), installs
// Debian's `chromium` package, running `apt-get update` only if the install fails without it.
// Otherwise it prints how to install one and exits 0: the browser test then fails with the same
// message (it never skips quietly). `--print` prints the executable found, or nothing.
'use strict';
const { accessSync, constants } = require('node:fs');
const { delimiter, join } = require('node:path');
const { spawnSync } = require('node:child_process');

const HOW_TO =
  'install Chromium (Debian/Ubuntu: `sudo apt-get install -y chromium`) or set CERTFLEET_CHROMIUM to a Chromium or Chrome executable';

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium executable to use, or undefined. */
function findChromium(env = process.env) {
  if (env.CERTFLEET_CHROMIUM)
    return executable(env.CERTFLEET_CHROMIUM) ? env.CERTFLEET_CHROMIUM : undefined;
  if (executable('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (env.PATH || '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (executable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

function onPath(name) {
  return (process.env.PATH || '')
    .split(delimiter)
    .some((dir) => dir && executable(join(dir, name)));
}

function aptGet(args) {
  const run = spawnSync('apt-get', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return { ok: run.status === 0, output: `${run.stdout || ''}${run.stderr || ''}` };
}

function install() {
  const packages = ['install', '-y', '--no-install-recommends', 'chromium'];
  let result = aptGet(packages);
  if (!result.ok) {
    // A fresh machine has no package lists yet: fetch them, then try once more.
    const update = aptGet(['update']);
    if (!update.ok) return update;
    result = aptGet(packages);
  }
  return result;
}

function main() {
  if (process.argv.includes('--print')) {
    process.stdout.write(findChromium() || '');
    return;
  }
  if (findChromium()) return;
  if (process.env.CERTFLEET_CHROMIUM) {
    console.log(
      `certfleet: CERTFLEET_CHROMIUM=${process.env.CERTFLEET_CHROMIUM} is not an executable: ${HOW_TO}.`,
    );
    return;
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !onPath('apt-get')) {
    console.log(`certfleet: no Chromium found for the dashboard's browser test: ${HOW_TO}.`);
    return;
  }
  process.stdout.write(
    'certfleet: installing Chromium for the dashboard browser test (apt-get install chromium)…',
  );
  const started = Date.now();
  const result = install();
  if (!result.ok || !findChromium()) {
    const tail = result.output.trim().split('\n').slice(-5).join('\n');
    process.stdout.write(` failed: ${HOW_TO}.\n${tail}\n`);
    return;
  }
  process.stdout.write(` done in ${Math.round((Date.now() - started) / 1000)} s.\n`);
}

module.exports = { findChromium, HOW_TO };

if (require.main === module) main();
