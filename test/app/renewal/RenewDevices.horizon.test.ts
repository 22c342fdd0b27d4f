import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DeviceKey } from '../../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import {
  CapacityPlan,
  NEEDS_REQUEST,
  planRenewals,
} from '../../../shared/domain/renewal/CapacityPlanner';
import { initialPacing, isPaused, usedThisMinute } from '../../../shared/domain/renewal/Pacing';
import { ActionEntry } from '../../../shared/app/ports';
import { HUB, RenewalWorld, SweepReport, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * The sweep reads its planning horizon incrementally (shared/app/renewal/RenewalIndexWindow.ts)
 * and plans from counts (planFromDemand). These tests hold it to what the sweep did when it
 * read the whole horizon every minute and planned every renewal in it (planRenewals), and
 * measure what it reads.
 */

const T0 = '2026-11-26T12:00:00.000Z';
const DAY_MS = 24 * HOUR_MS;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A 30-day certificate whose renewal falls due at `dueAt`, expiring at `validUntil`. */
function dueAt(deviceId: string, due: string, validUntil: string, hub = HUB): DeviceRecord {
  const validFrom = new Date(Date.parse(validUntil) - 30 * DAY_MS).toISOString();
  return aDeviceNamed(deviceId, { hub, validFrom, validUntil, renewalDueAt: due });
}

/**
 * What the sweep planned before it had a window: every entry before now + horizon read, the
 * renewals among them planned with planRenewals.
 */
async function wholeHorizonPlan(
  w: RenewalWorld,
  now: string,
  renewalsPerMinute = 5,
): Promise<CapacityPlan & { pending: number }> {
  const horizon = plus(now, 12 * HOUR_MS);
  const pacing = w.pacing.state ?? initialPacing(now);
  const entries = await collect(w.ledger.actionsDueBefore(horizon));
  const candidates = entries.filter(
    (e: ActionEntry) =>
      NEEDS_REQUEST.includes(e.status) &&
      e.validUntil > now &&
      (e.renewalAt ?? e.actionAt) < horizon,
  );
  const plan = planRenewals({
    now,
    candidates: candidates
      .filter((c) => !isPaused(pacing, now, c.hub))
      .map((c) => (c.renewalAt !== undefined ? { ...c, actionAt: c.renewalAt } : c)),
    renewalsPerMinute,
    usedThisMinute: usedThisMinute(pacing, now),
  });
  return { ...plan, pending: candidates.length };
}

/**
 * A fleet with a cohort the rate must start early, renewals spread over the horizon and beyond
 * it, some certificates close to expiry, and devices that refuse, are offline or time out. No
 * two renewals are due, nor expire, at the same millisecond (the two planners order exact ties
 * differently).
 */
function aMixedFleet(): { records: DeviceRecord[]; answers: (w: RenewalWorld) => void } {
  const records: DeviceRecord[] = [];
  for (let i = 0; i < 120; i += 1)
    records.push(
      dueAt(`cohort-${i}`, plus(T0, 25 * MINUTE_MS + i * 137), plus(T0, 2 * DAY_MS + i * 1_001)),
    );
  for (let i = 0; i < 80; i += 1)
    records.push(
      dueAt(
        `spread-${i}`,
        plus(T0, -30 * MINUTE_MS + i * 131_071),
        plus(T0, (i % 4 === 0 ? 2 * HOUR_MS : 3 * DAY_MS) + i * 977),
      ),
    );
  for (let i = 0; i < 60; i += 1)
    records.push(
      dueAt(`far-${i}`, plus(T0, 6 * HOUR_MS + i * 419_999), plus(T0, 4 * DAY_MS + i * 1_013)),
    );
  const answers = (w: RenewalWorld) => {
    records.forEach((r, i) => {
      const key: DeviceKey = { hub: r.hub, deviceId: r.deviceId };
      if (i % 7 === 0) w.methods.refuse(key);
      else if (i % 11 === 0) w.methods.offline(key);
      else if (i % 13 === 0) w.methods.timeOut(key);
    });
  };
  return { records, answers };
}

describe('RenewDevices, reading its horizon a part at a time', () => {
  it.each([
    ['read in order, a part at a time', false],
    ['read whole every sweep (a ledger without ordered reads)', true],
  ])(
    'plans each minute exactly what reading and planning the whole horizon would: %s',
    async (_, wholeReads) => {
      const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS), renewalsPerMinute: 5 });
      if (wholeReads) Object.defineProperty(w.ledger, 'actionsInOrder', { value: undefined });
      const fleet = aMixedFleet();
      await w.given(...fleet.records);
      fleet.answers(w);

      const seen = { asked: 0, late: 0, early: 0 };
      for (let minute = 0; minute < 100; minute += 1) {
        const now = plus(T0, minute * MINUTE_MS);
        w.moveTo(now);
        const expected = await wholeHorizonPlan(w, now);
        const report = await w.renewals.sweep();

        expect({ minute, ...summary(report) }).toEqual({
          minute,
          planned: expected.now,
          late: expected.late,
          atRisk: expected.atRisk,
          pending: expected.pending,
        });
        seen.asked += report.requested;
        seen.late += report.late;
        seen.early += report.planned.filter((p) => p.reason === 'capacity').length;
      }
      // The story did happen: the cohort was started early, some were late, calls were made.
      expect(seen.asked).toBeGreaterThan(150);
      expect(seen.late).toBeGreaterThan(0);
      expect(seen.early).toBeGreaterThan(50);
    },
  );

  it('plans behind a backlog larger than it reads again each sweep as it would reading it whole', async () => {
    // A rotation due at once: 2,500 overdue (more than the 2,000 a sweep reads again), 20 a
    // minute; expiries all differ, so the earliest go first.
    const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS), renewalsPerMinute: 20 });
    await w.given(
      ...Array.from({ length: 2_500 }, (_, i) =>
        dueAt(`r-${i}`, plus(T0, -HOUR_MS + i), plus(T0, DAY_MS + ((i * 7_919) % 2_500) * 1_000)),
      ),
    );
    for (let minute = 0; minute < 6; minute += 1) {
      const now = plus(T0, minute * MINUTE_MS);
      w.moveTo(now);
      const expected = await wholeHorizonPlan(w, now, 20);
      const reads = w.ledger.orderedReads.entries;
      const report = await w.renewals.sweep();

      expect({ minute, ...summary(report) }).toEqual({
        minute,
        planned: expected.now,
        late: expected.late,
        atRisk: expected.atRisk,
        pending: expected.pending,
      });
      if (minute > 0) expect(w.ledger.orderedReads.entries - reads).toBeLessThanOrEqual(2_100);
    }
  });

  it('reads about as much with a hundred times more renewals waiting in the horizon', async () => {
    const readsPerSweep = async (waiting: number) => {
      const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS), renewalsPerMinute: 50 });
      const near = Array.from({ length: 40 }, (_, i) =>
        dueAt(`near-${i}`, plus(T0, i * 15_013), plus(T0, 3 * DAY_MS + i)),
      );
      // Waiting late in the horizon, with room to spare before they fall due.
      const far = Array.from({ length: waiting }, (_, i) =>
        dueAt(`far-${i}`, plus(T0, 9 * HOUR_MS + i * 50), plus(T0, 5 * DAY_MS + i)),
      );
      await w.given(...near, ...far);
      await w.sweepAt(T0); // the first sweep of a process reads the whole horizon
      const before = { ...w.ledger.orderedReads };
      let requested = 0;
      for (let minute = 1; minute <= 8; minute += 1)
        requested += (await w.sweepAt(plus(T0, minute * MINUTE_MS))).requested;
      return {
        calls: (w.ledger.orderedReads.calls - before.calls) / 8,
        entries: (w.ledger.orderedReads.entries - before.entries) / 8,
        requested,
      };
    };

    const small = await readsPerSweep(40);
    const large = await readsPerSweep(4_000);

    expect(large.requested).toBe(small.requested);
    expect(small.requested).toBeGreaterThan(20);
    expect(large.calls).toBe(small.calls);
    expect(large.entries).toBeLessThanOrEqual(small.entries * 1.3);
    expect(large.entries).toBeLessThan(50);
  });

  it('finds a certificate first seen already overdue, though its due time is behind the last sweep', async () => {
    const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS) });
    await w.given(dueAt('steady', plus(T0, 3 * HOUR_MS), plus(T0, 3 * DAY_MS)));
    await w.sweepAt(T0);
    await w.sweepAt(plus(T0, MINUTE_MS));
    // Ingest (another use case, maybe another instance) records a certificate due two days ago.
    await w.given(dueAt('late-comer', plus(T0, -2 * DAY_MS), plus(T0, DAY_MS)));

    const report = await w.sweepAt(plus(T0, 2 * MINUTE_MS));

    expect(report.planned.map((p) => p.deviceId)).toEqual(['late-comer']);
    expect(report.requested).toBe(1);
  });

  it('asks in their turn renewals added far in the horizon by someone else, once they come near', async () => {
    const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS) });
    await w.given(dueAt('steady', plus(T0, 10 * HOUR_MS), plus(T0, 3 * DAY_MS)));
    await w.sweepAt(T0);
    // Added behind the sweep's back, in a stretch of the horizon it already counted.
    await w.given(dueAt('added', plus(T0, 3 * MINUTE_MS + 500), plus(T0, 3 * DAY_MS)));

    const reports: SweepReport[] = [];
    for (let minute = 1; minute <= 4; minute += 1)
      reports.push(await w.sweepAt(plus(T0, minute * MINUTE_MS)));

    expect(reports.map((r) => r.planned.map((p) => p.deviceId))).toEqual([[], [], ['added'], []]);
  });

  it('answers a dry run with the devices the sweep then asks, and changes nothing', async () => {
    const w = new RenewalWorld({ now: plus(T0, -MINUTE_MS), renewalsPerMinute: 3 });
    await w.given(
      ...Array.from({ length: 12 }, (_, i) =>
        dueAt(`d-${i}`, plus(T0, 2 * MINUTE_MS + i), plus(T0, DAY_MS + i * 1_000)),
      ),
    );
    await w.sweepAt(T0);
    const writes = w.ledger.writes;

    const dry = await w.sweepAt(plus(T0, MINUTE_MS), { dryRun: true });
    expect(w.ledger.writes).toBe(writes);
    const real = await w.renewals.sweep();

    // At 12:00, 12 due at 12:02 at 3 a minute: 12:01 and 12:02 hold 6, so 3 started then
    // (d-0…d-2, the earliest expiries); at 12:01, three more.
    expect(dry.planned.map((p) => p.deviceId)).toEqual(['d-3', 'd-4', 'd-5']);
    expect(real.planned).toEqual(dry.planned);
    expect(w.methods.calls.map((c) => c.deviceId).sort()).toEqual([
      'd-0',
      'd-1',
      'd-2',
      'd-3',
      'd-4',
      'd-5',
    ]);
    expect(dry.pending).toBe(real.pending);
  });
});

function summary(report: SweepReport) {
  return {
    planned: report.planned,
    late: report.late,
    atRisk: report.atRisk,
    pending: report.pending,
  };
}
