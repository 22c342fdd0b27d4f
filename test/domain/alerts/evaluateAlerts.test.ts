import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { alertTransitionsIn, evaluateAlerts } from '../../../shared/domain/alerts/evaluateAlerts';
import { nextAlertCheckAt } from '../../../shared/domain/alerts/nextAlertCheckAt';
import { nextActionAt, nextRenewalActionAt } from '../../../shared/domain/renewal/nextActionAt';
import { renewalIndexEntry } from '../../../shared/domain/renewal/renewalIndexEntry';
import {
  CRITICAL_FROM,
  HOUR_MS,
  OVERDUE_FROM,
  WARNING_FROM,
  aQuietDevice,
  plus,
} from './alertFixtures';

const DUE = '2026-11-26T12:00:00.000Z';
const UNTIL = '2026-12-01T00:00:00.000Z';
const settings = DEFAULT_ALERT_SETTINGS;

describe('evaluateAlerts', () => {
  it('keeps the open alerts in the record and puts each transition in its audit outbox', () => {
    const record = evaluateAlerts(aQuietDevice(), WARNING_FROM, settings);

    expect(record.alerts?.map((a) => `${a.rule}:${a.severity}`)).toEqual([
      'certificate-expiring:warning',
    ]);
    expect(record.pendingAudit.map((e) => e.type)).toEqual(['alert.raised']);
    expect(alertTransitionsIn(record.pendingAudit)).toEqual([
      expect.objectContaining({ kind: 'raised', rule: 'certificate-expiring', at: WARNING_FROM }),
    ]);
    expect(record.pendingAudit[0]).toMatchObject({
      hub: record.hub,
      deviceId: record.deviceId,
      occurredAt: WARNING_FROM,
      detail: record.alerts![0]!.summary,
    });
  });

  it('changes nothing when evaluated again at the same instant, or later within the window', () => {
    const once = evaluateAlerts(aQuietDevice(), WARNING_FROM, settings);

    expect(evaluateAlerts(once, WARNING_FROM, settings)).toEqual(once);
    expect(evaluateAlerts(once, plus(WARNING_FROM, HOUR_MS), settings).pendingAudit).toEqual(
      once.pendingAudit,
    );
  });

  it('escalates and resolves through the record, each transition once in the outbox', () => {
    const warned = evaluateAlerts(aQuietDevice(), WARNING_FROM, settings);
    const critical = evaluateAlerts(warned, CRITICAL_FROM, settings);
    const deleted = evaluateAlerts(
      { ...critical, lifecycle: 'deleted', deletedAt: plus(CRITICAL_FROM, HOUR_MS) },
      plus(CRITICAL_FROM, HOUR_MS),
      settings,
    );

    expect(
      alertTransitionsIn(deleted.pendingAudit).map((t) => `${t.kind} ${t.rule}:${t.severity}`),
    ).toEqual([
      'raised certificate-expiring:warning',
      'escalated certificate-expiring:critical',
      'raised renewal-overdue:warning',
      'resolved certificate-expiring:critical',
      'resolved renewal-overdue:warning',
    ]);
    expect(deleted.alerts).toBeUndefined();
    expect(deleted.alertCheckAt).toBeUndefined();
    expect(new Set(deleted.pendingAudit.map((e) => e.id)).size).toBe(5);
  });
});

describe('nextAlertCheckAt', () => {
  it('names each window and deadline in turn, and nothing after the expiry', () => {
    const device = aQuietDevice();
    const instants = [plus(DUE, -HOUR_MS), DUE, WARNING_FROM, OVERDUE_FROM, CRITICAL_FROM];

    expect(instants.map((now) => nextAlertCheckAt(device, now, settings))).toEqual([
      DUE,
      WARNING_FROM,
      OVERDUE_FROM,
      CRITICAL_FROM,
      UNTIL,
    ]);
    expect(nextAlertCheckAt(device, UNTIL, settings)).toBeUndefined();
  });

  it('adds the moment a disconnected device has been silent too long', () => {
    const device = {
      ...aQuietDevice(),
      connection: { state: 'disconnected' as const, changedAt: '2026-11-25T00:00:00.000Z' },
      lastSeenAt: '2026-11-24T00:00:00.000Z',
    };

    // Seven days after the disconnection: 2 December, after the expiry, so not a moment.
    expect(nextAlertCheckAt(device, CRITICAL_FROM, settings)).toBe(UNTIL);
    const earlier = {
      ...device,
      connection: { state: 'disconnected' as const, changedAt: '2026-11-20T00:00:00.000Z' },
      lastSeenAt: '2026-11-19T00:00:00.000Z',
    };
    // Silent from 27 November 00:00, before the warning window opens at 06:00.
    expect(nextAlertCheckAt(earlier, plus(DUE, HOUR_MS), settings)).toBe(
      '2026-11-27T00:00:00.000Z',
    );
  });
});

describe('the renewal index with alert checks', () => {
  it('comes back for the alert check first, and keeps the renewal time for the planner', () => {
    const record = evaluateAlerts(aQuietDevice(), plus(DUE, -2 * HOUR_MS), settings);
    const early = { ...record, alertCheckAt: plus(DUE, -HOUR_MS) };

    expect(nextRenewalActionAt(early)).toBe(DUE);
    expect(nextActionAt(early)).toBe(plus(DUE, -HOUR_MS));
    expect(renewalIndexEntry(early)).toMatchObject({
      actionAt: plus(DUE, -HOUR_MS),
      renewalAt: DUE,
      alertCheckAt: plus(DUE, -HOUR_MS),
    });
    // When the renewal comes first, the entry is as it always was, plus the alert check.
    expect(renewalIndexEntry(record)).toEqual({
      hub: record.hub,
      deviceId: record.deviceId,
      actionAt: DUE,
      alertCheckAt: DUE,
      validUntil: UNTIL,
      status: 'healthy',
    });
  });
});
