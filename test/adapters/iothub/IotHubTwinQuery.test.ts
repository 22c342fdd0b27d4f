import http from 'node:http';
import { AddressInfo } from 'node:net';
import { AccessToken, TokenCredential } from '@azure/identity';
import { IotHubAccess } from '../../../shared/adapters/iothub/IotHubAccess';
import { parseSasToken } from '../../../shared/adapters/iothub/iotHubConnection';
import { IotHubTwinQuery } from '../../../shared/adapters/iothub/IotHubTwinQuery';
import { TwinQueryFailed } from '../../../shared/app/ports';
import { IotHubSettings, loadIotHubSettings } from '../../../shared/config/iotHubSettings';
import { HOUR_MS, ManualClock } from '../../../shared/domain/Clock';
import { StandInIotHub } from '../../../shared/local/StandInIotHub';

/**
 * Contract tests of the twin-query adapter over real HTTP on 127.0.0.1: against a bare server
 * answering in the shapes IoT Hub's REST API documents ("Query - Get Twins", api-version
 * 2021-04-12: a JSON array of twins, `x-ms-continuation` and `x-ms-item-type` headers; errors
 * in IoT Hub's error bodies), then end to end against the stand-in hub.
 */

const START = '2026-03-01T10:00:00Z';
const KEY_A = Buffer.from('key of hub a, 32 bytes long.....').toString('base64');
const KEY_B = Buffer.from('key of hub b, 32 bytes long.....').toString('base64');
const HUB_A = `HostName=hub-a.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY_A}`;
const HUB_B = `HostName=hub-b.azure-devices.net;SharedAccessKeyName=certfleet;SharedAccessKey=${KEY_B}`;

/** A device twin as the query returns it (Microsoft Learn's sample, trimmed). */
const TWIN = {
  deviceId: 'myDeviceId',
  etag: 'AAAAAAAAAAc=',
  deviceEtag: 'Njc2MzYzMTQ5',
  status: 'enabled',
  statusUpdateTime: '0001-01-01T00:00:00Z',
  connectionState: 'Disconnected',
  lastActivityTime: '0001-01-01T00:00:00Z',
  cloudToDeviceMessageCount: 0,
  authenticationType: 'selfSigned',
  x509Thumbprint: { primaryThumbprint: 'AB12', secondaryThumbprint: null },
  version: 2,
  tags: { location: { region: 'US', plant: 'Redmond43' } },
  properties: {
    desired: {
      telemetryConfig: { sendFrequencyInSecs: 300 },
      $metadata: { $lastUpdated: '2026-02-01T08:00:00.1234567Z' },
      $version: 4,
    },
    reported: {
      certificate: { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-03-03T00:00:00Z' },
      $metadata: { $lastUpdated: '2026-02-01T09:00:00.7654321Z' },
      $version: 7,
    },
  },
  capabilities: { iotEdge: false },
};

function settingsOf(env: Record<string, string>, requestTimeoutMs?: number): IotHubSettings {
  const settings = loadIotHubSettings(env);
  if (!settings) throw new Error('expected IoT Hub settings');
  return requestTimeoutMs === undefined ? settings : { ...settings, requestTimeoutMs };
}

/** What the query throws, or a failure of the test if it does not. */
async function failureOf(query: Promise<unknown>): Promise<TwinQueryFailed> {
  try {
    await query;
  } catch (error) {
    expect(error).toBeInstanceOf(TwinQueryFailed);
    return error as TwinQueryFailed;
  }
  throw new Error('expected the query to fail');
}

interface RawAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe("IotHubTwinQuery against IoT Hub's documented answers", () => {
  const clock = new ManualClock(START);
  const answers: RawAnswer[] = [];
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const next = answers.shift() ?? { status: 200, body: '[]' };
      res.writeHead(next.status, {
        'content-type': 'application/json; charset=utf-8',
        ...next.headers,
      });
      res.end(next.body ?? '');
    });
  });
  let query: IotHubTwinQuery;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    query = new IotHubTwinQuery({
      access: new IotHubAccess({
        settings: settingsOf({
          IotHub: `${HUB_A}|${HUB_B}`,
          CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}`,
        }),
        now: () => clock.now(),
      }),
    });
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  beforeEach(() => {
    clock.set(START);
    answers.length = 0;
    received.length = 0;
  });

  it('lists the configured hubs as the hubs to reconcile', () => {
    expect(query.hubs).toEqual(['hub-a', 'hub-b']);
  });

  it('asks for the first page of device twins: POST /devices/query, the query in the body, 100 a page, signed for the hub', async () => {
    answers.push({
      status: 200,
      headers: { 'x-ms-item-type': 'twin', 'x-ms-continuation': 'c2VlIHBhZ2UgMg==' },
      body: JSON.stringify([TWIN]),
    });

    const page = await query.queryTwins('hub-a');

    expect(page).toStrictEqual({ twins: [TWIN], continuation: 'c2VlIHBhZ2UgMg==' });
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/hub-a/devices/query?api-version=2021-04-12');
    expect(JSON.parse(request?.body ?? '')).toStrictEqual({ query: 'SELECT * FROM devices' });
    expect(request?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request?.headers['x-ms-max-item-count']).toBe('100');
    expect(request?.headers['x-ms-continuation']).toBeUndefined();
    expect(parseSasToken(request?.headers.authorization ?? '')).toMatchObject({
      sr: 'hub-a.azure-devices.net',
      skn: 'service',
      se: (Date.parse(START) + HOUR_MS) / 1000,
    });
  });

  it('sends the continuation token back verbatim for the next page, and reports no more after a page without one', async () => {
    const token = '{"token":"+RID:~abc==#RT:1#TRC:100","range":{"min":"","max":"FF"}}';
    answers.push({
      status: 200,
      headers: { 'x-ms-item-type': 'twin' },
      body: JSON.stringify([{ ...TWIN, deviceId: 'last' }]),
    });

    const page = await query.queryTwins('hub-b', token);

    expect(page).toStrictEqual({ twins: [{ ...TWIN, deviceId: 'last' }] });
    expect(received[0]?.url).toBe('/hub-b/devices/query?api-version=2021-04-12');
    expect(received[0]?.headers['x-ms-continuation']).toBe(token);
    expect(parseSasToken(received[0]?.headers.authorization ?? '')?.sr).toBe(
      'hub-b.azure-devices.net',
    );
  });

  it('treats an empty continuation header as the last page, and an empty array as a page', async () => {
    answers.push({ status: 200, headers: { 'x-ms-continuation': '' }, body: '[]' });
    await expect(query.queryTwins('hub-a')).resolves.toStrictEqual({ twins: [] });
  });

  it.each<[string, RawAnswer, object]>([
    [
      'a 429 ThrottlingException with Retry-After in seconds',
      {
        status: 429,
        headers: { 'iothub-errorcode': 'ThrottlingException', 'retry-after': '20' },
        body: '{"Message":"ErrorCode:ThrottlingException;The request has been throttled. Operation type: Query","ExceptionMessage":"Tracking ID:55f0784980964ecf83ec9bf4cce2bc7c-G:0-TimeStamp:03/01/2026 10:00:00"}',
      },
      { failure: 'throttled', details: { status: 429, errorCode: 429001, retryAfterMs: 20_000 } },
    ],
    [
      'a 429 with a flat body and no Retry-After',
      {
        status: 429,
        body: '{"errorCode":429001,"trackingId":"","message":"Operations are being throttled for this tenant.","timestampUtc":"2026-03-01T10:00:00.0000000Z"}',
      },
      { failure: 'throttled', details: { status: 429, errorCode: 429001 } },
    ],
    [
      '403002 IotHubQuotaExceeded, throttled until the next UTC day',
      {
        status: 403,
        body: '{"Message":"{\\"errorCode\\":403002,\\"message\\":\\"Total number of messages on IotHub exceeded the allocated quota\\"}","ExceptionMessage":""}',
      },
      {
        failure: 'throttled',
        details: { status: 403, errorCode: 403002, retryAfterMs: 14 * HOUR_MS },
      },
    ],
    [
      '503 ServiceUnavailable',
      { status: 503, body: '{"Message":"ErrorCode:ServiceUnavailable;try later"}' },
      { failure: 'unavailable', details: { status: 503, errorCode: 503001 } },
    ],
    [
      'a 504 from a gateway with an HTML body',
      {
        status: 504,
        headers: { 'content-type': 'text/html' },
        body: '<html>Gateway Time-out</html>',
      },
      { failure: 'unavailable', details: { status: 504 } },
    ],
    [
      '401 IotHubUnauthorizedAccess',
      {
        status: 401,
        headers: { 'iothub-errorcode': 'IotHubUnauthorizedAccess' },
        body: '{"Message":"ErrorCode:IotHubUnauthorizedAccess;Unauthorized","ExceptionMessage":""}',
      },
      { failure: 'refused', details: { status: 401, errorCode: 401002 } },
    ],
    [
      '403 without a code (a missing role)',
      { status: 403 },
      { failure: 'refused', details: { status: 403 } },
    ],
    [
      '400 for a continuation token the hub does not accept',
      {
        status: 400,
        body: '{"Message":"{\\"errorCode\\":400004,\\"message\\":\\"Invalid continuation token\\"}","ExceptionMessage":""}',
      },
      { failure: 'refused', details: { status: 400, errorCode: 400004 } },
    ],
    [
      'a redirect, not followed',
      { status: 302, headers: { location: 'http://127.0.0.1:9/' } },
      { failure: 'refused', details: { status: 302 } },
    ],
    [
      'a 200 that is not a JSON array',
      { status: 200, body: '{"items":[]}' },
      { failure: 'unavailable', details: { status: 200 } },
    ],
    [
      'a 200 of another item type than twins',
      { status: 200, headers: { 'x-ms-item-type': 'deviceJob' }, body: '[]' },
      { failure: 'refused', details: { status: 200 } },
    ],
  ])('throws a typed failure for %s', async (_name, answer, expected) => {
    answers.push(answer);
    const failure = await failureOf(query.queryTwins('hub-a'));
    expect(failure).toMatchObject(expected);
    expect(failure.details).toStrictEqual((expected as { details: object }).details);
    expect(failure.message).toMatch(/^hub hub-a: /);
  });

  it('refuses a hub it has no connection for, without calling any hub', async () => {
    const failure = await failureOf(query.queryTwins('hub-z'));
    expect(failure).toMatchObject({
      failure: 'refused',
      message: 'no connection configured for hub hub-z',
    });
    expect(received).toHaveLength(0);
  });
});

describe('IotHubTwinQuery when IoT Hub cannot be reached or asked', () => {
  it('reports an unreachable hub as unavailable, naming the refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const query = IotHubTwinQuery.fromSettings(
      settingsOf({ IotHub: HUB_A, CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}` }),
    );

    const failure = await failureOf(query.queryTwins('hub-a'));

    expect(failure.failure).toBe('unavailable');
    expect(failure.message).toMatch(/ECONNREFUSED/);
  });

  it('gives up after its own timeout when the hub never answers, as unavailable', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const query = IotHubTwinQuery.fromSettings(
        settingsOf({ IotHub: HUB_A, CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${port}` }, 300),
      );
      const started = Date.now();
      const failure = await failureOf(query.queryTwins('hub-a'));
      expect(failure).toMatchObject({ failure: 'unavailable', message: /timed out/ });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("sends an Entra ID bearer token for IoT Hub's scope, and refuses to go on without an identity", async () => {
    const hub = new StandInIotHub(() => ({ device: { status: 200 } }), {
      twins: () => [TWIN],
    });
    const { url } = await hub.start();
    try {
      const settings = settingsOf({
        IotHub__fullyQualifiedName: 'hub-a.azure-devices.net',
        CERTFLEET_IOTHUB_ENDPOINT: url,
      });
      const scopes: (string | string[])[] = [];
      const credential: TokenCredential = {
        getToken: async (scope): Promise<AccessToken> => {
          scopes.push(scope);
          return { token: 'entra-token', expiresOnTimestamp: Date.now() + HOUR_MS };
        },
      };
      const withIdentity = new IotHubTwinQuery({
        access: new IotHubAccess({ settings, credential }),
      });
      await expect(withIdentity.queryTwins('hub-a')).resolves.toStrictEqual({ twins: [TWIN] });
      expect(hub.queries[0]?.authorization).toBe('Bearer entra-token');
      expect(scopes).toEqual(['https://iothubs.azure.net/.default']);

      const unavailable = Object.assign(new Error('ManagedIdentityCredential: no endpoint'), {
        name: 'CredentialUnavailableError',
      });
      const withoutIdentity = new IotHubTwinQuery({
        access: new IotHubAccess({
          settings,
          credential: { getToken: () => Promise.reject(unavailable) },
        }),
      });
      const failure = await failureOf(withoutIdentity.queryTwins('hub-a'));
      expect(failure).toMatchObject({ failure: 'refused', message: /CredentialUnavailableError/ });
      expect(hub.queries).toHaveLength(1);
    } finally {
      await hub.stop();
    }
  });
});

describe('IotHubTwinQuery against the stand-in IoT Hub', () => {
  const clock = new ManualClock(START);
  const twins = Array.from({ length: 7 }, (_, i) => ({ ...TWIN, deviceId: `dev-${i}` }));
  const hub = new StandInIotHub(() => 'not-found', {
    sharedAccessKeys: { service: KEY_A },
    now: () => clock.now(),
    twins: () => twins,
    maxTwinsPerPage: 3,
  });
  afterAll(() => hub.stop());

  it('reads every twin once, page by page, following the continuation tokens to the end', async () => {
    const { url } = await hub.start();
    const query = IotHubTwinQuery.fromSettings(
      settingsOf({ IotHub: HUB_A, CERTFLEET_IOTHUB_ENDPOINT: url }),
      () => clock.now(),
    );
    const pages: string[][] = [];
    let continuation: string | undefined;
    do {
      const page = await query.queryTwins('hub-a', continuation);
      pages.push(page.twins.map((t) => (t as { deviceId: string }).deviceId));
      continuation = page.continuation;
    } while (continuation);

    expect(pages).toEqual([['dev-0', 'dev-1', 'dev-2'], ['dev-3', 'dev-4', 'dev-5'], ['dev-6']]);
    expect(hub.queries.map((q) => [q.status, q.twins])).toEqual([
      [200, 3],
      [200, 3],
      [200, 1],
    ]);
    expect(hub.queries[1]?.continuation).toBeDefined();
  });
});
