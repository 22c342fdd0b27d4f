import { HttpRequest, InvocationContext, Timer } from '@azure/functions';
import { getAuditChecks, runDailyAuditChecks } from '../../functions/auditChecks';
import { FleetAuditReport } from '../../shared/app/audit/RunFleetAudit';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { buildServices, useServices } from '../../shared/services';
import { testEnvironment } from '../support/testStorage';

/** The fleet audit checks as the Functions host calls them, over services on Azurite. */
const NOW = '2026-11-28T09:30:00.000Z';
const at = '2026-11-28T09:00:00.000Z';

async function givenDevices(
  certificates: { validFrom: string; validUntil: string }[],
  env = testEnvironment(),
  version = 2,
) {
  const services = buildServices(loadSettings(env), {
    clock: new ManualClock(NOW),
  });
  useServices(services);
  await services.ingest.apply(
    certificates.map((certificate, i) =>
      twinUpdated({ hub: 'plant-a', deviceId: `pump-${i}`, at }, version, { certificate }),
    ),
  );
  return services;
}

afterEach(() => useServices(undefined));

function aContext(lines: { level: string; text: string }[]) {
  return new InvocationContext({
    functionName: 'fleetAuditChecks',
    invocationId: 'test',
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
}

describe('the fleet audit checks in the Function app', () => {
  it('GET /api/audit/checks answers the report', async () => {
    await givenDevices([
      { validFrom: '2026-10-01T00:00:00Z', validUntil: '2026-11-01T00:00:00Z' },
      { validFrom: '2026-11-01T00:00:00Z', validUntil: '2027-11-01T00:00:00Z' },
    ]);

    const response = await getAuditChecks(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/audit/checks' }),
      aContext([]),
    );

    expect(response.status).toBe(200);
    const report = response.jsonBody as FleetAuditReport;
    expect(report.devicesChecked).toBe(2);
    expect(report.findings.map((f) => [f.check, f.severity, f.devices])).toEqual([
      ['device-certificate-expiring', 'critical', ['plant-a/pump-0']],
    ]);
  });

  it('logs one CERTFLEET_AUDIT_FINDINGS error line a day when something is found, none otherwise', async () => {
    const timer = { isPastDue: false } as unknown as Timer;
    await givenDevices([{ validFrom: '2026-10-01T00:00:00Z', validUntil: '2026-11-01T00:00:00Z' }]);
    const found: { level: string; text: string }[] = [];
    await runDailyAuditChecks(timer, aContext(found));

    await givenDevices([{ validFrom: '2026-11-01T00:00:00Z', validUntil: '2027-11-01T00:00:00Z' }]);
    const clean: { level: string; text: string }[] = [];
    await runDailyAuditChecks(timer, aContext(clean));

    expect(found).toHaveLength(1);
    expect(found[0]!.level).toBe('error');
    expect(found[0]!.text).toMatch(
      /^CERTFLEET_AUDIT_FINDINGS \{"at":"2026-11-28T09:30:00.000Z","devicesChecked":1,"findings":1,"counts":\{"device-certificate-expiring":1,/,
    );
    expect(clean.map((l) => l.level)).toEqual(['information']);
  });

  it('raises a fleet alert for a finding with no rule of its own daily, and resolves it once gone; on demand it alerts nothing', async () => {
    const timer = { isPastDue: false } as unknown as Timer;
    const env = testEnvironment();
    // Valid for two years: beyond the 398 days the policy allows.
    const long = { validFrom: '2026-06-01T00:00:00Z', validUntil: '2028-06-01T00:00:00Z' };
    const services = await givenDevices([long, long, long], env);
    const open = async () => {
      const states = [];
      for await (const state of services.alertStore.listOpen()) states.push(state);
      return states.filter((a) => a.rule === 'validity-too-long');
    };

    await getAuditChecks(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/audit/checks' }),
      aContext([]),
    );
    const afterOnDemand = await open();
    await runDailyAuditChecks(timer, aContext([]));
    const afterDaily = await open();
    await givenDevices(
      [0, 1, 2].map(() => ({
        validFrom: '2026-11-01T00:00:00Z',
        validUntil: '2027-11-01T00:00:00Z',
      })),
      env,
      3,
    );
    await runDailyAuditChecks(timer, aContext([]));

    expect(afterOnDemand).toEqual([]);
    expect(afterDaily).toEqual([
      expect.objectContaining({
        rule: 'validity-too-long',
        scope: 'fleet',
        severity: 'warning',
        count: 3,
        sample: ['plant-a/pump-0', 'plant-a/pump-1', 'plant-a/pump-2'],
      }),
    ]);
    expect(await open()).toEqual([]);
  });
});
