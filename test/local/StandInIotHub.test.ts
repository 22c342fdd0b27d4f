import { makeSasToken } from '../../shared/adapters/iothub/iotHubConnection';
import { HOUR_MS, ManualClock } from '../../shared/domain/Clock';
import { StandInAnswer, StandInIotHub } from '../../shared/local/StandInIotHub';

const KEY = Buffer.from('stand-in policy key, 32 bytes...').toString('base64');
const clock = new ManualClock('2026-03-01T10:00:00Z');
const sasFor = (hostName: string, key = KEY, keyName = 'service') =>
  makeSasToken({ hostName, sharedAccessKeyName: keyName, sharedAccessKey: key }, clock.now())
    .header;

const validBody = {
  methodName: 'renewCertificate',
  payload: { requestId: 'r1' },
  responseTimeoutInSeconds: 30,
  connectTimeoutInSeconds: 0,
};

/** The error code inside IoT Hub's error body, whose `Message` is itself JSON. */
async function errorCodeOf(response: Response): Promise<number> {
  const outer = (await response.json()) as { Message: string; ExceptionMessage: string };
  expect(outer.ExceptionMessage).toBe('');
  const inner = JSON.parse(outer.Message) as {
    errorCode: number;
    trackingId: string;
    timestampUtc: string;
  };
  expect(inner.trackingId).toMatch(/^[0-9a-f]{32}-G:0-TimeStamp:03\/01\/2026 10:00:00$/);
  expect(inner.timestampUtc).toBe('2026-03-01T10:00:00.0000000Z');
  return inner.errorCode;
}

describe('StandInIotHub', () => {
  let answer: StandInAnswer | (() => never) = { device: { status: 200 } };
  const seen: unknown[][] = [];
  const hub = new StandInIotHub(
    (...args) => {
      seen.push(args);
      if (typeof answer === 'function') return answer();
      return answer;
    },
    { sharedAccessKeys: { service: KEY }, now: () => clock.now(), throttleRetryAfterSeconds: 5 },
  );
  let url: string;

  beforeAll(async () => {
    ({ url } = await hub.start());
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    answer = { device: { status: 200 } };
    seen.length = 0;
    hub.calls.length = 0;
  });

  const invoke = (
    options: {
      path?: string;
      authorization?: string | null;
      body?: unknown;
      hubName?: string;
    } = {},
  ) => {
    const hubName = options.hubName ?? 'hub-a';
    const authorization =
      options.authorization === undefined
        ? sasFor(`${hubName}.azure-devices.net`)
        : options.authorization;
    return fetch(
      `${url}${options.path ?? `/${hubName}/twins/d%231/methods?api-version=2021-04-12`}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization !== null ? { authorization } : {}),
        },
        body:
          typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body ?? validBody),
      },
    );
  };

  it("answers the device's status and payload, and hands the handler the hub, device, method, payload and the call's timeouts", async () => {
    answer = { device: { status: 202, payload: { queued: true } } };
    const response = await invoke();
    expect(response.status).toBe(200);
    await expect(response.json()).resolves.toEqual({ status: 202, payload: { queued: true } });
    expect(seen).toEqual([
      [
        'hub-a',
        'd#1',
        'renewCertificate',
        { requestId: 'r1' },
        { responseTimeoutSeconds: 30, connectTimeoutSeconds: 0 },
      ],
    ]);
    expect(hub.calls[0]).toMatchObject({
      hub: 'hub-a',
      deviceId: 'd#1',
      body: validBody,
      status: 200,
    });
  });

  it.each([
    ['offline', 404, 'DeviceNotOnline', 404103],
    ['not-found', 404, 'DeviceNotFound', 404001],
    ['timeout', 504, 'GatewayTimeout', 504101],
    ['throttled', 429, 'ThrottlingException', 429001],
  ] as const)(
    "answers %s with %i, its iothub-errorcode header and IoT Hub's error body",
    async (scripted, status, name, code) => {
      answer = scripted;
      const response = await invoke();
      expect(response.status).toBe(status);
      expect(response.headers.get('iothub-errorcode')).toBe(name);
      await expect(errorCodeOf(response)).resolves.toBe(code);
    },
  );

  it('adds Retry-After to throttled answers only when configured to', async () => {
    answer = 'throttled';
    expect((await invoke()).headers.get('retry-after')).toBe('5');
  });

  it('sends raw answers verbatim', async () => {
    answer = { httpStatus: 503, body: 'overloaded', headers: { 'x-test': 'yes' } };
    const response = await invoke();
    expect(response.status).toBe(503);
    expect(response.headers.get('x-test')).toBe('yes');
    await expect(response.text()).resolves.toBe('overloaded');
  });

  it('rejects a request without Authorization with 401, before asking the device, and records it', async () => {
    const response = await invoke({ authorization: null });
    expect(response.status).toBe(401);
    await expect(errorCodeOf(response)).resolves.toBe(401002);
    expect(seen).toHaveLength(0);
    expect(hub.calls[0]).toMatchObject({ authorizationPresent: false, status: 401 });
  });

  it.each([
    [
      'a signature made with another key',
      () => sasFor('hub-a.azure-devices.net', Buffer.alloc(32, 7).toString('base64')),
    ],
    ['a policy it does not know', () => sasFor('hub-a.azure-devices.net', KEY, 'registryRead')],
    ['a token for another hub', () => sasFor('hub-b.azure-devices.net')],
    ['a bearer token', () => 'Bearer abc'],
    [
      'an expired token',
      () =>
        makeSasToken(
          {
            hostName: 'hub-a.azure-devices.net',
            sharedAccessKeyName: 'service',
            sharedAccessKey: KEY,
          },
          new Date(clock.now().getTime() - 2 * HOUR_MS),
        ).header,
    ],
  ])('rejects %s with 401 when it verifies keys', async (_name, token) => {
    const response = await invoke({ authorization: token() });
    expect(response.status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  it('rejects an api-version other than 2021-04-12 with 400 InvalidProtocolVersion', async () => {
    const response = await invoke({ path: '/hub-a/twins/d1/methods?api-version=2018-06-30' });
    expect(response.status).toBe(400);
    await expect(errorCodeOf(response)).resolves.toBe(400001);
  });

  it.each([
    ['a body without methodName', { payload: {} }],
    ['a response timeout under 5 s in the body', { ...validBody, responseTimeoutInSeconds: 3 }],
    ['a connect timeout over 300 s in the body', { ...validBody, connectTimeoutInSeconds: 301 }],
    ['a body that is not JSON', '{methodName'],
  ])('rejects %s with 400 ArgumentInvalid', async (_name, body) => {
    const response = await invoke({ body });
    expect(response.status).toBe(400);
    await expect(errorCodeOf(response)).resolves.toBe(400004);
    expect(seen).toHaveLength(0);
  });

  it('answers 404 for paths other than a device method', async () => {
    const response = await invoke({ path: '/hub-a/twins/d1?api-version=2021-04-12' });
    expect(response.status).toBe(404);
    expect(hub.calls).toHaveLength(0);
  });

  it('answers 500 ServerError when the handler throws', async () => {
    answer = () => {
      throw new Error('script bug');
    };
    const response = await invoke();
    expect(response.status).toBe(500);
    expect(response.headers.get('iothub-errorcode')).toBe('ServerError');
    expect(hub.calls[0]?.status).toBe(500);
  });
});
