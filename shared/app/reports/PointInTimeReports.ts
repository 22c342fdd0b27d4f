import { createHash } from 'node:crypto';
import { AuditEntry, ReportFileDigest, auditEntryId } from '../../domain/AuditEntry';
import { Clock, DAY_MS, isoUtc } from '../../domain/Clock';
import { FleetSummary } from '../../domain/reports/FleetSummary';
import { AuditTrail, ReportArchive } from '../ports';
import { FleetAuditReport } from '../audit/RunFleetAudit';

/**
 * Use case: the fleet as it stood on a past day. Just after midnight UTC the `dailyReport`
 * timer writes the day that ended to `reports/YYYY-MM-DD/`: the summary (`summary.json`), every
 * device (`devices.csv`, streamed) and the fleet audit checks' findings (`findings.json`). Then
 * it appends a `report.written` audit record with each file's length and SHA-256, dated the last
 * instant of that day, so the signed checkpoints that seal the trail vouch for the files too:
 * `certfleet report ... --as-of DATE` reads them back and checks them against it, and
 * verification of that date finds a file altered or removed.
 */
export const REPORT_FILES = {
  summary: { name: 'summary.json', contentType: 'application/json' },
  devices: { name: 'devices.csv', contentType: 'text/csv; charset=utf-8' },
  findings: { name: 'findings.json', contentType: 'application/json' },
} as const;

export type ReportFile = keyof typeof REPORT_FILES;

/** What a day's report is made of: the fleet now, read by the reports use case. */
export interface DailyReportSources {
  summary(): Promise<FleetSummary>;
  /** Every device as CSV text, header first, streamed. */
  devicesCsv(): AsyncIterable<string>;
  findings(): Promise<FleetAuditReport>;
}

export interface DailyReportResult {
  date: string;
  at: string;
  files: (ReportFileDigest & { existed: boolean })[];
  /** Whether this run appended the report.written record (false: an earlier run had). */
  recorded: boolean;
}

export type ArchivedReport =
  | { found: false; date: string }
  | {
      found: true;
      date: string;
      /** The file's bytes, streamed; the digest check runs as they are read (`check`). */
      content: AsyncIterable<Buffer>;
      /** After `content` is read through: whether it is the file the audit trail recorded. */
      check(): ArchivedReportCheck;
    };

export type ArchivedReportCheck = { ok: true; recordedAt: string } | { ok: false; problem: string };

export class PointInTimeReports {
  constructor(
    private readonly deps: {
      archive: ReportArchive;
      audit: AuditTrail;
      clock: Clock;
      sources: DailyReportSources;
    },
  ) {}

  /** The timer's run: the day that ended at the last midnight. */
  async writeScheduled(): Promise<DailyReportResult> {
    const now = this.deps.clock.now().getTime();
    return this.write(isoUtc(now - DAY_MS).slice(0, 10));
  }

  /** Writes the report of `date` (the fleet as it is now stands for the end of that day). */
  async write(date: string): Promise<DailyReportResult> {
    const { archive, sources } = this.deps;
    const at = isoUtc(this.deps.clock.now());
    const json = (value: unknown) => once(`${JSON.stringify(value, null, 2)}\n`);
    const files = [
      await archive.write(
        date,
        REPORT_FILES.summary.name,
        lazy(async () => json({ date, ...(await sources.summary()) })),
        REPORT_FILES.summary.contentType,
      ),
      await archive.write(
        date,
        REPORT_FILES.devices.name,
        sources.devicesCsv(),
        REPORT_FILES.devices.contentType,
      ),
      await archive.write(
        date,
        REPORT_FILES.findings.name,
        lazy(async () => json({ date, ...(await sources.findings()) })),
        REPORT_FILES.findings.contentType,
      ),
    ];
    const entry: AuditEntry = {
      id: auditEntryId(['report.written', date]),
      type: 'report.written',
      hub: '',
      deviceId: '',
      occurredAt: `${date}T23:59:59.999Z`,
      recordedAt: at,
      report: {
        date,
        files: files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
      },
    };
    // Written once whatever happens: a rerun after a crash finds the files and this record.
    const recorded = (await this.deps.audit.append([entry], { mayAlreadyBeWritten: true })) > 0;
    return { date, at, files, recorded };
  }

  /** The days with a report, ascending. */
  async dates(): Promise<string[]> {
    return this.deps.archive.dates();
  }

  /** One file of a day's report, checked against the audit trail's record of it as it is read. */
  async read(date: string, file: ReportFile): Promise<ArchivedReport> {
    const name = REPORT_FILES[file].name;
    const stream = await this.deps.archive.read(date, name);
    if (!stream) return { found: false, date };
    const recorded = await this.recordOf(date);
    const digest = recorded?.report?.files.find((f) => f.name === name);
    const hash = createHash('sha256');
    let bytes = 0;
    let finished = false;
    async function* content(): AsyncIterable<Buffer> {
      for await (const chunk of stream ?? []) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
      finished = true;
    }
    return {
      found: true,
      date,
      content: content(),
      check: () => {
        if (!finished) return { ok: false, problem: 'the file was not read to its end' };
        if (!recorded || !digest)
          return {
            ok: false,
            problem: `the audit trail of ${date} holds no report.written record of ${name}`,
          };
        const sha256 = hash.digest('hex');
        if (bytes !== digest.bytes || sha256 !== digest.sha256)
          return {
            ok: false,
            problem: `reports/${date}/${name} is not the file the audit trail recorded (${digest.bytes} bytes, SHA-256 ${digest.sha256}): altered`,
          };
        return { ok: true, recordedAt: recorded.recordedAt };
      },
    };
  }

  private async recordOf(date: string): Promise<AuditEntry | undefined> {
    const id = auditEntryId(['report.written', date]);
    for await (const entry of this.deps.audit.readDate(date)) {
      if (entry.id === id && entry.type === 'report.written') return entry;
    }
    return undefined;
  }
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** Content made only when the archive starts reading it (a file that exists is not rebuilt). */
async function* lazy(make: () => Promise<AsyncIterable<string>>): AsyncIterable<string> {
  yield* await make();
}
