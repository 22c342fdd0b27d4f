import http from 'node:http';
import { AddressInfo } from 'node:net';
import { AccessToken, TokenCredential } from '@azure/identity';
import { IotHubDeviceMethods } from '../../../shared/adapters/iothub/IotHubDeviceMethods';
import { parseSasToken } from '../../../shared/adapters/iothub/iotHubConnection';
import {
  IotHubSettings,
  LOCAL_DEVELOPMENT_POLICY,
  loadIotHubSettings,
} from '../../../shared/config/iotHubSettings';
import { HOUR_MS, MINUTE_MS, ManualClock } from '../../../shared/domain/Clock';
import { RenewalRequest } from '../../../shared/domain/renewal/MethodOutcome';
import { StandInAnswer, StandInIotHub } from '../../../shared/local/StandInIotHub';

/**
 * Contract tests of the direct-method adapter: the real adapter, over real HTTP on 127.0.0.1,
 * first against the stand-in IoT Hub, then against a bare server that sends IoT Hub's own
 * answers byte for byte, so the classification is checked against the service's shapes and
 * not only against the stand-in's.
 */

const START = '2026-03-01T10:00:00Z';
const KEY_A = Buffer.from('key of hub a, 32 bytes long.....').toString('base64');
const KEY_B = Buffer.from('key of hub b, 32 bytes long.....').toString('base64');
const HUB_A = `HostName=hub-a.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY_A}`;
const HUB_B = `HostName=hub-b.azure-devices.net;SharedAccessKeyName=certfleet;SharedAccessKey=${KEY_B}`;

const request: RenewalRequest = {
  requestId: 'req-0001',
  reason: 'due',
  currentValidUntil: '2026-03-20T00:00:00.000Z',
  deadline: '2026-03-02T10:00:00.000Z',
};

function settingsOf(env: Record<string, string>, requestTimeoutMs?: number): IotHubSettings {
  const settings = loadIotHubSettings(env);
  if (!settings) throw new Error('expected IoT Hub settings');
  return requestTimeoutMs === undefined ? settings : { ...settings, requestTimeoutMs };
}

describe('IotHubDeviceMethods against the stand-in IoT Hub', () => {
  const clock = new ManualClock(START);
  const answers = new Map<string, StandInAnswer>();
  const hub = new StandInIotHub((_hub, deviceId) => answers.get(deviceId) ?? 'not-found', {
    sharedAccessKeys: { service: KEY_A, certfleet: KEY_B },
    now: () => clock.now(),
  });
  let methods: IotHubDeviceMethods;

  beforeAll(async () => {
    const { url } = await hub.start();
    methods = new IotHubDeviceMethods({
      settings: settingsOf({
        IotHub: `${HUB_A}|${HUB_B}`,
        CERTFLEET_IOTHUB_ENDPOINT: url,
        CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS: '20',
        CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS: '5',
      }),
      now: () => clock.now(),
    });
  });

  afterAll(() => hub.stop());

  beforeEach(() => {
    clock.set(START);
    answers.clear();
    hub.calls.length = 0;
  });

  const renew = (deviceId: string, hubName = 'hub-a') =>
    methods.requestRenewal({ hub: hubName, deviceId }, request);

  it('reports accepted with the payload when the device answers 200', async () => {
    answers.set('d1', {
      device: { status: 200, payload: { requestId: 'req-0001', queued: true } },
    });
    await expect(renew('d1')).resolves.toStrictEqual({
      kind: 'accepted',
      status: 200,
      payload: { requestId: 'req-0001', queued: true },
    });
  });

  it('reports accepted when the device answers 202', async () => {
    answers.set('d1', { device: { status: 202 } });
    await expect(renew('d1')).resolves.toMatchObject({ kind: 'accepted', status: 202 });
  });

  it.each([400, 404, 409, 500])(
    'reports refused when the device itself answers %i, even though IoT Hub answered 200',
    async (status) => {
      answers.set('d1', { device: { status, payload: { error: 'busy' } } });
      await expect(renew('d1')).resolves.toStrictEqual({
        kind: 'refused',
        status,
        payload: { error: 'busy' },
      });
    },
  );

  it.each([
    ['offline', { kind: 'offline', errorCode: 404103 }],
    ['not-found', { kind: 'not-found', errorCode: 404001 }],
    ['timeout', { kind: 'timeout', errorCode: 504101 }],
    ['throttled', { kind: 'throttled', errorCode: 429001 }],
  ] as const)('reports %s when IoT Hub says so', async (answer, outcome) => {
    answers.set('d1', answer);
    await expect(renew('d1')).resolves.toStrictEqual(outcome);
  });

  it('sends the renewal method, the request as payload and both timeouts, at api-version 2021-04-12', async () => {
    answers.set('d1', { device: { status: 200 } });
    await renew('d1');
    expect(hub.calls).toHaveLength(1);
    expect(hub.calls[0]?.path).toBe('/hub-a/twins/d1/methods?api-version=2021-04-12');
    expect(hub.calls[0]?.body).toStrictEqual({
      methodName: 'renewCertificate',
      payload: request,
      responseTimeoutInSeconds: 20,
      connectTimeoutInSeconds: 5,
    });
  });

  it.each([
    ['dev#1', '/hub-a/twins/dev%231/methods'],
    ['a?b=c', '/hub-a/twins/a%3Fb%3Dc/methods'],
    ['50%off', '/hub-a/twins/50%25off/methods'],
    ['x+y z', '/hub-a/twins/x%2By%20z/methods'],
    ['$edge:1@site,2', '/hub-a/twins/%24edge%3A1%40site%2C2/methods'],
    ["(a)!*'-._", "/hub-a/twins/(a)!*'-._/methods"],
  ])(
    'escapes the device id %j in the path, and the hub receives it intact',
    async (deviceId, path) => {
      answers.set(deviceId, { device: { status: 200 } });
      await expect(renew(deviceId)).resolves.toMatchObject({ kind: 'accepted' });
      expect(hub.calls[0]?.path).toBe(`${path}?api-version=2021-04-12`);
      expect(hub.calls[0]?.deviceId).toBe(deviceId);
    },
  );

  it('refuses a device id that a URL cannot address, without calling the hub', async () => {
    await expect(renew('..')).resolves.toMatchObject({ kind: 'error', transient: false });
    expect(hub.calls).toHaveLength(0);
  });

  it("signs with a SAS token for the device's hub: its host as sr, its policy as skn, expiring in an hour", async () => {
    answers.set('d1', { device: { status: 200 } });
    await expect(renew('d1', 'hub-b')).resolves.toMatchObject({ kind: 'accepted' });
    const call = hub.calls[0];
    expect(call?.hub).toBe('hub-b');
    const sas = parseSasToken(call?.authorization ?? '');
    expect(sas).toMatchObject({ sr: 'hub-b.azure-devices.net', skn: 'certfleet' });
    expect((sas?.se ?? 0) * 1000).toBe(Date.parse(START) + HOUR_MS);
  });

  it('routes each device to its own hub, whatever case or suffix the hub name comes in', async () => {
    answers.set('d1', { device: { status: 200 } });
    await renew('d1', 'HUB-A');
    await renew('d1', 'hub-b.azure-devices.net');
    expect(hub.calls.map((c) => [c.hub, c.status])).toEqual([
      ['hub-a', 200],
      ['hub-b', 200],
    ]);
  });

  it('reuses a SAS token until five minutes before it expires, then signs a new one', async () => {
    answers.set('d1', { device: { status: 200 } });
    await renew('d1');
    clock.advance(54 * MINUTE_MS);
    await renew('d1');
    clock.advance(2 * MINUTE_MS);
    await expect(renew('d1')).resolves.toMatchObject({ kind: 'accepted' });
    const [first, second, third] = hub.calls.map((c) => c.authorization);
    expect(second).toBe(first);
    expect(parseSasToken(third ?? '')?.se).toBe(parseSasToken(first ?? '')!.se + 56 * 60);
  });

  it('reports an error, and calls no hub, for a hub it has no connection for', async () => {
    await expect(renew('d1', 'hub-z')).resolves.toStrictEqual({
      kind: 'error',
      transient: false,
      reason: 'no connection configured for hub hub-z',
    });
    expect(hub.calls).toHaveLength(0);
  });
});

describe('IotHubDeviceMethods with only CERTFLEET_IOTHUB_ENDPOINT set (local runs)', () => {
  const hub = new StandInIotHub(() => ({ device: { status: 200 } }), {
    sharedAccessKeys: { [LOCAL_DEVELOPMENT_POLICY.keyName]: LOCAL_DEVELOPMENT_POLICY.key },
  });
  afterAll(() => hub.stop());

  it('reaches any hub at the endpoint, signed with the local development policy', async () => {
    const { url } = await hub.start();
    const methods = IotHubDeviceMethods.fromSettings(
      settingsOf({ CERTFLEET_IOTHUB_ENDPOINT: url }),
    );
    await expect(
      methods.requestRenewal({ hub: 'sim-hub-7', deviceId: 'd1' }, request),
    ).resolves.toMatchObject({ kind: 'accepted' });
    expect(hub.calls[0]).toMatchObject({ hub: 'sim-hub-7', status: 200 });
    expect(parseSasToken(hub.calls[0]?.authorization ?? '')).toMatchObject({
      sr: 'sim-hub-7.azure-devices.net',
      skn: 'certfleet-local',
    });
  });
});

describe('IotHubDeviceMethods with Entra ID', () => {
  const clock = new ManualClock(START);
  const hub = new StandInIotHub(() => ({ device: { status: 200 } }));
  let url: string;

  class FakeCredential implements TokenCredential {
    scopes: (string | string[])[] = [];
    constructor(private readonly answer: () => AccessToken) {}
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      this.scopes.push(scopes);
      return this.answer();
    }
  }

  const methodsWith = (credential: TokenCredential) =>
    new IotHubDeviceMethods({
      settings: settingsOf({
        IotHub__fullyQualifiedName: 'hub-a.azure-devices.net',
        CERTFLEET_IOTHUB_ENDPOINT: url,
      }),
      credential,
      now: () => clock.now(),
    });

  beforeAll(async () => {
    ({ url } = await hub.start());
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    clock.set(START);
    hub.calls.length = 0;
  });

  it("sends a bearer token for IoT Hub's scope and reuses it until shortly before it expires", async () => {
    let issued = 0;
    const credential = new FakeCredential(() => ({
      token: `token-${++issued}`,
      expiresOnTimestamp: clock.now().getTime() + HOUR_MS,
    }));
    const methods = methodsWith(credential);
    const device = { hub: 'hub-a', deviceId: 'd1' };

    await expect(methods.requestRenewal(device, request)).resolves.toMatchObject({
      kind: 'accepted',
    });
    await methods.requestRenewal(device, request);
    clock.advance(56 * MINUTE_MS);
    await methods.requestRenewal(device, request);

    expect(hub.calls.map((c) => c.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-2',
    ]);
    expect(credential.scopes).toEqual([
      'https://iothubs.azure.net/.default',
      'https://iothubs.azure.net/.default',
    ]);
  });

  it('asks for one token when many requests start together', async () => {
    const credential = new FakeCredential(() => ({
      token: 'shared',
      expiresOnTimestamp: clock.now().getTime() + HOUR_MS,
    }));
    const methods = methodsWith(credential);
    await Promise.all(
      ['d1', 'd2', 'd3'].map((deviceId) =>
        methods.requestRenewal({ hub: 'hub-a', deviceId }, request),
      ),
    );
    expect(credential.scopes).toHaveLength(1);
    expect(hub.calls).toHaveLength(3);
  });

  it('reports a non-transient error when there is no identity to use, and calls no hub', async () => {
    const unavailable = Object.assign(new Error('ManagedIdentityCredential: no endpoint'), {
      name: 'CredentialUnavailableError',
    });
    const methods = methodsWith({ getToken: () => Promise.reject(unavailable) });
    await expect(
      methods.requestRenewal({ hub: 'hub-a', deviceId: 'd1' }, request),
    ).resolves.toMatchObject({
      kind: 'error',
      transient: false,
      reason: expect.stringMatching(/CredentialUnavailableError/),
    });
    expect(hub.calls).toHaveLength(0);
  });

  it('reports a transient error when the token service fails, and asks again next time', async () => {
    let calls = 0;
    const methods = methodsWith({
      getToken: async () => {
        calls += 1;
        if (calls === 1)
          throw Object.assign(new Error('IMDS timed out'), { name: 'AuthenticationError' });
        return { token: 'second-try', expiresOnTimestamp: clock.now().getTime() + HOUR_MS };
      },
    });
    const device = { hub: 'hub-a', deviceId: 'd1' };
    await expect(methods.requestRenewal(device, request)).resolves.toMatchObject({
      kind: 'error',
      transient: true,
    });
    await expect(methods.requestRenewal(device, request)).resolves.toMatchObject({
      kind: 'accepted',
    });
    expect(hub.calls.map((c) => c.authorization)).toEqual(['Bearer second-try']);
  });
});

/**
 * IoT Hub's own answers, as published. Sources:
 * - 404103 today: Azure/azure-iot-sdk-csharp#3442 (2024) and MicrosoftDocs/azure-docs#40468;
 * - 404103 before 2018, with its header: Azure/azure-iot-sdk-csharp#37 and azure-iot-sdk-java#85;
 * - 504101: MicrosoftDocs (Azure Video Analyzer troubleshooting) and azure-iot-sdk-java#640;
 * - DeviceNotFound: the registry's shape, in azure-iot-sdk-csharp's ErrorPayload2 and
 *   Microsoft Learn's `az iot hub device-identity show` walkthrough;
 * - ThrottlingBacklogTimeout: Azure-Samples/Iot-Telemetry-Simulator#39;
 * - the flat 429001 body: Azure RTOS's DPS client tests (the DPS service's shape).
 */
const REAL = {
  deviceNotOnline:
    '{"Message":"{\\"errorCode\\":404103,\\"trackingId\\":\\"aa761f96e9174d0e849c96a8b2e10a8c-TimeStamp:03/14/2024 09:54:49\\",\\"message\\":\\"The operation failed because the requested device isn\'t online or hasn\'t registered the direct method callback. To learn more, see https://aka.ms/iothub404103\\",\\"info\\":{\\"timeout\\":\\"00:00:00\\"},\\"timestampUtc\\":\\"2024-03-14T09:54:49.6536567Z\\"}","ExceptionMessage":""}',
  deviceNotOnline2017:
    '{"Message":"ErrorCode:DeviceNotOnline;Timed out waiting for device to connect.","ExceptionMessage":"Tracking ID:66b8d59066b24105a49bffcbde18495d-G:5-TimeStamp:01/18/2017 08:11:45"}',
  gatewayTimeout:
    '{"Message":"{\\"errorCode\\":504101,\\"trackingId\\":\\"55b1d7845498428593c2738d94442607-G:32-TimeStamp:05/15/2020 20:43:10-G:10-TimeStamp:05/15/2020 20:43:10\\",\\"message\\":\\"Timed out waiting for the response from device.\\",\\"info\\":{},\\"timestampUtc\\":\\"2020-05-15T20:43:10.3899553Z\\"}","ExceptionMessage":""}',
  deviceNotFound:
    '{"Message":"ErrorCode:DeviceNotFound;sensor-thl-001","ExceptionMessage":"Tracking ID:06e0221675514160850421f0b3b787a9-G:0-TimeStamp:10/24/2023 16:57:00"}',
  throttlingBacklogTimeout:
    '{"Message":"ErrorCode:ThrottlingBacklogTimeout;The request has been throttled. Wait 10 seconds and try again. Operation type: CRUD","ExceptionMessage":"Tracking ID:55f0784980964ecf83ec9bf4cce2bc7c-G:0-TimeStamp:10/12/2021 07:18:02"}',
  throttledFlat:
    '{"errorCode":429001,"trackingId":"","message":"Operations are being throttled for this tenant.","timestampUtc":"2021-11-10T03:03:52.9034249Z"}',
};

interface RawAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

describe("IotHubDeviceMethods against IoT Hub's own answers, byte for byte", () => {
  const clock = new ManualClock(START);
  let next: RawAnswer = { status: 200, body: '{}' };
  const received: { url: string; authorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      });
      res.writeHead(next.status, {
        'content-type': 'application/json; charset=utf-8',
        ...next.headers,
      });
      res.end(next.body ?? '');
    });
  });
  let methods: IotHubDeviceMethods;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    methods = new IotHubDeviceMethods({
      settings: settingsOf({
        IotHub: HUB_A,
        CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}`,
      }),
      now: () => clock.now(),
    });
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  const answered = async (answer: RawAnswer) => {
    next = answer;
    received.length = 0;
    const outcome = await methods.requestRenewal({ hub: 'hub-a', deviceId: 'd1' }, request);
    expect(received).toHaveLength(1);
    return outcome;
  };

  it.each<[string, RawAnswer, object]>([
    [
      "404103 whose Message is a JSON string (today's shape)",
      { status: 404, body: REAL.deviceNotOnline },
      { kind: 'offline', errorCode: 404103 },
    ],
    [
      "DeviceNotOnline as a name in Message (2017's shape)",
      { status: 404, body: REAL.deviceNotOnline2017 },
      { kind: 'offline', errorCode: 404103 },
    ],
    [
      'DeviceNotFound with the header IoT Hub sends beside it',
      { status: 404, headers: { 'iothub-errorcode': 'DeviceNotFound' }, body: REAL.deviceNotFound },
      { kind: 'not-found', errorCode: 404001 },
    ],
    [
      'DeviceNotOnline in the iothub-errorcode header alone',
      { status: 404, headers: { 'iothub-errorcode': 'DeviceNotOnline' }, body: '' },
      { kind: 'offline', errorCode: 404103 },
    ],
    [
      '504101 GatewayTimeout',
      { status: 504, body: REAL.gatewayTimeout },
      { kind: 'timeout', errorCode: 504101 },
    ],
    [
      "DeviceNotFound in the registry's shape",
      { status: 404, body: REAL.deviceNotFound },
      { kind: 'not-found', errorCode: 404001 },
    ],
    [
      'ThrottlingBacklogTimeout as a name',
      { status: 429, body: REAL.throttlingBacklogTimeout },
      { kind: 'throttled', errorCode: 429003 },
    ],
    [
      'a flat 429001 body with Retry-After in seconds',
      { status: 429, headers: { 'retry-after': '7' }, body: REAL.throttledFlat },
      { kind: 'throttled', errorCode: 429001, retryAfterMs: 7000 },
    ],
    [
      'a bare 429 with Retry-After as a date',
      { status: 429, headers: { 'retry-after': 'Sun, 01 Mar 2026 10:00:30 GMT' } },
      { kind: 'throttled', retryAfterMs: 30_000 },
    ],
    [
      '403002 IotHubQuotaExceeded, throttled until the next UTC day',
      {
        status: 403,
        body: '{"Message":"{\\"errorCode\\":403002,\\"message\\":\\"Total number of messages on IotHub exceeded the allocated quota\\"}","ExceptionMessage":""}',
      },
      { kind: 'throttled', errorCode: 403002, retryAfterMs: 14 * HOUR_MS },
    ],
    [
      'a 504 from a gateway with an HTML body',
      {
        status: 504,
        headers: { 'content-type': 'text/html' },
        body: '<html>Gateway Time-out</html>',
      },
      { kind: 'timeout' },
    ],
  ])('classifies %s', async (_name, answer, outcome) => {
    await expect(answered(answer)).resolves.toStrictEqual(outcome);
  });

  it.each<[string, RawAnswer, { transient: boolean; status: number; errorCode?: number }]>([
    [
      '401 IotHubUnauthorizedAccess',
      {
        status: 401,
        headers: { 'iothub-errorcode': 'IotHubUnauthorizedAccess' },
        body: '{"Message":"ErrorCode:IotHubUnauthorizedAccess;Unauthorized","ExceptionMessage":"Tracking ID:0-G:0-TimeStamp:03/01/2026 10:00:00"}',
      },
      { transient: false, status: 401, errorCode: 401002 },
    ],
    [
      '403 without a code (a missing role)',
      { status: 403, body: '' },
      { transient: false, status: 403 },
    ],
    [
      '400 ArgumentInvalid',
      {
        status: 400,
        body: '{"Message":"{\\"errorCode\\":400004,\\"message\\":\\"bad\\"}","ExceptionMessage":""}',
      },
      { transient: false, status: 400, errorCode: 400004 },
    ],
    [
      '404 without any error code',
      { status: 404, body: 'Not Found' },
      { transient: false, status: 404 },
    ],
    [
      '500 ServerError',
      { status: 500, body: '{"Message":"ErrorCode:ServerError;boom"}' },
      { transient: true, status: 500, errorCode: 500001 },
    ],
    ['503 with no body', { status: 503 }, { transient: true, status: 503 }],
    [
      'a redirect, not followed',
      { status: 302, headers: { location: 'http://127.0.0.1:9/' } },
      { transient: false, status: 302 },
    ],
    [
      '200 without the device status',
      { status: 200, body: '{"payload":{}}' },
      { transient: false, status: 200 },
    ],
    [
      '200 that is not JSON',
      { status: 200, body: '<html>ok</html>' },
      { transient: false, status: 200 },
    ],
  ])('reports an error for %s', async (_name, answer, expected) => {
    const outcome = await answered(answer);
    expect(outcome).toMatchObject({ kind: 'error', ...expected });
    if (expected.errorCode === undefined) expect(outcome).not.toHaveProperty('errorCode');
  });

  it('reads the device status and payload of a 200', async () => {
    await expect(
      answered({ status: 200, body: '{"status":202,"payload":{"requestId":"req-0001"}}' }),
    ).resolves.toStrictEqual({ kind: 'accepted', status: 202, payload: { requestId: 'req-0001' } });
  });

  it('never throws for a malformed or hostile body', async () => {
    for (const body of [
      '{',
      '{"Message":"{\\"errorCode\\":"}',
      '[1,2]',
      'null',
      '"x"',
      '{"Message":{"Message":7}}',
    ]) {
      await expect(answered({ status: 404, body })).resolves.toMatchObject({ kind: 'error' });
    }
  });
});

describe('IotHubDeviceMethods when IoT Hub cannot be reached', () => {
  it('reports a transient error naming the refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const methods = new IotHubDeviceMethods({
      settings: settingsOf({
        IotHub: HUB_A,
        CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}`,
      }),
    });
    await expect(
      methods.requestRenewal({ hub: 'hub-a', deviceId: 'd1' }, request),
    ).resolves.toMatchObject({
      kind: 'error',
      transient: true,
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('gives up after its own timeout when IoT Hub never answers, with a transient error', async () => {
    const silent = http.createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const methods = new IotHubDeviceMethods({
        settings: settingsOf(
          { IotHub: HUB_A, CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}` },
          300,
        ),
      });
      const started = Date.now();
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'd1' }, request),
      ).resolves.toMatchObject({
        kind: 'error',
        transient: true,
        reason: expect.stringMatching(/timed out/),
      });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('reports a transient error when the connection drops before the answer', async () => {
    const dropping = http.createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const { port } = dropping.address() as AddressInfo;
    try {
      const methods = new IotHubDeviceMethods({
        settings: settingsOf({
          IotHub: HUB_A,
          CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}`,
        }),
      });
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'd1' }, request),
      ).resolves.toMatchObject({
        kind: 'error',
        transient: true,
        reason: expect.stringMatching(/network error/),
      });
    } finally {
      await new Promise<void>((resolve) => dropping.close(() => resolve()));
    }
  });
});
