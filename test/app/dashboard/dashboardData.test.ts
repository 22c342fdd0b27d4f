import fc from 'fast-check';
import { DashboardData, FleetSummarySource } from '../../../shared/app/dashboard/DashboardData';
import {
  AttentionDevice,
  MostUrgent,
  moreUrgentFirst,
  needsAttention,
} from '../../../shared/app/dashboard/needsAttention';
import { AlertRule, AlertSeverity } from '../../../shared/domain/alerts/AlertRule';
import { AlertState, alertId } from '../../../shared/domain/alerts/AlertState';
import { ManualClock } from '../../../shared/domain/Clock';
import { DeviceRecord, newDeviceRecord } from '../../../shared/domain/DeviceRecord';
import { finding } from '../../../shared/domain/Finding';
import { FleetSummary } from '../../../shared/domain/reports/FleetSummary';
import { RenewalStatus } from '../../../shared/domain/renewal/RenewalState';
import { InMemoryAlertStore } from '../../support/InMemoryAlertStore';
import { InMemoryLedger } from '../../support/memoryPorts';

/**
 * The dashboard's own data: the devices needing attention (most urgent first, bounded) and the
 * open alerts (critical first, bounded), from the ledger and the alert store; the summary comes
 * from the fleet reports as it is.
 */
const NOW = '2026-11-23T12:00:00.000Z';
const HUB = 'contoso-hub';

function aRecord(
  deviceId: string,
  options: {
    hub?: string;
    status?: RenewalStatus;
    validUntil?: string | null;
    critical?: 'finding' | AlertRule;
    warningFinding?: boolean;
    lifecycle?: 'active' | 'deleted';
  } = {},
): DeviceRecord {
  const record = newDeviceRecord(options.hub ?? HUB, deviceId, '2026-11-01T00:00:00.000Z');
  if (options.validUntil !== null) {
    record.current = {
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: options.validUntil ?? '2027-01-01T00:00:00.000Z',
      issuer: 'CN=Contoso Issuing CA',
      firstSeenAt: '2026-11-01T00:00:00.000Z',
      reportedVersion: 2,
    };
  }
  if (options.status && options.status !== 'healthy') {
    record.renewal = {
      status: options.status,
      attempts: 1,
      failures: 0,
      lastAttempt: { at: '2026-11-23T10:00:00.000Z', requestId: 'r-1', outcome: 'offline' },
      nextAttemptAt: '2026-11-23T16:00:00.000Z',
    };
  }
  if (options.critical === 'finding') {
    record.findings.push(finding('chain-untrusted', 'does not verify', NOW));
  } else if (options.critical) {
    record.alerts = [anAlert(options.critical, 'critical', record)];
  }
  if (options.warningFinding) record.findings.push(finding('key-not-rotated', 'same key', NOW));
  if (options.lifecycle) record.lifecycle = options.lifecycle;
  return record;
}

function anAlert(
  rule: AlertRule,
  severity: AlertSeverity,
  device?: { hub: string; deviceId: string },
  raisedAt = '2026-11-22T00:00:00.000Z',
): AlertState {
  const scope = device ? 'device' : 'fleet';
  const subject = device ? `${device.hub}/${device.deviceId}` : `${rule};issuer=CN=CA`;
  return {
    id: alertId({ scope, rule, subject }, raisedAt),
    rule,
    severity,
    scope,
    subject,
    summary: `${rule} about ${subject}`,
    cause: 'issuer=CN=CA',
    episodeStartedAt: raisedAt,
    peakSeverity: severity,
    ...(device ? { hub: device.hub, deviceId: device.deviceId } : { count: 12 }),
  };
}

async function aDashboard(
  records: DeviceRecord[],
  alerts: AlertState[] = [],
  limits: { attention?: number; alerts?: number } = {},
) {
  const ledger = new InMemoryLedger();
  for (const record of records) await ledger.write(record, undefined);
  const store = new InMemoryAlertStore();
  for (const a of alerts) store.open.set(`${a.scope}\n${a.rule}\n${a.subject}`, a);
  const summary = { at: NOW, devices: records.length } as FleetSummary;
  const reports: FleetSummarySource = { summary: async () => summary };
  return {
    dashboard: new DashboardData({
      ledger,
      alerts: store,
      reports,
      clock: new ManualClock(NOW),
      limits,
    }),
    summary,
  };
}

const ids = (devices: AttentionDevice[]) => devices.map((d) => d.deviceId);

describe('the devices needing attention', () => {
  it('lists renewals under way or stuck, expired certificates and critical findings or alerts, and no other device', async () => {
    const { dashboard } = await aDashboard([
      aRecord('healthy'),
      aRecord('no-certificate-yet', { validUntil: null }),
      aRecord('warning-only', { warningFinding: true }),
      aRecord('due', { status: 'due' }),
      aRecord('requested', { status: 'requested' }),
      aRecord('retrying', { status: 'retrying' }),
      aRecord('unreachable', { status: 'unreachable' }),
      aRecord('failed', { status: 'failed' }),
      aRecord('expired', { status: 'expired', validUntil: '2026-11-20T00:00:00.000Z' }),
      aRecord('leaked-key', { critical: 'finding' }),
      aRecord('critical-alert', { critical: 'certificate-expiring' }),
    ]);

    const { total, devices } = await dashboard.attention();

    expect(total).toBe(8);
    expect(ids(devices).sort()).toEqual(
      [
        'critical-alert',
        'due',
        'expired',
        'failed',
        'leaked-key',
        'requested',
        'retrying',
        'unreachable',
      ].sort(),
    );
  });

  it('puts expired first, then what certfleet cannot fix alone, then renewals in trouble, then renewals under way', async () => {
    const { dashboard } = await aDashboard([
      aRecord('due', { status: 'due', validUntil: '2026-11-24T00:00:00.000Z' }),
      aRecord('unreachable', { status: 'unreachable', validUntil: '2026-12-20T00:00:00.000Z' }),
      aRecord('failed', { status: 'failed', validUntil: '2026-12-30T00:00:00.000Z' }),
      aRecord('expired', { status: 'expired', validUntil: '2026-11-01T00:00:00.000Z' }),
      aRecord('leaked-key', { critical: 'finding', validUntil: '2027-06-01T00:00:00.000Z' }),
      aRecord('retrying', { status: 'retrying', validUntil: '2026-12-10T00:00:00.000Z' }),
      aRecord('requested', { status: 'requested', validUntil: '2026-11-25T00:00:00.000Z' }),
    ]);

    const { devices } = await dashboard.attention();

    expect(devices.map((d) => [d.deviceId, d.tier])).toEqual([
      ['expired', 0],
      ['failed', 1],
      ['leaked-key', 1],
      ['retrying', 2],
      ['unreachable', 2],
      ['due', 3],
      ['requested', 3],
    ]);
  });

  it('orders devices of one tier by the earliest expiry, then by hub and device id', async () => {
    const { dashboard } = await aDashboard([
      aRecord('late', { status: 'due', validUntil: '2026-12-20T00:00:00.000Z' }),
      aRecord('b', { status: 'due', validUntil: '2026-12-01T00:00:00.000Z' }),
      aRecord('a', { status: 'due', validUntil: '2026-12-01T00:00:00.000Z', hub: 'z-hub' }),
      aRecord('a', { status: 'requested', validUntil: '2026-12-01T00:00:00.000Z' }),
      aRecord('soon', { status: 'requested', validUntil: '2026-11-24T00:00:00.000Z' }),
    ]);

    const { devices } = await dashboard.attention();

    expect(devices.map((d) => `${d.hub}/${d.deviceId}`)).toEqual([
      'contoso-hub/soon',
      'contoso-hub/a',
      'contoso-hub/b',
      'z-hub/a',
      'contoso-hub/late',
    ]);
  });

  it('counts a certificate past its expiry as expired before the sweep has marked it so', async () => {
    const { dashboard } = await aDashboard([
      aRecord('quietly-expired', { status: 'requested', validUntil: '2026-11-23T11:59:59.000Z' }),
      aRecord('expires-this-instant', { validUntil: NOW }),
      aRecord('a-second-to-go', { validUntil: '2026-11-23T12:00:01.000Z' }),
    ]);

    const { devices } = await dashboard.attention();

    expect(devices.map((d) => [d.deviceId, d.tier, d.reasons])).toEqual([
      ['quietly-expired', 0, ['expired', 'requested']],
      ['expires-this-instant', 0, ['expired']],
    ]);
  });

  it('says why each device is listed, with finding codes and alert rules but not their messages', () => {
    const record = aRecord('both', { status: 'failed', critical: 'finding' });
    record.alerts = [anAlert('renewal-failed', 'critical', record)];
    record.renewal!.reason = 'gave up after 6 failures';

    const device = needsAttention(record, NOW)!;

    expect(device.reasons).toEqual([
      'failed',
      'critical finding: chain-untrusted',
      'critical alert: renewal-failed',
    ]);
    expect(device).toMatchObject({
      status: 'failed',
      tier: 1,
      issuer: 'CN=Contoso Issuing CA',
      lastAttempt: { at: '2026-11-23T10:00:00.000Z', outcome: 'offline' },
      nextAttemptAt: '2026-11-23T16:00:00.000Z',
      renewalReason: 'gave up after 6 failures',
    });
    expect(JSON.stringify(device)).not.toContain('does not verify');
  });

  it('leaves out deleted devices and records whose device moved to another hub', async () => {
    const { dashboard } = await aDashboard([
      aRecord('deleted', { status: 'failed', lifecycle: 'deleted' }),
      aRecord('moved', { status: 'moved' }),
      aRecord('failed', { status: 'failed' }),
    ]);

    expect(ids((await dashboard.attention()).devices)).toEqual(['failed']);
  });

  it('counts every device needing attention but lists only the most urgent, up to its limit', async () => {
    const records = Array.from({ length: 40 }, (_, i) =>
      aRecord(`d-${String(i).padStart(2, '0')}`, {
        status: i % 2 === 0 ? 'due' : 'failed',
        validUntil: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00.000Z`,
      }),
    );
    const { dashboard } = await aDashboard(records, [], { attention: 5 });

    const { total, devices, limit } = await dashboard.attention();

    expect(total).toBe(40);
    expect(limit).toBe(5);
    expect(ids(devices)).toEqual(['d-01', 'd-29', 'd-03', 'd-31', 'd-05']);
  });

  it('keeps exactly the first of a full sort, whatever the order the ledger gives and the limit', () => {
    const candidate = fc.record({
      tier: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
      validUntil: fc.option(
        fc.integer({ min: 0, max: 60 }).map((d) => new Date(Date.UTC(2026, 10, d)).toISOString()),
        { nil: undefined },
      ),
      hub: fc.constantFrom('a', 'b'),
      deviceId: fc.string({ minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 60 }), fc.nat(12), (candidates, limit) => {
        const devices = candidates.map((c): AttentionDevice => ({
          hub: c.hub,
          deviceId: c.deviceId,
          tier: c.tier,
          status: 'due',
          reasons: ['due'],
          ...(c.validUntil ? { validUntil: c.validUntil } : {}),
        }));
        const urgent = new MostUrgent(limit);
        for (const d of devices) urgent.add(d);

        const expected = [...devices].sort(moreUrgentFirst).slice(0, limit);
        expect(urgent.devices().map((d) => [d.tier, d.validUntil, d.hub, d.deviceId])).toEqual(
          expected.map((d) => [d.tier, d.validUntil, d.hub, d.deviceId]),
        );
        expect(urgent.total).toBe(devices.length);
      }),
    );
  });
});

describe('the open alerts the dashboard lists', () => {
  it('counts every open alert, lists the first up to its limit, critical first, then by rule and age', async () => {
    const alerts = [
      anAlert('key-not-rotated', 'warning', { hub: HUB, deviceId: 'w-1' }),
      anAlert(
        'certificate-expiring',
        'critical',
        { hub: HUB, deviceId: 'c-2' },
        '2026-11-21T00:00:00.000Z',
      ),
      anAlert('certificate-expired', 'critical', { hub: HUB, deviceId: 'c-1' }),
      anAlert(
        'certificate-expiring',
        'critical',
        { hub: HUB, deviceId: 'c-3' },
        '2026-11-20T00:00:00.000Z',
      ),
      anAlert('device-silent', 'warning', { hub: HUB, deviceId: 'w-2' }),
    ];
    const { dashboard } = await aDashboard([], alerts, { alerts: 3 });

    const listed = await dashboard.openAlerts();

    expect(listed.total).toBe(5);
    expect(listed.alerts.map((a) => [a.severity, a.rule, a.deviceId])).toEqual([
      ['critical', 'certificate-expired', 'c-1'],
      ['critical', 'certificate-expiring', 'c-3'],
      ['critical', 'certificate-expiring', 'c-2'],
    ]);
  });

  it('marks a device alert that an open fleet alert speaks for', async () => {
    const fleet = anAlert('certificate-expiring', 'critical');
    const device = anAlert('certificate-expiring', 'critical', { hub: HUB, deviceId: 'c-1' });
    const { dashboard } = await aDashboard([], [fleet, device]);

    const listed = await dashboard.openAlerts();

    expect(listed.alerts.find((a) => a.deviceId === 'c-1')?.rolledUpInto).toBe(fleet.id);
    expect(listed.alerts.find((a) => a.scope === 'fleet')?.count).toBe(12);
  });
});

describe('the dashboard view', () => {
  it('brings the fleet summary, the attention list and the open alerts together', async () => {
    const { dashboard, summary } = await aDashboard(
      [aRecord('failed', { status: 'failed' })],
      [anAlert('renewal-failed', 'critical', { hub: HUB, deviceId: 'failed' })],
    );

    const view = await dashboard.view();

    expect(view.summary).toBe(summary);
    expect(ids(view.attention.devices)).toEqual(['failed']);
    expect(view.openAlerts.total).toBe(1);
    expect(view.attention.limit).toBe(50);
    expect(view.openAlerts.limit).toBe(100);
  });
});
