import { DAY_MS } from '../domain/Clock';
import { DEFAULT_RENEWAL_POLICY, RenewalPolicy } from '../domain/RenewalPolicy';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from '../domain/renewal/RenewalTiming';
import { MAX_WINDOW_DAYS, MIN_WINDOW_MS } from '../domain/rotation/Rotation';

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

/**
 * A planner simulation's fleet (cohorts and behaviours) and certfleet's settings, for
 * simulateFleet; checkSimulationConfig refuses one that would make the run meaningless.
 */
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
  /**
   * The renewal state machine's timing. Its `offlineBlindTryMs` says how close to expiry a
   * device known to be offline is called all the same; 90 days (longer than any lifetime) calls
   * every device the plan picks, offline or not, as certfleet did before it used connection
   * state for more than asking a device when it connects.
   */
  timing: RenewalTiming;
  /** From a device accepting to its new certificate in the twin. */
  certificateArrivesAfterMinutes: number;
  /** From expiry until a person re-provisions the device (the manual path), on average. */
  reprovisionAfterHours: number;
  /**
   * An issuing-CA rotation on `atDay`: the old CA is revoked, every certificate it issued falls
   * due at once, and works only `oldCaTrustedForHours` more (else until its own expiry). DPS
   * issues from the new CA from the rotation on; or, when `announcedDaysAhead` is given, from the
   * announcement that many days before, when certfleet is told (a planned rotation, deadline the
   * end of the old CA's trust) and gives each device a slot as the service does (RotationSlots).
   */
  rotation?: { atDay: number; oldCaTrustedForHours?: number; announcedDaysAhead?: number };
}

/** 10,000 devices on 30-day certificates over 90 days, at certfleet's default policy. */
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

/** Settings that would make the run meaningless are refused up front, all named at once. */
export function checkSimulationConfig(config: FleetSimulationConfig): void {
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
  problems.push(...rotationProblems(config.rotation));
  if (problems.length > 0) throw new Error(`planner simulation: ${problems.join('; ')}`);
}

/** A rotation the service would refuse to plan (rotationDeclarationFrom) is refused here too. */
function rotationProblems(rotation: FleetSimulationConfig['rotation']): string[] {
  if (!rotation) return [];
  const problems: string[] = [];
  const { atDay, oldCaTrustedForHours: trusted, announcedDaysAhead: ahead } = rotation;
  if (!(atDay >= 0)) problems.push(`rotation.atDay must be >= 0, not ${atDay}`);
  if (trusted !== undefined && !(trusted >= 0))
    problems.push(`rotation.oldCaTrustedForHours must be >= 0, not ${trusted}`);
  if (ahead === undefined) return problems;
  if (!(ahead > 0 && ahead <= atDay))
    problems.push(
      `rotation.announcedDaysAhead must be > 0 and at most atDay (${atDay}), not ${ahead}`,
    );
  if (trusted === undefined)
    problems.push('a planned rotation needs oldCaTrustedForHours: its deadline');
  else {
    const windowDays = ahead + trusted / 24;
    if (windowDays < MIN_WINDOW_MS / DAY_MS || windowDays > MAX_WINDOW_DAYS)
      problems.push(
        `a planned rotation's deadline must be a day to ${MAX_WINDOW_DAYS} days after its announcement, not ${windowDays} days`,
      );
  }
  return problems;
}
