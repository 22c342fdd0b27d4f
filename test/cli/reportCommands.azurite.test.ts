import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { ManualClock } from '../../shared/domain/Clock';
import { DeviceHistory } from '../../shared/domain/reports/DeviceHistory';
import { FleetSummary } from '../../shared/domain/reports/FleetSummary';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, buildServices, useServices } from '../../shared/services';
import { describeSummary } from '../../shared/cli/reportCommands';
import { FleetSummaryBuilder } from '../../shared/domain/reports/FleetSummaryBuilder';
import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../shared/domain/audit/FleetAuditChecks';
import { newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { certfleet } from '../support/runCli';
import { containerClient } from '../support/rawStorage';
import { systemTimeIs } from '../support/systemTime';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet report summary|devices|trail` and `certfleet history`, in-process, against
 * Azurite, on a small fleet ingested through the real path: pump-1 renewed after alice asked,
 * `=cmd+1` (an id a spreadsheet would run) expiring soon, pump-3 healthy for a year.
 */
const NOW = '2026-11-23T12:00:00.000Z';
const saved = { ...process.env };
let seeded: Services;
let clock: ManualClock;

const HUB = 'contoso-hub';

async function report(deviceId: string, at: string, certificate: Record<string, unknown>, v = 2) {
  clock.set(at);
  await seeded.ingest.apply([twinUpdated({ hub: HUB, deviceId, at }, v, { certificate })]);
}

beforeAll(async () => {
  useServices(undefined);
  const env = testEnvironment();
  Object.assign(process.env, env);
  clock = new ManualClock('2026-11-01T06:00:00.000Z');
  seeded = buildServices(loadSettings(env), clock);
  await report('pump-1', '2026-11-01T06:00:00.000Z', {
    validFrom: '2026-11-01T00:00:00Z',
    validUntil: '2026-12-01T00:00:00Z',
  });
  await report('=cmd+1', '2026-11-01T07:00:00.000Z', {
    validFrom: '2026-10-26T00:00:00Z',
    validUntil: '2026-11-25T00:00:00Z',
    issuer: '@SUM(1+1), O=Evil',
  });
  await report('pump-3', '2026-11-01T08:00:00.000Z', {
    validFrom: '2026-11-01T00:00:00Z',
    validUntil: '2027-11-01T00:00:00Z',
  });
  clock.set('2026-11-20T10:00:00.000Z');
  const asked = await seeded.renewals.renewOnRequest(
    { hub: HUB, deviceId: 'pump-1' },
    { who: 'function key holder (claimed: alice)', why: 'rotation drill' },
  );
  expect(asked).toMatchObject({ status: 'queued' });
  await report(
    'pump-1',
    '2026-11-21T09:00:00.000Z',
    { validFrom: '2026-11-21T00:00:00Z', validUntil: '2026-12-21T00:00:00Z' },
    3,
  );
});

beforeEach(() => systemTimeIs(NOW));

afterEach(() => {
  jest.useRealTimers();
  useServices(undefined);
});

afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('certfleet report and certfleet history', () => {
  it('summarises the fleet as JSON and as text', async () => {
    const json = await certfleet('report', 'summary', '--json');
    const text = await certfleet('report', 'summary');

    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as FleetSummary;
    expect(summary.at).toBe(NOW);
    expect(summary.devices).toBe(3);
    expect(summary.byIssuer).toEqual({ '@SUM(1+1), O=Evil': 1, unknown: 2 });
    expect(summary.renewalOutcomes.find((d) => d.date === '2026-11-21')).toEqual({
      date: '2026-11-21',
      renewed: 1,
      failed: 0,
      expired: 0,
    });
    expect(summary.expiryHistogram.find((d) => d.date === '2026-11-25')?.devices).toBe(1);
    expect(summary.findings['device-certificate-expiring']).toBe(2);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^fleet summary at 2026-11-23T12:00:00.000Z: 3 devices, 0 with an expired certificate\n/,
    );
    expect(text.stdout).toContain('renewal outcomes, last 30 days: renewed 1, failed 0, expired 0');
  });

  it('streams the devices expiring before a date as CSV a spreadsheet cannot run', async () => {
    const run = await certfleet(
      'report',
      'devices',
      '--format',
      'csv',
      '--expiring-before',
      '2026-12-01',
    );

    expect(run.code).toBe(0);
    const lines = run.stdout.split('\r\n');
    expect(lines[0]).toMatch(/^hub,deviceId,state,cohort,/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^contoso-hub,'=cmd\+1,healthy,,/), '']);
    expect(lines[1]).toContain(`"'@SUM(1+1), O=Evil"`);
  });

  it('refuses a filter value that means nothing with exit code 2', async () => {
    const state = await certfleet('report', 'devices', '--state', 'asleep');
    const date = await certfleet('report', 'devices', '--expiring-before', '2026-13-01');

    expect(state.code).toBe(2);
    expect(state.stderr).toMatch(/^certfleet: --state must be one of healthy, due, /);
    expect(date.code).toBe(2);
    expect(date.stderr).toMatch(/^certfleet: --expiring-before must be a UTC date/);
    expect(state.stdout + date.stdout).toBe('');
  });

  it("tells a device's history: both certificates and the campaign alice asked for", async () => {
    const json = await certfleet('history', 'pump-1', '--json');
    const text = await certfleet('history', 'pump-1');

    expect(json.code).toBe(0);
    const history = JSON.parse(json.stdout) as DeviceHistory;
    expect(history.certificates.map((c) => [c.validUntil, c.current])).toEqual([
      ['2026-12-01T00:00:00.000Z', false],
      ['2026-12-21T00:00:00.000Z', true],
    ]);
    expect(history.campaigns).toEqual([
      expect.objectContaining({
        trigger: 'manual',
        requestedBy: 'function key holder (claimed: alice)',
        reason: 'rotation drill',
        outcome: 'succeeded',
        endedAt: '2026-11-21T09:00:00.000Z',
      }),
    ]);
    expect(history.trail).toMatchObject({ from: '2026-11-01', to: '2026-11-23', dates: 23 });
    expect(text.stdout).toContain('manual: succeeded at 2026-11-21T09:00:00.000Z, 0 attempts');
    expect(text.stdout).toContain(
      '    asked by function key holder (claimed: alice): rotation drill\n',
    );
  });

  it('prints the audit trail of a range as JSON Lines, for one device and some types', async () => {
    const run = await certfleet(
      'report',
      'trail',
      '--from',
      '2026-11-20',
      '--to',
      '2026-11-21',
      '--device',
      'pump-1',
      '--type',
      'renewal.due',
      'renewal.succeeded',
    );
    const backwards = await certfleet(
      'report',
      'trail',
      '--from',
      '2026-11-22',
      '--to',
      '2026-11-21',
    );

    expect(run.code).toBe(0);
    const entries = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.map((e) => [e.type, e.deviceId, e.renewal?.requestedBy])).toEqual([
      ['renewal.due', 'pump-1', 'function key holder (claimed: alice)'],
      ['renewal.succeeded', 'pump-1', undefined],
    ]);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toBe('certfleet: --to must not be before from\n');
  });

  it('writes the control characters a device put in its issuer as escapes in the text summary', () => {
    const builder = new FleetSummaryBuilder(NOW, {
      settings: DEFAULT_AUDIT_CHECK_SETTINGS,
      cas: [],
    });
    const record = newDeviceRecord(HUB, 'pump-9', NOW);
    record.current = {
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2027-11-01T00:00:00.000Z',
      issuer: 'CN=\u001b[2J\u202eevil',
      firstSeenAt: '2026-11-01T00:00:00.000Z',
      reportedVersion: 2,
    };
    builder.add(record);

    const text = describeSummary(builder.summary());

    expect(text).toContain('by issuer       CN=\\u001b[2J\\u202eevil 1\n');
    expect([...text].filter((c) => c === '\u001b' || c === '\u202e')).toEqual([]);
  });

  it('shows the fleet as it stood at the end of a past day, checked against the audit trail, and refuses an altered file', async () => {
    await seeded.pointInTime.write('2026-11-22');

    const list = await certfleet('report', '--list');
    const summary = await certfleet('report', '--as-of', '2026-11-22');
    const devices = await certfleet('report', '--as-of', '2026-11-22', '--file', 'devices');
    const missing = await certfleet('report', '--as-of', '2026-11-19');
    const nonsense = await certfleet('report', '--as-of', '2026-11-31');

    expect(list).toMatchObject({ code: 0, stdout: '2026-11-22\n' });
    expect(summary.code).toBe(0);
    expect(summary.stdout).toMatch(/^the fleet at the end of 2026-11-22 \(taken /);
    expect(summary.stdout).toMatch(
      /the daily report's summary for 2026-11-22: the file the audit trail recorded at /,
    );
    expect(devices.code).toBe(0);
    expect(devices.stdout).toContain("\r\ncontoso-hub,'=cmd+1,healthy,");
    expect(devices.stderr).toMatch(
      /the daily report's devices for 2026-11-22 is the file the audit trail recorded at /,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no daily report for 2026-11-19');
    expect(nonsense.code).toBe(2);

    const prefix = process.env.CERTFLEET_STORAGE_PREFIX!;
    const forged = '{"date":"2026-11-22","devices":0}\n';
    const container = containerClient(`${prefix}-reports`);
    for await (const item of container.listBlobsFlat({ prefix: 'reports/2026-11-22/summary-' }))
      await container.getBlockBlobClient(item.name).upload(forged, forged.length);
    const altered = await certfleet('report', '--as-of', '2026-11-22');

    expect(altered.code).toBe(1);
    expect(altered.stdout).toBe('');
    expect(altered.stderr).toMatch(
      /summary-[0-9a-f]{12}\.json is not the file the audit trail recorded .*: altered/,
    );
  });
});
