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
  const competing = [...inThisMinute, ...late].sort(
    (a, b) => cmp(a.validUntil, b.validUntil) || cmp(a.actionAt, b.actionAt),
  );
  const chosen = competing.slice(0, capacityOf(thisMinute)).map((c) => {
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

  // At risk: what competes for the slots from now on (what is left of this minute's budget, then
  // the rate each minute), earliest expiry first, reached only after its certificate expired.
  // Renewals placed in later minutes are left out, so this is a lower bound.
  const firstMinute = capacityOf(thisMinute);
  let atRisk = 0;
  competing.forEach((c, i) => {
    const reachedAt =
      i < firstMinute
        ? now
        : (thisMinute + 1 + Math.floor((i - firstMinute) / Math.max(1, rate))) * MINUTE_MS;
    if (rate === 0 || reachedAt >= Date.parse(c.validUntil)) atRisk += 1;
  });

  return { now: chosen, later: requests.length - chosen.length, late: late.length, atRisk };
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
