import { HOUR_MS } from '../../../shared/domain/Clock';
import { DUE, RenewalWorld, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * Fleet-wide trouble as fleet alerts: when most devices refuse at once, the renewal engine
 * opens a failure-spike incident and pauses; ops hear one critical `issuer-outage` alert, and
 * its resolution when the pause ends and renewals succeed again.
 */
describe('incidents that pause renewals', () => {
  it('raise one critical fleet alert, sent at once, and resolve it when the incident ends', async () => {
    const world = new RenewalWorld({ now: DUE, alerts: {} });
    world.methods.byDefault = { kind: 'refused', status: 500 };
    const devices = Array.from({ length: 40 }, (_, i) => ({
      ...aDeviceNamed(`meter-${String(i).padStart(2, '0')}`),
      lastSeenAt: plus(DUE, -HOUR_MS),
    }));
    await world.given(...devices);

    const report = await world.sweepAndDeliverAt(DUE);
    expect(report.incidentsOpened.map((i) => i.kind)).toEqual(['failure-spike']);

    const outage = world.sink.received.filter((n) => n.rule === 'issuer-outage');
    expect(outage).toEqual([
      expect.objectContaining({ status: 'raised', severity: 'critical', scope: 'fleet' }),
    ]);
    expect(outage[0]!.summary).toMatch(/^Fleet: renewals are failing across the fleet/);

    // Devices accept again; the pause ends, the next sweep's answers are healthy.
    world.methods.byDefault = { kind: 'accepted', status: 202 };
    let resolvedAt: string | undefined;
    for (
      let at = plus(DUE, 5 * 60_000);
      at < plus(DUE, 12 * HOUR_MS) && !resolvedAt;
      at = plus(at, 5 * 60_000)
    ) {
      const next = await world.sweepAndDeliverAt(at);
      if (next.incidentsResolved.length > 0) resolvedAt = at;
    }
    expect(resolvedAt).toBeDefined();
    expect(
      world.sink.received.filter((n) => n.rule === 'issuer-outage').map((n) => n.status),
    ).toEqual(['raised', 'resolved']);
    const trail = world.trail().filter((e) => e.alert?.rule === 'issuer-outage');
    expect(trail.map((e) => e.type)).toEqual(['alert.raised', 'alert.resolved']);
  });
});
