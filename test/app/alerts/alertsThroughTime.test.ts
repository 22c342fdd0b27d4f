import { AuditOutbox } from '../../../shared/app/AuditOutbox';
import { alertsOnWrite } from '../../../shared/app/alerts/alertsOnWrite';
import { updateRecord } from '../../../shared/app/updateRecord';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { AlertTransition } from '../../../shared/domain/alerts/AlertState';
import { aCertificate, aContext, patch } from '../../support/ledgerEvents';
import { DUE, HUB, RenewalWorld, UNTIL, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * Alerts driven through time by the renewal sweep alone (every 10 minutes, the delivery after
 * each): a 30-day certificate whose device never answers. Its windows (docs/alerts.md): the
 * warning at the later of 14 days and 1/8 of the lifetime before expiry (3.75 days: 27 Nov
 * 06:00), critical at the later of 3 days and 10% (3 days: 28 Nov 00:00), renewal-overdue 24 h
 * after renewal fell due (27 Nov 12:00), expired at 1 Dec 00:00.
 */
const WARNING_AT = '2026-11-27T06:00:00.000Z';
const CRITICAL_AT = '2026-11-28T00:00:00.000Z';
const OVERDUE_AT = plus(DUE, DAY_MS);

async function driveUntil(world: RenewalWorld, end: string, stepMs = 10 * MINUTE_MS) {
  for (let at = DUE; at <= end; at = plus(at, stepMs)) await world.sweepAndDeliverAt(at);
}

function ofDevice(transitions: AlertTransition[], deviceId: string) {
  return transitions
    .filter((t) => t.deviceId === deviceId)
    .map((t) => ({ kind: t.kind, rule: t.rule, severity: t.severity, at: t.at }));
}

describe('alerts driven through time by the sweep', () => {
  let world: RenewalWorld;

  beforeEach(async () => {
    world = new RenewalWorld({ now: DUE, alerts: {} });
    world.methods.byDefault = { kind: 'offline' };
    // Heard from an hour before renewal fell due: not silent for a week before it expires.
    await world.given({ ...aDeviceNamed('meter-1'), lastSeenAt: plus(DUE, -HOUR_MS) });
  });

  it('fires each rule at its documented moment, once, escalates, and resolves at expiry', async () => {
    await driveUntil(world, plus(UNTIL, HOUR_MS));

    expect(ofDevice(world.alertTransitions(), 'meter-1')).toEqual([
      { kind: 'raised', rule: 'certificate-expiring', severity: 'warning', at: WARNING_AT },
      { kind: 'raised', rule: 'renewal-overdue', severity: 'warning', at: OVERDUE_AT },
      { kind: 'escalated', rule: 'certificate-expiring', severity: 'critical', at: CRITICAL_AT },
      { kind: 'raised', rule: 'certificate-expired', severity: 'critical', at: UNTIL },
      { kind: 'resolved', rule: 'certificate-expiring', severity: 'critical', at: UNTIL },
      { kind: 'resolved', rule: 'renewal-overdue', severity: 'warning', at: UNTIL },
    ]);
  });

  it('looks at the device exactly when a window opens, not at every sweep', async () => {
    // Sweeps an hour apart, plus one a millisecond before the warning window: the index brings
    // the device back at the window's first instant, so the sweep after it raises the alert.
    await driveUntil(world, plus(WARNING_AT, -HOUR_MS), HOUR_MS);
    await world.sweepAndDeliverAt(plus(WARNING_AT, -1));
    expect(world.alertTransitions()).toEqual([]);

    await world.sweepAndDeliverAt(WARNING_AT);

    expect(ofDevice(world.alertTransitions(), 'meter-1')).toEqual([
      { kind: 'raised', rule: 'certificate-expiring', severity: 'warning', at: WARNING_AT },
    ]);
    expect(world.record('meter-1').alertCheckAt).toBe(OVERDUE_AT);
  });

  it('sends every transition to the sink exactly once, after the roll-up hold', async () => {
    await driveUntil(world, plus(UNTIL, HOUR_MS));

    const transitions = world.alertTransitions();
    expect(transitions).toHaveLength(6);
    expect([...world.sink.receivedCounts().values()]).toEqual(transitions.map(() => 1));
    expect(world.sink.received.map((n) => n.id).sort()).toEqual(
      transitions.map((t) => t.id).sort(),
    );
    const raised = world.sink.received.find((n) => n.status === 'raised')!;
    expect(raised).toMatchObject({
      rule: 'certificate-expiring',
      severity: 'warning',
      scope: 'device',
      hub: HUB,
      deviceId: 'meter-1',
      validUntil: UNTIL,
      raisedAt: WARNING_AT,
    });
    // Each delivery is an audit record, and each transition a log line.
    expect(world.trail().filter((e) => e.type === 'alert.delivered')).toHaveLength(6);
    expect(world.alertLines.filter((l) => l.startsWith('CERTFLEET_ALERT {'))).toHaveLength(6);
  });

  it('had a critical alert out before the certificate expired', async () => {
    await driveUntil(world, plus(UNTIL, HOUR_MS));

    const critical = world.sink.received.find(
      (n) => n.rule === 'certificate-expiring' && n.severity === 'critical',
    );
    expect(critical).toBeDefined();
    expect(critical!.at < UNTIL).toBe(true);
  });

  it('reaches a sink that was down for hours, each transition once, once it is back', async () => {
    world.sink.downUntil = plus(WARNING_AT, 30 * HOUR_MS);

    await driveUntil(world, plus(UNTIL, HOUR_MS));

    const failed = world.sink.attempts.filter((a) => !a.ok);
    expect(failed.length).toBeGreaterThan(3);
    // One failed attempt a run at most: the rest of a run's backlog waits, untried.
    const failedRuns = new Set(failed.map((a) => a.at));
    expect(failedRuns.size).toBe(failed.length);
    expect(world.sink.received).toHaveLength(6);
    expect([...world.sink.receivedCounts().values()].every((n) => n === 1)).toBe(true);
    // Nothing was accepted while the sink was down, and the backlog went out within the
    // backoff's cap of its return.
    const firstOk = world.sink.attempts.find((a) => a.ok)!;
    expect(firstOk.at >= world.sink.downUntil).toBe(true);
    expect(Date.parse(firstOk.at) - Date.parse(world.sink.downUntil)).toBeLessThanOrEqual(
      15 * MINUTE_MS + 10 * MINUTE_MS,
    );
  });

  it('resolves the device alerts when the device renews, and says so to the sink', async () => {
    await driveUntil(world, plus(OVERDUE_AT, 20 * MINUTE_MS));
    expect(await world.alertStore.listGroup(groupOf(world.alertTransitions()[0]!))).toHaveLength(1);

    // The device comes back and reports a new certificate, valid for another 30 days.
    const renewedAt = plus(OVERDUE_AT, HOUR_MS);
    world.moveTo(renewedAt);
    const report = {
      ...patch(
        3,
        aCertificate({
          subject: 'CN=meter-1, O=Contoso',
          validFrom: renewedAt,
          validUntil: plus(UNTIL, 30 * DAY_MS),
        }),
        {
          occurredAt: renewedAt,
        },
      ),
      hub: HUB,
      deviceId: 'meter-1',
    };
    const updated = await updateRecord(
      world.ledger,
      { hub: HUB, deviceId: 'meter-1' },
      (record) => {
        const outcome = applyLedgerEvent(record, report, aContext({ now: renewedAt }));
        return 'record' in outcome && outcome.record
          ? { next: outcome.record, verdict: 'applied' }
          : { verdict: outcome.outcome };
      },
      alertsOnWrite(world.alertSettings, renewedAt),
    );
    expect(updated.changed).toBe(true);
    await new AuditOutbox(world.ledger, world.audit, world.alertRelay).flush([updated.touched]);
    await world.sweepAndDeliverAt(plus(renewedAt, 15 * MINUTE_MS));

    expect(ofDevice(world.alertTransitions(), 'meter-1').slice(-2)).toEqual([
      { kind: 'resolved', rule: 'certificate-expiring', severity: 'warning', at: renewedAt },
      { kind: 'resolved', rule: 'renewal-overdue', severity: 'warning', at: renewedAt },
    ]);
    expect(world.record('meter-1').alerts).toBeUndefined();
    const open = [];
    for await (const a of world.alertStore.listOpen()) open.push(a);
    expect(open).toEqual([]);
    expect(world.sink.received.filter((n) => n.status === 'resolved')).toHaveLength(2);
  });
});

function groupOf(t: AlertTransition): string {
  return `${t.rule};${t.cause}`;
}
