import { AuditBlobContent, RecordOnLine, chainRecords } from '../AuditChain';
import { BlobSeal, SignedCheckpoint, dateOfBlob, storedCheckpointHash } from './Checkpoint';

/**
 * Verifying the audit trail against its signed checkpoints: first the checkpoints themselves
 * (numbered without gaps, each signed by a trusted key, each naming the one before), then every
 * audit blob of the dates asked for against what the checkpoints say it held. Pure: the use
 * case (shared/app/audit/VerifyAuditTrail.ts) reads storage and checks signatures.
 */

export type TrailProblemKind =
  /** No checkpoint that verifies: nothing proves the trail complete. */
  | 'no-checkpoint'
  /** A number missing from the checkpoints' sequence: a checkpoint was deleted. */
  | 'checkpoint-missing'
  /** A checkpoint that is unreadable, not signed by a trusted key, or stored under another number. */
  | 'checkpoint-invalid'
  /** A checkpoint that does not name the one before it (one was replaced), or goes back in time. */
  | 'checkpoint-chain-broken'
  /** The newest checkpoint is older than the checkpointer's period allows. */
  | 'checkpoints-stale'
  /** A blob a checkpoint sealed is gone. */
  | 'blob-missing'
  /** A blob holds fewer records or bytes than a checkpoint sealed: records deleted at its end. */
  | 'records-missing'
  /** A blob's records differ from what a checkpoint sealed, under a recomputed chain. */
  | 'records-rewritten'
  /** A line that does not verify in its hash chain, with no record of the break. */
  | 'chain-broken'
  /** Records after the checkpoints that say they were appended before the newest one. */
  | 'appended-after-checkpoint'
  /** A point-in-time report file that is not the one its report.written record names. */
  | 'report-altered'
  /** A point-in-time report file its report.written record names, gone. */
  | 'report-missing';

export interface TrailProblem {
  kind: TrailProblemKind;
  /** What is wrong and where, in certfleet's words (never a record's content). */
  message: string;
  blob?: string;
  /** The lines concerned (from 1), when known. */
  lines?: { from: number; to: number };
  checkpoint?: number;
}

/** How far apart two checkpointers' clocks may be. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A listed checkpoint as read back and checked. */
export interface CheckpointRead {
  /** The number it is stored under. */
  seq: number;
  /** Its stored text; absent when it vanished between listing and reading. */
  stored?: string;
  checkpoint?: SignedCheckpoint;
  /** What keeps it from counting: unreadable, bad signature, unknown key, wrong number. */
  problem?: string;
}

export interface CheckpointChainResult {
  problems: TrailProblem[];
  /** The checkpoints that verify, oldest first: the only ones whose seals count. */
  valid: SignedCheckpoint[];
  newest?: SignedCheckpoint;
}

/**
 * Checks the checkpoints read, oldest first: `listed` is every number in the store, `read` the
 * window of them read (its first one need not be 1). `reachedStart`: the window goes back to the
 * lowest listed number, so numbers below it are missing too.
 */
export function verifyCheckpointChain(input: {
  listed: readonly number[];
  read: readonly CheckpointRead[];
  reachedStart: boolean;
  now: string;
  staleAfterMs: number;
}): CheckpointChainResult {
  const problems: TrailProblem[] = [];
  const read = [...input.read].sort((a, b) => a.seq - b.seq);
  const first = read[0]?.seq;
  if (first !== undefined) {
    const listed = new Set(input.listed);
    const newestListed = input.listed.reduce((max, n) => Math.max(max, n), first);
    const from = input.reachedStart ? 1 : first;
    for (const gap of gaps(listed, from, newestListed)) {
      problems.push({
        kind: 'checkpoint-missing',
        checkpoint: gap.from,
        message:
          gap.from === gap.to
            ? `checkpoint ${gap.from} is missing: it was deleted`
            : `checkpoints ${gap.from} to ${gap.to} are missing: they were deleted`,
      });
    }
  }
  const valid: SignedCheckpoint[] = [];
  let before: CheckpointRead | undefined;
  for (const entry of read) {
    const problem = invalidity(entry);
    if (problem) {
      problems.push({
        kind: 'checkpoint-invalid',
        checkpoint: entry.seq,
        message: `checkpoint ${entry.seq} ${problem}`,
      });
    } else if (entry.checkpoint) {
      const link = linkProblem(entry, before);
      if (link) {
        problems.push({
          kind: 'checkpoint-chain-broken',
          checkpoint: entry.seq,
          message: `checkpoint ${entry.seq} ${link}`,
        });
      }
      valid.push(entry.checkpoint);
    }
    before = entry;
  }
  const newest = valid[valid.length - 1];
  if (!newest) {
    problems.push({
      kind: 'no-checkpoint',
      message: 'no checkpoint verifies: nothing proves the trail complete or unaltered',
    });
  } else if (Date.parse(input.now) - Date.parse(newest.at) > input.staleAfterMs) {
    problems.push({
      kind: 'checkpoints-stale',
      checkpoint: newest.seq,
      message: `the newest checkpoint that verifies (${newest.seq}) was taken at ${newest.at}: checkpoints stopped, or newer ones were deleted`,
    });
  }
  return { problems, valid, newest };
}

function invalidity(entry: CheckpointRead): string | undefined {
  if (entry.stored === undefined) return 'vanished while being read';
  if (entry.problem) return entry.problem;
  if (!entry.checkpoint) return 'could not be read';
  if (entry.checkpoint.seq !== entry.seq)
    return `says it is checkpoint ${entry.checkpoint.seq}: a checkpoint copied over another`;
  return undefined;
}

function linkProblem(
  entry: CheckpointRead,
  before: CheckpointRead | undefined,
): string | undefined {
  const checkpoint = entry.checkpoint;
  if (!checkpoint) return undefined;
  if (checkpoint.seq === 1) {
    return checkpoint.previous === null ? undefined : 'is the first but names one before it';
  }
  if (!before || before.seq !== entry.seq - 1 || before.stored === undefined) return undefined;
  const expected = storedCheckpointHash(before.stored);
  if (!checkpoint.previous || checkpoint.previous.seq !== before.seq) {
    return `does not name checkpoint ${before.seq} as the one before it`;
  }
  if (checkpoint.previous.hash !== expected) {
    return `names a checkpoint ${before.seq} other than the one stored: that one was replaced`;
  }
  // Checkpointers on different machines (a manual one from a laptop) may disagree by minutes.
  if (
    before.checkpoint &&
    Date.parse(checkpoint.at) < Date.parse(before.checkpoint.at) - CLOCK_SKEW_MS
  ) {
    return `was taken before checkpoint ${before.seq}`;
  }
  return undefined;
}

/** The numbers missing between `from` and `to`, as ranges: walked over what is listed, so a
 * made-up number far ahead costs one range, not a loop over every number before it. */
function gaps(
  listed: ReadonlySet<number>,
  from: number,
  to: number,
): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let expected = from;
  for (const seq of [...listed].filter((n) => n >= from && n <= to).sort((a, b) => a - b)) {
    if (seq > expected) out.push({ from: expected, to: seq - 1 });
    expected = seq + 1;
  }
  if (expected <= to) out.push({ from: expected, to });
  return out;
}

/** A blob's seals, oldest first, with the checkpoint that made each. */
export interface SealOf {
  checkpoint: number;
  at: string;
  seal: BlobSeal;
}

/** Every seal the valid checkpoints made, by blob name, oldest first. */
export function sealsByBlob(
  valid: readonly SignedCheckpoint[],
  dateWanted: (date: string) => boolean = () => true,
): Map<string, SealOf[]> {
  const out = new Map<string, SealOf[]>();
  for (const checkpoint of valid) {
    for (const date of checkpoint.dates) {
      if (!dateWanted(date.date)) continue;
      for (const seal of date.blobs) {
        const seals = out.get(seal.name) ?? [];
        seals.push({ checkpoint: checkpoint.seq, at: checkpoint.at, seal });
        out.set(seal.name, seals);
      }
    }
  }
  return out;
}

export interface BlobVerification {
  name: string;
  /** Records that verify in the blob's chain. */
  records: number;
  /** Of those, records a checkpoint covers. */
  sealed: number;
  /** Records appended after the newest checkpoint: not yet covered, and not a problem. */
  pending: { count: number; lines?: { from: number; to: number } };
  /** Breaks an audit.chain-broken record names (a torn write the writer found and recorded). */
  recordedBreaks: number;
  problems: TrailProblem[];
}

/**
 * One blob against its seals (oldest first) and the newest checkpoint. `recordedIn`: whether an
 * audit.chain-broken record of the same date names a line of this blob. Records past the newest
 * seal are pending when they were appended after the newest checkpoint (less `skewMs`, for the
 * clocks of the instances); else they were slipped in afterwards.
 */
export function verifyBlob(input: {
  name: string;
  content: AuditBlobContent;
  bytes: number;
  seals: readonly SealOf[];
  newest: SignedCheckpoint | undefined;
  skewMs: number;
  recordedIn?: (line: number) => string | undefined;
}): BlobVerification {
  const { name, seals } = input;
  const { records, verification } = chainRecords(name, input.content);
  const problems: TrailProblem[] = [];
  let recordedBreaks = 0;
  // A recorded break is a segment's end that nothing could follow: its last line, and nowhere else.
  const lastLine = lastNonBlankLine(input.content);
  for (const bad of verification.breaks) {
    if (bad.line === lastLine && input.recordedIn?.(bad.line)) {
      recordedBreaks += 1;
      continue;
    }
    problems.push({
      kind: 'chain-broken',
      blob: name,
      lines: { from: bad.line, to: bad.line },
      message: `${name} line ${bad.line}: ${bad.problem}`,
    });
  }
  const bySeq = new Map<number, RecordOnLine>();
  for (const r of records) if (!bySeq.has(r.record.seq)) bySeq.set(r.record.seq, r);
  const newestSeal = seals[seals.length - 1];
  let sealedThrough = 0;
  if (newestSeal) {
    const against = againstSeals(name, seals, bySeq, records, input.bytes);
    problems.push(...against.problems);
    sealedThrough = against.sealedThrough;
  }
  const unsealed = records.filter((r) => r.record.seq > sealedThrough);
  const cutoff = input.newest ? Date.parse(input.newest.at) - input.skewMs : -Infinity;
  const slipped = unsealed.filter((r) => appendedTime(r) < cutoff);
  const pending = unsealed.filter((r) => appendedTime(r) >= cutoff);
  if (slipped.length > 0 && input.newest) {
    problems.push({
      kind: 'appended-after-checkpoint',
      blob: name,
      lines: linesOf(slipped),
      checkpoint: input.newest.seq,
      message:
        `${name}: ${countOf(slipped.length, 'record')} (${linesText(linesOf(slipped))}) ` +
        `${newestSeal ? 'after what the checkpoints sealed' : 'in a blob no checkpoint sealed'} ` +
        `say they were appended before checkpoint ${input.newest.seq} (${input.newest.at}): slipped in afterwards`,
    });
  }
  return {
    name,
    records: records.length,
    sealed: records.length - unsealed.length,
    pending: { count: pending.length, ...(pending.length ? { lines: linesOf(pending) } : {}) },
    recordedBreaks,
    problems,
  };
}

/**
 * The blob against each seal, oldest first: the first seal whose last record is not the one the
 * blob holds at that number brackets a rewrite (between the last seal that matched and it); the
 * newest seal's records and bytes must all still be there.
 */
function againstSeals(
  name: string,
  seals: readonly SealOf[],
  bySeq: ReadonlyMap<number, RecordOnLine>,
  records: readonly RecordOnLine[],
  bytes: number,
): { problems: TrailProblem[]; sealedThrough: number } {
  let matched: { seq: number; line: number; checkpoint?: number } = { seq: 0, line: 0 };
  for (const { checkpoint, seal } of seals) {
    if (seal.lastSeq === 0) continue;
    const held = bySeq.get(seal.lastSeq);
    if (!held) break;
    if (held.record.hash !== seal.lastHash) {
      const lines = { from: matched.line + 1, to: held.line };
      return {
        sealedThrough: Number.MAX_SAFE_INTEGER,
        problems: [
          {
            kind: 'records-rewritten',
            blob: name,
            lines,
            checkpoint,
            message:
              `${name}: records ${matched.seq + 1} to ${seal.lastSeq} (${linesText(lines)}) are not the ones checkpoint ${checkpoint} sealed` +
              `${matched.checkpoint ? ` (checkpoint ${matched.checkpoint} matched up to record ${matched.seq})` : ''}: rewritten under a recomputed chain`,
          },
        ],
      };
    }
    matched = { seq: seal.lastSeq, line: held.line, checkpoint };
  }
  const newest = seals[seals.length - 1] as SealOf;
  const last = records[records.length - 1];
  const highest = last?.record.seq ?? 0;
  const missing = (message: string, lines?: { from: number; to: number }) => ({
    sealedThrough: newest.seal.lastSeq,
    problems: [
      {
        kind: 'records-missing' as const,
        blob: name,
        checkpoint: newest.checkpoint,
        ...(lines ? { lines } : {}),
        message: `${name}: ${message}`,
      },
    ],
  });
  if (!bySeq.has(newest.seal.lastSeq) && newest.seal.lastSeq > 0) {
    const gone = newest.seal.lastSeq - Math.min(highest, newest.seal.lastSeq);
    const sealed = `checkpoint ${newest.checkpoint} sealed ${countOf(newest.seal.records, 'record')} ending at record ${newest.seal.lastSeq}`;
    if (!last) return missing(`${sealed}; the blob holds no record: emptied`);
    const recomputed =
      matched.seq > 0
        ? `after record ${matched.seq} (line ${matched.line}, which checkpoint ${matched.checkpoint} matched)`
        : '';
    return missing(
      `${sealed}; the blob's chain ends at record ${highest} (line ${last.line}): ` +
        `${countOf(Math.max(gone, 1), 'record')} gone, deleted at its end or truncated, ` +
        `or removed under a recomputed chain${recomputed ? ` ${recomputed}` : ''}`,
      { from: last.line, to: last.line },
    );
  }
  if (bytes < newest.seal.bytes) {
    return missing(
      `${bytes} bytes, shorter than the ${newest.seal.bytes} checkpoint ${newest.checkpoint} sealed: truncated`,
    );
  }
  return { problems: [], sealedThrough: newest.seal.lastSeq };
}

function lastNonBlankLine(content: AuditBlobContent): number {
  const lines = typeof content === 'string' ? content.split('\n') : [...content];
  for (let i = lines.length - 1; i >= 0; i -= 1)
    if (!/^[ \t\r]*$/.test(lines[i] ?? '')) return i + 1;
  return 0;
}

function appendedTime(r: RecordOnLine): number {
  const at = Date.parse(r.record.appendedAt ?? r.record.recordedAt);
  return Number.isNaN(at) ? -Infinity : at;
}

function linesOf(records: readonly RecordOnLine[]): { from: number; to: number } {
  return { from: records[0]?.line ?? 0, to: records[records.length - 1]?.line ?? 0 };
}

function linesText(lines: { from: number; to: number }): string {
  return lines.from === lines.to ? `line ${lines.from}` : `lines ${lines.from}-${lines.to}`;
}

function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The problem for a sealed blob no longer in storage. */
export function missingBlob(name: string, seals: readonly SealOf[]): TrailProblem {
  const newest = seals[seals.length - 1];
  return {
    kind: 'blob-missing',
    blob: name,
    ...(newest ? { checkpoint: newest.checkpoint } : {}),
    message: `${name} is gone${newest ? `: checkpoint ${newest.checkpoint} sealed it with ${countOf(newest.seal.records, 'record')}` : ''}`,
  };
}

/** The dates from `from` to `to` (YYYY-MM-DD), both included. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export { dateOfBlob };
