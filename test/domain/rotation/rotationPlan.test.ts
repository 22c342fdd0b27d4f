import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import {
  ExpiryHistogram,
  addDevice,
  expiryBucket,
} from '../../../shared/domain/rotation/ExpiryHistogram';
import {
  RotationPlanInput,
  RotationSchedule,
  planRotation,
} from '../../../shared/domain/rotation/rotationPlan';

/** The planner alone: slots from expiries, the rate, the window and the ordinary demand. */
const START = '2026-11-23T12:00:00.000Z';
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** `n` devices expiring `days` after START each, as the count pass would bucket them. */
function expiries(...groups: [days: number, n: number][]): ExpiryHistogram {
  const histogram: ExpiryHistogram = [];
  for (const [days, n] of groups)
    for (let i = 0; i < n; i += 1)
      addDevice(histogram, expiryBucket(plus(START, days * DAY_MS), START));
  return histogram;
}

function anInput(overrides: Partial<RotationPlanInput> = {}): RotationPlanInput {
  return {
    start: START,
    slotsEndAt: plus(START, 8 * DAY_MS),
    completeBy: plus(START, 10 * DAY_MS),
    renewalsPerMinute: 10,
    reserveShare: 0.1,
    ordinaryPerDay: new Array<number>(11).fill(0),
    needSlot: expiries([200, 1000]),
    ...overrides,
  };
}

/** Every slot of the plan's devices, in rank order. */
function slotsOf(input: RotationPlanInput, count: number): string[] {
  const schedule = new RotationSchedule(input);
  return Array.from({ length: count }, (_, rank) => schedule.slotAt(rank));
}

describe('the rotation planner', () => {
  it('spreads the slots over the whole window rather than packing them at its start', () => {
    const plan = planRotation(anInput());

    expect(plan.slotted).toBe(1000);
    // 1,000 renewals in 8 days at 9 a minute free: a small share, evenly spread.
    expect(plan.spread).toBeLessThan(0.02);
    expect(Date.parse(plan.firstSlotAt!) - Date.parse(START)).toBeLessThan(HOUR_MS);
    expect(Date.parse(plan.slotsEndAt) - Date.parse(plan.lastSlotAt!)).toBeLessThan(HOUR_MS);
    expect(plan.slotAfterDeadline).toBe(0);
    expect(plan.expiresBeforeSlot).toBe(0);
  });

  it('gives the earliest expiries the earliest slots', () => {
    const input = anInput({ needSlot: expiries([300, 5], [100, 5], [200, 5]) });
    const schedule = new RotationSchedule(input);

    // Ranks follow the histogram's order: buckets by expiry; the slot grows with the rank.
    const buckets = input.needSlot.map(([bucket]) => bucket);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    const slots = Array.from({ length: 15 }, (_, rank) => schedule.slotAt(rank));
    expect(slots).toEqual([...slots].sort());
    expect(new Set(slots).size).toBe(15);
  });

  it('never places more slots in a minute than the rate, even when it needs all of it', () => {
    const input = anInput({
      renewalsPerMinute: 5,
      slotsEndAt: plus(START, DAY_MS),
      completeBy: plus(START, 2 * DAY_MS),
      needSlot: expiries([30, 9000]),
    });
    const plan = planRotation(input);
    const perMinute = new Map<string, number>();
    for (const slot of slotsOf(input, plan.slotted))
      perMinute.set(slot.slice(0, 16), (perMinute.get(slot.slice(0, 16)) ?? 0) + 1);

    expect(plan.spread).toBe(1);
    expect(Math.max(...perMinute.values())).toBeLessThanOrEqual(5);
    expect(plan.peakPerMinute).toBeLessThanOrEqual(5);
  });

  it('leaves room for the ordinary renewals the index forecasts on each day', () => {
    // Day 2 (from the start's UTC day) is taken whole by ordinary renewals at 9 a minute free.
    const busy = 9 * 24 * 60;
    const ordinary = [0, 0, busy, 0, 0, 0, 0, 0, 0, 0, 0];
    const input = anInput({ ordinaryPerDay: ordinary, needSlot: expiries([200, 20_000]) });
    const slots = slotsOf(input, 20_000);
    const onDay = (day: string) => slots.filter((s) => s.startsWith(day)).length;

    expect(onDay('2026-11-25')).toBe(0);
    expect(onDay('2026-11-24')).toBeGreaterThan(0);
    expect(onDay('2026-11-26')).toBeGreaterThan(0);
    // Half of the first day (it starts at noon) holds about half a full day's share.
    expect(onDay('2026-11-23')).toBeCloseTo(onDay('2026-11-24') / 2, -1);
  });

  it('finds a plan that cannot meet its deadline, and the devices whose slot comes too late', () => {
    // 20,000 devices at 1 a minute: about 15 days of slots in a 10-day window.
    const input = anInput({
      renewalsPerMinute: 1,
      reserveShare: 0,
      needSlot: expiries([9, 5000], [40, 15_000]),
    });
    const plan = planRotation(input);

    expect(plan.spread).toBe(1);
    expect(plan.lastSlotAt! > input.completeBy).toBe(true);
    // 10 days at 1 a minute place 14,400 by the deadline.
    expect(plan.slotAfterDeadline).toBe(20_000 - 14_400);
    // Those expiring on day 9 all get slots in the first 3.5 days: none expires first.
    expect(plan.expiresBeforeSlot).toBe(0);
  });

  it('counts devices whose certificate expires before their slot', () => {
    const input = anInput({
      renewalsPerMinute: 1,
      reserveShare: 0,
      needSlot: expiries([2, 5000]),
    });
    const plan = planRotation(input);

    // Two days at 1 a minute: 2,880 slots before they expire.
    expect(plan.expiresBeforeSlot).toBe(5000 - 2880);
  });

  it('places devices found after the plan after all the others', () => {
    const input = anInput();
    const schedule = new RotationSchedule(input);

    expect(schedule.slotAt(1000) > schedule.slotAt(999)).toBe(true);
    expect(schedule.slotAt(5_000_000) > input.completeBy).toBe(true);
  });

  it('refuses a rate of zero instead of planning forever', () => {
    expect(() => planRotation(anInput({ renewalsPerMinute: 0 }))).toThrow(RangeError);
  });

  it('keeps the histogram small: hour buckets for 400 days, then day buckets, then one', () => {
    const hour = expiryBucket(plus(START, 10 * DAY_MS + 30 * MINUTE_MS), START);
    const sameDayLater = expiryBucket(plus(START, 500 * DAY_MS + 5 * HOUR_MS), START);
    const sameDayEarlier = expiryBucket(plus(START, 500 * DAY_MS + HOUR_MS), START);
    const farFuture = expiryBucket('2099-01-01T00:00:00.000Z', START);
    const later = expiryBucket('2199-01-01T00:00:00.000Z', START);

    expect(hour).toBe(Math.floor(Date.parse(plus(START, 10 * DAY_MS)) / HOUR_MS));
    expect(sameDayLater).toBe(sameDayEarlier);
    expect(farFuture).toBe(later);
  });
});

describe('the rotation planner, when some certificates expire inside the window', () => {
  it('takes a larger share of the free capacity so each is placed before it expires', () => {
    const even = planRotation(anInput({ needSlot: expiries([200, 1000]) }));
    const urgent = planRotation(anInput({ needSlot: expiries([2, 500], [200, 500]) }));
    const schedule = new RotationSchedule(urgent);

    // 500 devices in 2 days instead of 1,000 in 8: twice the share.
    expect(urgent.spread).toBeCloseTo(even.spread * 2, 5);
    expect(schedule.slotAt(499) < plus(START, 2 * DAY_MS)).toBe(true);
    expect(urgent.expiresBeforeSlot).toBe(0);
  });
});
