import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AccessToken, TokenCredential } from '@azure/identity';
import { IotHubAccess } from '../../../shared/adapters/iothub/IotHubAccess';
import { IotHubServiceStatistics } from '../../../shared/adapters/iothub/IotHubServiceStatistics';
import { ProbeFailed } from '../../../shared/app/ports';
import { IotHubSettings, loadIotHubSettings } from '../../../shared/config/iotHubSettings';
import { HOUR_MS, ManualClock } from '../../../shared/domain/Clock';
import { StandInIotHub } from '../../../shared/local/StandInIotHub';

/**
 * The health check's hub probe, IoT Hub's "Statistics - Get Service Statistics" (`GET
 * /statistics/service?api-version=2021-04-12`, answering `{"connectedDeviceCount": n}`), over
 * real HTTP against the stand-in hub, which checks SAS tokens and answers failures in IoT Hub's
 * shapes.
 */
const START = '2026-03-01T10:00:00Z';
const KEY_A = Buffer.from('key of hub a, 32 bytes long.....').toString('base64');
const KEY_B = Buffer.from('key of hub b, 32 bytes long.....').toString('base64');
const HUB_A = `HostName=hub-a.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY_A}`;
const HUB_B = `HostName=hub-b.azure-devices.net;SharedAccessKeyName=certfleet;SharedAccessKey=${KEY_B}`;

function settingsOf(env: Record<string, string>): IotHubSettings {
  const settings = loadIotHubSettings(env);
  if (!settings) throw new Error('expected IoT Hub settings');
  return settings;
}

async function problemOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(ProbeFailed);
    return (error as ProbeFailed).problem;
  }
  throw new Error('expected the probe to fail');
}

const signal = () => new AbortController().signal;

/** A loopback port nothing listens on: one the system just gave out and took back. */
async function aClosedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('IotHubServiceStatistics against the stand-in IoT Hub', () => {
  const clock = new ManualClock(START);
  const connected: Record<string, number | { httpStatus: number; body?: unknown }> = {};
  const hub = new StandInIotHub(() => 'not-found', {
    sharedAccessKeys: { service: KEY_A, certfleet: KEY_B },
    now: () => clock.now(),
    connectedDevices: (name) => connected[name] ?? 0,
  });
  let url: string;

  beforeAll(async () => {
    ({ url } = await hub.start());
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    hub.statistics.length = 0;
    for (const name of Object.keys(connected)) delete connected[name];
  });

  function statistics(env: Record<string, string>): IotHubServiceStatistics {
    return new IotHubServiceStatistics({
      access: new IotHubAccess({
        settings: settingsOf({ ...env, CERTFLEET_IOTHUB_ENDPOINT: url }),
        now: () => clock.now(),
      }),
    });
  }

  it("reads each configured hub's connected-device count, signed with that hub's own policy", async () => {
    connected['hub-a'] = 1200;
    connected['hub-b'] = 7;
    const probe = statistics({ IotHub: `${HUB_A}|${HUB_B}` });

    expect(probe.hubs).toEqual(['hub-a', 'hub-b']);
    expect(await probe.connectedDevices('hub-a', signal())).toBe(1200);
    expect(await probe.connectedDevices('hub-b', signal())).toBe(7);
    expect(hub.statistics).toEqual([
      { hub: 'hub-a', status: 200 },
      { hub: 'hub-b', status: 200 },
    ]);
  });

  it("names IoT Hub's refusal of a key it does not know, without the key", async () => {
    const wrongKey = Buffer.from('not the key of hub a, 32 bytes..').toString('base64');
    const probe = statistics({ IotHub: HUB_A.replace(KEY_A, wrongKey) });

    const problem = await problemOf(probe.connectedDevices('hub-a', signal()));

    expect(problem).toBe('401 IotHubUnauthorizedAccess');
    expect(hub.statistics).toEqual([{ hub: 'hub-a', status: 401 }]);
  });

  it("names a hub's outage by its status and IoT Hub's error name", async () => {
    connected['hub-a'] = {
      httpStatus: 503,
      body: {
        Message: JSON.stringify({ errorCode: 503001, message: 'ServiceUnavailable' }),
        ExceptionMessage: '',
      },
    };

    const problem = await problemOf(
      statistics({ IotHub: HUB_A }).connectedDevices('hub-a', signal()),
    );

    expect(problem).toBe('503 ServiceUnavailable');
  });

  it('says so when a 200 is not service statistics', async () => {
    connected['hub-a'] = { httpStatus: 200, body: '<html>a proxy page</html>' };

    expect(await problemOf(statistics({ IotHub: HUB_A }).connectedDevices('hub-a', signal()))).toBe(
      '200 with an answer that is not service statistics',
    );
  });

  it('refuses a hub certfleet has no connection for, asking nothing', async () => {
    expect(await problemOf(statistics({ IotHub: HUB_A }).connectedDevices('hub-z', signal()))).toBe(
      'no connection configured for this hub',
    );
    expect(hub.statistics).toEqual([]);
  });

  it('sends an Entra ID token, and says when no identity gives one', async () => {
    const settings = settingsOf({
      IotHub__fullyQualifiedName: 'hub-a.azure-devices.net',
      CERTFLEET_IOTHUB_ENDPOINT: url,
    });
    const open = new StandInIotHub(() => 'not-found', { connectedDevices: () => 3 });
    const { url: openUrl } = await open.start();
    try {
      const credential: TokenCredential = {
        getToken: async (): Promise<AccessToken> => ({
          token: 'entra-token',
          expiresOnTimestamp: Date.now() + HOUR_MS,
        }),
      };
      const withIdentity = new IotHubServiceStatistics({
        access: new IotHubAccess({
          settings: { ...settings, endpoint: openUrl },
          credential,
        }),
      });
      expect(await withIdentity.connectedDevices('hub-a', signal())).toBe(3);

      const unavailable = Object.assign(new Error('ManagedIdentityCredential: no endpoint'), {
        name: 'CredentialUnavailableError',
      });
      const withoutIdentity = new IotHubServiceStatistics({
        access: new IotHubAccess({
          settings: { ...settings, endpoint: openUrl },
          credential: { getToken: () => Promise.reject(unavailable) },
        }),
      });
      expect(await problemOf(withoutIdentity.connectedDevices('hub-a', signal()))).toBe(
        'no Entra ID token (CredentialUnavailableError)',
      );
      expect(open.statistics).toHaveLength(1);
    } finally {
      await open.stop();
    }
  });

  it('names the network error when nothing listens where the hub should be', async () => {
    const closed = await aClosedPort();
    const probe = new IotHubServiceStatistics({
      access: new IotHubAccess({
        settings: settingsOf({
          IotHub: HUB_A,
          CERTFLEET_IOTHUB_ENDPOINT: `http://127.0.0.1:${closed}`,
        }),
        now: () => clock.now(),
      }),
    });

    expect(await problemOf(probe.connectedDevices('hub-a', signal()))).toBe('ECONNREFUSED');
  });

  it('stops its request when the signal aborts', async () => {
    const aborted = new AbortController();
    aborted.abort();

    expect(
      await problemOf(statistics({ IotHub: HUB_A }).connectedDevices('hub-a', aborted.signal)),
    ).toBe('AbortError');
  });
});

describe("the stand-in hub's service statistics", () => {
  it('checks the api-version as IoT Hub does, and answers 0 connected devices by default', async () => {
    const hub = new StandInIotHub(() => 'not-found');
    const { url } = await hub.start();
    try {
      const wrongVersion = await fetch(`${url}/hub-a/statistics/service?api-version=2018-06-30`, {
        headers: { authorization: 'SharedAccessSignature sr=x' },
      });
      expect(wrongVersion.status).toBe(400);
      expect(wrongVersion.headers.get('iothub-errorcode')).toBe('InvalidProtocolVersion');

      const answer = await fetch(`${url}/hub-a/statistics/service?api-version=2021-04-12`, {
        headers: { authorization: 'SharedAccessSignature sr=x' },
      });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ connectedDeviceCount: 0 });
    } finally {
      await hub.stop();
    }
  });
});
