import { FleetReports } from '../../../shared/app/reports/FleetReports';
import { AlertTransition } from '../../../shared/domain/alerts/AlertState';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../../shared/domain/audit/FleetAuditChecks';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { ManualClock } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { auditTrailQueryFrom } from '../../../shared/domain/reports/AuditTrailQuery';
import { deviceFilterFrom } from '../../../shared/domain/reports/DeviceFilter';
import { startCampaign } from '../../../shared/domain/renewal/renewalTransitions';
import { InMemoryAlertStore } from '../../support/InMemoryAlertStore';
import { InMemoryAuditTrail, InMemoryLedger } from '../../support/memoryPorts';
import {
  AT,
  DEVICE,
  HUB,
  aCertificate,
  aContext,
  aRenewal,
  appliedRecord,
  patch,
} from '../../support/ledgerEvents';
import { accepted, asked, flushed, refused } from '../../support/renewalRecords';
import { aDevice } from '../../domain/reports/reportFixtures';

/** The reports over the in-memory ports, on 28 November 2026 (the ledger fixtures' NOW). */
const TODAY = '2026-11-28T12:00:00.000Z';

function world() {
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const alertStore = new InMemoryAlertStore();
  const reports = new FleetReports({
    ledger,
    alertStore,
    audit,
    clock: new ManualClock(TODAY),
    auditChecks: DEFAULT_AUDIT_CHECK_SETTINGS,
    cas: [],
  });
  return { ledger, audit, alertStore, reports };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function filterOf(query: Parameters<typeof deviceFilterFrom>[0]) {
  const parsed = deviceFilterFrom(query);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.filter;
}

/**
 * A device's life through the real transitions: first seen on 1 November, a manual renewal
 * asked for by alice on the 26th, refused once, then accepted, and the new certificate reported
 * that afternoon. Returns the record as stored and every audit entry on the way.
 */
function aRenewedDevice(): { record: DeviceRecord; entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  const step = (record: DeviceRecord) => {
    entries.push(...record.pendingAudit);
    return flushed(record);
  };
  let record = step(
    appliedRecord(applyLedgerEvent(undefined, patch(1, aCertificate()), aContext())),
  );
  record = step(
    startCampaign(record, '2026-11-26T10:00:00.000Z', 'manual', {
      who: 'function key holder (claimed: alice)',
      why: 'key rotation drill',
    }),
  );
  record = step(asked(record, refused(503), '2026-11-26T10:00:01.000Z'));
  record = step(asked(record, accepted(), '2026-11-26T12:00:00.000Z'));
  record = step(
    appliedRecord(
      applyLedgerEvent(record, patch(2, aRenewal(), { occurredAt: AT.renewalReport }), aContext()),
    ),
  );
  return { record, entries };
}

function anAlertRaised(deviceId: string, at: string): AuditEntry {
  const alert: AlertTransition = {
    id: `t-${deviceId}`,
    alertId: `a-${deviceId}`,
    kind: 'raised',
    at,
    episodeStartedAt: at,
    rule: 'certificate-expiring',
    severity: 'warning',
    scope: 'device',
    subject: `${HUB}/${deviceId}`,
    summary: 'expires in 5 days with no renewal making progress',
    cause: 'x',
    hub: HUB,
    deviceId,
  };
  return {
    id: `alert-${deviceId}-${at}`,
    type: 'alert.raised',
    hub: HUB,
    deviceId,
    occurredAt: at,
    recordedAt: at,
    alert,
  };
}

describe('the fleet reports', () => {
  it('summarises the ledger and the open alerts in one pass each', async () => {
    const { ledger, alertStore, reports } = world();
    await ledger.write(aDevice('meter-1'), undefined);
    await ledger.write(aDevice('meter-2', { certificate: null }), undefined);
    const raised = anAlertRaised('meter-1', '2026-11-27T00:00:00.000Z').alert!;
    await alertStore.applyTransitions([raised]);

    const summary = await reports.summary();

    expect(summary.at).toBe(TODAY);
    expect(summary.devices).toBe(2);
    expect(summary.byState).toMatchObject({ healthy: 1, unknown: 1 });
    expect(summary.openAlerts).toMatchObject({ total: 1, bySeverity: { warning: 1 } });
  });

  it('lists the devices of one hub and state, leaving out deleted ones', async () => {
    const { ledger, reports } = world();
    for (const record of [
      aDevice('meter-1'),
      aDevice('meter-2', { hub: 'plant-b' }),
      aDevice('meter-3', { lifecycle: 'deleted' }),
      aDevice('meter-4', { renewal: { status: 'due', attempts: 0, failures: 0 } }),
    ])
      await ledger.write(record, undefined);

    const healthy = await collect(
      reports.devices(filterOf({ hub: 'contoso-hub', state: 'healthy' })),
    );

    expect(healthy.map((r) => r.deviceId)).toEqual(['meter-1']);
  });

  it('lists the devices sharing a certificate after a first pass over the whole fleet', async () => {
    const { ledger, reports } = world();
    const shared = { thumbprintSha256: 'D'.repeat(64) };
    await ledger.write(aDevice('copy-a', { certificate: shared }), undefined);
    await ledger.write(aDevice('copy-b', { hub: 'plant-b', certificate: shared }), undefined);
    await ledger.write(aDevice('own'), undefined);

    const sharing = await collect(reports.devices(filterOf({ finding: 'certificate-shared' })));
    const inOneHub = await collect(
      reports.devices(filterOf({ finding: 'certificate-shared', hub: 'plant-b' })),
    );

    expect(sharing.map((r) => `${r.hub}/${r.deviceId}`)).toEqual([
      'contoso-hub/copy-a',
      'plant-b/copy-b',
    ]);
    // Shared with a device of another hub: the first pass reads every hub.
    expect(inOneHub.map((r) => r.deviceId)).toEqual(['copy-b']);
  });

  it('streams the device list as CSV text with a header and CRLF records', async () => {
    const { ledger, reports } = world();
    await ledger.write(aDevice('meter-1'), undefined);

    const text = (await collect(reports.deviceText('csv', {}))).join('');

    const lines = text.split('\r\n');
    expect(lines[0]).toMatch(/^hub,deviceId,state,/);
    expect(lines[1]).toMatch(/^contoso-hub,meter-1,healthy,/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
  });

  it("tells a device's history: certificates, the campaign with who asked, attempts, outcome and alerts", async () => {
    const { ledger, audit, reports } = world();
    const { record, entries } = aRenewedDevice();
    await ledger.write(record, undefined);
    await audit.append(
      [
        ...entries,
        anAlertRaised(DEVICE, '2026-11-25T00:00:00.000Z'),
        anAlertRaised('someone-else', '2026-11-25T00:00:00.000Z'),
      ],
      { mayAlreadyBeWritten: false },
    );

    const lookup = await reports.history(DEVICE);

    if (!('found' in lookup)) throw new Error('expected the device');
    const history = lookup.found;
    expect(history.certificates.map((c) => [c.validUntil, c.current])).toEqual([
      ['2026-12-01T00:00:00.000Z', false],
      ['2026-12-26T00:00:00.000Z', true],
    ]);
    expect(history.campaigns).toHaveLength(1);
    const [campaign] = history.campaigns;
    expect(campaign).toMatchObject({
      trigger: 'manual',
      startedAt: '2026-11-26T10:00:00.000Z',
      requestedBy: 'function key holder (claimed: alice)',
      reason: 'key rotation drill',
      outcome: 'succeeded',
      endedAt: AT.renewalReport,
    });
    expect(campaign!.attempts.map((a) => [a.outcome, a.status])).toEqual([
      ['refused', 503],
      ['accepted', 202],
    ]);
    expect(campaign!.failures).toHaveLength(1);
    expect(history.events.map((e) => [e.type, e.renewedBy])).toEqual([
      ['certificate.first-seen', null],
      ['certificate.renewed', 'certfleet'],
    ]);
    expect(history.alerts.transitions.map((t) => [t.kind, t.rule])).toEqual([
      ['raised', 'certificate-expiring'],
    ]);
    // From the day it was first seen to today, and nothing of another device.
    expect(history.trail).toEqual({
      from: '2026-11-01',
      to: '2026-11-28',
      dates: 28,
      records: entries.length + 1,
      badLines: 0,
    });
  });

  it('reads only the dates asked for when the history is narrowed', async () => {
    const { ledger, audit, reports } = world();
    const { record, entries } = aRenewedDevice();
    await ledger.write(record, undefined);
    await audit.append(entries, { mayAlreadyBeWritten: false });
    const read: string[] = [];
    const readDate = audit.readDate.bind(audit);
    audit.readDate = (date: string) => {
      read.push(date);
      return readDate(date);
    };

    const lookup = await reports.history(DEVICE, { from: '2026-11-26', to: '2026-11-27' });

    expect(read.sort()).toEqual(['2026-11-26', '2026-11-27']);
    if (!('found' in lookup)) throw new Error('expected the device');
    expect(lookup.found.events.map((e) => e.type)).toEqual(['certificate.renewed']);
    expect(lookup.found.campaigns[0]!.outcome).toBe('succeeded');
  });

  it('answers missing and ambiguous devices as the device lookup does', async () => {
    const { ledger, reports } = world();
    await ledger.write(aDevice('twin', { hub: 'plant-a' }), undefined);
    await ledger.write(aDevice('twin', { hub: 'plant-b' }), undefined);

    expect(await reports.history('nobody')).toEqual({ missing: true });
    expect(await reports.history('twin')).toEqual({ ambiguous: ['plant-a', 'plant-b'] });
    expect('found' in (await reports.history('twin', { hub: 'plant-b' }))).toBe(true);
  });

  it('streams the audit trail of a time range, one device and some types', async () => {
    const { audit, reports } = world();
    const { entries } = aRenewedDevice();
    await audit.append([...entries, anAlertRaised('someone-else', '2026-11-26T11:00:00.000Z')], {
      mayAlreadyBeWritten: false,
    });
    const parsed = auditTrailQueryFrom({
      from: '2026-11-26',
      to: '2026-11-26',
      device: DEVICE,
      types: ['renewal.requested,renewal.succeeded'],
    });
    if ('problem' in parsed) throw new Error(parsed.problem);

    const trail = await collect(reports.trail(parsed.query));

    expect(trail.map((e) => [e.type, e.occurredAt])).toEqual([
      ['renewal.requested', '2026-11-26T10:00:01.000Z'],
      ['renewal.requested', '2026-11-26T12:00:00.000Z'],
      ['renewal.succeeded', AT.renewalReport],
    ]);
  });
});
