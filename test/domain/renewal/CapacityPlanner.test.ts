import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import {
  CapacityPlan,
  PlanCandidate,
  planRenewals,
} from '../../../shared/domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../../shared/domain/renewal/RenewalState';
import { plus } from '../../support/renewalRecords';

const HUB = 'contoso-hub';
/** The sweep's time in most tests: the start of a minute. */
const NOW = '2026-11-26T12:00:00.000Z';
const AN_HOUR_AGO = '2026-11-26T11:00:00.000Z';
const TOMORROW = '2026-11-27T12:00:00.000Z';

function candidate(
  deviceId: string,
  actionAt: string,
  validUntil: string = TOMORROW,
  status: RenewalStatus = 'healthy',
): PlanCandidate {
  return { hub: HUB, deviceId, actionAt, validUntil, status };
}

/** `n` devices named `prefix-000`…, all with the same due time and expiry. */
function cohort(prefix: string, n: number, actionAt: string, validUntil = TOMORROW) {
  return Array.from({ length: n }, (_, i) =>
    candidate(`${prefix}-${String(i).padStart(3, '0')}`, actionAt, validUntil),
  );
}

function plan(
  candidates: readonly PlanCandidate[],
  renewalsPerMinute: number,
  now: string = NOW,
  usedThisMinute = 0,
): CapacityPlan {
  return planRenewals({ now, candidates, renewalsPerMinute, usedThisMinute });
}

const ids = (p: CapacityPlan) => p.now.map((s) => s.deviceId);

/**
 * Runs the planner once a minute from `from`, as the sweep does, removing what each minute
 * asks. Returns what each minute asked, by minute (ISO).
 */
function runMinuteByMinute(
  candidates: readonly PlanCandidate[],
  renewalsPerMinute: number,
  from: string,
  minutes: number,
) {
  let pending = [...candidates];
  const byMinute: { minute: string; plan: CapacityPlan }[] = [];
  for (let m = 0; m < minutes; m += 1) {
    const now = plus(from, m * MINUTE_MS);
    const p = plan(pending, renewalsPerMinute, now);
    byMinute.push({ minute: now.slice(11, 16), plan: p });
    const asked = new Set(ids(p));
    pending = pending.filter((c) => !asked.has(c.deviceId));
  }
  return { byMinute, pending };
}

describe('planRenewals', () => {
  describe('the rate', () => {
    it('never plans more renewals in a minute than the rate allows', () => {
      const p = plan(cohort('overdue', 50, AN_HOUR_AGO), 10);

      expect(p.now).toHaveLength(10);
      expect(p.later).toBe(40);
    });

    it('plans only what is left of the minute’s budget', () => {
      const candidates = cohort('overdue', 50, AN_HOUR_AGO);

      expect(plan(candidates, 10, NOW, 7).now).toHaveLength(3);
      expect(plan(candidates, 10, NOW, 10).now).toHaveLength(0);
      expect(plan(candidates, 10, NOW, 12).now).toHaveLength(0);
    });

    it('does not start early a cohort that fits in its own minute, even when this minute’s budget is spent', () => {
      // The budget spent this minute does not shrink the next minutes.
      const p = plan(cohort('next', 10, plus(NOW, MINUTE_MS)), 10, NOW, 10);

      expect(p.now).toEqual([]);
      expect(p.late).toBe(0);
    });

    it('plans nothing and counts everything at risk at a rate of zero', () => {
      const p = plan(cohort('overdue', 3, AN_HOUR_AGO), 0);

      expect(p).toEqual({ now: [], later: 3, late: 3, atRisk: 3 });
    });
  });

  describe('as late as possible', () => {
    it.each([
      [25, 10, '12:08'],
      [30, 10, '12:08'],
      [31, 10, '12:07'],
      [10, 10, '12:10'],
      [3, 10, '12:10'],
      [1, 1, '12:10'],
      [5, 1, '12:06'],
    ])(
      'starts a cohort of %i due at 12:10 at a rate of %i/min first at %s, no earlier',
      (n, rate, firstMinute) => {
        const due = '2026-11-26T12:10:00.000Z';

        const { byMinute, pending } = runMinuteByMinute(cohort('c', n, due), rate, NOW, 11);

        const first = byMinute.find((m) => m.plan.now.length > 0);
        expect(first?.minute).toBe(firstMinute);
        // ceil(N/R) - 1 minutes early: every minute from the first one on is used, the first
        // one for the remainder.
        const counts = byMinute.map((m) => m.plan.now.length);
        const startsAt = byMinute.findIndex((m) => m.plan.now.length > 0);
        expect(counts.slice(0, startsAt).every((c) => c === 0)).toBe(true);
        expect(counts.slice(startsAt + 1).every((c) => c === rate)).toBe(true);
        expect(pending).toEqual([]);
      },
    );

    it('starts the cohort’s earliest expiries in its earliest minutes', () => {
      const due = '2026-11-26T12:02:00.000Z';
      const candidates = [7, 3, 5, 1, 8, 2, 6, 4, 0].map((h) =>
        candidate(`d${h}`, due, plus(NOW, (h + 1) * HOUR_MS)),
      );

      const { byMinute } = runMinuteByMinute(candidates, 3, NOW, 3);

      expect(byMinute.map((m) => ids(m.plan))).toEqual([
        ['d0', 'd1', 'd2'],
        ['d3', 'd4', 'd5'],
        ['d6', 'd7', 'd8'],
      ]);
    });

    it('marks what it starts before its due time as capacity and the rest as due', () => {
      const due = '2026-11-26T12:02:00.000Z';

      const { byMinute } = runMinuteByMinute(cohort('c', 25, due), 10, NOW, 3);

      expect(byMinute.map((m) => [...new Set(m.plan.now.map((s) => s.reason))])).toEqual([
        ['capacity'],
        ['capacity'],
        ['due'],
      ]);
    });

    it('asks an overdue device for the reason that it is due', () => {
      expect(plan([candidate('late', AN_HOUR_AGO)], 10).now[0]?.reason).toBe('due');
    });

    it('leaves a device due in a later minute for later when that minute has room', () => {
      const p = plan([candidate('soon', plus(NOW, 5 * MINUTE_MS))], 10);

      expect(p).toEqual({ now: [], later: 1, late: 0, atRisk: 0 });
    });

    it('pulls a cohort forward further when another cohort takes the minutes after it', () => {
      // 10 due at 12:02 and 20 due at 12:03, at 10/min: the later cohort takes 12:03 and 12:02,
      // so the earlier one is pulled forward to 12:01, and 12:00 stays free.
      const candidates = [
        ...cohort('a', 10, '2026-11-26T12:02:00.000Z'),
        ...cohort('b', 20, '2026-11-26T12:03:00.000Z'),
      ];

      const { byMinute, pending } = runMinuteByMinute(candidates, 10, NOW, 4);

      expect(byMinute.map((m) => m.plan.now.length)).toEqual([0, 10, 10, 10]);
      expect(pending).toEqual([]);
      expect(byMinute[1]?.plan.now.every((s) => s.deviceId.startsWith('a'))).toBe(true);
    });
  });

  describe('over capacity', () => {
    it('gives the current minute’s slots to the earliest expiries when everything is overdue', () => {
      const expiries = [9, 2, 7, 4, 0, 5, 8, 1, 6, 3];
      const candidates = expiries.map((h) =>
        candidate(`d${h}`, AN_HOUR_AGO, plus(NOW, (h + 1) * HOUR_MS)),
      );

      const p = plan(candidates, 4);

      expect(ids(p)).toEqual(['d0', 'd1', 'd2', 'd3']);
      expect(p.late).toBe(6);
    });

    it('counts what cannot be placed by its due time as late, and what its expiry overtakes as at risk', () => {
      const candidates = [
        candidate('a', AN_HOUR_AGO, '2026-11-26T12:00:30.000Z'),
        candidate('b', AN_HOUR_AGO, '2026-11-26T12:00:40.000Z'),
        candidate('c', AN_HOUR_AGO, '2026-11-26T12:00:50.000Z'),
        candidate('d', AN_HOUR_AGO, '2026-11-26T12:05:00.000Z'),
        candidate('e', AN_HOUR_AGO, '2026-11-26T12:10:00.000Z'),
      ];

      const p = plan(candidates, 2);

      expect(ids(p)).toEqual(['a', 'b']);
      // c expires before 12:01, when the next minute's slots open.
      expect(p).toMatchObject({ later: 3, late: 3, atRisk: 1 });
    });

    it('counts nothing at risk when every late renewal can still be reached before its expiry', () => {
      const p = plan(cohort('overdue', 25, AN_HOUR_AGO), 10);

      expect(p).toMatchObject({ late: 15, atRisk: 0 });
    });

    it('counts a certificate expiring this minute at risk when the minute’s budget is spent', () => {
      const p = plan([candidate('a', AN_HOUR_AGO, '2026-11-26T12:00:40.000Z')], 2, NOW, 2);

      expect(p).toMatchObject({ now: [], late: 1, atRisk: 1 });
    });

    it('counts at risk a late certificate that an earlier expiry takes this minute’s last slot from', () => {
      const candidates = [
        // Due a minute ago and placed in this minute.
        candidate('placed', '2026-11-26T11:59:00.000Z', '2026-11-26T12:00:30.000Z'),
        // Due an hour ago: this minute is full, so it is late.
        candidate('late', AN_HOUR_AGO, '2026-11-26T12:00:40.000Z'),
      ];

      const p = plan(candidates, 1);

      expect(ids(p)).toEqual(['placed']);
      expect(p).toMatchObject({ late: 1, atRisk: 1 });
    });
  });

  describe('what it plans', () => {
    it.each<RenewalStatus>(['requested', 'failed', 'expired'])(
      'does not plan a device that is %s',
      (status) => {
        const p = plan([candidate('x', AN_HOUR_AGO, TOMORROW, status)], 10);

        expect(p).toEqual({ now: [], later: 0, late: 0, atRisk: 0 });
      },
    );

    it.each<RenewalStatus>(['healthy', 'due', 'retrying', 'unreachable'])(
      'plans a device that is %s',
      (status) => {
        expect(ids(plan([candidate('x', AN_HOUR_AGO, TOMORROW, status)], 10))).toEqual(['x']);
      },
    );

    it('does not plan a certificate that has already expired', () => {
      const p = plan(
        [candidate('gone', AN_HOUR_AGO, NOW), candidate('long-gone', AN_HOUR_AGO, AN_HOUR_AGO)],
        10,
      );

      expect(p).toEqual({ now: [], later: 0, late: 0, atRisk: 0 });
    });

    it('names the device, its hub and its expiry', () => {
      const p = planRenewals({
        now: NOW,
        candidates: [{ ...candidate('x', AN_HOUR_AGO), hub: 'fabrikam-hub' }],
        renewalsPerMinute: 10,
        usedThisMinute: 0,
      });

      expect(p.now).toEqual([
        {
          hub: 'fabrikam-hub',
          deviceId: 'x',
          startAt: expect.stringMatching(/^2026-11-26T12:00:\d{2}\.\d{3}Z$/),
          validUntil: TOMORROW,
          reason: 'due',
        },
      ]);
    });

    it('starts every call within the current minute and never before now', () => {
      const now = '2026-11-26T12:00:42.500Z';

      const p = plan(cohort('overdue', 40, AN_HOUR_AGO), 40, now);

      expect(p.now).toHaveLength(40);
      for (const s of p.now) {
        expect(s.startAt >= now).toBe(true);
        expect(s.startAt < '2026-11-26T12:01:00.000Z').toBe(true);
      }
    });

    it('spreads the minute’s calls over the minute', () => {
      const p = plan(cohort('overdue', 40, AN_HOUR_AGO), 40);

      const seconds = new Set(p.now.map((s) => s.startAt.slice(17, 19)));
      expect(seconds.size).toBeGreaterThan(10);
    });

    it('never starts a call after the certificate expires, even when it expires mid-minute', () => {
      const expiresAt = '2026-11-26T12:00:05.000Z';

      const p = plan(cohort('expiring', 40, AN_HOUR_AGO, expiresAt), 40);

      expect(p.now).toHaveLength(40);
      for (const s of p.now) {
        expect(s.startAt >= NOW).toBe(true);
        expect(s.startAt < expiresAt).toBe(true);
      }
    });

    it('gives the same input the same plan', () => {
      const candidates = [
        ...cohort('a', 30, AN_HOUR_AGO, '2026-11-26T18:00:00.000Z'),
        ...cohort('b', 30, '2026-11-26T12:03:00.000Z'),
      ];

      expect(plan(candidates, 20)).toEqual(plan(candidates, 20));
    });

    it('gives the same plan whatever order the candidates come in, when expiries differ', () => {
      const candidates = Array.from({ length: 30 }, (_, i) =>
        candidate(
          `d${i}`,
          plus(AN_HOUR_AGO, (i % 7) * MINUTE_MS),
          plus(NOW, (i + 1) * 60 * MINUTE_MS),
        ),
      );
      const reversed = [...candidates].reverse();

      expect(plan(reversed, 8)).toEqual(plan(candidates, 8));
    });
  });

  describe('minute by minute, as the sweep runs it', () => {
    const RATE_MAX = 12;
    const SEEDS = 150;

    interface Outcome {
      feasible: boolean;
      lost: PlanCandidate[];
      overRate: number;
      outsideMinute: number;
      afterExpiry: number;
    }

    /** Three cohorts of random sizes, due times and lead times before expiry. */
    function fleet(random: () => number, rate: number): PlanCandidate[] {
      const start = Date.parse(NOW);
      const candidates: PlanCandidate[] = [];
      for (let c = 0; c < 3; c += 1) {
        const size = 1 + Math.floor(random() * rate * 15);
        const dueAt = start + Math.floor(random() * 40) * MINUTE_MS - 5 * MINUTE_MS;
        const spreadMs = Math.floor(random() * 5 * MINUTE_MS);
        const leadMs = 1 + Math.floor(random() * 30 * MINUTE_MS);
        for (let i = 0; i < size; i += 1) {
          const actionAt = dueAt + Math.floor(random() * spreadMs);
          const validUntil = actionAt + leadMs + Math.floor(random() * MINUTE_MS);
          candidates.push({
            hub: c === 2 ? 'fabrikam-hub' : HUB,
            deviceId: `c${c}-${i}`,
            actionAt: new Date(actionAt).toISOString(),
            validUntil: new Date(validUntil).toISOString(),
            status: 'healthy',
          });
        }
      }
      return candidates;
    }

    /**
     * Whether a fixed rate could renew everything before it expires: earliest expiry first, the
     * k-th renewal is made in minute k / rate, and must be made before its expiry.
     */
    function feasible(candidates: readonly PlanCandidate[], rate: number): boolean {
      const start = Date.parse(NOW);
      return [...candidates]
        .sort((a, b) => Date.parse(a.validUntil) - Date.parse(b.validUntil))
        .every((c, k) => start + Math.floor(k / rate) * MINUTE_MS < Date.parse(c.validUntil));
    }

    function simulate(seed: number): Outcome {
      const random = mulberry32(seed);
      const rate = 1 + Math.floor(random() * RATE_MAX);
      const candidates = fleet(random, rate);
      let pending = [...candidates];
      const outcome: Outcome = {
        feasible: feasible(candidates, rate),
        lost: [],
        overRate: 0,
        outsideMinute: 0,
        afterExpiry: 0,
      };
      for (let m = 0; pending.length > 0 && m < 24 * 60; m += 1) {
        const now = plus(NOW, m * MINUTE_MS);
        outcome.lost.push(...pending.filter((c) => c.validUntil <= now));
        pending = pending.filter((c) => c.validUntil > now);
        const p = plan(pending, rate, now);
        if (p.now.length > rate) outcome.overRate += 1;
        const nextMinute = plus(now, MINUTE_MS);
        for (const s of p.now) {
          if (s.startAt < now || s.startAt >= nextMinute) outcome.outsideMinute += 1;
          if (s.startAt >= s.validUntil) {
            outcome.afterExpiry += 1;
            outcome.lost.push(pending.find((c) => c.deviceId === s.deviceId && c.hub === s.hub)!);
          }
        }
        const asked = new Set(p.now.map((s) => `${s.hub}/${s.deviceId}`));
        pending = pending.filter((c) => !asked.has(`${c.hub}/${c.deviceId}`));
      }
      outcome.lost.push(...pending);
      return outcome;
    }

    const outcomes = Array.from({ length: SEEDS }, (_, seed) => ({
      seed,
      ...simulate(seed + 1),
    }));

    it('never exceeds the rate in any minute, nor starts a call outside its minute', () => {
      expect(outcomes.filter((o) => o.overRate > 0 || o.outsideMinute > 0)).toEqual([]);
    });

    it('never starts a call after the certificate expired', () => {
      expect(outcomes.filter((o) => o.afterExpiry > 0).map((o) => o.seed)).toEqual([]);
    });

    it('leaves no certificate unrenewed at its expiry when the rate could renew them all in time', () => {
      const fits = outcomes.filter((o) => o.feasible);

      // The fleets are drawn so both cases come up: the property is not checked on nothing.
      expect(fits.length).toBeGreaterThan(SEEDS / 4);
      expect(fits.length).toBeLessThan(SEEDS);
      expect(fits.filter((o) => o.lost.length > 0).map((o) => o.seed)).toEqual([]);
    });
  });
});

/** A small seeded PRNG (mulberry32): the same seed draws the same fleet on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
