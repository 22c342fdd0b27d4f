import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { BlobAuditTrail } from '../../shared/adapters/storage/BlobAuditTrail';
import { BlobDeadLetters } from '../../shared/adapters/storage/BlobDeadLetters';
import { TableCertificateLedger } from '../../shared/adapters/storage/TableCertificateLedger';
import { IngestIotHubEvents } from '../../shared/app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { CertificateInspector, TransientFault } from '../../shared/app/ports';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { ManualClock } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { DEFAULT_RENEWAL_POLICY } from '../../shared/domain/RenewalPolicy';
import {
  deviceConnected,
  deviceCreated,
  deviceDeleted,
  deviceDisconnected,
  twinUpdated,
} from '../../shared/local/iotHubMessages';
import { SeededRandom } from '../../shared/simulation/fleet/SeededRandom';
import { FaultAction, ProxiedRequest, faultInjectingProxy } from '../support/faultInjectingProxy';
import { azuriteConnectionString, freshPrefix } from '../support/rawStorage';

/**
 * Fault tests for each class of storage answer, on Azurite behind a proxy that injects the
 * faults (test/support/faultInjectingProxy.ts): the adapters and the SDK clients are the real
 * ones. A history of 24 devices (creations, certificate reports, connections, deletions and a
 * few bad events) is ingested in batches, each redelivered until it goes through, as the
 * Functions host does under the trigger's retry policy; then the ledger, the audit trail and
 * the dead letters are compared with the same history ingested without faults.
 *
 * - transient (503, 500, 429, connections reset, answers lost after the service committed):
 *   the invocation fails and the redelivered batch applies everything exactly once;
 * - permanent for one event (400 InvalidInput, PropertyValueTooLarge, EntityTooLarge,
 *   KeyValueTooLarge, 413): that device's events are dead-lettered with the reason, the rest
 *   of the batch is applied, and the invocation does not fail: the partition goes on;
 * - a table or container deleted after start-up: created again, and the batch applied.
 *
 * The figures (cases, faults injected, records lost or doubled) go to docs/reliability.md.
 */
const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03'];
const DEVICES = Array.from({ length: 24 }, (_, i) => `meter-${String(i).padStart(2, '0')}`);
/** How often a batch is redelivered at most before the test gives up (the host never does). */
const MAX_DELIVERIES = 200;

const noPemInspector: CertificateInspector = {
  inspect: () => Promise.reject(new Error('no PEM in this history')),
};

const at = (day: number, minute: number) =>
  `2026-11-0${day}T${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}:00.000Z`;

function report(deviceId: string, version: number, day: number, minute: number) {
  return twinUpdated({ hub: HUB, deviceId, at: at(day, minute) }, version, {
    certificate: {
      validFrom: `2026-11-0${day}T00:00:00Z`,
      validUntil: `2026-12-0${day}T00:00:00Z`,
    },
  });
}

/**
 * Three batches: creations, first reports and a message from elsewhere; connections, renewals
 * and bad events; deletions, reports and disconnections. `without` leaves a device's events out
 * (every other event stays as it was).
 */
function history(without?: string): RawIotHubMessage[][] {
  const devices = DEVICES;
  const first = devices.flatMap((id, i) => [
    deviceCreated({ hub: HUB, deviceId: id, at: at(1, i) }),
    report(id, 2, 1, 30 + i),
  ]);
  first.splice(3, 0, { body: { hello: 'world' }, properties: {}, systemProperties: {} });
  const second = devices.flatMap((id, i) => [
    deviceConnected({ hub: HUB, deviceId: id, at: at(2, i) }, BigInt(10 + i)),
    ...(i % 2 === 0 ? [report(id, 3, 2, 30 + i)] : []),
  ]);
  second.splice(5, 0, report('x'.repeat(1000), 2, 2, 1), {
    ...report('meter-broken', 2, 2, 2),
    body: '{"properties":',
  });
  const third = devices.flatMap((id, i) => [
    ...(i % 5 === 0 ? [deviceDeleted({ hub: HUB, deviceId: id, at: at(3, i) })] : []),
    ...(i % 3 === 0 ? [report(id, 4, 3, 30 + i)] : []),
    deviceDisconnected({ hub: HUB, deviceId: id, at: at(3, 60 + i) }, BigInt(100 + i)),
  ]);
  return [first, second, third].map((batch) =>
    batch.filter((m) => without === undefined || m.properties['deviceId'] !== without),
  );
}

/** Fast SDK retries, so a fault often outlasts them and reaches certfleet. */
function storageAt(connectionString: string, prefix: string) {
  const table = (name: string) =>
    TableClient.fromConnectionString(connectionString, `${prefix}${name}`, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
    });
  const blobs = BlobServiceClient.fromConnectionString(connectionString, {
    retryOptions: { maxTries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
  const ledger = new TableCertificateLedger(table('ledger'));
  const audit = new BlobAuditTrail(blobs.getContainerClient(`${prefix}-audit`), 4);
  const deadLetters = new BlobDeadLetters(blobs.getContainerClient(`${prefix}-deadletters`));
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector: noPemInspector,
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
    },
  });
  return { ledger, audit, deadLetters, ingest };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

interface Snapshot {
  records: Record<string, DeviceRecord>;
  audit: AuditEntry[];
  deadLetters: { code: string; deviceId?: string; reason: string }[];
}

/** What storage holds under `prefix`, read without the proxy. */
async function snapshot(prefix: string): Promise<Snapshot> {
  const clean = storageAt(azuriteConnectionString(), prefix);
  const records = Object.fromEntries(
    (await collect(clean.ledger.list())).map((r) => [r.deviceId, r]),
  );
  const audit: AuditEntry[] = [];
  for (const day of DAYS) audit.push(...(await collect(clean.audit.readDate(day))));
  const deadLetters = (await collect(clean.deadLetters.list()))
    .map((l) => ({
      code: l.code,
      reason: l.reason,
      ...(l.deviceId ? { deviceId: l.deviceId } : {}),
    }))
    .sort((a, b) => `${a.code}${a.deviceId}`.localeCompare(`${b.code}${b.deviceId}`));
  return { records, audit, deadLetters };
}

/** The history ingested without faults, under a prefix of its own. */
async function faultFree(batches: RawIotHubMessage[][]): Promise<Snapshot> {
  const prefix = freshPrefix();
  const { ingest } = storageAt(azuriteConnectionString(), prefix);
  for (const batch of batches) await ingest.apply(batch);
  return snapshot(prefix);
}

/** Delivers a batch as the host does under the retry policy: again until it goes through. */
async function deliverUntilApplied(
  ingest: IngestIotHubEvents,
  batch: RawIotHubMessage[],
): Promise<{ failedInvocations: number }> {
  let failedInvocations = 0;
  for (let delivery = 1; delivery <= MAX_DELIVERIES; delivery += 1) {
    try {
      await ingest.apply(batch);
      return { failedInvocations };
    } catch (error) {
      // Only a fault that can heal may fail the invocation.
      expect(error).toBeInstanceOf(TransientFault);
      failedInvocations += 1;
    }
  }
  throw new Error(`the batch failed ${MAX_DELIVERIES} times`);
}

/** Records lost or doubled against the fault-free run: both must be zero. */
function differences(run: Snapshot, expected: Snapshot) {
  const ids = run.audit.map((e) => e.id);
  const expectedIds = new Set(expected.audit.map((e) => e.id));
  return {
    ledgerRecordsLost: Object.keys(expected.records).filter((id) => !run.records[id]).length,
    ledgerRecordsDiffering: Object.keys(expected.records).filter(
      (id) =>
        run.records[id] && JSON.stringify(run.records[id]) !== JSON.stringify(expected.records[id]),
    ),
    ledgerRecordsExtra: Object.keys(run.records).filter((id) => !expected.records[id]).length,
    auditRecordsLost: [...expectedIds].filter((id) => !ids.includes(id)).length,
    auditRecordsDoubled: ids.length - new Set(ids).size,
    auditRecordsExtra: ids.filter((id) => !expectedIds.has(id)).length,
  };
}

const NO_DIFFERENCE = {
  ledgerRecordsLost: 0,
  ledgerRecordsDiffering: [],
  ledgerRecordsExtra: 0,
  auditRecordsLost: 0,
  auditRecordsDoubled: 0,
  auditRecordsExtra: 0,
};

/** Every request the proxies saw, and the faults, tallied for docs/reliability.md. */
const figures = {
  transientRuns: 0,
  transientFaultsInjected: {} as Record<string, number>,
  failedInvocations: 0,
  permanentCases: 0,
  permanentFaultsInjected: 0,
  missingResourceCases: 0,
  recordsLostOrDoubled: 0,
};

/** Adds a comparison's records lost, doubled or extra to the figures, and passes it on. */
function tallied(found: ReturnType<typeof differences>): ReturnType<typeof differences> {
  figures.recordsLostOrDoubled +=
    found.ledgerRecordsLost +
    found.ledgerRecordsDiffering.length +
    found.ledgerRecordsExtra +
    found.auditRecordsLost +
    found.auditRecordsDoubled +
    found.auditRecordsExtra;
  return found;
}

afterAll(() => {
  // One line for docs/reliability.md.
  console.log(`storage fault figures: ${JSON.stringify(figures)}`);
});

let baseline: Snapshot;

beforeAll(async () => {
  baseline = await faultFree(history());
  // The history exercises every path: applied, deleted, dead-lettered.
  expect(Object.keys(baseline.records)).toHaveLength(DEVICES.length);
  expect(baseline.deadLetters.map((l) => l.code)).toEqual([
    'body-not-json',
    'invalid-device-id',
    'unknown-source',
  ]);
  expect(baseline.audit.length).toBeGreaterThan(DEVICES.length * 2);
});

/** Transient answers, each drawn for a request with probability `rate` (seeded). */
function transientFaults(seed: number, rate: number): (request: ProxiedRequest) => FaultAction {
  const random = SeededRandom.stream(seed, 'transient-storage-faults');
  const kinds: FaultAction[] = [
    { kind: 'answer', status: 503, code: 'ServerBusy' },
    { kind: 'answer', status: 500, code: 'InternalError' },
    { kind: 'answer', status: 429, code: 'TooManyRequests' },
    { kind: 'reset' },
    { kind: 'drop-answer' },
  ];
  return () => {
    if (random.next() >= rate) return { kind: 'pass' };
    return kinds[Math.floor(random.next() * kinds.length)] as FaultAction;
  };
}

describe('storage faults while ingesting, on Azurite behind a fault-injecting proxy', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'applies everything exactly once when transient faults fail invocations (seed %i): redelivery heals them',
    async (seed) => {
      const proxy = await faultInjectingProxy(transientFaults(seed, 0.1));
      try {
        const prefix = freshPrefix();
        const { ingest } = storageAt(proxy.connectionString, prefix);
        let failedInvocations = 0;
        for (const batch of history()) {
          failedInvocations += (await deliverUntilApplied(ingest, batch)).failedInvocations;
        }
        const run = await snapshot(prefix);

        expect(proxy.injected.length).toBeGreaterThan(0);
        expect(failedInvocations).toBeGreaterThan(0);
        expect(tallied(differences(run, baseline))).toEqual(NO_DIFFERENCE);
        expect(run.deadLetters).toEqual(baseline.deadLetters);
        expect(run.records).toEqual(baseline.records);

        figures.transientRuns += 1;
        figures.failedInvocations += failedInvocations;
        for (const { action } of proxy.injected) {
          const name = action.kind === 'answer' ? String(action.status) : action.kind;
          figures.transientFaultsInjected[name] = (figures.transientFaultsInjected[name] ?? 0) + 1;
        }
      } finally {
        await proxy.close();
      }
    },
    120_000,
  );

  const PERMANENT_ANSWERS = [
    [400, 'InvalidInput'],
    [400, 'OutOfRangeInput'],
    [400, 'KeyValueTooLarge'],
    [400, 'PropertyValueTooLarge'],
    [400, 'EntityTooLarge'],
    [413, 'RequestBodyTooLarge'],
  ] as const;

  it.each(
    PERMANENT_ANSWERS.flatMap(([status, code]) => [
      [status, code, 'every request'] as const,
      [status, code, 'its writes'] as const,
    ]),
  )(
    "dead-letters one device's events with the reason when storage answers %i %s to %s for its record, and applies the rest without failing",
    async (status, code, which) => {
      const victim = 'meter-07';
      const proxy = await faultInjectingProxy((request) =>
        request.service === 'table' &&
        (which === 'every request' || request.method !== 'GET') &&
        `${request.path}\n${request.body}`.includes(victim)
          ? { kind: 'answer', status, code }
          : { kind: 'pass' },
      );
      try {
        const prefix = freshPrefix();
        const { ingest } = storageAt(proxy.connectionString, prefix);
        for (const batch of history()) {
          // The partition is never held up by an event's own problem: no delivery fails.
          await ingest.apply(batch);
        }
        const run = await snapshot(prefix);
        const expected = await faultFree(history(victim));

        expect(run.records[victim]).toBeUndefined();
        const victimEvents = history()
          .flat()
          .filter((m) => m.properties['deviceId'] === victim);
        const victimLetters = run.deadLetters.filter((l) => l.deviceId === victim);
        expect(victimLetters).toHaveLength(victimEvents.length);
        for (const letter of victimLetters) {
          expect(letter).toMatchObject({
            code: 'ledger-update-failed',
            reason: expect.stringContaining(`storage can never accept it (${status} ${code})`),
          });
        }
        expect(tallied(differences(run, expected))).toEqual(NO_DIFFERENCE);
        expect(run.deadLetters.filter((l) => l.deviceId !== victim)).toEqual(expected.deadLetters);

        figures.permanentCases += 1;
        figures.permanentFaultsInjected += proxy.injected.length;
      } finally {
        await proxy.close();
      }
    },
    120_000,
  );

  /** What the fault-free run holds, less what the deleted table or container took with it. */
  const stillThere = {
    /** The first batch's creations went with the table: the connections came after. */
    ledger: (run: Snapshot) => {
      for (const [deviceId, expected] of Object.entries(baseline.records))
        expect(run.records[deviceId]?.connection).toEqual(expected.connection);
      expect(run.deadLetters).toEqual(baseline.deadLetters);
    },
    index: (run: Snapshot) => {
      expect(tallied(differences(run, baseline))).toEqual(NO_DIFFERENCE);
      expect(run.deadLetters).toEqual(baseline.deadLetters);
    },
    /** The first batch's letter (a message from elsewhere) went with the container. */
    deadLetters: (run: Snapshot) => {
      expect(tallied(differences(run, baseline))).toEqual(NO_DIFFERENCE);
      expect(run.deadLetters).toEqual(
        baseline.deadLetters.filter((l) => l.code !== 'unknown-source'),
      );
    },
    /** The first batch's audit records (all on 1 November) went with the container. */
    audit: (run: Snapshot) => {
      expect(run.records).toEqual(baseline.records);
      expect(run.audit.map((e) => e.id).sort()).toEqual(
        baseline.audit
          .filter((e) => !e.occurredAt.startsWith(DAYS[0] as string))
          .map((e) => e.id)
          .sort(),
      );
    },
  };

  it.each([
    ['the ledger table', 'devices', 'ledger'],
    ['the renewal index table', 'due', 'index'],
    ['the dead-letter container', '-deadletters', 'deadLetters'],
    ['the audit container', '-audit', 'audit'],
  ] as const)(
    'creates %s again when it is deleted after start-up, and applies the next batches',
    async (_what, suffix, expectation) => {
      const prefix = freshPrefix();
      const { ingest, ledger } = storageAt(azuriteConnectionString(), prefix);
      const [first, ...rest] = history();
      await ingest.apply(first as RawIotHubMessage[]);
      await (suffix.startsWith('-') ? deleteContainer : deleteTable)(`${prefix}${suffix}`);

      // The same instance, whose start-up created the table or container, goes on: no
      // delivery fails.
      for (const batch of rest) await ingest.apply(batch);

      const run = await snapshot(prefix);
      stillThere[expectation](run);
      const ids = run.audit.map((e) => e.id);
      expect(ids.length).toBe(new Set(ids).size);
      // The renewal index answers for what was written after it came back.
      const due = await collect(ledger.actionsDueBefore('2027-01-01T00:00:00.000Z'));
      expect(due.length).toBeGreaterThan(0);
      figures.missingResourceCases += 1;
    },
  );
});

async function deleteTable(name: string): Promise<void> {
  await TableClient.fromConnectionString(azuriteConnectionString(), name, {
    allowInsecureConnection: true,
  }).deleteTable();
}

async function deleteContainer(name: string): Promise<void> {
  await BlobServiceClient.fromConnectionString(azuriteConnectionString())
    .getContainerClient(name)
    .delete();
}
