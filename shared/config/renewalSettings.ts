import { z } from 'zod';
import { HOUR_MS, MINUTE_MS } from '../domain/Clock';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from '../domain/renewal/RenewalTiming';
import { CohortPolicy, DEFAULT_RENEWAL_POLICY, RenewalPolicy } from '../domain/RenewalPolicy';
import { numberSetting, optionalText } from './settingSchemas';

/**
 * How certfleet renews (docs/renewal.md): the `renewal` section of the validated `Settings`,
 * as read from the environment. The renewal use case takes its own settings (shared/app), which
 * the composition root (shared/services.ts) builds from this section and the pacing defaults.
 */
export interface RenewalConfig {
  /** Twin tag naming a device's cohort. */
  cohortTag: string;
  cohortPolicies: CohortPolicy[];
  renewalsPerMinute: number;
  methodCallsPerSecond: number;
  horizonMs: number;
  timing: RenewalTiming;
}

/** When certificates renew by default: at a fraction of their lifetime, or hours before expiry. */
export const renewalPolicySettingsSchema = z.object({
  CERTFLEET_RENEW_AT_FRACTION: numberSetting(
    (n) => n > 0 && n < 1,
    'must be a number between 0 and 1',
  ),
  CERTFLEET_RENEW_BEFORE_HOURS: numberSetting(
    (n) => n > 0 && n <= 90 * 24,
    'must be hours, more than 0 and at most 2160',
  ),
});

/** The settings of the `renewal` section, each checked on its own. */
export const renewalSettingsSchema = z.object({
  CERTFLEET_COHORT_TAG: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_]{1,64}$/, 'must be a twin tag name (letters, digits, _)')
      .default('cohort'),
  ),
  CERTFLEET_RENEWAL_POLICIES: optionalText,
  CERTFLEET_RENEWALS_PER_MINUTE: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 1000,
    'must be a whole number from 1 to 1000 (Azure certificate management renews 500 a minute)',
  ),
  CERTFLEET_METHOD_CALLS_PER_SECOND: numberSetting(
    (n) => n > 0 && n <= 100,
    'must be more than 0 and at most 100 calls a second per hub',
  ),
  CERTFLEET_PLANNING_HORIZON_HOURS: numberSetting(
    (n) => n >= 1 && n <= 168,
    'must be hours, from 1 to 168',
  ),
  CERTFLEET_RENEWAL_DEADLINE_MINUTES: numberSetting(
    (n) => Number.isInteger(n) && n >= 5 && n <= 1440,
    'must be whole minutes, from 5 to 1440',
  ),
  CERTFLEET_RENEWAL_MAX_FAILURES: numberSetting(
    (n) => Number.isInteger(n) && n >= 1 && n <= 50,
    'must be a whole number from 1 to 50',
  ),
  CERTFLEET_OFFLINE_BLIND_TRY_HOURS: numberSetting(
    (n) => n >= 0 && n <= 90 * 24,
    'must be hours, from 0 to 2160',
  ),
});

/** The default renewal policy, adding to `problems` when both settings are given. */
export function renewalPolicyFrom(
  v: z.output<typeof renewalPolicySettingsSchema>,
  problems: string[],
): RenewalPolicy {
  if (v.CERTFLEET_RENEW_AT_FRACTION !== undefined && v.CERTFLEET_RENEW_BEFORE_HOURS !== undefined) {
    problems.push('CERTFLEET_RENEW_AT_FRACTION, CERTFLEET_RENEW_BEFORE_HOURS: set one, not both');
    return DEFAULT_RENEWAL_POLICY;
  }
  if (v.CERTFLEET_RENEW_AT_FRACTION !== undefined) {
    return { kind: 'fraction', fraction: v.CERTFLEET_RENEW_AT_FRACTION };
  }
  if (v.CERTFLEET_RENEW_BEFORE_HOURS !== undefined) {
    return { kind: 'before', renewBeforeMs: v.CERTFLEET_RENEW_BEFORE_HOURS * HOUR_MS };
  }
  return DEFAULT_RENEWAL_POLICY;
}

/** The `renewal` section, adding to `problems` what is wrong in the cohort policies. */
export function renewalConfigFrom(
  v: z.output<typeof renewalSettingsSchema>,
  problems: string[],
): RenewalConfig {
  const cohortPolicies = v.CERTFLEET_RENEWAL_POLICIES
    ? parseCohortPolicies(v.CERTFLEET_RENEWAL_POLICIES, problems)
    : [];
  const timing: RenewalTiming = { ...DEFAULT_RENEWAL_TIMING };
  if (v.CERTFLEET_RENEWAL_DEADLINE_MINUTES !== undefined) {
    timing.requestTimeoutMs = v.CERTFLEET_RENEWAL_DEADLINE_MINUTES * MINUTE_MS;
  }
  if (v.CERTFLEET_RENEWAL_MAX_FAILURES !== undefined)
    timing.maxFailures = v.CERTFLEET_RENEWAL_MAX_FAILURES;
  // A device known to be disconnected is called only this close to its expiry (a blind try);
  // 2160 hours (90 days, the longest leaf) calls every device as if its state were unknown.
  if (v.CERTFLEET_OFFLINE_BLIND_TRY_HOURS !== undefined)
    timing.offlineBlindTryMs = v.CERTFLEET_OFFLINE_BLIND_TRY_HOURS * HOUR_MS;
  return {
    cohortTag: v.CERTFLEET_COHORT_TAG,
    cohortPolicies,
    renewalsPerMinute: v.CERTFLEET_RENEWALS_PER_MINUTE ?? 400,
    methodCallsPerSecond: v.CERTFLEET_METHOD_CALLS_PER_SECOND ?? 10,
    horizonMs: (v.CERTFLEET_PLANNING_HORIZON_HOURS ?? 12) * HOUR_MS,
    timing,
  };
}

const cohortPolicySchema = z
  .object({
    cohort: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    renewAtFraction: z.number().gt(0).lt(1).optional(),
    renewBeforeHours: z
      .number()
      .positive()
      .max(90 * 24)
      .optional(),
  })
  .strict()
  .refine(
    (p) => (p.cohort === undefined) !== (p.issuer === undefined),
    'name a cohort or an issuer, one of them',
  )
  .refine(
    (p) => (p.renewAtFraction === undefined) !== (p.renewBeforeHours === undefined),
    'give renewAtFraction or renewBeforeHours, one of them',
  );

/**
 * CERTFLEET_RENEWAL_POLICIES: a JSON array, first match wins, e.g.
 * `[{"cohort":"rsa-legacy","renewAtFraction":0.7},{"issuer":"CN=Partner CA","renewBeforeHours":72}]`.
 */
function parseCohortPolicies(text: string, problems: string[]): CohortPolicy[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push('CERTFLEET_RENEWAL_POLICIES: not JSON (a JSON array of policies)');
    return [];
  }
  const parsed = z.array(cohortPolicySchema).safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // zod quotes an unknown field's name, which is the setting's own text: say it without.
      const message =
        issue.code === 'unrecognized_keys'
          ? 'unknown field (known: cohort, issuer, renewAtFraction, renewBeforeHours)'
          : issue.message;
      problems.push(`CERTFLEET_RENEWAL_POLICIES[${issue.path.join('.')}]: ${message}`);
    }
    return [];
  }
  return parsed.data.map((p) => {
    const policy: RenewalPolicy =
      p.renewAtFraction !== undefined
        ? { kind: 'fraction', fraction: p.renewAtFraction }
        : { kind: 'before', renewBeforeMs: (p.renewBeforeHours ?? 0) * HOUR_MS };
    return {
      ...(p.cohort ? { cohort: p.cohort } : {}),
      ...(p.issuer ? { issuer: p.issuer } : {}),
      policy,
    };
  });
}
