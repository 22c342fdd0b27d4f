import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { Askable, RenewalIndexWindow } from '../../../shared/app/renewal/RenewalIndexWindow';
import { InMemoryLedger } from '../../support/memoryPorts';
import { aDeviceNamed, plus } from '../../support/renewalWorld';

const T0 = '2026-11-26T12:00:00.000Z';
const DAY_MS = 24 * HOUR_MS;
const anyone: Askable = { hubOpen: () => true, requestable: () => true };

function dueAt(deviceId: string, due: string, validUntil = plus(T0, 3 * DAY_MS)): DeviceRecord {
  const validFrom = new Date(Date.parse(validUntil) - 30 * DAY_MS).toISOString();
  return aDeviceNamed(deviceId, { validFrom, validUntil, renewalDueAt: due });
}

async function ledgerWith(...records: DeviceRecord[]): Promise<InMemoryLedger> {
  const ledger = new InMemoryLedger();
  for (const record of records) await ledger.write(record, undefined);
  return ledger;
}

/** One sweep's reading, as RenewDevices.gather does it when nothing starts early. */
async function sweepRead(window: RenewalIndexWindow, now: string): Promise<void> {
  await window.advance(now);
  window.settle(now, []);
}

const minute = (n: number) => plus(T0, n * MINUTE_MS);
const ids = (entries: readonly { deviceId: string }[]) => entries.map((e) => e.deviceId);

describe('RenewalIndexWindow', () => {
  it('reads the whole horizon at its first sweep, after a gap, and when the clock goes back', async () => {
    const ledger = await ledgerWith(dueAt('a', minute(30)), dueAt('b', minute(90)));
    const window = new RenewalIndexWindow(ledger, { horizonMs: 12 * HOUR_MS });

    await sweepRead(window, T0);
    await sweepRead(window, minute(1));
    await sweepRead(window, minute(2));
    expect(window.reads.wholeHorizon).toBe(1);

    await sweepRead(window, minute(5)); // another instance may have swept meanwhile
    expect(window.reads.wholeHorizon).toBe(2);
    await sweepRead(window, minute(4));
    expect(window.reads.wholeHorizon).toBe(3);
    expect(window.pending(minute(4))).toBe(2);
  });

  it('reads the whole horizon after a sweep that began writing and never said what it wrote', async () => {
    const ledger = await ledgerWith(dueAt('a', minute(30)));
    const window = new RenewalIndexWindow(ledger, { horizonMs: 12 * HOUR_MS });
    await sweepRead(window, T0);
    window.expectWrites();
    window.recordWrites([], []);
    await sweepRead(window, minute(1));
    expect(window.reads.wholeHorizon).toBe(1);

    window.expectWrites(); // and the sweep failed before recordWrites
    await sweepRead(window, minute(2));
    expect(window.reads.wholeHorizon).toBe(2);
  });

  it('counts what enters the horizon, and holds it one by one as it falls due', async () => {
    const ledger = await ledgerWith(
      dueAt('soon', minute(2)),
      dueAt('entering', plus(minute(1), 12 * HOUR_MS)),
    );
    const window = new RenewalIndexWindow(ledger, { horizonMs: 12 * HOUR_MS });
    await sweepRead(window, T0);
    expect(window.pending(T0)).toBe(1);

    await sweepRead(window, minute(1));
    expect(window.pending(minute(1))).toBe(1); // 'entering' is due at the horizon's very end
    await sweepRead(window, minute(2));

    const demand = window.demand(minute(2), anyone);
    const enteringMinute = Math.floor(Date.parse(plus(minute(1), 12 * HOUR_MS)) / MINUTE_MS);
    expect(demand.fresh.get(enteringMinute)).toBe(1);
    expect(ids(window.dueRenewals(minute(2), anyone))).toEqual(['soon']);
    expect(window.pending(minute(2))).toBe(2);
  });

  it('reads ahead one by one as far as the plan starts renewals early, and takes them off the counts', async () => {
    const cohort = Array.from({ length: 30 }, (_, i) =>
      dueAt(`c-${String(i).padStart(2, '0')}`, plus(minute(120), i * 1_000)),
    );
    const ledger = await ledgerWith(...cohort);
    const window = new RenewalIndexWindow(ledger, { horizonMs: 12 * HOUR_MS });
    await sweepRead(window, T0);
    await sweepRead(window, minute(1));
    expect(window.earliest(minute(1), anyone, 5)).toMatchObject({ entries: [], complete: false });

    while (!window.earliest(minute(1), anyone, 5).complete) await window.readAhead(5, 0);

    expect(ids(window.earliest(minute(1), anyone, 5).entries.slice(0, 5))).toEqual([
      'c-00',
      'c-01',
      'c-02',
      'c-03',
      'c-04',
    ]);
    // Held or counted, each renewal is there once.
    const demand = window.demand(minute(1), anyone);
    expect([...demand.fresh.values()].reduce((a, b) => a + b, 0)).toBe(30);
    expect(window.pending(minute(1))).toBe(30);
  });

  it('forgets what the sweep acted on, and holds or counts the entries of the records it wrote', async () => {
    const ledger = await ledgerWith(dueAt('asked', minute(0)), dueAt('other', minute(0)));
    const window = new RenewalIndexWindow(ledger, { horizonMs: 12 * HOUR_MS });
    await sweepRead(window, T0);
    const [asked] = window.dueRenewals(T0, anyone).filter((e) => e.deviceId === 'asked');

    // Its campaign began and the device accepted: the record now waits for its deadline.
    const record = structuredClone(ledger.get('asked')!);
    record.renewal = {
      status: 'requested',
      attempts: 1,
      failures: 0,
      deadline: plus(T0, HOUR_MS),
    };
    window.recordWrites([{ key: record, record, inheritedAuditIds: new Set() }], [asked!]);

    expect(ids(window.dueRenewals(T0, anyone))).toEqual(['other']);
    expect(window.pending(T0)).toBe(1);
    expect(ids(window.dueBy(plus(T0, HOUR_MS)))).toEqual(['other']); // its deadline is counted
  });

  describe('behind a backlog the rate cannot clear', () => {
    it('reads a share of the overdue entries each sweep, and finds one written behind it within a rotation', async () => {
      const backlog = Array.from({ length: 60 }, (_, i) =>
        dueAt(`b-${String(i).padStart(2, '0')}`, plus(T0, -DAY_MS + i * MINUTE_MS)),
      );
      const ledger = await ledgerWith(...backlog);
      const window = new RenewalIndexWindow(ledger, {
        horizonMs: 12 * HOUR_MS,
        backlogReadsPerSweep: 10,
      });
      await sweepRead(window, T0);
      const read = { ...ledger.orderedReads };
      await sweepRead(window, minute(1));
      const perSweep = ledger.orderedReads.entries - read.entries;
      expect(perSweep).toBeLessThanOrEqual(10);

      // Written behind the sweep: due two days ago (a certificate first seen late in its life).
      await ledger.write(dueAt('late-comer', plus(T0, -2 * DAY_MS)), undefined);
      // And one of the backlog renewed by itself meanwhile.
      const renewed = structuredClone(ledger.get('b-30')!);
      renewed.renewalDueAt = plus(T0, 20 * DAY_MS);
      await ledger.write(renewed, (await ledger.read(renewed))!);

      let found: number | undefined;
      for (let m = 2; m <= 9 && found === undefined; m += 1) {
        await sweepRead(window, minute(m));
        if (ids(window.dueBy(minute(m))).includes('late-comer')) found = m;
      }
      expect(found).toBeDefined();
      expect(ids(window.dueBy(minute(9)))).not.toContain('b-30');
      expect(window.dueBy(minute(9))).toHaveLength(60);
    });
  });
});
