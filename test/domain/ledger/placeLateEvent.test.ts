import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { LedgerEvent } from '../../../shared/domain/LedgerEvent';
import {
  AT,
  FIRST,
  RENEWED,
  aCertificate,
  aRenewal,
  apply,
  connected,
  created,
  deleted,
  disconnected,
  patch,
} from '../../support/ledgerEvents';
import { AT_DUE, accepted, asked, flushed, inCampaign } from '../../support/renewalRecords';

/**
 * Events arrive at least once and, across partitions and replays, in any order: the ledger places a late event where it happened. These are the cases that went
 * wrong when late events were ignored.
 */

/** Applies events in the order given, as separate deliveries, keeping what each outcome saves. */
function deliver(events: LedgerEvent[], record?: DeviceRecord) {
  const audit: AuditEntry[] = [];
  for (const event of events) {
    const outcome = apply(record, event);
    if ('record' in outcome && outcome.record) {
      record = { ...outcome.record, pendingAudit: [] };
      audit.push(...outcome.record.pendingAudit);
    }
  }
  return { record: record!, audit };
}

/** Every order of `events`. */
function orders<T>(events: T[]): T[][] {
  if (events.length <= 1) return [events];
  return events.flatMap((event, i) =>
    orders([...events.slice(0, i), ...events.slice(i + 1)]).map((rest) => [event, ...rest]),
  );
}

/** What a record shows, without when certfleet wrote it or what it keeps to order events. */
function shown(record: DeviceRecord) {
  const { updatedAt: _updatedAt, applied: _applied, pendingAudit: _pending, ...rest } = record;
  return rest;
}

const A_THIRD = {
  validFrom: '2026-11-28T00:00:00.000Z',
  validUntil: '2026-12-28T00:00:00.000Z',
} as const;

/** A first life that reported its certificate at a high $version, then the device id again. */
const firstLife = [created(AT.created), patch(9, aCertificate(), { occurredAt: AT.firstReport })];
const secondLife = [
  deleted(AT.deleted),
  created(AT.recreated),
  patch(2, aCertificate(A_THIRD), { occurredAt: AT.afterRecreation }),
];

describe('a device deleted and created again, its events in any order', () => {
  const inOrder = deliver([...firstLife, ...secondLife]);

  it.each(orders(secondLife).map((order) => [order.map((e) => e.kind).join(', '), order]))(
    'ends in the new life with its certificate and renewal date (%s)',
    (_order, order) => {
      const { record } = deliver(order as LedgerEvent[], deliver(firstLife).record);

      expect(record).toMatchObject({
        lifecycle: 'active',
        createdAt: AT.recreated,
        reportedVersion: 2,
        current: { validUntil: A_THIRD.validUntil },
        renewalDueAt: expect.any(String),
      });
      expect(shown(record)).toEqual(shown(inOrder.record));
    },
  );

  it('does not let the old life’s higher $version make the new life’s report stale', () => {
    const { record } = deliver([...firstLife, secondLife[2]!, secondLife[0]!, secondLife[1]!]);

    expect(record.current?.validUntil).toBe(A_THIRD.validUntil);
    expect(record.previous?.validUntil).toBe(FIRST.validUntil);
  });

  it('writes the same audit records whatever the order', () => {
    const ids = (audit: AuditEntry[]) => audit.map((e) => `${e.type} ${e.id}`).sort();

    for (const order of orders(secondLife)) {
      const { audit } = deliver(order, deliver(firstLife).record);
      expect(ids([...deliver(firstLife).audit, ...audit])).toEqual(ids(inOrder.audit));
    }
  });
});

describe('creation times', () => {
  it('does not take a late connection’s time for the creation of the life it belongs to', () => {
    const reconnected = connected('0b', '2026-11-28T00:01:00.000Z');

    const { record } = deliver([
      ...firstLife,
      deleted(AT.deleted),
      reconnected,
      created(AT.recreated),
    ]);

    expect(record).toMatchObject({
      lifecycle: 'active',
      createdAt: AT.recreated,
      connection: { state: 'connected', sequenceNumber: '0b' },
    });
  });

  it('leaves the new life’s connection alone when an old life’s connection arrives late', () => {
    const { record } = deliver([
      ...firstLife,
      ...secondLife,
      connected('0c', '2026-11-28T00:20:00.000Z'),
      disconnected('0a', '2026-11-10T09:00:00.000Z'),
    ]);

    expect(record.connection).toEqual({
      state: 'connected',
      sequenceNumber: '0c',
      changedAt: '2026-11-28T00:20:00.000Z',
    });
    expect(record.createdAt).toBe(AT.recreated);
  });

  it('gives a record first made by a report the time of the create event that arrives after it', () => {
    const { record } = deliver([patch(2, aCertificate()), created(AT.created)]);

    expect(record.createdAt).toBe(AT.created);
    expect(record.current?.validUntil).toBe(FIRST.validUntil);
  });
});

describe('certificates carried by reports that arrive late', () => {
  it('puts every certificate the device held in its history, oldest first', () => {
    const { record } = deliver([
      created(AT.created),
      patch(3, aRenewal(), { occurredAt: AT.renewalReport }),
      patch(2, aCertificate(), { occurredAt: AT.laterReport }),
    ]);

    expect(record.current?.validUntil).toBe(RENEWED.validUntil);
    expect(record.previous?.validUntil).toBe(FIRST.validUntil);
    expect(record.history?.map((h) => [h.validUntil, h.reportedVersion])).toEqual([
      [FIRST.validUntil, 2],
      [RENEWED.validUntil, 3],
    ]);
  });

  it('audits the late certificate, and its successor as the renewal it was', () => {
    const { audit } = deliver([
      created(AT.created),
      patch(3, aRenewal(), { occurredAt: AT.renewalReport }),
      patch(2, aCertificate(), { occurredAt: AT.laterReport }),
    ]);

    expect(audit.map((e) => [e.type, e.new?.validUntil])).toEqual([
      // Written when the renewal arrived first: nothing before it was known then.
      ['certificate.first-seen', RENEWED.validUntil],
      ['certificate.first-seen', FIRST.validUntil],
      ['certificate.renewed', RENEWED.validUntil],
    ]);
  });

  it('withdraws an entry not yet written that the late report shows did not happen', () => {
    const applied = [
      created(AT.created),
      patch(3, aRenewal(), { occurredAt: AT.renewalReport }),
      patch(2, aCertificate(), { occurredAt: AT.laterReport }),
    ];
    let record: DeviceRecord | undefined;
    for (const event of applied) {
      const outcome = apply(record, event);
      if ('record' in outcome && outcome.record) record = outcome.record; // one batch: no flush
    }

    expect(record?.pendingAudit.map((e) => [e.type, e.new?.validUntil])).toEqual([
      ['certificate.first-seen', FIRST.validUntil],
      ['certificate.renewed', RENEWED.validUntil],
    ]);
  });

  it('merges a patch into the fields reported before it, even when it arrives first', () => {
    const { record } = deliver([
      patch(3, { validUntil: RENEWED.validUntil }, { occurredAt: AT.renewalReport }),
      patch(2, aCertificate({ issuer: 'CN=Contoso Issuing CA' }), { occurredAt: AT.laterReport }),
    ]);

    expect(record.reported).toEqual({
      validFrom: FIRST.validFrom,
      validUntil: RENEWED.validUntil,
      subject: 'CN=thermostat-0001, O=Contoso',
      issuer: 'CN=Contoso Issuing CA',
    });
    expect(record.findings).toEqual([]);
  });
});

describe('certfleet’s renewal campaign when a late event is placed', () => {
  /**
   * A device asked to renew on 26 November (its first certificate reported at $version 3), that
   * disconnected on the 27th.
   */
  const waiting = () => {
    const device = deliver([
      created(AT.created),
      patch(3, aCertificate()),
      disconnected('05', '2026-11-27T00:00:00.000Z'),
    ]).record;
    return flushed(asked(inCampaign(AT_DUE, 'due', device), accepted(), AT_DUE));
  };

  it('goes on when an older report of the same life arrives late', () => {
    const before = waiting();

    const outcome = apply(before, patch(2, aCertificate(), { occurredAt: AT.created }));

    expect('record' in outcome && outcome.record?.renewal).toEqual(before.renewal);
  });

  it('ends with the life a late deletion ends', () => {
    const before = waiting();

    const outcome = apply(before, deleted('2026-11-26T13:00:00.000Z'));

    expect(outcome.outcome).toBe('applied');
    expect('record' in outcome && outcome.record).toMatchObject({ lifecycle: 'deleted' });
    expect('record' in outcome && outcome.record?.renewal).toBeUndefined();
  });
});
