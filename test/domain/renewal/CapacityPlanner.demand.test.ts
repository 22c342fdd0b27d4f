import fc from 'fast-check';
import { MINUTE_MS } from '../../../shared/domain/Clock';
import {
  CapacityPlan,
  PlanCandidate,
  RenewalDemand,
  planFromDemand,
  planRenewals,
  renewalsToStartEarly,
} from '../../../shared/domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../../shared/domain/renewal/RenewalState';

const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:00:00.000Z';
const at = (minutes: number, from = NOW) =>
  new Date(Date.parse(from) + minutes * MINUTE_MS).toISOString();

function candidate(
  deviceId: string,
  actionAt: string,
  validUntil: string,
  status: RenewalStatus = 'healthy',
): PlanCandidate {
  return { hub: HUB, deviceId, actionAt, validUntil, status };
}

/**
 * What the sweep hands planFromDemand, told from the whole list planRenewals takes: each
 * renewal competing for this minute by itself, counts by minute for the rest, and those not
 * begun in order of due time.
 */
function asDemand(candidates: readonly PlanCandidate[], now: string) {
  const thisMinute = Math.floor(Date.parse(now) / MINUTE_MS);
  const minuteOf = (c: PlanCandidate) => Math.floor(Date.parse(c.actionAt) / MINUTE_MS);
  const due: PlanCandidate[] = [];
  const earliest: PlanCandidate[] = [];
  const retries = new Map<number, number>();
  const fresh = new Map<number, number>();
  const add = (counts: Map<number, number>, minute: number) =>
    counts.set(minute, (counts.get(minute) ?? 0) + 1);
  for (const c of candidates) {
    if (c.validUntil <= now) continue;
    if (c.status === 'healthy') {
      if (minuteOf(c) <= thisMinute) due.push(c);
      else {
        earliest.push(c);
        add(fresh, minuteOf(c));
      }
    } else if (c.actionAt <= now) due.push(c);
    else add(retries, minuteOf(c));
  }
  earliest.sort((a, b) =>
    a.actionAt !== b.actionAt
      ? a.actionAt < b.actionAt
        ? -1
        : 1
      : a.validUntil < b.validUntil
        ? -1
        : a.validUntil > b.validUntil
          ? 1
          : 0,
  );
  const demand: RenewalDemand = { retries, fresh };
  return { due, earliest, demand };
}

function bothWays(
  candidates: readonly PlanCandidate[],
  renewalsPerMinute: number,
  usedThisMinute = 0,
  now = NOW,
): { reference: CapacityPlan; counted: CapacityPlan } {
  const reference = planRenewals({ now, candidates, renewalsPerMinute, usedThisMinute });
  const counted = planFromDemand({
    now,
    renewalsPerMinute,
    usedThisMinute,
    ...asDemand(candidates, now),
  });
  return { reference, counted };
}

describe('planFromDemand', () => {
  it('starts early exactly as many of a cohort as the minutes before its due time cannot hold', () => {
    // 25 due in 3 minutes at 10 a minute: minutes +1, +2 and +3 hold 30, so none starts now.
    const cohort = Array.from({ length: 25 }, (_, i) =>
      candidate(`d-${i}`, at(3), at(24 * 60 + i)),
    );
    const { demand } = asDemand(cohort, NOW);
    expect(
      renewalsToStartEarly({ now: NOW, renewalsPerMinute: 10, usedThisMinute: 0, demand }),
    ).toBe(0);

    // 45 in 3 minutes: 15 cannot wait; the plan takes 10 of them now, the earliest expiries.
    const big = Array.from({ length: 45 }, (_, i) => candidate(`d-${i}`, at(3), at(24 * 60 + i)));
    const counts = asDemand(big, NOW);
    expect(
      renewalsToStartEarly({
        now: NOW,
        renewalsPerMinute: 10,
        usedThisMinute: 0,
        demand: counts.demand,
      }),
    ).toBe(15);
    const plan = planFromDemand({ now: NOW, renewalsPerMinute: 10, usedThisMinute: 0, ...counts });
    expect(plan.now.map((p) => p.deviceId)).toEqual(Array.from({ length: 10 }, (_, i) => `d-${i}`));
    expect(plan.now.every((p) => p.reason === 'capacity')).toBe(true);
    expect(plan).toMatchObject({ late: 5, later: 35 });
  });

  it('lets a retry hold its minute, so renewals due in it compete for the minutes before', () => {
    // Minute +1 is a retry's (its backoff ends then): of two renewals due in it, one starts
    // now (the earlier expiry) and the other cannot be placed by its due time.
    const retry = candidate('retry', at(1.5), at(48 * 60), 'retrying');
    const cohort = [candidate('a', at(1.2), at(30 * 60)), candidate('b', at(1.3), at(31 * 60))];
    const { reference, counted } = bothWays([retry, ...cohort], 1);

    expect(counted).toEqual(reference);
    expect(counted.now.map((p) => p.deviceId)).toEqual(['a']);
    expect(counted.late).toBe(1);
  });

  it('plans nothing at a rate of zero, counting every waiting renewal at risk', () => {
    const waiting = [
      candidate('due', at(-5), at(60)),
      candidate('retry', at(-1), at(90), 'retrying'),
      candidate('later', at(30), at(120)),
    ];
    const { reference, counted } = bothWays(waiting, 0);

    expect(counted).toEqual(reference);
    expect(counted).toMatchObject({ now: [], atRisk: 3, later: 3 });
  });

  it('asks the same devices, with the same late and at-risk counts, as planRenewals over every renewal', () => {
    const statuses: RenewalStatus[] = ['healthy', 'healthy', 'due', 'retrying', 'unreachable'];
    const fleet = fc
      .uniqueArray(
        fc.record({
          // Distinct times to the millisecond: the two planners break exact ties differently.
          due: fc.integer({ min: -90 * MINUTE_MS, max: 12 * 60 * MINUTE_MS }),
          life: fc.integer({ min: -10 * MINUTE_MS, max: 30 * 60 * MINUTE_MS }),
          status: fc.constantFrom(...statuses),
        }),
        { minLength: 0, maxLength: 120, selector: (r) => r.due },
      )
      .filter((rs) => new Set(rs.map((r) => r.due + Math.abs(r.life))).size === rs.length);
    fc.assert(
      fc.property(
        fleet,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 14 }),
        fc.integer({ min: 0, max: MINUTE_MS - 1 }),
        (renewals, rate, used, intoMinute) => {
          const now = new Date(Date.parse(NOW) + intoMinute).toISOString();
          const candidates = renewals.map((r, i) => {
            const actionAt = Date.parse(now) + r.due;
            return candidate(
              `device-${i}`,
              new Date(actionAt).toISOString(),
              new Date(actionAt + Math.abs(r.life) + 1).toISOString(),
              r.status,
            );
          });
          const { reference, counted } = bothWays(candidates, rate, used, now);
          expect(counted).toEqual(reference);
        },
      ),
      { numRuns: 400 },
    );
  });
});
