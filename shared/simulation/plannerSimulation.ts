import { DAY_MS, HOUR_MS, MINUTE_MS } from '../domain/Clock';
import { DEFAULT_RENEWAL_POLICY, RenewalPolicy } from '../domain/RenewalPolicy';
import {
  Backoff,
  DEFAULT_RENEWAL_TIMING,
  RenewalTiming,
  backoffMs,
} from '../domain/renewal/RenewalTiming';
import { BucketPlanner } from './planner/BucketPlanner';
import { FleetPlanner, PlannerSetup } from './planner/FleetPlanner';
import { MinuteEventQueue } from './planner/MinuteEventQueue';
import { CounterRandom, unitDraw } from './planner/counterRandom';

/**
 * Planner-only fleet simulation (issue 4, item 6): a million devices over 90 days in about a
 * minute, to compare renewal policies under Azure's quotas (bench/planner-simulation.js). No
 * storage, no certificates, no I/O: a device is a row of typed arrays, time is whole minutes
 * from `start`, and the renewal engine is its state machine (renewalTransitions.ts) and its
 * capacity planner (CapacityPlanner.ts; here BucketPlanner, the same plan from counts per
 * minute). Each minute runs that minute's events (certificates arriving and expiring, devices
 * renewing themselves, connecting, deadlines passing), then the sweep: the planner picks at most
 * the rate of devices, and each answers at once as its behaviour says.
 *
 * Simplifications, against the service:
 * - Minutes. Every time is a whole minute. Due times are renewalDueAt's, floored to the minute;
 *   backoffs (RenewalTiming, capped at half the time left as renewalTransitions caps them) are
 *   rounded up, so a retry is never early. No jitter within a minute, and no per-hub spacing of
 *   calls (direct methods per second): only the renewals-per-minute rate is simulated.
 * - One sweep a minute takes the whole budget. A device that connects with a renewal pending
 *   is asked in that minute's sweep, competing earliest expiry first with the rest (the service
 *   asks it at once from what is left of the minute's budget).
 * - Answers are immediate: offline (404103) outside a device's online hours; refused by an
 *   unreliable device with its refusal probability; otherwise accepted, and the new certificate
 *   is in the twin `certificateArrivesAfterMinutes` later, unless an unreliable device fails
 *   mid-renewal (its failure probability), which certfleet sees as no certificate by the
 *   deadline. No timeouts (504101), throttling (429), service errors or issuer outages, so no
 *   pauses or incidents (Pacing.ts).
 * - A device that renews itself does so at 80% of its lifetime (Microsoft's device guidance), or
 *   when it next comes online, and always succeeds. The path counted is who started the renewal
 *   (the ledger credits certfleet with any new certificate that arrives during its campaign).
 * - The rate counts certfleet's requests only. Devices renewing themselves and manual
 *   re-provisioning also draw on ADR's 500 issuances a minute and DPS's 1,000 registrations;
 *   `peakIssuedPerMinute` reports that total, but nothing throttles it.
 * - Manual: a person re-provisions an expired device through DPS (its onboarding credential)
 *   between half and one and a half times `reprovisionAfterHours` after expiry. Manual renewal
 *   requests (the API) are not simulated.
 * - An issuing-CA rotation (a policy revoked) makes every certificate issued before it due at
 *   once. Old certificates keep working until their own expiry, or `oldCaTrustedForHours` if set.
 *   A running campaign keeps its schedule; devices are not told (self-renewers still wait for
 *   80%).
 * - The fleet starts in the steady state of the policy: a certificate's age is uniform over the
 *   part of its lifetime it lives before renewal (by itself at 80%, or by certfleet when due,
 *   whichever first), so day one is not a burst of overdue renewals. A cohort provisioned in the
 *   same hour starts at the age it is given.
 * - A request in the last minute before expiry cannot complete (the certificate comes a minute
 *   later); the planner, like the real one (it only needs validUntil > now), still makes it, and
 *   the expiry counts as over capacity.
 * - Not modelled: devices whose clocks are off (they renew themselves early or late), twins that
 *   report only validFrom/validUntil, new certificates that fail verification (a failed attempt,
 *   like a no-show), several hubs and per-hub throttling.
 */

/** Renewal time as a fraction of the lifetime, or a fixed time before expiry (RenewalPolicy). */
export type { RenewalPolicy };

export interface CohortSpec {
  /** Share of the fleet (the shares add up to 1). */
  share: number;
  /** Leaf validity, 7 to 90 days (Azure's certificate management). */
  lifetimeDays: number;
  /**
   * `spread`: provisioned over time, ages in the policy's steady state. `sameHour`: all
   * provisioned in one hour, `hoursBeforeStart` before the simulation starts.
   */
  provisioned: { kind: 'spread' } | { kind: 'sameHour'; hoursBeforeStart: number };
}

export interface BehaviourMix {
  /** Share that renews itself at 80% of the lifetime; the rest never renews by itself. */
  selfRenewing: number;
  /** Share online only `onlineHoursPerDay` a day, from a random whole UTC hour. */
  partTime: { share: number; onlineHoursPerDay: number };
  /** Share that refuses a request with probability `refuse`, or accepts and fails with `fail`. */
  unreliable: { share: number; refuse: number; fail: number };
}

export interface FleetSimulationConfig {
  seed: number;
  devices: number;
  days: number;
  /** Minute 0, UTC; online hours are UTC hours of the day. */
  start: string;
  cohorts: readonly CohortSpec[];
  behaviours: BehaviourMix;
  policy: RenewalPolicy;
  /** certfleet's rate (CERTFLEET_RENEWALS_PER_MINUTE); ADR renews 500 a minute. */
  renewalsPerMinute: number;
  /** How far ahead the planner sees renewals to start early (CERTFLEET_PLANNING_HORIZON_HOURS). */
  horizonHours: number;
  timing: RenewalTiming;
  /** From a device accepting to its new certificate in the twin. */
  certificateArrivesAfterMinutes: number;
  /** From expiry until a person re-provisions the device (the manual path), on average. */
  reprovisionAfterHours: number;
  /** An issuing-CA rotation: every certificate issued before it falls due at once. */
  rotation?: { atDay: number; oldCaTrustedForHours?: number };
}

export const DEFAULT_SIMULATION: FleetSimulationConfig = {
  seed: 1,
  devices: 10_000,
  days: 90,
  start: '2026-01-01T00:00:00.000Z',
  cohorts: [{ share: 1, lifetimeDays: 30, provisioned: { kind: 'spread' } }],
  behaviours: {
    selfRenewing: 0.5,
    partTime: { share: 0.2, onlineHoursPerDay: 4 },
    unreliable: { share: 0.05, refuse: 0.3, fail: 0.2 },
  },
  policy: DEFAULT_RENEWAL_POLICY,
  renewalsPerMinute: 400,
  horizonHours: 12,
  timing: DEFAULT_RENEWAL_TIMING,
  certificateArrivesAfterMinutes: 1,
  reprovisionAfterHours: 72,
};

export type RenewalPath = 'self' | 'certfleet' | 'manual';

/**
 * Why a certificate expired. All but `whileCapacityExisted` could not have been saved by the
 * planner under this policy and rate; `whileCapacityExisted` (a device waited for a slot through
 * a minute with room) would be a planner bug and must stay 0.
 */
export type ExpiryCause =
  /** Offline when asked, and not back (or back too late) before expiry. */
  | 'offline'
  /** Refused, or accepted and failed, and out of attempts or time. */
  | 'refusedOrFailed'
  /** Waited for a slot in minutes that were all full. */
  | 'overCapacity'
  /** The policy's due time is at or after expiry (a renewBefore shorter than a minute). */
  | 'policyTooLate'
  | 'whileCapacityExisted';

export interface SimulationTrace {
  /** Each direct-method call, as answered. */
  requested?(
    minute: number,
    device: number,
    answer: {
      outcome: 'accepted' | 'refused' | 'offline';
      validUntil: number;
      /** Failures of the campaign after this answer. */
      failures: number;
      /** Asked before its due time, for capacity. */
      early: boolean;
    },
  ): void;
  /** `waited`: the minutes the device waited for a slot before it was asked, or before expiry. */
  expired?(
    minute: number,
    device: number,
    cause: ExpiryCause,
    waited: { from: number; until: number },
  ): void;
}

export interface SimulationOptions {
  /** The planner to run; BucketPlanner by default. The cross-check test passes the real one. */
  planner?: (setup: PlannerSetup) => FleetPlanner;
  trace?: SimulationTrace;
}

export interface FleetSimulationResult {
  devices: number;
  minutes: number;
  renewalsPerMinute: number;
  expired: {
    total: number;
    couldNotBeSaved: Record<Exclude<ExpiryCause, 'whileCapacityExisted'>, number>;
    /** Must be 0: no certificate expires while the planner had room to ask its device. */
    whileCapacityExisted: number;
  };
  renewals: Record<RenewalPath, number>;
  renewalsPerDay: Record<RenewalPath, number[]>;
  /** certfleet's requests in each minute: never above the rate. */
  requestsPerMinute: Int32Array;
  peakRequestsPerMinute: number;
  /** Minutes in which the planner used the whole rate. */
  fullMinutes: number;
  /** New certificates in the busiest minute, whoever started them (ADR's and DPS's quota). */
  peakIssuedPerMinute: number;
  /** Fresh renewals asked before they were due, for capacity (ALAP). */
  startedEarly: { renewals: number; meanMinutes: number; maxMinutes: number };
  /** Fresh renewals asked after they were due (over capacity, or due at a rotation). */
  startedLate: { renewals: number; meanMinutes: number; maxMinutes: number };
  directMethodCalls: { total: number; accepted: number; refused: number; offline: number };
  /** Checks of the planner's rules, kept while it runs; both must be 0. */
  invariants: { retriesBeforeBackoff: number; waitedThroughRoom: number };
  rotation?: {
    atMinute: number;
    /** Certificates issued before the rotation that were still valid. */
    certificates: number;
    /** From the rotation until no renewal waited past its due time (undefined: never). */
    backlogClearedAfterMinutes?: number;
  };
}

/** Runs the fleet through `config.days`, minute by minute. Deterministic for a seed. */
export function simulateFleet(
  config: FleetSimulationConfig,
  options: SimulationOptions = {},
): FleetSimulationResult {
  checkConfig(config);
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

// Device traits (bits).
const SELF_RENEWING = 1;
const PART_TIME = 2;
const UNRELIABLE = 4;

// Marks on the current certificate (bits).
const FAILS_THIS_ATTEMPT = 1;
const WAITED_WITH_ROOM = 2;

// Events.
const EXPIRES = 1;
const RENEWS_ITSELF = 2;
const CERTIFICATE_ARRIVES = 3;
const DEADLINE_PASSES = 4;
const CONNECTS = 5;
const REPROVISIONED = 6;

const PATHS: readonly RenewalPath[] = ['self', 'certfleet', 'manual'];

class PlannerSimulation {
  private readonly minutes: number;
  private readonly horizonMinutes: number;
  private readonly rate: number;
  private readonly planner: FleetPlanner;
  private readonly events: MinuteEventQueue;
  private readonly trace: SimulationTrace;
  private readonly minuteOfDayAtStart: number;
  private readonly onlineMinutes: number;
  private readonly rotationAt: number;

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
  private readonly expiries: Record<ExpiryCause, number> = {
    offline: 0,
    refusedOrFailed: 0,
    overCapacity: 0,
    policyTooLate: 0,
    whileCapacityExisted: 0,
  };
  private readonly calls = { total: 0, accepted: 0, refused: 0, offline: 0 };
  private readonly invariants = { retriesBeforeBackoff: 0, waitedThroughRoom: 0 };
  private readonly early = { renewals: 0, minutes: 0, max: 0 };
  private readonly late = { renewals: 0, minutes: 0, max: 0 };
  private rotatedCertificates = 0;
  private backlogClearedAt = -1;

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
    this.rotationAt = config.rotation ? Math.round(config.rotation.atDay * MINUTES_PER_DAY) : -1;
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
  }

  run(): FleetSimulationResult {
    this.provisionFleet();
    for (let minute = 0; minute < this.minutes; minute += 1) {
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

  /** Revoking a policy rotates its issuing CA: every certificate under it needs renewal now. */
  private rotateIssuingCa(minute: number): void {
    const trusted = this.config.rotation?.oldCaTrustedForHours;
    const cutOff = trusted === undefined ? Infinity : minute + Math.round(trusted * 60);
    for (let device = 0; device < this.config.devices; device += 1) {
      const status = this.status[device]!;
      if (status === EXPIRED || this.validFrom[device]! >= minute) continue;
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

  /** One direct-method call, answered as the device's behaviour says. */
  private ask(device: number, minute: number): void {
    const fresh = this.status[device] === HEALTHY;
    this.checkPlannerRules(device, minute, fresh);
    this.askedAt[device] = minute;
    this.askedFor[device] = this.actionAt(device);
    this.calls.total += 1;
    this.stepEpoch[device] = this.stepEpoch[device]! + 1;
    if (fresh) this.failures[device] = 0;
    const validUntil = this.validUntil[device]!;
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
      invariants: { ...this.invariants },
    };
    if (this.rotationAt >= 0 && this.rotationAt < this.minutes) {
      result.rotation = {
        atMinute: this.rotationAt,
        certificates: this.rotatedCertificates,
        ...(this.backlogClearedAt >= 0
          ? { backlogClearedAfterMinutes: this.backlogClearedAt - this.rotationAt }
          : {}),
      };
    }
    return result;
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

/** Settings that would make the run meaningless are refused up front, all named at once. */
function checkConfig(config: FleetSimulationConfig): void {
  const problems: string[] = [];
  const cohortShares = config.cohorts.reduce((sum, c) => sum + c.share, 0);
  if (config.cohorts.length === 0 || Math.abs(cohortShares - 1) > 1e-9)
    problems.push(`cohort shares add up to ${cohortShares}, not 1`);
  for (const cohort of config.cohorts) {
    if (!(cohort.lifetimeDays >= 7 && cohort.lifetimeDays <= 90))
      problems.push(`lifetime ${cohort.lifetimeDays} days is outside ADR's 7 to 90`);
    if (
      cohort.provisioned.kind === 'sameHour' &&
      cohort.provisioned.hoursBeforeStart >= cohort.lifetimeDays * 24
    )
      problems.push(
        `a cohort provisioned ${cohort.provisioned.hoursBeforeStart} h before the start has expired`,
      );
    if (cohort.provisioned.kind === 'sameHour' && cohort.provisioned.hoursBeforeStart < 1)
      problems.push('a cohort must be provisioned at least an hour before the start');
  }
  const { selfRenewing, partTime, unreliable } = config.behaviours;
  const shares = {
    selfRenewing,
    partTime: partTime.share,
    unreliable: unreliable.share,
    refuse: unreliable.refuse,
    fail: unreliable.fail,
  };
  for (const [name, p] of Object.entries(shares)) {
    if (!(p >= 0 && p <= 1)) problems.push(`${name} ${p} is not between 0 and 1`);
  }
  if (!(partTime.onlineHoursPerDay > 0 && partTime.onlineHoursPerDay <= 24))
    problems.push(`onlineHoursPerDay ${partTime.onlineHoursPerDay} is not in (0, 24]`);
  if (!Number.isInteger(config.renewalsPerMinute) || config.renewalsPerMinute < 1)
    problems.push(`renewalsPerMinute must be a whole number >= 1, not ${config.renewalsPerMinute}`);
  if (!Number.isInteger(config.devices) || config.devices < 1)
    problems.push(`devices must be a whole number >= 1, not ${config.devices}`);
  if (!(config.days > 0)) problems.push(`days must be > 0, not ${config.days}`);
  if (!(config.horizonHours > 0)) problems.push(`horizonHours must be > 0`);
  if (
    !Number.isInteger(config.certificateArrivesAfterMinutes) ||
    config.certificateArrivesAfterMinutes < 1
  )
    problems.push('certificateArrivesAfterMinutes must be a whole number >= 1');
  if (Number.isNaN(Date.parse(config.start))) problems.push(`start ${config.start} is not a date`);
  if (problems.length > 0) throw new Error(`planner simulation: ${problems.join('; ')}`);
}
