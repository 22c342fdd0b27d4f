#!/usr/bin/env node
// Ingest against the floor: certfleet's real ingest use case and a bare loop with the same SDKs
// run side by side on one Azurite, batch for batch in alternation, and the ratio of their
// throughputs is printed per kind of event. The floor makes one table write per event (an
// entity as large as certfleet's record) and one 100-line append per 100 events: the least any
// ledger with an audit trail could do. Each side talks to Azurite through a proxy of its own
// that counts requests, so round trips per event are measured, not inferred. At the end, how
// the ledger's rows spread over the table's partitions.
//
// Run: npm run bench:ingest (after npm install). BENCH_DEVICES (default 2000) sets the fleet.
'use strict';
const http = require('node:http');
const { Buffer } = require('node:buffer');
const { performance } = require('node:perf_hooks');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist', 'shared');
const { startAzurite, azuriteConnectionString } = require(`${dist}/local/azurite`);
const { loadSettings } = require(`${dist}/config/settings`);
const { buildServices } = require(`${dist}/services`);
const { ManualClock } = require(`${dist}/domain/Clock`);
const { mapWithConcurrency } = require(`${dist}/app/concurrency`);
const { twinUpdated, deviceConnected, deviceCreated } = require(`${dist}/local/iotHubMessages`);
const { TableClient } = require('@azure/data-tables');
const { BlobServiceClient } = require('@azure/storage-blob');

const DEVICES = Number(process.env.BENCH_DEVICES ?? 2000);
const BATCH = 100;
/** What the Functions host hands one invocation at most by default, and ingest's own fan-out. */
const CONCURRENCY = 16;
const HUB = 'bench-hub';
const DAY_MS = 86_400_000;
const START = Date.parse('2026-11-23T12:00:00.000Z');

/** A proxy to `port` that counts the requests it forwards. */
function countingProxy(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counter = { requests: 0 };
  const server = http.createServer((req, res) => {
    counter.requests += 1;
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        counter,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  );
}

/** Blob and table proxies for one side, and a connection string through them. */
async function side(azurite) {
  const blob = await countingProxy(azurite.blobPort);
  const table = await countingProxy(azurite.tablePort);
  return {
    connectionString: azuriteConnectionString(blob.port, table.port),
    requests: () => blob.counter.requests + table.counter.requests,
    close: async () => {
      await blob.close();
      await table.close();
    },
  };
}

const deviceId = (i) => `device-${String(i).padStart(6, '0')}`;

/** A certificate report as a device makes it (docs/device-contract.md), `generation` renewals in. */
function report(i, generation) {
  const issued = START + generation * 20 * DAY_MS + i * 1000;
  const at = new Date(issued + 60_000).toISOString();
  return twinUpdated({ hub: HUB, deviceId: deviceId(i), at }, 2 + generation, {
    certificate: {
      validFrom: new Date(issued).toISOString(),
      validUntil: new Date(issued + 30 * DAY_MS).toISOString(),
      serialNumber: `${String(i).padStart(8, '0')}${String(generation).padStart(4, '0')}`,
      thumbprint: (i * 7919 + generation).toString(16).padStart(64, '0').toUpperCase(),
      issuer: 'CN=certfleet bench issuing CA',
    },
  });
}

function created(i) {
  return deviceCreated({
    hub: HUB,
    deviceId: deviceId(i),
    at: new Date(START + i * 1000).toISOString(),
  });
}

function connected(i, generation) {
  const at = new Date(START + generation * 20 * DAY_MS + i * 1000 + 120_000).toISOString();
  return deviceConnected({ hub: HUB, deviceId: deviceId(i), at }, BigInt(10 + generation));
}

function batches(messages) {
  const out = [];
  for (let i = 0; i < messages.length; i += BATCH) out.push(messages.slice(i, i + BATCH));
  return out;
}

/** The floor: one table write per event, one append per batch, same SDKs and concurrency. */
async function floorOf(connectionString, prefix, docChars) {
  const table = TableClient.fromConnectionString(connectionString, `${prefix}floor`, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(
    `${prefix}-floor`,
  );
  await container.createIfNotExists();
  const blob = container.getAppendBlobClient('audit.jsonl');
  await blob.create();
  const doc = 'x'.repeat(docChars);
  return async (messages) => {
    await mapWithConcurrency(messages, CONCURRENCY, async (message) => {
      const id = message.properties.deviceId;
      await table.upsertEntity({ partitionKey: HUB, rowKey: id, doc }, 'Replace');
    });
    const lines = messages.map((m) => `${JSON.stringify({ id: m.properties.deviceId })}\n`);
    const body = Buffer.from(lines.join(''));
    await blob.appendBlock(body, body.length);
  };
}

async function recordDocChars(connectionString, prefix) {
  const table = TableClient.fromConnectionString(connectionString, `${prefix}ledger`, {
    allowInsecureConnection: true,
  });
  for await (const entity of table.listEntities()) {
    if (typeof entity.doc === 'string') return entity.doc.length;
  }
  return 2000;
}

async function partitionSpread(connectionString, prefix) {
  const table = TableClient.fromConnectionString(connectionString, `${prefix}ledger`, {
    allowInsecureConnection: true,
  });
  const rows = new Map();
  for await (const entity of table.listEntities({ queryOptions: { select: ['PartitionKey'] } })) {
    rows.set(entity.partitionKey, (rows.get(entity.partitionKey) ?? 0) + 1);
  }
  return rows;
}

async function phase(name, messageBatches, handler, floor, clock, atOf) {
  let handlerMs = 0;
  let floorMs = 0;
  const before = { handler: handler.side.requests(), floor: floor.side.requests() };
  let summary = { applied: 0, duplicate: 0, auditWritten: 0 };
  for (const batch of messageBatches) {
    clock.set(atOf(batch));
    let t = performance.now();
    const s = await handler.services.ingest.apply(batch);
    handlerMs += performance.now() - t;
    summary = {
      applied: summary.applied + s.applied,
      duplicate: summary.duplicate + s.duplicate,
      auditWritten: summary.auditWritten + s.auditWritten,
    };
    t = performance.now();
    await floor.run(batch);
    floorMs += performance.now() - t;
  }
  const events = messageBatches.reduce((n, b) => n + b.length, 0);
  const handlerRequests = handler.side.requests() - before.handler;
  const floorRequests = floor.side.requests() - before.floor;
  return {
    name,
    events,
    handlerPerSecond: (events / handlerMs) * 1000,
    floorPerSecond: (events / floorMs) * 1000,
    ratio: floorMs / handlerMs,
    handlerRequestsPerEvent: handlerRequests / events,
    floorRequestsPerEvent: floorRequests / events,
    summary,
  };
}

(async () => {
  const azurite = await startAzurite();
  const handlerSide = await side(azurite);
  const floorSide = await side(azurite);
  try {
    const prefix = `bench${Date.now().toString(36)}`;
    const clock = new ManualClock(new Date(START).toISOString());
    const services = buildServices(
      loadSettings({
        FleetStorage: handlerSide.connectionString,
        CERTFLEET_STORAGE_PREFIX: prefix,
      }),
      { clock, sleep: async () => undefined },
    );
    const handler = { services, side: handlerSide };
    const ids = Array.from({ length: DEVICES }, (_, i) => i);
    // Warm both sides (tables, containers, connections) on devices outside the measured fleet.
    await services.ingest.apply(ids.slice(0, 20).map((i) => report(DEVICES + i, 0)));
    const floor = { side: floorSide, run: await floorOf(floorSide.connectionString, prefix, 2000) };
    await floor.run(ids.slice(0, 20).map((i) => report(DEVICES + i, 0)));
    const docChars = await recordDocChars(handlerSide.connectionString, prefix);
    floor.run = await floorOf(floorSide.connectionString, `${prefix}b`, docChars);

    const atOf = (batch) =>
      new Date(Date.parse(batch[batch.length - 1].properties.operationTimestamp)).toISOString();
    const renewals = batches(ids.map((i) => report(i, 1)));
    const results = [
      await phase(
        'new device, created',
        batches(ids.map((i) => created(i))),
        handler,
        floor,
        clock,
        atOf,
      ),
      await phase(
        'known device, first certificate',
        batches(ids.map((i) => report(i, 0))),
        handler,
        floor,
        clock,
        atOf,
      ),
      await phase('known device, new certificate', renewals, handler, floor, clock, atOf),
      await phase(
        'known device, connected',
        batches(ids.map((i) => connected(i, 1))),
        handler,
        floor,
        clock,
        atOf,
      ),
      await phase('redelivered report (no change)', renewals, handler, floor, clock, atOf),
    ];

    console.log(
      `ingest vs floor: ${DEVICES} devices, batches of ${BATCH}, concurrency ${CONCURRENCY}, one Azurite (record ${docChars} chars)`,
    );
    console.log(
      'events                           certfleet/s  floor/s   ratio  requests/event (certfleet, floor)',
    );
    for (const r of results) {
      console.log(
        `${r.name.padEnd(32)} ${r.handlerPerSecond.toFixed(0).padStart(11)} ${r.floorPerSecond.toFixed(0).padStart(8)} ${r.ratio.toFixed(2).padStart(7)}  ${r.handlerRequestsPerEvent.toFixed(2)}, ${r.floorRequestsPerEvent.toFixed(2)}   (applied ${r.summary.applied}, duplicate ${r.summary.duplicate}, audit ${r.summary.auditWritten})`,
      );
    }
    const spread = await partitionSpread(handlerSide.connectionString, prefix);
    const hubRows = [...spread.entries()].filter(([p]) => p.startsWith(HUB));
    const counts = hubRows.map(([, n]) => n);
    const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
    console.log(
      `ledger rows of ${HUB} over ${hubRows.length} partitions: min ${Math.min(...counts)}, max ${Math.max(...counts)}, mean ${mean.toFixed(0)} (max/mean ${(Math.max(...counts) / mean).toFixed(2)})`,
    );
  } finally {
    await handlerSide.close();
    await floorSide.close();
    await azurite.stop();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
