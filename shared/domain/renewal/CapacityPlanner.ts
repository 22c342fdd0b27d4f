import { createHash } from 'node:crypto';
import { MINUTE_MS } from '../Clock';
import { DeviceKey } from '../DeviceKey';
import { RenewalStatus } from './RenewalState';

export interface PlanCandidate extends DeviceKey {
  /** When the renewal is due (or the retry may be made). */
  actionAt: string;
  validUntil: string;
  status: RenewalStatus;
}

export interface PlanInput {
  now: string;
  candidates: readonly PlanCandidate[];
  renewalsPerMinute: number;
  /** Renewal requests already made in the current minute. */
  usedThisMinute: number;
}

export interface PlannedStart extends DeviceKey {
  /** When to make the call: within the current minute, spread by a stable jitter. */
  startAt: string;
  validUntil: string;
  /** `due`: at or after its due time; `capacity`: started early to stay under the rate. */
  reason: 'due' | 'capacity';
}

export interface CapacityPlan {
  /** To ask in the current minute, earliest expiry first; never more than the rate allows. */
  now: PlannedStart[];
  /** Pending renewals left for later minutes. */
  later: number;
  /** Could not be placed by their due time: demand is over capacity right now. */
  late: number;
  /** Will not be reached before their certificate expires at this rate. */
  atRisk: number;
}

/** Statuses that need a direct-method request (and so capacity). */
export const NEEDS_REQUEST: readonly RenewalStatus[] = [
  'healthy',
  'due',
  'retrying',
  'unreachable',
];

/**
 * Capacity pacing: which devices to ask to renew now, so that no minute exceeds the renewal
 * rate (Azure's certificate management issues 500 renewals a minute, DPS registers 1,000
 * devices a minute; AZURE-FACTS.md) and every certificate that capacity can save is saved.
 *
 * The plan places every pending renewal in a one-minute slot, as late as possible but never
 * later than it is due (ALAP): a cohort provisioned in the same hour is started as much earlier
 * as the rate requires, and no earlier. What cannot be placed by its due time is late; then
 * everything competing for the current slots is taken earliest expiry first (EDF), which saves
 * the most certificates a fixed rate can save. Within a minute, starts are spread by a jitter
 * derived from the device id, so the same fleet gives the same plan. The sweep runs every
 * minute and takes only the current minute's slots, so no calendar minute exceeds the rate.
 */
export function planRenewals(input: PlanInput): CapacityPlan {
  const now = Date.parse(input.now);
  const rate = Math.max(0, Math.floor(input.renewalsPerMinute));
  const thisMinute = Math.floor(now / MINUTE_MS);
  const capacityOf = (minute: number) =>
    minute === thisMinute ? Math.max(0, rate - input.usedThisMinute) : rate;
  const requests = input.candidates.filter(
    (c) => NEEDS_REQUEST.includes(c.status) && Date.parse(c.validUntil) > now,
  );

  // A retry (any campaign already running) may not start before its time: its backoff holds.
  // Those still to come take their own minute, or the next with room, before anything else.
  const used = new Map<number, number>();
  const notBefore = requests.filter((c) => c.status !== 'healthy' && Date.parse(c.actionAt) > now);
  for (const c of [...notBefore].sort((a, b) => cmp(a.actionAt, b.actionAt))) {
    let minute = Math.floor(Date.parse(c.actionAt) / MINUTE_MS);
    while ((used.get(minute) ?? 0) >= capacityOf(minute)) minute += 1;
    used.set(minute, (used.get(minute) ?? 0) + 1);
  }

  // ALAP for the rest: latest due first, each in the latest minute at or before its due time
  // with room. Only a renewal not yet begun (`healthy`) can be started early.
  const inThisMinute: PlanCandidate[] = [];
  const late: PlanCandidate[] = [];
  const flexible = requests.filter((c) => !notBefore.includes(c));
  const byDueDesc = [...flexible].sort(
    (a, b) => cmp(b.actionAt, a.actionAt) || cmp(b.validUntil, a.validUntil),
  );
  for (const c of byDueDesc) {
    let minute = Math.max(thisMinute, Math.floor(Date.parse(c.actionAt) / MINUTE_MS));
    while (minute >= thisMinute && (used.get(minute) ?? 0) >= capacityOf(minute)) minute -= 1;
    if (minute < thisMinute) late.push(c);
    else {
      used.set(minute, (used.get(minute) ?? 0) + 1);
      if (minute === thisMinute) inThisMinute.push(c);
    }
  }

  // This minute's slots go to what was placed in it and to every late one, earliest expiry first.
  const { chosen, atRisk } = chooseThisMinute(
    [...inThisMinute, ...late],
    now,
    capacityOf(thisMinute),
    rate,
  );
  return { now: chosen, later: requests.length - chosen.length, late: late.length, atRisk };
}

/**
 * The renewals waiting for a request that are not due in the current minute, counted by the
 * minute they fall due (whole minutes since the epoch). Counts are all the plan needs of them:
 * which ones start early is decided by due time alone (`earliest` in DemandPlanInput).
 */
export interface RenewalDemand {
  /** Running campaigns' next attempts still to come, by the minute each may be made. */
  retries: ReadonlyMap<number, number>;
  /** Renewals not begun (`healthy`) due after the current minute, by the minute each falls due. */
  fresh: ReadonlyMap<number, number>;
}

export interface DemandInput {
  now: string;
  renewalsPerMinute: number;
  /** Renewal requests already made in the current minute. */
  usedThisMinute: number;
  demand: RenewalDemand;
}

export interface DemandPlanInput extends DemandInput {
  /**
   * Every renewal that competes for the current minute by itself: running campaigns whose next
   * attempt has come, and renewals not begun due by the end of the current minute.
   */
  due: readonly PlanCandidate[];
  /**
   * Renewals not begun due after the current minute, earliest due first (then earliest expiry):
   * at least the first `renewalsToStartEarly` of them, or all there are.
   */
  earliest: readonly PlanCandidate[];
}

/**
 * How many renewals not yet due the plan starts in the current minute: planRenewals' rule
 * (retries reserve their minute or the next with room, then the rest as late as possible),
 * worked on counts by minute instead of on each renewal, so its cost grows with the minutes of
 * the horizon, not with the renewals waiting in it. What ALAP cannot place after the current
 * minute are always those due first (a suffix of its latest-first pass), so the count and the
 * order of due times say who they are.
 */
export function renewalsToStartEarly(input: DemandInput): number {
  return placeDemand(input).startEarly;
}

/**
 * planRenewals' plan (the same rule: ALAP, then EDF), worked from counts: the renewals that
 * compete for the current minute are those due now (`due`, each one) and the first
 * `renewalsToStartEarly` of those due later (`earliest`); what the other minutes hold is known
 * by its counts. Given the same renewals it asks the same devices, with the same late and
 * at-risk counts, as planRenewals does (renewals due at the same instant with the same expiry
 * may be started in another order).
 */
export function planFromDemand(input: DemandPlanInput): CapacityPlan {
  const now = Date.parse(input.now);
  const rate = Math.max(0, Math.floor(input.renewalsPerMinute));
  const waiting = (c: PlanCandidate) =>
    NEEDS_REQUEST.includes(c.status) && Date.parse(c.validUntil) > now;
  const placed = placeDemand(input);
  const due = input.due.filter(waiting);
  const competing = [...due, ...input.earliest.filter(waiting).slice(0, placed.startEarly)];
  const capacity = Math.max(0, rate - input.usedThisMinute);
  const { chosen, atRisk } = chooseThisMinute(competing, now, capacity, rate);
  const counted = sum(input.demand.fresh) + sum(input.demand.retries);
  return {
    now: chosen,
    later: due.length + counted - chosen.length,
    late: Math.max(0, competing.length - placed.roomThisMinute),
    atRisk,
  };
}

/**
 * Places the counted demand: retries forward from their minute (each minute up to its
 * capacity), then renewals not begun backward from the last minute (ALAP); what does not fit
 * after the current minute is started early.
 */
function placeDemand(input: DemandInput): { startEarly: number; roomThisMinute: number } {
  const now = Date.parse(input.now);
  const rate = Math.max(0, Math.floor(input.renewalsPerMinute));
  const thisMinute = Math.floor(now / MINUTE_MS);
  const capacityOf = (minute: number) =>
    minute === thisMinute ? Math.max(0, rate - input.usedThisMinute) : rate;
  const reserved = new Map<number, number>();
  const retryMinutes = [...input.demand.retries.entries()]
    .filter(([, n]) => n > 0)
    .map(([m, n]) => [Math.max(m, thisMinute), n] as const)
    .sort(([a], [b]) => a - b);
  // At a rate of zero nothing can be placed (planRenewals would walk forever): nothing is reserved.
  if (rate > 0) {
    let overflow = 0;
    let minute = retryMinutes[0]?.[0] ?? thisMinute;
    let next = 0;
    while (next < retryMinutes.length || overflow > 0) {
      if (overflow === 0) minute = Math.max(minute, retryMinutes[next]![0]);
      let wanting = overflow;
      while (next < retryMinutes.length && retryMinutes[next]![0] === minute) {
        wanting += retryMinutes[next]![1];
        next += 1;
      }
      const take = Math.min(wanting, capacityOf(minute));
      if (take > 0) reserved.set(minute, take);
      overflow = wanting - take;
      minute += 1;
    }
  }
  const roomOf = (minute: number) => Math.max(0, capacityOf(minute) - (reserved.get(minute) ?? 0));
  let last = thisMinute;
  for (const [minute, n] of input.demand.fresh) if (n > 0 && minute > last) last = minute;
  let carry = 0;
  for (let minute = last; minute > thisMinute; minute -= 1) {
    carry = Math.max(0, (input.demand.fresh.get(minute) ?? 0) + carry - roomOf(minute));
  }
  return { startEarly: carry, roomThisMinute: roomOf(thisMinute) };
}

/**
 * The current minute's share of a plan: the `capacity` earliest expiries of what competes for
 * it (EDF, which saves the most certificates a fixed rate can save), each started at a stable
 * jitter within the minute; and how many of those competing are at risk: what is left of this
 * minute's budget, then the rate each minute, reaches them only after their certificate expired.
 * Renewals placed in later minutes are left out, so that is a lower bound.
 */
function chooseThisMinute(
  competing: readonly PlanCandidate[],
  now: number,
  capacity: number,
  rate: number,
): { chosen: PlannedStart[]; atRisk: number } {
  const thisMinute = Math.floor(now / MINUTE_MS);
  const sorted = [...competing].sort(
    (a, b) => cmp(a.validUntil, b.validUntil) || cmp(a.actionAt, b.actionAt),
  );
  const chosen = sorted.slice(0, capacity).map((c) => {
    const start = Math.max(now, jitteredStart(c, thisMinute, Date.parse(c.validUntil)));
    const planned: PlannedStart = {
      hub: c.hub,
      deviceId: c.deviceId,
      startAt: new Date(start).toISOString(),
      validUntil: c.validUntil,
      reason: Date.parse(c.actionAt) <= start ? 'due' : 'capacity',
    };
    return planned;
  });
  let atRisk = 0;
  sorted.forEach((c, i) => {
    const reachedAt =
      i < capacity
        ? now
        : (thisMinute + 1 + Math.floor((i - capacity) / Math.max(1, rate))) * MINUTE_MS;
    if (rate === 0 || reachedAt >= Date.parse(c.validUntil)) atRisk += 1;
  });
  return { chosen, atRisk };
}

function sum(counts: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

/**
 * A device's start inside a minute: a stable jitter from its id spreads the minute's calls, over
 * the part of the minute before its certificate expires (a call after expiry cannot save it).
 */
function jitteredStart(c: DeviceKey, minute: number, validUntil: number): number {
  const from = minute * MINUTE_MS;
  const span = Math.max(1, Math.min(MINUTE_MS, validUntil - from));
  const digest = createHash('sha256').update(`${c.hub}\n${c.deviceId}`).digest();
  return from + Math.floor((digest.readUInt32BE(0) / 2 ** 32) * span);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
