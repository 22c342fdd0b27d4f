import { LocalHost } from '../../shared/local/LocalHost';
import { StandInIotHub } from '../../shared/local/StandInIotHub';
import { httpTriggers } from '../../shared/local/triggerDefinitions';
import { useServices } from '../../shared/services';
import { azuriteServices } from '../support/testStorage';

/**
 * The health routes end to end, through the local host, on services built from settings as the
 * Function app builds them: the fleet storage on Azurite, two hubs behind the stand-in IoT Hub
 * (reached by certfleet's own IoT Hub access, SAS-signed), and an Event Hubs connection setting
 * that cannot be used. What an anonymous caller and a key holder each learn, and how often the
 * hubs are asked.
 */
const KEY = Buffer.from('stand-in service policy key, 32b').toString('base64');
const hubConnection = (hub: string) =>
  `HostName=${hub}.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY}`;

describe('the health routes on the local host', () => {
  let hubB: 'up' | 'down';
  // The hub judges SAS expiry by the clock certfleet signs with (the services' manual clock).
  let now = () => new Date();
  const iotHub = new StandInIotHub(() => 'not-found', {
    sharedAccessKeys: { service: KEY },
    now: () => now(),
    connectedDevices: (hub) =>
      hub === 'contoso-hub-b' && hubB === 'down'
        ? { httpStatus: 503, body: { Message: '{"errorCode":503001}', ExceptionMessage: '' } }
        : 42,
  });
  let host: LocalHost;
  let base: string;

  beforeAll(async () => {
    const { url } = await iotHub.start();
    const { services, clock } = azuriteServices({
      env: {
        IotHub: `${hubConnection('contoso-hub-a')}|${hubConnection('contoso-hub-b')}`,
        CERTFLEET_IOTHUB_ENDPOINT: url,
        // The sample file's placeholder, left in place: the trigger could not bind either.
        IotHubEvents: '<Event Hubs connection string with Listen rights, for local runs only>',
        CERTFLEET_EVENTHUB_NAME: 'iothub-events',
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      },
    });
    now = () => clock.now();
    useServices(services);
    host = new LocalHost(httpTriggers);
    base = await host.listen(0);
  });
  afterAll(async () => {
    await host.close();
    await iotHub.stop();
    useServices(undefined);
  });
  beforeEach(() => {
    hubB = 'up';
  });

  it('tells an anonymous caller only that certfleet is degraded, and a key holder why', async () => {
    const anonymous = await fetch(`${base}/api/health`);
    const anonymousText = await anonymous.text();

    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(anonymousText)).toStrictEqual({ status: 'degraded' });
    expect(anonymousText).not.toMatch(/contoso|IotHubEvents|storage|version/i);

    const details = await fetch(`${base}/api/health/details`);
    expect(details.status).toBe(200);
    expect(await details.json()).toEqual({
      checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      status: 'degraded',
      storage: { status: 'ok', latencyMs: expect.any(Number) },
      eventStream: {
        status: 'unreachable',
        partitions: [],
        problem: expect.stringMatching(
          /^settings: IotHubEvents: not an Event Hubs connection string/,
        ),
      },
      hubs: [
        {
          hub: 'contoso-hub-a',
          status: 'ok',
          latencyMs: expect.any(Number),
          connectedDevices: 42,
        },
        {
          hub: 'contoso-hub-b',
          status: 'ok',
          latencyMs: expect.any(Number),
          connectedDevices: 42,
        },
      ],
    });
  });

  it('asks each hub at most once in 30 s however often it is polled', async () => {
    await fetch(`${base}/api/health`);
    const asked = iotHub.statistics.length;
    hubB = 'down';

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${base}/api/health`).then((r) => r.json())),
    );

    // Every answer is the fresh report's: hub-b's outage since is not seen, nor asked about.
    expect(answers).toEqual(Array(20).fill({ status: 'degraded' }));
    expect(iotHub.statistics.length).toBe(asked);
  });
});
