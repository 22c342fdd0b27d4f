import { IngestIotHubEvents, IngestSummary } from '../../../shared/app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import {
  AuditTrail,
  CertificateInspector,
  RecordRejected,
  TransientFault,
} from '../../../shared/app/ports';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { ManualClock } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import { deviceConnected, deviceCreated, twinUpdated } from '../../../shared/local/iotHubMessages';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';

/**
 * One event's own problem never stops the batch: an id IoT Hub could not have given, or a
 * record storage can never hold, dead-letters that device's events with the reason and the
 * rest are applied. And the summary counts what this invocation really did.
 */
const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';

/** No PEMs in these batches: reports carry dates only. */
const noPemInspector: CertificateInspector = {
  inspect: () => Promise.reject(new Error('no PEM expected in these tests')),
};

function aUseCase(
  shared: { ledger?: InMemoryLedger; audit?: AuditTrail; deadLetters?: InMemoryDeadLetters } = {},
) {
  const ledger = shared.ledger ?? new InMemoryLedger();
  const audit = shared.audit ?? new InMemoryAuditTrail();
  const deadLetters = shared.deadLetters ?? new InMemoryDeadLetters();
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
  return { ingest, ledger, audit, deadLetters };
}

function report(deviceId: string, version: number, hub = HUB): RawIotHubMessage {
  return twinUpdated({ hub, deviceId, at: `2026-11-0${version}T01:00:00.000Z` }, version, {
    certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
  });
}

describe('IngestIotHubEvents when one event names a device IoT Hub could not have', () => {
  it('dead-letters the events of a 1,000-character device id with the reason and applies the rest of the batch', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();
    const longId = 'x'.repeat(1000);
    const batch = [
      report('meter-1', 2),
      report(longId, 2),
      deviceConnected({ hub: HUB, deviceId: longId, at: '2026-11-02T02:00:00.000Z' }, 3n),
      report('meter-2', 3),
    ];

    const summary = await ingest.apply(batch);

    expect(summary).toMatchObject({ messages: 4, applied: 2, deadLettered: 2 });
    expect(ledger.get('meter-1')?.current?.validUntil).toBe('2026-12-01T00:00:00.000Z');
    expect(ledger.get('meter-2')?.current?.validUntil).toBe('2026-12-01T00:00:00.000Z');
    expect(deadLetters.all().map((l) => [l.code, l.reason])).toEqual([
      ['invalid-device-id', 'device id is 1000 characters, over the 128 IoT Hub allows'],
      ['invalid-device-id', 'device id is 1000 characters, over the 128 IoT Hub allows'],
    ]);
    expect(ledger.records.size).toBe(2);
  });

  it('dead-letters an id holding a lone surrogate instead of recording it under an altered id', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();

    await ingest.apply([report('dev\ud800', 2), report('dev\ufffd', 3), report('dev-ok', 4)]);

    expect(deadLetters.all().map((l) => l.code)).toEqual([
      'invalid-device-id',
      'invalid-device-id',
    ]);
    expect([...ledger.records.values()].map((r) => r.value.deviceId)).toEqual(['dev-ok']);
  });

  it('keeps hub a/x with device d and hub a with device x/d apart: two dead letters, each with its own reason', async () => {
    const { ingest, ledger, deadLetters } = aUseCase();

    await ingest.apply([report('d', 2, 'a/x'), report('x/d', 2, 'a')]);

    expect(ledger.records.size).toBe(0);
    expect(
      deadLetters
        .all()
        .map((l) => l.code)
        .sort(),
    ).toEqual(['invalid-device-id', 'invalid-hub-name']);
  });
});

describe('IngestIotHubEvents when storage can never hold one record', () => {
  it.each([
    [
      'a key Table storage refuses',
      'write ledger record: storage can never accept it (400 InvalidInput)',
    ],
    [
      'a property over 64 KiB',
      'write ledger record: storage can never accept it (400 PropertyValueTooLarge)',
    ],
    [
      'an entity over 1 MiB',
      'write ledger record: storage can never accept it (400 EntityTooLarge)',
    ],
    [
      'a body over the limit',
      'write ledger record: storage can never accept it (413 RequestBodyTooLarge)',
    ],
  ])(
    'dead-letters that device’s events (%s) with the reason, and applies the rest',
    async (_what, reason) => {
      const { ingest, ledger, deadLetters } = aUseCase();
      ledger.beforeWrite = (record) => {
        if (record.deviceId === 'meter-bad') throw new RecordRejected(reason);
      };

      const summary = await ingest.apply([
        deviceCreated({ hub: HUB, deviceId: 'meter-bad', at: '2026-11-01T00:00:00.000Z' }),
        report('meter-1', 2),
        report('meter-bad', 3),
        report('meter-2', 4),
      ]);

      expect(summary).toMatchObject({ deadLettered: 2, applied: 2 });
      expect(deadLetters.all().map((l) => [l.code, l.deviceId, l.reason])).toEqual([
        ['ledger-update-failed', 'meter-bad', `ledger update failed: ${reason}`],
        ['ledger-update-failed', 'meter-bad', `ledger update failed: ${reason}`],
      ]);
      expect(ledger.get('meter-bad')).toBeUndefined();
      expect(ledger.get('meter-1')?.current).toBeDefined();
      expect(ledger.get('meter-2')?.current).toBeDefined();
    },
  );
});

/** An audit trail whose appends wait until `release` is called: a slow instance. */
function heldBack(trail: AuditTrail): AuditTrail & { release(): void } {
  let release = () => undefined as void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    release: () => release(),
    append: async (entries: readonly AuditEntry[], options: { mayAlreadyBeWritten: boolean }) => {
      await gate;
      return trail.append(entries, options);
    },
    verifyDate: (date) => trail.verifyDate(date),
    readDate: (date, options) => trail.readDate(date, options),
  };
}

describe('IngestIotHubEvents counting audit records under concurrency', () => {
  it('counts only what this invocation appended when another instance appended the same record first', async () => {
    const ledger = new InMemoryLedger();
    const trail = new InMemoryAuditTrail();
    const slowTrail = heldBack(trail);
    const slow = aUseCase({ ledger, audit: slowTrail });
    const fast = aUseCase({ ledger, audit: trail });
    const batch = [report('meter-1', 2)];

    // The slow instance writes the record (its audit entry pending in it), then stalls before
    // appending; the fast one sees the entry pending, appends it and clears it.
    const slowRun = slow.ingest.apply(batch);
    await new Promise((resolve) => setImmediate(resolve));
    const fastSummary = await fast.ingest.apply(batch);
    slowTrail.release();
    const slowSummary = await slowRun;

    expect(trail.all()).toHaveLength(1);
    expect([slowSummary.auditWritten, fastSummary.auditWritten]).toEqual([0, 1]);
  });

  it('sums, over concurrent instances, to the audit records in the trail, whatever the interleaving', async () => {
    let records = 0;
    let counted = 0;
    for (let round = 0; round < 40; round += 1) {
      const ledger = new InMemoryLedger();
      const trail = new InMemoryAuditTrail();
      const jittery: AuditTrail = {
        append: async (entries, options) => {
          await new Promise((resolve) => setTimeout(resolve, (round * 7 + entries.length) % 4));
          return trail.append(entries, options);
        },
        verifyDate: (date) => trail.verifyDate(date),
        readDate: (date) => trail.readDate(date),
      };
      const batch = Array.from({ length: 6 }, (_, i) => report(`meter-${i % 3}`, 2 + i));
      const summaries: IngestSummary[] = await Promise.all(
        [0, 1, 2].map(async (instance) => {
          await new Promise((resolve) => setTimeout(resolve, (round + instance) % 3));
          return aUseCase({ ledger, audit: instance === 1 ? trail : jittery }).ingest.apply(batch);
        }),
      );
      records += trail.all().length;
      counted += summaries.reduce((sum, s) => sum + s.auditWritten, 0);
      expect(new Set(trail.all().map((r) => r.id)).size).toBe(trail.all().length);
    }
    expect(counted).toBe(records);
  });
});

describe('IngestIotHubEvents failing an invocation for a platform fault', () => {
  it('lets the devices already under way finish, and starts no other, before failing', async () => {
    const { ingest, ledger } = aUseCase();
    let failedAt: number | undefined;
    const writesAfterFailure: string[] = [];
    const write = ledger.write.bind(ledger);
    ledger.write = async (record, previous) => {
      if (record.deviceId === 'meter-0') {
        failedAt = Date.now();
        throw new TransientFault('write ledger record: storage unavailable (503 ServerBusy)');
      }
      // Another device's write, slower than the failing one.
      await new Promise((resolve) => setTimeout(resolve, 30));
      return write(record, previous);
    };
    const batch = Array.from({ length: 40 }, (_, i) => report(`meter-${i}`, 2));

    const failure = await ingest.apply(batch).catch((error: unknown) => error);
    ledger.write = async (record, previous) => {
      writesAfterFailure.push(record.deviceId);
      return write(record, previous);
    };
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(failure).toBeInstanceOf(TransientFault);
    expect(failedAt).toBeDefined();
    expect(writesAfterFailure).toEqual([]);
    // Only the devices already under way (16 at a time) were written.
    expect(ledger.records.size).toBeLessThanOrEqual(15);
  });
});
