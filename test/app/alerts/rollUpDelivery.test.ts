import { listAlerts } from '../../../shared/app/alerts/listAlerts';
import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DUE, RenewalWorld, UNTIL, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * A cohort of 2,000 devices issued together, whose renewal never starts (no IoT Hub is
 * configured, so certfleet asks nobody): every one of them crosses each window at the same
 * instant. Ops must hear one fleet alert per rule and step, not 2,000.
 */
const COHORT = 2_000;
const WARNING_AT = '2026-11-27T06:00:00.000Z';
const CRITICAL_AT = '2026-11-28T00:00:00.000Z';

describe('a cohort of thousands in trouble together', () => {
  let world: RenewalWorld;

  beforeAll(async () => {
    world = new RenewalWorld({ now: DUE, alerts: {}, withoutMethods: true });
    const devices = Array.from({ length: COHORT }, (_, i) => ({
      ...aDeviceNamed(`meter-${String(i).padStart(4, '0')}`),
      lastSeenAt: plus(DUE, -HOUR_MS),
      cohort: 'line-7',
    }));
    await world.given(...devices);
    for (const at of [DUE, WARNING_AT, plus(WARNING_AT, 15 * MINUTE_MS)])
      await world.sweepAndDeliverAt(at);
  });

  it('becomes one fleet alert with the count and a sample, and no device notification', () => {
    const sent = world.sink.received;

    expect(sent.map((n) => [n.rule, n.status, n.scope, n.count])).toEqual([
      ['certificate-expiring', 'raised', 'fleet', COHORT],
    ]);
    expect(sent[0]!.sample).toHaveLength(10);
    expect(sent[0]!.sample![0]).toBe('contoso-hub/meter-0000');
    expect(sent[0]!.summary).toContain('2000 devices');
    expect(sent[0]!.validUntil).toBe(UNTIL);
  });

  it('keeps every device alert, listed as rolled up into the fleet alert', async () => {
    const open = await listAlerts(world.alertStore, {});
    const fleet = open.filter((a) => a.scope === 'fleet');
    const devices = open.filter((a) => a.scope === 'device');

    expect(fleet).toHaveLength(1);
    expect(devices).toHaveLength(COHORT);
    expect(devices.every((a) => a.rolledUpInto === fleet[0]!.id)).toBe(true);
    expect(world.trail().filter((e) => e.delivery?.deliveredAs === 'rolled-up')).toHaveLength(
      COHORT,
    );
  });

  it('escalates the fleet alert once when the cohort turns critical, and resolves it at expiry', async () => {
    for (const at of [
      CRITICAL_AT,
      plus(CRITICAL_AT, 15 * MINUTE_MS),
      UNTIL,
      plus(UNTIL, 15 * MINUTE_MS),
    ])
      await world.sweepAndDeliverAt(at);

    const fleetSteps = world.sink.received.map((n) => [n.rule, n.status, n.severity, n.count]);
    expect(world.sink.received.filter((n) => n.scope !== 'fleet').slice(0, 3)).toEqual([]);
    expect(fleetSteps).toEqual([
      ['certificate-expiring', 'raised', 'warning', COHORT],
      ['renewal-overdue', 'raised', 'warning', COHORT],
      ['certificate-expiring', 'escalated', 'critical', COHORT],
      ['certificate-expired', 'raised', 'critical', COHORT],
      ['certificate-expiring', 'resolved', 'critical', COHORT],
      ['renewal-overdue', 'resolved', 'warning', COHORT],
    ]);
  });
});
