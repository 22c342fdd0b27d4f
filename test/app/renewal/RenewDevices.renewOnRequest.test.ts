import { MINUTE_MS } from '../../../shared/domain/Clock';
import { newDeviceRecord } from '../../../shared/domain/DeviceRecord';
import { DUE, HUB, RenewalWorld, UNTIL, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * A person asks for a renewal now (`POST /api/devices/{id}/renew`), on in-memory ports.
 * Devices hold a 30-day certificate from 1 November 2026, due on 26 November at 12:00.
 */

const BEFORE_DUE = '2026-11-20T09:00:00.000Z';
const pump = { hub: HUB, deviceId: 'pump-0001' };
const alice = { who: 'alice@contoso.com', why: 'suspected key compromise' };

describe('RenewDevices.renewOnRequest', () => {
  it('asks the device at once, before its renewal is due, recording who asked and why', async () => {
    const w = new RenewalWorld();
    await w.given(aDeviceNamed(pump.deviceId));
    w.moveTo(BEFORE_DUE);

    const answer = await w.renewals.renewOnRequest(pump, alice);

    expect(answer).toMatchObject({
      status: 'requested',
      outcome: 'accepted',
      record: { renewal: { status: 'requested', trigger: 'manual', attempts: 1 } },
    });
    const call = w.methods.callsTo(pump)[0];
    expect(call).toMatchObject({ at: BEFORE_DUE, request: { reason: 'manual' } });
    expect(w.auditTypes(pump)).toEqual(['renewal.due', 'renewal.requested']);
    expect(w.trail()[0]).toMatchObject({
      detail: 'manual renewal: suspected key compromise',
      renewal: { trigger: 'manual', requestedBy: 'alice@contoso.com' },
    });
    expect(w.record(pump.deviceId).pendingAudit).toEqual([]);
  });

  it('asks again now when a person asks while a campaign is waiting on the device', async () => {
    const w = new RenewalWorld();
    await w.given(aDeviceNamed(pump.deviceId));
    await w.sweepAt(DUE);
    w.moveTo(plus(DUE, 10 * MINUTE_MS));

    const answer = await w.renewals.renewOnRequest(pump, { who: 'ops-bot', why: 'field test' });

    expect(answer).toMatchObject({ status: 'requested', outcome: 'accepted' });
    expect(w.methods.callsTo(pump)).toHaveLength(2);
    expect(w.record(pump.deviceId).renewal).toMatchObject({
      status: 'requested',
      attempts: 2,
      failures: 0,
    });
    const due = w.trail().filter((e) => e.type === 'renewal.due');
    expect(due.map((e) => e.renewal?.requestedBy)).toEqual([undefined, 'ops-bot']);
  });

  it('answers not-found for a device the ledger does not know, or knows as deleted', async () => {
    const w = new RenewalWorld();
    await w.given({
      ...aDeviceNamed('gone-0002'),
      lifecycle: 'deleted',
      deletedAt: '2026-11-10T00:00:00.000Z',
    });
    w.moveTo(BEFORE_DUE);

    expect(await w.renewals.renewOnRequest({ hub: HUB, deviceId: 'nobody-9999' }, alice)).toEqual({
      status: 'not-found',
    });
    expect(await w.renewals.renewOnRequest({ hub: HUB, deviceId: 'gone-0002' }, alice)).toEqual({
      status: 'not-found',
    });
    expect(w.methods.calls).toEqual([]);
    expect(w.trail()).toEqual([]);
  });

  it('answers no-certificate for a device that has reported none, and changes nothing', async () => {
    const w = new RenewalWorld();
    const bare = newDeviceRecord(HUB, 'bare-0003', '2026-11-01T00:00:00.000Z');
    await w.given(bare);
    w.moveTo(BEFORE_DUE);

    const answer = await w.renewals.renewOnRequest({ hub: HUB, deviceId: 'bare-0003' }, alice);

    expect(answer).toEqual({ status: 'no-certificate' });
    expect(w.record('bare-0003')).toEqual(bare);
    expect(w.methods.calls).toEqual([]);
  });

  it('answers expired for a device whose certificate ran out: it must re-provision through DPS', async () => {
    const w = new RenewalWorld();
    await w.given(aDeviceNamed(pump.deviceId));
    w.moveTo(UNTIL);

    const answer = await w.renewals.renewOnRequest(pump, { who: 'alice', why: 'too late' });

    expect(answer).toEqual({ status: 'expired' });
    expect(w.methods.calls).toEqual([]);
    expect(w.record(pump.deviceId).renewal).toBeUndefined();
  });

  it('starts afresh a campaign certfleet gave up on', async () => {
    const w = new RenewalWorld({ timing: { maxFailures: 1 } });
    await w.given(aDeviceNamed(pump.deviceId));
    w.methods.refuse(pump, 409);
    await w.sweepAt(DUE);
    expect(w.record(pump.deviceId).renewal?.status).toBe('failed');

    w.methods.accept(pump);
    w.moveTo(plus(DUE, 30 * MINUTE_MS));
    const answer = await w.renewals.renewOnRequest(pump, {
      who: 'bob@contoso.com',
      why: 'firmware fixed',
    });

    expect(answer).toMatchObject({
      status: 'requested',
      outcome: 'accepted',
      record: { renewal: { status: 'requested', attempts: 1, failures: 0 } },
    });
    expect(w.auditTypes(pump)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
      'renewal.abandoned',
      'renewal.due',
      'renewal.requested',
    ]);
    expect(w.trail()[4]).toMatchObject({
      detail: 'manual renewal: firmware fixed',
      renewal: { requestedBy: 'bob@contoso.com' },
    });
  });

  it("queues the request when this minute's budget is spent, and the next sweep asks", async () => {
    const w = new RenewalWorld({ renewalsPerMinute: 1 });
    const meter = { hub: HUB, deviceId: 'meter-0004' };
    await w.given(aDeviceNamed(pump.deviceId), aDeviceNamed(meter.deviceId));
    w.moveTo(BEFORE_DUE);
    await w.renewals.renewOnRequest(meter, alice);

    const answer = await w.renewals.renewOnRequest(pump, alice);

    expect(answer).toMatchObject({
      status: 'queued',
      record: { renewal: { status: 'due', trigger: 'manual', attempts: 0 } },
    });
    expect(w.methods.callsTo(pump)).toEqual([]);
    expect(w.auditTypes(pump)).toEqual(['renewal.due']);

    const sweep = await w.sweepAt(plus(BEFORE_DUE, MINUTE_MS));

    expect(sweep.outcomes).toEqual({ accepted: 1 });
    expect(w.methods.callsTo(pump)).toHaveLength(1);
    expect(w.record(pump.deviceId).renewal).toMatchObject({ status: 'requested', attempts: 1 });
  });
});
