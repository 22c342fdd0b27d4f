#!/usr/bin/env node
// Sweep cost against fleet size (issue 3: "a sweep over a fleet ten times larger, with the same
// devices due, costs about the same"). Builds two ledgers on one Azurite, side by side: N devices
// and 10 x N devices, each with the same K devices due, then times dry-run sweeps on both in
// alternation and counts the index entries each reads. Run: npm run bench (after npm install).
'use strict';
const { performance } = require('node:perf_hooks');
const dist = require('node:path').join(__dirname, '..', 'dist', 'shared');
const { startAzurite } = require(`${dist}/local/azurite`);
const { loadSettings } = require(`${dist}/config/settings`);
const { buildServices } = require(`${dist}/services`);
const { ManualClock } = require(`${dist}/domain/Clock`);
const { newDeviceRecord } = require(`${dist}/domain/DeviceRecord`);
const { mapWithConcurrency } = require(`${dist}/app/concurrency`);

const NOW = '2026-11-23T12:00:00.000Z';
const SMALL = Number(process.env.BENCH_DEVICES ?? 300);
const DUE = Number(process.env.BENCH_DUE ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

function record(i, due) {
  const r = newDeviceRecord('bench-hub', `device-${String(i).padStart(6, '0')}`, NOW);
  const validFrom = due ? '2026-10-27T00:00:00.000Z' : '2026-11-20T00:00:00.000Z';
  const validUntil = due ? '2026-11-26T00:00:00.000Z' : '2026-12-20T00:00:00.000Z';
  r.current = {
    source: 'reported',
    validFrom,
    validUntil,
    firstSeenAt: validFrom,
    reportedVersion: 2,
  };
  r.reportedVersion = 2;
  // Due ones fell due yesterday; the rest in four weeks, far beyond the planning horizon.
  r.renewalDueAt = due ? '2026-11-22T12:00:00.000Z' : '2026-12-16T00:00:00.000Z';
  return r;
}

async function fleet(connectionString, prefix, size) {
  const services = buildServices(
    loadSettings({
      FleetStorage: connectionString,
      CERTFLEET_STORAGE_PREFIX: prefix,
      CERTFLEET_IOTHUB_ENDPOINT: 'http://127.0.0.1:9',
    }),
    { clock: new ManualClock(NOW), sleep: async () => undefined },
  );
  const ids = Array.from({ length: size }, (_, i) => i);
  await mapWithConcurrency(ids, 16, (i) => services.ledger.write(record(i, i < DUE), undefined));
  return services;
}

async function measure(services) {
  const start = performance.now();
  const report = await services.renewals.sweep({ dryRun: true });
  return { ms: performance.now() - start, read: report.pending, planned: report.planned.length };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

(async () => {
  const azurite = await startAzurite();
  try {
    console.log(`building fleets: ${SMALL} and ${SMALL * 10} devices, ${DUE} due in each…`);
    const small = await fleet(azurite.connectionString, 'benchsmall', SMALL);
    const large = await fleet(azurite.connectionString, 'benchlarge', SMALL * 10);
    await measure(small); // warm both (table creation, connections)
    await measure(large);
    const times = { small: [], large: [] };
    let last;
    for (let round = 0; round < ROUNDS; round += 1) {
      const a = await measure(small);
      const b = await measure(large);
      times.small.push(a.ms);
      times.large.push(b.ms);
      last = { a, b };
    }
    const ratio = median(times.large) / median(times.small);
    console.log(
      `fleet ${SMALL}:   median sweep ${median(times.small).toFixed(1)} ms, index entries read ${last.a.read}, planned ${last.a.planned}`,
    );
    console.log(
      `fleet ${SMALL * 10}:  median sweep ${median(times.large).toFixed(1)} ms, index entries read ${last.b.read}, planned ${last.b.planned}`,
    );
    console.log(
      `time ratio (10x fleet / 1x fleet): ${ratio.toFixed(2)}; entries ratio: ${(last.b.read / last.a.read).toFixed(2)}`,
    );
  } finally {
    await azurite.stop();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
