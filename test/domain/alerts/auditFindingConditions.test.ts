import { auditFindingConditions } from '../../../shared/domain/alerts/auditFindingConditions';
import { AuditFinding } from '../../../shared/domain/audit/FleetAuditChecks';

function aFinding(overrides: Partial<AuditFinding>): AuditFinding {
  return {
    check: 'certificate-shared',
    severity: 'critical',
    summary: 'a finding',
    devices: ['hub/a', 'hub/b'],
    ...overrides,
  };
}

describe('the alerts on the fleet audit findings', () => {
  it('are one fleet alert per check with findings, counting each device once, with its worst severity', () => {
    const conditions = auditFindingConditions([
      aFinding({ devices: ['hub/b', 'hub/a'] }),
      aFinding({ devices: ['hub/a', 'hub/c'] }),
      aFinding({ check: 'validity-too-long', severity: 'warning', devices: ['hub/x'] }),
      aFinding({ check: 'distrusted-issuer', severity: 'warning', devices: ['hub/y'] }),
      aFinding({ check: 'distrusted-issuer', severity: 'critical', devices: ['hub/z'] }),
    ]);

    expect(conditions.map((c) => [c.rule, c.severity, c.count, c.sample])).toEqual([
      ['certificate-shared', 'critical', 3, ['hub/a', 'hub/b', 'hub/c']],
      ['validity-too-long', 'warning', 1, ['hub/x']],
      ['distrusted-issuer', 'critical', 2, ['hub/y', 'hub/z']],
    ]);
    expect(conditions.every((c) => c.scope === 'fleet')).toBe(true);
    expect(conditions[0]?.summary).toBe(
      '3 devices hold a certificate another device also holds (2 findings of the daily fleet audit): `certfleet audit checks` lists them.',
    );
  });

  it('leave the checks that have alert rules of their own to them, and sample ten devices', () => {
    const many = Array.from({ length: 25 }, (_, i) => `hub/d-${String(i).padStart(2, '0')}`);
    const conditions = auditFindingConditions([
      aFinding({ check: 'device-certificate-expiring', devices: ['hub/a'] }),
      aFinding({ check: 'ca-certificate-expiring', devices: [] }),
      aFinding({ check: 'key-not-rotated', devices: ['hub/a'] }),
      aFinding({ check: 'weak-key-or-signature', devices: many }),
    ]);

    expect(conditions.map((c) => c.rule)).toEqual(['weak-key-or-signature']);
    expect(conditions[0]?.count).toBe(25);
    expect(conditions[0]?.sample).toEqual(many.slice(0, 10));
  });
});
