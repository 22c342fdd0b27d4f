import { Clock, DAY_MS, HOUR_MS, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { readChain } from '../../domain/AuditChain';
import { dateOfBlob } from '../../domain/audit/Checkpoint';
import { fileDigest } from '../../domain/reports/fileDigest';
import { reportOf } from '../../domain/AuditEntry';
import {
  BlobVerification,
  TrailProblem,
  datesBetween,
  missingBlob,
  sealsByBlob,
  verifyBlob,
  verifyCheckpointChain,
} from '../../domain/audit/TrailVerification';
import { AuditBlobs, CheckpointKeys, CheckpointStore, ReportArchive } from '../ports';
import { readCheckpointsBack } from './readCheckpoints';
import { tooLarge } from './TakeCheckpoint';

/**
 * Verifies the audit trail of a range of UTC dates against the signed checkpoints
 * (`certfleet audit verify --from --to`, `GET /api/audit/verify`). Reads the checkpoints from
 * the newest back to the last full one taken before the range began (and a day more, for
 * records dated just past midnight), checks their numbers, signatures and links; then reads
 * each audit blob of the range, one at a time, and checks its hash chain and that it holds what
 * every checkpoint sealed: no fewer records, the same ones, and nothing slipped in after a
 * checkpoint dated before it. Changes nothing.
 */
export interface TrailVerificationReport {
  /** True when nothing is wrong: every problem below is evidence of tampering or loss. */
  ok: boolean;
  from: string;
  to: string;
  at: string;
  checkpoints: {
    /** Checkpoints read and checked (a window: the newest back to before the range). */
    read: number;
    valid: number;
    newest?: { seq: number; at: string };
  };
  blobs: number;
  records: number;
  /** Records a checkpoint covers. */
  sealed: number;
  /** Records appended after the newest checkpoint: covered by the next one. */
  pending: { records: number; blobs: { name: string; lines: { from: number; to: number } }[] };
  /** Torn writes the writer found and recorded (audit.chain-broken): not tampering. */
  recordedBreaks: number;
  problems: TrailProblem[];
}

export interface VerifySettings {
  /** How old the newest checkpoint may be before verification says checkpoints stopped. */
  staleAfterMs: number;
  /** How far apart the instances' clocks may be. */
  skewMs: number;
}

export const DEFAULT_VERIFY_SETTINGS: VerifySettings = {
  staleAfterMs: 2 * HOUR_MS + 15 * MINUTE_MS,
  skewMs: 5 * MINUTE_MS,
};

export class VerifyAuditTrail {
  constructor(
    private readonly deps: {
      blobs: AuditBlobs;
      store: CheckpointStore;
      keys: CheckpointKeys;
      clock: Clock;
      settings?: VerifySettings;
      /** The point-in-time reports, checked against their report.written records. */
      reports?: ReportArchive;
    },
  ) {}

  /** The clock's UTC date: the range verified when none is given. */
  today(): string {
    return isoUtc(this.deps.clock.now()).slice(0, 10);
  }

  async run(range: { from: string; to: string }): Promise<TrailVerificationReport> {
    const { blobs, store, keys, clock } = this.deps;
    const settings = this.deps.settings ?? DEFAULT_VERIFY_SETTINGS;
    const at = isoUtc(clock.now());
    const before = Date.parse(`${range.from}T00:00:00Z`) - DAY_MS;
    const window = await readCheckpointsBack(store, keys, (read) =>
      read.some(
        (c) =>
          c.checkpoint?.full === true &&
          c.checkpoint.seq === c.seq &&
          Date.parse(c.checkpoint.at) < before,
      ),
    );
    const chain = verifyCheckpointChain({
      ...window,
      now: at,
      staleAfterMs: settings.staleAfterMs,
    });
    const dates = new Set(datesBetween(range.from, range.to));
    const seals = sealsByBlob(chain.valid, (date) => dates.has(date));
    const problems: TrailProblem[] = [...chain.problems];
    const results: BlobVerification[] = [];
    for (const date of dates) {
      const listed: { name: string; bytes: number }[] = [];
      for await (const blob of blobs.listBlobs(`${date.replaceAll('-', '/')}/`)) {
        if (dateOfBlob(blob.name) === date) listed.push(blob);
      }
      const present = new Set(listed.map((b) => b.name));
      for (const [name, blobSeals] of seals) {
        if (dateOfBlob(name) === date && !present.has(name))
          problems.push(missingBlob(name, blobSeals));
      }
      const { contents, unreadable } = await this.readDate(listed);
      problems.push(...unreadable);
      const recordedIn = recordedBreaks(contents);
      problems.push(...(await this.checkReports(contents)));
      for (const { name, text, bytes } of contents) {
        const result = verifyBlob({
          name,
          content: text,
          bytes,
          seals: seals.get(name) ?? [],
          newest: chain.newest,
          skewMs: settings.skewMs,
          recordedIn: (line) => recordedIn.get(`${line}:${name}`),
        });
        problems.push(...result.problems);
        results.push(result);
      }
    }
    return {
      ok: problems.length === 0,
      from: range.from,
      to: range.to,
      at,
      checkpoints: {
        read: window.read.length,
        valid: chain.valid.length,
        ...(chain.newest ? { newest: { seq: chain.newest.seq, at: chain.newest.at } } : {}),
      },
      blobs: results.length,
      records: results.reduce((sum, r) => sum + r.records, 0),
      sealed: results.reduce((sum, r) => sum + r.sealed, 0),
      pending: {
        records: results.reduce((sum, r) => sum + r.pending.count, 0),
        blobs: results.flatMap((r) =>
          r.pending.lines ? [{ name: r.name, lines: r.pending.lines }] : [],
        ),
      },
      recordedBreaks: results.reduce((sum, r) => sum + r.recordedBreaks, 0),
      problems,
    };
  }

  /**
   * The report files each report.written record of these blobs names (a record that verifies:
   * the checkpoints vouch for it), hashed as they are read back.
   */
  private async checkReports(
    contents: readonly { name: string; text: string }[],
  ): Promise<TrailProblem[]> {
    const archive = this.deps.reports;
    if (!archive) return [];
    const problems: TrailProblem[] = [];
    for (const { name, text } of contents) {
      for (const record of readChain(name, text).records) {
        if (record.type !== 'report.written') continue;
        const report = reportOf(record);
        if (!report) {
          problems.push({
            kind: 'report-altered',
            blob: name,
            message: `${name}: a report.written record that is not one certfleet writes (forged)`,
          });
          continue;
        }
        const { date, files } = report;
        for (const file of files) {
          const stream = await archive.read(date, file.name);
          const where = `reports/${date}/${file.name}`;
          if (!stream) {
            problems.push({
              kind: 'report-missing',
              blob: where,
              message: `${where} is gone: the report.written record in ${name} names it`,
            });
            continue;
          }
          const { bytes, sha256 } = await fileDigest(stream.content);
          if (bytes !== file.bytes || sha256 !== file.sha256) {
            problems.push({
              kind: 'report-altered',
              blob: where,
              message: `${where} is not the file the report.written record in ${name} names (${file.bytes} bytes, SHA-256 ${file.sha256}): altered`,
            });
          }
        }
      }
    }
    return problems;
  }

  /** One date's blobs, read one after another (a day is held, not the range). */
  private async readDate(listed: readonly { name: string; bytes: number }[]): Promise<{
    contents: { name: string; text: string; bytes: number }[];
    unreadable: TrailProblem[];
  }> {
    const contents: { name: string; text: string; bytes: number }[] = [];
    const unreadable: TrailProblem[] = [];
    for (const { name, bytes } of listed) {
      try {
        const content = await this.deps.blobs.readBlob(name);
        if (content) contents.push({ name, text: content.toString('utf8'), bytes: content.length });
      } catch (error) {
        if (!tooLarge(error)) throw error;
        unreadable.push({
          kind: 'chain-broken',
          blob: name,
          message: `${name} (${bytes} bytes) is too large to read whole here: not verified`,
        });
      }
    }
    return { contents, unreadable };
  }
}

/**
 * Breaks the writer itself recorded: a shard-day segment ended in a line nothing could follow, and
 * the writer went on in the next segment, whose first record (seq 1) is the audit.chain-broken
 * naming that blob and line (shared/adapters/storage/BlobAuditTrail.ts). Only such a record
 * counts, so a forged audit.chain-broken elsewhere cannot excuse an edited line. Keyed
 * `line:blob`, with the blob that records each.
 */
function recordedBreaks(contents: readonly { name: string; text: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const { name, text } of contents) {
    const [first] = readChain(name, text).records;
    const broken = first?.type === 'audit.chain-broken' ? first.chainBreak : undefined;
    if (first?.seq === 1 && broken && nextSegmentOf(broken.blob) === name)
      out.set(`${broken.line}:${broken.blob}`, name);
  }
  return out;
}

/** `…/shard-03.jsonl` -> `…/shard-03.1.jsonl`, `…/shard-03.1.jsonl` -> `…/shard-03.2.jsonl`. */
export function nextSegmentOf(blob: string): string | undefined {
  const match = /^(.*?)(?:\.(\d+))?\.jsonl$/.exec(blob);
  if (!match) return undefined;
  return `${match[1]}.${Number(match[2] ?? 0) + 1}.jsonl`;
}
