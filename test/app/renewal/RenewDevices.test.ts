import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import {
  DUE,
  HUB,
  RenewalWorld,
  UNTIL,
  aDeviceNamed,
  minuteOf,
  plus,
  startOfMinute,
} from '../../support/renewalWorld';

/**
 * The renewal engine's campaigns, one device at a time, on in-memory ports (the same stories
 * test/integration/renewal.azurite.test.ts tells against Azurite and the stand-in IoT Hub).
 * Devices hold a 30-day certificate from 1 November 2026, due on 26 November at 12:00.
 */

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('RenewDevices, one device at a time', () => {
  it('asks a device at the first sweep after 85% of its lifetime, and not before', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await w.given(aDeviceNamed(device.deviceId));

    for (const at of [
      '2026-11-20T00:00:00.000Z',
      '2026-11-26T11:00:00.000Z',
      plus(DUE, -MINUTE_MS),
    ])
      expect((await w.sweepAt(at)).requested).toBe(0);
    expect(w.methods.calls).toEqual([]);
    expect(w.record(device.deviceId).renewal).toBeUndefined();

    const sweep = await w.sweepAt(DUE);

    const call = only(w.methods.calls);
    expect(sweep.outcomes).toEqual({ accepted: 1 });
    expect(call).toMatchObject(device);
    expect(minuteOf(call.at)).toBe(minuteOf(DUE));
    expect(call.request).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
      reason: 'due',
      currentValidUntil: UNTIL,
      deadline: plus(call.at, HOUR_MS),
    });
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'requested',
      trigger: 'due',
      attempts: 1,
      failures: 0,
      deadline: call.request.deadline,
    });
    expect(w.auditTypes(device.deviceId)).toEqual(['renewal.due', 'renewal.requested']);
    expect(w.trail()[1]?.renewal).toMatchObject({
      requestId: call.request.requestId,
      outcome: 'accepted',
      status: 202,
    });
    // The outbox is flushed: nothing is left pending in the record.
    expect(w.record(device.deviceId).pendingAudit).toEqual([]);
  });

  it('does not ask a device again while it has a request out', async () => {
    const w = new RenewalWorld();
    await w.given(aDeviceNamed('thermostat-0001'));
    await w.sweepAt(DUE);

    for (const minutes of [1, 10, 59]) await w.sweepAt(plus(DUE, minutes * MINUTE_MS));

    expect(w.methods.calls).toHaveLength(1);
    expect(w.record('thermostat-0001').renewal?.status).toBe('requested');
  });

  it('marks an offline device unreachable without counting a failure and asks it the moment it connects', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'meter-0002' };
    await w.given(aDeviceNamed(device.deviceId));
    w.methods.offline(device);

    const sweep = await w.sweepAt(DUE);

    const offline = only(w.methods.calls);
    expect(sweep.outcomes).toEqual({ offline: 1 });
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'unreachable',
      attempts: 1,
      failures: 0,
      nextAttemptAt: plus(offline.at, 6 * HOUR_MS),
    });
    expect(w.auditTypes(device.deviceId)).toEqual(['renewal.due', 'renewal.requested']);
    expect(w.trail()[1]?.renewal).toMatchObject({ outcome: 'offline', failures: 0 });

    // Two hours later the device connects: it is asked then, not at a sweep.
    w.methods.accept(device);
    const connectedAt = '2026-11-26T14:00:03.000Z';
    w.moveTo(connectedAt);
    const steps = await w.renewals.askNow([device], 'device-connected');

    expect(steps.map((s) => s.kind)).toEqual(['accepted']);
    expect(w.methods.calls).toHaveLength(2);
    const asked = w.methods.calls[1]!;
    expect(asked).toMatchObject({ ...device, at: connectedAt });
    expect(asked.request.reason).toBe('device-connected');
    expect(asked.request.requestId).not.toBe(offline.request.requestId);
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'requested',
      attempts: 2,
      failures: 0,
    });
  });

  it('retries a refusing device after its backoff and never before, then abandons it after the last allowed failure', async () => {
    const w = new RenewalWorld({ timing: { maxFailures: 3 } });
    const device = { hub: HUB, deviceId: 'camera-0003' };
    await w.given(aDeviceNamed(device.deviceId));
    w.methods.refuse(device, 409);

    await w.sweepAt(DUE);
    const first = only(w.methods.calls);
    let renewal = w.record(device.deviceId).renewal!;
    expect(renewal).toMatchObject({ status: 'retrying', attempts: 1, failures: 1 });
    expect(renewal.nextAttemptAt).toBe(plus(first.at, HOUR_MS));

    // Backoff doubles: 1 h after the first refusal, 2 h after the second.
    for (const [n, backoff] of [
      [2, HOUR_MS],
      [3, 2 * HOUR_MS],
    ] as const) {
      const retryAt = renewal.nextAttemptAt!;
      expect(retryAt).toBe(plus(w.methods.calls[n - 2]!.at, backoff));
      await w.sweepAt(plus(retryAt, -30 * MINUTE_MS));
      await w.sweepAt(startOfMinute(retryAt)); // its minute, but before its time
      expect(w.methods.calls).toHaveLength(n - 1);

      await w.sweepAt(plus(startOfMinute(retryAt), MINUTE_MS));
      expect(w.methods.calls).toHaveLength(n);
      const retry = w.methods.calls[n - 1]!;
      expect(retry.at >= retryAt).toBe(true);
      expect(retry.request.reason).toBe('retry');
      renewal = w.record(device.deviceId).renewal!;
    }

    expect(renewal).toMatchObject({ status: 'failed', attempts: 3, failures: 3 });
    await w.sweepAt(plus(w.methods.calls[2]!.at, 8 * HOUR_MS));
    expect(w.methods.calls).toHaveLength(3);
    expect(w.auditTypes(device.deviceId)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
      'renewal.requested',
      'renewal.failed',
      'renewal.requested',
      'renewal.failed',
      'renewal.abandoned',
    ]);
    expect(w.trail().find((e) => e.type === 'renewal.failed')?.renewal?.reason).toBe(
      'device refused (status 409)',
    );
  });

  it('gives up at once on a device IoT Hub does not know (404001)', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'ghost-0009' };
    await w.given(aDeviceNamed(device.deviceId));
    w.methods.notFound(device);

    const sweep = await w.sweepAt(DUE);

    expect(sweep.outcomes).toEqual({ 'not-found': 1 });
    expect(w.record(device.deviceId).renewal).toMatchObject({ status: 'failed', attempts: 1 });
    expect(w.auditTypes(device.deviceId)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.abandoned',
    ]);
    await w.sweepAt(plus(DUE, 6 * HOUR_MS));
    expect(w.methods.calls).toHaveLength(1);
  });

  it('counts a request left without a new certificate past its deadline as a failure and asks again', async () => {
    const w = new RenewalWorld({ timing: { requestTimeoutMs: 30 * MINUTE_MS } });
    const id = 'gateway-0004';
    await w.given(aDeviceNamed(id));

    await w.sweepAt(DUE);
    const asked = only(w.methods.calls);
    const deadline = plus(asked.at, 30 * MINUTE_MS);
    expect(asked.request.deadline).toBe(deadline);

    const before = await w.sweepAt(startOfMinute(deadline));
    expect(before.deadlinesPassed).toBe(0);
    expect(w.record(id).renewal?.status).toBe('requested');

    const passedAt = plus(startOfMinute(deadline), MINUTE_MS);
    const after = await w.sweepAt(passedAt);
    expect(after.deadlinesPassed).toBe(1);
    expect(w.methods.calls).toHaveLength(1);
    const renewal = w.record(id).renewal!;
    expect(renewal).toMatchObject({
      status: 'retrying',
      attempts: 1,
      failures: 1,
      reason: 'no new certificate reported by the deadline',
      nextAttemptAt: plus(passedAt, HOUR_MS),
    });
    expect(only(w.trail().filter((e) => e.type === 'renewal.failed')).renewal?.reason).toBe(
      'no new certificate reported by the deadline',
    );

    await w.sweepAt(renewal.nextAttemptAt!);
    expect(w.methods.calls).toHaveLength(2);
    const again = w.methods.calls[1]!;
    expect(again.request).toMatchObject({
      reason: 'retry',
      deadline: plus(again.at, 30 * MINUTE_MS),
    });
    expect(again.request.requestId).not.toBe(asked.request.requestId);
    expect(w.record(id).renewal?.status).toBe('requested');
  });

  it('retries a device that timed out (504101) after the short five-minute backoff', async () => {
    const w = new RenewalWorld();
    const device = { hub: HUB, deviceId: 'pump-0005' };
    await w.given(aDeviceNamed(device.deviceId));
    w.methods.timeOut(device);

    const sweep = await w.sweepAt(DUE);
    const timedOut = only(w.methods.calls);
    expect(sweep.outcomes).toEqual({ timeout: 1 });
    const renewal = w.record(device.deviceId).renewal!;
    expect(renewal).toMatchObject({
      status: 'retrying',
      failures: 1,
      reason: 'device did not answer in time (504101)',
      nextAttemptAt: plus(timedOut.at, 5 * MINUTE_MS),
    });
    expect(w.auditTypes(device.deviceId)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
    ]);

    w.methods.accept(device);
    await w.sweepAt(plus(startOfMinute(timedOut.at), MINUTE_MS));
    await w.sweepAt(startOfMinute(renewal.nextAttemptAt!));
    expect(w.methods.calls).toHaveLength(1);
    await w.sweepAt(plus(startOfMinute(renewal.nextAttemptAt!), MINUTE_MS));
    expect(w.methods.calls).toHaveLength(2);
    expect(w.methods.calls[1]!.at >= renewal.nextAttemptAt!).toBe(true);
    expect(w.record(device.deviceId).renewal?.status).toBe('requested');
  });

  it('records certificate.expired for a device that never came online before its certificate ran out', async () => {
    // A 7-day certificate, the shortest Azure issues: due on 6 November at 22:48 (85%).
    const device = { hub: HUB, deviceId: 'buoy-0006' };
    const expiresAt = '2026-11-08T00:00:00.000Z';
    const w = new RenewalWorld();
    await w.given(aDeviceNamed(device.deviceId, { validUntil: expiresAt }));
    expect(w.record(device.deviceId).renewalDueAt).toBe('2026-11-06T22:48:00.000Z');
    w.methods.offline(device);

    // Offline devices are asked again 6 hours later (and whenever they connect; this one never
    // does): sweep at the first minute each recheck is due.
    let sweeps = 0;
    for (let at = '2026-11-06T22:48:00.000Z'; at < expiresAt; sweeps += 1) {
      await w.sweepAt(at);
      const renewal = w.record(device.deviceId).renewal!;
      expect(renewal).toMatchObject({ status: 'unreachable', failures: 0 });
      at = plus(startOfMinute(renewal.nextAttemptAt!), MINUTE_MS);
    }
    expect(sweeps).toBe(5);
    expect(w.methods.calls).toHaveLength(sweeps);
    expect(w.methods.calls.every((c) => c.at < expiresAt)).toBe(true);

    const expiry = await w.sweepAt(expiresAt);
    expect(expiry.expired).toBe(1);
    await w.sweepAt(plus(expiresAt, 6 * HOUR_MS));
    expect(w.methods.calls).toHaveLength(sweeps);
    expect(w.record(device.deviceId).renewal).toMatchObject({
      status: 'expired',
      attempts: sweeps,
      failures: 0,
    });
    const expired = only(w.trail().filter((e) => e.type === 'certificate.expired'));
    expect(expired).toMatchObject({ deviceId: device.deviceId, occurredAt: expiresAt });
    expect(expired.old?.validUntil).toBe(expiresAt);
  });

  it('does not act on a leftover index entry for a deadline its record no longer has', async () => {
    // The device was asked; then its new certificate arrived, and the instance writing the
    // renewed record died before removing the old index entry (the deadline's).
    const w = new RenewalWorld();
    const id = 'valve-0007';
    await w.given(aDeviceNamed(id));
    await w.sweepAt(DUE);
    const asked = only(w.methods.calls);
    const stored = (await w.ledger.read({ hub: HUB, deviceId: id }))!;
    const renewed = {
      ...aDeviceNamed(id, {
        validFrom: '2026-11-26T12:10:00.000Z',
        validUntil: '2026-12-26T12:10:00.000Z',
      }),
      renewal: { status: 'healthy' as const, attempts: 0, failures: 0 },
    };
    w.ledger.crashNextWrite = 'after-record';
    await expect(w.ledger.write(renewed, stored)).rejects.toThrow(/simulated crash/);
    const leftover = (await collect(w.ledger.actionsDueBefore('2026-12-01T00:00:00.000Z'))).map(
      (e) => [e.actionAt, e.status],
    );
    expect(leftover).toEqual([[asked.request.deadline, 'requested']]);

    const sweep = await w.sweepAt(plus(asked.request.deadline, MINUTE_MS));

    expect(sweep).toMatchObject({ deadlinesPassed: 0, requested: 0, expired: 0 });
    expect(w.methods.calls).toHaveLength(1);
    expect(w.record(id).renewal).toEqual({ status: 'healthy', attempts: 0, failures: 0 });
    expect(w.record(id).current?.validUntil).toBe('2026-12-26T12:10:00.000Z');
    expect(w.auditTypes(id)).toEqual(['renewal.due', 'renewal.requested']);
  });
});

describe('RenewDevices and index entries a crash left behind', () => {
  it('does not ask a device that renewed by itself when the old due time is still in the index, and forgets that entry', async () => {
    // The device renewed before certfleet asked; the instance writing the renewed record died
    // before removing the old certificate's entry (healthy, due on 26 November).
    const w = new RenewalWorld();
    const id = 'meter-0011';
    await w.given(aDeviceNamed(id));
    const stored = (await w.ledger.read({ hub: HUB, deviceId: id }))!;
    const renewed = aDeviceNamed(id, {
      validFrom: '2026-11-20T08:00:00.000Z',
      validUntil: '2026-12-20T08:00:00.000Z',
    });
    w.ledger.crashNextWrite = 'after-record';
    await expect(w.ledger.write(renewed, stored)).rejects.toThrow(/simulated crash/);
    const dueBefore = async () =>
      (await collect(w.ledger.actionsDueBefore(plus(DUE, HOUR_MS)))).map((e) => e.actionAt);
    expect(await dueBefore()).toEqual([DUE]);

    const sweep = await w.sweepAt(DUE);

    expect(w.methods.calls).toEqual([]);
    expect(sweep.requested).toBe(0);
    expect(w.record(id).renewal ?? { status: 'healthy' }).toMatchObject({ status: 'healthy' });
    expect(w.auditTypes(id)).not.toContain('renewal.due');
    expect(await dueBefore()).toEqual([]);
  });

  it('forgets a leftover entry for a deadline once, instead of rewriting its record at every sweep', async () => {
    const w = new RenewalWorld();
    const id = 'valve-0012';
    await w.given(aDeviceNamed(id));
    await w.sweepAt(DUE);
    const asked = only(w.methods.calls);
    const stored = (await w.ledger.read({ hub: HUB, deviceId: id }))!;
    const renewed = {
      ...aDeviceNamed(id, {
        validFrom: '2026-11-26T12:10:00.000Z',
        validUntil: '2026-12-26T12:10:00.000Z',
      }),
      renewal: { status: 'healthy' as const, attempts: 0, failures: 0 },
    };
    w.ledger.crashNextWrite = 'after-record';
    await expect(w.ledger.write(renewed, stored)).rejects.toThrow(/simulated crash/);
    const writesBefore = w.ledger.writes;

    for (const minutes of [1, 2, 3])
      await w.sweepAt(plus(asked.request.deadline, minutes * MINUTE_MS));

    expect(w.ledger.writes).toBe(writesBefore);
    const left = await collect(w.ledger.actionsDueBefore(plus(asked.request.deadline, HOUR_MS)));
    expect(left).toEqual([]);
  });
});

describe('RenewDevices in a dry run', () => {
  it('says what it would do and changes nothing: no call, no record, no budget, no audit', async () => {
    const w = new RenewalWorld();
    await w.given(
      aDeviceNamed('thermostat-0001'),
      aDeviceNamed('buoy-0006', { validUntil: '2026-11-26T06:00:00.000Z' }),
    );
    const before = structuredClone([...w.ledger.records.values()]);

    const report = await w.sweepAt(DUE, { dryRun: true });

    expect(report).toMatchObject({ dryRun: true, requested: 0, expired: 1, outcomes: {} });
    expect(report.planned.map((p) => p.deviceId)).toEqual(['thermostat-0001']);
    expect(w.methods.calls).toEqual([]);
    expect([...w.ledger.records.values()]).toEqual(before);
    expect(w.pacing.state).toBeUndefined();
    expect(w.trail()).toEqual([]);
  });

  it('counts the deadlines that have passed without recording them', async () => {
    const w = new RenewalWorld();
    await w.given(aDeviceNamed('gateway-0004'));
    await w.sweepAt(DUE);
    const renewal = w.record('gateway-0004').renewal;

    const report = await w.sweepAt(plus(DUE, 2 * HOUR_MS), { dryRun: true });

    expect(report.deadlinesPassed).toBe(1);
    expect(w.record('gateway-0004').renewal).toEqual(renewal);
    expect(w.auditTypes('gateway-0004')).toEqual(['renewal.due', 'renewal.requested']);
  });
});

describe('RenewDevices without an IoT Hub', () => {
  it('asks nobody but still keeps the books: a certificate that runs out is recorded expired', async () => {
    const w = new RenewalWorld({ withoutMethods: true });
    const expiresAt = '2026-11-26T18:00:00.000Z';
    await w.given(
      aDeviceNamed('thermostat-0001'),
      aDeviceNamed('buoy-0006', { validUntil: expiresAt }),
    );

    expect(w.renewals.requestsEnabled).toBe(false);
    const report = await w.sweepAt(DUE);
    expect(report).toMatchObject({ requestsDisabled: true, requested: 0, planned: [] });
    expect(report.pending).toBe(2);
    expect(await w.renewals.askNow([{ hub: HUB, deviceId: 'thermostat-0001' }], 'manual')).toEqual(
      [],
    );
    expect(w.record('thermostat-0001').renewal).toBeUndefined();

    const expiry = await w.sweepAt(expiresAt);

    expect(expiry.expired).toBe(1);
    expect(w.record('buoy-0006').renewal?.status).toBe('expired');
    expect(w.auditTypes('buoy-0006')).toEqual(['certificate.expired']);
    expect(w.methods.calls).toEqual([]);
  });
});
