#!/usr/bin/env node
// Cold start: the time and memory it takes a fresh Node process to load the Function app's
// modules (every dist/functions/*.js, as the Functions worker loads the package's `main`),
// beside loading @azure/functions alone, each in a child process of its own, in alternation
// (BENCH_ROUNDS rounds, default 15), and the same with the services built as the app-start hook
// builds them (on local development storage, so nothing is called). The children first install the local host's stand-in for
// the worker's @azure/functions-core, as the worker provides the real one. It prints the median
// of each, the ratio, and which Azure SDKs the app loads at start (the others load when first
// used: @azure/identity with the first Entra ID credential, @azure/eventgrid with an Event Grid
// sink, @azure/keyvault-keys with a Key Vault checkpoint key, @azure/event-hubs in
// `certfleet listen`).
//
// Run: npm run bench:cold-start
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const dist = join(__dirname, '..', 'dist');

function child(kind) {
  // The started app's services are built on local development storage: nothing is called.
  const env = { ...process.env, FleetStorage: 'UseDevelopmentStorage=true' };
  const run = spawnSync(process.execPath, [process.argv[1], kind], { encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`${kind} child failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

function measure(kind) {
  const Module = require('node:module');
  const sdks = new Set();
  const load = Module._load;
  Module._load = function (request, ...rest) {
    const match = /^(@azure\/[^/]+|@peculiar\/x509)/.exec(request);
    if (match) sdks.add(match[1]);
    return load.call(this, request, ...rest);
  };
  const start = process.hrtime.bigint();
  require(join(dist, 'shared', 'local', 'installFunctionsRuntimeApi'));
  if (kind === 'app' || kind === 'started') {
    for (const file of readdirSync(join(dist, 'functions')).sort())
      if (file.endsWith('.js')) require(join(dist, 'functions', file));
    // What the app-start hook (functions/startup.ts) does next: settings, then every client.
    if (kind === 'started') require(join(dist, 'shared', 'services')).services();
  } else {
    require('@azure/functions');
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(
    JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 1e6, sdks: [...sdks].sort() }),
  );
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main() {
  const runs = { base: [], app: [], started: [] };
  const kinds = Object.keys(runs);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const kind of round % 2 === 0 ? kinds : [...kinds].reverse()) runs[kind].push(child(kind));
  }
  const base = median(runs.base.map((r) => r.ms));
  const app = median(runs.app.map((r) => r.ms));
  const baseRss = median(runs.base.map((r) => r.rssMb));
  const appRss = median(runs.app.map((r) => r.rssMb));
  console.log(`node ${process.version}, ${ROUNDS} rounds each, alternating`);
  console.log(
    `@azure/functions alone: ${base.toFixed(0)} ms, ${baseRss.toFixed(0)} MB RSS (medians)`,
  );
  console.log(
    `the Function app:       ${app.toFixed(0)} ms, ${appRss.toFixed(0)} MB RSS (medians)`,
  );
  const started = median(runs.started.map((r) => r.ms));
  const startedRss = median(runs.started.map((r) => r.rssMb));
  console.log(
    `the app, services built: ${started.toFixed(0)} ms, ${startedRss.toFixed(0)} MB RSS (medians)`,
  );
  console.log(
    `ratio (app / @azure/functions): ${(app / base).toFixed(1)}; with services built: ${(started / base).toFixed(1)}`,
  );
  const loaded = runs.started[0].sdks.filter((s) => s !== '@azure/functions-core');
  console.log(`SDKs loaded once the app has started: ${loaded.join(', ')}`);
  const lazy = ['@azure/identity', '@azure/eventgrid', '@azure/keyvault-keys', '@azure/event-hubs'];
  const eager = lazy.filter((s) => loaded.includes(s));
  console.log(
    eager.length
      ? `loaded at start but meant to load on first use: ${eager.join(', ')}`
      : 'each optional SDK loads on first use',
  );
  if (eager.length) process.exitCode = 1;
}

if (['base', 'app', 'started'].includes(process.argv[2])) measure(process.argv[2]);
else main();
