import { sameDistinguishedName } from './Certificate';

/**
 * How far into a certificate's lifetime renewal falls due (cert-manager's `renewBefore` /
 * renewal fraction, see docs/renewal.md, "When renewal falls due"):
 *
 * - `fraction`: renew once this share of the lifetime (validFrom -> validUntil) has passed.
 * - `before`: renew this long before validUntil (clamped to the lifetime).
 */
export type RenewalPolicy =
  { kind: 'fraction'; fraction: number } | { kind: 'before'; renewBeforeMs: number };

/**
 * Default: 85% of the lifetime. Microsoft's device guidance has devices renew themselves at
 * 80%; certfleet is the safety net, so it steps in after a device had its own chance, and still
 * leaves 15% of the lifetime (a day for a 7-day certificate) to get it done.
 */
export const DEFAULT_RENEWAL_POLICY: RenewalPolicy = { kind: 'fraction', fraction: 0.85 };

/**
 * A policy for a cohort of devices: those whose twin tag (CERTFLEET_COHORT_TAG) has this value,
 * or whose certificate has this issuer. Cohorts can differ: a partner CA's 90-day certificates
 * and ADR's 7-day ones need different lead times.
 */
export interface CohortPolicy {
  cohort?: string;
  issuer?: string;
  policy: RenewalPolicy;
}

/** The first cohort policy that matches the device, else the default. */
export function policyFor(
  fallback: RenewalPolicy,
  cohorts: readonly CohortPolicy[],
  device: { cohort?: string | undefined; issuer?: string | undefined },
): RenewalPolicy {
  for (const rule of cohorts) {
    if (rule.cohort !== undefined && rule.cohort === device.cohort) return rule.policy;
    if (
      rule.issuer !== undefined &&
      device.issuer &&
      sameDistinguishedName(rule.issuer, device.issuer)
    ) {
      return rule.policy;
    }
  }
  return fallback;
}

/**
 * When certfleet should step in to renew a certificate: a pure function of the certificate's
 * real lifetime and a policy.
 */
export function renewalDueAt(
  validity: { validFrom: string; validUntil: string },
  policy: RenewalPolicy,
): string {
  const from = Date.parse(validity.validFrom);
  const until = Date.parse(validity.validUntil);
  const lifetime = Math.max(0, until - from);
  const due =
    policy.kind === 'fraction'
      ? from + Math.floor(lifetime * policy.fraction)
      : until - Math.min(policy.renewBeforeMs, lifetime);
  return new Date(due).toISOString();
}
