import { mapWithConcurrency } from '../../shared/app/concurrency';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { DEFAULT_RENEWAL_POLICY, renewalDueAt } from '../../shared/domain/RenewalPolicy';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { Services, buildServices, useServices } from '../../shared/services';
import { systemTimeIs } from '../support/systemTime';
import { certfleet } from '../support/runCli';
import { StandInFleet } from '../support/standInFleet';
import { testEnvironment } from '../support/testStorage';

/**
 * `certfleet sweep` and `certfleet forecast`, in-process, against Azurite, with renewal
 * requests going to a stand-in IoT Hub (CERTFLEET_IOTHUB_ENDPOINT).
 */
const HUB = 'contoso-hub';
const REPORTED_AT = '2026-11-01T00:05:00.000Z';
const FROM = '2026-11-01T00:00:00.000Z';
const UNTIL = '2026-12-01T00:00:00.000Z';
const HOUR = 3_600_000;
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

let fleet: StandInFleet;
let seeded: Services;
const saved = { ...process.env };

beforeAll(async () => {
  fleet = await new StandInFleet(new ManualClock(REPORTED_AT)).start();
});
afterAll(() => fleet.stop());

/** The CLI's settings (process.env) and services of the test's own on the same storage. */
function givenSettings(extra: Record<string, string> = {}): void {
  useServices(undefined);
  fleet.calls.length = 0;
  const env = testEnvironment({ CERTFLEET_IOTHUB_ENDPOINT: fleet.url, ...extra });
  Object.assign(process.env, env);
  seeded = buildServices(loadSettings(env), new ManualClock(REPORTED_AT));
}

afterEach(() => {
  useServices(undefined);
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** A 30-day certificate from 1 November (due 26 November 12:00 at 85%), shifted by `shiftMs`. */
function reportOf(deviceId: string, shiftMs = 0) {
  return twinUpdated({ hub: HUB, deviceId, at: REPORTED_AT }, 2, {
    certificate: { validFrom: plus(FROM, shiftMs), validUntil: plus(UNTIL, shiftMs) },
  });
}

/** Every record with its ETag (a rewrite changes it) and the renewal index. */
async function ledgerAsStored(): Promise<unknown[]> {
  const records: unknown[] = [];
  for await (const record of seeded.ledger.list()) records.push(await seeded.ledger.read(record));
  const index: unknown[] = [];
  for await (const entry of seeded.ledger.actionsDueBefore('2027-01-01T00:00:00.000Z'))
    index.push(entry);
  return [records, index];
}

describe('certfleet sweep', () => {
  it('with --dry-run prints the devices it would ask at --now and changes nothing', async () => {
    givenSettings();
    await seeded.ingest.apply([
      reportOf('meter-0001'),
      reportOf('meter-0002', -HOUR), // due an hour earlier
      reportOf('meter-0003', 24 * HOUR), // due the next day, beyond the planning horizon
    ]);
    const before = await ledgerAsStored();

    const run = await certfleet('sweep', '--dry-run', '--now', '2026-11-26T12:00:00Z');

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'renewal sweep at 2026-11-26T12:00:00.000Z: 2 pending in the horizon, 0 requested, 0 deadlines passed, 0 expired',
    );
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(
        /^ {2}would ask contoso-hub\/meter-0001 at 2026-11-26T12:00:\d\d\.\d{3}Z \(due; expires 2026-12-01T00:00:00\.000Z\)$/,
      ),
      expect.stringMatching(
        /^ {2}would ask contoso-hub\/meter-0002 at 2026-11-26T12:00:\d\d\.\d{3}Z \(due; expires 2026-11-30T23:00:00\.000Z\)$/,
      ),
    ]);
    expect(fleet.calls).toEqual([]);
    expect(await ledgerAsStored()).toEqual(before);
    const audit: unknown[] = [];
    for await (const entry of seeded.audit.readDate('2026-11-26')) audit.push(entry);
    expect(audit).toEqual([]);
  });

  it('with --dry-run before anything is due names nobody', async () => {
    givenSettings();
    await seeded.ingest.apply([reportOf('meter-0001')]);

    const run = await certfleet('sweep', '--dry-run', '--now', '2026-11-26T11:59:00+00:00');

    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'renewal sweep at 2026-11-26T11:59:00.000Z: 1 pending in the horizon, 0 requested, 0 deadlines passed, 0 expired\n',
    );
    expect(fleet.calls).toEqual([]);
  });

  describe('with --dry-run and more devices to ask than it lists', () => {
    const NOW = '2026-11-26T12:00:00Z';
    const sixty = Array.from({ length: 60 }, (_, i) => `meter-${String(i + 1).padStart(4, '0')}`);

    beforeEach(async () => {
      givenSettings();
      await seeded.ingest.apply(sixty.map((id) => reportOf(id)));
    });

    it('lists the first 50 and says how to see the rest', async () => {
      const run = await certfleet('sweep', '--dry-run', '--now', NOW);

      const lines = run.stdout.trim().split('\n');
      expect(lines).toHaveLength(1 + 50 + 1);
      expect(lines[51]).toBe('  … and 10 more (--all lists them, --json prints the plan as JSON)');
    });

    it('lists every one with --all', async () => {
      const run = await certfleet('sweep', '--dry-run', '--all', '--now', NOW);

      expect(run.code).toBe(0);
      const asked = run.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => /^ {2}would ask contoso-hub\/(\S+) at /.exec(line)?.[1]);
      expect(asked.sort()).toEqual(sixty);
    });

    it('prints the whole report as JSON with --json, every device planned in it', async () => {
      const run = await certfleet('sweep', '--dry-run', '--json', '--now', NOW);

      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as {
        at: string;
        dryRun: boolean;
        pending: number;
        planned: { hub: string; deviceId: string; startAt: string; reason: string }[];
      };
      expect(report).toMatchObject({ at: '2026-11-26T12:00:00.000Z', dryRun: true, pending: 60 });
      expect(report.planned.map((p) => p.deviceId).sort()).toEqual(sixty);
      expect(report.planned[0]).toEqual({
        hub: 'contoso-hub',
        deviceId: expect.any(String),
        startAt: expect.stringMatching(/^2026-11-26T12:00:\d\d\.\d{3}Z$/),
        validUntil: UNTIL,
        reason: 'due',
      });
      expect(fleet.calls).toEqual([]);
    });
  });

  it('prints what a sweep did as JSON with --json', async () => {
    givenSettings();
    await seeded.ingest.apply([reportOf('meter-0001')]);

    const run = await certfleet('sweep', '--json', '--now', '2026-11-26T11:00:00Z');

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      at: '2026-11-26T11:00:00.000Z',
      dryRun: false,
      pending: 1,
      requested: 0,
      planned: [],
    });
  });

  it('with --now plans on virtual time but spaces its calls to the hub on the wall clock', async () => {
    // The stand-in hub notes when each call really arrives (a monotonic clock, not the test's).
    const arrivals: number[] = [];
    const hub = await new StandInFleet(new ManualClock(REPORTED_AT), () =>
      arrivals.push(performance.now()),
    ).start();
    try {
      // Five calls a second: 200 ms apart. All five are due, and all start at --now: their
      // jittered starts in the minute (from the device id) are before 12:00:58.
      givenSettings({ CERTFLEET_IOTHUB_ENDPOINT: hub.url, CERTFLEET_METHOD_CALLS_PER_SECOND: '5' });
      const devices = ['meter-0001', 'meter-0003', 'meter-0004', 'meter-0005', 'meter-0006'];
      await seeded.ingest.apply(devices.map((id) => reportOf(id)));

      const run = await certfleet('sweep', '--now', '2026-11-26T12:00:58Z');

      expect(run.code).toBe(0);
      expect(run.stdout).toBe(
        'renewal sweep at 2026-11-26T12:00:58.000Z: 5 pending in the horizon, 5 requested (5 accepted), 0 deadlines passed, 0 expired\n',
      );
      expect(hub.calls.map((c) => c.deviceId).sort()).toEqual(devices);
      const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
      // A burst arrives a few ms apart; paced calls 200 ms apart, give or take the network (the
      // first call also opens the connection), so the bounds leave room for a busy machine.
      expect(gaps.map((gap) => gap >= 100)).toEqual([true, true, true, true]);
      expect(arrivals[4]! - arrivals[0]!).toBeGreaterThanOrEqual(650);
    } finally {
      await hub.stop();
    }
  });

  it.each([
    ['without a zone', '2026-11-26T12:00:00'],
    ['without a time', '2026-11-26'],
    ['for a day the month does not have', '2026-02-30T12:00:00Z'],
    ['for something else', 'now'],
  ])('exits 2 for a --now %s, touching nothing', async (_, now) => {
    givenSettings();
    const run = await certfleet('sweep', '--dry-run', '--now', now);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`certfleet: --now must be an ISO 8601 time with a zone, got ${now}\n`);
  });
});

describe('certfleet forecast', () => {
  /** As ingest leaves a device that reported a 30-day certificate (the forecast reads the index). */
  function recordOf(deviceId: string, shiftMs = 0): DeviceRecord {
    const validity = { validFrom: plus(FROM, shiftMs), validUntil: plus(UNTIL, shiftMs) };
    return {
      ...newDeviceRecord(HUB, deviceId, REPORTED_AT),
      reportedVersion: 2,
      lastSeenAt: REPORTED_AT,
      reported: validity,
      current: { source: 'reported', ...validity, firstSeenAt: REPORTED_AT, reportedVersion: 2 },
      renewalDueAt: renewalDueAt(validity, DEFAULT_RENEWAL_POLICY),
    };
  }

  afterEach(() => jest.useRealTimers());

  it('names the day a cohort falls due beyond what the rate can renew in a day', async () => {
    // One renewal a minute is 1,440 a day: a cohort of 1,441 due on 26 November is over it.
    givenSettings({ CERTFLEET_RENEWALS_PER_MINUTE: '1' });
    const cohort = Array.from({ length: 1441 }, (_, i) => recordOf(`cohort-${i}`));
    const stragglers = [recordOf('late-1', 2 * 24 * HOUR), recordOf('late-2', 2 * 24 * HOUR)];
    await mapWithConcurrency([...cohort, ...stragglers], 64, (r) =>
      seeded.ledger.write(r, undefined),
    );
    systemTimeIs('2026-11-23T08:00:00.000Z');

    const run = await certfleet('forecast', '--days', '10');

    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe('date        renewals due  expiring  capacity');
    expect(lines.find((l) => l.startsWith('2026-11-26'))).toBe(
      '2026-11-26          1441         0      1440  OVER CAPACITY',
    );
    expect(lines.find((l) => l.startsWith('2026-11-28'))).toBe(
      '2026-11-28             2         0      1440',
    );
    expect(lines.find((l) => l.startsWith('2026-12-01'))).toBe(
      '2026-12-01             0      1441      1440',
    );
    expect(lines[11]).toBe('over capacity: 2026-11-26');
  });

  it('says no day is over capacity when the rate keeps up', async () => {
    givenSettings();
    await seeded.ingest.apply([reportOf('meter-0001')]);
    systemTimeIs('2026-11-23T08:00:00.000Z');

    const run = await certfleet('forecast', '--days', '5');

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('2026-11-26             1         0    576000\n');
    expect(run.stdout.trim().split('\n').pop()).toBe('no day over capacity');
  });

  it.each([['0'], ['367'], ['1.5'], ['many']])('exits 2 for --days %s', async (days) => {
    givenSettings();
    const run = await certfleet('forecast', '--days', days);

    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('certfleet: --days must be a whole number from 1 to 366\n');
  });
});
