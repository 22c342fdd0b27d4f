import { AlertState } from '../../../shared/domain/alerts/AlertState';
import {
  AUDIT_CHECKS,
  DEFAULT_AUDIT_CHECK_SETTINGS,
} from '../../../shared/domain/audit/FleetAuditChecks';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { FleetSummary } from '../../../shared/domain/reports/FleetSummary';
import { FleetSummaryBuilder } from '../../../shared/domain/reports/FleetSummaryBuilder';
import { ISSUER, NOW, aDevice } from './reportFixtures';

function summarize(records: DeviceRecord[], alerts: AlertState[] = []): FleetSummary {
  const builder = new FleetSummaryBuilder(NOW, {
    settings: DEFAULT_AUDIT_CHECK_SETTINGS,
    cas: [],
  });
  for (const record of records) builder.add(record);
  for (const alert of alerts) builder.addOpenAlert(alert);
  return builder.summary();
}

/** A device whose certificate expires at `validUntil`. */
const expiringAt = (deviceId: string, validUntil: string) =>
  aDevice(deviceId, { certificate: { validFrom: '2026-11-01T00:00:00.000Z', validUntil } });

const histogramOf = (summary: FleetSummary) =>
  Object.fromEntries(
    summary.expiryHistogram.filter((d) => d.devices > 0).map((d) => [d.date, d.devices]),
  );

function anAlert(rule: AlertState['rule'], severity: AlertState['severity']): AlertState {
  return {
    id: `${rule}-${severity}`,
    rule,
    severity,
    scope: 'device',
    subject: 'contoso-hub/meter-1',
    summary: 'something to act on',
    cause: 'x',
    episodeStartedAt: '2026-11-22T00:00:00.000Z',
    peakSeverity: severity,
  };
}

describe('the fleet summary', () => {
  it('counts only active devices that did not move to another hub', () => {
    const summary = summarize([
      aDevice('meter-1'),
      aDevice('meter-2', { lifecycle: 'deleted' }),
      aDevice('meter-3', {
        renewal: { status: 'moved', attempts: 0, failures: 0, reason: 'moved' },
      }),
    ]);

    expect(summary.at).toBe(NOW);
    expect(summary.devices).toBe(1);
    expect(summary.byHub).toEqual({ 'contoso-hub': 1 });
  });

  it('breaks devices down by state, issuer, key algorithm, hub and cohort', () => {
    const summary = summarize([
      aDevice('meter-1'),
      aDevice('meter-2', { hub: 'plant-b', cohort: 'line-7' }),
      aDevice('meter-3', {
        certificate: { issuer: 'CN=Partner CA', keyAlgorithm: 'RSA 2048' },
        renewal: { status: 'retrying', attempts: 2, failures: 1 },
      }),
      aDevice('meter-4', { certificate: null }),
      aDevice('meter-5', { certificate: { issuer: undefined, keyAlgorithm: undefined } }),
    ]);

    expect(summary.devices).toBe(5);
    expect(summary.byState).toEqual({
      healthy: 3,
      due: 0,
      requested: 0,
      retrying: 1,
      unreachable: 0,
      failed: 0,
      expired: 0,
      unknown: 1,
    });
    expect(summary.byIssuer).toEqual({ 'CN=Partner CA': 1, [ISSUER]: 2, unknown: 2 });
    expect(summary.byKeyAlgorithm).toEqual({ 'ECDSA P-384': 2, 'RSA 2048': 1, unknown: 2 });
    expect(summary.byHub).toEqual({ 'contoso-hub': 4, 'plant-b': 1 });
    expect(summary.byCohort).toEqual({ default: 4, 'line-7': 1 });
  });

  it('keeps a cohort or issuer named __proto__ as a key like any other', () => {
    const summary = summarize([aDevice('meter-1', { cohort: '__proto__' })]);

    expect(Object.getPrototypeOf(summary.byCohort)).toBe(Object.prototype);
    expect(Object.entries(summary.byCohort)).toEqual([['__proto__', 1]]);
    expect(JSON.parse(JSON.stringify(summary.byCohort))).toEqual(JSON.parse('{"__proto__": 1}'));
  });

  it('lists all 90 days of the expiry histogram from the summary day, and counts expired certificates apart', () => {
    const summary = summarize([
      expiringAt('expired-yesterday', '2026-11-22T23:59:59.000Z'),
      expiringAt('expires-now', NOW),
      expiringAt('expires-in-a-millisecond', '2026-11-23T12:00:00.001Z'),
      expiringAt('expires-at-midnight', '2026-11-24T00:00:00.000Z'),
      expiringAt('last-day', '2027-02-20T23:59:59.999Z'),
      expiringAt('beyond-90-days', '2027-02-21T00:00:00.000Z'),
    ]);

    expect(summary.expiryHistogram).toHaveLength(90);
    expect(summary.expiryHistogram[0]!.date).toBe('2026-11-23');
    expect(summary.expiryHistogram[89]!.date).toBe('2027-02-20');
    // validUntil <= at is expired, as the renewal state machine and the audit checks say.
    expect(summary.expired).toBe(2);
    expect(histogramOf(summary)).toEqual({
      '2026-11-23': 1,
      '2026-11-24': 1,
      '2027-02-20': 1,
    });
  });

  it('lists renewal outcomes for each of the last 30 days, oldest first', () => {
    const summary = summarize([
      // Renewed on 20 November, before the old certificate ran out.
      aDevice('renewed', {
        history: [
          { validUntil: '2026-11-30T00:00:00.000Z', firstSeenAt: '2026-10-31T00:00:00.000Z' },
          { validUntil: '2026-12-30T00:00:00.000Z', firstSeenAt: '2026-11-20T08:00:00.000Z' },
        ],
      }),
      // Expired on 10 November; re-provisioned on the 12th: an expiry, not a renewal.
      aDevice('reprovisioned', {
        history: [
          { validUntil: '2026-11-10T06:00:00.000Z', firstSeenAt: '2026-10-11T00:00:00.000Z' },
          { validUntil: '2026-12-12T00:00:00.000Z', firstSeenAt: '2026-11-12T00:00:00.000Z' },
        ],
      }),
      // Its current certificate expired this morning, unrenewed.
      aDevice('expired', {
        certificate: { validUntil: '2026-11-23T06:00:00.000Z' },
        history: [
          { validUntil: '2026-11-23T06:00:00.000Z', firstSeenAt: '2026-10-24T00:00:00.000Z' },
        ],
        renewal: { status: 'expired', attempts: 0, failures: 0 },
      }),
      // certfleet gave up on the 21st, at its last attempt.
      aDevice('gave-up', {
        renewal: {
          status: 'failed',
          attempts: 8,
          failures: 8,
          startedAt: '2026-11-19T00:00:00.000Z',
          lastAttempt: { at: '2026-11-21T03:00:00.000Z', requestId: 'r8', outcome: 'refused' },
        },
      }),
      // A renewal 31 days ago is outside the window.
      aDevice('long-ago', {
        history: [
          { validUntil: '2026-11-30T00:00:00.000Z', firstSeenAt: '2026-10-01T00:00:00.000Z' },
          { validUntil: '2026-12-30T00:00:00.000Z', firstSeenAt: '2026-10-23T23:59:59.999Z' },
        ],
      }),
    ]);

    expect(summary.renewalOutcomes).toHaveLength(30);
    expect(summary.renewalOutcomes[0]!.date).toBe('2026-10-25');
    expect(summary.renewalOutcomes[29]!.date).toBe('2026-11-23');
    const busy = summary.renewalOutcomes.filter((d) => d.renewed + d.failed + d.expired > 0);
    expect(busy).toEqual([
      { date: '2026-11-10', renewed: 0, failed: 0, expired: 1 },
      { date: '2026-11-20', renewed: 1, failed: 0, expired: 0 },
      { date: '2026-11-21', renewed: 0, failed: 1, expired: 0 },
      { date: '2026-11-23', renewed: 0, failed: 0, expired: 1 },
    ]);
  });

  it('does not count the last certificate of an earlier life of the device id as expired', () => {
    const summary = summarize([
      aDevice('recreated', {
        certificate: null,
        history: [
          {
            validUntil: '2026-11-15T00:00:00.000Z',
            firstSeenAt: '2026-10-16T00:00:00.000Z',
            incarnation: 0,
          },
        ],
      }),
    ]);

    expect(summary.renewalOutcomes.filter((d) => d.expired > 0)).toEqual([]);
  });

  it('counts open alerts by severity and by rule, listing every severity and rule', () => {
    const summary = summarize(
      [],
      [
        anAlert('certificate-expired', 'critical'),
        anAlert('certificate-expiring', 'warning'),
        anAlert('certificate-expiring', 'critical'),
      ],
    );

    expect(summary.openAlerts.total).toBe(3);
    expect(summary.openAlerts.bySeverity).toEqual({ critical: 2, warning: 1 });
    expect(summary.openAlerts.byRule['certificate-expiring']).toBe(2);
    expect(summary.openAlerts.byRule['certificate-expired']).toBe(1);
    expect(summary.openAlerts.byRule['renewal-failed']).toBe(0);
  });

  it('counts the fleet audit checks’ findings, every check listed', () => {
    const shared = 'C'.repeat(64);
    const summary = summarize([
      aDevice('twin-1', { certificate: { thumbprintSha256: shared } }),
      aDevice('twin-2', { certificate: { thumbprintSha256: shared } }),
      aDevice('weak', { certificate: { keyAlgorithm: 'RSA 1024', keySize: 1024 } }),
      expiringAt('soon', '2026-11-30T00:00:00.000Z'),
    ]);

    expect(Object.keys(summary.findings)).toEqual([...AUDIT_CHECKS]);
    expect(summary.findings).toMatchObject({
      'certificate-shared': 1,
      'weak-key-or-signature': 1,
      'device-certificate-expiring': 1,
      'distrusted-issuer': 0,
    });
  });

  it('summarises an empty fleet with every day and every count at zero', () => {
    const summary = summarize([]);

    expect(summary.devices).toBe(0);
    expect(summary.expiryHistogram.every((d) => d.devices === 0)).toBe(true);
    expect(summary.renewalOutcomes.every((d) => d.renewed + d.failed + d.expired === 0)).toBe(true);
    expect(Object.values(summary.findings).every((n) => n === 0)).toBe(true);
  });
});
