import { DAY_MS, HOUR_MS, MINUTE_MS } from '../domain/Clock';
import { RenewalPolicy } from '../domain/RenewalPolicy';
import { RenewalStatus } from '../domain/renewal/RenewalState';
import { Backoff, backoffMs } from '../domain/renewal/RenewalTiming';
import { CohortSpec, FleetSimulationConfig, checkSimulationConfig } from './FleetSimulationConfig';
import {
  ExpiryCause,
  FleetSimulationResult,
  RenewalPath,
  RotationResult,
} from './FleetSimulationResult';
import { SimulationOptions, SimulationTrace } from './SimulationOptions';
import { BucketPlanner } from './planner/BucketPlanner';
import { FleetPlanner, PlannerSetup } from './planner/FleetPlanner';
import { MinuteEventQueue } from './planner/MinuteEventQueue';
import { RotationSlots, planRotationSlots } from './planner/RotationSlots';
import { CounterRandom, unitDraw } from './planner/counterRandom';

// The simulation's configuration, options and results, importable from here as the bench
// (dist/shared/simulation/plannerSimulation) and the tests import them.
export { DEFAULT_SIMULATION } from './FleetSimulationConfig';
export type {
  BehaviourMix,
  CohortSpec,
  FleetSimulationConfig,
  RenewalPolicy,
} from './FleetSimulationConfig';
export type {
  ExpiryCause,
  FleetSimulationResult,
  RenewalPath,
  RotationResult,
} from './FleetSimulationResult';
export type { SimulationOptions, SimulationTrace } from './SimulationOptions';

/**
 * Planner-only fleet simulation: a million devices over 90 days in about a
 * minute, to compare renewal policies under Azure's quotas (bench/planner-simulation.js). No
 * storage, no certificates, no I/O: a device is a row of typed arrays, time is whole minutes
 * from `start`, and the renewal engine is its state machine (renewalTransitions.ts) and its
 * capacity planner (CapacityPlanner.ts; here BucketPlanner, the same plan from counts per
 * minute). Each minute runs that minute's events (certificates arriving and expiring, devices
 * renewing themselves, connecting, deadlines passing), then the sweep: the planner picks at most
 * the rate of devices, and each answers at once as its behaviour says. certfleet knows which
 * devices are offline from IoT Hub's connection-state events, delivered within the minute: it
 * calls none of them but asks each when it connects, except for a blind try shortly before
 * expiry (`timing.offlineBlindTryMs`), as the service does (renewal/awaitConnection.ts).
 * A planned CA rotation is declared at its announcement and laid out by the service's own
 * planner (planner/RotationSlots.ts: shared/domain/rotation/rotationPlan.ts): each device's due
 * time moves to its slot, as the record's `rotation.slotAt` moves its renewal-index entry, and
 * the planner asks it when it comes, under the same rate as the ordinary renewals.
 *
 * Runs the fleet through `config.days`, minute by minute. Deterministic for a seed. What it
 * simplifies, against the service: docs/renewal.md, "What the planner simulation leaves out".
 */
export function simulateFleet(
  config: FleetSimulationConfig,
  options: SimulationOptions = {},
): FleetSimulationResult {
  checkSimulationConfig(config);
  return new PlannerSimulation(config, options).run();
}

/** The minute renewal falls due: renewalDueAt (RenewalPolicy.ts) on whole minutes. */
export function dueMinute(validFrom: number, validUntil: number, policy: RenewalPolicy): number {
  const lifetimeMs = Math.max(0, validUntil - validFrom) * MINUTE_MS;
  if (policy.kind === 'fraction')
    return validFrom + Math.floor(Math.floor(lifetimeMs * policy.fraction) / MINUTE_MS);
  return validUntil - Math.ceil(Math.min(policy.renewBeforeMs, lifetimeMs) / MINUTE_MS);
}

/** Microsoft's device guidance: a device renews its own certificate at 80% of the lifetime. */
const SELF_RENEWAL_FRACTION = 0.8;
const MINUTES_PER_DAY = DAY_MS / MINUTE_MS;

// Renewal status (RenewalState.ts), as numbers.
const HEALTHY = 0;
const REQUESTED = 1;
const RETRYING = 2;
const UNREACHABLE = 3;
const FAILED = 4;
const EXPIRED = 5;

/** The sim's statuses as the renewal index names them (RenewalState.ts). */
const RENEWAL_STATUS: readonly (RenewalStatus | undefined)[] = [
  'healthy',
  'requested',
  'retrying',
  'unreachable',
  'failed',
  'expired',
];

// Device traits (bits).
const SELF_RENEWING = 1;
const PART_TIME = 2;
const UNRELIABLE = 4;

// Marks on the current certificate (bits).
const FAILS_THIS_ATTEMPT = 1;
const WAITED_WITH_ROOM = 2;
/** Its due time is a planned rotation's slot. */
const AT_ROTATION_SLOT = 4;

// Events.
const EXPIRES = 1;
const RENEWS_ITSELF = 2;
const CERTIFICATE_ARRIVES = 3;
const DEADLINE_PASSES = 4;
const CONNECTS = 5;
const REPROVISIONED = 6;

const PATHS: readonly RenewalPath[] = ['self', 'certfleet', 'manual'];

const noExpiries = (): Record<ExpiryCause, number> => ({
  offline: 0,
  refusedOrFailed: 0,
  overCapacity: 0,
  policyTooLate: 0,
  whileCapacityExisted: 0,
});

class PlannerSimulation {
  private readonly minutes: number;
  private readonly horizonMinutes: number;
  private readonly rate: number;
  private readonly planner: FleetPlanner;
  private readonly events: MinuteEventQueue;
  private readonly trace: SimulationTrace;
  private readonly minuteOfDayAtStart: number;
  private readonly onlineMinutes: number;
  /** The old CA is revoked (-1: no rotation). */
  private readonly rotationAt: number;
  /** A planned rotation is announced and planned (-1: none, or not planned). */
  private readonly announceAt: number;
  /** DPS issues from the new CA from this minute on: a certificate issued before is the old CA's. */
  private readonly switchAt: number;
  /** The old CA's certificates stop being trusted (-1: at their own expiry). */
  private readonly cutOff: number;
  /** A device known offline is called no earlier than this many minutes before expiry. */
  private readonly blindTryMinutes: number;

  // One row per device.
  private readonly lifetime: Int32Array;
  private readonly validFrom: Int32Array;
  private readonly validUntil: Int32Array;
  private readonly due: Int32Array;
  private readonly nextAttemptAt: Int32Array;
  /** The last request: when it was made, and from when it could have been. */
  private readonly askedAt: Int32Array;
  private readonly askedFor: Int32Array;
  private readonly certEpoch: Int32Array;
  private readonly stepEpoch: Int32Array;
  private readonly draws: Int32Array;
  private readonly status: Uint8Array;
  private readonly failures: Uint8Array;
  private readonly traits: Uint8Array;
  private readonly marks: Uint8Array;
  private readonly onlineFrom: Int16Array;

  // What the run counts.
  private lastMinuteWithRoom = -1;
  private readonly requestsPerMinute: Int32Array;
  private readonly issuedPerMinute: Int32Array;
  private readonly renewalsPerDay: Record<RenewalPath, Int32Array>;
  private readonly expiries = noExpiries();
  private readonly calls = { total: 0, accepted: 0, refused: 0, offline: 0 };
  /** Asks the plan made that were not calls: the device was known to be offline. */
  private awaitedConnection = 0;
  private readonly invariants = { retriesBeforeBackoff: 0, waitedThroughRoom: 0 };
  private readonly early = { renewals: 0, minutes: 0, max: 0 };
  private readonly late = { renewals: 0, minutes: 0, max: 0 };
  private rotatedCertificates = 0;
  private backlogClearedAt = -1;
  private readonly rotated = {
    affected: 0,
    replaced: { self: 0, certfleet: 0 },
    lastReplacedAt: -1,
    lost: noExpiries(),
    lostOnline: noExpiries(),
    lostAtDeadline: 0,
    askedAtSlot: 0,
    peakSlotsPerMinute: 0,
  };
  private readonly replacedPerHour: Int32Array;
  private readonly expiredPerDay: Record<ExpiryCause, Int32Array>;
  private slots?: RotationSlots;

  constructor(
    private readonly config: FleetSimulationConfig,
    options: SimulationOptions,
  ) {
    const n = config.devices;
    this.minutes = Math.round(config.days * MINUTES_PER_DAY);
    this.horizonMinutes = Math.round((config.horizonHours * HOUR_MS) / MINUTE_MS);
    this.rate = config.renewalsPerMinute;
    const startMs = Date.parse(config.start);
    this.minuteOfDayAtStart = Math.floor(startMs / MINUTE_MS) % MINUTES_PER_DAY;
    this.onlineMinutes = Math.round(config.behaviours.partTime.onlineHoursPerDay * 60);
    const rotation = config.rotation;
    this.rotationAt = rotation ? Math.round(rotation.atDay * MINUTES_PER_DAY) : -1;
    this.announceAt =
      rotation?.announcedDaysAhead !== undefined
        ? this.rotationAt - Math.round(rotation.announcedDaysAhead * MINUTES_PER_DAY)
        : -1;
    this.switchAt = this.announceAt >= 0 ? this.announceAt : this.rotationAt;
    this.cutOff =
      rotation?.oldCaTrustedForHours !== undefined
        ? this.rotationAt + Math.round(rotation.oldCaTrustedForHours * 60)
        : -1;
    // The service waits while now < validUntil - offlineBlindTryMs: in whole minutes, while
    // minute < validUntil - floor(offlineBlindTryMs in minutes).
    this.blindTryMinutes = Math.floor(config.timing.offlineBlindTryMs / MINUTE_MS);
    const setup: PlannerSetup = {
      devices: n,
      minutes: this.minutes + this.horizonMinutes,
      renewalsPerMinute: this.rate,
      horizonMinutes: this.horizonMinutes,
      startMs,
    };
    this.planner = options.planner ? options.planner(setup) : new BucketPlanner(setup);
    this.trace = options.trace ?? {};
    this.events = new MinuteEventQueue(this.minutes);

    this.lifetime = new Int32Array(n);
    this.validFrom = new Int32Array(n);
    this.validUntil = new Int32Array(n);
    this.due = new Int32Array(n);
    this.nextAttemptAt = new Int32Array(n);
    this.askedAt = new Int32Array(n);
    this.askedFor = new Int32Array(n);
    this.certEpoch = new Int32Array(n);
    this.stepEpoch = new Int32Array(n);
    this.draws = new Int32Array(n);
    this.status = new Uint8Array(n);
    this.failures = new Uint8Array(n);
    this.traits = new Uint8Array(n);
    this.marks = new Uint8Array(n);
    this.onlineFrom = new Int16Array(n);

    this.requestsPerMinute = new Int32Array(this.minutes);
    this.issuedPerMinute = new Int32Array(this.minutes);
    const days = Math.ceil(this.minutes / MINUTES_PER_DAY);
    this.renewalsPerDay = {
      self: new Int32Array(days),
      certfleet: new Int32Array(days),
      manual: new Int32Array(days),
    };
    const perDay = () => new Int32Array(days);
    this.expiredPerDay = {
      offline: perDay(),
      refusedOrFailed: perDay(),
      overCapacity: perDay(),
      policyTooLate: perDay(),
      whileCapacityExisted: perDay(),
    };
    const windowEnd = this.cutOff >= 0 ? Math.min(this.cutOff, this.minutes) : this.minutes;
    this.replacedPerHour = new Int32Array(
      this.switchAt >= 0 ? Math.max(0, Math.ceil((windowEnd - this.switchAt) / 60)) : 0,
    );
  }

  run(): FleetSimulationResult {
    this.provisionFleet();
    for (let minute = 0; minute < this.minutes; minute += 1) {
      if (minute === this.switchAt) this.rotated.affected = this.certificatesFromOldCa(minute);
      if (minute === this.announceAt) this.planRotation(minute);
      if (minute === this.rotationAt) this.rotateIssuingCa(minute);
      this.events.drain(minute, (kind, device, epoch) => this.handle(kind, device, epoch, minute));
      this.sweep(minute);
    }
    return this.report();
  }

  // --- The fleet at minute 0 ---

  /** Draws every device: cohort, behaviour, and its current certificate. */
  private provisionFleet(): void {
    const { cohorts, behaviours } = this.config;
    const random = new CounterRandom(this.config.seed, -1);
    for (let device = 0; device < this.config.devices; device += 1) {
      // A fixed number of draws per device: the same seed gives the same devices under every
      // policy and rate, so the benchmark compares policies on one fleet.
      const cohort = pickCohort(cohorts, random.next());
      const selfRenewing = random.next() < behaviours.selfRenewing;
      const partTime = random.next() < behaviours.partTime.share;
      const onlineHour = random.below(24);
      const unreliable = random.next() < behaviours.unreliable.share;
      const age = random.next();
      const minuteInHour = random.below(60);

      this.traits[device] =
        (selfRenewing ? SELF_RENEWING : 0) |
        (partTime ? PART_TIME : 0) |
        (unreliable ? UNRELIABLE : 0);
      this.onlineFrom[device] = onlineHour * 60;
      const lifetime = cohort.lifetimeDays * MINUTES_PER_DAY;
      this.lifetime[device] = lifetime;
      const validFrom =
        cohort.provisioned.kind === 'spread'
          ? -Math.floor(age * this.steadyStateAge(lifetime, selfRenewing))
          : -Math.round(cohort.provisioned.hoursBeforeStart * 60) + minuteInHour;
      this.startCertificate(device, validFrom, validFrom + lifetime, -1);
    }
  }

  /** How long a certificate lives before renewal under the policy: the spread of ages. */
  private steadyStateAge(lifetime: number, selfRenewing: boolean): number {
    const certfleetAt = dueMinute(0, lifetime, this.config.policy);
    const ownAt = Math.floor(lifetime * SELF_RENEWAL_FRACTION);
    return Math.max(1, selfRenewing ? Math.min(certfleetAt, ownAt) : certfleetAt);
  }

  // --- Events ---

  private handle(kind: number, device: number, epoch: number, minute: number): void {
    switch (kind) {
      case EXPIRES:
        if (epoch === this.certEpoch[device]) this.onExpiry(device, minute);
        break;
      case RENEWS_ITSELF:
        if (epoch === this.certEpoch[device]) this.onOwnRenewal(device, minute);
        break;
      case CERTIFICATE_ARRIVES:
        if (this.stillRequested(device, epoch) && minute < this.validUntil[device]!)
          this.issue(device, minute, 'certfleet');
        break;
      case DEADLINE_PASSES:
        // No new certificate by the deadline: a failed attempt, backing off as a refusal does.
        if (this.stillRequested(device, epoch))
          this.attemptFailed(device, minute, this.config.timing.refusalBackoff);
        break;
      case CONNECTS:
        if (epoch === this.stepEpoch[device] && this.status[device] === UNREACHABLE)
          this.onConnected(device, minute);
        break;
      case REPROVISIONED:
        if (epoch === this.certEpoch[device] && this.status[device] === EXPIRED)
          this.issue(device, minute, 'manual');
        break;
    }
  }

  private stillRequested(device: number, epoch: number): boolean {
    return epoch === this.stepEpoch[device] && this.status[device] === REQUESTED;
  }

  private onExpiry(device: number, minute: number): void {
    if (this.validUntil[device] !== minute || this.status[device] === EXPIRED) return;
    const cause = this.expiryCause(device, minute);
    this.expiries[cause] += 1;
    const perDay = this.expiredPerDay[cause];
    const day = Math.floor(minute / MINUTES_PER_DAY);
    if (day < perDay.length) perDay[day] = perDay[day]! + 1;
    if (this.inRotationWindow(device, minute)) {
      this.rotated.lost[cause] += 1;
      if (this.onlineInRotationWindow(device)) this.rotated.lostOnline[cause] += 1;
      if (minute === this.cutOff) this.rotated.lostAtDeadline += 1;
    }
    this.trace.expired?.(minute, device, cause, this.waited(device, minute));
    this.status[device] = EXPIRED;
    this.planner.remove(device);
    // It cannot connect any more: someone re-provisions it through DPS, by hand, some time
    // around reprovisionAfterHours later (not all in the same minute).
    const after = this.config.reprovisionAfterHours * 60 * (0.5 + this.draw(device));
    const back = minute + Math.max(1, Math.round(after));
    this.events.schedule(back, REPROVISIONED, device, this.certEpoch[device]!);
  }

  /** The minutes the device waited for a slot: until it was asked, or until now. */
  private waited(device: number, minute: number): { from: number; until: number } {
    if (this.status[device] === REQUESTED)
      return { from: Math.max(0, this.askedFor[device]!), until: this.askedAt[device]! };
    return { from: Math.max(0, Math.min(minute, this.actionAt(device))), until: minute };
  }

  /** Why this certificate could not be saved, or that it could have been (a planner bug). */
  private expiryCause(device: number, minute: number): ExpiryCause {
    const status = this.status[device]!;
    const waiting = status === HEALTHY || status === RETRYING || status === UNREACHABLE;
    const actionAt = this.actionAt(device);
    if (this.marks[device]! & WAITED_WITH_ROOM) return 'whileCapacityExisted';
    if (waiting && actionAt < minute) {
      return this.lastMinuteWithRoom >= Math.max(0, actionAt)
        ? 'whileCapacityExisted'
        : 'overCapacity';
    }
    switch (status) {
      case HEALTHY:
        return 'policyTooLate';
      case REQUESTED:
        // Accepted, but the certificate could not arrive before expiry: failing, or asked in
        // the last minute (it had just come online, or it had waited for a slot).
        if (this.marks[device]! & FAILS_THIS_ATTEMPT) return 'refusedOrFailed';
        return this.traits[device]! & PART_TIME ? 'offline' : 'overCapacity';
      case UNREACHABLE:
        return 'offline';
      default:
        return 'refusedOrFailed';
    }
  }

  private onOwnRenewal(device: number, minute: number): void {
    if (this.status[device] === EXPIRED || minute >= this.validUntil[device]!) return;
    if (!this.isOnline(device, minute)) {
      const back = this.nextOnline(device, minute);
      if (back < this.validUntil[device]!)
        this.events.schedule(back, RENEWS_ITSELF, device, this.certEpoch[device]!);
      return;
    }
    this.issue(device, minute, 'self');
  }

  /** A connection-state event: a device certfleet found offline is asked again right away. */
  private onConnected(device: number, minute: number): void {
    this.nextAttemptAt[device] = minute;
    this.planner.add(device, minute, this.validUntil[device]!, false);
  }

  /**
   * Revoking a policy rotates its issuing CA: every certificate under it (still held: planned
   * rotations leave few) needs renewal now, and works until the cut-off.
   */
  private rotateIssuingCa(minute: number): void {
    const cutOff = this.cutOff < 0 ? Infinity : this.cutOff;
    for (let device = 0; device < this.config.devices; device += 1) {
      const status = this.status[device]!;
      if (status === EXPIRED || this.validFrom[device]! >= this.switchAt) continue;
      this.rotatedCertificates += 1;
      if (this.validUntil[device]! > cutOff) {
        this.validUntil[device] = cutOff;
        this.events.schedule(cutOff, EXPIRES, device, this.certEpoch[device]!);
      }
      const validUntil = this.validUntil[device]!;
      if (status === HEALTHY) {
        this.due[device] = Math.min(this.due[device]!, minute);
        this.planner.add(device, this.due[device]!, validUntil, true);
      } else if (status === RETRYING || status === UNREACHABLE) {
        this.planner.add(device, this.nextAttemptAt[device]!, validUntil, false);
      }
    }
  }

  /**
   * The rotation is declared: the service's plan gives the devices that need one a slot, and each
   * one's renewal falls due at its slot when that comes before its own due time (the record's
   * `rotation.slotAt` moving its renewal-index entry: DeviceRotation's rotationSlotOf).
   */
  private planRotation(minute: number): void {
    const slots = planRotationSlots(
      {
        devices: this.config.devices,
        startMs: Date.parse(this.config.start),
        holdsRotatedCertificate: (device) =>
          this.status[device] !== EXPIRED && this.validFrom[device]! < this.switchAt,
        status: (device) => RENEWAL_STATUS[this.status[device]!],
        actionAt: (device) => this.actionAt(device),
        validUntil: (device) => this.validUntil[device]!,
      },
      {
        declaredAt: minute,
        completeBy: this.cutOff,
        renewalsPerMinute: this.rate,
        timing: this.config.timing,
      },
    );
    this.slots = slots;
    const perMinute = new Map<number, number>();
    for (let device = 0; device < this.config.devices; device += 1) {
      const slot = slots.slotAt[device]!;
      if (slot < 0) continue;
      const inMinute = (perMinute.get(slot) ?? 0) + 1;
      perMinute.set(slot, inMinute);
      this.rotated.peakSlotsPerMinute = Math.max(this.rotated.peakSlotsPerMinute, inMinute);
      this.trace.slotted?.(minute, device, slot, this.validUntil[device]!);
      if (slot >= this.due[device]!) continue;
      this.due[device] = slot;
      this.marks[device] = this.marks[device]! | AT_ROTATION_SLOT;
      this.planner.add(device, slot, this.validUntil[device]!, true);
    }
  }

  /** Certificates from the old CA still valid at `minute`. */
  private certificatesFromOldCa(minute: number): number {
    let count = 0;
    for (let device = 0; device < this.config.devices; device += 1) {
      if (this.status[device] === EXPIRED || this.validUntil[device]! <= minute) continue;
      if (this.validFrom[device]! < this.switchAt) count += 1;
    }
    return count;
  }

  /** The device's certificate is the old CA's, and the rotation's window is open. */
  private inRotationWindow(device: number, minute: number): boolean {
    if (this.switchAt < 0 || minute < this.switchAt) return false;
    if (this.cutOff >= 0 && minute > this.cutOff) return false;
    return this.validFrom[device]! < this.switchAt;
  }

  /** Online at least once from the window's opening to its deadline (or the end of the run). */
  private onlineInRotationWindow(device: number): boolean {
    const to = this.cutOff >= 0 ? this.cutOff : this.minutes - 1;
    if (this.isOnline(device, this.switchAt)) return true;
    return this.nextOnline(device, this.switchAt) <= to;
  }

  // --- The sweep ---

  private sweep(minute: number): void {
    const asked = this.planner.takeMinute(minute, this.rate);
    for (const device of asked) this.ask(device, minute);
    this.requestsPerMinute[minute] = asked.length;
    if (asked.length < this.rate) this.lastMinuteWithRoom = minute;
    if (this.rotationAt >= 0 && minute >= this.rotationAt && this.backlogClearedAt < 0) {
      if (this.planner.overdue === 0) this.backlogClearedAt = minute;
    }
  }

  /**
   * One direct-method call, answered as the device's behaviour says; or, for a device certfleet
   * knows to be offline, no call: its campaign waits for it to connect.
   */
  private ask(device: number, minute: number): void {
    const fresh = this.status[device] === HEALTHY;
    this.checkPlannerRules(device, minute, fresh);
    if (fresh && this.marks[device]! & AT_ROTATION_SLOT) this.rotated.askedAtSlot += 1;
    this.askedAt[device] = minute;
    this.askedFor[device] = this.actionAt(device);
    this.stepEpoch[device] = this.stepEpoch[device]! + 1;
    if (fresh) this.failures[device] = 0;
    const validUntil = this.validUntil[device]!;
    if (this.awaitsConnection(device, minute)) return this.awaitConnection(device, minute);
    this.calls.total += 1;
    const early = fresh && minute < this.due[device]!;
    const answered = (outcome: 'accepted' | 'refused' | 'offline') =>
      this.trace.requested?.(minute, device, {
        outcome,
        validUntil,
        failures: this.failures[device]!,
        early,
      });

    if (!this.isOnline(device, minute)) {
      this.calls.offline += 1;
      this.answeredOffline(device, minute);
      return answered('offline');
    }
    const unreliable = (this.traits[device]! & UNRELIABLE) !== 0;
    const { refuse, fail } = this.config.behaviours.unreliable;
    if (unreliable && this.draw(device) < refuse) {
      this.calls.refused += 1;
      this.attemptFailed(device, minute, this.config.timing.refusalBackoff);
      return answered('refused');
    }
    this.calls.accepted += 1;
    this.status[device] = REQUESTED;
    const epoch = this.stepEpoch[device]!;
    if (unreliable && this.draw(device) < fail) {
      this.marks[device] = this.marks[device]! | FAILS_THIS_ATTEMPT;
      const deadline = Math.min(minute + this.timingMinutes('requestTimeoutMs'), validUntil);
      this.events.schedule(deadline, DEADLINE_PASSES, device, epoch);
    } else {
      this.marks[device] = this.marks[device]! & ~FAILS_THIS_ATTEMPT;
      const arrives = minute + this.config.certificateArrivesAfterMinutes;
      this.events.schedule(arrives, CERTIFICATE_ARRIVES, device, epoch);
    }
    answered('accepted');
  }

  /**
   * The planner's rules, checked from outside it: a retry is never made before its time, and
   * a device whose time had come never waited through a minute with room.
   */
  private checkPlannerRules(device: number, minute: number, fresh: boolean): void {
    const actionAt = this.actionAt(device);
    if (!fresh && minute < actionAt) this.invariants.retriesBeforeBackoff += 1;
    if (actionAt < minute && this.lastMinuteWithRoom >= Math.max(0, actionAt)) {
      this.invariants.waitedThroughRoom += 1;
      this.marks[device] = this.marks[device]! | WAITED_WITH_ROOM;
    }
    if (!fresh) return;
    if (minute < actionAt) record(this.early, actionAt - minute);
    else if (minute > actionAt) record(this.late, minute - Math.max(0, actionAt));
  }

  /**
   * The device is offline, and certfleet knows it from its DeviceDisconnected event (delivered
   * within the minute): it is not called while its certificate has more than the blind try left.
   */
  private awaitsConnection(device: number, minute: number): boolean {
    if (this.isOnline(device, minute)) return false;
    return minute < this.validUntil[device]! - this.blindTryMinutes;
  }

  /**
   * No call (awaitConnection.ts): the campaign waits as `unreachable` for the device's
   * DeviceConnected event, which asks it; or, if it stays away, for the blind try.
   */
  private awaitConnection(device: number, minute: number): void {
    this.awaitedConnection += 1;
    this.trace.awaitedConnection?.(minute, device);
    const validUntil = this.validUntil[device]!;
    const blindTry = validUntil - this.blindTryMinutes;
    this.status[device] = UNREACHABLE;
    this.nextAttemptAt[device] = blindTry;
    this.planner.add(device, blindTry, validUntil, false);
    const back = this.nextOnline(device, minute);
    if (back < blindTry) this.events.schedule(back, CONNECTS, device, this.stepEpoch[device]!);
  }

  /** 404103: asked again when it connects, or after the offline recheck. */
  private answeredOffline(device: number, minute: number): void {
    this.status[device] = UNREACHABLE;
    const recheck = minute + this.timingMinutes('offlineRecheckMs');
    this.nextAttemptAt[device] = recheck;
    this.planner.add(device, recheck, this.validUntil[device]!, false);
    const back = this.nextOnline(device, minute);
    if (back < recheck) this.events.schedule(back, CONNECTS, device, this.stepEpoch[device]!);
  }

  /** A refusal or a no-show: back off (renewalTransitions' failAttempt), or give up. */
  private attemptFailed(device: number, minute: number, backoff: Backoff): void {
    const failures = this.failures[device]! + 1;
    this.failures[device] = failures;
    if (failures >= this.config.timing.maxFailures) {
      this.status[device] = FAILED;
      this.planner.remove(device);
      return;
    }
    const validUntil = this.validUntil[device]!;
    // As renewalTransitions caps it: at most half the time left, at least the shortest backoff.
    const wantedMs = backoffMs(backoff, failures);
    const halfLeftMs = ((validUntil - minute) * MINUTE_MS) / 2;
    const waitMs = Math.max(
      this.config.timing.timeoutBackoff.baseMs,
      Math.min(wantedMs, halfLeftMs),
    );
    const retryAt = minute + Math.ceil(waitMs / MINUTE_MS);
    this.status[device] = RETRYING;
    this.nextAttemptAt[device] = retryAt;
    this.planner.add(device, retryAt, validUntil, false);
  }

  // --- Certificates ---

  /** A new certificate in the twin: renewed by `path`. */
  private issue(device: number, minute: number, path: RenewalPath): void {
    this.planner.remove(device);
    if (path !== 'manual' && this.inRotationWindow(device, minute)) {
      this.rotated.replaced[path] += 1;
      this.rotated.lastReplacedAt = minute;
      const hour = Math.floor((minute - this.switchAt) / 60);
      if (hour < this.replacedPerHour.length)
        this.replacedPerHour[hour] = this.replacedPerHour[hour]! + 1;
    }
    const perDay = this.renewalsPerDay[path];
    const day = Math.floor(minute / MINUTES_PER_DAY);
    perDay[day] = perDay[day]! + 1;
    this.issuedPerMinute[minute] = this.issuedPerMinute[minute]! + 1;
    this.startCertificate(device, minute, minute + this.lifetime[device]!, minute);
  }

  private startCertificate(device: number, validFrom: number, validUntil: number, now: number) {
    this.certEpoch[device] = this.certEpoch[device]! + 1;
    this.stepEpoch[device] = this.stepEpoch[device]! + 1;
    this.validFrom[device] = validFrom;
    this.validUntil[device] = validUntil;
    const due = dueMinute(validFrom, validUntil, this.config.policy);
    this.due[device] = due;
    this.status[device] = HEALTHY;
    this.failures[device] = 0;
    this.marks[device] = 0;
    const epoch = this.certEpoch[device]!;
    this.events.schedule(validUntil, EXPIRES, device, epoch);
    if (this.traits[device]! & SELF_RENEWING) {
      const ownAt = validFrom + Math.floor((validUntil - validFrom) * SELF_RENEWAL_FRACTION);
      this.events.schedule(Math.max(ownAt, now + 1), RENEWS_ITSELF, device, epoch);
    }
    this.planner.add(device, due, validUntil, true);
  }

  // --- Devices ---

  /** When the planner may ask the device: its due time, or its campaign's next attempt. */
  private actionAt(device: number): number {
    return this.status[device] === HEALTHY ? this.due[device]! : this.nextAttemptAt[device]!;
  }

  private isOnline(device: number, minute: number): boolean {
    if ((this.traits[device]! & PART_TIME) === 0) return true;
    return this.intoOnlineDay(device, minute) < this.onlineMinutes;
  }

  /** The next minute the device is online (it is offline at `minute`). */
  private nextOnline(device: number, minute: number): number {
    return minute + MINUTES_PER_DAY - this.intoOnlineDay(device, minute);
  }

  /** Minutes since the device's online hours last began. */
  private intoOnlineDay(device: number, minute: number): number {
    const ofDay = (this.minuteOfDayAtStart + minute) % MINUTES_PER_DAY;
    return (ofDay - this.onlineFrom[device]! + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  }

  /** The device's next random draw: its own stream, so the order of asking changes nothing. */
  private draw(device: number): number {
    const counter = this.draws[device]!;
    this.draws[device] = counter + 1;
    return unitDraw(this.config.seed, device, counter);
  }

  private timingMinutes(key: 'requestTimeoutMs' | 'offlineRecheckMs'): number {
    return Math.max(1, Math.ceil(this.config.timing[key] / MINUTE_MS));
  }

  // --- The result ---

  private report(): FleetSimulationResult {
    const { whileCapacityExisted, ...couldNotBeSaved } = this.expiries;
    const total = Object.values(this.expiries).reduce((a, b) => a + b, 0);
    const renewalsPerDay = Object.fromEntries(
      PATHS.map((p) => [p, Array.from(this.renewalsPerDay[p])]),
    ) as Record<RenewalPath, number[]>;
    const renewals = Object.fromEntries(
      PATHS.map((p) => [p, renewalsPerDay[p].reduce((a, b) => a + b, 0)]),
    ) as Record<RenewalPath, number>;
    const result: FleetSimulationResult = {
      devices: this.config.devices,
      minutes: this.minutes,
      renewalsPerMinute: this.rate,
      expired: { total, couldNotBeSaved, whileCapacityExisted },
      renewals,
      renewalsPerDay,
      requestsPerMinute: this.requestsPerMinute,
      peakRequestsPerMinute: max(this.requestsPerMinute),
      fullMinutes: this.requestsPerMinute.filter((n) => n >= this.rate).length,
      peakIssuedPerMinute: max(this.issuedPerMinute),
      startedEarly: summary(this.early),
      startedLate: summary(this.late),
      directMethodCalls: { ...this.calls },
      awaitedConnection: this.awaitedConnection,
      callsPerCertfleetRenewal: renewals.certfleet > 0 ? this.calls.total / renewals.certfleet : 0,
      expiredPerDay: Object.fromEntries(
        Object.entries(this.expiredPerDay).map(([cause, days]) => [cause, Array.from(days)]),
      ) as Record<ExpiryCause, number[]>,
      invariants: { ...this.invariants },
    };
    if (this.rotationAt >= 0 && this.rotationAt < this.minutes) result.rotation = this.rotation();
    return result;
  }

  private rotation(): RotationResult {
    const { affected, replaced, lastReplacedAt, lost, lostOnline, lostAtDeadline } = this.rotated;
    const rotation: RotationResult = {
      atMinute: this.rotationAt,
      certificates: this.rotatedCertificates,
      window: {
        fromMinute: this.switchAt,
        ...(this.cutOff >= 0 ? { deadlineMinute: this.cutOff } : {}),
      },
      affected,
      replaced: { ...replaced },
      lost: { ...lost },
      lostOnlineInWindow: { ...lostOnline },
      lostAtDeadline,
      replacedPerHour: Array.from(this.replacedPerHour),
    };
    if (this.backlogClearedAt >= 0)
      rotation.backlogClearedAfterMinutes = this.backlogClearedAt - this.rotationAt;
    if (lastReplacedAt >= 0) rotation.lastReplacedAtMinute = lastReplacedAt;
    if (this.slots) {
      rotation.planned = {
        declaredAtMinute: this.announceAt,
        slotsEndAtMinute: this.slots.slotsEndAt,
        completeByMinute: this.cutOff,
        plan: this.slots.plan,
        peakSlotsPerMinute: this.rotated.peakSlotsPerMinute,
        askedAtSlot: this.rotated.askedAtSlot,
      };
    }
    return rotation;
  }
}

function pickCohort(cohorts: readonly CohortSpec[], u: number): CohortSpec {
  let cumulative = 0;
  for (const cohort of cohorts) {
    cumulative += cohort.share;
    if (u < cumulative) return cohort;
  }
  return cohorts[cohorts.length - 1]!;
}

function record(stat: { renewals: number; minutes: number; max: number }, minutes: number) {
  stat.renewals += 1;
  stat.minutes += minutes;
  stat.max = Math.max(stat.max, minutes);
}

function summary(stat: { renewals: number; minutes: number; max: number }) {
  return {
    renewals: stat.renewals,
    meanMinutes: stat.renewals === 0 ? 0 : stat.minutes / stat.renewals,
    maxMinutes: stat.max,
  };
}

function max(values: Int32Array): number {
  let best = 0;
  for (const v of values) best = Math.max(best, v);
  return best;
}
