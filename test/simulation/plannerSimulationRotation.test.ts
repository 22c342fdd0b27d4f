import { MINUTE_MS } from '../../shared/domain/Clock';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { expiryBucket } from '../../shared/domain/rotation/ExpiryHistogram';
import { safetyMarginMs } from '../../shared/domain/rotation/Rotation';
import { RotationSchedule } from '../../shared/domain/rotation/rotationPlan';
import {
  DEFAULT_SIMULATION,
  FleetSimulationConfig,
  RotationResult,
  simulateFleet,
} from '../../shared/simulation/plannerSimulation';

const START = '2026-01-01T00:00:00.000Z';
const START_MS = Date.parse(START);
const DAY = 24 * 60;
const iso = (minute: number) => new Date(START_MS + minute * MINUTE_MS).toISOString();

/**
 * 3,000 devices on 30-day certificates, the CA revoked on day 8 and its certificates trusted 12
 * hours more: at 2 renewals a minute, all of them at once take 25 hours, twice the time there
 * is; over the 5 days of a planned rotation's notice they take a fifth of the rate.
 */
function aRotatedFleet(
  rotation: FleetSimulationConfig['rotation'],
  overrides: Partial<FleetSimulationConfig> = {},
): FleetSimulationConfig {
  return {
    ...DEFAULT_SIMULATION,
    start: START,
    devices: 3000,
    days: 10,
    renewalsPerMinute: 2,
    cohorts: [{ share: 1, lifetimeDays: 30, provisioned: { kind: 'spread' } }],
    behaviours: {
      selfRenewing: 0,
      partTime: { share: 0, onlineHoursPerDay: 24 },
      unreliable: { share: 0, refuse: 0, fail: 0 },
    },
    ...(rotation ? { rotation } : {}),
    ...overrides,
  };
}

const UNPLANNED = { atDay: 8, oldCaTrustedForHours: 12 };
const PLANNED = { ...UNPLANNED, announcedDaysAhead: 5 };

const lostIn = (rotation: RotationResult) =>
  Object.values(rotation.lost).reduce((sum, count) => sum + count, 0);

describe('planner simulation: a planned CA rotation', () => {
  it('completes by its deadline with no certificate expired, where the same rotation unplanned at the same rate loses half the fleet for capacity', () => {
    const unplanned = simulateFleet(aRotatedFleet(UNPLANNED)).rotation!;
    const planned = simulateFleet(aRotatedFleet(PLANNED)).rotation!;

    expect(unplanned.lost.overCapacity).toBeGreaterThan(1000);
    expect(unplanned.lostAtDeadline).toBe(lostIn(unplanned));

    expect(planned.window).toEqual({ fromMinute: 3 * DAY, deadlineMinute: 8 * DAY + 12 * 60 });
    expect(planned.affected).toBe(3000);
    expect(lostIn(planned)).toBe(0);
    expect(planned.replaced.certfleet).toBe(3000);
    expect(planned.lastReplacedAtMinute).toBeLessThan(planned.window.deadlineMinute!);
    expect(planned.planned!.plan.slotAfterDeadline).toBe(0);
    expect(planned.planned!.plan.expiresBeforeSlot).toBe(0);
    // Nothing of the old CA is left when it is revoked: its slots all came before.
    expect(planned.certificates).toBe(0);
  });

  it('lets no certificate of a device online in the window expire for capacity, with devices that are offline most of the day, refuse or fail', () => {
    const behaviours = {
      selfRenewing: 0.3,
      partTime: { share: 0.3, onlineHoursPerDay: 4 },
      unreliable: { share: 0.1, refuse: 0.3, fail: 0.2 },
    };
    const unplanned = simulateFleet(aRotatedFleet(UNPLANNED, { behaviours }));
    const planned = simulateFleet(aRotatedFleet(PLANNED, { behaviours }));
    const rotation = planned.rotation!;

    expect(unplanned.rotation!.lostOnlineInWindow.overCapacity).toBeGreaterThan(500);
    expect(rotation.lostOnlineInWindow.overCapacity).toBe(0);
    expect(rotation.lostOnlineInWindow.whileCapacityExisted).toBe(0);
    expect(lostIn(rotation)).toBeLessThan(30);
    expect(rotation.affected).toBe(
      lostIn(rotation) + rotation.replaced.self + rotation.replaced.certfleet,
    );
    expect(rotation.replaced.self).toBeGreaterThan(100);
    expect(planned.invariants).toEqual({ retriesBeforeBackoff: 0, waitedThroughRoom: 0 });
    expect(Math.max(...planned.requestsPerMinute)).toBeLessThanOrEqual(2);
  });

  it('gives each device the slot the domain planner gives its rank: earliest expiry first, ties in ledger order', () => {
    const slotted: { device: number; slotAt: number; validUntil: number }[] = [];
    const config = aRotatedFleet(PLANNED, { devices: 1000, renewalsPerMinute: 5 });
    const result = simulateFleet(config, {
      trace: {
        slotted: (minute, device, slotAt, validUntil) => {
          expect(minute).toBe(3 * DAY);
          slotted.push({ device, slotAt, validUntil });
        },
      },
    });
    const planned = result.rotation!.planned!;
    const declaredAt = iso(3 * DAY);

    expect(planned.plan.start).toBe(declaredAt);
    expect(planned.plan.completeBy).toBe(iso(8 * DAY + 12 * 60));
    const windowMs = (5 * DAY + 12 * 60) * MINUTE_MS;
    expect(Date.parse(planned.plan.slotsEndAt)).toBe(
      START_MS + (8 * DAY + 12 * 60) * MINUTE_MS - safetyMarginMs(windowMs, DEFAULT_RENEWAL_TIMING),
    );
    expect(planned.plan.slotted).toBe(slotted.length);
    expect(slotted.length).toBeGreaterThan(500);

    const schedule = new RotationSchedule(planned.plan);
    const bucketOf = (s: { validUntil: number }) => expiryBucket(iso(s.validUntil), declaredAt);
    const inRankOrder = [...slotted].sort(
      (a, b) => bucketOf(a) - bucketOf(b) || a.device - b.device,
    );
    inRankOrder.forEach((s, rank) => {
      const slotMs = Date.parse(schedule.slotAt(rank));
      expect({ device: s.device, slotAt: s.slotAt }).toEqual({
        device: s.device,
        slotAt: Math.floor((slotMs - START_MS) / MINUTE_MS),
      });
    });
  });

  it('asks each device in the minute of its slot, and counts it', () => {
    const slots = new Map<number, number>();
    const asked = new Map<number, number>();
    const result = simulateFleet(aRotatedFleet(PLANNED, { devices: 1000, renewalsPerMinute: 5 }), {
      trace: {
        slotted: (_, device, slotAt) => slots.set(device, slotAt),
        requested: (minute, device) => {
          if (minute >= 3 * DAY && !asked.has(device)) asked.set(device, minute);
        },
      },
    });

    expect(slots.size).toBeGreaterThan(500);
    for (const [device, slotAt] of slots)
      expect({ device, asked: asked.get(device) }).toEqual({ device, asked: slotAt });
    expect(result.rotation!.planned!.askedAtSlot).toBe(slots.size);
  });

  it('gives no slot to a device whose own renewal falls due before slots end', () => {
    const dueAt = new Map<number, number>();
    const slotted = new Set<number>();
    const result = simulateFleet(aRotatedFleet(PLANNED, { devices: 1000, renewalsPerMinute: 5 }), {
      trace: {
        slotted: (_, device) => slotted.add(device),
        requested: (minute, device) => {
          if (minute >= 3 * DAY && !dueAt.has(device)) dueAt.set(device, minute);
        },
      },
    });
    const slotsEnd = result.rotation!.planned!.slotsEndAtMinute;
    const ownInWindow = [...dueAt].filter(([device]) => !slotted.has(device));

    expect(ownInWindow.length).toBeGreaterThan(50);
    for (const [device, at] of ownInWindow)
      expect({ device, at: at < slotsEnd }).toEqual({ device, at: true });
  });

  it('refuses a planned rotation with no deadline, announced before the run, or with a window under a day', () => {
    const planned = (rotation: FleetSimulationConfig['rotation']) => () =>
      simulateFleet(aRotatedFleet(rotation, { devices: 10 }));

    expect(planned({ atDay: 8, announcedDaysAhead: 5 })).toThrow(
      'a planned rotation needs oldCaTrustedForHours: its deadline',
    );
    expect(planned({ atDay: 2, oldCaTrustedForHours: 12, announcedDaysAhead: 3 })).toThrow(
      'rotation.announcedDaysAhead must be > 0 and at most atDay (2), not 3',
    );
    expect(planned({ atDay: 8, oldCaTrustedForHours: 6, announcedDaysAhead: 0.5 })).toThrow(
      "a planned rotation's deadline must be a day to 400 days after its announcement, not 0.75 days",
    );
  });
});
