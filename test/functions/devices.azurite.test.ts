import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getDevice, renewDevice } from '../../functions/devices';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { HOUR_MS, ManualClock } from '../../shared/domain/Clock';
import { deviceCreated, twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, buildServices, useServices } from '../../shared/services';
import { ACCEPTS, REFUSES, StandInFleet } from '../support/standInFleet';
import { testEnvironment } from '../support/testStorage';

/**
 * The HTTP functions, called as the Functions host calls them (@azure/functions test mode),
 * over services on Azurite whose renewal requests reach a stand-in IoT Hub.
 */
const NOW = '2026-11-20T09:30:00.000Z';
const HUB = 'contoso-hub';
const certificate = {
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-12-01T00:00:00.000Z',
};

let fleet: StandInFleet;
let services: Services;
let clock: ManualClock;

beforeAll(async () => {
  fleet = await new StandInFleet(new ManualClock(NOW)).start();
});
afterAll(() => fleet.stop());
afterEach(() => useServices(undefined));

/** Fresh services under a storage prefix of their own, with a small ledger, used by the handlers. */
async function givenTheLedger(env: Record<string, string> = {}): Promise<void> {
  fleet.calls.length = 0;
  fleet.behaviour = () => ACCEPTS;
  clock = new ManualClock(NOW);
  services = buildServices(
    loadSettings(testEnvironment({ CERTFLEET_IOTHUB_ENDPOINT: fleet.url, ...env })),
    { clock },
  );
  useServices(services);
  const at = '2026-11-01T00:05:00.000Z';
  const summary = await services.ingest.apply([
    twinUpdated({ hub: HUB, deviceId: 'pump-0001', at }, 2, { certificate }),
    twinUpdated({ hub: HUB, deviceId: 'valve-0004', at }, 2, { certificate }),
    twinUpdated({ hub: 'hub-a', deviceId: 'twin-0002', at }, 2, { certificate }),
    twinUpdated({ hub: 'hub-b', deviceId: 'twin-0002', at }, 2, { certificate }),
    deviceCreated({ hub: HUB, deviceId: 'bare-0003', at }),
  ]);
  expect(summary.applied).toBe(5);
}

const context = (functionName: string) =>
  new InvocationContext({ functionName, invocationId: 'test', logHandler: () => undefined });

function get(deviceId: string, query = ''): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'GET',
    url: `http://localhost:7071/api/devices/${encodeURIComponent(deviceId)}${query}`,
    params: { deviceId },
  });
  return getDevice(request, context('getDevice'));
}

function renew(
  deviceId: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071/api/devices/${encodeURIComponent(deviceId)}/renew${options.query ?? ''}`,
    params: { deviceId },
    headers: { 'content-type': 'application/json', ...options.headers },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
  return renewDevice(request, context('renewDevice'));
}

async function auditOfToday(): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for await (const entry of services.audit.readDate(NOW.slice(0, 10))) entries.push(entry);
  return entries;
}

const errorOf = (response: HttpResponseInit) => (response.jsonBody as { error: string }).error;

describe('GET /api/devices/{deviceId}', () => {
  beforeEach(() => givenTheLedger());

  it("returns the device's ledger record without its audit outbox", async () => {
    const response = await get('pump-0001');

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      hub: HUB,
      deviceId: 'pump-0001',
      current: { validUntil: certificate.validUntil },
      renewalDueAt: '2026-11-26T12:00:00.000Z',
    });
    expect(response.jsonBody).not.toHaveProperty('pendingAudit');
  });

  it('answers 404 for a device the ledger does not know', async () => {
    const response = await get('nobody-9999');

    expect(response.status).toBe(404);
    expect(errorOf(response)).toBe('device nobody-9999 is not in the ledger');
  });

  it('answers 409 for a device id found in two hubs, and the record when ?hub names one', async () => {
    const ambiguous = await get('twin-0002');
    const named = await get('twin-0002', '?hub=hub-b');

    expect(ambiguous.status).toBe(409);
    expect(errorOf(ambiguous)).toBe('device twin-0002 exists in hubs hub-a, hub-b: pass ?hub=');
    expect(named.status).toBe(200);
    expect(named.jsonBody).toMatchObject({ hub: 'hub-b', deviceId: 'twin-0002' });
  });
});

describe('POST /api/devices/{deviceId}/renew', () => {
  // App Service authentication is on: the platform names the caller in x-ms-client-principal-name.
  beforeEach(() => givenTheLedger({ CERTFLEET_TRUST_EASY_AUTH: 'true' }));

  it('asks the device at once and audits who asked and why', async () => {
    const response = await renew(
      'pump-0001',
      { reason: ' suspected key compromise ' },
      { headers: { 'x-ms-client-principal-name': 'alice@contoso.com' } },
    );

    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({
      status: 'requested',
      outcome: 'accepted',
      renewal: { status: 'requested', trigger: 'manual', attempts: 1 },
    });
    const call = fleet.calls[0];
    expect(fleet.calls).toHaveLength(1);
    expect(call).toMatchObject({ hub: HUB, deviceId: 'pump-0001', at: NOW });
    expect(call?.payload).toMatchObject({ reason: 'manual' });
    const trail = await auditOfToday();
    expect(trail.map((e) => e.type)).toEqual(['renewal.due', 'renewal.requested']);
    expect(trail[0]).toMatchObject({
      deviceId: 'pump-0001',
      detail: 'manual renewal: suspected key compromise',
      renewal: { trigger: 'manual', requestedBy: 'alice@contoso.com' },
    });
    expect(trail[1]?.renewal).toMatchObject({
      requestId: call?.payload.requestId,
      outcome: 'accepted',
    });
  });

  it('names the caller given in the body when App Service authentication names nobody, as claimed by a key holder', async () => {
    const response = await renew('pump-0001', { reason: 'field test', requestedBy: 'ops-bot' });

    expect(response.status).toBe(202);
    const [due] = await auditOfToday();
    expect(due?.renewal?.requestedBy).toBe('function key holder (claimed: ops-bot)');
  });

  it('answers 400 without a reason, with a blank one or with a body that is not JSON, asking nobody', async () => {
    const responses = [
      await renew('pump-0001', {}),
      await renew('pump-0001', { reason: '   ' }),
      await renew('pump-0001', { reason: 42 }),
      await renew('pump-0001', 'reason=because'),
    ];

    expect(responses.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    expect(errorOf(responses[0]!)).toBe('"reason" is required: a string of at most 500 characters');
    expect(errorOf(responses[3]!)).toMatch(/^the body must be JSON/);
    expect(fleet.calls).toEqual([]);
    expect((await services.ledger.read({ hub: HUB, deviceId: 'pump-0001' }))?.value.renewal).toBe(
      undefined,
    );
  });

  it('answers 404 for a device the ledger does not know', async () => {
    const response = await renew('nobody-9999', { reason: 'audit finding' });

    expect(response.status).toBe(404);
    expect(fleet.calls).toEqual([]);
  });

  it('answers 409 for a device id found in two hubs without ?hub, and asks the one ?hub names', async () => {
    const ambiguous = await renew('twin-0002', { reason: 'rotation' });
    expect(ambiguous.status).toBe(409);
    expect(fleet.calls).toEqual([]);

    const named = await renew('twin-0002', { reason: 'rotation' }, { query: '?hub=HUB-B' });
    expect(named.status).toBe(202);
    expect(fleet.calls.map((c) => `${c.hub}/${c.deviceId}`)).toEqual(['hub-b/twin-0002']);
  });

  it('answers 409 for a device that has reported no certificate to renew', async () => {
    const response = await renew('bare-0003', { reason: 'rotation' });

    expect(response.status).toBe(409);
    expect(errorOf(response)).toBe('device bare-0003 has reported no certificate to renew');
    expect(fleet.calls).toEqual([]);
    expect(await auditOfToday()).toEqual([]);
  });
  it('answers 409 for a device whose certificate has expired: it must re-provision, no call can reach it', async () => {
    clock.set('2026-12-02T00:00:00.000Z');
    const response = await renew('pump-0001', { reason: 'too late' });

    expect(response.status).toBe(409);
    expect(errorOf(response)).toMatch(
      /certificate has expired: it cannot be reached and must re-provision/,
    );
    expect(fleet.calls).toEqual([]);
  });
});

describe('POST /api/devices/{deviceId}/renew for a device certfleet gave up on', () => {
  beforeEach(() =>
    givenTheLedger({ CERTFLEET_RENEWAL_MAX_FAILURES: '1', CERTFLEET_TRUST_EASY_AUTH: 'true' }),
  );

  it('starts a new campaign, asks the device and names who asked', async () => {
    fleet.behaviour = () => REFUSES;
    const refused = await renew('pump-0001', { reason: 'first try' });
    expect(refused.jsonBody).toMatchObject({ outcome: 'refused', renewal: { status: 'failed' } });

    fleet.behaviour = () => ACCEPTS;
    clock.advance(2 * HOUR_MS);
    const response = await renew(
      'pump-0001',
      { reason: 'firmware fixed' },
      { headers: { 'x-ms-client-principal-name': 'bob@contoso.com' } },
    );

    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({
      status: 'requested',
      outcome: 'accepted',
      renewal: { status: 'requested', attempts: 1, failures: 0 },
    });
    expect(fleet.calls).toHaveLength(2);
    // Its alerts (certificate-expiring, given up, then resolved by the new campaign) aside.
    const trail = (await auditOfToday()).filter((e) => !e.type.startsWith('alert.'));
    expect(trail.map((e) => e.type)).toEqual([
      'renewal.due',
      'renewal.requested',
      'renewal.failed',
      'renewal.abandoned',
      'renewal.due',
      'renewal.requested',
    ]);
    expect(trail[4]).toMatchObject({
      detail: 'manual renewal: firmware fixed',
      renewal: { requestedBy: 'bob@contoso.com' },
    });
  });
});

describe('POST /api/devices/{deviceId}/renew when the minute is spent', () => {
  beforeEach(() => givenTheLedger({ CERTFLEET_RENEWALS_PER_MINUTE: '1' }));

  it('queues a renewal that finds no budget left in this minute, audited, for the next sweep to ask', async () => {
    await renew('pump-0001', { reason: 'first' });
    const response = await renew('valve-0004', { reason: 'second' });

    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ status: 'queued', renewal: { status: 'due' } });
    expect(fleet.calls.map((c) => c.deviceId)).toEqual(['pump-0001']);
    const due = (await auditOfToday()).filter((e) => e.deviceId === 'valve-0004');
    expect(due.map((e) => e.type)).toEqual(['renewal.due']);
  });
});

describe('POST /api/devices/{deviceId}/renew without App Service authentication (the default)', () => {
  beforeEach(() => givenTheLedger());

  /** The invocation's log lines, for what the handler logs. */
  function renewLogging(
    deviceId: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ response: HttpResponseInit; logged: string[] }> {
    const logged: string[] = [];
    const request = new HttpRequest({
      method: 'POST',
      url: `http://localhost:7071/api/devices/${deviceId}/renew`,
      params: { deviceId },
      headers: { 'content-type': 'application/json', ...headers },
      body: { string: JSON.stringify(body) },
    });
    const invocation = new InvocationContext({
      functionName: 'renewDevice',
      invocationId: 'test',
      logHandler: (_level, ...args) => logged.push(args.map(String).join(' ')),
    });
    return renewDevice(request, invocation).then((response) => ({ response, logged }));
  }

  it('records a name in x-ms-client-principal-name as claimed by a function key holder, not as who asked', async () => {
    const { response, logged } = await renewLogging(
      'pump-0001',
      { reason: 'rotation', requestedBy: 'ops-bot' },
      { 'x-ms-client-principal-name': 'ciso@contoso.com' },
    );

    expect(response.status).toBe(202);
    const [due] = await auditOfToday();
    expect(due?.renewal?.requestedBy).toBe('function key holder (claimed: ciso@contoso.com)');
    expect(logged).toEqual([
      'manual renewal of contoso-hub/pump-0001 by function key holder (claimed: ciso@contoso.com): requested',
    ]);
  });

  it('records a function key holder when no name is given', async () => {
    const response = await renew('pump-0001', { reason: 'rotation' });

    expect(response.status).toBe(202);
    const [due] = await auditOfToday();
    expect(due?.renewal?.requestedBy).toBe('function key holder');
  });

  it('writes nothing to the trail or the log when reason or requestedBy would forge a line', async () => {
    const forged = await renewLogging('pump-0001', {
      reason: 'rotation\nmanual renewal of contoso-hub/valve-0004 by ciso@contoso.com: requested',
      requestedBy: 'ops-bot',
    });

    expect(forged.response.status).toBe(400);
    expect(forged.logged).toEqual([]);
    expect(await auditOfToday()).toEqual([]);
    expect(fleet.calls).toEqual([]);
  });
});
