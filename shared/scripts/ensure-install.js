#!/usr/bin/env node
// Installs the project's dependencies when they are missing or older than package-lock.json,
// so `npm start` and `npm test` work on a fresh clone. Uses only Node's standard library.
'use strict';
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..', '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`certfleet needs Node.js 20 or later; this is ${process.version}`);
  process.exit(2);
}

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
const stale =
  !existsSync(installed) ||
  (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs);
if (stale) {
  console.log('certfleet: installing dependencies (npm ci)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
