import { DAY_MS, MINUTE_MS } from '../../domain/Clock';
import { PlanCandidate } from '../../domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { RenewalTiming } from '../../domain/renewal/RenewalTiming';
import { forecastDemand } from '../../domain/renewal/forecast';
import {
  ExpiryHistogram,
  addDevice,
  bucketIndex,
  expiryBucket,
  firstRanks,
} from '../../domain/rotation/ExpiryHistogram';
import { declaredRotation } from '../../domain/rotation/Rotation';
import {
  DEFAULT_RESERVE_SHARE,
  RotationPlan,
  RotationSchedule,
  planRotation,
} from '../../domain/rotation/rotationPlan';

/**
 * The fleet as a planned rotation's passes over the ledger find it when it is declared: one
 * device at a time, in the ledger's order (here, increasing device number). Times are whole
 * minutes from the start of the simulation.
 */
export interface FleetAtDeclaration {
  devices: number;
  /** Minute 0 in milliseconds since the epoch (UTC). */
  startMs: number;
  /** Its certificate is from the rotated issuer (and has not expired). */
  holdsRotatedCertificate(device: number): boolean;
  /** Its renewal status, as its record holds it; undefined for a device with no renewal entry. */
  status(device: number): RenewalStatus | undefined;
  /**
   * Its renewal-index entry: when its own renewal falls due (`healthy`: renewalDueAt), or when
   * its campaign's next attempt may be made.
   */
  actionAt(device: number): number;
  validUntil(device: number): number;
}

export interface RotationToPlan {
  /** When it is declared (and planned: the count pass is taken as instant). */
  declaredAt: number;
  completeBy: number;
  renewalsPerMinute: number;
  timing: RenewalTiming;
  reserveShare?: number;
}

/** The service's plan for the fleet, and the slot it gives each device. */
export interface RotationSlots {
  plan: RotationPlan;
  slotsEndAt: number;
  /** Each device's slot, the minute the sweep first finds it due; -1: no slot. */
  slotAt: Int32Array;
}

/**
 * A planned rotation laid out exactly as the service lays it out (shared/app/rotation/
 * PlanRotation.ts), with the domain's own functions: the window as `declaredRotation` sets it,
 * the count (`needsSlot`'s rule, the expiry histogram), the ordinary demand the renewal index
 * forecasts for each day (`forecastDemand`), the plan (`planRotation`), and each device's rank in
 * its expiry bucket, in ledger order, turned into a slot by `RotationSchedule`. Nothing here
 * decides a slot: it only feeds the domain planner a fleet of typed arrays.
 */
export function planRotationSlots(
  fleet: FleetAtDeclaration,
  rotation: RotationToPlan,
): RotationSlots {
  const { startMs } = fleet;
  const iso = (minute: number) => new Date(startMs + minute * MINUTE_MS).toISOString();
  const now = iso(rotation.declaredAt);
  const completeBy = iso(rotation.completeBy);
  const declared = declaredRotation(
    {
      issuer: 'CN=Simulated Issuing CA, O=certfleet planner simulation',
      completeBy,
      who: 'planner simulation',
      why: 'the issuing CA is rotated',
    },
    now,
    rotation.timing,
  );
  const slotsEndMs = Date.parse(declared.slotsEndAt);

  // The count pass: who needs a slot (placeInRotation's needsSlot: healthy, and its own renewal
  // due when slots have ended), by its certificate's expiry bucket.
  const needSlot: ExpiryHistogram = [];
  const bucketOf = new Int32Array(fleet.devices).fill(-1);
  const buckets = new Map<number, number>();
  for (let device = 0; device < fleet.devices; device += 1) {
    if (!fleet.holdsRotatedCertificate(device) || fleet.status(device) !== 'healthy') continue;
    if (startMs + fleet.actionAt(device) * MINUTE_MS < slotsEndMs) continue;
    const validUntil = fleet.validUntil(device);
    let bucket = buckets.get(validUntil);
    if (bucket === undefined) {
      bucket = expiryBucket(iso(validUntil), declared.declaredAt);
      buckets.set(validUntil, bucket);
    }
    bucketOf[device] = bucket;
    addDevice(needSlot, bucket);
  }

  const plan = planRotation({
    start: now,
    slotsEndAt: declared.slotsEndAt,
    completeBy,
    renewalsPerMinute: rotation.renewalsPerMinute,
    reserveShare: rotation.reserveShare ?? DEFAULT_RESERVE_SHARE,
    ordinaryPerDay: ordinaryDemand(fleet, now, completeBy, rotation.renewalsPerMinute, iso),
    needSlot,
  });

  // The assign pass: in ledger order, each device takes its bucket's next rank.
  const schedule = new RotationSchedule(plan);
  const firsts = firstRanks(plan.needSlot);
  const taken = plan.needSlot.map(() => 0);
  const slotAt = new Int32Array(fleet.devices).fill(-1);
  for (let device = 0; device < fleet.devices; device += 1) {
    const bucket = bucketOf[device]!;
    if (bucket < 0) continue;
    const i = bucketIndex(plan.needSlot, bucket);
    const rank = firsts[i]! + taken[i]!;
    taken[i] = taken[i]! + 1;
    // The sweep finds the device in the minute its slot falls in, as due times are floored.
    slotAt[device] = Math.floor((Date.parse(schedule.slotAt(rank)) - startMs) / MINUTE_MS);
  }
  return {
    plan,
    slotsEndAt: Math.floor((slotsEndMs - startMs) / MINUTE_MS),
    slotAt,
  };
}

/**
 * The service's `ordinaryDemand`: the renewal index's entries due before the deadline, counted
 * by `forecastDemand` per UTC day from the day of `now`, in chunks as the service reads them.
 */
function ordinaryDemand(
  fleet: FleetAtDeclaration,
  now: string,
  completeBy: string,
  renewalsPerMinute: number,
  iso: (minute: number) => string,
): number[] {
  const dayZero = Date.parse(`${now.slice(0, 10)}T00:00:00.000Z`);
  const days = Math.ceil((Date.parse(completeBy) - dayZero) / DAY_MS) + 1;
  const due = new Array<number>(days).fill(0);
  const before = Date.parse(completeBy);
  let chunk: PlanCandidate[] = [];
  const add = () => {
    forecastDemand(chunk, now, days, renewalsPerMinute).forEach((row, i) => (due[i]! += row.due));
    chunk = [];
  };
  for (let device = 0; device < fleet.devices; device += 1) {
    const status = fleet.status(device);
    const actionAt = fleet.actionAt(device);
    if (status === undefined || fleet.startMs + actionAt * MINUTE_MS >= before) continue;
    chunk.push({
      hub: 'simulated-hub',
      deviceId: String(device),
      actionAt: iso(actionAt),
      validUntil: iso(fleet.validUntil(device)),
      status,
    });
    if (chunk.length >= 10_000) add();
  }
  add();
  return due;
}
