import { PointInTimeReports } from '../../../shared/app/reports/PointInTimeReports';
import { FleetAuditReport } from '../../../shared/app/audit/RunFleetAudit';
import { ManualClock } from '../../../shared/domain/Clock';
import { FleetSummary } from '../../../shared/domain/reports/FleetSummary';
import { InMemoryAuditTrail } from '../../support/memoryPorts';
import { InMemoryReportArchive } from '../../support/memoryReportArchive';

const NOW = '2026-11-24T00:15:00.000Z';

function aWorld() {
  const archive = new InMemoryReportArchive();
  const audit = new InMemoryAuditTrail();
  const clock = new ManualClock(NOW);
  const built = { summaries: 0, csvs: 0, findings: 0 };
  let runs = 0;
  const reports = new PointInTimeReports({
    archive,
    audit,
    clock,
    runId: () => `run${(runs += 1)}`,
    sources: {
      summary: async () => {
        built.summaries += 1;
        return { at: clock.now().toISOString(), devices: 2 } as FleetSummary;
      },
      devicesCsv: async function* () {
        built.csvs += 1;
        yield 'deviceId,hub\r\n';
        yield 'meter-1,hub\r\nmeter-2,hub\r\n';
      },
      findings: async () => {
        built.findings += 1;
        return {
          at: NOW,
          devicesChecked: 2,
          counts: {},
          findings: [],
        } as unknown as FleetAuditReport;
      },
    },
  });
  return { archive, audit, clock, built, reports };
}

async function text(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe('the point-in-time reports', () => {
  it('write the day that ended at the last midnight, and audit each file’s digest on that day', async () => {
    const { archive, audit, reports } = aWorld();

    const result = await reports.writeScheduled();

    expect(result.date).toBe('2026-11-23');
    expect(await archive.dates()).toEqual(['2026-11-23']);
    expect(result.files.map((f) => f.name)).toEqual([
      'summary-run1.json',
      'devices-run1.csv',
      'findings-run1.json',
    ]);
    const [record] = audit.all();
    expect(record).toMatchObject({
      type: 'report.written',
      occurredAt: '2026-11-23T23:59:59.999Z',
      recordedAt: NOW,
      report: { date: '2026-11-23', files: result.files.map(({ existed: _e, ...f }) => f) },
    });
    expect(audit.all()).toHaveLength(1);
  });

  it('never rewrite a day: a second run builds nothing and records nothing again', async () => {
    const { audit, built, reports } = aWorld();

    const first = await reports.write('2026-11-23');
    const second = await reports.write('2026-11-23');

    expect(built).toEqual({ summaries: 1, csvs: 1, findings: 1 });
    expect(second.files.every((f) => f.existed)).toBe(true);
    expect(second.files.map((f) => f.sha256)).toEqual(first.files.map((f) => f.sha256));
    expect([first.recorded, second.recorded]).toEqual([true, false]);
    expect(audit.all()).toHaveLength(1);
  });

  it('read a day’s file back, checked against the audit trail as it streams', async () => {
    const { reports } = aWorld();
    await reports.write('2026-11-23');

    const read = await reports.read('2026-11-23', 'devices');
    if (!read.found) throw new Error('not found');
    const body = await text(read.content);

    expect(body).toBe('deviceId,hub\r\nmeter-1,hub\r\nmeter-2,hub\r\n');
    expect(read.check()).toEqual({ ok: true, recordedAt: NOW });
  });

  it('say a file that is not the one recorded is altered, and a day with no report is not found', async () => {
    const { archive, reports } = aWorld();
    await reports.write('2026-11-23');
    archive.files.set(
      '2026-11-23/devices-run1.csv',
      Buffer.from('deviceId,hub\r\nmeter-1,hub\r\n'),
    );

    const read = await reports.read('2026-11-23', 'devices');
    if (!read.found) throw new Error('not found');
    await text(read.content);

    expect(read.check()).toEqual({
      ok: false,
      problem: expect.stringMatching(
        /^reports\/2026-11-23\/devices-run1\.csv is not the file the audit trail recorded .*: altered$/,
      ),
    });
    expect(await reports.read('2026-11-20', 'summary')).toEqual({
      found: false,
      date: '2026-11-20',
    });
  });

  it('never take a file put in the day’s folder beforehand for the report, and check nothing before the end', async () => {
    const { archive, audit, reports } = aWorld();
    const forged = (async function* () {
      yield '{"devices":0}';
    })();
    await archive.write('2026-11-22', 'summary.json', forged);

    const before = await reports.read('2026-11-22', 'summary');
    await reports.write('2026-11-22');
    const read = await reports.read('2026-11-22', 'summary');
    if (!read.found) throw new Error('not found');
    const early = read.check();
    const body = await text(read.content);

    expect(before).toEqual({ found: false, date: '2026-11-22' });
    expect(early).toEqual({ ok: false, problem: 'the file was not read to its end' });
    expect(JSON.parse(body)).toMatchObject({ date: '2026-11-22', devices: 2 });
    expect(read.check()).toMatchObject({ ok: true });
    expect(audit.all()).toHaveLength(1);
  });

  it('refuse to record a run whose file someone put there first', async () => {
    const { archive, audit, reports } = aWorld();
    const forged = (async function* () {
      yield '{"devices":0}';
    })();
    await archive.write('2026-11-22', 'summary-run1.json', forged);

    await expect(reports.write('2026-11-22')).rejects.toThrow(
      'reports/2026-11-22/summary-run1.json was there before this run wrote it: not recorded as the report',
    );
    expect(audit.all()).toEqual([]);
  });
});
