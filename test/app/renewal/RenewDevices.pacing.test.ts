import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { MethodOutcome } from '../../../shared/domain/renewal/MethodOutcome';
import { DeviceMethodCall } from '../../support/memoryPorts';
import {
  DUE,
  FROM,
  HUB,
  RenewalWorld,
  UNTIL,
  aDeviceNamed,
  minuteOf,
  plus,
  startOfMinute,
} from '../../support/renewalWorld';

/**
 * The renewal engine under Azure's quotas, on in-memory ports: the per-minute budget, hubs
 * that throttle, and fleet-wide failure spikes, each trouble one incident rather than a failure
 * per device. Devices hold a 30-day certificate from 1 November 2026, due on 26 November at
 * 12:00, unless a test says otherwise.
 */

const ACCEPTED: MethodOutcome = { kind: 'accepted', status: 202 };
const REFUSED: MethodOutcome = { kind: 'refused', status: 409 };
const THROTTLED: MethodOutcome = { kind: 'throttled', errorCode: 429001 };

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** A device whose certificate, and so its renewal, comes `ms` later than the others'. */
const shifted = (deviceId: string, ms: number, hub = HUB) =>
  aDeviceNamed(deviceId, { hub, validFrom: plus(FROM, ms), validUntil: plus(UNTIL, ms) });

describe('RenewDevices under the quotas', () => {
  it('pauses only the throttling hub under one incident, records no device failure, and resumes by itself', async () => {
    const w = new RenewalWorld();
    let throttling = true;
    w.methods.byDefault = (device) => (device.hub === 'hub-a' && throttling ? THROTTLED : ACCEPTED);
    await w.given(
      shifted('a-0001', 0, 'hub-a'),
      shifted('a-0002', 0, 'hub-a'),
      shifted('a-0003', MINUTE_MS, 'hub-a'),
      shifted('b-0001', 0, 'hub-b'),
      shifted('b-0002', MINUTE_MS, 'hub-b'),
    );

    // The first 429 pauses hub-a at once: its other device due now is not called in this sweep.
    const throttled = await w.sweepAt(DUE);
    expect(throttled.outcomes).toEqual({ throttled: 1, accepted: 1 });
    expect(throttled.skipped).toBe(1);
    expect(throttled.incidentsOpened).toEqual([
      expect.objectContaining({ kind: 'hub-throttled', hub: 'hub-a' }),
    ]);
    for (const id of ['a-0001', 'a-0002']) {
      const renewal = w.record(id, 'hub-a').renewal;
      expect([renewal?.attempts ?? 0, renewal?.failures ?? 0]).toEqual([0, 0]);
    }

    // The next minute hub-a is still paused: its devices wait, hub-b's go ahead.
    const paused = await w.sweepAt(plus(DUE, MINUTE_MS));
    expect(paused.requested).toBe(1);
    expect(w.methods.calls.slice(2).map((c) => `${c.hub}/${c.deviceId}`)).toEqual(['hub-b/b-0002']);

    throttling = false;
    const resumed = await w.sweepAt(plus(DUE, 2 * MINUTE_MS));
    expect(resumed.outcomes).toEqual({ accepted: 3 });
    expect(resumed.incidentsResolved.map((i) => i.kind)).toEqual(['hub-throttled']);
    for (const id of ['a-0001', 'a-0002', 'a-0003'])
      expect(w.record(id, 'hub-a').renewal).toMatchObject({
        status: 'requested',
        attempts: 1,
        failures: 0,
      });

    const trail = w.trail();
    const opened = only(trail.filter((e) => e.type === 'incident.opened'));
    expect(opened).toMatchObject({ hub: 'hub-a', deviceId: '*' });
    expect(opened.detail).toMatch(/^hub-throttled: IoT Hub hub-a is throttling/);
    expect(only(trail.filter((e) => e.type === 'incident.resolved'))).toMatchObject({
      hub: 'hub-a',
      deviceId: '*',
    });
    expect(
      trail
        .filter((e) => e.hub === 'hub-a' && e.type === 'renewal.requested')
        .map((e) => e.renewal?.outcome),
    ).toEqual(['accepted', 'accepted', 'accepted']);
    expect(trail.filter((e) => e.type === 'renewal.failed')).toEqual([]);
  });

  it('starts a cohort early enough that no minute exceeds the rate and every device is asked before it expires', async () => {
    // 120 devices with 7-day certificates expiring at the same instant, renewal due 3 minutes
    // before expiry: at 20 a minute, starting at the due minute would save only 60 of them.
    const expiresAt = '2026-11-08T00:00:00.000Z';
    const dueAt = '2026-11-07T23:57:00.000Z';
    const w = new RenewalWorld({ renewalsPerMinute: 20 });
    const ids = Array.from({ length: 120 }, (_, i) => `sensor-${String(i).padStart(4, '0')}`);
    await w.given(
      ...ids.map((id) => aDeviceNamed(id, { validUntil: expiresAt, renewalDueAt: dueAt })),
    );

    for (let at = '2026-11-07T23:48:00.000Z'; at < expiresAt; at = plus(at, MINUTE_MS))
      await w.sweepAt(at);

    const perMinute = new Map<string, DeviceMethodCall[]>();
    for (const call of w.methods.calls)
      perMinute.set(minuteOf(call.at), [...(perMinute.get(minuteOf(call.at)) ?? []), call]);
    expect([...perMinute.entries()].map(([minute, calls]) => [minute, calls.length])).toEqual([
      ['2026-11-07T23:52', 20],
      ['2026-11-07T23:53', 20],
      ['2026-11-07T23:54', 20],
      ['2026-11-07T23:55', 20],
      ['2026-11-07T23:56', 20],
      ['2026-11-07T23:57', 20],
    ]);
    expect(new Set(w.methods.calls.map((c) => c.deviceId)).size).toBe(120);
    expect(w.methods.calls.every((c) => c.at < expiresAt)).toBe(true);
    const early = w.methods.calls.filter((c) => c.at < dueAt);
    expect(early).toHaveLength(100);
    expect(early.every((c) => c.request.reason === 'capacity')).toBe(true);
  });

  it('shares one budget a minute between the sweep and the devices asked as they connect', async () => {
    const w = new RenewalWorld({ renewalsPerMinute: 2 });
    const ids = ['meter-0001', 'meter-0002', 'meter-0003'];
    await w.given(...ids.map((id) => aDeviceNamed(id)));

    const sweep = await w.sweepAt(DUE);
    expect(sweep.requested).toBe(2);
    const [waiting] = ids.filter((id) => !w.methods.calls.some((c) => c.deviceId === id));
    const connected = { hub: HUB, deviceId: waiting! };

    // It connects within the same minute: no budget is left, so it is not asked yet.
    w.moveTo(plus(DUE, 50_000));
    expect(await w.renewals.askNow([connected], 'device-connected')).toEqual([]);
    expect(w.methods.calls).toHaveLength(2);

    // The next minute's sweep asks it first.
    const next = await w.sweepAt(plus(DUE, MINUTE_MS));
    expect(next.requested).toBe(1);
    expect(w.methods.calls[2]).toMatchObject(connected);
    expect(minuteOf(w.methods.calls[2]!.at)).toBe(minuteOf(plus(DUE, MINUTE_MS)));
  });

  it('opens one failure-spike incident when many devices refuse at once and asks nobody while paused', async () => {
    const w = new RenewalWorld();
    const refusing = Array.from({ length: 24 }, (_, i) => `batch-${String(i).padStart(4, '0')}`);
    const waiting = ['later-0001', 'later-0002', 'later-0003'];
    w.methods.byDefault = (device) => (device.deviceId.startsWith('batch-') ? REFUSED : ACCEPTED);
    await w.given(
      ...refusing.map((id) => aDeviceNamed(id)),
      // Due five minutes later, on another hub: the pause is fleet-wide.
      ...waiting.map((id) => shifted(id, 5 * MINUTE_MS, 'hub-b')),
    );

    // The 20th refusal in the window pauses everyone at once, the rest of this sweep included.
    const spike = await w.sweepAt(DUE);
    expect(spike.outcomes).toEqual({ refused: 20 });
    expect(spike.skipped).toBe(4);
    expect(spike.incidentsOpened.map((i) => i.kind)).toEqual(['failure-spike']);
    const refused = new Set(w.methods.calls.map((c) => c.deviceId));
    const pausedUntil = spike.pausedUntil!;
    expect(pausedUntil >= plus(DUE, 15 * MINUTE_MS)).toBe(true);

    const duringThePause = [1, 5, 10, 14].map((m) => plus(DUE, m * MINUTE_MS));
    for (const at of [...duringThePause, startOfMinute(pausedUntil)].filter((t) => t < pausedUntil))
      expect((await w.sweepAt(at)).pausedUntil).toBe(pausedUntil);
    expect(w.methods.calls).toHaveLength(20);

    // The outage is over. Those not asked yet are asked; the refused wait out their own backoff
    // (an hour); the incident is resolved once attempts succeed again.
    w.methods.byDefault = ACCEPTED;
    const resumed = await w.sweepAt(plus(startOfMinute(pausedUntil), MINUTE_MS));
    expect(resumed.outcomes).toEqual({ accepted: 7 });
    expect(resumed.incidentsResolved.map((i) => i.kind)).toEqual(['failure-spike']);
    expect(
      w.methods.calls
        .slice(20)
        .map((c) => c.deviceId)
        .sort(),
    ).toEqual([...refusing.filter((id) => !refused.has(id)), ...waiting].sort());
    const trail = w.trail();
    expect(trail.filter((e) => e.type === 'renewal.failed')).toHaveLength(20);
    const opened = only(trail.filter((e) => e.type === 'incident.opened'));
    expect(opened).toMatchObject({ hub: '*', deviceId: '*' });
    expect(opened.detail).toMatch(/^failure-spike: 20 of the last 20 renewal attempts failed/);
    expect(only(trail.filter((e) => e.type === 'incident.resolved'))).toMatchObject({
      hub: '*',
      deviceId: '*',
    });
  });

  it('opens a failure-spike incident when many accepted requests bring no certificate by their deadline', async () => {
    // An issuer outage: devices accept, then cannot get a certificate.
    const w = new RenewalWorld();
    const ids = Array.from({ length: 20 }, (_, i) => `dark-${String(i).padStart(4, '0')}`);
    await w.given(...ids.map((id) => aDeviceNamed(id)));
    await w.sweepAt(DUE);
    expect(w.methods.calls).toHaveLength(20);

    const noShows = await w.sweepAt(plus(DUE, HOUR_MS + MINUTE_MS));

    expect(noShows.deadlinesPassed).toBe(20);
    expect(noShows.incidentsOpened.map((i) => i.kind)).toEqual(['failure-spike']);
    expect(noShows.pausedUntil).toBeDefined();
    expect(only(w.trail().filter((e) => e.type === 'incident.opened')).detail).toMatch(
      /^failure-spike: /,
    );
    expect(w.trail().filter((e) => e.type === 'renewal.failed')).toHaveLength(20);
  });

  it('resumes after an issuer outage with three probe requests, and at the full rate once one brings a certificate', async () => {
    const w = new RenewalWorld();
    const dark = Array.from({ length: 20 }, (_, i) => `dark-${String(i).padStart(4, '0')}`);
    // Due once the outage's pause is over (80 minutes after the others).
    const later = Array.from({ length: 10 }, (_, i) => `later-${String(i).padStart(4, '0')}`);
    await w.given(
      ...dark.map((id) => aDeviceNamed(id)),
      ...later.map((id) => shifted(id, 80 * MINUTE_MS)),
    );
    await w.sweepAt(DUE);
    const spike = await w.sweepAt(plus(DUE, HOUR_MS + MINUTE_MS));
    expect(spike.incidentsOpened.map((i) => i.kind)).toEqual(['failure-spike']);
    const resumedAt = plus(startOfMinute(spike.pausedUntil!), 5 * MINUTE_MS);
    expect(resumedAt >= plus(DUE, 80 * MINUTE_MS)).toBe(true);

    // An acceptance proves nothing after an outage: three probes, then nobody while they wait.
    const probing = await w.sweepAt(resumedAt);
    const waiting = await w.sweepAt(plus(resumedAt, MINUTE_MS));
    expect([probing.outcomes, waiting.outcomes]).toEqual([{ accepted: 3 }, {}]);
    expect(waiting.incidentsResolved).toEqual([]);

    // A probe's device reports its new certificate: the issuer works again.
    const probe = w.methods.calls[20]!;
    const stored = (await w.ledger.read({ hub: HUB, deviceId: probe.deviceId }))!;
    await w.ledger.write(
      {
        ...shifted(probe.deviceId, 26 * 24 * HOUR_MS),
        renewal: { status: 'healthy', attempts: 0, failures: 0 },
      },
      stored,
    );
    const recovered = await w.sweepAt(plus(resumedAt, 2 * MINUTE_MS));
    const widened = await w.sweepAt(plus(resumedAt, 3 * MINUTE_MS));

    expect(recovered.incidentsResolved.map((i) => i.kind)).toEqual(['failure-spike']);
    expect(widened.outcomes).toEqual({ accepted: 7 });
    expect(
      w.methods.calls
        .slice(20)
        .map((c) => c.deviceId)
        .sort(),
    ).toEqual(later);
  });

  it('pauses everyone under one service-error incident when IoT Hub refuses certfleet itself', async () => {
    const w = new RenewalWorld();
    w.methods.byDefault = {
      kind: 'error',
      reason: 'IoT Hub answered 401: unauthorized',
      status: 401,
      transient: false,
    };
    await w.given(aDeviceNamed('meter-0001'), aDeviceNamed('meter-0002'));

    const sweep = await w.sweepAt(DUE);

    expect(sweep.outcomes).toEqual({ error: 1 });
    expect(sweep.skipped).toBe(1);
    expect(sweep.incidentsOpened.map((i) => i.kind)).toEqual(['service-error']);
    expect(sweep.pausedUntil).toBeDefined();
    // Not the devices' fault: no attempt counted, nothing audited per device.
    for (const id of ['meter-0001', 'meter-0002'])
      expect(w.record(id).renewal?.failures ?? 0).toBe(0);
    expect(w.trail().map((e) => e.type)).toEqual(['renewal.due', 'incident.opened']);
  });
});
