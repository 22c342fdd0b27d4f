import { certfleet } from '../support/runCli';
import { systemTimeIs } from '../support/systemTime';
import { StandInIotHub } from '../../shared/local/StandInIotHub';
import { useServices } from '../../shared/services';
import { testEnvironment } from '../support/testStorage';

/** `certfleet backfill`, in-process, against Azurite and the stand-in IoT Hub. */
const KEY = Buffer.from('backfill test policy key, 32 b..').toString('base64');
const connectionOf = (hub: string, key = KEY) =>
  `HostName=${hub}.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${key}`;

const twin = (deviceId: string, withCertificate: boolean) => ({
  deviceId,
  version: 5,
  properties: {
    reported: {
      ...(withCertificate
        ? {
            certificate: {
              validFrom: '2026-11-01T00:00:00Z',
              validUntil: '2026-12-01T00:00:00Z',
            },
          }
        : {}),
      $metadata: { $lastUpdated: '2026-11-02T10:00:00Z' },
      $version: 3,
    },
  },
});

describe('certfleet backfill', () => {
  const saved = { ...process.env };
  const hub = new StandInIotHub(() => 'not-found', {
    sharedAccessKeys: { service: KEY },
    twins: (name) =>
      name === 'plant-a'
        ? [twin('a-1', true), twin('a-2', true), twin('a-3', false)]
        : [twin('b-1', true)],
  });
  let url: string;

  beforeAll(async () => {
    ({ url } = await hub.start());
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    useServices(undefined);
    hub.queries.length = 0;
  });
  afterEach(() => {
    jest.useRealTimers();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  const configure = (extra: Record<string, string>) =>
    Object.assign(
      process.env,
      testEnvironment({ CERTFLEET_TWIN_QUERIES_PER_MINUTE: '1000', ...extra }),
    );

  it('says no IoT Hub is configured and exits 2', async () => {
    configure({});
    const run = await certfleet('backfill');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^certfleet: no IoT Hub is configured: set IotHub/);
    expect(hub.queries).toHaveLength(0);
  });

  it('imports every configured hub and prints a line per hub and the totals', async () => {
    configure({
      IotHub: `${connectionOf('plant-a')}|${connectionOf('plant-b')}`,
      CERTFLEET_IOTHUB_ENDPOINT: url,
    });
    // Before renewal falls due: the import raises no alert.
    systemTimeIs('2026-11-20T12:00:00.000Z');
    const run = await certfleet('backfill');

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'hub plant-a: complete; 1 pages, 3 twins: 2 applied, 0 duplicate, 0 stale, 1 without a certificate, 0 ignored, 0 dead-lettered; 2 audit records',
    );
    expect(lines[1]).toMatch(/^hub plant-b: complete; 1 pages, 1 twins: 1 applied/);
    expect(lines[2]).toMatch(/: 2 hubs; 2 pages, 4 twins: 3 applied, 0 duplicate/);

    const again = await certfleet('backfill', '--hub', 'Plant-B.azure-devices.net');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      'hub plant-b: complete; 1 pages, 1 twins: 0 applied, 1 duplicate',
    );
    expect(hub.queries.map((q) => q.hub)).toEqual(['plant-a', 'plant-b', 'plant-b']);
  });

  it('refuses a hub that is not configured, with exit 2', async () => {
    configure({ IotHub: connectionOf('plant-a'), CERTFLEET_IOTHUB_ENDPOINT: url });
    const run = await certfleet('backfill', '--hub', 'plant-z');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('hub plant-z is not configured (configured: plant-a)');
  });

  it('reports a hub that refuses certfleet and exits 1, after reconciling the others', async () => {
    const wrongKey = Buffer.from('not the key of this hub, 32 b...').toString('base64');
    configure({
      IotHub: `${connectionOf('plant-a', wrongKey)}|${connectionOf('plant-b')}`,
      CERTFLEET_IOTHUB_ENDPOINT: url,
    });
    const run = await certfleet('backfill');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^hub plant-a: FAILED: hub plant-a: IoT Hub refused certfleet's credentials or role \(401 401002/,
    );
    expect(run.stdout).toMatch(/\nhub plant-b: complete; 1 pages, 1 twins: 1 applied/);
    expect(run.stderr).toBe('certfleet: backfill failed for hub plant-a\n');
  });
});
