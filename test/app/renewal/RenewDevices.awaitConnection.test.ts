import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DeviceKey } from '../../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { deviceConnected } from '../../../shared/domain/renewal/renewalTransitions';
import { DUE, HUB, RenewalWorld, UNTIL, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * Calls only where they can land: a device the ledger knows to be disconnected (its last
 * connection event) is not called by the sweep; its campaign waits for the device to connect,
 * which asks it, or for the blind try six hours before its certificate expires. Devices hold a
 * 30-day certificate from 1 November 2026, due on 26 November at 12:00, expiring on 1 December.
 */

const DISCONNECTED_AT = '2026-11-26T08:00:00.000Z';
const BLIND_TRY = plus(UNTIL, -6 * HOUR_MS);

/** A device whose last word was a DeviceDisconnected event, at DISCONNECTED_AT. */
function disconnectedDevice(
  deviceId: string,
  options: Parameters<typeof aDeviceNamed>[1] = {},
): DeviceRecord {
  return {
    ...aDeviceNamed(deviceId, options),
    connection: { state: 'disconnected', sequenceNumber: '0a', changedAt: DISCONNECTED_AT },
    lastSeenAt: DISCONNECTED_AT,
  };
}

/** What the ingest does with a DeviceConnected event: the state, and a pending renewal asked now. */
async function connects(w: RenewalWorld, device: DeviceKey, at: string): Promise<boolean> {
  w.moveTo(at);
  const stored = (await w.ledger.read(device))!;
  const record: DeviceRecord = {
    ...stored.value,
    connection: { state: 'connected', sequenceNumber: '0b', changedAt: at },
    lastSeenAt: at,
  };
  const { record: next, askNow } = deviceConnected(record, at);
  await w.ledger.write(next, stored);
  return askNow;
}

describe('RenewDevices, devices known to be disconnected', () => {
  it('does not call a disconnected device when due, and asks it the moment it connects', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await w.given(disconnectedDevice(device.deviceId));

    const sweep = await w.sweepAt(DUE);

    expect(w.methods.calls).toEqual([]);
    expect(sweep).toMatchObject({ requested: 0, awaitingConnection: 1, skipped: 0 });
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'unreachable',
      trigger: 'due',
      attempts: 0,
      failures: 0,
      nextAttemptAt: BLIND_TRY,
    });
    // The campaign is audited as begun; no request was made, so none is audited.
    expect(w.auditTypes(device.deviceId)).toEqual(['renewal.due']);
    // Later sweeps leave it alone: it waits in the index at its blind try.
    for (const hours of [1, 6, 12, 24]) await w.sweepAt(plus(DUE, hours * HOUR_MS));
    expect(w.methods.calls).toEqual([]);

    const connectedAt = '2026-11-27T14:00:00.000Z';
    expect(await connects(w, device, connectedAt)).toBe(true);
    const [asked] = await w.renewals.askNow([device], 'device-connected');

    expect(asked?.kind).toBe('accepted');
    const call = w.methods.calls[0]!;
    expect(call).toMatchObject({ ...device, at: connectedAt });
    expect(call.request.reason).toBe('device-connected');
    expect(w.record(device.deviceId).renewal).toMatchObject({ status: 'requested', attempts: 1 });
    expect(w.auditTypes(device.deviceId)).toEqual(['renewal.due', 'renewal.requested']);
  });

  it('tries a device that stays away once, blindly, six hours before its certificate expires', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await w.given(disconnectedDevice(device.deviceId));
    w.methods.offline(device);
    await w.sweepAt(DUE);

    await w.sweepAt(plus(BLIND_TRY, -MINUTE_MS));
    expect(w.methods.calls).toEqual([]);
    await w.sweepAt(BLIND_TRY);

    const blind = w.methods.calls;
    expect(blind).toHaveLength(1);
    expect(blind[0]!.request.reason).toBe('due');
    expect(blind[0]!.at >= BLIND_TRY).toBe(true);
    // 404103: rechecked after 6 hours, which is its expiry: no call after the blind try.
    expect(w.record(device.deviceId).renewal).toMatchObject({ status: 'unreachable', failures: 0 });
    await w.sweepAt(plus(UNTIL, -MINUTE_MS));
    await w.sweepAt(UNTIL);
    expect(w.methods.calls).toHaveLength(1);
    expect(w.record(device.deviceId).renewal?.status).toBe('expired');
  });

  it('does not call a refusing device that has since disconnected at its retry, and keeps its failures', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await w.given(aDeviceNamed(device.deviceId));
    w.methods.refuse(device);
    await w.sweepAt(DUE);
    expect(w.record(device.deviceId).renewal).toMatchObject({ status: 'retrying', failures: 1 });
    const retryAt = w.record(device.deviceId).renewal!.nextAttemptAt!;
    const stored = (await w.ledger.read(device))!;
    const gone = plus(DUE, 10 * MINUTE_MS);
    await w.ledger.write(
      {
        ...stored.value,
        connection: { state: 'disconnected', sequenceNumber: '0c', changedAt: gone },
        lastSeenAt: gone,
      },
      stored,
    );

    const sweep = await w.sweepAt(retryAt);

    expect(sweep.awaitingConnection).toBe(1);
    expect(w.methods.calls).toHaveLength(1);
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'unreachable',
      attempts: 1,
      failures: 1,
      nextAttemptAt: BLIND_TRY,
    });
  });

  it('calls a device whose connection state is unknown, or that reported its twin since it disconnected', async () => {
    const w = new RenewalWorld();
    const unknown = { hub: HUB, deviceId: 'thermostat-0001' };
    const heardFrom = { hub: HUB, deviceId: 'thermostat-0002' };
    await w.given(aDeviceNamed(unknown.deviceId), {
      ...disconnectedDevice(heardFrom.deviceId),
      lastSeenAt: plus(DISCONNECTED_AT, HOUR_MS),
    });

    const sweep = await w.sweepAt(DUE);

    expect(sweep).toMatchObject({ requested: 2, awaitingConnection: 0 });
    expect(w.methods.calls.map((c) => c.deviceId).sort()).toEqual([
      unknown.deviceId,
      heardFrom.deviceId,
    ]);
  });

  it('calls a disconnected device when a person asks: they may know it is back before its event', async () => {
    const w = new RenewalWorld({ now: DUE });
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await w.given(disconnectedDevice(device.deviceId));

    const answer = await w.renewals.renewOnRequest(device, { who: 'ops@contoso', why: 'swapped' });

    expect(answer).toMatchObject({ status: 'requested', outcome: 'accepted' });
    expect(w.methods.calls).toHaveLength(1);
    expect(w.methods.calls[0]!.request.reason).toBe('manual');
  });

  it('gives the minute back: a device asked as it connects gets the slot a disconnected one did not use', async () => {
    const w = new RenewalWorld({ renewalsPerMinute: 1 });
    const away = { hub: HUB, deviceId: 'thermostat-0001' };
    const back = { hub: HUB, deviceId: 'thermostat-0002' };
    // Both due now; the disconnected one expires first, so the plan gives it the one slot.
    await w.given(
      disconnectedDevice(away.deviceId, { validUntil: plus(UNTIL, -HOUR_MS), renewalDueAt: DUE }),
      aDeviceNamed(back.deviceId, { renewalDueAt: DUE }),
    );

    const sweep = await w.sweepAt(DUE);
    expect(sweep).toMatchObject({ requested: 0, awaitingConnection: 1 });
    expect(sweep.planned.map((p) => p.deviceId)).toEqual([away.deviceId]);

    // In the same minute the other device connects: the minute's budget is still there.
    const [asked] = await w.renewals.askNow([back], 'device-connected');

    expect(asked?.kind).toBe('accepted');
    expect(w.methods.calls.map((c) => c.deviceId)).toEqual([back.deviceId]);
  });
});
