import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { LedgerEvent } from '../../../shared/domain/LedgerEvent';
import {
  REMEMBERED_CHARACTERS,
  REMEMBERED_EVENTS,
} from '../../../shared/domain/ledger/rememberEvents';
import { ledgerEventOf, rememberedEvent } from '../../../shared/domain/ledger/rememberedEvent';
import { AT, aCertificate, apply, created, patch } from '../../support/ledgerEvents';

/** Applies events in the order given, keeping what each outcome saves, audit flushed. */
function deliver(events: LedgerEvent[]): DeviceRecord {
  let record: DeviceRecord | undefined;
  for (const event of events) {
    const outcome = apply(record, event);
    if ('record' in outcome && outcome.record) record = { ...outcome.record, pendingAudit: [] };
  }
  return record!;
}

const minute = (n: number) => new Date(Date.parse(AT.created) + n * 60_000).toISOString();

/** The n-th certificate: each valid a day longer than the one before. */
const certificate = (n: number) =>
  aCertificate({
    validUntil: new Date(Date.parse('2026-12-01T00:00:00Z') + n * 86_400_000).toISOString(),
  });

function shown(record: DeviceRecord) {
  const { updatedAt: _updatedAt, applied: _applied, ...rest } = record;
  return rest;
}

describe('what the ledger remembers to place late events', () => {
  const reports = Array.from({ length: 90 }, (_, i) =>
    patch(i + 2, certificate(i), { occurredAt: minute(i + 1) }),
  );

  it(`keeps at most ${REMEMBERED_EVENTS} events, the older ones folded into its base`, () => {
    const record = deliver([created(AT.created), ...reports]);

    expect(record.applied?.events).toHaveLength(REMEMBERED_EVENTS);
    expect(record.applied?.base?.reportedVersion).toBe(91 - REMEMBERED_EVENTS);
    expect(record.history).toHaveLength(64);
  });

  it('still places a late event among the ones it keeps', () => {
    const late = reports[85]!;
    const inOrder = deliver([created(AT.created), ...reports]);

    const shuffled = deliver([created(AT.created), ...reports.filter((r) => r !== late), late]);

    expect(shown(shuffled)).toEqual(shown(inOrder));
  });

  it('keeps the memory within its size however large a device makes its reports', () => {
    const large = Array.from({ length: 70 }, (_, i) =>
      patch(i + 2, certificate(i), {
        occurredAt: minute(i + 1),
      }),
    ).map((event) => ({
      ...event,
      certificate: {
        present: true as const,
        value: {
          ...(event.certificate as { value: Record<string, unknown> }).value,
          issuer: `CN=${'i'.repeat(2000)}`,
          subject: `CN=thermostat-0001, OU=${'s'.repeat(1990)}`,
          notes: 'n'.repeat(20_000),
          samples: Array.from({ length: 10_000 }, (_, n) => n),
        },
      },
    }));

    const record = deliver([created(AT.created), ...large]);

    expect(JSON.stringify(record.applied?.events).length).toBeLessThanOrEqual(
      REMEMBERED_CHARACTERS,
    );
    expect(record.current?.validUntil).toBe(certificate(69)['validUntil']);
  });
});

describe('what the ledger remembers of a report, read back', () => {
  const key = { hub: 'contoso-hub', deviceId: 'thermostat-0042' };
  const report = (value: unknown): LedgerEvent => ({
    kind: 'twin-report',
    ...key,
    occurredAt: AT.created,
    reportedVersion: 7,
    opType: 'updateTwin',
    complete: false,
    privateKeyReported: false,
    certificate: { present: true, value },
  });
  const readBack = (value: unknown) => {
    const event = ledgerEventOf(rememberedEvent(report(value), 4096), key);
    return event.kind === 'twin-report' && event.certificate.present
      ? event.certificate.value
      : undefined;
  };

  it("gives a device's own $-names back as they were, never rebuilding the sizes they name", () => {
    const forged = {
      validFrom: { $start: 'a', $bytes: 300_000_000 },
      validUntil: '2026-12-31T00:00:00.000Z',
      chain: { $items: [1], $length: 50_000_000 },
      $version: 3,
      $$odd: 'x',
    };

    expect(readBack(forged)).toEqual(forged);
    expect(readBack({ $start: 'a', $bytes: 300_000_000 })).toEqual({
      $start: 'a',
      $bytes: 300_000_000,
    });
  });

  it('rebuilds a long string it shortened to its size, so it fails the same size checks', () => {
    const long = 'z'.repeat(10_000);

    const back = readBack({ validFrom: long }) as { validFrom: string };

    expect(Buffer.byteLength(back.validFrom, 'utf8')).toBe(10_000);
    expect(back.validFrom.startsWith('zzzz')).toBe(true);
  });
});
