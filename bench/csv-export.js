#!/usr/bin/env node
// The device report's CSV export against a bare scan of the same table. Seeds BENCH_DEVICES
// (100,000) ledger records into one Azurite through the ledger adapter, then runs, each in a
// child process of its own and in alternation (BENCH_ROUNDS rounds):
//   (a) scan:   @azure/data-tables listing every entity of the devices table, pages as
//               the ledger reads them (LIST_PAGE_SIZE), discarding them;
//   (b) export: `certfleet report devices --format csv`'s code path, FleetReports.deviceText,
//               into /dev/null.
// It prints each one's time and peak RSS (the child's process.resourceUsage().maxRSS), the time
// ratio, and whether the export's peak stayed under 150 MB (exit 1 if not).
// BENCH_PROBE=1 adds a line every 5,000 exported rows: the heap after a forced GC.
// Run: npm run bench:export (after npm install).
'use strict';
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const { createWriteStream } = require('node:fs');
const { performance } = require('node:perf_hooks');
const dist = require('node:path').join(__dirname, '..', 'dist', 'shared');
const { newDeviceRecord } = require(`${dist}/domain/DeviceRecord`);

const DEVICES = Number(process.env.BENCH_DEVICES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PEAK_LIMIT_MB = 150;
const CAPPED_HEAP_MB = 48;
const PREFIX = 'benchexport';
const NOW = '2026-11-23T12:00:00.000Z';

/** A device as the ledger keeps one after a renewal: two certificates held, a few events. */
function record(i) {
  const id = `meter-${String(i).padStart(7, '0')}`;
  const r = newDeviceRecord(`plant-${i % 4}`, id, NOW);
  const hex = (seed, length) =>
    createHash('sha256').update(`${seed}${i}`).digest('hex').toUpperCase().slice(0, length);
  const day = i % 60;
  const validFrom = new Date(
    Date.parse('2026-10-01T00:00:00.000Z') + day * 86_400_000,
  ).toISOString();
  const validUntil = new Date(Date.parse(validFrom) + 90 * 86_400_000).toISOString();
  const facts = (from, until, seed) => ({
    source: 'pem',
    validFrom: from,
    validUntil: until,
    thumbprintSha1: hex(`${seed}1`, 40),
    thumbprintSha256: hex(`${seed}2`, 64),
    serialNumber: hex(`${seed}3`, 32),
    subject: `CN=${id}`,
    issuer:
      i % 10 === 0
        ? 'CN=Partner Issuing CA, O=Partner'
        : 'CN=Contoso Issuing CA G2, O=Contoso, C=US',
    commonName: id,
    keyAlgorithm: 'ECDSA P-384',
    keySize: 384,
    publicKeySha256: hex(`${seed}4`, 64),
    signatureAlgorithm: 'ECDSA with SHA-384',
    chainLength: 1,
    firstSeenAt: from,
    reportedVersion: seed === 'old' ? 2 : 5,
  });
  const previousFrom = new Date(Date.parse(validFrom) - 80 * 86_400_000).toISOString();
  r.previous = facts(
    previousFrom,
    new Date(Date.parse(previousFrom) + 90 * 86_400_000).toISOString(),
    'old',
  );
  r.current = facts(validFrom, validUntil, 'new');
  r.reportedVersion = 5;
  r.createdAt = '2026-01-15T08:00:00.000Z';
  r.lastSeenAt = '2026-11-23T11:00:00.000Z';
  r.connection = {
    state: i % 3 === 0 ? 'disconnected' : 'connected',
    changedAt: '2026-11-23T11:00:00.000Z',
  };
  r.cohort = `line-${i % 12}`;
  r.renewalDueAt = new Date(Date.parse(validFrom) + 76.5 * 86_400_000).toISOString();
  r.history = [r.previous, r.current].map((c) => ({
    thumbprintSha1: c.thumbprintSha1,
    thumbprintSha256: c.thumbprintSha256,
    serialNumber: c.serialNumber,
    issuer: c.issuer,
    subject: c.subject,
    validFrom: c.validFrom,
    validUntil: c.validUntil,
    source: 'pem',
    firstSeenAt: c.firstSeenAt,
    reportedVersion: c.reportedVersion,
    incarnation: 0,
  }));
  if (i % 50 === 0) {
    r.renewal = {
      status: 'retrying',
      campaignId: hex('c', 32),
      startedAt: '2026-11-22T00:00:00.000Z',
      trigger: 'due',
      attempts: 2,
      failures: 1,
      lastAttempt: { at: '2026-11-23T00:00:00.000Z', requestId: hex('r', 32), outcome: 'timeout' },
      nextAttemptAt: '2026-11-23T13:00:00.000Z',
      reason: 'device did not answer in time (504101)',
    };
  }
  return r;
}

/**
 * Seeds the ledger. Through the adapter alone (two requests a record) 100,000 records take some
 * ten minutes on Azurite, so the first ADAPTER_SEEDED go through `ledger.write` (the real path,
 * which also creates the tables) and the rest as the same entities in batch transactions of 100
 * (one partition per hub). The entity is checked against one the adapter wrote, property for
 * property, so the two cannot drift apart unnoticed. The renewal index, which the export never
 * reads, is left out for the batched ones.
 */
const ADAPTER_SEEDED = Math.min(DEVICES, 2_000);

async function seed(services, connectionString) {
  const { TableClient } = require('@azure/data-tables');
  const { ledgerEntityKeys } = require(`${dist}/adapters/storage/storageKeys`);
  const { mapWithConcurrency } = require(`${dist}/app/concurrency`);
  const table = TableClient.fromConnectionString(connectionString, `${PREFIX}devices`, {
    allowInsecureConnection: true,
  });
  const entityOf = (r) => {
    const doc = JSON.stringify(r);
    if (doc.length > 30_000) throw new Error('a bench record must fit one doc property');
    const entity = {
      ...ledgerEntityKeys(r),
      hub: r.hub,
      deviceId: r.deviceId,
      lifecycle: r.lifecycle,
      connectionState: r.connection.state,
      findings: r.findings.length,
      updatedAt: r.updatedAt,
      docChunks: 1,
      doc,
    };
    if (r.current) entity.validUntil = r.current.validUntil;
    if (r.renewalDueAt) entity.renewalDueAt = r.renewalDueAt;
    return entity;
  };
  console.log(`seeding ${DEVICES} ledger records (${ADAPTER_SEEDED} through the ledger adapter)…`);
  const direct = Array.from({ length: ADAPTER_SEEDED }, (_, i) => i);
  await mapWithConcurrency(direct, 64, (i) => services.ledger.write(record(i), undefined));
  const written = await table.getEntity(
    ledgerEntityKeys(record(0)).partitionKey,
    ledgerEntityKeys(record(0)).rowKey,
  );
  const names = (e) =>
    Object.keys(e)
      .filter((k) => !['etag', 'timestamp', 'odata.metadata'].includes(k))
      .sort();
  if (names(written).join() !== names(entityOf(record(0))).join())
    throw new Error(
      `the adapter's entity has ${names(written)}; the bench's ${names(entityOf(record(0)))}`,
    );
  const batches = [];
  for (let hub = 0; hub < 4; hub += 1) {
    let batch = [];
    for (let i = ADAPTER_SEEDED; i < DEVICES; i += 1) {
      if (i % 4 !== hub) continue;
      batch.push(['create', entityOf(record(i))]);
      if (batch.length === 100) {
        batches.push(batch);
        batch = [];
      }
    }
    if (batch.length > 0) batches.push(batch);
  }
  await mapWithConcurrency(batches, 8, (actions) => table.submitTransaction(actions));
}

async function parent() {
  const { startAzurite } = require(`${dist}/local/azurite`);
  const { loadSettings } = require(`${dist}/config/settings`);
  const { buildServices } = require(`${dist}/services`);
  const { ManualClock } = require(`${dist}/domain/Clock`);
  const azurite = await startAzurite();
  try {
    const env = { FleetStorage: azurite.connectionString, CERTFLEET_STORAGE_PREFIX: PREFIX };
    const services = buildServices(loadSettings(env), new ManualClock(NOW));
    const seedStart = performance.now();
    await seed(services, azurite.connectionString);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    console.log(`seeded in ${seedSeconds.toFixed(1)} s`);

    const runs = { scan: [], export: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const kind of ['scan', 'export']) {
        const result = await child(kind, env);
        runs[kind].push(result);
        console.log(
          `  round ${round + 1} ${kind.padEnd(6)} ${result.ms.toFixed(0).padStart(7)} ms  ${result.rows} rows  peak RSS ${mb(result.maxRssKb)} MB${kind === 'export' ? `  ${(result.bytes / 1e6).toFixed(1)} MB of CSV` : ''}`,
        );
      }
    }
    // The same export with V8's old space capped: it completes, so what the default run's peak
    // holds beyond that is garbage V8 had not yet needed to collect, not rows kept.
    const capped = await child('export', env, [`--max-old-space-size=${CAPPED_HEAP_MB}`]);
    console.log(
      `  capped export (--max-old-space-size=${CAPPED_HEAP_MB}) ${capped.ms.toFixed(0)} ms  ${capped.rows} rows  peak RSS ${mb(capped.maxRssKb)} MB`,
    );
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const scanMs = median(runs.scan.map((r) => r.ms));
    const exportMs = median(runs.export.map((r) => r.ms));
    const scanPeak = Math.max(...runs.scan.map((r) => r.maxRssKb));
    const exportPeak = Math.max(...runs.export.map((r) => r.maxRssKb));
    console.log(`devices: ${DEVICES}; seed ${seedSeconds.toFixed(1)} s`);
    console.log(
      `bare scan:  ${scanMs.toFixed(0)} ms (median of ${ROUNDS}), peak RSS ${mb(scanPeak)} MB`,
    );
    console.log(
      `CSV export: ${exportMs.toFixed(0)} ms (median of ${ROUNDS}), peak RSS ${mb(exportPeak)} MB`,
    );
    console.log(`time ratio (export / scan): ${(exportMs / scanMs).toFixed(2)}`);
    const under = exportPeak / 1024 < PEAK_LIMIT_MB;
    console.log(`export peak RSS under ${PEAK_LIMIT_MB} MB: ${under ? 'yes' : 'NO'}`);
    if (!under) process.exitCode = 1;
    const all = [...runs.export, ...runs.scan, capped];
    if (all.some((r) => r.rows !== DEVICES)) {
      console.error('a run did not see every device');
      process.exitCode = 1;
    }
  } finally {
    await azurite.stop();
  }
}

function mb(kb) {
  return (kb / 1024).toFixed(1);
}

/** Runs one measurement in a fresh process, so its peak RSS is its own. */
function child(kind, env, nodeFlags = []) {
  return new Promise((resolve, reject) => {
    // BENCH_PROBE=1: the export prints its heap after a forced GC every 5,000 rows (to stderr),
    // which shows whether anything is kept as the rows go by. The forced GCs change the peak.
    const flags = [
      ...nodeFlags,
      ...(process.env.BENCH_PROBE ? ['--expose-gc'] : []),
      // BENCH_NODE_FLAGS: V8 flags for both children, to see how GC settings move the peaks.
      ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
    ];
    const proc = spawn(process.execPath, [...flags, process.argv[1], kind], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${kind} child exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

/** (a) The table listed as the ledger adapter lists it, each entity dropped. */
async function scan() {
  const { TableClient } = require('@azure/data-tables');
  const table = TableClient.fromConnectionString(process.env.FleetStorage, `${PREFIX}devices`, {
    allowInsecureConnection: true,
  });
  const start = performance.now();
  let rows = 0;
  const { LIST_PAGE_SIZE } = require(`${dist}/adapters/storage/TableCertificateLedger`);
  for await (const page of table.listEntities().byPage({ maxPageSize: LIST_PAGE_SIZE }))
    rows += page.length;
  return { ms: performance.now() - start, rows, bytes: 0 };
}

/** (b) The CSV export through FleetReports, into /dev/null, waiting for the sink as a pipe would. */
async function exportCsv() {
  const { loadSettings } = require(`${dist}/config/settings`);
  const { buildServices } = require(`${dist}/services`);
  const { ManualClock } = require(`${dist}/domain/Clock`);
  const services = buildServices(loadSettings(process.env), new ManualClock(NOW));
  const sink = createWriteStream('/dev/null');
  const start = performance.now();
  let bytes = 0;
  let records = 0;
  let probeAt = 0;
  for await (const chunk of services.reports.deviceText('csv', {})) {
    bytes += require('node:buffer').Buffer.byteLength(chunk);
    for (let at = chunk.indexOf('\r\n'); at >= 0; at = chunk.indexOf('\r\n', at + 2)) records += 1;
    if (!sink.write(chunk)) await new Promise((resolve) => sink.once('drain', resolve));
    if (process.env.BENCH_PROBE && records >= probeAt) {
      probeAt += 5000;
      if (global.gc) global.gc();
      const m = process.memoryUsage();
      console.error(
        `    probe: ${records} rows, heap used after GC ${(m.heapUsed / 1e6).toFixed(0)} MB, RSS ${(m.rss / 1e6).toFixed(0)} MB`,
      );
    }
  }
  await new Promise((resolve) => sink.end(resolve));
  return { ms: performance.now() - start, rows: records - 1, bytes };
}

const kind = process.argv[2];
if (kind === 'scan' || kind === 'export') {
  (kind === 'scan' ? scan() : exportCsv())
    .then((result) => {
      console.log(JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS }));
    })
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
} else {
  parent().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
