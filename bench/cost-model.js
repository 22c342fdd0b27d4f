#!/usr/bin/env node
// What certfleet costs to run in Azure, worked out from what its real code does.
//
// 1. Measure. certfleet's services (shared/services.ts) and its Functions' own handlers
//    (functions/*.ts, loaded through the local host's stand-in for the Functions worker) run
//    against Azurite, each storage request going through a proxy that counts it by kind (table
//    read, write, batch, query page; blob append, put, read, list, other) and charges it to
//    what was running: an Event Hub batch of one kind of event, a timer tick. A simulated fleet
//    of BENCH_DEVICES devices (default 1,000; certificates of 30 days, ages spread evenly, so
//    renewals fall due all the time) lives BENCH_DAYS days (default 1) of virtual time: each
//    device disconnects and reconnects once a day, changes another reported property every
//    other day, and renews when certfleet asks it (a stand-in for the direct method: the device
//    reconnects with its new certificate and reports it). Every timer fires on its schedule:
//    the sweep and alert delivery every minute, rotation work every 5 minutes, the audit
//    checkpoint hourly, the daily report, reconcile, audit checks and fleet review daily. Events
//    reach the Event Hub trigger in 15-second windows, as they would from a small fleet: mostly
//    one event a batch. Then each kind of event again, one a batch and 100 a batch, so the cost
//    per event is known as a part per batch and a part per event. Log lines the handlers write
//    (context.log, and the host log lines of alerts and checkpoints) are measured per execution.
//    A second small ledger measures what one more hub adds to every sweep.
// 2. Model. A month of fleets of 10,000 and 1,000,000 devices in one hub (WORKLOAD: events per
//    device a day, renewals from the certificate lifetime, executions per timer, the batch size
//    from the event rate per Event Hub partition), plus what the Functions host itself asks of
//    storage (from the SDKs' defaults: assumed, not measured).
// 3. Price. From bench/azure-prices.json (each price with its unit, region, source and date).
// 4. Print a Markdown table per fleet and the measured counts; write them all as JSON to
//    os.tmpdir()/certfleet-cost-model.json (bench/out is not ignored by git).
//
// Run: npm run bench:cost (about three minutes on 2 shared vCPUs). BENCH_DEVICES, BENCH_DAYS
// and BENCH_SEED change the run.
'use strict';
const http = require('node:http');
const { Buffer } = require('node:buffer');
const { URL } = require('node:url');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const util = require('node:util');
const { performance } = require('node:perf_hooks');

const dist = path.join(__dirname, '..', 'dist');
// First: the functions register with the local host's stand-in for the Functions worker.
require(`${dist}/shared/local/installFunctionsRuntimeApi`);
const { InvocationContext } = require('@azure/functions');
const { startAzurite, azuriteConnectionString } = require(`${dist}/shared/local/azurite`);
const { loadSettings } = require(`${dist}/shared/config/settings`);
const { buildServices, useServices } = require(`${dist}/shared/services`);
const { ManualClock } = require(`${dist}/shared/domain/Clock`);
const { LocalCheckpointKey } = require(`${dist}/shared/adapters/keys/LocalCheckpointKey`);
const { triggerBatchFromMessages } = require(`${dist}/shared/adapters/eventhub/triggerBatch`);
const messages = require(`${dist}/shared/local/iotHubMessages`);
const { handleIotHubEvents } = require(`${dist}/functions/iotHubEvents`);
const { runRenewalSweep } = require(`${dist}/functions/renewalSweep`);
const { runAlertDelivery, runFleetReview } = require(`${dist}/functions/alerts`);
const { runDailyAuditChecks } = require(`${dist}/functions/auditChecks`);
const { takeAuditCheckpoint } = require(`${dist}/functions/auditTrail`);
const { writeDailyReport } = require(`${dist}/functions/pointInTimeReports`);
const { runReconcile, RECONCILE_TIME_BUDGET_MS } = require(`${dist}/functions/reconcileTwins`);
const { runRotationWork } = require(`${dist}/functions/rotations`);

const DEVICES = Number(process.env.BENCH_DEVICES ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 1);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const HUB = 'cost-hub';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The run starts at midnight UTC, so each daily timer fires once a simulated day. */
const START = Date.parse('2026-11-02T00:00:00.000Z');
const LIFETIME_MS = 30 * DAY;
/** certfleet's default policy (shared/domain/RenewalPolicy.ts): renew at 85% of the lifetime. */
const RENEW_AT = 0.85;
/** Events within this window of each other reach the trigger as one batch (FleetRun.ts too). */
const DELIVERY_WINDOW_MS = 15_000;
/** host.json's maxEventBatchSize. */
const MAX_BATCH = 100;
/** Events delivered one a batch per kind in the bulk phase (the rest go in batches of 100). */
const SAMPLE = Math.min(100, Math.floor(DEVICES / 4));
/** Share of batches Event Hubs delivers twice in the run (at least once; stated, not measured). */
const REDELIVERED_SHARE = 0.01;
/**
 * What host.json deploys: the Event Hubs trigger's batching (minEventBatchSize, maxWaitTime) and
 * whether Application Insights samples traces. The model prices the app as deployed, and beside
 * it the trigger invoked at once for every event (minEventBatchSize 1).
 */
const HOST_JSON = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'host.json'), 'utf8'));
const DEPLOYED = (() => {
  const eh = HOST_JSON.extensions?.eventHubs ?? {};
  const [h, m, sec] = String(eh.maxWaitTime ?? '00:01:00')
    .split(':')
    .map(Number);
  const sampling = HOST_JSON.logging?.applicationInsights?.samplingSettings ?? {};
  const excluded = String(sampling.excludedTypes ?? '').split(';');
  return {
    minBatch: Number(eh.minEventBatchSize ?? 1),
    maxWaitSeconds: h * 3600 + m * 60 + sec,
    tracesSampled: sampling.isEnabled !== false && !excluded.includes('Trace'),
  };
})();
/** Flex Consumption's default instance memory: GB-s = wall seconds x this. */
const INSTANCE_GB = 2048 / 1024;

// ---------------------------------------------------------------------------------------------
// Counting storage requests, by kind, charged to whatever is running.

/** What the bench is running now: every storage request is charged to it. */
const meter = { scope: 'setup', tallies: new Map() };

function tallyOf(scope) {
  let t = meter.tallies.get(scope);
  if (!t) {
    t = {
      requests: {},
      appendBytes: 0,
      putBytes: 0,
      queryStarts: 0,
      queryEntities: 0,
    };
    meter.tallies.set(scope, t);
  }
  return t;
}

/**
 * The kind of one storage request, from its method and URL, named after the operation types
 * Azure bills (Microsoft Learn, "Map each REST operation to a price": Append Block, Put Blob,
 * Put Block List are writes; Create Container and List Blobs are "list and create container";
 * Get Blob is a read; Get Blob Properties, leases and metadata are "other"; deletes are free).
 * Every Table request is one transaction, an entity group transaction ($batch) included
 * (Microsoft Learn, "Performance and scalability checklist for Table storage": "an entity group
 * transaction counts as a single transaction for billing purposes").
 */
function classify(service, method, url) {
  const parsed = new URL(url, 'http://proxy');
  const query = parsed.searchParams;
  const rest = decodeURIComponent(parsed.pathname).split('/').slice(2).join('/');
  if (service === 'table') {
    if (rest === '$batch') return 'table.batch';
    if (/^Tables\b/i.test(rest)) return 'table.admin';
    if (method === 'GET') return /\(PartitionKey=.*\)$/.test(rest) ? 'table.read' : 'table.query';
    return 'table.write';
  }
  const comp = query.get('comp');
  const restype = query.get('restype');
  if (method === 'DELETE') return 'blob.delete';
  if (comp === 'list') return 'blob.list';
  if (restype === 'container') return method === 'PUT' && !comp ? 'blob.create' : 'blob.other';
  if (method === 'PUT') {
    if (comp === 'appendblock') return 'blob.append';
    if (!comp || comp === 'block' || comp === 'blocklist') return 'blob.put';
    return 'blob.other';
  }
  if (method === 'GET' && !comp) return 'blob.read';
  return 'blob.other';
}

/**
 * The first append of a process to a shard-day of the audit trail (`YYYY/MM/DD/shard-NN.jsonl`,
 * BlobAuditTrail.ts) first lists the shard-day's segments, creates the append blob and reads
 * properties: eight shards once a day per process, whatever the traffic, so these are counted
 * apart from whatever event or sweep happened to append first after midnight.
 */
const AUDIT_ROLLOVER = 'audit-rollover';

function startsAuditBlob(service, kind, url) {
  if (service !== 'blob' || !['blob.list', 'blob.put', 'blob.other', 'blob.create'].includes(kind))
    return false;
  // Only appends start shard-days; a checkpoint lists and reads the audit blobs itself.
  if (!meter.scope.startsWith('ingest:') && meter.scope !== 'sweep') return false;
  const parsed = new URL(url, 'http://proxy');
  const [container] = decodeURIComponent(parsed.pathname).split('/').slice(2);
  return /-audit$/.test(container ?? '');
}

/** A proxy to Azurite's `port` for `service` that counts what it forwards (as bench/ingest.js). */
function countingProxy(service, port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const kind = classify(service, req.method, req.url);
    const tally = tallyOf(startsAuditBlob(service, kind, req.url) ? AUDIT_ROLLOVER : meter.scope);
    tally.requests[kind] = (tally.requests[kind] ?? 0) + 1;
    const length = Number(req.headers['content-length'] ?? 0);
    if (kind === 'blob.append') tally.appendBytes += length;
    if (kind === 'blob.put') tally.putBytes += length;
    const continued = /[?&]NextPartitionKey=|[?&]NextRowKey=/.test(req.url);
    if (kind === 'table.query' && !continued) tally.queryStarts += 1;
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (kind !== 'table.query') {
          answer.pipe(res);
          return;
        }
        // A query page: how many entities it returned (continuation pages come per 1,000).
        const chunks = [];
        answer.on('data', (chunk) => {
          chunks.push(chunk);
          res.write(chunk);
        });
        answer.on('end', () => {
          res.end();
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (Array.isArray(body.value)) tally.queryEntities += body.value.length;
          } catch {
            // not a JSON page: nothing to count
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Executions: each timer tick and each Event Hub batch is one, through the function's handler.

/** Per kind of execution: how many, wall time, log records and bytes, and what else it used. */
const executions = new Map();
/** Key Vault operations a checkpoint would make: getKey for the key's version, then sign. */
const keyVault = { getKey: 0, sign: 0 };

function executionsOf(kind) {
  let e = executions.get(kind);
  if (!e) {
    e = { count: 0, wallMs: 0, logRecords: 0, logBytes: 0, events: 0, asked: 0, details: [] };
    executions.set(kind, e);
  }
  return e;
}

/** The log lines of the execution running now (the host's log of alerts and checkpoints too). */
let running;

function logLine(level, text) {
  if (!running) return;
  running.logRecords += 1;
  running.logBytes += Buffer.byteLength(text, 'utf8');
}

async function execute(kind, functionName, run, extra = {}) {
  const e = executionsOf(kind);
  const current = { logRecords: 0, logBytes: 0 };
  running = current;
  meter.scope = kind;
  const context = new InvocationContext({
    functionName,
    invocationId: `${functionName}-${e.count}`,
    // The host formats a log call's arguments as util.format does, one trace record each.
    logHandler: (level, ...args) => logLine(level, util.format(...args)),
    ...extra,
  });
  const started = performance.now();
  try {
    return await run(context);
  } finally {
    e.count += 1;
    e.wallMs += performance.now() - started;
    e.logRecords += current.logRecords;
    e.logBytes += current.logBytes;
    running = undefined;
    meter.scope = 'between';
  }
}

const TIMER = { isPastDue: false, scheduleStatus: {} };

// ---------------------------------------------------------------------------------------------
// The simulated fleet.

/** A small seeded generator (mulberry32), so a run is the same for the same seed. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Device {
  constructor(hub, index) {
    this.hub = hub;
    this.index = index;
    this.deviceId = `dev-${String(index).padStart(7, '0')}`;
    this.reportedVersion = 1;
    this.sequence = 10n;
    this.generation = 0;
    this.certificate = undefined;
    this.telemetryInterval = 60;
    this.lastReportedAt = undefined;
  }

  origin(at) {
    return { hub: this.hub, deviceId: this.deviceId, at: new Date(at).toISOString() };
  }

  /** A new certificate from DPS (Microsoft's convention: dates, plus the optional fields). */
  issue(at) {
    this.generation += 1;
    const serial = `${this.deviceId.slice(4)}${String(this.generation).padStart(4, '0')}`;
    this.certificate = {
      validFrom: new Date(at).toISOString(),
      validUntil: new Date(at + LIFETIME_MS).toISOString(),
      serialNumber: serial,
      thumbprint: Buffer.from(`${this.deviceId}/${this.generation}`)
        .toString('hex')
        .padEnd(64, '0')
        .slice(0, 64)
        .toUpperCase(),
      issuer: 'CN=certfleet cost-model issuing CA',
    };
  }

  reportCertificate(at) {
    this.reportedVersion += 1;
    this.lastReportedAt = at;
    return messages.twinUpdated(this.origin(at), this.reportedVersion, {
      certificate: this.certificate,
    });
  }

  reportOther(at) {
    this.reportedVersion += 1;
    this.lastReportedAt = at;
    this.telemetryInterval = this.telemetryInterval === 60 ? 300 : 60;
    return messages.twinUpdated(this.origin(at), this.reportedVersion, {
      telemetry: { intervalSeconds: this.telemetryInterval },
    });
  }

  connected(at) {
    this.sequence += 1n;
    return messages.deviceConnected(this.origin(at), this.sequence);
  }

  disconnected(at) {
    this.sequence += 1n;
    return messages.deviceDisconnected(this.origin(at), this.sequence);
  }

  created(at) {
    return messages.deviceCreated(this.origin(at));
  }

  /** The whole twin, as IoT Hub's twin query returns it (for reconcile). */
  twin(at) {
    const lastUpdated = new Date(this.lastReportedAt ?? at).toISOString();
    return {
      deviceId: this.deviceId,
      etag: 'AAAAAAAAAAE=',
      version: this.reportedVersion + 1,
      status: 'enabled',
      authenticationType: 'selfSigned',
      properties: {
        desired: { $metadata: { $lastUpdated: new Date(at).toISOString() }, $version: 1 },
        reported: {
          certificate: this.certificate,
          telemetry: { intervalSeconds: this.telemetryInterval },
          $metadata: { $lastUpdated: lastUpdated },
          $version: this.reportedVersion,
        },
      },
    };
  }
}

/** Things devices will do, in time order: each makes its message when it happens. */
class Agenda {
  constructor() {
    this.items = [];
  }

  add(at, kind, make) {
    this.items.push({ at, kind, make });
    this.sorted = false;
  }

  /** Everything due before `until`, in time order. */
  takeBefore(until) {
    if (!this.sorted) {
      this.items.sort((a, b) => a.at - b.at);
      this.sorted = true;
    }
    let n = 0;
    while (n < this.items.length && this.items[n].at < until) n += 1;
    return this.items.splice(0, n);
  }

  get size() {
    return this.items.length;
  }
}

/**
 * The devices' side of the direct method: every device accepts, gets a new certificate from DPS
 * and reconnects with it (a disconnect and a connect), then reports it in its twin.
 */
function standInMethods(fleet, clock, agenda, calls) {
  return {
    requestRenewal: async (key) => {
      calls.count += 1;
      const device = fleet.get(`${key.hub}/${key.deviceId}`);
      if (!device) return { kind: 'not-found' };
      const at = clock.now().getTime();
      agenda.add(at + 20_000, 'renewal-connection', () => device.disconnected(at + 20_000));
      agenda.add(at + 40_000, 'renewal-connection', () => {
        device.issue(at + 30_000);
        return device.connected(at + 40_000);
      });
      agenda.add(at + 60_000, 'renewal-twin', () => device.reportCertificate(at + 60_000));
      return { kind: 'accepted', status: 200 };
    },
  };
}

/** The hub's twins, a page of 100 at a time (IoT Hub's default page; IotHubTwinQuery.ts). */
function standInTwins(fleet, clock) {
  const pageSize = 100;
  return {
    hubs: [HUB],
    queryTwins: async (hub, continuation) => {
      const devices = [...fleet.values()].filter((d) => d.hub === hub);
      const from = continuation ? Number(continuation) : 0;
      const at = clock.now().getTime();
      const twins = devices.slice(from, from + pageSize).map((d) => d.twin(at));
      const next = from + pageSize;
      return next < devices.length ? { twins, continuation: String(next) } : { twins };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The measured run.

/** What one Event Hub batch cost, charged to `ingest:<kind>:<mode>`. */
async function ingestBatch(kind, mode, batch) {
  const name = `ingest:${kind}:${mode}`;
  const { bodies, metadata } = triggerBatchFromMessages(batch);
  await execute(name, 'iotHubEvents', (context) => handleIotHubEvents(bodies, context), {
    triggerMetadata: metadata,
  });
  const e = executionsOf(name);
  e.events += batch.length;
  e.eventBytes = (e.eventBytes ?? 0) + batch.reduce((n, m) => n + eventBytes(m), 0);
  return batch;
}

/** What Event Hubs counts of an event: its body and its properties. */
function eventBytes(message) {
  return Buffer.byteLength(
    JSON.stringify(message.body) +
      JSON.stringify(message.properties) +
      JSON.stringify(message.systemProperties),
    'utf8',
  );
}

function requestsOf(scope) {
  return { ...(meter.tallies.get(scope)?.requests ?? {}) };
}

function minus(after, before) {
  const out = {};
  for (const [k, v] of Object.entries(after))
    if (v - (before[k] ?? 0) !== 0) out[k] = v - (before[k] ?? 0);
  return out;
}

function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

function setAtLeast(clock, at) {
  if (clock.now().getTime() < at) clock.set(new Date(at));
}

/** A services instance on `connectionString`, on the run's clock, with the fleet stand-ins. */
function servicesFor(connectionString, prefix, clock, fleet, agenda, calls, keyFile) {
  const hostLog = {
    info: (line) => logLine('info', line),
    error: (line) => logLine('error', line),
  };
  return buildServices(
    loadSettings({
      FleetStorage: connectionString,
      CERTFLEET_STORAGE_PREFIX: prefix,
      CERTFLEET_CHECKPOINT_KEY_FILE: keyFile,
    }),
    {
      clock,
      // Paced waits move virtual time.
      sleep: async (ms) => clock.advance(ms),
      methods: standInMethods(fleet, clock, agenda, calls),
      twins: standInTwins(fleet, clock),
      alertSinks: [],
      // In Azure these go to the host's console, so to Application Insights (services.ts).
      alertLog: hostLog,
      auditLog: hostLog,
    },
  );
}

/** Counts what a checkpoint asks of Key Vault (KeyVaultCheckpointKey: getKey, then sign). */
function countKeyVaultOperations() {
  const keyId = LocalCheckpointKey.prototype.keyId;
  const sign = LocalCheckpointKey.prototype.sign;
  LocalCheckpointKey.prototype.keyId = function (...args) {
    keyVault.getKey += 1;
    return keyId.apply(this, args);
  };
  LocalCheckpointKey.prototype.sign = function (...args) {
    keyVault.sign += 1;
    return sign.apply(this, args);
  };
}

/**
 * What one more hub adds to every sweep: a small ledger of its own, swept every minute with
 * nothing due, with one, two and three hubs.
 */
async function measureSweepPerHub(connectionString, keyFile) {
  const clock = new ManualClock(new Date(START));
  const fleet = new Map();
  const agenda = new Agenda();
  const services = servicesFor(
    connectionString,
    'costhubs',
    clock,
    fleet,
    agenda,
    { count: 0 },
    keyFile,
  );
  const perHubCount = [];
  for (let hubs = 1; hubs <= 3; hubs += 1) {
    meter.scope = `hubs-seed-${hubs}`;
    const hub = `cost-hub-${hubs}`;
    const devices = Array.from({ length: 20 }, (_, i) => new Device(hub, i));
    const at = clock.now().getTime();
    for (const d of devices) d.issue(at - DAY);
    await services.ingest.apply(devices.map((d) => d.reportCertificate(at - DAY + 1000)));
    const scope = `sweep-hubs-${hubs}`;
    const counts = [];
    for (let i = 0; i < 12; i += 1) {
      clock.set(new Date(Math.ceil((clock.now().getTime() + 1) / MINUTE) * MINUTE));
      meter.scope = scope;
      const before = requestsOf(scope);
      await services.renewals.sweep();
      // The first sweeps of a window read its whole horizon: the steady state comes after.
      if (i >= 2) counts.push(minus(requestsOf(scope), before));
    }
    perHubCount.push(meanOf(counts));
  }
  meter.scope = 'between';
  return perHubCount;
}

function meanOf(list) {
  const out = {};
  for (const item of list) for (const [k, v] of Object.entries(item)) out[k] = (out[k] ?? 0) + v;
  for (const k of Object.keys(out)) out[k] /= Math.max(1, list.length);
  return out;
}

async function run() {
  const azurite = await startAzurite();
  const blob = await countingProxy('blob', azurite.blobPort);
  const table = await countingProxy('table', azurite.tablePort);
  const connectionString = azuriteConnectionString(blob.port, table.port);
  const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'certfleet-cost-')), 'key.pem');
  countKeyVaultOperations();
  const random = seeded(SEED);
  const clock = new ManualClock(new Date(START - HOUR));
  const fleet = new Map();
  const agenda = new Agenda();
  const calls = { count: 0 };
  const services = servicesFor(connectionString, 'costfleet', clock, fleet, agenda, calls, keyFile);
  useServices(services);
  const started = performance.now();
  const phases = {};
  try {
    // Onboarding: every device created and its first certificate reported, ages spread evenly
    // over the 85% of the lifetime before renewal, so renewals fall due at an even rate.
    const devices = Array.from({ length: DEVICES }, (_, i) => new Device(HUB, i));
    for (const d of devices) fleet.set(`${d.hub}/${d.deviceId}`, d);
    const ages = devices.map((_, i) => ((i + 0.5) / DEVICES) * RENEW_AT * LIFETIME_MS);
    let t = performance.now();
    for (const batch of chunks(devices, MAX_BATCH)) {
      await ingestBatch(
        'created',
        'b100',
        batch.map((d) => d.created(START - ages[d.index] - 2 * MINUTE)),
      );
    }
    for (const batch of chunks(devices, MAX_BATCH)) {
      await ingestBatch(
        'first-certificate',
        'b100',
        batch.map((d) => {
          const issuedAt = START - ages[d.index];
          d.issue(issuedAt);
          return d.reportCertificate(issuedAt + MINUTE);
        }),
      );
    }
    // The trail as it stands sealed, and the services warm (tables, containers, first reads).
    meter.scope = 'setup';
    await services.checkpoints.run('daily');
    await services.renewals.sweep();
    phases.onboardingSeconds = (performance.now() - t) / 1000;

    t = performance.now();
    const perHub = await measureSweepPerHub(connectionString, keyFile);
    phases.perHubSeconds = (performance.now() - t) / 1000;

    // The days: each device disconnects and reconnects once a day (back within 30 s to 10
    // minutes) and reports another property every other day on average.
    const end = START + DAYS * DAY;
    for (const d of devices) {
      for (let day = 0; day < DAYS; day += 1) {
        const off = START + day * DAY + random() * DAY;
        const back = off + 30_000 + random() * 9.5 * MINUTE;
        if (back < end) {
          agenda.add(off, 'connection', () => d.disconnected(off));
          agenda.add(back, 'connection', () => d.connected(back));
        }
        if (random() < 0.5) {
          const at = START + day * DAY + random() * DAY;
          if (at < end) agenda.add(at, 'other-twin', () => d.reportOther(at));
        }
      }
    }
    const sweeps = [];
    const batchSizes = {};
    const deliverBefore = async (until) => {
      const due = agenda.takeBefore(until);
      if (due.length === 0) return;
      setAtLeast(
        clock,
        Number.isFinite(until) ? until : due[due.length - 1].at + DELIVERY_WINDOW_MS,
      );
      const made = due.map((item) => ({ kind: item.kind, message: item.make() }));
      for (const kind of [...new Set(made.map((m) => m.kind))]) {
        const ofKind = made.filter((m) => m.kind === kind).map((m) => m.message);
        for (const batch of chunks(ofKind, MAX_BATCH)) {
          await ingestBatch(kind, 'run', batch);
          batchSizes[kind] = [...(batchSizes[kind] ?? []), batch.length];
          // Event Hubs delivers at least once: now and then a batch comes again.
          if (random() < REDELIVERED_SHARE) await ingestBatch('redelivery', 'run', batch);
        }
      }
    };
    const timer = async (kind, functionName, handler) =>
      execute(kind, functionName, (context) => handler(TIMER, context));

    t = performance.now();
    clock.set(new Date(START));
    const rolloverBefore = requestsOf(AUDIT_ROLLOVER);
    for (let minute = START; minute < end; minute += MINUTE) {
      setAtLeast(clock, minute);
      const sinceMidnight = minute % DAY;
      const before = requestsOf('sweep');
      const sweepStarted = performance.now();
      const report = await timer('sweep', 'renewalSweep', runRenewalSweep);
      sweeps.push({
        ms: performance.now() - sweepStarted,
        requested: report.requested,
        awaiting: report.awaitingConnection,
        bookkeeping: report.deadlinesPassed + report.expired,
        requests: minus(requestsOf('sweep'), before),
      });
      executionsOf('sweep').asked += report.requested;
      if (minute % (5 * MINUTE) === 0) await timer('rotationWork', 'rotationWork', runRotationWork);
      if (minute % HOUR === 5 * MINUTE) {
        const daily = sinceMidnight < HOUR;
        await timer(
          daily ? 'auditCheckpoint:daily' : 'auditCheckpoint:hourly',
          'auditCheckpoint',
          takeAuditCheckpoint,
        );
      }
      if (sinceMidnight === 15 * MINUTE)
        await timer('dailyReport', 'dailyReport', writeDailyReport);
      if (sinceMidnight === 3 * HOUR + 30 * MINUTE)
        await timer('reconcileTwins', 'reconcileTwins', runReconcile);
      if (sinceMidnight === 6 * HOUR)
        await timer('fleetAuditChecks', 'fleetAuditChecks', runDailyAuditChecks);
      if (sinceMidnight === 7 * HOUR) await timer('fleetReview', 'fleetReview', runFleetReview);
      await deliverBefore(minute + 15_000);
      await deliverBefore(minute + 30_000);
      setAtLeast(clock, minute + 30_000);
      await timer('alertDelivery', 'alertDelivery', runAlertDelivery);
      await deliverBefore(minute + 45_000);
      await deliverBefore(minute + MINUTE);
    }
    // What the last asks set going arrives.
    await deliverBefore(Number.POSITIVE_INFINITY);
    const rolloverPerDay = scale(minus(requestsOf(AUDIT_ROLLOVER), rolloverBefore), 1 / DAYS);
    phases.timelineSeconds = (performance.now() - t) / 1000;

    // Each kind of event again: a sample one event a batch, the rest in batches of 100.
    t = performance.now();
    const sample = devices.slice(0, SAMPLE);
    const rest = devices.slice(SAMPLE);
    const now = () => clock.now().getTime();
    const bulk = async (kind, make) => {
      for (const d of sample) {
        clock.advance(1000);
        for (const message of make(d, now())) await ingestBatch(kind, 'b1', [message]);
      }
      const made = [];
      for (const group of chunks(rest, MAX_BATCH)) {
        clock.advance(1000);
        const at = now();
        const firsts = group.map((d) => make(d, at));
        // A kind with two events a device (a disconnect, then a connect) sends them in turn.
        for (let step = 0; step < firsts[0].length; step += 1) {
          const batch = firsts.map((pair) => pair[step]);
          made.push(await ingestBatch(kind, 'b100', batch));
        }
      }
      return made;
    };
    await bulk('connection', (d, at) => [d.disconnected(at), d.connected(at + 500)]);
    await bulk('other-twin', (d, at) => [d.reportOther(at)]);
    const sampleCertificates = [];
    for (const d of sample) {
      clock.advance(1000);
      d.issue(now());
      const message = d.reportCertificate(now() + 500);
      sampleCertificates.push(message);
      await ingestBatch('new-certificate', 'b1', [message]);
    }
    const bulkCertificates = [];
    for (const group of chunks(rest, MAX_BATCH)) {
      clock.advance(1000);
      const batch = group.map((d) => {
        d.issue(now());
        return d.reportCertificate(now() + 500);
      });
      bulkCertificates.push(await ingestBatch('new-certificate', 'b100', batch));
    }
    clock.advance(MINUTE);
    for (const message of sampleCertificates) await ingestBatch('redelivery', 'b1', [message]);
    for (const batch of bulkCertificates) await ingestBatch('redelivery', 'b100', batch);
    phases.bulkSeconds = (performance.now() - t) / 1000;

    // How much a device's ledger rows hold (their JSON), for the capacity line.
    meter.scope = 'measure-capacity';
    const rows = await ledgerRowBytes(connectionString);
    phases.totalSeconds = (performance.now() - started) / 1000;
    return {
      sweeps,
      batchSizes,
      perHub,
      rows,
      phases,
      rolloverPerDay,
      directMethodCalls: calls.count,
    };
  } finally {
    await blob.close();
    await table.close();
    await azurite.stop();
  }
}

/** Rows and bytes of every table of the fleet's storage (JSON of each entity, as a proxy). */
async function ledgerRowBytes(connectionString) {
  const { TableServiceClient, TableClient } = require('@azure/data-tables');
  const service = TableServiceClient.fromConnectionString(connectionString, {
    allowInsecureConnection: true,
  });
  const out = {};
  for await (const t of service.listTables()) {
    if (!t.name.startsWith('costfleet')) continue;
    const client = TableClient.fromConnectionString(connectionString, t.name, {
      allowInsecureConnection: true,
    });
    let rows = 0;
    let bytes = 0;
    for await (const entity of client.listEntities()) {
      rows += 1;
      bytes += Buffer.byteLength(JSON.stringify(entity), 'utf8');
    }
    out[t.name] = { rows, bytes };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// From the run to counts per operation.

const TABLE_KINDS = ['table.read', 'table.write', 'table.batch', 'table.query', 'table.admin'];
const BLOB_KINDS = [
  'blob.append',
  'blob.put',
  'blob.read',
  'blob.list',
  'blob.create',
  'blob.other',
  'blob.delete',
];
const REQUEST_KINDS = [...TABLE_KINDS, ...BLOB_KINDS];

function add(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}
function scale(a, k) {
  return Object.fromEntries(Object.entries(a).map(([key, v]) => [key, v * k]));
}
function sub(a, b) {
  return add(a, scale(b, -1));
}
function sumOf(list) {
  return list.reduce((acc, item) => add(acc, item), {});
}

/** Everything measured of one kind of execution, per `unit` (an event, a run). */
function measuredPer(kind, units) {
  const e = executions.get(kind);
  const t = meter.tallies.get(kind) ?? tallyOf(kind);
  if (!e || units === 0) return undefined;
  return scale(
    {
      ...t.requests,
      wallMs: e.wallMs,
      logRecords: e.logRecords,
      logBytes: e.logBytes,
      appendBytes: t.appendBytes,
      putBytes: t.putBytes,
      queryStarts: t.queryStarts,
      queryEntities: t.queryEntities,
    },
    1 / units,
  );
}

function ingestMeasured(kind, mode) {
  const e = executions.get(`ingest:${kind}:${mode}`);
  if (!e) return undefined;
  return {
    executions: e.count,
    events: e.events,
    batch: e.events / e.count,
    eventBytes: e.eventBytes / e.events,
    perEvent: measuredPer(`ingest:${kind}:${mode}`, e.events),
  };
}

/**
 * Cost per event at batch size b as e + f / b: `f` what a batch costs whatever it holds (one
 * receipt transaction, one append per audit shard, one log line), `e` what each event adds.
 * Solved from two batch sizes; neither part below zero.
 */
function fitBatch(small, large) {
  const keys = new Set([...Object.keys(small.perEvent), ...Object.keys(large.perEvent)]);
  const perEvent = {};
  const perBatch = {};
  for (const k of keys) {
    const c1 = small.perEvent[k] ?? 0;
    const c2 = large.perEvent[k] ?? 0;
    let f = (c1 - c2) / (1 / small.batch - 1 / large.batch);
    let e = c1 - f / small.batch;
    if (f < 0) {
      f = 0;
      e = c2;
    } else if (e < 0) {
      e = 0;
      f = c1 * small.batch;
    }
    perEvent[k] = e;
    perBatch[k] = f;
  }
  return { perEvent, perBatch };
}

/** A kind measured at one batch size only, with the per-batch part of a kind like it. */
function fitWithBatchPartOf(measured, like) {
  const perEvent = {};
  for (const [k, c] of Object.entries(measured.perEvent)) {
    perEvent[k] = Math.max(0, c - (like.perBatch[k] ?? 0) / measured.batch);
  }
  return { perEvent, perBatch: { ...like.perBatch } };
}

function analyse(result) {
  const ingest = {};
  for (const kind of ['connection', 'other-twin', 'new-certificate', 'redelivery']) {
    const b1 = ingestMeasured(kind, 'b1');
    const b100 = ingestMeasured(kind, 'b100');
    ingest[kind] = { b1, b100, run: ingestMeasured(kind, 'run'), fit: fitBatch(b1, b100) };
  }
  for (const [kind, like] of [
    ['renewal-twin', 'new-certificate'],
    ['renewal-connection', 'connection'],
  ]) {
    const run = ingestMeasured(kind, 'run');
    ingest[kind] = { run, fit: fitWithBatchPartOf(run, ingest[like].fit), batchPartFrom: like };
  }
  for (const kind of ['created', 'first-certificate'])
    ingest[kind] = { b100: ingestMeasured(kind, 'b100') };

  // The sweep: the first two of the run read the whole horizon (a new window); the rest are
  // the steady state. Idle ones (nothing asked, nothing written for a device) give the fixed
  // part; the rest of the requests, per renewal asked, the part that comes with renewals.
  const steady = result.sweeps.slice(2);
  const idle = steady.filter(
    (s) =>
      s.requested === 0 &&
      s.awaiting === 0 &&
      s.bookkeeping === 0 &&
      !s.requests['table.batch'] &&
      !s.requests['blob.append'],
  );
  const fixed = { ...scale(sumOf(idle.map((s) => s.requests)), 1 / idle.length) };
  const fixedMs = idle.reduce((n, s) => n + s.ms, 0) / idle.length;
  const asked = steady.reduce((n, s) => n + s.requested, 0);
  const work = sub(sumOf(steady.map((s) => s.requests)), scale(fixed, steady.length));
  const workMs = steady.reduce((n, s) => n + s.ms, 0) - fixedMs * steady.length;
  const sweepExecutions = executions.get('sweep');
  const sweep = {
    runs: steady.length,
    idleRuns: idle.length,
    asked,
    perRun: {
      ...fixed,
      wallMs: fixedMs,
      logRecords: sweepExecutions.logRecords / sweepExecutions.count,
      logBytes: sweepExecutions.logBytes / sweepExecutions.count,
    },
    perRenewal: { ...scale(work, 1 / Math.max(1, asked)), wallMs: workMs / Math.max(1, asked) },
    perHubCounted: result.perHub,
    perExtraHub: scale(sub(result.perHub[2], result.perHub[0]), 1 / 2),
  };

  const timers = {};
  for (const kind of [
    'alertDelivery',
    'rotationWork',
    'auditCheckpoint:hourly',
    'auditCheckpoint:daily',
    'dailyReport',
    'reconcileTwins',
    'fleetAuditChecks',
    'fleetReview',
  ]) {
    const e = executions.get(kind);
    if (e) timers[kind] = { runs: e.count, perRun: measuredPer(kind, e.count) };
  }
  const checkpoints =
    (executions.get('auditCheckpoint:hourly')?.count ?? 0) +
    (executions.get('auditCheckpoint:daily')?.count ?? 0) +
    1;
  const renewalTwin = ingest['renewal-twin'].run;
  const ledgerTables = Object.entries(result.rows).filter(([name]) => /ledger$/.test(name));
  return {
    ingest,
    sweep,
    timers,
    auditRolloverPerDay: result.rolloverPerDay,
    renewalsAsked: executions.get('sweep').asked,
    renewalsCompleted: renewalTwin.events,
    directMethodCalls: result.directMethodCalls,
    keyVaultOperationsPerCheckpoint: (keyVault.getKey + keyVault.sign) / checkpoints,
    tables: result.rows,
    ledgerBytesPerDevice: ledgerTables.reduce((n, [, t]) => n + t.bytes, 0) / DEVICES,
    batchSizes: Object.fromEntries(
      Object.entries(result.batchSizes).map(([k, sizes]) => [
        k,
        {
          batches: sizes.length,
          mean: sizes.reduce((a, b) => a + b, 0) / sizes.length,
          max: Math.max(...sizes),
        },
      ]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// The model: a month of a fleet, from the counts per operation.

/** What a fleet does in a month; every figure here is an assumption the doc states. */
const WORKLOAD = {
  days: 30,
  lifetimeDays: LIFETIME_MS / DAY,
  renewAt: RENEW_AT,
  /** A disconnect and a connect a day: devices that reconnect on their own (network, power). */
  connectionEventsPerDeviceDay: 2,
  /** Reported properties other than the certificate (firmware, settings) that certfleet reads. */
  otherTwinChangesPerDeviceDay: 0.5,
  /** Every renewal: the new certificate in the twin, a disconnect, a connect; one direct method. */
  eventsPerRenewal: 3,
  /** Batches Event Hubs delivers twice (at least once delivery). */
  redeliveredShare: REDELIVERED_SHARE,
  /** Partitions of the Event Hub IoT Hub routes to. */
  partitions: 4,
  /** Peak event rate against the month's average (Event Hubs throughput units). */
  peakFactor: 5,
  hubs: 1,
  instanceGb: INSTANCE_GB,
  /** Flex Consumption bills an activity period of at least 1,000 ms, then by 100 ms. */
  minimumBilledMs: 1000,
  appInsights: {
    /** Columns of a trace record beside its message (time, ids, role, properties): assumed. */
    traceEnvelopeBytes: 700,
    /** The host's request record per execution: assumed. */
    requestRecordBytes: 1000,
    /** The host's "Executing …" and "Executed …" traces per execution, at its default level. */
    hostTracesPerExecution: 2,
    hostTraceTextBytes: 110,
    /** When host.json samples traces: maxTelemetryItemsPerSecond, default 20. */
    sampledItemsPerSecond: 20,
  },
  /**
   * The Functions host's own storage, from the SDKs' defaults, not measured: the Event Hubs
   * checkpoint of each batch is a Set Blob Metadata (an "other" operation;
   * @azure/eventhubs-checkpointstore-blob's updateCheckpoint does the same), partition
   * ownership is listed and renewed every 10 s (event-hubs' loadBalancingOptions
   * updateIntervalInMs 10,000), and a monitored timer reads and writes its schedule status and
   * takes and releases its singleton lease at each tick.
   */
  hostStorage: {
    checkpointWritesPerBatch: 1,
    loadBalancingIntervalSeconds: 10,
    timerStatusReadsPerTick: 1,
    timerStatusWritesPerTick: 1,
    timerLeaseOperationsPerTick: 2,
  },
  /** Alert transitions a month per device (raised and resolved), only with an Event Grid sink. */
  alertTransitionsPerDeviceMonth: 0.02,
  /** Event Grid operations per alert: the publish and one delivery. */
  eventGridOperationsPerAlert: 2,
};

const MIB = 1024 * 1024;
/** The reconcile's reach per hub and run: 8 minutes of pages at 10 a minute, 100 twins each. */
const RECONCILE_TWINS_PER_RUN = (RECONCILE_TIME_BUDGET_MS / MINUTE) * 10 * 100;

function billedMs(wallMs) {
  return Math.max(WORKLOAD.minimumBilledMs, Math.ceil(wallMs / 100) * 100);
}

/** A month of `devices` devices in `hubs` hubs, from the measured counts `m`. */
function model(
  devices,
  m,
  {
    hubs = WORKLOAD.hubs,
    // null: the trigger invoked at once for whatever arrived (minEventBatchSize 1).
    maxWaitSeconds = DEPLOYED.minBatch > 1 ? DEPLOYED.maxWaitSeconds : null,
    instanceGb = WORKLOAD.instanceGb,
  } = {},
) {
  const w = { ...WORKLOAD, instanceGb };
  const seconds = (w.days * DAY) / 1000;
  const scaleUp = devices / DEVICES;
  const renewals = (devices * w.days) / w.lifetimeDays;
  const events = {
    connection: devices * w.connectionEventsPerDeviceDay * w.days,
    'other-twin': devices * w.otherTwinChangesPerDeviceDay * w.days,
    'renewal-twin': renewals,
    'renewal-connection': renewals * (w.eventsPerRenewal - 1),
  };
  const delivered = Object.values(events).reduce((a, b) => a + b, 0);
  events.redelivery = delivered * w.redeliveredShare;
  const totalEvents = delivered + events.redelivery;

  // Batch size: with minEventBatchSize 1 an invocation starts as soon as an event is there and
  // takes what came while the one before ran, so b = rate per partition x time of a batch of b.
  const perEventMs = Object.entries(events).reduce(
    (n, [k, v]) => n + (v / delivered) * (m.ingest[k].fit.perEvent.wallMs ?? 0),
    0,
  );
  const perBatchMs = Object.entries(events).reduce(
    (n, [k, v]) => n + (v / delivered) * (m.ingest[k].fit.perBatch.wallMs ?? 0),
    0,
  );
  const perPartition = totalEvents / seconds / w.partitions;
  const room = 1 - (perPartition * perEventMs) / 1000;
  // With minEventBatchSize raised, a batch waits up to maxWaitTime to fill.
  const batch =
    maxWaitSeconds !== null
      ? Math.min(MAX_BATCH, Math.max(1, perPartition * maxWaitSeconds))
      : room <= 0
        ? MAX_BATCH
        : Math.min(MAX_BATCH, Math.max(1, (perPartition * perBatchMs) / 1000 / room));

  const lines = {};
  const runOf = (name, runs, perRun) => {
    lines[name] = { runs, executions: runs, total: scale(perRun, runs), perRun };
  };
  for (const [kind, n] of Object.entries(events)) {
    const { perEvent, perBatch } = m.ingest[kind].fit;
    const per = add(perEvent, scale(perBatch, 1 / batch));
    lines[`ingest:${kind}`] = {
      events: n,
      executions: n / batch,
      total: scale(per, n),
      perRun: add(scale(perEvent, batch), perBatch),
      perEvent: per,
    };
  }
  const minutes = w.days * 1440;
  const sweepTotal = add(
    add(scale(m.sweep.perRun, minutes), scale(m.sweep.perRenewal, renewals)),
    scale(m.sweep.perExtraHub, minutes * (hubs - 1)),
  );
  lines.sweep = {
    runs: minutes,
    executions: minutes,
    total: sweepTotal,
    perRun: scale(sweepTotal, 1 / minutes),
  };
  runOf('alertDelivery', minutes, m.timers.alertDelivery.perRun);
  // Eight audit shards a day start their blob (one process; each more instance adds as much).
  lines['audit-rollover'] = {
    runs: w.days,
    executions: 0,
    total: scale(m.auditRolloverPerDay, w.days),
    perRun: m.auditRolloverPerDay,
  };
  runOf('rotationWork', minutes / 5, m.timers.rotationWork.perRun);
  const appendPerHour =
    Object.values(lines)
      .filter((l) => l.total.appendBytes)
      .reduce((n, l) => n + l.total.appendBytes, 0) /
    (w.days * 24);
  // A checkpoint reads what was appended since the last one: a read per 4 MiB (the SDK's
  // chunks) beyond the reads measured; its time grows with the bytes it hashes.
  const checkpoint = (perRun) => ({
    ...perRun,
    'blob.read': (perRun['blob.read'] ?? 0) + appendPerHour / (4 * MIB),
    wallMs: perRun.wallMs * Math.max(1, scaleUp),
  });
  runOf(
    'auditCheckpoint:hourly',
    w.days * 23,
    checkpoint(m.timers['auditCheckpoint:hourly'].perRun),
  );
  runOf('auditCheckpoint:daily', w.days, checkpoint(m.timers['auditCheckpoint:daily'].perRun));
  // The daily jobs that read the whole ledger: a page per query started and per 1,000
  // entities; time in proportion to the fleet. Report files grow with it: a Put Block per 4 MiB.
  const scan = (perRun) => ({
    ...perRun,
    'table.query': perRun.queryStarts + (perRun.queryEntities * scaleUp) / 1000,
    'blob.put': (perRun['blob.put'] ?? 0) + (perRun.putBytes * scaleUp) / (4 * MIB),
    putBytes: perRun.putBytes * scaleUp,
    wallMs: perRun.wallMs * scaleUp,
  });
  runOf('dailyReport', w.days, scan(m.timers.dailyReport.perRun));
  runOf('fleetAuditChecks', w.days, scan(m.timers.fleetAuditChecks.perRun));
  runOf('fleetReview', w.days, scan(m.timers.fleetReview.perRun));
  // The reconcile reaches at most RECONCILE_TWINS_PER_RUN twins a hub (its time budget).
  const twinsPerRun = Math.min(devices / hubs, RECONCILE_TWINS_PER_RUN) * hubs;
  const reconcileShare = twinsPerRun / DEVICES;
  runOf('reconcileTwins', w.days, {
    ...scale(m.timers.reconcileTwins.perRun, reconcileShare),
    logRecords: m.timers.reconcileTwins.perRun.logRecords,
    logBytes: m.timers.reconcileTwins.perRun.logBytes,
  });

  const totals = sumOf(Object.values(lines).map((l) => l.total));
  const executionsTotal = Object.values(lines).reduce((n, l) => n + l.executions, 0);
  // Flex bills instance memory while it executes, at least 1,000 ms a period. Executions one
  // after another each pay their own period (the sum); executions that come faster than the
  // periods end share them: the busy share of a month of one instance, 1 - e^-load, where the
  // load is the billed periods a second.
  let billedSum = 0;
  for (const l of Object.values(lines)) {
    const perExecutionMs = (l.total.wallMs ?? 0) / Math.max(1, l.executions);
    billedSum += l.executions * billedMs(perExecutionMs);
  }
  const load = billedSum / 1000 / seconds;
  const busySeconds = seconds * (1 - Math.exp(-load));
  const storage = {
    table: TABLE_KINDS.reduce((n, k) => n + (totals[k] ?? 0), 0),
    blobWrite: (totals['blob.append'] ?? 0) + (totals['blob.put'] ?? 0),
    blobListCreate: (totals['blob.list'] ?? 0) + (totals['blob.create'] ?? 0),
    blobRead: totals['blob.read'] ?? 0,
    blobOther: totals['blob.other'] ?? 0,
  };
  const eventBytes =
    Object.entries(events).reduce(
      (n, [k, v]) => n + v * (m.ingest[k].run?.eventBytes ?? m.ingest[k].b100?.eventBytes ?? 0),
      0,
    ) / totalEvents;
  const peakEvents = (totalEvents / seconds) * w.peakFactor;
  const throughputUnits = Math.max(
    1,
    Math.ceil(Math.max(peakEvents / 1000, (peakEvents * eventBytes) / 1e6)),
  );
  const ai = w.appInsights;
  const certfleetRecords = totals.logRecords ?? 0;
  const hostRecords = executionsTotal * (1 + ai.hostTracesPerExecution);
  const traceBytes =
    (totals.logBytes ?? 0) +
    certfleetRecords * ai.traceEnvelopeBytes +
    executionsTotal * ai.hostTracesPerExecution * (ai.traceEnvelopeBytes + ai.hostTraceTextBytes);
  const requestBytes = executionsTotal * ai.requestRecordBytes;
  // host.json samples every type but requests, to about 20 items a second a host: a share of
  // the traces is kept when more come (one instance assumed).
  const tracesPerSecond =
    (certfleetRecords + executionsTotal * ai.hostTracesPerExecution) / seconds;
  // With traces excluded from sampling (so the alert rules see every certfleet line), all are kept.
  const kept = DEPLOYED.tracesSampled
    ? Math.min(1, ai.sampledItemsPerSecond / Math.max(1e-9, tracesPerSecond))
    : 1;
  const checkpointsPerMonth = w.days * 24;
  // The Functions host's own storage (AzureWebJobsStorage), not certfleet's code: assumed.
  const h = w.hostStorage;
  const ingestExecutions = Object.entries(lines)
    .filter(([name]) => name.startsWith('ingest:'))
    .reduce((n, [, l]) => n + l.executions, 0);
  const timerTicks = Object.entries(lines)
    .filter(([name]) => !name.startsWith('ingest:'))
    .reduce((n, [, l]) => n + l.executions, 0);
  const balancingRounds = seconds / h.loadBalancingIntervalSeconds;
  const hostStorage = {
    other:
      ingestExecutions * h.checkpointWritesPerBatch +
      balancingRounds * w.partitions +
      timerTicks * (h.timerStatusReadsPerTick + h.timerLeaseOperationsPerTick),
    list: balancingRounds,
    write: timerTicks * h.timerStatusWritesPerTick,
  };
  return {
    devices,
    hubs,
    renewals,
    events,
    totalEvents,
    eventsPerSecond: totalEvents / seconds,
    batch,
    lines,
    storage,
    hostStorage,
    capacity: {
      tableGb: (devices * m.ledgerBytesPerDevice) / 1e9,
      auditGbAddedPerMonth: (totals.appendBytes ?? 0) / 1e9,
      reportGbAddedPerMonth: (totals.putBytes ?? 0) / 1e9,
    },
    eventHubs: { eventBytes, peakEventsPerSecond: peakEvents, throughputUnits, hours: w.days * 24 },
    functions: {
      executions: executionsTotal,
      wallSeconds: (totals.wallMs ?? 0) / 1000,
      billedGbSecondsNoOverlap: (billedSum / 1000) * w.instanceGb,
      load,
      gbSeconds: busySeconds * w.instanceGb,
    },
    appInsights: {
      certfleetRecords,
      certfleetTextBytes: totals.logBytes ?? 0,
      hostRecords,
      tracesPerSecond,
      keptShare: kept,
      gbUnsampled: (traceBytes + requestBytes) / 1e9,
      gb: (traceBytes * kept + requestBytes) / 1e9,
    },
    keyVaultOperations: checkpointsPerMonth * m.keyVaultOperationsPerCheckpoint,
    eventGridOperations: devices * w.alertTransitionsPerDeviceMonth * w.eventGridOperationsPerAlert,
    iotHub: {
      directMethodCalls: renewals,
      twinQueryPages: (w.days * twinsPerRun) / 100,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Prices.

function readPrices() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'azure-prices.json'), 'utf8'));
}

function priced(prices, m) {
  const p = prices.prices;
  const item = (name, quantity, key, unitLabel) => {
    const price = p[key];
    const free = price.freePerMonth ?? 0;
    const cost = (Math.max(0, quantity - free) * price.price) / price.per;
    return { name, quantity, unit: unitLabel, price, key, free, cost };
  };
  const items = [
    item('Table storage transactions', m.storage.table, 'tableTransactions', 'transactions'),
    item(
      'Blob writes (audit appends, report and checkpoint files)',
      m.storage.blobWrite,
      'blobHotWrite',
      'operations',
    ),
    item(
      'Blob list and create container',
      m.storage.blobListCreate,
      'blobHotListCreate',
      'operations',
    ),
    item(
      'Blob reads (checkpoints, report checks)',
      m.storage.blobRead,
      'blobHotRead',
      'operations',
    ),
    item('Blob other operations (properties)', m.storage.blobOther, 'blobHotOther', 'operations'),
    item(
      'Functions host: Event Hubs checkpoints, partition leases, timer status (assumed)',
      m.hostStorage.other,
      'blobHotOther',
      'operations',
    ),
    item(
      'Functions host: partition ownership lists (assumed)',
      m.hostStorage.list,
      'blobHotListCreate',
      'operations',
    ),
    item(
      'Functions host: timer status writes (assumed)',
      m.hostStorage.write,
      'blobHotWrite',
      'operations',
    ),
    item('Table capacity (the ledger)', m.capacity.tableGb, 'tableCapacity', 'GB-month'),
    item(
      'Blob capacity added this month (audit trail, reports)',
      m.capacity.auditGbAddedPerMonth + m.capacity.reportGbAddedPerMonth,
      'blobHotCapacity',
      'GB-month',
    ),
    item(
      `Event Hubs Standard throughput units (${m.eventHubs.throughputUnits} TU)`,
      m.eventHubs.throughputUnits * m.eventHubs.hours,
      'eventHubsStandardThroughputUnit',
      'TU-hours',
    ),
    item('Event Hubs ingress events', m.totalEvents, 'eventHubsStandardIngress', 'events'),
    item(
      'Functions executions',
      m.functions.executions,
      'functionsFlexOnDemandExecutions',
      'executions',
    ),
    item(
      'Functions execution time (2,048 MB instance)',
      m.functions.gbSeconds,
      'functionsFlexOnDemandExecutionTime',
      'GB-s',
    ),
    item('Application Insights ingestion', m.appInsights.gb, 'logAnalyticsIngestion', 'GB'),
    item(
      'Key Vault operations (checkpoint signing)',
      m.keyVaultOperations,
      'keyVaultAdvancedKeyOperations',
      'operations',
    ),
    item(
      'Event Grid operations (alerts, with an Event Grid sink)',
      m.eventGridOperations,
      'eventGridOperations',
      'operations',
    ),
  ];
  return { items, total: items.reduce((n, i) => n + i.cost, 0) };
}

// ---------------------------------------------------------------------------------------------
// Printing.

const int = (n) => Math.round(n).toLocaleString('en-US');
function num(n) {
  if (n === 0) return '0';
  if (Math.abs(n) >= 100) return int(n);
  if (Math.abs(n) >= 1) return n.toFixed(2).replace(/\.?0+$/, '');
  return n.toPrecision(2);
}
const usd = (n) => (n < 0.005 ? (n === 0 ? '$0' : '< $0.01') : `$${n.toFixed(2)}`);

function unitPrice(i) {
  const per = i.price.per === 1 ? '' : ` per ${int(i.price.per)}`;
  const free = i.free ? `, ${int(i.free)} free` : '';
  const flag = i.price.confirmed ? '' : ' (unconfirmed)';
  return `$${i.price.price}${per}${free}${flag}`;
}

function fleetTable(m, bill) {
  const rows = [
    '| line item | monthly quantity | unit price | monthly cost |',
    '| --- | ---: | --- | ---: |',
  ];
  for (const i of bill.items) {
    rows.push(`| ${i.name} | ${num(i.quantity)} ${i.unit} | ${unitPrice(i)} | ${usd(i.cost)} |`);
  }
  rows.push(`| **total** | | | **${usd(bill.total)}** |`);
  return rows.join('\n');
}

function requestsText(v) {
  const parts = [];
  for (const k of REQUEST_KINDS)
    if ((v[k] ?? 0) >= 0.005) parts.push(`${k.replace(/^(table|blob)\./, '$1 ')} ${num(v[k])}`);
  return parts.join(', ') || 'none';
}

function measuredTables(a) {
  const out = [];
  out.push('Ingest, per event (e + f / b for a batch of b events; storage requests by kind):');
  out.push('');
  out.push(
    '| event | per event (e) | per batch (f) | time per event, per batch | log lines per batch |',
  );
  out.push('| --- | --- | --- | --- | --- |');
  for (const [kind, i] of Object.entries(a.ingest)) {
    if (!i.fit) continue;
    const from = i.batchPartFrom ? ` (per batch as ${i.batchPartFrom})` : '';
    out.push(
      `| ${kind}${from} | ${requestsText(i.fit.perEvent)}; audit ${num(i.fit.perEvent.appendBytes ?? 0)} B | ${requestsText(i.fit.perBatch)} | ${num(i.fit.perEvent.wallMs)} ms, ${num(i.fit.perBatch.wallMs)} ms | ${num(i.fit.perBatch.logRecords ?? 0)} |`,
    );
  }
  out.push('');
  out.push('Measured at (events, executions, mean batch):');
  for (const [kind, i] of Object.entries(a.ingest)) {
    const at = ['b1', 'b100', 'run']
      .filter((mode) => i[mode])
      .map(
        (mode) =>
          `${mode} ${i[mode].events} events in ${i[mode].executions} batches (${num(i[mode].batch)} a batch, ${num(i[mode].eventBytes)} B an event)`,
      );
    out.push(`- ${kind}: ${at.join('; ')}`);
  }
  out.push('');
  const s = a.sweep;
  out.push(
    `Sweep (every minute): fixed per run ${requestsText(s.perRun)}, ${num(s.perRun.wallMs)} ms, ${num(s.perRun.logRecords)} log line of ${num(s.perRun.logBytes / s.perRun.logRecords)} B (${s.idleRuns} idle runs of ${s.runs}); per renewal asked ${requestsText(s.perRenewal)}, ${num(s.perRenewal.wallMs)} ms (${s.asked} asked); per hub more: ${requestsText(s.perExtraHub)}.`,
  );
  out.push('');
  out.push('| timer | runs | per run | time | log lines, bytes |');
  out.push('| --- | ---: | --- | ---: | --- |');
  for (const [kind, t] of Object.entries(a.timers)) {
    out.push(
      `| ${kind} | ${t.runs} | ${requestsText(t.perRun)}${t.perRun.queryEntities ? `; ${num(t.perRun.queryEntities)} entities read` : ''} | ${num(t.perRun.wallMs)} ms | ${num(t.perRun.logRecords)}, ${num(t.perRun.logBytes)} B |`,
    );
  }
  out.push('');
  const renewal = add(
    add(a.sweep.perRenewal, a.ingest['renewal-twin'].run.perEvent),
    scale(a.ingest['renewal-connection'].run.perEvent, 2),
  );
  out.push(
    `One renewal in the run (sweep's share, the new certificate's twin change, a disconnect and a connect, one direct method): ${requestsText(renewal)}; ${a.renewalsAsked} asked, ${a.renewalsCompleted} certificates arrived, ${a.directMethodCalls} direct-method calls.`,
  );
  out.push(
    `Checkpoints: ${num(a.keyVaultOperationsPerCheckpoint)} Key Vault operations each (key version, sign). Ledger: ${num(a.ledgerBytesPerDevice)} bytes of JSON a device.`,
  );
  return out.join('\n');
}

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu: cpus[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

async function main() {
  const result = await run();
  const measured = analyse(result);
  const prices = readPrices();
  const fleets = [10_000, 1_000_000].map((devices) => {
    const m = model(devices, measured);
    return { model: m, bill: priced(prices, m) };
  });
  const twoHubs = model(1_000_000, measured, { hubs: 2 });
  const filled = [10_000, 1_000_000].map((devices) => {
    const m = model(devices, measured, { maxWaitSeconds: null });
    return { model: m, bill: priced(prices, m) };
  });
  const out = [];
  out.push(
    `certfleet cost model: ${DEVICES} devices for ${DAYS} days of virtual time on Azurite (seed ${SEED}), measured in ${num(result.phases.totalSeconds)} s on ${machine().cpus} CPUs (${machine().cpu}), load ${machine().loadAverage.join(' ')}.`,
  );
  out.push('');
  out.push(measuredTables(measured));
  for (const { model: m, bill } of fleets) {
    out.push('');
    out.push(
      `### ${int(m.devices)} devices, one hub: ${int(m.totalEvents)} events a month (${num(m.eventsPerSecond)} a second), ${int(m.renewals)} renewals, batches of ${num(m.batch)}, ${int(m.functions.executions)} executions`,
    );
    out.push('');
    out.push(fleetTable(m, bill));
    out.push('');
    out.push(
      `Functions time: ${int(m.functions.wallSeconds)} s measured wall time; ${int(m.functions.billedGbSecondsNoOverlap)} GB-s if no execution shared a billed period, ${int(m.functions.gbSeconds)} GB-s for one instance (load ${num(m.functions.load)} periods a second). Application Insights: ${int(m.appInsights.certfleetRecords)} certfleet log records (${num(m.appInsights.certfleetTextBytes / 1e6)} MB of text), ${int(m.appInsights.hostRecords)} host records, ${num(m.appInsights.tracesPerSecond)} traces a second, ${num(m.appInsights.keptShare * 100)}% kept by sampling: ${num(m.appInsights.gb)} GB (${num(m.appInsights.gbUnsampled)} GB unsampled). IoT Hub (your hub's own quota, not priced): ${int(m.iotHub.directMethodCalls)} direct-method calls, ${int(m.iotHub.twinQueryPages)} twin query pages.`,
    );
  }
  out.push('');
  for (const { model: m, bill } of filled) {
    const was = fleets.find((f) => f.model.devices === m.devices);
    const changed = bill.items
      .map((i, n) => ({ i, before: was.bill.items[n] }))
      .filter(({ i, before }) => Math.abs(i.cost - before.cost) >= 0.01)
      .map(({ i, before }) => `${i.name} ${usd(before.cost)} -> ${usd(i.cost)}`);
    out.push(
      `With minEventBatchSize 1 in host.json (each event handled at once, not batched for up to ${DEPLOYED.maxWaitSeconds} s), ${int(m.devices)} devices: batches of ${num(m.batch)}, ${int(m.functions.executions)} executions, total ${usd(bill.total)} (${changed.join('; ')}).`,
    );
  }
  for (const devices of [10_000, 1_000_000]) {
    const small = model(devices, measured, { instanceGb: 0.5 });
    const fill = model(devices, measured, { instanceGb: 0.5, maxWaitSeconds: null });
    const timeCost = (m) =>
      priced(prices, m).items.find((i) => i.key === 'functionsFlexOnDemandExecutionTime').cost;
    out.push(
      `With 512 MB instances, ${int(devices)} devices: execution time ${int(small.functions.gbSeconds)} GB-s, ${usd(timeCost(small))} (${usd(timeCost(fill))} with each event handled at once).`,
    );
  }
  out.push('');
  out.push(
    `A second hub adds to every sweep ${requestsText(measured.sweep.perExtraHub)}: ${int(twoHubs.storage.table - fleets[1].model.storage.table)} table transactions a month.`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  const file = path.join(os.tmpdir(), 'certfleet-cost-model.json');
  fs.writeFileSync(
    file,
    `${JSON.stringify(
      {
        machine: machine(),
        run: { devices: DEVICES, days: DAYS, seed: SEED, phases: result.phases },
        workload: WORKLOAD,
        measured,
        fleets: fleets.map(({ model: m, bill }) => ({ ...m, bill })),
        twoHubs: { devices: twoHubs.devices, storage: twoHubs.storage },
        fullBatches: filled.map(({ model: m, bill }) => ({ ...m, bill })),
        prices,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\nwritten: ${file}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
