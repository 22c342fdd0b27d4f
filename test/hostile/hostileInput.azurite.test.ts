import { X509CertificateInspector } from '../../shared/adapters/x509/X509CertificateInspector';
import { IngestIotHubEvents, IngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { deadLetterOf } from '../../shared/app/ingest/deadLetterOf';
import { DeadLetter } from '../../shared/app/ports';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { ManualClock } from '../../shared/domain/Clock';
import { DeviceKey, deviceKeyString } from '../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import {
  HOSTILE_KIND_NAMES,
  HostileWorld,
  KEY_PLACEMENT_NAMES,
  StreamEvent,
  aHostileWorld,
  hostileEventStream,
} from '../support/hostileEvents';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../support/memoryPorts';
import { StoredItem, everythingStoredUnder } from '../support/rawStorage';
import { keysHeldIn } from '../support/storedSecrets';
import { azuriteServices } from '../support/testStorage';

/**
 * The hostile-input suite: 10,000 generated messages, good devices'
 * ordinary lives mixed with every kind of hostile input (test/support/hostileEvents.ts), fed in
 * batches of 100 through the real services on Azurite, as the Event Hubs trigger would. Then:
 * no batch threw (nothing stopped); every good event was applied, the ledger and the audit trail
 * of the good devices being what the good events alone make (the same batches without the
 * hostile messages, through the same use case on the in-memory doubles); every bad message left
 * one dead letter with the reason code it was built to provoke, and the records (and findings)
 * it was built to leave, and no other; and no table entity or blob, decoded every way the scan
 * knows, holds any of the private keys the messages carried.
 *
 * The seed fixes the stream (CERTFLEET_HOSTILE_SEED; CERTFLEET_HOSTILE_EVENTS for its length);
 * CERTFLEET_HOSTILE_REPORT=1 prints the figures (messages by kind, dead letters by code, time).
 */
const SEED = Number(process.env.CERTFLEET_HOSTILE_SEED ?? 20261102);
const EVENTS = Number(process.env.CERTFLEET_HOSTILE_EVENTS ?? 10_000);
const BATCH = 100;
const NOW = '2026-11-03T00:00:00.000Z';

interface Run {
  world: HostileWorld;
  stream: StreamEvent[];
  prefix: string;
  summaries: IngestSummary[];
  failures: { batch: number; error: string }[];
  records: Map<string, DeviceRecord>;
  deadLetters: DeadLetter[];
  audit: AuditEntry[];
  auditChainsIntact: boolean;
  stored: StoredItem[];
  reference: { records: Map<string, DeviceRecord>; audit: AuditEntry[]; deadLetters: DeadLetter[] };
  timings: Record<string, number>;
  /** How long each batch took on Azurite. */
  batchMs: number[];
}

let run: Run;

beforeAll(async () => {
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      timings[name] = Date.now() - started;
    }
  };
  const world = await time('certificates and keys', aHostileWorld);
  const stream = await time('generating the stream', async () =>
    hostileEventStream(world, { seed: SEED, count: EVENTS }),
  );
  const { services, env } = azuriteServices({
    now: NOW,
    env: { CERTFLEET_TRUST_BUNDLE: world.trustBundlePem },
  });
  const prefix = env['CERTFLEET_STORAGE_PREFIX']!;
  const reference = referenceIngest(env);
  const batches = Array.from({ length: Math.ceil(stream.length / BATCH) }, (_, i) =>
    stream.slice(i * BATCH, (i + 1) * BATCH),
  );

  const summaries: IngestSummary[] = [];
  const failures: Run['failures'] = [];
  const batchMs: number[] = [];
  await time('ingesting on Azurite', async () => {
    for (const [i, batch] of batches.entries()) {
      const started = Date.now();
      try {
        summaries.push(await services.ingest.apply(batch.map((e) => e.message)));
        batchMs.push(Date.now() - started);
      } catch (error) {
        failures.push({ batch: i, error: `${(error as Error).name}: ${(error as Error).message}` });
      }
    }
  });
  await time('ingesting the good events alone, in memory', async () => {
    for (const batch of batches) {
      await reference.ingest.apply(batch.filter((e) => e.good).map((e) => e.message));
    }
  });

  const records = await time('reading the ledger', async () => {
    const byKey = new Map<string, DeviceRecord>();
    // Read as a use case reads them: audit entries whose receipt is written are not pending.
    for await (const listed of services.ledger.list()) {
      const record = (await services.ledger.read(listed))?.value ?? listed;
      byKey.set(deviceKeyString(record), record);
    }
    return byKey;
  });
  const stored = await time('reading every entity and blob', () => everythingStoredUnder(prefix));
  const deadLetters = stored
    .filter((s) => s.where.startsWith(`blob ${prefix}-deadletters/`))
    // The blob's content; the scan adds its metadata, tags and container metadata as 3 lines.
    .map((s) => JSON.parse(s.text.split('\n').slice(0, -3).join('\n')) as DeadLetter);
  const auditBlobs = stored.filter((s) => s.where.startsWith(`blob ${prefix}-audit/`));
  const audit = auditBlobs.flatMap((s) => auditLines(s.text));
  const dates = [...new Set(auditBlobs.map((s) => s.where.split('/').slice(1, 4).join('-')))];
  const auditChainsIntact = await time('verifying the audit chains', async () => {
    for (const date of dates) {
      const verification = await services.audit.verifyDate(date);
      if (verification.blobs.some((b) => !b.result.ok)) return false;
    }
    return true;
  });

  run = {
    world,
    stream,
    prefix,
    summaries,
    failures,
    records,
    deadLetters,
    audit,
    auditChainsIntact,
    stored,
    reference: {
      records: new Map(
        [...reference.ledger.records.values()].map(({ value }) => [deviceKeyString(value), value]),
      ),
      audit: reference.audit.all(),
      deadLetters: reference.deadLetters.all(),
    },
    timings,
    batchMs,
  };
}, 600_000);

afterAll(() => {
  if (process.env.CERTFLEET_HOSTILE_REPORT !== '1' || !run) return;
  const count = (keys: string[]) =>
    Object.fromEntries(
      [...keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>())].sort(),
    );
  console.log(
    JSON.stringify(
      {
        seed: SEED,
        messages: run.stream.length,
        good: run.stream.filter((e) => e.good).length,
        byKind: count(run.stream.map((e) => e.kind)),
        deadLettersByCode: count(run.deadLetters.map((l) => l.code)),
        records: run.records.size,
        storedItems: run.stored.length,
        auditRecords: run.audit.length,
        timingsMs: run.timings,
        batchMs: {
          first10: mean(run.batchMs.slice(0, 10)),
          last10: mean(run.batchMs.slice(-10)),
          slowest: Math.max(...run.batchMs),
        },
      },
      null,
      2,
    ),
  );
});

describe(`${EVENTS} hostile and good messages through the real services on Azurite`, () => {
  it('ingests every batch without a throw: nothing stops', () => {
    expect(run.failures).toEqual([]);
    expect(run.summaries).toHaveLength(Math.ceil(EVENTS / BATCH));
    expect(run.summaries.reduce((sum, s) => sum + s.messages, 0)).toBe(EVENTS);
  });

  it('is the same stream for the same seed (kinds, ids, times and expectations)', () => {
    const shape = (stream: readonly StreamEvent[]) =>
      stream.map((e) => [
        e.kind,
        e.detail,
        e.good,
        e.expected,
        e.message.properties['deviceId'],
        e.message.properties['operationTimestamp'],
      ]);

    expect(shape(hostileEventStream(run.world, { seed: SEED, count: EVENTS }))).toEqual(
      shape(run.stream),
    );
  });

  it('tries every hostile kind, and every key placement with every key type', () => {
    const kinds = new Set(run.stream.map((e) => e.kind));
    expect(HOSTILE_KIND_NAMES.filter((kind) => !kinds.has(kind))).toEqual([]);
    const keyCases = new Set(
      run.stream.filter((e) => e.kind === 'hostile: private key').map((e) => e.detail),
    );
    expect(keyCases.size).toBe(KEY_PLACEMENT_NAMES.length * run.world.keys.length);
    expect(run.stream.filter((e) => !e.good).length).toBeGreaterThan(EVENTS / 3);
  });

  it('applies every good event: the good devices end as the good events alone leave them', () => {
    const good = goodDevices(run.stream);
    const goodRecords = (records: Map<string, DeviceRecord>) =>
      Object.fromEntries([...records].filter(([key]) => good.has(key)));

    expect(goodRecords(run.records)).toEqual(goodRecords(run.reference.records));
    expect(run.reference.records.size).toBeGreaterThan(EVENTS / 20);
    // The good devices' events are good: the reference found nothing wrong with them either.
    expect(run.reference.deadLetters).toEqual([]);
    expect(
      [...run.reference.records.values()]
        .filter((r) => r.findings.length > 0)
        .map((r) => `${key(r)}: ${r.findings.map((f) => f.message).join('; ')}`),
    ).toEqual([]);
  });

  it('audits the good devices exactly as the good events alone do, in intact chains', () => {
    const good = goodDevices(run.stream);
    const ofGood = (entries: AuditEntry[]) =>
      entries
        .filter((e) => good.has(key(e)))
        .map(withoutChain)
        .sort((a, b) => a.id.localeCompare(b.id));

    expect(ofGood(run.audit)).toEqual(ofGood(run.reference.audit));
    expect(run.auditChainsIntact).toBe(true);
  });

  it('dead-letters every bad message once, with the reason code it was built to provoke', () => {
    // A dead letter's id is a hash of the message (redacted): the same message, the same letter.
    const letters = new Map(run.deadLetters.map((l) => [l.id, l]));
    const expected = new Map<string, { code: string; event: StreamEvent }>();
    for (const event of run.stream) {
      if (!event.expected.deadLetter) continue;
      const { id } = deadLetterOf(event.message, { code: '', reason: '' }, NOW);
      expected.set(id, { code: event.expected.deadLetter, event });
    }
    const wrong = [...expected].flatMap(([id, { code, event }]) => {
      const letter = letters.get(id);
      if (letter?.code === code) return [];
      return [`${event.kind} ${event.detail ?? ''}: ${letter ? letter.code : 'no dead letter'}`];
    });

    expect([...new Set(wrong)]).toEqual([]);
    expect(countBy(run.deadLetters.map((l) => l.code))).toEqual(
      countBy([...expected.values()].map((e) => e.code)),
    );
    expect(run.deadLetters.filter((l) => l.reason.trim() === '')).toEqual([]);
  });

  it('records the devices bad messages were built to leave, with their findings, and no other', () => {
    const good = goodDevices(run.stream);
    const expected = new Map<string, { findings: Set<string>; event: StreamEvent }>();
    for (const event of run.stream) {
      const record = event.expected.record;
      if (!record) continue;
      const entry = expected.get(key(record)) ?? { findings: new Set<string>(), event };
      record.findings.forEach((f) => entry.findings.add(f));
      expected.set(key(record), entry);
    }

    const unexpected = [...run.records.keys()].filter((k) => !good.has(k) && !expected.has(k));
    const missing = [...expected]
      .filter(([k]) => !run.records.has(k))
      .map(([k, { event }]) => `${k}: ${event.kind} ${event.detail ?? ''}`);
    const wrong = run.stream.flatMap((event) => {
      const want = event.expected.record;
      const record = want && run.records.get(key(want));
      if (!want || !record) return [];
      const codes = record.findings.map((f) => f.code as string);
      const problems = [
        ...want.findings.filter((f) => !codes.includes(f)).map((f) => `lacks ${f}`),
        ...(want.withoutFindings ?? []).filter((f) => codes.includes(f)).map((f) => `has ${f}`),
        ...Object.entries(want.current ?? {})
          .filter(([field, value]) => record.current?.[field as 'validFrom'] !== value)
          .map(
            ([field, value]) =>
              `current.${field} is ${record.current?.[field as 'validFrom']}, not ${value}`,
          ),
      ];
      return problems.length ? [`${event.kind} ${event.detail ?? ''}: ${problems.join(', ')}`] : [];
    });

    expect(unexpected).toEqual([]);
    expect(missing).toEqual([]);
    expect([...new Set(wrong)]).toEqual([]);
  });

  it('sees every key the stream carries, in every placement, when it scans the messages', () => {
    // A scan that sees nothing proves nothing: the first message of each placement and key type.
    const firsts = new Map<string, StreamEvent>();
    for (const event of run.stream) {
      if (event.kind === 'hostile: private key' && !firsts.has(event.detail!))
        firsts.set(event.detail!, event);
    }
    const unseen = [...firsts].filter(
      ([, event]) => keysHeldIn(JSON.stringify(event.message), run.world.keys).length === 0,
    );

    expect(firsts.size).toBe(KEY_PLACEMENT_NAMES.length * run.world.keys.length);
    expect(unseen.map(([detail]) => detail)).toEqual([]);
  });

  it('keeps no private key material in any table entity or blob, decoded every way', () => {
    const started = Date.now();
    const leaks = run.stored.flatMap((item) =>
      keysHeldIn(item.text, run.world.keys).map((k) => `${k.type} in ${item.where}`),
    );
    run.timings['scanning every entity and blob for keys'] = Date.now() - started;

    expect(run.stored.length).toBeGreaterThan(EVENTS / 2);
    expect(leaks).toEqual([]);
    expect(
      keysHeldIn(JSON.stringify([run.summaries, run.failures]), run.world.keys).map((k) => k.type),
    ).toEqual([]);
  });

  it('leaves Object.prototype as it was, whatever the messages named their properties', () => {
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
});

/** The use case on the in-memory doubles, with the settings the Azurite services were built from. */
function referenceIngest(env: Record<string, string>) {
  const settings = loadSettings(env);
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector: new X509CertificateInspector(settings.trustBundlePem),
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: settings.certificatePath,
      maxBodyBytes: settings.maxBodyBytes,
      maxPemBytes: settings.maxPemBytes,
      renewalPolicy: settings.renewalPolicy,
      cohortPolicies: settings.renewal.cohortPolicies,
      cohortTag: settings.renewal.cohortTag,
      alerts: settings.alerts.rules,
    },
  });
  return { ingest, ledger, audit, deadLetters };
}

/** Keys of the devices good messages are about (hub names as certfleet normalizes them). */
function goodDevices(stream: readonly StreamEvent[]): Set<string> {
  return new Set(
    stream
      .filter((e) => e.good)
      .map((e) =>
        key({
          hub: String(e.message.properties['hubName'])
            .toLowerCase()
            .replace(/\.azure-devices\.net$/, ''),
          deviceId: String(e.message.properties['deviceId']),
        }),
      ),
  );
}

function key(device: DeviceKey): string {
  return deviceKeyString({ hub: device.hub, deviceId: device.deviceId });
}

function withoutChain(entry: AuditEntry): AuditEntry {
  const {
    seq: _seq,
    prevHash: _prev,
    hash: _hash,
    appendedAt: _appended,
    ...rest
  } = entry as AuditEntry & {
    seq?: number;
    prevHash?: string;
    hash?: string;
    appendedAt?: string;
  };
  return rest;
}

function auditLines(text: string): AuditEntry[] {
  // The scan appends the blob's metadata and tags after its content; audit lines are objects.
  return text
    .split('\n')
    .filter((line) => line.startsWith('{"'))
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as AuditEntry;
        return typeof entry.id === 'string' && typeof entry.type === 'string' ? [entry] : [];
      } catch {
        return [];
      }
    });
}

function mean(values: readonly number[]): number {
  return Math.round(values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length));
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of [...values].sort()) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
