#!/usr/bin/env node
// Sweep cost against the renewals waiting in the planning horizon. Two ledgers side by side:
// A holds 10,000 devices, 2,000 of them due within the 12-hour horizon; B holds 208,000 devices,
// 200,000 of them due within it. Both hold the same 2,000 due in the next twenty minutes, so each
// minute's sweep asks the same devices in both; B's other 198,000 wait late in the horizon (the
// rate has room for them before they fall due, as after a CA rotation planned ahead). Then:
//
// 1. sweeps that ask, a virtual minute apart, alternating A and B: storage reads and time each;
// 2. dry runs at one instant, alternating: the sweep's window (reads what changed) against
//    reading the whole horizon every sweep (what the sweep did before), on A and B.
//
// Storage: `--storage memory` (default) models the ledger table's layout in memory (16
// partitions per hub, index rows in time order, pages of at most 1,000) and reads it through the
// real Table reads (dist/shared/adapters/storage/dueIndexReads.js), counting pages and entities
// as the Table service would serve them. `--storage azurite` uses Azurite through buildServices
// and the Table adapter, counting the table queries the client makes (slow to seed: 218,000
// records). Azurite answers every query by scanning the whole table (its LokiJS store filters
// with a function, no index), so on Azurite a query's time grows with the table whatever it
// returns, unlike Azure's, which reads a partition's key range; "certfleet CPU" is this
// process's own time (Azurite runs in a child process). Options: --rounds N (10; 3 on Azurite),
// --dry-rounds N (5 x rounds; rounds on Azurite), --waiting N (198,000). Run: npm run bench:sweep [-- --storage azurite] (after npm install).
'use strict';
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const path = require('node:path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const STORAGE = option('storage', 'memory');
const ROUNDS = Number(option('rounds', STORAGE === 'azurite' ? 3 : 10));
// Dry runs are cheap in memory: more of them steady the medians.
const DRY_ROUNDS = Number(option('dry-rounds', STORAGE === 'azurite' ? ROUNDS : 5 * ROUNDS));
const WAITING = Number(option('waiting', 198_000));
const RATE = 400;
if (!['memory', 'azurite'].includes(STORAGE)) {
  console.error(`--storage must be memory or azurite, not ${STORAGE}`);
  process.exit(2);
}

// Table requests, counted below the SDK (Azurite mode): queries (a `$filter`: index pages, the
// adapter's list of hubs), point reads (records, audit receipts) and writes.
const httpCounts = { queries: 0, pointReads: 0, writes: 0 };
const httpRequest = http.request;
http.request = function countedRequest(...requestArgs) {
  const options = requestArgs.find((a) => a && typeof a === 'object' && 'method' in a) ?? {};
  if (String(options.port ?? '') === process.env.BENCH_TABLE_PORT) {
    const query = /(\$|%24)filter=/.test(String(options.path ?? ''));
    if ((options.method ?? 'GET') !== 'GET') httpCounts.writes += 1;
    else if (query) httpCounts.queries += 1;
    else httpCounts.pointReads += 1;
  }
  return httpRequest.apply(this, requestArgs);
};

const dist = path.join(__dirname, '..', 'dist', 'shared');
const { RenewDevices } = require(`${dist}/app/renewal/RenewDevices`);
const { ManualClock, HOUR_MS, MINUTE_MS } = require(`${dist}/domain/Clock`);
const { newDeviceRecord } = require(`${dist}/domain/DeviceRecord`);
const { deviceKeyString } = require(`${dist}/domain/DeviceKey`);
const { DEFAULT_PACING_POLICY } = require(`${dist}/domain/renewal/Pacing`);
const { DEFAULT_RENEWAL_TIMING } = require(`${dist}/domain/renewal/RenewalTiming`);
const { renewalIndexChange } = require(`${dist}/domain/renewal/renewalIndexEntry`);
const { devicePartition, hubPartitions, indexRowKey } = require(
  `${dist}/adapters/storage/storageKeys`,
);
const { readActionsInOrder, readActionsDueBefore } = require(
  `${dist}/adapters/storage/dueIndexReads`,
);
const { mapWithConcurrency } = require(`${dist}/app/concurrency`);
const { NEEDS_REQUEST, planRenewals } = require(`${dist}/domain/renewal/CapacityPlanner`);
const { WriteConflict } = require(`${dist}/app/ports`);

const NOW = '2026-11-23T12:00:00.000Z';
const HUB = 'bench-hub';
const at = (ms) => new Date(Date.parse(NOW) + ms).toISOString();

/** A device with a 30-day certificate whose renewal falls due at `dueAt`. */
function record(i, dueAt) {
  const r = newDeviceRecord(HUB, `device-${String(i).padStart(6, '0')}`, NOW);
  const validUntil = new Date(Date.parse(dueAt) + 3 * 24 * HOUR_MS + i).toISOString();
  const validFrom = new Date(Date.parse(validUntil) - 30 * 24 * HOUR_MS).toISOString();
  r.current = { source: 'reported', validFrom, validUntil, firstSeenAt: NOW, reportedVersion: 2 };
  r.reportedVersion = 2;
  r.renewalDueAt = dueAt;
  return r;
}

/**
 * The fleet: 2,000 due over the next 2 x ROUNDS minutes (asked as they fall due, the same in A
 * and B), `waiting` late in the horizon, 8,000 beyond it.
 */
function fleet(waiting) {
  const records = [];
  let i = 0;
  const nearMs = 2 * ROUNDS * MINUTE_MS;
  for (let n = 0; n < 2_000; n += 1) records.push(record(i++, at((n * nearMs) / 2_000)));
  for (let n = 0; n < waiting; n += 1)
    records.push(record(i++, at(6 * HOUR_MS + Math.floor((n * 6 * HOUR_MS) / waiting))));
  for (let n = 0; n < 8_000; n += 1) records.push(record(i++, at(10 * 24 * HOUR_MS + n * 1_000)));
  return records;
}

/**
 * The ledger table modelled in memory: records by key (serialized, as stored: 208,000 live
 * records would make B's garbage collection, not its sweep, the difference), and each partition's index rows in
 * RowKey order, served a page at a time as the Table service serves them; reads go through the
 * real Table reads of the index (dueIndexReads.js).
 */
class ModelledLedger {
  constructor() {
    this.records = new Map();
    this.partitions = new Map();
    this.version = 0;
    this.counts = { requests: 0, entities: 0, recordReads: 0 };
    this.pages = async (q) => {
      this.counts.requests += 1;
      const rows = this.partitions.get(q.partitionKey) ?? [];
      let i = q.afterRowKey !== undefined ? upper(rows, q.afterRowKey) : lower(rows, q.fromRowKey);
      const page = [];
      while (i < rows.length && rows[i].rowKey < q.beforeRowKey && page.length < q.top)
        page.push(rows[i++]);
      this.counts.entities += page.length;
      return { rows: page, more: i < rows.length && rows[i].rowKey < q.beforeRowKey };
    };
  }

  /** Loads records without the per-write cost (the index rows sorted once). */
  seed(records) {
    for (const r of records) {
      this.records.set(deviceKeyString(r), {
        json: JSON.stringify(r),
        etag: `W/"${++this.version}"`,
      });
      const { put } = renewalIndexChange(undefined, r);
      if (put) this.row(put, true);
    }
    for (const rows of this.partitions.values()) rows.sort((a, b) => cmp(a.rowKey, b.rowKey));
  }

  partitionKeys() {
    return hubPartitions(HUB);
  }

  async read(key) {
    this.counts.recordReads += 1;
    const stored = this.records.get(deviceKeyString(key));
    return stored ? { value: JSON.parse(stored.json), etag: stored.etag } : undefined;
  }

  async write(record, previous) {
    const id = deviceKeyString(record);
    if (this.records.get(id)?.etag !== previous?.etag) throw new WriteConflict(`${id} changed`);
    const change = renewalIndexChange(previous?.value, record);
    if (change.put) this.row(change.put);
    const etag = `W/"${++this.version}"`;
    this.records.set(id, { json: JSON.stringify(record), etag });
    if (change.remove) this.removeRow(change.remove);
    return etag;
  }

  async findByDeviceId(deviceId) {
    const all = [...this.records.values()].map((r) => JSON.parse(r.json));
    return all.filter((r) => r.deviceId === deviceId);
  }

  async *list() {
    for (const r of this.records.values()) yield JSON.parse(r.json);
  }

  actionsDueBefore(before) {
    return readActionsDueBefore(this.pages, this.partitionKeys(), before);
  }

  actionsInOrder(range) {
    return readActionsInOrder(this.pages, this.partitionKeys(), range);
  }

  async forgetAction(entry) {
    this.removeRow(entry);
  }

  row(entry, unsorted = false) {
    const partitionKey = devicePartition(entry);
    const rows = this.partitions.get(partitionKey) ?? [];
    this.partitions.set(partitionKey, rows);
    const row = { ...entry, partitionKey, rowKey: indexRowKey(entry.actionAt, entry.deviceId) };
    if (unsorted) return rows.push(row);
    const i = lower(rows, row.rowKey);
    if (rows[i]?.rowKey === row.rowKey) rows[i] = row;
    else rows.splice(i, 0, row);
  }

  removeRow(entry) {
    const rows = this.partitions.get(devicePartition(entry)) ?? [];
    const rowKey = indexRowKey(entry.actionAt, entry.deviceId);
    const i = lower(rows, rowKey);
    if (rows[i]?.rowKey === rowKey) rows.splice(i, 1);
  }
}

function lower(rows, key) {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].rowKey < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upper(rows, key) {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid].rowKey <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ledger's reads, counted: index pages and entities (memory) or HTTP GETs (Azurite). */
function counted(ledger) {
  const counts = { entries: 0, recordReads: 0 };
  const wrapped = {
    read: async (key) => {
      counts.recordReads += 1;
      return ledger.read(key);
    },
    write: (r, p) => ledger.write(r, p),
    findByDeviceId: (id) => ledger.findByDeviceId(id),
    list: (o) => ledger.list(o),
    forgetAction: (e) => ledger.forgetAction(e),
    actionsDueBefore: async function* (before) {
      for await (const e of ledger.actionsDueBefore(before)) {
        counts.entries += 1;
        yield e;
      }
    },
  };
  if (ledger.actionsInOrder)
    wrapped.actionsInOrder = async function* (range) {
      for await (const e of ledger.actionsInOrder(range)) {
        counts.entries += 1;
        yield e;
      }
    };
  return { ledger: wrapped, counts };
}

/** A sweep engine on `ledger`: every device accepts; audit and pacing in memory. */
function engine(ledger, clock) {
  let pacing;
  let version = 0;
  return new RenewDevices({
    ledger,
    audit: {
      append: async (entries) => entries.length,
      verifyDate: async (date) => ({ date, blobs: [] }),
      readDate: async function* () {},
    },
    pacing: {
      read: async () => pacing,
      write: async (state, previous) => {
        if (pacing?.etag !== previous?.etag) throw new WriteConflict('pacing changed');
        pacing = { value: JSON.parse(JSON.stringify(state)), etag: String(++version) };
        return pacing.etag;
      },
    },
    methods: { requestRenewal: async () => ({ kind: 'accepted', status: 202 }) },
    clock,
    // Paced calls move the clock instead of waiting (never back).
    sleep: async (ms) => clock.set(new Date(clock.now().getTime() + Math.max(0, ms))),
    settings: {
      methodCallsPerSecond: 1_000,
      horizonMs: 12 * HOUR_MS,
      maxConcurrentCalls: 32,
      timing: DEFAULT_RENEWAL_TIMING,
      pacing: { ...DEFAULT_PACING_POLICY, renewalsPerMinute: RATE },
    },
  });
}

/** A ledger as `--storage` says, seeded with the fleet. */
async function seeded(name, waiting, azurite) {
  const records = fleet(waiting);
  if (!azurite) {
    const ledger = new ModelledLedger();
    ledger.seed(records);
    return { ledger, storageCounts: () => ({ ...ledger.counts }) };
  }
  const { loadSettings } = require(`${dist}/config/settings`);
  const { buildServices } = require(`${dist}/services`);
  const services = buildServices(
    loadSettings({
      FleetStorage: azurite.connectionString,
      CERTFLEET_STORAGE_PREFIX: `bench${name}`,
      CERTFLEET_IOTHUB_ENDPOINT: 'http://127.0.0.1:9',
    }),
    { clock: new ManualClock(NOW), sleep: async () => undefined },
  );
  let done = 0;
  await mapWithConcurrency(records, 32, async (r) => {
    await services.ledger.write(r, undefined);
    done += 1;
    if (done % 20_000 === 0) console.log(`  ${name}: ${done} of ${records.length} records written`);
  });
  return {
    ledger: services.ledger,
    storageCounts: () => ({ requests: httpCounts.queries, entities: undefined }),
  };
}

/**
 * Runs `work` on one side and measures it: wall and CPU time, storage requests and entities,
 * record reads. Garbage left by the other side (or by seeding) is collected before, not during.
 */
async function measured(side, work) {
  global.gc?.();
  const storageBefore = side.storageCounts();
  const portBefore = { ...side.port.counts };
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = await work();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const storage = side.storageCounts();
  return {
    ms,
    cpuMs: (used.user + used.system) / 1000,
    requests: storage.requests - storageBefore.requests,
    entities:
      storage.entities === undefined
        ? side.port.counts.entries - portBefore.entries
        : storage.entities - storageBefore.entities,
    recordReads: side.port.counts.recordReads - portBefore.recordReads,
    ...result,
  };
}

/** One sweep (or dry run) at `now`, measured. */
async function measure(side, now, dryRun) {
  side.clock.set(now);
  return measured(side, async () => {
    const report = await side.engine.sweep({ dryRun });
    return {
      requested: dryRun ? report.planned.length : report.requested,
      pending: report.pending,
    };
  });
}

/**
 * Reading and planning as the sweep did before its window: every entry before now + horizon
 * read, the renewals among them planned with planRenewals.
 */
async function before(side, now) {
  return measured(side, async () => {
    const horizon = new Date(Date.parse(now) + 12 * HOUR_MS).toISOString();
    const candidates = [];
    for await (const e of side.port.ledger.actionsDueBefore(horizon)) {
      const renewalAt = e.renewalAt ?? e.actionAt;
      if (NEEDS_REQUEST.includes(e.status) && e.validUntil > now && renewalAt < horizon)
        candidates.push(e.renewalAt !== undefined ? { ...e, actionAt: e.renewalAt } : e);
    }
    const plan = planRenewals({ now, candidates, renewalsPerMinute: RATE, usedThisMinute: 0 });
    return { requested: plan.now.length, pending: candidates.length };
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function row(label, a, b) {
  const ratio = a === 0 ? (b === 0 ? '1.00' : '∞') : (b / a).toFixed(2);
  const show = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return `  ${label.padEnd(34)} ${show(a).padStart(10)} ${show(b).padStart(10)} ${ratio.padStart(8)}`;
}

function table(title, a, b) {
  const keys = [
    [STORAGE === 'memory' ? 'index requests (pages)' : 'table queries (pages)', 'requests'],
    ['index entities read', 'entities'],
    ['record reads', 'recordReads'],
    ['time (ms)', 'ms'],
    ['certfleet CPU (ms)', 'cpuMs'],
    ['renewals asked (planned, dry runs)', 'requested'],
    ['pending in the horizon', 'pending'],
  ];
  console.log(`\n${title} (medians)`);
  console.log(`  ${''.padEnd(34)} ${'A'.padStart(10)} ${'B'.padStart(10)} ${'B / A'.padStart(8)}`);
  for (const [label, key] of keys)
    console.log(row(label, median(a.map((m) => m[key])), median(b.map((m) => m[key]))));
}

(async () => {
  let azurite;
  if (STORAGE === 'azurite') {
    const { startAzurite } = require(`${dist}/local/azurite`);
    azurite = await startAzurite();
    process.env.BENCH_TABLE_PORT = String(azurite.tablePort);
  }
  try {
    console.log(
      `ledgers on ${STORAGE}: A ${2_000 + 8_000} devices (2,000 in the horizon), B ${2_000 + WAITING + 8_000} devices (${2_000 + WAITING} in the horizon); ${RATE} renewals a minute`,
    );
    const sides = {};
    for (const [name, waiting] of [
      ['a', 0],
      ['b', WAITING],
    ]) {
      const t = performance.now();
      const store = await seeded(name, waiting, azurite);
      const clock = new ManualClock(NOW);
      const port = counted(store.ledger);
      const whole = counted(store.ledger);
      delete whole.ledger.actionsInOrder; // the sweep as it was: the whole horizon each minute
      const wholeClock = new ManualClock(NOW);
      sides[name] = {
        clock,
        port,
        engine: engine(port.ledger, clock),
        storageCounts: store.storageCounts,
        whole: {
          clock: wholeClock,
          port: whole,
          engine: engine(whole.ledger, wholeClock),
          storageCounts: store.storageCounts,
        },
      };
      console.log(
        `  ${name.toUpperCase()} seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    if (!sides.a.port.ledger.actionsInOrder)
      console.log(
        '  (this ledger has no actionsInOrder: the window reads the whole horizon every sweep)',
      );

    // The first sweep of a process reads the whole horizon.
    const first = { a: await measure(sides.a, NOW, false), b: await measure(sides.b, NOW, false) };
    table('the first sweep (reads the whole horizon)', [first.a], [first.b]);

    const asking = { a: [], b: [] };
    for (let round = 1; round <= ROUNDS; round += 1) {
      const now = at(round * MINUTE_MS);
      asking.a.push(await measure(sides.a, now, false));
      asking.b.push(await measure(sides.b, now, false));
    }
    table(`sweeps that ask, ${ROUNDS} minutes`, asking.a, asking.b);

    const planAt = at((ROUNDS + 1) * MINUTE_MS);
    const dry = { a: [], b: [], wholeA: [], wholeB: [], beforeA: [], beforeB: [] };
    await measure(sides.a, planAt, true);
    await measure(sides.b, planAt, true);
    for (let round = 0; round < DRY_ROUNDS; round += 1) {
      dry.a.push(await measure(sides.a, planAt, true));
      dry.b.push(await measure(sides.b, planAt, true));
      dry.wholeA.push(await measure(sides.a.whole, planAt, true));
      dry.wholeB.push(await measure(sides.b.whole, planAt, true));
      dry.beforeA.push(await before(sides.a, planAt));
      dry.beforeB.push(await before(sides.b, planAt));
    }
    table('dry runs: reading and planning with the window', dry.a, dry.b);
    table('reading and planning as before (whole horizon, planRenewals)', dry.beforeA, dry.beforeB);
    table(
      'dry runs on a ledger without actionsInOrder (the window reads the whole horizon)',
      dry.wholeA,
      dry.wholeB,
    );
  } finally {
    await azurite?.stop();
  }
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
