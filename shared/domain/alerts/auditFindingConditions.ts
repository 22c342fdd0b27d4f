import { AuditCheck, AuditFinding } from '../audit/FleetAuditChecks';
import { AlertCondition } from './AlertCondition';
import { AlertRule, AlertSeverity, higherSeverity } from './AlertRule';

/**
 * The fleet audit checks whose findings are alerts of their own: one fleet alert per check that
 * found anything (how many devices, a sample, the worst severity), resolved by the first daily
 * run that finds nothing. The other checks already have an alert rule that fires from each
 * ledger write (certificate-expiring/expired, key-not-rotated) or from the daily review
 * (ca-expiring), so they are not alerted twice.
 */
export const ALERTED_AUDIT_CHECKS = [
  'certificate-shared',
  'public-key-shared',
  'weak-key-or-signature',
  'validity-too-long',
  'distrusted-issuer',
] as const satisfies readonly (AuditCheck & AlertRule)[];

const SAMPLE = 10;

const WHAT: Record<(typeof ALERTED_AUDIT_CHECKS)[number], string> = {
  'certificate-shared': 'hold a certificate another device also holds',
  'public-key-shared': 'have a public key another device also has',
  'weak-key-or-signature': 'have a weak key or signature algorithm',
  'validity-too-long': "have a certificate valid longer than the fleet's policy",
  'distrusted-issuer': 'have a certificate from a distrusted issuer',
};

export function auditFindingConditions(findings: readonly AuditFinding[]): AlertCondition[] {
  const conditions: AlertCondition[] = [];
  for (const check of ALERTED_AUDIT_CHECKS) {
    const found = findings.filter((f) => f.check === check);
    if (found.length === 0) continue;
    const devices = [...new Set(found.flatMap((f) => f.devices))].sort();
    const severity = found.reduce<AlertSeverity>(
      (worst, f) => higherSeverity(worst, f.severity),
      'warning',
    );
    conditions.push({
      rule: check,
      severity,
      scope: 'fleet',
      subject: `audit ${check}`,
      summary:
        `${devices.length} device${devices.length === 1 ? '' : 's'} ${WHAT[check]} ` +
        `(${found.length} finding${found.length === 1 ? '' : 's'} of the daily fleet audit): ` +
        '`certfleet audit checks` lists them.',
      cause: `check=${check}`,
      count: devices.length,
      sample: devices.slice(0, SAMPLE),
    });
  }
  return conditions;
}
