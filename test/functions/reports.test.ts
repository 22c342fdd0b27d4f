import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import {
  getAuditRecords,
  getDeviceHistory,
  getDeviceReport,
  getFleetSummary,
  reportRoutes,
} from '../../functions/reports';
import { FleetReports } from '../../shared/app/reports/FleetReports';
import { loadSettings } from '../../shared/config/settings';
import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../shared/domain/audit/FleetAuditChecks';
import { ManualClock } from '../../shared/domain/Clock';
import { FleetSummary } from '../../shared/domain/reports/FleetSummary';
import { LocalHost } from '../../shared/local/LocalHost';
import { buildServices, useServices } from '../../shared/services';
import { InMemoryAlertStore } from '../support/InMemoryAlertStore';
import { InMemoryAuditTrail, InMemoryLedger } from '../support/memoryPorts';
import { aDevice } from '../domain/reports/reportFixtures';

/**
 * The report functions as the Functions host calls them, over in-memory ports: answers,
 * headers, streamed bodies, and 400 for a query that means nothing. Then through the local host,
 * which streams the body as it comes.
 */
const NOW = '2026-11-23T12:00:00.000Z';
let ledger: InMemoryLedger;
let audit: InMemoryAuditTrail;

beforeEach(async () => {
  ledger = new InMemoryLedger();
  audit = new InMemoryAuditTrail();
  const clock = new ManualClock(NOW);
  const services = buildServices(loadSettings({}), clock);
  const reports = new FleetReports({
    ledger,
    alertStore: new InMemoryAlertStore(),
    audit,
    clock,
    auditChecks: DEFAULT_AUDIT_CHECK_SETTINGS,
    cas: [],
  });
  useServices({ ...services, ledger, audit, reports });
  await ledger.write(aDevice('meter-1'), undefined);
  await ledger.write(
    aDevice('=cmd', { renewal: { status: 'due', attempts: 0, failures: 0 } }),
    undefined,
  );
});
afterEach(() => useServices(undefined));

const context = () =>
  new InvocationContext({
    functionName: 'test',
    invocationId: 'test',
    logHandler: () => undefined,
  });

function get(path: string, params: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/${path}`, params });
}

async function bodyText(response: HttpResponseInit): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as AsyncIterable<Uint8Array>)
    text += decoder.decode(chunk, { stream: true });
  return text;
}

const errorOf = (response: HttpResponseInit) => (response.jsonBody as { error: string }).error;

describe('the report functions', () => {
  it('GET /api/reports/summary answers the fleet summary', async () => {
    const response = await getFleetSummary(get('reports/summary'), context());

    expect(response.status).toBe(200);
    const summary = response.jsonBody as FleetSummary;
    expect(summary.at).toBe(NOW);
    expect(summary.byState).toMatchObject({ healthy: 1, due: 1 });
  });

  it('GET /api/reports/devices?format=csv streams a CSV download, filtered', async () => {
    const response = await getDeviceReport(get('reports/devices?format=csv&state=due'), context());

    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="devices.csv"',
    });
    expect(response.body).not.toBeInstanceOf(Uint8Array);
    const lines = (await bodyText(response)).split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^contoso-hub,'=cmd,due,/);
  });

  it('serves the device list as JSON Lines and as a JSON array', async () => {
    const jsonl = await getDeviceReport(get('reports/devices?format=jsonl'), context());
    const json = await getDeviceReport(get('reports/devices'), context());

    expect((jsonl.headers as Record<string, string>)['content-type']).toBe(
      'application/x-ndjson; charset=utf-8',
    );
    const rows = (await bodyText(jsonl))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r: { deviceId: string }) => r.deviceId)).toEqual(['=cmd', 'meter-1']);
    expect(JSON.parse(await bodyText(json))).toEqual(rows);
  });

  it.each([
    ['reports/devices?format=xml', /^format must be one of json, jsonl, csv/],
    ['reports/devices?state=asleep', /^state must be one of/],
    ['reports/devices?expiringBefore=next-week', /^expiringBefore must be a UTC date/],
    ['reports/devices?finding=nothing', /^finding must be an audit check or a finding code/],
  ])('answers 400 with a JSON error for %s', async (path, problem) => {
    const response = await getDeviceReport(get(path), context());

    expect(response.status).toBe(400);
    expect(errorOf(response)).toMatch(problem);
  });

  it("GET /api/devices/{deviceId}/history answers the device's history, 404 for an unknown one, 400 for a bad date", async () => {
    const found = await getDeviceHistory(
      get('devices/meter-1/history', { deviceId: 'meter-1' }),
      context(),
    );
    const missing = await getDeviceHistory(
      get('devices/nobody/history', { deviceId: 'nobody' }),
      context(),
    );
    const badDate = await getDeviceHistory(
      get('devices/meter-1/history?from=2026-13-01', { deviceId: 'meter-1' }),
      context(),
    );

    expect(found.status).toBe(200);
    expect(found.jsonBody).toMatchObject({ hub: 'contoso-hub', deviceId: 'meter-1' });
    expect(missing.status).toBe(404);
    expect(badDate.status).toBe(400);
    expect(errorOf(badDate)).toBe('from must be a UTC date (YYYY-MM-DD)');
  });

  it('GET /api/audit/records streams JSON Lines of the range, and answers 400 without one', async () => {
    await audit.append(
      [
        {
          id: 'a1',
          type: 'renewal.due',
          hub: 'contoso-hub',
          deviceId: 'meter-1',
          occurredAt: '2026-11-22T10:00:00.000Z',
          recordedAt: '2026-11-22T10:00:00.000Z',
        },
      ],
      { mayAlreadyBeWritten: false },
    );

    const response = await getAuditRecords(
      get('audit/records?from=2026-11-22&to=2026-11-23&device=meter-1&type=renewal.due'),
      context(),
    );
    const missing = await getAuditRecords(get('audit/records?to=2026-11-23'), context());

    expect(response.status).toBe(200);
    expect((response.headers as Record<string, string>)['content-type']).toBe(
      'application/x-ndjson; charset=utf-8',
    );
    expect(
      (await bodyText(response))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['a1']);
    expect(missing.status).toBe(400);
    expect(errorOf(missing)).toMatch(/^from and to are required/);
  });
});

describe('the local host serving the reports', () => {
  let host: LocalHost;
  let base: string;

  beforeEach(async () => {
    host = new LocalHost(reportRoutes);
    base = await host.listen(0);
  });
  afterEach(() => host.close());

  it('streams the CSV body to the client with its headers', async () => {
    const response = await fetch(`${base}/api/reports/devices?format=csv`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="devices.csv"');
    expect(
      (await response.text())
        .split('\r\n')
        .slice(1, 3)
        .map((l) => l.split(',')[1]),
    ).toEqual(["'=cmd", 'meter-1']);
  });

  it('cuts the connection when the ledger fails part way, so no answer looks complete', async () => {
    ledger.list = async function* () {
      yield aDevice('meter-1');
      throw new Error('storage went away');
    };

    // Headers may have gone out or not (the first chunk had not): either way, no whole body.
    const outcome = await fetch(`${base}/api/reports/devices?format=json`)
      .then((response) => response.text())
      .then(
        () => 'complete',
        () => 'cut',
      );

    expect(outcome).toBe('cut');
  });
});
