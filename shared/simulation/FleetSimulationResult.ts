import { RotationPlan } from '../domain/rotation/rotationPlan';

/**
 * Who started the renewal that gave a device its new certificate: the device itself, certfleet,
 * or a person re-provisioning the expired device through DPS.
 */
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

/** What a planner simulation counted (simulateFleet). */
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
  /**
   * Devices the plan picked that were not called: known to be offline, and not yet within the
   * blind try (`timing.offlineBlindTryMs`), their campaign waited for them to connect.
   */
  awaitedConnection: number;
  /** Direct-method calls per renewal started by certfleet (`renewals.certfleet`). */
  callsPerCertfleetRenewal: number;
  /** Certificates expired on each day of the run, by cause. */
  expiredPerDay: Record<ExpiryCause, number[]>;
  /** Checks of the planner's rules, kept while it runs; both must be 0. */
  invariants: { retriesBeforeBackoff: number; waitedThroughRoom: number };
  rotation?: RotationResult;
}

/** An issuing-CA rotation, as the run saw it (FleetSimulationConfig's `rotation`). */
export interface RotationResult {
  /** When the old CA was revoked. */
  atMinute: number;
  /** Certificates from the old CA still valid at the revocation (all due at once then). */
  certificates: number;
  /** From the revocation until no renewal waited past its due time (undefined: never). */
  backlogClearedAfterMinutes?: number;
  /**
   * From the announcement (or, unplanned, the revocation itself: nobody knew before) until the
   * old CA's certificates stop being trusted (`deadlineMinute`; undefined: they work until their
   * own expiry). DPS issues from the new CA from `fromMinute` on.
   */
  window: { fromMinute: number; deadlineMinute?: number };
  /** Certificates from the old CA, valid when the window opened. */
  affected: number;
  /** Of them, replaced by a new certificate while they still worked, by who started it. */
  replaced: { self: number; certfleet: number };
  /** When the last of them was replaced (undefined: none was). */
  lastReplacedAtMinute?: number;
  /** Replacements in each hour from the window's opening to its deadline (or the run's end). */
  replacedPerHour: number[];
  /**
   * Of them, those that stopped being trusted (their own expiry, or the deadline) before a new
   * certificate came, by cause (ExpiryCause): `affected` = replaced + lost (+ still held at the
   * end of a run with no deadline).
   */
  lost: Record<ExpiryCause, number>;
  /**
   * Of the lost, those whose device was online at least once between the window's opening and
   * its deadline (the end of the run when there is none): certfleet could have reached it.
   */
  lostOnlineInWindow: Record<ExpiryCause, number>;
  /** Of the lost, those cut off at the deadline (the rest expired on their own in the window). */
  lostAtDeadline: number;
  /** A planned rotation: the service's plan (planRotation), and how it was used. */
  planned?: {
    declaredAtMinute: number;
    slotsEndAtMinute: number;
    completeByMinute: number;
    plan: RotationPlan;
    /** The most slots the plan put in one minute, counted from the slots given. */
    peakSlotsPerMinute: number;
    /** Renewal campaigns certfleet started at a device's slot (before its own renewal time). */
    askedAtSlot: number;
  };
}
