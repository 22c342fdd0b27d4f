import { DAY_MS, MINUTE_MS } from '../Clock';
import { ExpiryHistogram, bucketStart, firstRanks, totalOf } from './ExpiryHistogram';

/**
 * The rotation's plan: when each device that needs one gets its slot.
 *
 * Who needs a slot: a device with a certificate from the rotated issuer whose own renewal falls
 * due after slots end (`slotsEndAt`). One whose own renewal falls inside the window needs none:
 * it is renewed then anyway, from the new CA, and the renewal index already counts it among the
 * ordinary renewals.
 *
 * How slots are laid out:
 * - capacity: the paced rate (`renewalsPerMinute`), less a reserve (`reserveShare`, for retries,
 *   manual renewals and what no forecast sees), less the ordinary renewals the index forecasts
 *   for each UTC day (shared/domain/renewal/forecast.ts): what is left is the rotation's;
 * - spread: the rotation takes the same share of that free capacity all through the window,
 *   the smallest share that fits every device before `slotsEndAt` and before its certificate
 *   expires (`spread` ≤ 1), so the load is even rather than all at the start. When even all of it is not enough, slots go on after
 *   `slotsEndAt` at full free capacity, and the forecast shows the deadline missed;
 * - order: earliest expiry first (the histogram's buckets, an hour wide), ties in ledger order;
 * - placing: the rank-th device (from 0) is at the time the rotation's capacity, counted from
 *   `start`, reaches rank + ½: evenly spaced within a day, never more in a minute than the rate.
 *
 * Pure: the plan keeps its inputs, and slots are computed from them (RotationSchedule).
 */
export interface RotationPlanInput {
  /** When slots begin: when the plan is made. */
  start: string;
  slotsEndAt: string;
  completeBy: string;
  renewalsPerMinute: number;
  /** The share of the rate kept free of the rotation (0 to 1). */
  reserveShare: number;
  /**
   * Ordinary renewals falling due on each UTC day, from the day of `start` (index 0, overdue
   * ones included): the renewal index's forecast as the plan is made.
   */
  ordinaryPerDay: readonly number[];
  /** The devices that need a slot, by expiry. */
  needSlot: ExpiryHistogram;
}

export interface RotationPlan extends RotationPlanInput {
  /** Devices given a slot by the plan (the histogram's total). */
  slotted: number;
  /** The share of the free capacity the rotation takes inside the window (0 to 1). */
  spread: number;
  /** The most slots in any minute. */
  peakPerMinute: number;
  firstSlotAt?: string;
  lastSlotAt?: string;
  /** Devices whose slot comes after their certificate expires (counted by expiry hour). */
  expiresBeforeSlot: number;
  /** Devices whose slot comes after `completeBy`. */
  slotAfterDeadline: number;
}

/** By default a tenth of the rate stays free of the rotation. */
export const DEFAULT_RESERVE_SHARE = 0.1;

export function planRotation(input: RotationPlanInput): RotationPlan {
  const schedule = new RotationSchedule(input);
  const slotted = totalOf(input.needSlot);
  const plan: RotationPlan = {
    ...input,
    needSlot: input.needSlot.map(([b, c]): [number, number] => [b, c]),
    ordinaryPerDay: [...input.ordinaryPerDay],
    slotted,
    spread: schedule.spread,
    peakPerMinute: schedule.peakPerMinute(slotted),
    expiresBeforeSlot: 0,
    slotAfterDeadline: 0,
  };
  if (slotted === 0) return plan;
  plan.firstSlotAt = schedule.slotAt(0);
  plan.lastSlotAt = schedule.slotAt(slotted - 1);
  // Slots only grow with rank: in each bucket, the devices from the first rank whose slot is at or
  // after the bucket's earliest expiry are late.
  const ranks = firstRanks(input.needSlot);
  input.needSlot.forEach(([bucket, count], i) => {
    const first = ranks[i]!;
    const late = schedule.firstRankAtOrAfter(bucketStart(bucket), first, first + count);
    plan.expiresBeforeSlot += first + count - late;
  });
  const afterDeadline = schedule.firstRankAfter(input.completeBy, 0, slotted);
  plan.slotAfterDeadline = slotted - afterDeadline;
  return plan;
}

/**
 * The smallest share of the free capacity that places every device before slots end and each
 * before its certificate expires (the earliest expiry of its bucket): the rotation's capacity
 * counted from the start must reach, by each bucket's expiry, every device up to that bucket.
 * One share for the whole window keeps the load even; a tight early bucket raises it for all.
 * At most 1: beyond that, the devices it cannot place in time are the plan's devices at risk.
 */
function spreadFor(
  needSlot: ExpiryHistogram,
  raw: readonly { start: number; end: number; free: number; inWindow: boolean }[],
  slotsEnd: number,
): number {
  const window = raw.filter((s) => s.inWindow);
  // Buckets come in order of expiry, so one walk through the segments serves them all.
  let next = 0;
  let freeOfWhole = 0;
  const freeBefore = (t: number) => {
    while (next < window.length && window[next]!.end <= t) freeOfWhole += window[next++]!.free;
    const s = window[next];
    return s && s.start < t
      ? freeOfWhole + (s.free * (t - s.start)) / (s.end - s.start)
      : freeOfWhole;
  };
  let spread = 0;
  let devices = 0;
  for (const [bucket, count] of needSlot) {
    devices += count;
    const by = Math.min(Date.parse(bucketStart(bucket)), slotsEnd);
    const free = freeBefore(by);
    if (free <= 0) return 1;
    spread = Math.max(spread, devices / free);
    if (spread >= 1) return 1;
  }
  return spread;
}

/** One stretch of time with its own free capacity for the rotation. */
interface Segment {
  start: number;
  end: number;
  /** Rotation renewals placed in it. */
  quota: number;
  /** Ranks placed before it. */
  before: number;
}

/**
 * Slots from a plan's inputs: `slotAt(rank)` for any rank, including ranks past the plan's
 * devices (devices found later are placed after the others, at full free capacity).
 */
export class RotationSchedule {
  readonly spread: number;
  private readonly segments: Segment[] = [];
  private readonly startMs: number;
  /** Free capacity per ms after the last segment (no ordinary demand known there). */
  private readonly tailRate: number;

  constructor(private readonly input: RotationPlanInput) {
    this.startMs = Date.parse(input.start);
    const slotsEnd = Date.parse(input.slotsEndAt);
    const completeBy = Date.parse(input.completeBy);
    const perMs = (input.renewalsPerMinute * (1 - input.reserveShare)) / MINUTE_MS;
    if (!(perMs > 0))
      throw new RangeError('a rotation needs a renewal rate above zero and a reserve below 1');
    this.tailRate = perMs;
    const dayZero = Math.floor(this.startMs / DAY_MS) * DAY_MS;
    // Boundaries: every UTC midnight, where slots end, and the deadline; and on through the
    // days the forecast covers, so slots after the window (if any) still leave ordinary room.
    const lastDay = dayZero + Math.max(input.ordinaryPerDay.length, 1) * DAY_MS;
    const cuts = new Set<number>([this.startMs, slotsEnd, completeBy, lastDay]);
    for (let t = dayZero + DAY_MS; t < lastDay; t += DAY_MS) cuts.add(t);
    const bounds = [...cuts].filter((t) => t >= this.startMs).sort((a, b) => a - b);
    const raw: { start: number; end: number; free: number; inWindow: boolean }[] = [];
    for (let i = 0; i + 1 < bounds.length; i += 1) {
      const start = bounds[i]!;
      const end = bounds[i + 1]!;
      const day = Math.floor((start - dayZero) / DAY_MS);
      const ordinary = (input.ordinaryPerDay[day] ?? 0) * ((end - start) / DAY_MS);
      const free = Math.max(0, perMs * (end - start) - ordinary);
      raw.push({ start, end, free, inWindow: end <= slotsEnd });
    }
    this.spread = spreadFor(input.needSlot, raw, slotsEnd);
    let before = 0;
    for (const s of raw) {
      const quota = s.inWindow ? s.free * this.spread : s.free;
      if (quota <= 0) continue;
      this.segments.push({ start: s.start, end: s.end, quota, before });
      before += quota;
    }
  }

  /** The slot of the rank-th device (from 0), ISO 8601. */
  slotAt(rank: number): string {
    return new Date(this.slotMs(rank)).toISOString();
  }

  /** The most slots that fall in one minute when `count` devices are placed. */
  peakPerMinute(count: number): number {
    if (count === 0) return 0;
    let peak = 0;
    for (const s of this.segments) {
      // A rank's place is its middle (rank + ½): a segment starting within rounding of the
      // count holds no device.
      if (s.before > count - 0.5) break;
      // Evenly spaced: a minute holds at most the segment's rate, rounded up.
      peak = Math.max(peak, Math.ceil((s.quota / (s.end - s.start)) * MINUTE_MS));
    }
    if (this.placedInSegments() < count - 0.5)
      peak = Math.max(peak, Math.ceil(this.tailRate * MINUTE_MS));
    return peak;
  }

  /** The first rank in [from, to) whose slot is at or after `at`; `to` when there is none. */
  firstRankAtOrAfter(at: string, from: number, to: number): number {
    const t = Date.parse(at);
    return this.search(from, to, (rank) => this.slotMs(rank) >= t);
  }

  /** The first rank in [from, to) whose slot is after `at`; `to` when there is none. */
  firstRankAfter(at: string, from: number, to: number): number {
    const t = Date.parse(at);
    return this.search(from, to, (rank) => this.slotMs(rank) > t);
  }

  private slotMs(rank: number): number {
    const position = rank + 0.5;
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = segments[mid]!;
      if (s.before + s.quota <= position) lo = mid + 1;
      else hi = mid;
    }
    const s = segments[lo];
    if (s) {
      return Math.floor(s.start + ((position - s.before) / s.quota) * (s.end - s.start));
    }
    // Past every segment: on at the free rate, from the end of the last one (or from the start).
    const last = segments[segments.length - 1];
    const from = last ? last.end : this.startMs;
    const placed = this.placedInSegments();
    return Math.floor(from + (position - placed) / this.tailRate);
  }

  private placedInSegments(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.before + last.quota : 0;
  }

  private search(from: number, to: number, holds: (rank: number) => boolean): number {
    let lo = from;
    let hi = to;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (holds(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
