import { createHash, randomBytes } from 'node:crypto';
import { AuditEntry, ReportFileDigest, auditEntryId, reportOf } from '../../domain/AuditEntry';
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

/**
 * A run's name for a file: `summary.json` -> `summary-<run>.json`. Each run writes files of its
 * own, named by a random run id, and the report.written record names them: a file someone put in
 * the day's folder beforehand is never taken for the report.
 */
export function runFileName(name: string, run: string): string {
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}-${run}${name.slice(dot)}`;
}

/** Which report file a recorded name is (`devices-<run>.csv` is `devices`). */
function isFileOf(recorded: string, file: ReportFile): boolean {
  const name = REPORT_FILES[file].name;
  const dot = name.lastIndexOf('.');
  return recorded.startsWith(`${name.slice(0, dot)}-`) && recorded.endsWith(name.slice(dot));
}

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
  /** `missing`: the record names a file that is gone. */
  | { found: false; date: string; missing?: string }
  | {
      found: true;
      date: string;
      /** The file's bytes, streamed; the digest check runs as they are read (`check`). */
      content: AsyncIterable<Buffer>;
      /** The version read: read again with `ifMatch` to get these very bytes. */
      etag?: string;
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
      /** Names a run's files (default: 12 random hex digits). */
      runId?: () => string;
    },
  ) {}

  /** The timer's run: the day that ended at the last midnight. */
  async writeScheduled(): Promise<DailyReportResult> {
    const now = this.deps.clock.now().getTime();
    return this.write(isoUtc(now - DAY_MS).slice(0, 10));
  }

  /**
   * Writes the report of `date` (the fleet as it is now stands for the end of that day), unless
   * the audit trail records one already: a rerun after a crash before the record writes new
   * files, and the earlier ones, which no record names, count for nothing.
   */
  async write(date: string): Promise<DailyReportResult> {
    const { archive, sources } = this.deps;
    const at = isoUtc(this.deps.clock.now());
    const existing = await this.recordOf(date);
    if (existing?.report) {
      return {
        date,
        at,
        files: existing.report.files.map((f) => ({ ...f, existed: true })),
        recorded: false,
      };
    }
    const run = this.deps.runId?.() ?? randomBytes(6).toString('hex');
    const json = (value: unknown) => once(`${JSON.stringify(value, null, 2)}\n`);
    const write = (file: ReportFile, content: AsyncIterable<string>) =>
      archive.write(
        date,
        runFileName(REPORT_FILES[file].name, run),
        content,
        REPORT_FILES[file].contentType,
      );
    const files = [
      await write(
        'summary',
        lazy(async () => json({ date, ...(await sources.summary()) })),
      ),
      await write('devices', sources.devicesCsv()),
      await write(
        'findings',
        lazy(async () => json({ date, ...(await sources.findings()) })),
      ),
    ];
    // A run's names are its own: one that exists was put there by someone else.
    const planted = files.find((f) => f.existed);
    if (planted)
      throw new Error(
        `reports/${date}/${planted.name} was there before this run wrote it: not recorded as the report`,
      );
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
    // One record a day: two runs racing both write files, and the record names the first's.
    const recorded = (await this.deps.audit.append([entry], { mayAlreadyBeWritten: true })) > 0;
    return { date, at, files, recorded };
  }

  /** The days with a report, ascending. */
  async dates(): Promise<string[]> {
    return this.deps.archive.dates();
  }

  /**
   * One file of a day's report: the one its report.written record names, checked against the
   * record's digest as it is read. Not found when the day has no record to trust or no such file.
   */
  async read(
    date: string,
    file: ReportFile,
    options: { ifMatch?: string } = {},
  ): Promise<ArchivedReport> {
    const recorded = await this.recordOf(date);
    const digest = recorded?.report?.files.find((f) => isFileOf(f.name, file));
    if (!recorded || !digest) return { found: false, date };
    const name = digest.name;
    const stored = await this.deps.archive.read(date, name, options);
    if (!stored) return { found: false, date, missing: `reports/${date}/${name}` };
    const stream = stored.content;
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
      ...(stored.etag ? { etag: stored.etag } : {}),
      content: content(),
      check: () => {
        if (!finished) return { ok: false, problem: 'the file was not read to its end' };
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

  /**
   * The day's report.written record: the one certfleet wrote. Its id is known to anyone, so a
   * second record under it, or one of another shape, means one was forged: then there is none to
   * trust (`certfleet audit verify` of the date says which).
   */
  private async recordOf(date: string): Promise<AuditEntry | undefined> {
    const id = auditEntryId(['report.written', date]);
    const found: AuditEntry[] = [];
    for await (const entry of this.deps.audit.readDate(date)) {
      if (entry.id === id && entry.type === 'report.written') found.push(entry);
    }
    const [only] = found;
    return found.length === 1 && only && reportOf(only)?.date === date ? only : undefined;
  }
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** Content made only when the archive starts reading it (a file that exists is not rebuilt). */
async function* lazy(make: () => Promise<AsyncIterable<string>>): AsyncIterable<string> {
  yield* await make();
}
