import { MINUTE_MS } from '../../shared/domain/Clock';
import { newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { RenewalPolicy, renewalDueAt } from '../../shared/domain/RenewalPolicy';
import { PlanCandidate, planRenewals } from '../../shared/domain/renewal/CapacityPlanner';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { attemptAnswered, nextRequest } from '../../shared/domain/renewal/renewalTransitions';
import { BucketPlanner } from '../../shared/simulation/planner/BucketPlanner';
import { FleetPlanner, PlannerSetup } from '../../shared/simulation/planner/FleetPlanner';
import { CounterRandom } from '../../shared/simulation/planner/counterRandom';
import {
  DEFAULT_SIMULATION,
  ExpiryCause,
  FleetSimulationConfig,
  FleetSimulationResult,
  dueMinute,
  simulateFleet,
} from '../../shared/simulation/plannerSimulation';

const START = '2026-01-01T00:00:00.000Z';
const START_MS = Date.parse(START);
const HOUR = 60;
const DAY = 24 * HOUR;

/**
 * The real CapacityPlanner behind the simulation's planner port, run as the sweep runs it each
 * minute: every pending renewal before now + horizon (the renewal index's `actionsDueBefore`),
 * given in increasing device order, as dated candidates. Slow (it sorts everything each
 * minute), and the reference the fast planner must agree with.
 */
class RealCapacityPlanner implements FleetPlanner {
  private readonly pending = new Map<
    number,
    { actionAt: number; validUntil: number; fresh: boolean }
  >();
  private readonly dates = new Map<number, string>();
  private lastMinute = -1;

  constructor(private readonly setup: PlannerSetup) {}

  add(device: number, actionAt: number, validUntil: number, fresh: boolean): void {
    this.pending.set(device, { actionAt, validUntil, fresh });
  }

  remove(device: number): void {
    this.pending.delete(device);
  }

  get overdue(): number {
    return [...this.pending.values()].filter((p) => p.actionAt <= this.lastMinute).length;
  }

  takeMinute(minute: number, capacity: number): readonly number[] {
    this.lastMinute = minute;
    const horizon = minute + this.setup.horizonMinutes;
    const candidates: PlanCandidate[] = [...this.pending.entries()]
      .filter(([, p]) => p.actionAt < horizon)
      .sort(([a], [b]) => a - b)
      .map(([device, p]) => ({
        hub: 'sim-hub',
        deviceId: String(device),
        actionAt: this.date(p.actionAt),
        validUntil: this.date(p.validUntil),
        status: p.fresh ? 'healthy' : 'retrying',
      }));
    const plan = planRenewals({
      now: this.date(minute),
      candidates,
      renewalsPerMinute: this.setup.renewalsPerMinute,
      usedThisMinute: this.setup.renewalsPerMinute - capacity,
    });
    const asked = plan.now.map((start) => Number(start.deviceId));
    for (const device of asked) this.pending.delete(device);
    return asked;
  }

  private date(minute: number): string {
    let iso = this.dates.get(minute);
    if (iso === undefined) {
      iso = new Date(this.setup.startMs + minute * MINUTE_MS).toISOString();
      this.dates.set(minute, iso);
    }
    return iso;
  }
}

/** A small fleet, no behaviours unless given: each test says what it needs. */
function aFleet(overrides: Partial<FleetSimulationConfig>): FleetSimulationConfig {
  return {
    ...DEFAULT_SIMULATION,
    start: START,
    devices: 200,
    days: 3,
    behaviours: {
      selfRenewing: 0,
      partTime: { share: 0, onlineHoursPerDay: 24 },
      unreliable: { share: 0, refuse: 0, fail: 0 },
    },
    ...overrides,
  };
}

interface Run {
  result: FleetSimulationResult;
  /** Per minute with requests: the devices asked, in increasing order. */
  asked: Map<number, number[]>;
  /** Devices the plan picked, known to be offline, and not called. */
  awaited: { minute: number; device: number }[];
  requests: {
    minute: number;
    device: number;
    outcome: string;
    validUntil: number;
    failures: number;
  }[];
  expiries: { minute: number; device: number; cause: ExpiryCause; from: number; until: number }[];
}

function run(config: FleetSimulationConfig, planner?: (setup: PlannerSetup) => FleetPlanner): Run {
  const asked = new Map<number, number[]>();
  const awaited: Run['awaited'] = [];
  const requests: Run['requests'] = [];
  const expiries: Run['expiries'] = [];
  const result = simulateFleet(config, {
    ...(planner ? { planner } : {}),
    trace: {
      requested: (minute, device, answer) => {
        asked.set(minute, [...(asked.get(minute) ?? []), device]);
        requests.push({ minute, device, ...answer });
      },
      awaitedConnection: (minute, device) => awaited.push({ minute, device }),
      expired: (minute, device, cause, waited) =>
        expiries.push({ minute, device, cause, ...waited }),
    },
  });
  for (const devices of asked.values()) devices.sort((a, b) => a - b);
  return { result, asked, awaited, requests, expiries };
}

/** certfleet calling every device the plan picks, offline or not (no wait for a connection). */
const CALLING_EVERY_DEVICE = { ...DEFAULT_RENEWAL_TIMING, offlineBlindTryMs: 90 * DAY * MINUTE_MS };

const realPlanner = (setup: PlannerSetup) => new RealCapacityPlanner(setup);

describe('planner simulation', () => {
  describe('agrees with the real CapacityPlanner run every minute', () => {
    const scenarios: [string, FleetSimulationConfig, (r: FleetSimulationResult) => void][] = [
      [
        'a cohort provisioned in the same hour, pulled forward for the rate, with refusals and offline devices',
        aFleet({
          renewalsPerMinute: 1,
          cohorts: [
            // Due about 23:00 on day 0: 120 devices in one hour at 1/min.
            {
              share: 0.6,
              lifetimeDays: 7,
              provisioned: { kind: 'sameHour', hoursBeforeStart: 120 },
            },
            { share: 0.4, lifetimeDays: 7, provisioned: { kind: 'spread' } },
          ],
          behaviours: {
            selfRenewing: 0.3,
            partTime: { share: 0.3, onlineHoursPerDay: 6 },
            unreliable: { share: 0.3, refuse: 0.5, fail: 0.3 },
          },
        }),
        (r) => expect(r.startedEarly.renewals).toBeGreaterThan(30),
      ],
      [
        'an issuing-CA rotation over capacity, the old CA trusted 3 hours',
        aFleet({
          devices: 240,
          renewalsPerMinute: 1,
          horizonHours: 2,
          policy: { kind: 'before', renewBeforeMs: 24 * HOUR * MINUTE_MS },
          cohorts: [
            { share: 0.5, lifetimeDays: 7, provisioned: { kind: 'spread' } },
            { share: 0.5, lifetimeDays: 14, provisioned: { kind: 'spread' } },
          ],
          behaviours: {
            selfRenewing: 0.2,
            partTime: { share: 0.2, onlineHoursPerDay: 8 },
            unreliable: { share: 0.1, refuse: 0.3, fail: 0.3 },
          },
          rotation: { atDay: 1, oldCaTrustedForHours: 3 },
        }),
        (r) => expect(r.expired.couldNotBeSaved.overCapacity).toBeGreaterThan(10),
      ],
      [
        'a planned rotation: slots from the announcement, under the rate with the ordinary renewals',
        aFleet({
          devices: 240,
          renewalsPerMinute: 1,
          horizonHours: 2,
          cohorts: [
            { share: 0.5, lifetimeDays: 7, provisioned: { kind: 'spread' } },
            { share: 0.5, lifetimeDays: 30, provisioned: { kind: 'spread' } },
          ],
          behaviours: {
            selfRenewing: 0.2,
            partTime: { share: 0.2, onlineHoursPerDay: 8 },
            unreliable: { share: 0.1, refuse: 0.3, fail: 0.3 },
          },
          rotation: { atDay: 2, oldCaTrustedForHours: 6, announcedDaysAhead: 1 },
        }),
        (r) => expect(r.rotation?.planned?.askedAtSlot).toBeGreaterThan(50),
      ],
      [
        'retries crowding a short horizon, then a rotation',
        aFleet({
          devices: 300,
          days: 4,
          renewalsPerMinute: 2,
          horizonHours: 1,
          policy: { kind: 'fraction', fraction: 2 / 3 },
          cohorts: [
            {
              share: 0.5,
              lifetimeDays: 7,
              provisioned: { kind: 'sameHour', hoursBeforeStart: 100 },
            },
            { share: 0.5, lifetimeDays: 7, provisioned: { kind: 'spread' } },
          ],
          behaviours: {
            selfRenewing: 0,
            partTime: { share: 0.2, onlineHoursPerDay: 12 },
            unreliable: { share: 0.5, refuse: 0.6, fail: 0.3 },
          },
          rotation: { atDay: 3 },
        }),
        (r) => {
          expect(r.directMethodCalls.refused).toBeGreaterThan(50);
          expect(r.startedLate.renewals).toBeGreaterThan(100);
        },
      ],
    ];

    it.each(scenarios)('%s: the same devices asked in every minute', (_, config, exercised) => {
      const fast = run(config);
      const real = run(config, realPlanner);

      expect([...fast.asked.entries()]).toEqual([...real.asked.entries()]);
      expect(fast.result).toEqual(real.result);
      exercised(fast.result);
    });

    it.each(Array.from({ length: 12 }, (_, i) => i + 1))(
      'asks the same devices as the real planner over random pending renewals full of ties (seed %i)',
      (seed) => {
        const random = new CounterRandom(seed, 99);
        const setup: PlannerSetup = {
          devices: 120,
          minutes: 600,
          renewalsPerMinute: 1 + random.below(3),
          horizonMinutes: 5 + random.below(120),
          startMs: START_MS,
        };
        const planners = [new BucketPlanner(setup), new RealCapacityPlanner(setup)];
        const pending = new Map<number, number>(); // device -> validUntil
        // Coarse times (multiples of 5 minutes), so that due times and expiries tie often.
        const addAt = (device: number, minute: number) => {
          const fresh = random.next() < 0.7;
          const actionAt = fresh
            ? minute + 5 * random.below(24) - 30
            : minute + 5 * random.below(6);
          const validUntil = Math.max(actionAt, minute) + 1 + 5 * random.below(20);
          pending.set(device, validUntil);
          for (const p of planners) p.add(device, actionAt, validUntil, fresh);
        };
        for (let device = 0; device < setup.devices; device += 1) addAt(device, -1);

        let asked = 0;
        for (let minute = 0; minute < 300; minute += 1) {
          for (const [device, validUntil] of pending) {
            if (validUntil > minute) continue;
            pending.delete(device);
            for (const p of planners) p.remove(device);
          }
          if (random.next() < 0.3) addAt(random.below(setup.devices), minute);
          // Now and then part of the minute's budget is spent already (a device that connected).
          const rate = setup.renewalsPerMinute;
          const capacity = random.next() < 0.2 ? random.below(rate + 1) : rate;
          const [fast, real] = planners.map((p) =>
            [...p.takeMinute(minute, capacity)].sort((a, b) => a - b),
          );

          expect({ minute, devices: fast }).toEqual({ minute, devices: real });
          for (const device of fast ?? []) pending.delete(device);
          asked += fast?.length ?? 0;
        }
        expect(asked).toBeGreaterThan(50);
      },
    );
  });

  describe('properties, on seeded random fleets', () => {
    const seeds = [1, 2, 3, 4, 5, 6];
    // Each fleet is run once, by the first test that needs it.
    const runs = new Map<number, Run>();
    const of = (seed: number) => {
      if (!runs.has(seed)) runs.set(seed, run(aRandomFleet(seed)));
      return runs.get(seed)!;
    };

    it.each(seeds)('never asks more devices in a minute than the rate (seed %i)', (seed) => {
      const { result } = of(seed);
      const rate = aRandomFleet(seed).renewalsPerMinute;

      expect(Math.max(...result.requestsPerMinute)).toBeLessThanOrEqual(rate);
      expect(result.peakRequestsPerMinute).toBeLessThanOrEqual(rate);
    });

    it.each(seeds)(
      'lets a certificate expire for lack of capacity only when every minute it waited was full (seed %i)',
      (seed) => {
        const { result, expiries } = of(seed);
        const rate = aRandomFleet(seed).renewalsPerMinute;

        for (const e of expiries.filter((x) => x.cause === 'overCapacity')) {
          const waited = result.requestsPerMinute.slice(e.from, e.until);
          expect({ device: e.device, full: waited.every((n) => n === rate) }).toEqual({
            device: e.device,
            full: true,
          });
        }
        expect(result.expired.whileCapacityExisted).toBe(0);
        expect(result.invariants).toEqual({ retriesBeforeBackoff: 0, waitedThroughRoom: 0 });
      },
    );

    it('is put to the test: capacity runs out in some of these fleets', () => {
      const overCapacity = seeds.map((s) => of(s).result.expired.couldNotBeSaved.overCapacity);

      expect(overCapacity.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    });

    it.each(seeds)(
      'retries a refusal no earlier than the renewal state machine allows, and never after it gives up (seed %i)',
      (seed) => {
        const { requests } = of(seed);
        let checked = 0;
        requests.forEach((r, i) => {
          if (r.outcome !== 'refused') return;
          const next = requests
            .slice(i + 1)
            .find((n) => n.device === r.device && n.validUntil === r.validUntil);
          const allowed = retryAllowedAt(r.minute, r.validUntil, r.failures - 1);
          if (allowed === 'gives up') expect(next).toBeUndefined();
          else if (next) expect(next.minute).toBeGreaterThanOrEqual(allowed);
          checked += 1;
        });
        expect(checked).toBeGreaterThan(0);
      },
    );

    it('gives the same result for the same seed, and another for another seed', () => {
      const again = simulateFleet(aRandomFleet(3));

      expect(again).toEqual(of(3).result);
      expect(simulateFleet({ ...aRandomFleet(3), seed: 4 })).not.toEqual(of(3).result);
    });
  });

  describe('capacity', () => {
    it('saves the earliest expiries first when a CA rotation brings more renewals than the rate allows', () => {
      // 600 devices whose 7-day certificates expire within one hour, 3 to 4 hours after the
      // rotation; at 2 a minute only about 450 can be asked in time.
      const config = aFleet({
        devices: 600,
        renewalsPerMinute: 2,
        horizonHours: 1,
        policy: { kind: 'before', renewBeforeMs: 2 * HOUR * MINUTE_MS },
        cohorts: [
          { share: 1, lifetimeDays: 7, provisioned: { kind: 'sameHour', hoursBeforeStart: 141 } },
        ],
        rotation: { atDay: 1 },
      });

      const { result, requests, expiries } = run(config);

      const lost = new Set(expiries.map((e) => e.device));
      const saved = requests.filter((r) => r.outcome === 'accepted' && !lost.has(r.device));
      expect(saved.length).toBe(result.renewals.certfleet);
      expect(saved.length).toBeGreaterThan(400);
      expect(lost.size).toBeGreaterThan(100);
      expect(expiries.every((e) => e.cause === 'overCapacity')).toBe(true);
      // Saved: the earliest expiries. Every device lost waited while each minute's requests went
      // to certificates expiring no later than its own.
      const latestSaved = Math.max(...saved.map((r) => r.validUntil));
      expect(latestSaved).toBeLessThan(Math.max(...expiries.map((e) => e.minute)));
      for (const e of expiries) {
        const askedMeanwhile = requests.filter((r) => r.minute >= e.from && r.minute < e.until);
        expect(Math.max(...askedMeanwhile.map((r) => r.validUntil))).toBeLessThanOrEqual(e.minute);
      }
    });

    it('starts a cohort due in one hour early by as much as the rate needs, and no earlier', () => {
      // 600 devices due within one hour at 5 a minute: 120 minutes of requests, so about an hour
      // early for the first.
      const config = aFleet({
        devices: 600,
        renewalsPerMinute: 5,
        cohorts: [
          { share: 1, lifetimeDays: 30, provisioned: { kind: 'sameHour', hoursBeforeStart: 600 } },
        ],
      });

      const { result, asked } = run(config);

      expect(result.startedEarly.maxMinutes).toBeGreaterThanOrEqual(55);
      expect(result.startedEarly.maxMinutes).toBeLessThanOrEqual(62);
      expect(result.fullMinutes).toBeGreaterThanOrEqual(119);
      expect(result.expired.total).toBe(0);
      const minutes = [...asked.keys()];
      expect(Math.max(...minutes) - Math.min(...minutes)).toBeLessThan(121);
    });

    it('renews through the device itself, certfleet, or by hand after expiry, as behaviours say', () => {
      const config = aFleet({
        devices: 1000,
        days: 20,
        cohorts: [{ share: 1, lifetimeDays: 7, provisioned: { kind: 'spread' } }],
        behaviours: {
          selfRenewing: 0.5,
          partTime: { share: 0, onlineHoursPerDay: 24 },
          unreliable: { share: 0.1, refuse: 1, fail: 0 },
        },
        reprovisionAfterHours: 24,
      });

      const { result } = run(config);

      expect(result.renewals.self).toBeGreaterThan(0);
      expect(result.renewals.certfleet).toBeGreaterThan(0);
      // Devices that always refuse and never renew themselves expire, and come back by hand.
      expect(result.expired.couldNotBeSaved.refusedOrFailed).toBeGreaterThan(0);
      expect(result.renewals.manual).toBeGreaterThan(0);
      expect(result.expired.total).toBe(result.expired.couldNotBeSaved.refusedOrFailed);
    });

    it('asks an offline device again when it comes online, and counts the calls', () => {
      // Online 2 hours a day: most are offline when due, and are asked again when they connect.
      // Every device is called when the plan picks it, offline or not (the blind try covers the
      // whole lifetime), as certfleet did before it waited for devices known to be offline.
      const config = aFleet({
        devices: 500,
        days: 20,
        cohorts: [{ share: 1, lifetimeDays: 30, provisioned: { kind: 'spread' } }],
        behaviours: {
          selfRenewing: 0,
          partTime: { share: 1, onlineHoursPerDay: 2 },
          unreliable: { share: 0, refuse: 0, fail: 0 },
        },
        timing: CALLING_EVERY_DEVICE,
      });

      const { result, requests, awaited } = run(config);

      // Answers in the last day are left out: the simulation may end before the device is back.
      const offline = requests.filter((r) => r.outcome === 'offline' && r.minute < 19 * DAY);
      expect(offline.length).toBeGreaterThan(100);
      for (const o of offline) {
        const accepted = requests.find(
          (r) =>
            r.device === o.device &&
            r.validUntil === o.validUntil &&
            r.outcome === 'accepted' &&
            r.minute > o.minute,
        );
        // Back within a day (online 2 hours of every 24), and asked then.
        expect(accepted && accepted.minute - o.minute).toBeLessThanOrEqual(DAY);
      }
      expect(result.expired.total).toBe(0);
      expect(result.directMethodCalls.total).toBe(requests.length);
      expect(awaited).toEqual([]);
    });
  });

  describe('devices known to be offline', () => {
    // Online 2 hours a day, 7-day certificates due 25 hours before expiry, some refusing, none
    // renewing by itself: most are offline when due, and every renewal is certfleet's.
    const partTimeFleet = (timing = DEFAULT_RENEWAL_TIMING) =>
      aFleet({
        devices: 800,
        days: 30,
        cohorts: [{ share: 1, lifetimeDays: 7, provisioned: { kind: 'spread' } }],
        behaviours: {
          selfRenewing: 0,
          partTime: { share: 0.8, onlineHoursPerDay: 2 },
          unreliable: { share: 0.2, refuse: 0.5, fail: 0.2 },
        },
        timing,
      });

    it('calls none while their certificate has more than the blind try left, and asks each when it connects', () => {
      const { result, requests, awaited } = run(partTimeFleet());
      const blindTry = Math.floor(DEFAULT_RENEWAL_TIMING.offlineBlindTryMs / MINUTE_MS);

      expect(awaited.length).toBeGreaterThan(500);
      expect(result.awaitedConnection).toBe(awaited.length);
      // Every call answered offline was a blind try, shortly before expiry.
      const offline = requests.filter((r) => r.outcome === 'offline');
      for (const o of offline) expect(o.validUntil - o.minute).toBeLessThanOrEqual(blindTry);
      // Each device left waiting is called within a day (online 2 hours of every 24): when it
      // connects, or in its blind try if that comes first. The simulation may end before the
      // last ones are back.
      for (const a of awaited.filter((x) => x.minute < 29 * DAY)) {
        const next = requests.find((r) => r.device === a.device && r.minute >= a.minute);
        expect(next && next.minute - a.minute).toBeLessThanOrEqual(DAY);
        const blind = next!.validUntil - next!.minute <= blindTry;
        expect({ device: a.device, answered: blind || next!.outcome !== 'offline' }).toEqual({
          device: a.device,
          answered: true,
        });
      }
      expect(result.callsPerCertfleetRenewal).toBeCloseTo(
        result.directMethodCalls.total / result.renewals.certfleet,
        10,
      );
    });

    it('saves as many certificates as calling them blindly, with fewer calls per renewal', () => {
      const waiting = run(partTimeFleet()).result;
      const calling = run(partTimeFleet(CALLING_EVERY_DEVICE)).result;

      expect(calling.directMethodCalls.offline).toBeGreaterThan(300);
      expect(waiting.directMethodCalls.offline).toBeLessThan(
        calling.directMethodCalls.offline / 10,
      );
      expect(waiting.expired.total).toBeLessThanOrEqual(calling.expired.total);
      expect(waiting.renewals.certfleet).toBeGreaterThanOrEqual(calling.renewals.certfleet);
      expect(waiting.callsPerCertfleetRenewal).toBeLessThan(calling.callsPerCertfleetRenewal - 0.2);
    });

    it('tries a blind call before expiry to a device that never comes back', () => {
      // Online 2 hours a day from a random hour, due 12 hours before expiry: those whose hours
      // fall outside those 12 are offline until expiry.
      const config = aFleet({
        devices: 300,
        days: 2,
        cohorts: [
          { share: 1, lifetimeDays: 7, provisioned: { kind: 'sameHour', hoursBeforeStart: 143 } },
        ],
        policy: { kind: 'before', renewBeforeMs: 12 * HOUR * MINUTE_MS },
        behaviours: {
          selfRenewing: 0,
          partTime: { share: 1, onlineHoursPerDay: 2 },
          unreliable: { share: 0, refuse: 0, fail: 0 },
        },
      });
      const blindTry = Math.floor(DEFAULT_RENEWAL_TIMING.offlineBlindTryMs / MINUTE_MS);

      const { requests, awaited, expiries } = run(config);

      // Each offline until expiry was waited for, then tried blindly once, and nothing more.
      const lost = expiries.filter((e) => e.cause === 'offline');
      expect(lost.length).toBeGreaterThan(10);
      for (const e of lost) {
        expect(awaited.some((a) => a.device === e.device)).toBe(true);
        const blind = requests.filter((r) => r.device === e.device);
        expect(blind.map((r) => [r.minute, r.outcome])).toEqual([[e.minute - blindTry, 'offline']]);
      }
    });
  });

  describe('settings', () => {
    it('refuses a fleet it cannot simulate, naming every problem at once', () => {
      const config = aFleet({
        renewalsPerMinute: 0,
        cohorts: [
          { share: 0.5, lifetimeDays: 120, provisioned: { kind: 'spread' } },
          { share: 0.3, lifetimeDays: 7, provisioned: { kind: 'sameHour', hoursBeforeStart: 200 } },
        ],
      });

      expect(() => simulateFleet(config)).toThrow(
        /shares add up to 0\.8.*lifetime 120 days.*provisioned 200 h before the start has expired.*renewalsPerMinute/,
      );
    });
  });

  describe('due times', () => {
    const policies: RenewalPolicy[] = [
      { kind: 'fraction', fraction: 2 / 3 },
      { kind: 'fraction', fraction: 0.85 },
      { kind: 'before', renewBeforeMs: 24 * HOUR * MINUTE_MS },
      { kind: 'before', renewBeforeMs: 90.5 * 60 * 1000 },
    ];

    it.each(policies)('falls due in the minute renewalDueAt names (%j)', (policy) => {
      for (const [from, days] of [
        [-3_001, 7],
        [17, 30],
        [1_234, 90],
      ] as const) {
        const until = from + days * DAY;
        const iso = (m: number) => new Date(START_MS + m * MINUTE_MS).toISOString();
        const expected = Math.floor(
          (Date.parse(renewalDueAt({ validFrom: iso(from), validUntil: iso(until) }, policy)) -
            START_MS) /
            MINUTE_MS,
        );

        expect(dueMinute(from, until, policy)).toBe(expected);
      }
    });
  });
});

/**
 * A fleet drawn from the seed: lifetimes, a same-hour cohort, behaviours, a policy, a low rate
 * and a rotation, so that capacity runs out in some of them.
 */
function aRandomFleet(seed: number): FleetSimulationConfig {
  const random = new CounterRandom(seed, 1234);
  const policies: RenewalPolicy[] = [
    { kind: 'fraction', fraction: 2 / 3 },
    { kind: 'fraction', fraction: 0.8 },
    { kind: 'fraction', fraction: 0.85 },
    { kind: 'before', renewBeforeMs: 24 * HOUR * MINUTE_MS },
    { kind: 'before', renewBeforeMs: 2 * HOUR * MINUTE_MS },
  ];
  const lifetimes = [7, 14, 30, 90];
  return {
    ...DEFAULT_SIMULATION,
    seed,
    start: START,
    devices: 3000,
    days: 10,
    cohorts: [
      { share: 0.5, lifetimeDays: lifetimes[random.below(4)]!, provisioned: { kind: 'spread' } },
      {
        share: 0.5,
        lifetimeDays: 7 + random.below(24),
        provisioned: { kind: 'sameHour', hoursBeforeStart: 24 + random.below(120) },
      },
    ],
    behaviours: {
      selfRenewing: random.next() * 0.6,
      partTime: { share: random.next() * 0.5, onlineHoursPerDay: 1 + random.below(12) },
      unreliable: { share: random.next() * 0.4, refuse: random.next(), fail: random.next() * 0.5 },
    },
    policy: policies[random.below(policies.length)]!,
    renewalsPerMinute: 1 + random.below(4),
    horizonHours: 1 + random.below(12),
    rotation: {
      atDay: 2 + random.below(6),
      ...(random.next() < 0.5 ? { oldCaTrustedForHours: 6 + random.below(48) } : {}),
    },
  };
}

/**
 * When the renewal state machine (renewalTransitions.ts) allows the next attempt after a refusal
 * with `failuresBefore` earlier failures, in simulation minutes, or that it gives up.
 */
function retryAllowedAt(
  minute: number,
  validUntil: number,
  failuresBefore: number,
): number | 'gives up' {
  const iso = (m: number) => new Date(START_MS + m * MINUTE_MS).toISOString();
  const now = iso(minute);
  const record = newDeviceRecord('sim-hub', 'device', now);
  record.current = {
    source: 'reported',
    validFrom: iso(validUntil - 7 * DAY),
    validUntil: iso(validUntil),
    firstSeenAt: now,
    reportedVersion: 1,
  };
  record.renewal = {
    status: 'due',
    campaignId: 'campaign',
    attempts: failuresBefore,
    failures: failuresBefore,
    nextAttemptAt: now,
  };
  const request = nextRequest(record, now, DEFAULT_RENEWAL_TIMING);
  const next = attemptAnswered(
    record,
    request,
    { kind: 'refused', status: 409 },
    now,
    DEFAULT_RENEWAL_TIMING,
  );
  if (next.renewal?.status === 'failed') return 'gives up';
  return Math.ceil((Date.parse(next.renewal!.nextAttemptAt!) - START_MS) / MINUTE_MS);
}
