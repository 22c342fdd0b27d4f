import { AuditOutbox } from '../../../shared/app/AuditOutbox';
import { alertsOnWrite } from '../../../shared/app/alerts/alertsOnWrite';
import { updateRecord } from '../../../shared/app/updateRecord';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { HOUR_MS } from '../../../shared/domain/Clock';
import { DUE, HUB, RenewalWorld, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * A record written twice in one invocation (asked, then its answer recorded) is touched twice,
 * and its first version's pending entries are in the second too: each alert transition is still
 * audited once, stored once and logged once.
 */
describe('the audit outbox hands each alert transition over once', () => {
  it('even when the same record was touched twice', async () => {
    const world = new RenewalWorld({ now: DUE, alerts: {} });
    // Unheard of since 1 November: device-silent as soon as the record is written.
    await world.given(aDeviceNamed('meter-1'));
    const key = { hub: HUB, deviceId: 'meter-1' };
    const write = (at: string) =>
      updateRecord(
        world.ledger,
        key,
        (record) => ({ next: { ...record!, updatedAt: at }, verdict: 'written' }),
        alertsOnWrite(DEFAULT_ALERT_SETTINGS, at),
      );
    const first = await write(DUE);
    const second = await write(plus(DUE, HOUR_MS));
    expect(second.touched.record!.pendingAudit.map((e) => e.type)).toEqual(['alert.raised']);

    await new AuditOutbox(world.ledger, world.audit, world.alertRelay).flush([
      first.touched,
      second.touched,
    ]);

    expect(world.trail().map((e) => e.type)).toEqual(['alert.raised']);
    expect(world.alertLines).toHaveLength(1);
    expect(world.alertLines[0]).toMatch(
      /^CERTFLEET_ALERT \{"transition":"raised","rule":"device-silent"/,
    );
  });
});
