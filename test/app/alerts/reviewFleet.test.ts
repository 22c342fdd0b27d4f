import { ReviewFleet } from '../../../shared/app/alerts/ReviewFleet';
import { KnownCa } from '../../../shared/domain/alerts/fleetRiskConditions';
import { DAY_MS, HOUR_MS } from '../../../shared/domain/Clock';
import { DUE, RenewalWorld, aDeviceNamed, plus } from '../../support/renewalWorld';

/** The daily review: fleet-risk alerts (CA expiry, renewal capacity) and the digest. */
const MORNING = '2026-11-10T07:00:00.000Z';

function aReview(world: RenewalWorld, cas: KnownCa[], renewalsPerMinute = 400) {
  return new ReviewFleet({
    ledger: world.ledger,
    store: world.alertStore,
    relay: world.alertRelay,
    clock: world.clock,
    settings: world.alertSettings,
    renewalsPerMinute,
    cas,
  });
}

describe('the daily fleet review', () => {
  it('warns 90 days before a trust-bundle CA expires, escalates at 30, resolves when it is replaced', async () => {
    const world = new RenewalWorld({ now: MORNING, alerts: {} });
    const issuing = {
      subject: 'CN=Contoso Issuing CA 2024',
      validUntil: plus(MORNING, 60 * DAY_MS),
    };
    const root = { subject: 'CN=Contoso Root', validUntil: '2036-01-01T00:00:00.000Z' };

    const first = await aReview(world, [issuing, root]).review();
    world.moveTo(plus(MORNING, 31 * DAY_MS));
    const later = await aReview(world, [issuing, root]).review();
    world.moveTo(plus(MORNING, 32 * DAY_MS));
    const replaced = await aReview(world, [
      { subject: 'CN=Contoso Issuing CA 2026', validUntil: '2029-01-01T00:00:00.000Z' },
      root,
    ]).review();

    const steps = [first, later, replaced].map((r) =>
      r.transitions.map((t) => `${t.kind} ${t.rule}:${t.severity}`),
    );
    expect(steps).toEqual([
      ['raised ca-expiring:warning'],
      ['escalated ca-expiring:critical'],
      ['resolved ca-expiring:critical'],
    ]);
    expect(first.transitions[0]!.summary).toMatch(
      /^Trust-bundle CA CN=Contoso Issuing CA 2024 expires at 2027-01-09T07:00:00.000Z, in 60 days/,
    );
    expect(world.trail().filter((e) => e.alert?.rule === 'ca-expiring')).toHaveLength(3);
  });

  it('warns of days ahead with more renewals due than the rate can ask', async () => {
    const world = new RenewalWorld({ now: MORNING, alerts: {} });
    // Three devices due on 26 November, at a rate of one renewal a day.
    await world.given(aDeviceNamed('meter-1'), aDeviceNamed('meter-2'), aDeviceNamed('meter-3'));

    const review = await aReview(world, [], 1 / 1440).review();

    expect(review.transitions.map((t) => [t.rule, t.severity, t.count])).toEqual([
      ['renewal-capacity', 'warning', 3],
    ]);
    expect(review.transitions[0]!.summary).toMatch(/first 2026-11-26: 3 due, 1 a day/);
    // Within three days of that day, it is critical.
    world.moveTo(plus(DUE, -2 * DAY_MS));
    const closer = await aReview(world, [], 1 / 1440).review();
    expect(closer.transitions.map((t) => `${t.kind} ${t.severity}`)).toEqual([
      'escalated critical',
    ]);
  });

  it('queues one digest a day for every sink, naming what is open', async () => {
    const world = new RenewalWorld({ now: MORNING, alerts: {} });
    const issuing = {
      subject: 'CN=Contoso Issuing CA 2024',
      validUntil: plus(MORNING, 10 * DAY_MS),
    };

    const review = await aReview(world, [issuing]).review();
    await aReview(world, [issuing]).review(); // the timer ran twice
    await world.alertDelivery.deliver();

    expect(review.digest).toMatchObject({ rule: 'digest', severity: 'critical', count: 1 });
    expect(review.digest.summary).toBe(
      'certfleet daily digest for 2026-11-10: 1 open alerts (1 critical, 0 warning): ca-expiring 1. Fleet alerts: ' +
        `Trust-bundle CA CN=Contoso Issuing CA 2024 expires at ${issuing.validUntil}, in 10 days: put its successor in DPS and the trust bundle, and renew the leaves it signed.`,
    );
    expect(world.sink.received.map((n) => n.rule)).toEqual(['ca-expiring', 'digest']);

    world.moveTo(plus(MORNING, DAY_MS + HOUR_MS));
    const quiet = await aReview(world, []).review();
    expect(quiet.digest.summary).toBe('certfleet daily digest for 2026-11-11: no open alerts.');
  });
});
