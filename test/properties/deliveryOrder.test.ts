import fc from 'fast-check';
import { X509CertificateInspector } from '../../shared/adapters/x509/X509CertificateInspector';
import { IngestIotHubEvents } from '../../shared/app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { CertificateInspector } from '../../shared/app/ports';
import { AuditEventType } from '../../shared/domain/AuditEntry';
import { PemInspection } from '../../shared/domain/CertificateInspection';
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
import { IssuedLeaf, aPki } from '../support/certificates';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../support/memoryPorts';

/**
 * Property: whatever order IoT Hub's events arrive in, and however often, the ledger ends as
 * in-order delivery leaves it, and the audit trail holds every record in-order delivery writes.
 * Random device histories (creations, deletions and re-creations,
 * reports with and without a real PEM, removals, reports that do not touch the certificate,
 * connections) go through the ingest use case on the in-memory doubles, once in order and once
 * shuffled with duplicates, each cut into random batches.
 *
 * A trail is append-only, so one thing cannot be equal across orders: a certificate reported
 * first in one batch, whose predecessor arrives in a later batch, was audited as what it seemed
 * then (first seen, say), and in order it is audited as the renewal it was. Both records stay.
 * Delivered in one batch, in any order, the trail is exactly in-order delivery's.
 *
 * Certificates are real (test/support/certificates.ts: three renewals per device and one from a
 * CA nobody trusts, issued once); the suite prints its figures (histories, messages delivered,
 * extra records) for docs/reliability.md.
 */
const HUB = 'contoso-hub';
const DEVICES = ['thermostat-0001', 'meter-0002'] as const;
const START = Date.parse('2026-11-01T00:00:00.000Z');
const NOW = '2026-11-20T00:00:00.000Z';
/** Histories per property; DELIVERY_ORDER_RUNS=5000 for a longer hunt. */
const RUNS = Number(process.env['DELIVERY_ORDER_RUNS'] ?? 200);
const CERTIFICATE_CHANGES: readonly AuditEventType[] = [
  'certificate.first-seen',
  'certificate.renewed',
  'certificate.changed-unexpectedly',
  'certificate.removed',
];

type Action =
  | { kind: 'report'; certificate: number; pem: boolean }
  /** A patch with only `validUntil`: IoT Hub merges it into what was reported before. */
  | { kind: 'patch'; certificate: number }
  | { kind: 'removal' | 'other' | 'connect' | 'disconnect' };
interface DeviceHistory {
  lives: Action[][];
  endsDeleted: boolean;
}

/** Per device: renewals valid until later and later, and one from a CA nobody trusts. */
let pool: Record<string, IssuedLeaf[]>;
let inspector: CertificateInspector;
const figures = {
  histories: 0,
  messages: 0,
  deliveries: 0,
  extraRecords: 0,
  deadLettersDiffering: 0,
};

beforeAll(async () => {
  const pki = await aPki();
  const rogue = await aPki();
  pool = {};
  for (const device of DEVICES) {
    const renewals = await Promise.all(
      [0, 1, 2].map((i) =>
        pki
          .leaf(device)
          .validFrom(
            new Date(Date.parse('2026-10-01T00:00:00Z') + i * 10 * 86_400_000).toISOString(),
          )
          .forDays(60)
          .issue(),
      ),
    );
    const forged = await rogue.leaf(device).validFrom('2026-10-15T00:00:00Z').forDays(30).issue();
    pool[device] = [...renewals, forged];
  }
  // Parsing is a pure function of the PEM and the time: parse each once for the whole suite.
  const real = new X509CertificateInspector(pki.trustBundlePem);
  const parsed = new Map<string, Promise<PemInspection>>();
  inspector = {
    inspect: (pem: string, at: Date, chain: readonly string[] = []) => {
      const key = `${at.toISOString()}\n${pem}\n${chain.join('\n')}`;
      if (!parsed.has(key)) parsed.set(key, real.inspect(pem, at, chain));
      return parsed.get(key)!;
    },
  } as CertificateInspector;
}, 60_000);

afterAll(() => {
  // The figures for docs/reliability.md.
  console.log(`delivery-order properties: ${JSON.stringify(figures)}`);
});

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      certificate: fc.nat(3),
      pem: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('patch' as const), certificate: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'removal' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'other' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'connect' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'disconnect' as const }) },
);
const deviceHistory: fc.Arbitrary<DeviceHistory> = fc.record({
  lives: fc.array(fc.array(action, { maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  endsDeleted: fc.boolean(),
});
const histories = fc.array(deviceHistory, { minLength: 1, maxLength: DEVICES.length });

/** The messages IoT Hub routes for the histories, in the order they happened. */
function messagesOf(devices: readonly DeviceHistory[]): RawIotHubMessage[] {
  const timed: { at: number; message: RawIotHubMessage }[] = [];
  devices.forEach((history, d) => {
    const deviceId = DEVICES[d]!;
    let minute = d * 7; // the devices' events interleave
    let sequence = 0n;
    const at = () => {
      minute += 1 + (minute % 3);
      return START + minute * 60_000;
    };
    const origin = (time: number) => ({
      hub: HUB,
      deviceId,
      at: new Date(time).toISOString(),
    });
    history.lives.forEach((life, l) => {
      let t = at();
      timed.push({ at: t, message: deviceCreated(origin(t)) });
      let version = 1; // the twin at creation is reported $version 1
      for (const step of life) {
        t = at();
        if (step.kind === 'connect' || step.kind === 'disconnect') {
          sequence += 1n;
          const message = step.kind === 'connect' ? deviceConnected : deviceDisconnected;
          timed.push({ at: t, message: message(origin(t), sequence) });
          continue;
        }
        version += 1;
        timed.push({
          at: t,
          message: twinUpdated(origin(t), version, reportedPatch(deviceId, step)),
        });
      }
      const last = l === history.lives.length - 1;
      if (!last || history.endsDeleted) {
        t = at();
        timed.push({ at: t, message: deviceDeleted(origin(t)) });
      }
    });
  });
  return timed.sort((a, b) => a.at - b.at).map((m) => m.message);
}

/** The reported properties a step changes. */
function reportedPatch(deviceId: string, step: Action): Record<string, unknown> {
  switch (step.kind) {
    case 'report': {
      const leaf = pool[deviceId]![step.certificate]!;
      const fields = { validFrom: leaf.validFrom, validUntil: leaf.validUntil };
      return { certificate: step.pem ? { ...fields, pem: leaf.leafPem } : fields };
    }
    case 'patch':
      return { certificate: { validUntil: pool[deviceId]![step.certificate]!.validUntil } };
    case 'removal':
      return { certificate: null };
    default:
      return { firmware: `build-${deviceId.length}` };
  }
}

interface Delivery {
  /** Message indexes in delivery order, duplicates included. */
  order: number[];
  /** Where the delivery is cut into batches. */
  cuts: number[];
}

/** A shuffled delivery with duplicates, and an in-order one, each cut into batches. */
function deliveries(count: number): fc.Arbitrary<{ inOrder: Delivery; shuffled: Delivery }> {
  const indexes = [...Array(count).keys()];
  return fc.record({
    inOrder: fc.record({
      order: fc.constant(indexes),
      cuts: fc.array(fc.nat(count), { maxLength: 4 }),
    }),
    shuffled: fc
      .tuple(
        fc.shuffledSubarray(indexes, { minLength: count, maxLength: count }),
        fc.array(fc.tuple(fc.nat(count - 1), fc.nat(count)), { maxLength: 5 }),
        fc.array(fc.nat(count + 5), { maxLength: 5 }),
      )
      .map(([order, duplicates, cuts]) => {
        const withDuplicates = [...order];
        for (const [message, position] of duplicates) withDuplicates.splice(position, 0, message);
        return { order: withDuplicates, cuts };
      }),
  });
}

/** Histories and how their messages are delivered (messages are built from the pool). */
function scenario() {
  return histories.chain((devices) =>
    deliveries(messagesOf(devices).length).map((plan) => ({ devices, plan })),
  );
}

function batchesOf(messages: readonly RawIotHubMessage[], delivery: Delivery) {
  const cuts = [...new Set(delivery.cuts)].sort((a, b) => a - b);
  const batches: RawIotHubMessage[][] = [];
  let from = 0;
  for (const cut of [...cuts, delivery.order.length]) {
    if (cut <= from) continue;
    batches.push(delivery.order.slice(from, cut).map((i) => structuredClone(messages[i]!)));
    from = cut;
  }
  return batches;
}

async function deliver(batches: readonly RawIotHubMessage[][]) {
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector,
    clock: new ManualClock(NOW),
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 4096,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
    },
  });
  for (const batch of batches) await ingest.apply(batch);
  figures.deliveries += 1;
  return { ledger, audit, deadLetters };
}

/** What a record shows: not when certfleet wrote it, nor what it keeps to order events. */
function shown(record: DeviceRecord | undefined) {
  if (!record) return undefined;
  const { updatedAt: _updatedAt, applied: _applied, ...rest } = record;
  return rest;
}

type World = Awaited<ReturnType<typeof deliver>>;
const trail = (world: World) => world.audit.all().map((r) => `${r.type} ${r.id}`);

function expectSameLedger(delivered: World, inOrder: World) {
  for (const device of DEVICES) {
    expect(shown(delivered.ledger.get(device))).toEqual(shown(inOrder.ledger.get(device)));
  }
  // A dead letter is the verdict on an event when it arrived: a patch that arrives before the
  // report it patches has nothing to merge into yet (and one that arrives first may merge into a
  // report that a late removal then takes away). The ledger ends the same either way (its
  // invalid-certificate-report finding included); only such reports are dead-lettered.
  const codes = (world: World) => new Set(world.deadLetters.all().map((l) => l.code));
  for (const world of [delivered, inOrder])
    expect([...codes(world)].filter((c) => c !== 'invalid-certificate-report')).toEqual([]);
  const ids = (world: World) => new Set(world.deadLetters.all().map((l) => l.id));
  const differing = [...ids(delivered)].filter((id) => !ids(inOrder).has(id)).length;
  figures.deadLettersDiffering +=
    differing + [...ids(inOrder)].filter((id) => !ids(delivered).has(id)).length;
}

describe('delivery order (property-based)', () => {
  it('ends with the ledger in-order delivery leaves, and audits all it audits, whatever the order, duplicates and batches', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(), async ({ devices, plan }) => {
        const messages = messagesOf(devices);
        figures.histories += 1;
        figures.messages += plan.shuffled.order.length;
        const inOrder = await deliver(batchesOf(messages, plan.inOrder));
        const shuffled = await deliver(batchesOf(messages, plan.shuffled));

        expectSameLedger(shuffled, inOrder);
        const written = trail(shuffled);
        expect(new Set(written).size).toBe(written.length); // each record once
        expect(written).toEqual(expect.arrayContaining(trail(inOrder)));
        // Anything more is a certificate change told by what was known when it was written
        // (a patch merged into the report before it, when a removal between them was late),
        // naming dates the device reported.
        const expected = new Set(trail(inOrder));
        const reported = new Set(Object.values(pool).flatMap((l) => l.map((c) => c.validUntil)));
        const extra = shuffled.audit.all().filter((r) => !expected.has(`${r.type} ${r.id}`));
        figures.extraRecords += extra.length;
        for (const record of extra) {
          expect(CERTIFICATE_CHANGES).toContain(record.type);
          if (record.new) expect(reported).toContain(record.new.validUntil);
        }
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('writes exactly the audit records of in-order delivery when the events arrive in one batch, in any order and with duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(), async ({ devices, plan }) => {
        const messages = messagesOf(devices);
        figures.histories += 1;
        figures.messages += plan.shuffled.order.length;
        const inOrder = await deliver(batchesOf(messages, plan.inOrder));
        const oneBatch = await deliver(
          batchesOf(messages, { order: plan.shuffled.order, cuts: [] }),
        );

        expectSameLedger(oneBatch, inOrder);
        expect(trail(oneBatch).sort()).toEqual(trail(inOrder).sort());
      }),
      { numRuns: RUNS },
    );
  }, 60_000);
});
