import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DeviceAgent, REPORT_TIMEOUT_MS } from '../../shared/agent/DeviceAgent';
import { DpsError } from '../../shared/agent/DpsRegistration';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../shared/domain/Clock';
import { agentWorld, AgentWorld, REGISTRATION_ID } from './support/agentWorld';
import { flush } from './support/ManualScheduler';

const DUE = '2026-11-25T00:00:00.000Z'; // 80% of the 30 days from 2026-11-01
const UNTIL = '2026-12-01T00:00:00.000Z';

/** DPS's answer over its quota: 429 with Retry-After. */
const throttled = (retryAfterMs: number) =>
  new DpsError('throttled', 'DPS answered 429', { status: 429, retryAfterMs });

describe('the reference device agent', () => {
  let world: AgentWorld;

  afterEach(async () => {
    await world?.cleanUp();
  });

  /** Certificate thumbprint currently in the twin. */
  const reportedThumbprint = () =>
    (world.hub.reported['certificate'] as Record<string, unknown> | undefined)?.['thumbprint'];

  /** Every private key file in the state directory now. */
  async function keysOnDisk(): Promise<string[]> {
    const credentials = path.join(world.stateDirectory, 'credentials');
    const ids = await readdir(credentials).catch(() => [] as string[]);
    return Promise.all(ids.map((id) => readFile(path.join(credentials, id, 'key.pem'), 'utf8')));
  }

  function keysOnDiskNow(): string[] {
    const credentials = path.join(world.stateDirectory, 'credentials');
    return readdirSync(credentials).map((id) =>
      readFileSync(path.join(credentials, id, 'key.pem'), 'utf8'),
    );
  }

  describe('on its first run', () => {
    beforeEach(async () => {
      world = await agentWorld();
      await world.agent.start();
    });

    it('registers with DPS authenticated by its onboarding certificate', () => {
      expect(world.dps.calls).toHaveLength(1);
      expect(world.dps.calls[0]!.authenticatedWith).toBe(world.onboarding.thumbprint);
      expect(world.dps.calls[0]!.registrationId).toBe(REGISTRATION_ID);
    });

    it('connects to the hub DPS assigned, as the device DPS named, with the issued certificate', () => {
      expect(world.hub.opens).toHaveLength(1);
      const open = world.hub.opens[0]!;
      expect(open.hubHostName).toBe('contoso-hub.azure-devices.net');
      expect(open.deviceId).toBe(REGISTRATION_ID);
      expect(open.methodName).toBe('renewCertificate');
      expect(open.thumbprint).toBe(world.agent.status().certificate!.thumbprint);
      expect(world.agent.status().connected).toBe(true);
    });

    it('reports the certificate in the twin, and nothing else under `certificate`', () => {
      const certificate = world.hub.reported['certificate'] as Record<string, unknown>;
      expect(Object.keys(certificate).sort()).toEqual(
        [
          'chain',
          'issuer',
          'pem',
          'registrationId',
          'serialNumber',
          'subject',
          'thumbprint',
          'validFrom',
          'validUntil',
        ].sort(),
      );
      expect(certificate['validFrom']).toBe('2026-11-01T00:00:00.000Z');
      expect(certificate['validUntil']).toBe(UNTIL);
      expect(certificate['subject']).toBe(`CN=${REGISTRATION_ID}`);
      expect(certificate['chain']).toHaveLength(1);
    });

    it('schedules its own renewal at 80% of the lifetime', () => {
      expect(world.agent.status().nextRenewalAt?.toISOString()).toBe(DUE);
    });
  });

  describe('renewing by itself', () => {
    beforeEach(async () => {
      world = await agentWorld();
      await world.agent.start();
    });

    it('does not renew before 80% of the lifetime, and renews at it', async () => {
      await world.advanceTo('2026-11-24T23:59:59.000Z');
      expect(world.dps.calls).toHaveLength(1);
      await world.advanceTo(DUE);
      expect(world.dps.calls).toHaveLength(2);
      expect(world.dps.calls[1]!.at.toISOString()).toBe(DUE);
    });

    it('authenticates the renewal to DPS with its onboarding certificate, as Azure documents', async () => {
      await world.advanceTo(DUE);
      expect(world.dps.calls[1]!.authenticatedWith).toBe(world.onboarding.thumbprint);
      expect(
        world.logs.find(
          (l) =>
            l.event === 'registered with DPS' && l.fields['authenticatedWith'] === 'onboarding',
        ),
      ).toBeDefined();
    });

    it('stores the new key, reconnects with the new certificate, reports it, and only then deletes the old key', async () => {
      const oldThumbprint = world.agent.status().certificate!.thumbprint.slice(0, 8);
      const [oldKey] = await keysOnDisk();
      const keysAtReport: string[][] = [];
      const report = world.hub.accept.bind(world.hub);
      world.hub.accept = (patch, session) => {
        report(patch, session);
        keysAtReport.push(keysOnDiskNow());
      };
      world.timeline.length = 0;

      await world.advanceTo(DUE);
      await flush();

      const newThumbprint = world.agent.status().certificate!.thumbprint.slice(0, 8);
      expect(newThumbprint).not.toBe(oldThumbprint);
      expect(world.timeline).toEqual([
        `hub.report renewal={"status":"renewing","reason":"scheduled","at":"${DUE}"} via=${oldThumbprint}`,
        `dps.register auth=${world.onboarding.thumbprint.slice(0, 8)}`,
        `hub.close cert=${oldThumbprint}`,
        `hub.open cert=${newThumbprint}`,
        `hub.report certificate=${newThumbprint} via=${newThumbprint}`,
      ]);
      // When IoT Hub took the new certificate's report, the old key was still on disk...
      expect(keysAtReport.at(-1)).toContain(oldKey);
      // ...and once it had, only the new key is.
      const keysNow = await keysOnDisk();
      expect(keysNow).toHaveLength(1);
      expect(keysNow).not.toContain(oldKey);
    });

    it('ends the renewal progress in the same patch that reports the new certificate', async () => {
      await world.advanceTo(DUE);
      const last = world.hub.patches.at(-1)!['certificate'] as Record<string, unknown>;
      expect(last['renewal']).toBeNull();
      expect(last['validFrom']).toBe(DUE);
      expect(world.hub.reported['certificate']).not.toHaveProperty('renewal');
    });

    it('schedules the next renewal from the new certificate', async () => {
      await world.advanceTo(DUE);
      // 30 days from the 25th, 80% of them: 24 days later.
      expect(world.agent.status().nextRenewalAt?.toISOString()).toBe('2026-12-19T00:00:00.000Z');
    });
  });

  describe("answering certfleet's renewCertificate", () => {
    const request = {
      requestId: '5f0c8e1d2a9b4c7e8f6a1b2c3d4e5f60',
      reason: 'due',
      currentValidUntil: UNTIL,
      deadline: '2026-11-26T14:00:00.000Z',
    };

    beforeEach(async () => {
      world = await agentWorld();
      await world.agent.start();
      await world.advanceTo('2026-11-10T00:00:00.000Z');
    });

    it('accepts at once with 202, echoing the request id, then renews', async () => {
      const answer = world.hub.invoke(request);
      expect(answer).toEqual({
        status: 202,
        payload: { requestId: request.requestId, status: 'accepted' },
      });
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(2);
      expect(world.agent.status().certificate!.validFrom.toISOString()).toBe(
        '2026-11-10T00:00:00.000Z',
      );
    });

    it('reports the renewal under way with the request id, and removes it when done', async () => {
      world.hub.invoke(request);
      await world.agent.whenIdle();
      const progress = world.hub.patches
        .map((p) => (p['certificate'] as Record<string, unknown>)['renewal'])
        .filter((r) => r !== null);
      expect(progress).toEqual([
        {
          status: 'renewing',
          requestId: request.requestId,
          reason: 'due',
          at: '2026-11-10T00:00:00.000Z',
        },
      ]);
      expect(world.hub.reported['certificate']).not.toHaveProperty('renewal');
    });

    it('refuses with 409 while it is already renewing on its own schedule', async () => {
      const release = world.dps.pause();
      await world.scheduler.advanceTo(DUE); // its own renewal starts, and DPS holds it
      expect(world.agent.status().renewing).toEqual({ kind: 'scheduled' });

      const answer = world.hub.invoke(request);
      expect(answer.status).toBe(409);
      expect(answer.payload['requestId']).toBe(request.requestId);

      release();
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(2);
    });

    it('accepts again, without a second registration, while renewing as certfleet asked', async () => {
      const release = world.dps.pause();
      expect(world.hub.invoke(request).status).toBe(202);
      const again = world.hub.invoke({ ...request, requestId: 'second-attempt' });
      expect(again).toEqual({
        status: 202,
        payload: { requestId: 'second-attempt', status: 'accepted' },
      });
      release();
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(2);
    });

    it('refuses a malformed request with 400 and does not renew', async () => {
      const answer = world.hub.invoke({ reason: 'due' });
      expect(answer.status).toBe(400);
      expect(answer.payload['problem']).toBe('requestId must be a non-empty string');
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(1);
    });

    it('treats a reason it does not know as due', async () => {
      expect(world.hub.invoke({ ...request, reason: 'quarterly' }).status).toBe(202);
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(2);
    });
  });

  describe('when a renewal fails', () => {
    beforeEach(async () => {
      world = await agentWorld();
      await world.agent.start();
    });

    it('keeps the current certificate and connection, and says so in the twin', async () => {
      const current = world.agent.status().certificate!.thumbprint;
      world.dps.failNext(new DpsError('unavailable', 'DPS answered 503'));
      await world.advanceTo(DUE);

      expect(world.agent.status().certificate!.thumbprint).toBe(current);
      expect(world.hub.connected).toBe(true);
      expect(reportedThumbprint()).toBe(current);
      expect((world.hub.reported['certificate'] as Record<string, unknown>)['renewal']).toEqual({
        status: 'failed',
        reason: 'scheduled',
        at: DUE,
        error: 'DPS answered 503',
        nextAttemptAt: '2026-11-25T00:00:45.000Z',
      });
    });

    it('tries again after a jittered wait that doubles with each failure', async () => {
      world.dps.failNext(
        new DpsError('unavailable', 'DPS answered 503'),
        new DpsError('unavailable', 'DPS answered 503'),
        new DpsError('unavailable', 'DPS answered 503'),
      );
      await world.advanceTo('2026-11-25T01:00:00.000Z');
      const attempts = world.dps.calls.slice(1).map((c) => c.at.getTime() - Date.parse(DUE));
      // With the jitter at its middle: 45 s, then 90 s more, then 180 s more; then success.
      expect(attempts).toEqual([0, 45_000, 135_000, 315_000]);
      expect(world.agent.status().renewalFailures).toBe(0);
      expect(world.agent.status().certificate!.validFrom.toISOString()).toBe(
        '2026-11-25T00:05:15.000Z',
      );
    });

    it('never waits more than an hour between attempts', async () => {
      world.dps.failNext(
        ...Array.from({ length: 12 }, () => new DpsError('unavailable', 'DPS answered 503')),
      );
      world.setRandom(0.999);
      await world.advanceTo('2026-11-26T00:00:00.000Z');
      const times = world.dps.calls.slice(1).map((c) => c.at.getTime());
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(HOUR_MS);
      expect(world.dps.calls).toHaveLength(14);
    });

    it("waits at least as long as DPS's Retry-After when throttled", async () => {
      world.dps.failNext(throttled(10 * MINUTE_MS));
      await world.advanceTo(DUE);
      expect(world.agent.status().nextRetryAt?.toISOString()).toBe('2026-11-25T00:10:00.000Z');
    });

    it('refuses certfleet with 503 until Retry-After has passed, then accepts', async () => {
      world.dps.failNext(throttled(10 * MINUTE_MS));
      await world.advanceTo(DUE);
      await world.advanceBy(5 * MINUTE_MS);
      const request = { requestId: 'asked-while-throttled', reason: 'due' };
      expect(world.hub.invoke(request)).toEqual({
        status: 503,
        payload: {
          requestId: request.requestId,
          status: 'busy',
          retryAt: '2026-11-25T00:10:00.000Z',
        },
      });
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(2);

      await world.advanceTo('2026-11-25T00:09:59.999Z');
      expect(world.dps.calls).toHaveLength(2);
      await world.advanceTo('2026-11-25T00:10:00.000Z');
      expect(world.dps.calls).toHaveLength(3);
      expect(world.dps.calls[2]!.at.toISOString()).toBe('2026-11-25T00:10:00.000Z');
      expect(world.agent.status().certificate!.validFrom.toISOString()).toBe(
        '2026-11-25T00:10:00.000Z',
      );
      // Renewed: certfleet's next request is accepted.
      expect(world.hub.invoke({ ...request, requestId: 'after' }).status).toBe(202);
    });

    it('holds only a 429 as a floor for certfleet, and none longer than its longest wait', async () => {
      world.dps.failNext(
        new DpsError('unavailable', 'DPS answered 503', {
          status: 503,
          retryAfterMs: 365 * DAY_MS,
        }),
      );
      await world.advanceTo(DUE);
      expect(world.agent.status().nextRetryAt?.toISOString()).toBe('2026-11-25T01:00:00.000Z');
      const answer = world.hub.invoke({ requestId: 'after-an-outage', reason: 'due' });
      expect(answer.status).toBe(202);
      await world.agent.whenIdle();
      expect(world.dps.calls).toHaveLength(3);
    });

    it('keeps the floor across a stop and a start, renewing an expired certificate when it ends', async () => {
      // A 2-hour certificate: renewal due at 01:36, expiry at 02:00, DPS's wait until 02:36.
      world = await agentWorld();
      world.dps.lifetimeMs = 2 * HOUR_MS;
      await world.agent.start();
      world.dps.failNext(throttled(HOUR_MS));
      await world.advanceTo('2026-11-01T01:36:00.000Z');
      expect(world.dps.calls).toHaveLength(2);
      await world.agent.stop(); // the pending retry goes with it

      world.clock.set('2026-11-01T02:10:00.000Z');
      await world.agent.start(); // expired: re-provisioning is due, but DPS said to wait
      expect(world.events()).toContain('renewal deferred');
      expect(world.agent.status().nextRetryAt?.toISOString()).toBe('2026-11-01T02:36:00.000Z');
      await world.advanceTo('2026-11-01T02:35:59.999Z');
      expect(world.dps.calls).toHaveLength(2);
      await world.advanceTo('2026-11-01T02:36:00.000Z');
      expect(world.dps.calls).toHaveLength(3);
      expect(world.agent.status().connected).toBe(true);
    });

    it('does not let its own expiry start a registration before Retry-After', async () => {
      world = await agentWorld({ retry: { initialMs: MINUTE_MS, maxMs: 10 * DAY_MS } });
      await world.agent.start();
      world.dps.failNext(throttled(8 * DAY_MS));
      await world.advanceTo(DUE);
      // The certificate expires on the 1st while DPS still asks it to wait: the connection
      // drops and the expiry would re-provision at once, but Retry-After holds.
      await world.advanceTo(UNTIL);
      world.hub.drop('certificate expired');
      await world.advanceTo('2026-12-02T00:00:00.000Z');
      expect(world.dps.calls).toHaveLength(2);
      expect(world.events()).toContain('renewal deferred');
      await world.advanceTo('2026-12-03T00:00:00.000Z');
      expect(world.dps.calls).toHaveLength(3);
      expect(world.dps.calls[2]!.at.toISOString()).toBe('2026-12-03T00:00:00.000Z');
      expect(world.dps.calls[2]!.authenticatedWith).toBe(world.onboarding.thumbprint);
    });
  });

  describe('with dpsCredential: current', () => {
    beforeEach(async () => {
      world = await agentWorld({ dpsCredential: 'current' });
      await world.agent.start();
    });

    it('authenticates the renewal with its current certificate while DPS accepts it', async () => {
      const current = world.agent.status().certificate!.thumbprint;
      await world.advanceTo(DUE);
      expect(world.dps.calls.map((c) => c.authenticatedWith)).toEqual([
        world.onboarding.thumbprint,
        current,
      ]);
    });

    it('falls back to the onboarding certificate when DPS refuses the current one, and says which worked', async () => {
      world.dps.accepts = (thumbprint) => thumbprint === world.onboarding.thumbprint;
      const current = world.agent.status().certificate!.thumbprint;
      await world.advanceTo(DUE);
      expect(world.dps.calls.slice(1).map((c) => c.authenticatedWith)).toEqual([
        current,
        world.onboarding.thumbprint,
      ]);
      expect(world.agent.status().certificate!.validFrom.toISOString()).toBe(DUE);
      const registered = world.logs.filter((l) => l.event === 'registered with DPS').at(-1);
      expect(registered?.fields['authenticatedWith']).toBe('onboarding');
    });
  });

  describe('with an expired certificate', () => {
    it('re-provisions with the onboarding certificate instead of connecting with the expired one', async () => {
      world = await agentWorld();
      await world.agent.start();
      await world.agent.stop();
      const { stateDirectory } = world;

      // The device was off past its certificate's end.
      const later = await agentWorld({ stateDirectory });
      later.clock.set('2026-12-05T00:00:00.000Z');
      world = later;
      await later.agent.start();

      expect(later.dps.calls).toHaveLength(1);
      expect(later.dps.calls[0]!.authenticatedWith).toBe(later.onboarding.thumbprint);
      expect(later.hub.opens).toHaveLength(1);
      expect(later.hub.opens[0]!.thumbprint).toBe(later.agent.status().certificate!.thumbprint);
      expect(later.agent.status().certificate!.validFrom.toISOString()).toBe(
        '2026-12-05T00:00:00.000Z',
      );
    });

    it('uses the onboarding certificate for a retry that comes after the expiry, even when configured for the current one', async () => {
      world = await agentWorld({
        dpsCredential: 'current',
        retry: { initialMs: 10 * DAY_MS, maxMs: 10 * DAY_MS },
      });
      await world.agent.start();
      world.dps.failNext(new DpsError('unavailable', 'issuer outage'));
      await world.advanceTo(DUE); // fails; next attempt 5 to 10 days later, after the expiry
      world.hub.drop('certificate expired');
      await world.advanceTo('2026-12-06T00:00:00.000Z');
      expect(world.dps.calls.at(-1)!.authenticatedWith).toBe(world.onboarding.thumbprint);
      expect(world.agent.status().connected).toBe(true);
    });
  });

  describe('when IoT Hub never answers a reported patch', () => {
    it('gives up on the connection after 30 s, reconnects and reports again', async () => {
      world = await agentWorld();
      world.hub.loseReports = 1;
      const started = world.agent.start();
      await until(() => world.hub.lostReports === 1);
      await world.scheduler.advanceBy(REPORT_TIMEOUT_MS - 1, flush);
      expect(world.agent.status().connected).toBe(true);
      expect(world.hub.patches).toHaveLength(0);

      await world.scheduler.advanceBy(1, flush);
      await started; // the first attempt is over: start() does not hang on the lost answer
      expect(world.hub.connected).toBe(false);
      expect(world.agent.status().lastError).toMatch(/did not answer the reported patch in 30 s/);

      await world.advanceBy(HOUR_MS);
      expect(world.hub.opens).toHaveLength(2);
      expect(reportedThumbprint()).toBe(world.agent.status().certificate!.thumbprint);
    });

    it('drops the connection when a progress report is lost, and the renewal goes on', async () => {
      world = await agentWorld();
      await world.agent.start();
      world.hub.loseReports = 1; // the "renewing" progress report
      await world.scheduler.advanceTo(DUE, flush);
      expect(world.hub.lostReports).toBe(1);
      expect(world.dps.calls).toHaveLength(1);
      await world.scheduler.advanceBy(REPORT_TIMEOUT_MS, flush);
      await world.agent.whenIdle();
      // The renewal waited at most the bound for the progress report, then went on.
      expect(world.dps.calls).toHaveLength(2);
      expect(world.dps.calls[1]!.at.getTime() - Date.parse(DUE)).toBe(REPORT_TIMEOUT_MS);
      expect(world.events()).toContain('disconnected');
      expect(world.hub.opens).toHaveLength(2);
      expect(reportedThumbprint()).toBe(world.agent.status().certificate!.thumbprint);
    });

    it('counts a drop while the report waits once, not twice', async () => {
      world = await agentWorld();
      world.hub.loseReports = 1;
      const started = world.agent.start();
      await until(() => world.hub.lostReports === 1);
      world.hub.drop('network unreachable');
      await world.scheduler.advanceBy(REPORT_TIMEOUT_MS, flush);
      await started;
      expect(world.events().filter((e) => e === 'reconnect scheduled')).toHaveLength(1);
      expect(world.agent.status().lastError).toBeUndefined();
      await world.advanceBy(HOUR_MS);
      expect(world.hub.opens).toHaveLength(2);
      expect(world.agent.status().connected).toBe(true);
    });

    it('stops at once instead of waiting for the answer', async () => {
      world = await agentWorld();
      world.hub.loseReports = 1;
      const started = world.agent.start();
      await until(() => world.hub.lostReports === 1);
      await world.agent.stop(); // the scheduler is not moved: only stop() can end the wait
      await started;
      expect(world.agent.status().running).toBe(false);
      expect(world.hub.connected).toBe(false);
      expect(world.scheduler.pendingCount).toBe(0);
      expect(world.events()).not.toContain('connection failed');
    });
  });

  it('after a restart, connects with the certificate it stored, without registering again', async () => {
    world = await agentWorld();
    await world.agent.start();
    const stored = world.agent.status().certificate!.thumbprint;
    await world.agent.stop();

    const restarted = await agentWorld({ stateDirectory: world.stateDirectory });
    world = restarted;
    await restarted.agent.start();
    expect(restarted.dps.calls).toHaveLength(0);
    expect(restarted.hub.opens[0]!.thumbprint).toBe(stored);
    expect(reportedThumbprint()).toBe(stored);
  });

  it('reconnects after a dropped connection, after a backoff, and reports again', async () => {
    world = await agentWorld();
    await world.agent.start();
    world.hub.failOpens = 1;
    world.hub.drop();
    expect(world.agent.status().connected).toBe(false);
    await world.advanceBy(45_000); // first retry: fails
    expect(world.hub.opens).toHaveLength(2);
    await world.advanceBy(90_000); // second: connects
    expect(world.hub.opens).toHaveLength(3);
    expect(world.agent.status().connected).toBe(true);
    expect(world.hub.patches).toHaveLength(2);
  });

  it('keeps the old key until the new certificate has been reported', async () => {
    world = await agentWorld();
    await world.agent.start();
    const [oldKey] = await keysOnDisk();
    world.hub.failReports = 2; // the progress report, then the new certificate's report
    await world.advanceTo(DUE);
    expect(await keysOnDisk()).toContain(oldKey);
    expect(world.agent.status().connected).toBe(false);

    await world.advanceBy(HOUR_MS);
    expect(world.agent.status().connected).toBe(true);
    expect(reportedThumbprint()).toBe(world.agent.status().certificate!.thumbprint);
    expect(await keysOnDisk()).not.toContain(oldKey);
  });

  it('keeps no more than the current key and the one it replaced while the hub is unreachable', async () => {
    world = await agentWorld();
    await world.agent.start();
    world.hub.failOpens = Number.MAX_SAFE_INTEGER;
    world.hub.drop();
    // Three renewals (Nov 25, Dec 19, Jan 12), none of them reported.
    await world.advanceTo('2027-01-15T00:00:00.000Z');
    expect(world.dps.calls).toHaveLength(4);
    expect(await keysOnDisk()).toHaveLength(2);
  });

  it('never puts a private key in a twin patch or a log line', async () => {
    world = await agentWorld();
    const keys = new Set<string>([world.onboarding.privateKeyPem]);
    const collect = async () => (await keysOnDisk()).forEach((k) => keys.add(k));
    await world.agent.start();
    await collect();
    world.hub.invoke({ requestId: 'r-1', reason: 'manual' });
    await world.agent.whenIdle();
    await collect();
    world.dps.failNext(new DpsError('rejected', 'bad CSR'));
    await world.advanceTo('2026-12-31T00:00:00.000Z');
    await collect();
    expect(keys.size).toBeGreaterThanOrEqual(4);

    const said = [...world.hub.patches.map((p) => JSON.stringify(p)), ...world.logLines()].join(
      '\n',
    );
    expect(said).not.toMatch(/PRIVATE KEY/);
    for (const key of keys) {
      for (const line of key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
        expect(said).not.toContain(line);
      }
    }
  });

  it('logs one line per state change, naming what changed', async () => {
    world = await agentWorld();
    await world.agent.start();
    expect(world.events()).toEqual([
      'starting',
      'renewal started',
      'registered with DPS',
      'certificate installed',
      'renewal scheduled',
      'connecting',
      'connected',
      'certificate reported',
    ]);
    expect(world.logLines().every((line) => !line.includes('\n'))).toBe(true);
  });

  it('stop closes the connection and leaves no timer behind', async () => {
    world = await agentWorld();
    await world.agent.start();
    expect(world.scheduler.pendingCount).toBeGreaterThan(0);
    await world.agent.stop();
    expect(world.hub.connected).toBe(false);
    expect(world.scheduler.pendingCount).toBe(0);
    expect(world.agent.status().running).toBe(false);
  });

  it('a start() while stop() is under way waits for the stop, then runs', async () => {
    world = await agentWorld();
    await world.agent.start();
    const release = world.dps.pause();
    await world.scheduler.advanceTo(DUE, flush); // a renewal, held at DPS
    const stopped = world.agent.stop();
    const restarted = world.agent.start();
    await flush();
    expect(world.agent.status().running).toBe(false);
    release();
    await stopped;
    await restarted;
    expect(world.agent.status().running).toBe(true);
    expect(world.agent.status().renewalFailures).toBe(0);
    expect(world.hub.connected).toBe(true);
  });

  it('refuses to start with an onboarding key that is not its certificate’s', async () => {
    world = await agentWorld();
    const mismatched = new DeviceAgent({
      registrationId: REGISTRATION_ID,
      idScope: '0ne00000A1B',
      dpsHost: 'dps.example.net',
      stateDirectory: world.stateDirectory,
      onboarding: {
        certificateChainPem: world.onboarding.certificateChainPem,
        privateKeyPem: await generatedKeyPem(),
      },
      dps: world.dps,
      hub: world.hub,
    });
    await expect(mismatched.start()).rejects.toThrow(/onboarding key is not/);
    expect(world.dps.calls).toHaveLength(0);
  });
});

/** Lets the agent's real asynchronous work (key generation, files) run until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}

async function generatedKeyPem(): Promise<string> {
  const { generateKeys, privateKeyPem } = await import('../../shared/local/LocalCa');
  return privateKeyPem(await generateKeys('P-256'));
}
