#!/usr/bin/env node
// `npm run screenshot:dashboard`: renders the fleet dashboard on the fleet `npm start` simulates
// and writes docs/dashboard.png, 1280 px wide. Runs the built app (dist/, `npm run build`): it
// starts Azurite, runs the simulated fleet through certfleet's real handlers, serves the HTTP
// functions with the local host, opens GET /api/dashboard in Chromium (playwright-core) and
// waits for the charts before taking the picture.
//
//   node shared/scripts/dashboard-screenshot.js [--devices N] [--days N] [--seed N]
//                                               [--out FILE] [--height PX]
//
// --height limits the picture to the top of the page (default 2400 px; 0: the whole page).
'use strict';
const { existsSync } = require('node:fs');
const { join, relative } = require('node:path');
const { findChromium, HOW_TO } = require('./ensure-browser.js');

const root = join(__dirname, '..', '..');
const dist = join(root, 'dist');
const WIDTH = 1280;

function parseArgs(argv) {
  const options = { out: join(root, 'docs', 'dashboard.png'), height: 2400 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const number = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${arg} takes a number`);
      return v;
    };
    if (arg === '--devices') options.devices = number();
    else if (arg === '--days') options.days = number();
    else if (arg === '--seed') options.seed = number();
    else if (arg === '--height') options.height = number();
    else if (arg === '--out') options.out = argv[++i];
    else
      throw new Error(`unknown option ${arg} (known: --devices, --days, --seed, --out, --height)`);
  }
  return options;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const executablePath = findChromium();
  if (!executablePath) throw new Error(`no Chromium: ${HOW_TO}`);
  if (!existsSync(join(dist, 'shared', 'local', 'triggerDefinitions.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  // First: the function files register with the local host as they load.
  const { httpTriggers } = require(join(dist, 'shared', 'local', 'triggerDefinitions.js'));
  const { LocalHost } = require(join(dist, 'shared', 'local', 'LocalHost.js'));
  const { startAzurite } = require(join(dist, 'shared', 'local', 'azurite.js'));
  const { loadSettings } = require(join(dist, 'shared', 'config', 'settings.js'));
  const { ManualClock } = require(join(dist, 'shared', 'domain', 'Clock.js'));
  const { useServices } = require(join(dist, 'shared', 'services.js'));
  const fleetModule = require(join(dist, 'shared', 'simulation', 'fleet', 'index.js'));
  const { SimulatedFleet, defaultFleetOptions, runSimulatedFleet } = fleetModule;
  const { chromium } = require('playwright-core');

  const fleetOptions = {
    ...defaultFleetOptions(args.seed || 1),
    ...(args.devices !== undefined ? { devices: args.devices } : {}),
    ...(args.days ? { days: args.days } : {}),
  };
  const azurite = await startAzurite();
  let host;
  let browser;
  try {
    const clock = new ManualClock(fleetOptions.start);
    const fleet = await SimulatedFleet.create(fleetOptions, clock);
    console.log(
      `certfleet: ${fleet.devices.length} simulated devices, ${fleetOptions.days} days of fleet time…`,
    );
    const started = Date.now();
    const settings = loadSettings({ FleetStorage: azurite.connectionString, ...fleet.environment });
    const { services } = await runSimulatedFleet({
      settings,
      clock,
      fleet,
      start: fleetOptions.start,
      days: fleetOptions.days,
    });
    console.log(`certfleet: fleet run in ${Math.round((Date.now() - started) / 1000)} s`);
    useServices(services);
    host = new LocalHost(httpTriggers);
    const base = await host.listen(0);
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: WIDTH, height: 900 } });
    // How long the page takes to make on this fleet: two passes over the ledger, side by side.
    const asked = Date.now();
    await (await page.request.get(`${base}/api/dashboard`)).body();
    console.log(`certfleet: GET /api/dashboard answered in ${Date.now() - asked} ms`);
    const response = await page.goto(`${base}/api/dashboard`);
    if (!response || response.status() !== 200)
      throw new Error(`GET /api/dashboard answered ${response ? response.status() : 'nothing'}`);
    await page.waitForSelector('html[data-charts="ready"]', { timeout: 30_000 });
    const full = await page.evaluate('document.documentElement.scrollHeight');
    const height = args.height > 0 ? Math.min(full, args.height) : full;
    await page.screenshot({
      path: args.out,
      fullPage: true,
      clip: { x: 0, y: 0, width: WIDTH, height },
    });
    console.log(`certfleet: wrote ${relative(process.cwd(), args.out)} (${WIDTH}×${height} px)`);
  } finally {
    await browser?.close();
    await host?.close();
    await azurite.stop();
  }
}

main().catch((error) => {
  console.error(`certfleet: ${error.message}`);
  process.exitCode = 1;
});
