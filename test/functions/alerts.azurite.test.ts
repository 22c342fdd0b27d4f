import { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { getAlerts, runAlertDelivery } from '../../functions/alerts';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, buildServices, useServices } from '../../shared/services';
import { RecordingAlertSink } from '../support/RecordingAlertSink';
import { testEnvironment } from '../support/testStorage';

/**
 * `GET /api/alerts` and the delivery timer, called as the Functions host calls them, over
 * services on Azurite: three devices report, on 28 November, certificates in different states.
 */
const NOW = '2026-11-28T09:30:00.000Z';
const at = '2026-11-28T09:00:00.000Z';

let services: Services;
let clock: ManualClock;
let sink: RecordingAlertSink;

beforeEach(async () => {
  clock = new ManualClock(NOW);
  sink = new RecordingAlertSink('webhook', clock);
  services = buildServices(loadSettings(testEnvironment()), { clock, alertSinks: [sink] });
  useServices(services);
  const summary = await services.ingest.apply([
    // Expires in 2 days, in the critical window; no renewal has started, though it fell due
    // (at 85% of the lifetime) more than a day ago.
    twinUpdated({ hub: 'plant-a', deviceId: 'pump-0001', at }, 2, {
      certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-11-30T00:00:00Z' },
    }),
    // Expired.
    twinUpdated({ hub: 'plant-b', deviceId: 'valve-0002', at }, 2, {
      certificate: { validFrom: '2026-10-01T00:00:00Z', validUntil: '2026-11-01T00:00:00Z' },
    }),
    // Healthy: a year to go.
    twinUpdated({ hub: 'plant-a', deviceId: 'meter-0003', at }, 2, {
      certificate: { validFrom: '2026-11-01T00:00:00Z', validUntil: '2027-11-01T00:00:00Z' },
    }),
  ]);
  expect(summary.applied).toBe(3);
});

afterEach(() => useServices(undefined));

const context = () =>
  new InvocationContext({
    functionName: 'getAlerts',
    invocationId: 'test',
    logHandler: () => undefined,
  });

async function get(query = ''): Promise<HttpResponseInit> {
  return getAlerts(
    new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/alerts${query}` }),
    context(),
  );
}

type Listed = { count: number; alerts: { deviceId: string; rule: string; severity: string }[] };
const rows = (response: HttpResponseInit) =>
  (response.jsonBody as Listed).alerts.map((a) => [a.deviceId, a.rule, a.severity]);

describe('GET /api/alerts', () => {
  it('lists the open alerts, critical first', async () => {
    const response = await get();

    expect(response.status).toBe(200);
    expect((response.jsonBody as Listed).count).toBe(3);
    expect(rows(response)).toEqual([
      ['valve-0002', 'certificate-expired', 'critical'],
      ['pump-0001', 'certificate-expiring', 'critical'],
      ['pump-0001', 'renewal-overdue', 'warning'],
    ]);
  });

  it('filters by hub, rule, severity and scope', async () => {
    expect(rows(await get('?hub=PLANT-A'))).toEqual([
      ['pump-0001', 'certificate-expiring', 'critical'],
      ['pump-0001', 'renewal-overdue', 'warning'],
    ]);
    expect(rows(await get('?rule=certificate-expired&severity=critical&scope=device'))).toEqual([
      ['valve-0002', 'certificate-expired', 'critical'],
    ]);
    expect(rows(await get('?severity=warning'))).toEqual([
      ['pump-0001', 'renewal-overdue', 'warning'],
    ]);
    expect(rows(await get('?scope=fleet'))).toEqual([]);
  });

  it('answers 400 for a filter no alert can match, naming what is allowed', async () => {
    expect(await get('?severity=urgent')).toEqual({
      status: 400,
      jsonBody: { error: 'severity must be warning or critical' },
    });
    expect((await get('?scope=everything')).status).toBe(400);
  });
});

describe('the alert delivery timer', () => {
  it('sends the critical alerts after their short hold, once; the warning waits longer', async () => {
    const timer = { isPastDue: false } as unknown as Timer;
    const early = await runAlertDelivery(timer, context());
    expect(early.sent).toEqual({});

    clock.advance(3 * 60_000); // past the critical hold
    const report = await runAlertDelivery(timer, context());
    const again = await runAlertDelivery(timer, context());

    expect(report.sent).toEqual({ webhook: 2 });
    expect(again.sent).toEqual({});
    expect(sink.received.map((n) => [n.deviceId, n.rule, n.status]).sort()).toEqual([
      ['pump-0001', 'certificate-expiring', 'raised'],
      ['valve-0002', 'certificate-expired', 'raised'],
    ]);
  });
});
