import { HttpRequest, InvocationContext, Timer } from '@azure/functions';
import { getArchivedReport, writeDailyReport } from '../../functions/pointInTimeReports';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, buildServices, useServices } from '../../shared/services';
import { containerClient } from '../support/rawStorage';
import { testEnvironment } from '../support/testStorage';

/** The daily point-in-time report as the Functions host runs and serves it, on Azurite. */
const NOW = '2026-11-24T00:15:00.000Z';
let services: Services;
let prefix: string;

beforeEach(async () => {
  const env = testEnvironment();
  prefix = env.CERTFLEET_STORAGE_PREFIX!;
  services = buildServices(loadSettings(env), { clock: new ManualClock(NOW) });
  useServices(services);
  await services.ingest.apply(
    [0, 1, 2].map((i) =>
      twinUpdated({ hub: 'plant-a', deviceId: `pump-${i}`, at: '2026-11-23T09:00:00.000Z' }, 2, {
        certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
      }),
    ),
  );
});

afterEach(() => useServices(undefined));

const context = () => new InvocationContext({ functionName: 'test', invocationId: 'test' });

function get(date: string, file: string) {
  return getArchivedReport(
    new HttpRequest({
      method: 'GET',
      url: `http://localhost:7071/api/reports/archive/${date}/${file}`,
      params: { date, file },
    }),
    context(),
  );
}

async function bodyOf(body: unknown): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

describe('the daily point-in-time report in the Function app', () => {
  it('writes yesterday’s report at 00:15 and serves each file once it checks against the audit trail', async () => {
    await writeDailyReport({ isPastDue: false } as unknown as Timer, context());

    const summary = await get('2026-11-23', 'summary');
    const devices = await get('2026-11-23', 'devices');

    expect(summary.status).toBe(200);
    expect(summary.headers).toMatchObject({ 'x-certfleet-recorded-at': NOW });
    expect(JSON.parse(await bodyOf(summary.body))).toMatchObject({
      date: '2026-11-23',
      devices: 3,
    });
    expect(devices.status).toBe(200);
    const csv = await bodyOf(devices.body);
    expect(csv.split('\r\n').filter((l) => l.includes('pump-'))).toHaveLength(3);
  });

  it('answers 409 for a file that is not the one recorded, 404 for a day without one, 400 for nonsense', async () => {
    await writeDailyReport({ isPastDue: false } as unknown as Timer, context());
    const forged = '{"date":"2026-11-23","devices":0}\n';
    const container = containerClient(`${prefix}-reports`);
    const names: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: 'reports/2026-11-23/summary-' }))
      names.push(item.name);
    expect(names).toHaveLength(1);
    await container.getBlockBlobClient(names[0]!).upload(forged, forged.length);

    const altered = await get('2026-11-23', 'summary');
    expect(altered.status).toBe(409);
    expect((altered.jsonBody as { error: string }).error).toMatch(
      /summary-[0-9a-f]{12}\.json is not the file the audit trail recorded/,
    );
    expect((await get('2026-11-20', 'summary')).status).toBe(404);
    expect((await get('2026-11-31', 'summary')).status).toBe(400);
    expect((await get('2026-11-23', 'secrets')).status).toBe(400);
  });
});
