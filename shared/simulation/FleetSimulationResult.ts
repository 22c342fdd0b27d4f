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
