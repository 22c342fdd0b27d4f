import { makeSasToken } from '../../shared/adapters/iothub/iotHubConnection';
import { ManualClock } from '../../shared/domain/Clock';
import { StandInIotHub, StandInQueryAnswer } from '../../shared/local/StandInIotHub';

/**
 * The stand-in's twin query, "Query - Get Twins" (api-version 2021-04-12): what a caller sees
 * over raw HTTP, paging included.
 */
const KEY = Buffer.from('stand-in policy key, 32 bytes...').toString('base64');
const clock = new ManualClock('2026-03-01T10:00:00Z');
const sas = (hub = 'hub-a') =>
  makeSasToken(
    { hostName: `${hub}.azure-devices.net`, sharedAccessKeyName: 'service', sharedAccessKey: KEY },
    clock.now(),
  ).header;

const twinsOf = (hub: string) =>
  Array.from({ length: 5 }, (_, i) => ({
    deviceId: `${hub}-dev-${i}`,
    version: 3,
    properties: { reported: { $metadata: { $lastUpdated: '2026-02-01T00:00:00Z' }, $version: 2 } },
  }));

describe('StandInIotHub twin query', () => {
  let answer: ((hub: string) => StandInQueryAnswer) | undefined;
  const asked: { hub: string; continuation?: string }[] = [];
  const hub = new StandInIotHub(() => ({ device: { status: 200 } }), {
    sharedAccessKeys: { service: KEY },
    now: () => clock.now(),
    throttleRetryAfterSeconds: 9,
    twins: (hubName, page) => {
      asked.push({ hub: hubName, ...page });
      return answer ? answer(hubName) : twinsOf(hubName);
    },
  });
  let url: string;

  beforeAll(async () => {
    ({ url } = await hub.start());
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    clock.set('2026-03-01T10:00:00Z');
    answer = undefined;
    asked.length = 0;
    hub.queries.length = 0;
    hub.calls.length = 0;
  });

  const query = (
    options: {
      hubName?: string;
      continuation?: string;
      maxItemCount?: string;
      body?: unknown;
      authorization?: string | null;
      apiVersion?: string;
    } = {},
  ) => {
    const hubName = options.hubName ?? 'hub-a';
    const authorization =
      options.authorization === undefined ? sas(hubName) : options.authorization;
    return fetch(
      `${url}/${hubName}/devices/query?api-version=${options.apiVersion ?? '2021-04-12'}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization !== null ? { authorization } : {}),
          ...(options.continuation ? { 'x-ms-continuation': options.continuation } : {}),
          ...(options.maxItemCount ? { 'x-ms-max-item-count': options.maxItemCount } : {}),
        },
        body: JSON.stringify(options.body ?? { query: 'SELECT * FROM devices' }),
      },
    );
  };

  const ids = async (response: Response) =>
    ((await response.json()) as { deviceId: string }[]).map((t) => t.deviceId);

  it('pages the twins by x-ms-max-item-count, handing out a continuation token until the last page', async () => {
    const first = await query({ maxItemCount: '2' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ms-item-type')).toBe('twin');
    await expect(ids(first)).resolves.toEqual(['hub-a-dev-0', 'hub-a-dev-1']);
    const token = first.headers.get('x-ms-continuation');
    expect(token).toBeTruthy();

    const second = await query({ maxItemCount: '2', continuation: token! });
    await expect(ids(second)).resolves.toEqual(['hub-a-dev-2', 'hub-a-dev-3']);
    const last = await query({
      maxItemCount: '2',
      continuation: second.headers.get('x-ms-continuation')!,
    });
    await expect(ids(last)).resolves.toEqual(['hub-a-dev-4']);
    expect(last.headers.get('x-ms-continuation')).toBeNull();
    expect(asked.map((a) => [a.hub, a.continuation === undefined])).toEqual([
      ['hub-a', true],
      ['hub-a', false],
      ['hub-a', false],
    ]);
  });

  it("answers 100 twins a page when the caller names no size, from the named hub's twins", async () => {
    answer = (hubName) =>
      Array.from({ length: 150 }, (_, i) => ({ deviceId: `${hubName}-${i}`, version: 1 }));
    const first = await query({ hubName: 'hub-b' });
    const twins = await ids(first);
    expect(twins).toHaveLength(100);
    expect(twins[0]).toBe('hub-b-0');
    expect(first.headers.get('x-ms-continuation')).toBeTruthy();
  });

  it('records each query with the time it arrived, its continuation and page size, and what it answered', async () => {
    await query({ maxItemCount: '3' });
    clock.advance(6_000);
    await query({ maxItemCount: '3', continuation: 'eyJza2lwIjozfQ==' });
    expect(hub.queries).toMatchObject([
      { hub: 'hub-a', at: '2026-03-01T10:00:00.000Z', maxItemCount: '3', status: 200, twins: 3 },
      {
        hub: 'hub-a',
        at: '2026-03-01T10:00:06.000Z',
        continuation: 'eyJza2lwIjozfQ==',
        status: 200,
        twins: 2,
      },
    ]);
    expect(hub.queries[0]?.query).toBe('SELECT * FROM devices');
    expect(hub.queries[0]).not.toHaveProperty('continuation');
    expect(hub.calls).toHaveLength(0);
  });

  it("answers a scripted 'throttled' with 429 ThrottlingException and Retry-After", async () => {
    answer = () => 'throttled';
    const response = await query();
    expect(response.status).toBe(429);
    expect(response.headers.get('iothub-errorcode')).toBe('ThrottlingException');
    expect(response.headers.get('retry-after')).toBe('9');
    const outer = (await response.json()) as { Message: string };
    expect(JSON.parse(outer.Message)).toMatchObject({ errorCode: 429001 });
    expect(hub.queries[0]?.status).toBe(429);
  });

  it('sends a scripted raw answer verbatim', async () => {
    answer = () => ({ httpStatus: 503, body: 'busy', headers: { 'x-test': 'yes' } });
    const response = await query();
    expect(response.status).toBe(503);
    expect(response.headers.get('x-test')).toBe('yes');
    await expect(response.text()).resolves.toBe('busy');
  });

  it.each<[string, Parameters<typeof query>[0], number, string]>([
    ['no Authorization', { authorization: null }, 401, 'IotHubUnauthorizedAccess'],
    ['a token for another hub', { authorization: sas('hub-b') }, 401, 'IotHubUnauthorizedAccess'],
    ['another api-version', { apiVersion: '2018-06-30' }, 400, 'InvalidProtocolVersion'],
    [
      'a query for module twins',
      { body: { query: 'SELECT * FROM devices.modules' } },
      400,
      'ArgumentInvalid',
    ],
    ['a continuation token it never gave', { continuation: 'not-a-token' }, 400, 'ArgumentInvalid'],
  ])('refuses %s before asking for twins', async (_name, options, status, errorName) => {
    const response = await query(options);
    expect(response.status).toBe(status);
    expect(response.headers.get('iothub-errorcode')).toBe(errorName);
    expect(asked).toHaveLength(0);
    expect(hub.queries[0]?.status).toBe(status);
  });
});

describe('StandInIotHub without a twin provider', () => {
  const hub = new StandInIotHub(() => ({ device: { status: 200 } }));
  afterAll(() => hub.stop());

  it('answers the query path 404 as before, and direct methods as ever', async () => {
    const { url } = await hub.start();
    const headers = {
      authorization: 'SharedAccessSignature x',
      'content-type': 'application/json',
    };
    const queried = await fetch(`${url}/hub-a/devices/query?api-version=2021-04-12`, {
      method: 'POST',
      headers,
      body: '{"query":"SELECT * FROM devices"}',
    });
    expect(queried.status).toBe(404);
    expect(hub.queries).toHaveLength(0);

    const invoked = await fetch(`${url}/hub-a/twins/d1/methods?api-version=2021-04-12`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ methodName: 'renewCertificate', payload: {} }),
    });
    expect(invoked.status).toBe(200);
  });
});
