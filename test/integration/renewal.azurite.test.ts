import { RawIotHubMessage } from '../../shared/app/ingest/RawIotHubMessage';
import { IngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { SweepReport } from '../../shared/app/renewal/RenewDevices';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { DAY_MS, HOUR_MS, MINUTE_MS, ManualClock } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { deviceConnected, twinUpdated } from '../../shared/local/iotHubMessages';
import { buildServices } from '../../shared/services';
import { TestPki, aPki } from '../support/certificates';
import { SimulatedTime } from '../support/simulatedTime';
import { ACCEPTS, FleetCall, REFUSES, StandInFleet } from '../support/standInFleet';
import { testEnvironment } from '../support/testStorage';

/**
 * The renewal engine end to end: ledger and audit trail on Azurite, devices behind the stand-in
 * IoT Hub reached through the real IoT Hub adapter (CERTFLEET_IOTHUB_ENDPOINT), time moved by a
 * ManualClock. The sweep's paced waits move the clock instead of waiting (SimulatedTime).
 *
 * Unless a test says otherwise, devices hold a 30-day certificate from 1 November 2026: under
 * the default policy (85% of the lifetime) renewal falls due on 26 November at 12:00, and the
 * certificate expires on 1 December at 00:00.
 */
const HUB = 'contoso-hub';
const FROM = '2026-11-01T00:00:00.000Z';
const UNTIL = '2026-12-01T00:00:00.000Z';
const DUE = '2026-11-26T12:00:00.000Z';
const REPORTED_AT = '2026-11-01T00:05:00.000Z';

const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const minuteOf = (iso: string) => iso.slice(0, 16);
const startOfMinute = (iso: string) => `${minuteOf(iso)}:00.000Z`;

/** The reported-properties change that carries a device's certificate (or its validity). */
function reports(
  deviceId: string,
  certificate: Record<string, unknown>,
  options: { at?: string; version?: number; hub?: string } = {},
): RawIotHubMessage {
  return twinUpdated(
    { hub: options.hub ?? HUB, deviceId, at: options.at ?? REPORTED_AT },
    options.version ?? 2,
    { certificate },
  );
}

/** Microsoft's minimum convention: validity only, no PEM. */
function validity(shiftMs = 0, from = FROM, until = UNTIL): Record<string, unknown> {
  return { validFrom: plus(from, shiftMs), validUntil: plus(until, shiftMs) };
}

interface World {
  fleet: StandInFleet;
  /** Moves the clock to `iso` (never back) and runs one sweep, as the timer would. */
  sweepAt(iso: string): Promise<SweepReport>;
  /** Moves the clock to `iso` and hands IoT Hub events to the ingest use case. */
  ingestAt(iso: string, ...messages: RawIotHubMessage[]): Promise<IngestSummary>;
  record(deviceId: string, hub?: string): Promise<DeviceRecord>;
  /** Every audit record of the UTC dates from `first` to `last`. */
  audit(first: string, last: string): Promise<AuditEntry[]>;
  /** The audit blobs of those dates whose hash chain does not verify. */
  brokenChains(first: string, last: string): Promise<string[]>;
}

const running: StandInFleet[] = [];
afterEach(async () => {
  for (const fleet of running.splice(0)) await fleet.stop();
});

let pki: TestPki;
beforeAll(async () => {
  pki = await aPki();
});

async function aWorld(now: string, env: Record<string, string> = {}): Promise<World> {
  const clock = new ManualClock(now);
  const time = new SimulatedTime(clock);
  // SimulatedTime wakes the next paced call once the woken one is done: it reads the ledger
  // (busy) and, once its call reached the hub, stores the device's answer in its record.
  let answering: string | undefined;
  const fleet = await new StandInFleet(clock, (hub, deviceId) => {
    answering = `${hub}/${deviceId}`;
    time.busy();
  }).start();
  running.push(fleet);
  const settings = loadSettings(testEnvironment({ CERTFLEET_IOTHUB_ENDPOINT: fleet.url, ...env }));
  const services = buildServices(settings, { clock, sleep: time.sleep });
  const { ledger } = services;
  const read = ledger.read.bind(ledger);
  const write = ledger.write.bind(ledger);
  ledger.read = (key) => {
    time.busy();
    return read(key);
  };
  ledger.write = async (record, previous) => {
    const etag = await write(record, previous);
    if (answering === `${record.hub}/${record.deviceId}`) {
      answering = undefined;
      time.settled();
    }
    return etag;
  };
  const dates = (first: string, last: string) => {
    const out: string[] = [];
    for (let d = Date.parse(first); d <= Date.parse(last); d += DAY_MS)
      out.push(new Date(d).toISOString().slice(0, 10));
    return out;
  };
  return {
    fleet,
    sweepAt: async (iso) => {
      time.moveTo(iso);
      return services.renewals.sweep();
    },
    ingestAt: async (iso, ...messages) => {
      time.moveTo(iso);
      const summary = await services.ingest.apply(messages);
      expect(summary.deadLettered).toBe(0);
      return summary;
    },
    record: async (deviceId, hub = HUB) => {
      const stored = await read({ hub, deviceId });
      if (!stored) throw new Error(`${hub}/${deviceId} is not in the ledger`);
      return stored.value;
    },
    audit: async (first, last) => {
      const entries: AuditEntry[] = [];
      for (const date of dates(first, last))
        for await (const entry of services.audit.readDate(date)) entries.push(entry);
      return entries;
    },
    brokenChains: async (first, last) => {
      const broken: string[] = [];
      for (const date of dates(first, last)) {
        const verification = await services.audit.verifyDate(date);
        for (const blob of verification.blobs) if (!blob.result.ok) broken.push(blob.name);
      }
      return broken;
    },
  };
}

/** A device's audit types, without its alerts' (test/app/alerts follows those through time). */
const typesOf = (entries: AuditEntry[], deviceId: string) =>
  entries.filter((e) => e.deviceId === deviceId && !e.type.startsWith('alert.')).map((e) => e.type);

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

describe('the renewal engine against Azurite and a stand-in IoT Hub', () => {
  it('asks a device at the first sweep after 85% of its lifetime and records the verified renewal', async () => {
    const id = 'thermostat-0001';
    const w = await aWorld(REPORTED_AT, { CERTFLEET_TRUST_BUNDLE: pki.trustBundlePem });
    const first = await pki.leaf(id).validFrom(FROM).forDays(30).issue();
    await w.ingestAt(REPORTED_AT, reports(id, first.report()));
    expect((await w.record(id)).renewalDueAt).toBe(DUE);

    for (const at of [
      '2026-11-20T00:00:00.000Z',
      '2026-11-26T11:00:00.000Z',
      plus(DUE, -MINUTE_MS),
    ])
      expect((await w.sweepAt(at)).requested).toBe(0);
    expect(w.fleet.calls).toEqual([]);
    expect((await w.record(id)).renewal).toBeUndefined();

    const sweep = await w.sweepAt(DUE);
    const call = only(w.fleet.calls);
    expect(sweep.outcomes).toEqual({ accepted: 1 });
    expect(minuteOf(call.at)).toBe(minuteOf(DUE));
    expect(call).toMatchObject({ hub: HUB, deviceId: id, methodName: 'renewCertificate' });
    expect(call.payload).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
      reason: 'due',
      currentValidUntil: UNTIL,
      deadline: plus(call.at, HOUR_MS),
    });
    expect((await w.record(id)).renewal).toMatchObject({
      status: 'requested',
      attempts: 1,
      failures: 0,
      deadline: call.payload.deadline,
    });

    // The device re-registers with DPS and reports its new certificate from the same PKI.
    const renewed = await pki.leaf(id).validFrom('2026-11-26T12:10:00.000Z').forDays(30).issue();
    const reportedAt = '2026-11-26T12:20:00.000Z';
    await w.ingestAt(
      '2026-11-26T12:21:00.000Z',
      reports(id, renewed.report(), { at: reportedAt, version: 3 }),
    );

    const record = await w.record(id);
    expect(record.renewal).toEqual({ status: 'healthy', attempts: 0, failures: 0 });
    expect(record.current?.thumbprintSha256).toBe(renewed.sha256);
    expect(record.findings).toEqual([]);
    expect(record.renewalDueAt).toBe('2026-12-22T00:10:00.000Z');
    const trail = await w.audit('2026-11-01', '2026-11-26');
    expect(typesOf(trail, id)).toEqual([
      'certificate.first-seen',
      'renewal.due',
      'renewal.requested',
      'certificate.renewed',
      'renewal.succeeded',
    ]);
    const requested = trail.find((e) => e.type === 'renewal.requested')!;
    expect(requested.renewal).toMatchObject({
      requestId: call.payload.requestId,
      outcome: 'accepted',
      status: 202,
    });
    const succeeded = trail.find((e) => e.type === 'renewal.succeeded')!;
    expect(succeeded.renewal).toMatchObject({
      attempts: 1,
      failures: 0,
      renewedBy: 'certfleet',
      durationMs: Date.parse(reportedAt) - Date.parse(call.at),
    });
    expect(succeeded.old?.thumbprintSha256).toBe(first.sha256);
    expect(succeeded.new?.thumbprintSha256).toBe(renewed.sha256);
    expect(await w.brokenChains('2026-11-01', '2026-11-26')).toEqual([]);
  });

  it('marks an offline device unreachable without counting a failure and asks it the moment it connects', async () => {
    const id = 'meter-0002';
    const w = await aWorld(REPORTED_AT);
    w.fleet.behaviour = () => 'offline';
    await w.ingestAt(REPORTED_AT, reports(id, validity()));

    const sweep = await w.sweepAt(DUE);
    const offline = only(w.fleet.calls);
    expect(offline.status).toBe(404);
    expect(sweep.outcomes).toEqual({ offline: 1 });
    expect((await w.record(id)).renewal).toMatchObject({
      status: 'unreachable',
      attempts: 1,
      failures: 0,
      nextAttemptAt: plus(offline.at, 6 * HOUR_MS),
    });
    const trail = await w.audit('2026-11-26', '2026-11-26');
    expect(typesOf(trail, id)).toEqual(['renewal.due', 'renewal.requested']);
    expect(trail.find((e) => e.type === 'renewal.requested')!.renewal).toMatchObject({
      outcome: 'offline',
      failures: 0,
    });

    // Two hours later the device connects: it is asked during the ingest, not at a sweep.
    w.fleet.behaviour = () => ACCEPTS;
    const connectedAt = '2026-11-26T14:00:00.000Z';
    const ingestedAt = '2026-11-26T14:00:03.000Z';
    await w.ingestAt(ingestedAt, deviceConnected({ hub: HUB, deviceId: id, at: connectedAt }, 7n));

    expect(w.fleet.calls).toHaveLength(2);
    expect(w.fleet.calls[1]).toMatchObject({ deviceId: id, at: ingestedAt, status: 200 });
    expect(w.fleet.calls[1]!.payload).toMatchObject({ reason: 'device-connected' });
    expect(w.fleet.calls[1]!.payload.requestId).not.toBe(offline.payload.requestId);
    const record = await w.record(id);
    expect(record.connection.state).toBe('connected');
    expect(record.renewal).toMatchObject({ status: 'requested', attempts: 2, failures: 0 });
  });

  it('retries a refusing device after its backoff and never before, then abandons it after the last allowed failure', async () => {
    const id = 'camera-0003';
    const w = await aWorld(REPORTED_AT, { CERTFLEET_RENEWAL_MAX_FAILURES: '3' });
    w.fleet.behaviour = () => REFUSES;
    await w.ingestAt(REPORTED_AT, reports(id, validity()));

    await w.sweepAt(DUE);
    const first = only(w.fleet.calls);
    let renewal = (await w.record(id)).renewal!;
    expect(renewal).toMatchObject({ status: 'retrying', attempts: 1, failures: 1 });
    expect(renewal.nextAttemptAt).toBe(plus(first.at, HOUR_MS));

    // Backoff doubles: 1 h after the first refusal, 2 h after the second.
    for (const [n, backoff] of [
      [2, HOUR_MS],
      [3, 2 * HOUR_MS],
    ] as const) {
      const retryAt = renewal.nextAttemptAt!;
      expect(retryAt).toBe(plus(w.fleet.calls[n - 2]!.at, backoff));
      await w.sweepAt(plus(retryAt, -30 * MINUTE_MS));
      await w.sweepAt(startOfMinute(retryAt)); // its minute, but before its time
      expect(w.fleet.calls).toHaveLength(n - 1);

      await w.sweepAt(plus(startOfMinute(retryAt), MINUTE_MS));
      expect(w.fleet.calls).toHaveLength(n);
      const retry = w.fleet.calls[n - 1]!;
      expect(retry.at >= retryAt).toBe(true);
      expect(retry.payload.reason).toBe('retry');
      renewal = (await w.record(id)).renewal!;
    }

    expect(renewal).toMatchObject({ status: 'failed', attempts: 3, failures: 3 });
    await w.sweepAt(plus(w.fleet.calls[2]!.at, 8 * HOUR_MS));
    expect(w.fleet.calls).toHaveLength(3);
    const trail = await w.audit('2026-11-26', '2026-11-26');
    expect(typesOf(trail, id)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
      'renewal.requested',
      'renewal.failed',
      'renewal.requested',
      'renewal.failed',
      'renewal.abandoned',
    ]);
    expect(trail.find((e) => e.type === 'renewal.failed')!.renewal?.reason).toBe(
      'device refused (status 409)',
    );
  });

  it('counts a request left without a new certificate past its deadline as a failure and asks again', async () => {
    const id = 'gateway-0004';
    const w = await aWorld(REPORTED_AT, { CERTFLEET_RENEWAL_DEADLINE_MINUTES: '30' });
    await w.ingestAt(REPORTED_AT, reports(id, validity()));

    await w.sweepAt(DUE);
    const asked = only(w.fleet.calls);
    const deadline = plus(asked.at, 30 * MINUTE_MS);
    expect(asked.payload.deadline).toBe(deadline);

    const before = await w.sweepAt(startOfMinute(deadline));
    expect(before.deadlinesPassed).toBe(0);
    expect((await w.record(id)).renewal?.status).toBe('requested');

    const passedAt = plus(startOfMinute(deadline), MINUTE_MS);
    const after = await w.sweepAt(passedAt);
    expect(after.deadlinesPassed).toBe(1);
    expect(w.fleet.calls).toHaveLength(1);
    const renewal = (await w.record(id)).renewal!;
    expect(renewal).toMatchObject({
      status: 'retrying',
      attempts: 1,
      failures: 1,
      reason: 'no new certificate reported by the deadline',
      nextAttemptAt: plus(passedAt, HOUR_MS),
    });
    const failed = (await w.audit('2026-11-26', '2026-11-26')).filter(
      (e) => e.type === 'renewal.failed',
    );
    expect(only(failed).renewal?.reason).toBe('no new certificate reported by the deadline');

    await w.sweepAt(renewal.nextAttemptAt!);
    expect(w.fleet.calls).toHaveLength(2);
    const again = w.fleet.calls[1]!;
    expect(again.payload).toMatchObject({
      reason: 'retry',
      deadline: plus(again.at, 30 * MINUTE_MS),
    });
    expect(again.payload.requestId).not.toBe(asked.payload.requestId);
    expect((await w.record(id)).renewal?.status).toBe('requested');
  });

  it('retries a device that timed out (504101) after the short five-minute backoff', async () => {
    const id = 'pump-0005';
    const w = await aWorld(REPORTED_AT);
    w.fleet.behaviour = () => 'timeout';
    await w.ingestAt(REPORTED_AT, reports(id, validity()));

    const sweep = await w.sweepAt(DUE);
    const timedOut = only(w.fleet.calls);
    expect(timedOut.status).toBe(504);
    expect(sweep.outcomes).toEqual({ timeout: 1 });
    const renewal = (await w.record(id)).renewal!;
    expect(renewal).toMatchObject({
      status: 'retrying',
      failures: 1,
      reason: 'device did not answer in time (504101)',
      nextAttemptAt: plus(timedOut.at, 5 * MINUTE_MS),
    });
    expect(typesOf(await w.audit('2026-11-26', '2026-11-26'), id)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
    ]);

    w.fleet.behaviour = () => ACCEPTS;
    await w.sweepAt(plus(startOfMinute(timedOut.at), MINUTE_MS));
    await w.sweepAt(startOfMinute(renewal.nextAttemptAt!));
    expect(w.fleet.calls).toHaveLength(1);
    await w.sweepAt(plus(startOfMinute(renewal.nextAttemptAt!), MINUTE_MS));
    expect(w.fleet.calls).toHaveLength(2);
    expect(w.fleet.calls[1]!.at >= renewal.nextAttemptAt!).toBe(true);
    expect((await w.record(id)).renewal?.status).toBe('requested');
  });

  it('pauses only the throttling hub under one incident, records no device failure, and resumes by itself', async () => {
    const w = await aWorld(REPORTED_AT);
    let throttling = true;
    w.fleet.behaviour = (hub) => (hub === 'hub-a' && throttling ? 'throttled' : ACCEPTS);
    const oneMinuteLater = MINUTE_MS;
    await w.ingestAt(
      REPORTED_AT,
      reports('a-0001', validity(), { hub: 'hub-a' }),
      reports('a-0002', validity(), { hub: 'hub-a' }),
      reports('a-0003', validity(oneMinuteLater), { hub: 'hub-a' }),
      reports('b-0001', validity(), { hub: 'hub-b' }),
      reports('b-0002', validity(oneMinuteLater), { hub: 'hub-b' }),
    );

    // The first 429 pauses hub-a at once: its other device due now is not called in this sweep.
    const throttled = await w.sweepAt(DUE);
    expect(throttled.outcomes).toEqual({ throttled: 1, accepted: 1 });
    expect(throttled.skipped).toBe(1);
    expect(throttled.incidentsOpened).toEqual([
      expect.objectContaining({ kind: 'hub-throttled', hub: 'hub-a' }),
    ]);
    expect(w.fleet.calls.map((c) => c.status).sort()).toEqual([200, 429]);
    for (const id of ['a-0001', 'a-0002']) {
      const renewal = (await w.record(id, 'hub-a')).renewal;
      expect([renewal?.attempts ?? 0, renewal?.failures ?? 0]).toEqual([0, 0]);
    }

    // The next minute hub-a is still paused: its devices wait, hub-b's go ahead.
    const paused = await w.sweepAt(plus(DUE, MINUTE_MS));
    expect(paused.requested).toBe(1);
    expect(w.fleet.calls.slice(2).map((c) => `${c.hub}/${c.deviceId}`)).toEqual(['hub-b/b-0002']);

    throttling = false;
    const resumed = await w.sweepAt(plus(DUE, 2 * MINUTE_MS));
    expect(resumed.outcomes).toEqual({ accepted: 3 });
    expect(resumed.incidentsResolved.map((i) => i.kind)).toEqual(['hub-throttled']);
    for (const id of ['a-0001', 'a-0002', 'a-0003'])
      expect((await w.record(id, 'hub-a')).renewal).toMatchObject({
        status: 'requested',
        attempts: 1,
        failures: 0,
      });

    const trail = await w.audit('2026-11-26', '2026-11-26');
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
        .map((e) => e.renewal),
    ).toEqual([
      expect.objectContaining({ outcome: 'accepted' }),
      expect.objectContaining({ outcome: 'accepted' }),
      expect.objectContaining({ outcome: 'accepted' }),
    ]);
    expect(trail.filter((e) => e.type === 'renewal.failed')).toEqual([]);
  });

  it('records certificate.expired for a device that never came online before its certificate ran out', async () => {
    // A 7-day certificate, the shortest Azure issues: due on 6 November at 22:48 (85%).
    const id = 'buoy-0006';
    const expiresAt = '2026-11-08T00:00:00.000Z';
    const w = await aWorld(REPORTED_AT);
    w.fleet.behaviour = () => 'offline';
    await w.ingestAt(REPORTED_AT, reports(id, validity(0, FROM, expiresAt)));
    expect((await w.record(id)).renewalDueAt).toBe('2026-11-06T22:48:00.000Z');

    // Offline devices are asked again 6 hours later (and whenever they connect; this one never
    // does): sweep at the first minute each recheck is due.
    let sweeps = 0;
    for (let at = '2026-11-06T22:48:00.000Z'; at < expiresAt; sweeps += 1) {
      await w.sweepAt(at);
      const renewal = (await w.record(id)).renewal!;
      expect(renewal).toMatchObject({ status: 'unreachable', failures: 0 });
      at = plus(startOfMinute(renewal.nextAttemptAt!), MINUTE_MS);
    }
    expect(sweeps).toBe(5);
    expect(w.fleet.calls).toHaveLength(sweeps);
    expect(w.fleet.calls.every((c) => c.status === 404 && c.at < expiresAt)).toBe(true);

    const expiry = await w.sweepAt(expiresAt);
    expect(expiry.expired).toBe(1);
    await w.sweepAt(plus(expiresAt, 6 * HOUR_MS));
    expect(w.fleet.calls).toHaveLength(sweeps);
    expect((await w.record(id)).renewal).toMatchObject({
      status: 'expired',
      attempts: sweeps,
      failures: 0,
    });
    const expired = only(
      (await w.audit('2026-11-08', '2026-11-08')).filter((e) => e.type === 'certificate.expired'),
    );
    expect(expired).toMatchObject({ deviceId: id, occurredAt: expiresAt });
    expect(expired.old?.validUntil).toBe(expiresAt);
  });

  it('starts a cohort early enough that no minute exceeds the rate and every device is asked before it expires', async () => {
    // 120 devices with 7-day certificates expiring at the same instant, renewal due 3 minutes
    // before expiry: at 20 a minute, starting at the due minute would save only 60 of them.
    const expiresAt = '2026-11-08T00:00:00.000Z';
    const dueAt = '2026-11-07T23:57:00.000Z';
    const w = await aWorld(REPORTED_AT, {
      CERTFLEET_RENEWALS_PER_MINUTE: '20',
      CERTFLEET_RENEW_BEFORE_HOURS: '0.05',
    });
    const ids = Array.from({ length: 120 }, (_, i) => `sensor-${String(i).padStart(4, '0')}`);
    await w.ingestAt(REPORTED_AT, ...ids.map((id) => reports(id, validity(0, FROM, expiresAt))));
    expect((await w.record(ids[0]!)).renewalDueAt).toBe(dueAt);

    for (let at = '2026-11-07T23:48:00.000Z'; at < expiresAt; at = plus(at, MINUTE_MS))
      await w.sweepAt(at);

    const perMinute = new Map<string, FleetCall[]>();
    for (const call of w.fleet.calls)
      perMinute.set(minuteOf(call.at), [...(perMinute.get(minuteOf(call.at)) ?? []), call]);
    expect([...perMinute.entries()].map(([minute, calls]) => [minute, calls.length])).toEqual([
      ['2026-11-07T23:52', 20],
      ['2026-11-07T23:53', 20],
      ['2026-11-07T23:54', 20],
      ['2026-11-07T23:55', 20],
      ['2026-11-07T23:56', 20],
      ['2026-11-07T23:57', 20],
    ]);
    expect(new Set(w.fleet.calls.map((c) => c.deviceId)).size).toBe(120);
    expect(w.fleet.calls.every((c) => c.at < expiresAt && c.status === 200)).toBe(true);
    const early = w.fleet.calls.filter((c) => c.at < dueAt);
    expect(early).toHaveLength(100);
    expect(early.every((c) => c.payload.reason === 'capacity')).toBe(true);
  });

  it('opens one failure-spike incident when many devices refuse at once and asks nobody while paused', async () => {
    const w = await aWorld(REPORTED_AT);
    const refusing = Array.from({ length: 24 }, (_, i) => `batch-${String(i).padStart(4, '0')}`);
    const waiting = ['later-0001', 'later-0002', 'later-0003'];
    w.fleet.behaviour = (_hub, deviceId) => (deviceId.startsWith('batch-') ? REFUSES : ACCEPTS);
    await w.ingestAt(
      REPORTED_AT,
      ...refusing.map((id) => reports(id, validity())),
      // Due five minutes later, on another hub: the pause is fleet-wide.
      ...waiting.map((id) => reports(id, validity(5 * MINUTE_MS), { hub: 'hub-b' })),
    );

    // The 20th refusal in the window pauses everyone at once, the rest of this sweep included.
    const spike = await w.sweepAt(DUE);
    expect(spike.outcomes).toEqual({ refused: 20 });
    expect(spike.skipped).toBe(4);
    expect(spike.incidentsOpened.map((i) => i.kind)).toEqual(['failure-spike']);
    const refused = new Set(w.fleet.calls.map((c) => c.deviceId));
    const pausedUntil = spike.pausedUntil!;
    expect(pausedUntil >= plus(DUE, 15 * MINUTE_MS)).toBe(true);

    const duringThePause = [1, 5, 10, 14].map((m) => plus(DUE, m * MINUTE_MS));
    for (const at of [...duringThePause, startOfMinute(pausedUntil)].filter((t) => t < pausedUntil))
      expect((await w.sweepAt(at)).pausedUntil).toBe(pausedUntil);
    expect(w.fleet.calls).toHaveLength(20);

    // The outage is over. Those not asked yet are asked; the refused wait out their own backoff
    // (an hour); the incident is resolved once attempts succeed again.
    w.fleet.behaviour = () => ACCEPTS;
    const resumed = await w.sweepAt(plus(startOfMinute(pausedUntil), MINUTE_MS));
    expect(resumed.outcomes).toEqual({ accepted: 7 });
    expect(resumed.incidentsResolved.map((i) => i.kind)).toEqual(['failure-spike']);
    expect(
      w.fleet.calls
        .slice(20)
        .map((c) => c.deviceId)
        .sort(),
    ).toEqual([...refusing.filter((id) => !refused.has(id)), ...waiting].sort());
    const trail = await w.audit('2026-11-26', '2026-11-26');
    expect(trail.filter((e) => e.type === 'renewal.failed')).toHaveLength(20);
    const opened = only(trail.filter((e) => e.type === 'incident.opened'));
    expect(opened).toMatchObject({ hub: '*', deviceId: '*' });
    expect(opened.detail).toMatch(/^failure-spike: 20 of the last 20 renewal attempts failed/);
    expect(only(trail.filter((e) => e.type === 'incident.resolved'))).toMatchObject({
      hub: '*',
      deviceId: '*',
    });
  });
});
