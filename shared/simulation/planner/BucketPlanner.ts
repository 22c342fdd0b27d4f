import { DeviceHeap } from './DeviceHeap';
import { FleetPlanner, PlannerSetup } from './FleetPlanner';
import { MinuteBuckets } from './MinuteBuckets';

/** Where the planner holds a device. */
const NOWHERE = 0;
/** A renewal not begun, filed by due minute: may be started early. */
const FRESH = 1;
/** A campaign's next attempt, filed by the minute it may be made. */
const WAITING = 2;
/** Its time has come: in the heap, earliest expiry first. */
const OVERDUE = 3;

/**
 * CapacityPlanner's plan (shared/domain/renewal/CapacityPlanner.ts), computed for a million
 * devices. The real planner sorts every renewal pending within its horizon, every minute; under
 * the same rules the part that decides the current minute can be counted instead:
 *
 * 1. Retries still to come reserve their minute, or the next with room (a forward pass over the
 *    horizon's per-minute counts).
 * 2. Fresh renewals are placed as late as possible (ALAP) in the room left: walking the horizon
 *    backwards, what a minute cannot hold carries over to the minute before. What carries into
 *    the current minute are the first `carry` fresh renewals by due time: ALAP starts early
 *    exactly as many renewals as the rate requires, the earliest due.
 * 3. The current minute's slots go to the overdue renewals (their time has come; kept in a heap)
 *    and the `carry` pulled forward, earliest expiry first (EDF).
 *
 * Ties are broken as the real planner breaks them when given the devices in increasing order:
 * ALAP pulls forward, among equal due times and expiries, the highest devices first (it meets
 * them last); EDF takes, among equal expiries and due times, the lowest first. The cross-check
 * test (test/simulation/plannerSimulation.test.ts) holds the two planners to the same requests.
 */
export class BucketPlanner implements FleetPlanner {
  private readonly place: Uint8Array;
  private readonly actionAt: Int32Array;
  private readonly validUntil: Int32Array;
  private readonly fresh: MinuteBuckets;
  private readonly waiting: MinuteBuckets;
  private readonly overdueHeap: DeviceHeap;
  /** Room left in each minute of the horizon once retries are reserved (index: minutes ahead). */
  private readonly room: Int32Array;
  /** Which pulled-forward run a device offered to the heap came from (scratch). */
  private readonly runOf: Int32Array;
  /** Every minute up to this one has moved its renewals to the overdue heap. */
  private promotedThrough = -1;

  constructor(private readonly setup: PlannerSetup) {
    const { devices, minutes, horizonMinutes } = setup;
    this.place = new Uint8Array(devices);
    this.actionAt = new Int32Array(devices);
    this.validUntil = new Int32Array(devices);
    this.fresh = new MinuteBuckets(minutes);
    this.waiting = new MinuteBuckets(minutes);
    this.overdueHeap = new DeviceHeap(devices, (a, b) => this.earlierExpiry(a, b));
    this.room = new Int32Array(horizonMinutes + 1);
    this.runOf = new Int32Array(devices);
  }

  get overdue(): number {
    return this.overdueHeap.size;
  }

  add(device: number, actionAt: number, validUntil: number, fresh: boolean): void {
    this.remove(device);
    this.actionAt[device] = actionAt;
    this.validUntil[device] = validUntil;
    if (actionAt <= this.promotedThrough) this.toOverdue(device);
    else if (actionAt < this.setup.minutes) {
      (fresh ? this.fresh : this.waiting).add(actionAt, device);
      this.place[device] = fresh ? FRESH : WAITING;
    }
    // Later than the simulated time: never asked.
  }

  remove(device: number): void {
    switch (this.place[device]) {
      case OVERDUE:
        this.overdueHeap.remove(device);
        break;
      case FRESH:
        this.fresh.remove(this.actionAt[device]!, device);
        break;
      case WAITING:
        this.waiting.remove(this.actionAt[device]!, device);
        break;
    }
    this.place[device] = NOWHERE;
  }

  takeMinute(minute: number, capacity: number): readonly number[] {
    this.promoteThrough(minute);
    const carry = this.carryInto(minute);
    const wanted = Math.max(0, Math.min(capacity, this.overdueHeap.size + carry));
    if (carry === 0) return this.takeOverdue(wanted);
    return this.takeEarliestExpiries(this.pulledForward(minute, carry), wanted);
  }

  /** Renewals whose time has come join the overdue heap. */
  private promoteThrough(minute: number): void {
    const last = Math.min(minute, this.setup.minutes - 1);
    for (let m = this.promotedThrough + 1; m <= last; m += 1) {
      for (const device of this.fresh.take(m)) this.toOverdue(device);
      for (const device of this.waiting.take(m)) this.toOverdue(device);
    }
    this.promotedThrough = Math.max(this.promotedThrough, minute);
  }

  /** How many fresh renewals due after `minute` ALAP cannot place in the horizon's minutes. */
  private carryInto(minute: number): number {
    const { renewalsPerMinute: rate, horizonMinutes, minutes } = this.setup;
    // The real planner reads the renewal index before now + horizon (actionsDueBefore).
    const last = Math.min(minute + horizonMinutes - 1, minutes - 1);
    // The hottest loops of the simulation (twice the horizon, every minute): plain comparisons
    // rather than Math.min/max, which cost a global lookup each under Jest's sandbox.
    let overflow = 0;
    for (let m = minute + 1; m <= last; m += 1) {
      const wanting = this.waiting.count(m) + overflow;
      const reserved = wanting < rate ? wanting : rate;
      overflow = wanting - reserved;
      this.room[m - minute] = rate - reserved;
    }
    let carry = 0;
    for (let m = last; m > minute; m -= 1) {
      const over = this.fresh.count(m) + carry - this.room[m - minute]!;
      carry = over > 0 ? over : 0;
    }
    return carry;
  }

  /**
   * The `carry` fresh renewals ALAP pulls into this minute, as runs in EDF order: every renewal
   * of the next due minutes, and of the last one those with the earliest expiries.
   */
  private pulledForward(minute: number, carry: number): (readonly number[])[] {
    const runs: (readonly number[])[] = [];
    let left = carry;
    for (let m = minute + 1; left > 0; m += 1) {
      const count = this.fresh.count(m);
      if (count === 0) continue;
      const inOrder = this.fresh.inOrder(m, this.bucketOrder);
      runs.push(count <= left ? inOrder : this.firstPulled(inOrder, left));
      left -= Math.min(count, left);
    }
    return runs;
  }

  /**
   * Part of one due minute: ALAP meets its renewals latest expiry first and, among equal
   * expiries, lowest device first (a stable sort of devices given in increasing order), and
   * pulls forward the last it meets. `inOrder` is in EDF order; the result is too.
   */
  private firstPulled(inOrder: readonly number[], count: number): number[] {
    const boundary = this.validUntil[inOrder[count - 1]!]!;
    let from = count - 1;
    while (from > 0 && this.validUntil[inOrder[from - 1]!] === boundary) from -= 1;
    let to = count;
    while (to < inOrder.length && this.validUntil[inOrder[to]!] === boundary) to += 1;
    // [from, to) share the boundary expiry: the highest `count - from` of them are pulled.
    return [...inOrder.slice(0, from), ...inOrder.slice(to - (count - from), to)];
  }

  private takeOverdue(wanted: number): number[] {
    const chosen: number[] = [];
    while (chosen.length < wanted) {
      const device = this.overdueHeap.pop();
      if (device < 0) break;
      this.place[device] = NOWHERE;
      chosen.push(device);
    }
    return chosen;
  }

  /**
   * EDF over the overdue heap and the pulled-forward runs (a k-way merge through the same heap:
   * each run offers its next renewal once the one before is taken).
   */
  private takeEarliestExpiries(runs: readonly (readonly number[])[], wanted: number): number[] {
    const offered = new Int32Array(runs.length);
    const offer = (run: number) => {
      const list = runs[run]!;
      const at = offered[run]!;
      if (at >= list.length) return;
      const device = list[at]!;
      offered[run] = at + 1;
      this.runOf[device] = run;
      this.overdueHeap.push(device);
    };
    runs.forEach((_, run) => offer(run));

    const chosen: number[] = [];
    const startedEarly: number[] = [];
    while (chosen.length < wanted) {
      const device = this.overdueHeap.pop();
      if (device < 0) break;
      chosen.push(device);
      if (this.place[device] === FRESH) {
        startedEarly.push(device);
        offer(this.runOf[device]!);
      } else this.place[device] = NOWHERE;
    }
    // What was offered and not taken waits in its due minute as before.
    runs.forEach((list, run) => {
      const last = list[offered[run]! - 1];
      if (last !== undefined && this.overdueHeap.has(last)) this.overdueHeap.remove(last);
    });
    for (const device of startedEarly) this.remove(device);
    return chosen;
  }

  private toOverdue(device: number): void {
    this.overdueHeap.push(device);
    this.place[device] = OVERDUE;
  }

  /** EDF: earliest expiry, then earliest action time, then lowest device. */
  private earlierExpiry(a: number, b: number): boolean {
    const va = this.validUntil[a]!;
    const vb = this.validUntil[b]!;
    if (va !== vb) return va < vb;
    const aa = this.actionAt[a]!;
    const ab = this.actionAt[b]!;
    if (aa !== ab) return aa < ab;
    return a < b;
  }

  /** EDF within one due minute (same action time). */
  private readonly bucketOrder = (a: number, b: number): number =>
    this.validUntil[a]! - this.validUntil[b]! || a - b;
}
