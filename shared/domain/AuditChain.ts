import { createHash } from 'node:crypto';
import { AuditEntry, auditEntryId } from './AuditEntry';

/**
 * The audit trail is tamper-evident: every line of an audit blob carries its sequence number,
 * the hash of the line before it and its own hash over both and the entry. Editing, deleting or
 * reordering any line breaks every hash after it. The first line links to a genesis hash
 * derived from the blob's name, so lines cannot be moved between blobs either.
 */
export interface ChainedAuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
  /**
   * When the writer appended the record (absent on records written before checkpoints). The
   * signed checkpoints cover what was appended before each one; a record found after the last
   * checkpoint that says it was appended before it was slipped in afterwards.
   */
  appendedAt?: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export function genesisHead(blobName: string): ChainHead {
  return { seq: 0, hash: sha256Hex(`certfleet-audit-genesis:${blobName}`) };
}

export function chainEntries(
  head: ChainHead,
  entries: readonly AuditEntry[],
  appendedAt?: string,
): ChainedAuditRecord[] {
  let current = head;
  return entries.map((entry) => {
    const unsigned = {
      ...entry,
      seq: current.seq + 1,
      prevHash: current.hash,
      ...(appendedAt ? { appendedAt } : {}),
    };
    const record: ChainedAuditRecord = { ...unsigned, hash: recordHash(unsigned) };
    current = { seq: record.seq, hash: record.hash };
    return record;
  });
}

export function recordHash(record: Omit<ChainedAuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record));
}

/** A line of an audit blob that does not verify: its number (from 1) and what is wrong. */
export interface ChainBreak {
  line: number;
  /** Said in certfleet's words: never the line's content, which could hold anything. */
  problem: string;
  /** The blob whose audit.chain-broken record names this line; absent: a silent break. */
  recordedIn?: string;
}

/** A bad line as reported while reading a date: the blob it is in, and the break. */
export interface BadAuditLine extends ChainBreak {
  blob: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Lines holding a record that verifies. */
  records: number;
  /** The last line that reads as a record (the genesis when none does). */
  head: ChainHead;
  /** Every line that does not verify, in order; empty when ok. */
  breaks: ChainBreak[];
}

/**
 * A blob's content: its text as stored, or its lines (each one complete). Lines are numbered
 * from 1, blank ones included, as an editor shows them.
 */
export type AuditBlobContent = string | readonly string[];

/**
 * Reads one audit blob from its genesis: the records that verify, and each line that does not.
 * A line verifies when it is a record whose hash holds and which follows the line before it,
 * or the last line that verified. So one bad line (inserted, edited, torn or a gap where one
 * was deleted) is reported once and the lines after it still verify, while a moved or
 * reordered line breaks where it lands.
 */
export function readChain(
  blobName: string,
  content: AuditBlobContent,
): { records: ChainedAuditRecord[]; verification: ChainVerification } {
  const { records, verification } = chainRecords(blobName, content);
  return { records: records.map((r) => r.record), verification };
}

/** A record of a blob that verifies, and the line it is on (from 1). */
export interface RecordOnLine {
  line: number;
  record: ChainedAuditRecord;
}

/** Like `readChain`, with each record's line: for verification that must say where. */
export function chainRecords(
  blobName: string,
  content: AuditBlobContent,
): { records: RecordOnLine[]; verification: ChainVerification } {
  const walk = walkChain(linesOf(content), genesisHead(blobName));
  return {
    records: walk.records.map(({ line, record }) => ({ line, record })),
    verification: {
      ok: walk.breaks.length === 0,
      records: walk.records.length,
      head: walk.previous ?? genesisHead(blobName),
      breaks: walk.breaks,
    },
  };
}

/**
 * Reads lines appended after a known point of a blob (`head`, the last record before them): the
 * records that verify, counted from there, and the bad lines (numbered from the first line
 * read). A first record that does not follow `head` means what came before was rewritten.
 */
export function continueChain(head: ChainHead, content: AuditBlobContent): ChainVerification {
  const walk = walkChain(linesOf(content), head);
  return {
    ok: walk.breaks.length === 0,
    records: walk.records.length,
    head: walk.previous ?? head,
    breaks: walk.breaks,
  };
}

/** Checks one audit blob's lines, in order, from its genesis, reporting every bad line. */
export function verifyChain(blobName: string, content: AuditBlobContent): ChainVerification {
  return readChain(blobName, content).verification;
}

/**
 * Verifies the blobs of one date, and tells a recorded break (an audit.chain-broken record
 * that verifies, in any of these blobs, names its blob and line) from a silent one.
 */
export function verifyAuditBlobs(
  blobs: readonly { name: string; content: AuditBlobContent }[],
): { name: string; result: ChainVerification }[] {
  const read = blobs.map((blob) => ({ name: blob.name, ...readChain(blob.name, blob.content) }));
  const recordedIn = new Map<string, string>();
  for (const blob of read) {
    for (const record of blob.records) {
      const broken = record.type === 'audit.chain-broken' ? record.chainBreak : undefined;
      if (broken) recordedIn.set(breakKey(broken.blob, broken.line), blob.name);
    }
  }
  return read.map(({ name, verification }) => ({
    name,
    result: {
      ...verification,
      breaks: verification.breaks.map((b) => {
        const where = recordedIn.get(breakKey(name, b.line));
        return where ? { ...b, recordedIn: where } : b;
      }),
    },
  }));
}

/**
 * Where the next record of a blob goes. After the blob's last line, when that line is a record
 * that verifies and ends with its newline: then `head` is what to chain from and `ids` the
 * entries of the records read. Otherwise nothing can follow it (`break` says where and why):
 * the writer goes on in a new segment.
 */
export type AppendPoint = AppendAfter | { ok: false; break: ChainBreak };

export interface AppendAfter {
  ok: true;
  head: ChainHead;
  ids: ReadonlySet<string>;
}

/** Where the next record of the blob whose whole text this is goes. */
export function appendPoint(blobName: string, text: string): AppendPoint {
  const chain = linesOf(text);
  const walk = walkChain(chain, genesisHead(blobName));
  const lastLine = lastRecordLine(chain.lines);
  const broken = walk.breaks.find((b) => b.line === lastLine);
  if (broken) return { ok: false, break: broken };
  return { ok: true, head: walk.previous ?? genesisHead(blobName), ids: idsOf(walk) };
}

/**
 * The same from a blob's last bytes, which start inside a line: where to append, or undefined
 * when they cannot tell (their one record has nothing before it to be checked against) or the
 * blob's end is broken. Then read the whole blob.
 */
export function appendPointFromTail(tail: string): AppendAfter | undefined {
  const chain = linesOf(tail);
  chain.lines.shift();
  const walk = walkChain(chain, undefined);
  const last = walk.records[walk.records.length - 1];
  if (!last || !last.linked || last.line !== lastRecordLine(chain.lines)) return undefined;
  return { ok: true, head: { seq: last.record.seq, hash: last.record.hash }, ids: idsOf(walk) };
}

function lastRecordLine(lines: readonly string[]): number {
  let line = lines.length;
  while (line > 0 && isBlank(lines[line - 1] ?? '')) line -= 1;
  return line;
}

function idsOf(walk: ChainWalk): Set<string> {
  return new Set(walk.records.map((r) => r.record.id));
}

/**
 * The first record of the segment a writer starts after a blob whose last line nothing can
 * follow. Its id depends only on the break, so writers that find the same break together
 * write it once; it is recorded when `recordedAt` (the entries appended with it).
 */
export function chainBreakEntry(broken: BadAuditLine, recordedAt: string): AuditEntry {
  return {
    id: auditEntryId(['audit.chain-broken', broken.blob, broken.line]),
    type: 'audit.chain-broken',
    hub: '',
    deviceId: '',
    occurredAt: recordedAt,
    recordedAt,
    chainBreak: { blob: broken.blob, line: broken.line, problem: broken.problem },
  };
}

interface ChainWalk {
  /** The records that verify, with their line and whether a line before was checked. */
  records: { line: number; record: ChainedAuditRecord; linked: boolean }[];
  breaks: ChainBreak[];
  /** The last line that read as a record. */
  previous: ChainHead | undefined;
}

interface ChainLines {
  lines: string[];
  /** The last line has no newline after it: whatever is appended next would join it. */
  unterminated: boolean;
}

/** From `start` (undefined: the lines start mid-blob, and the first record is taken as is). */
function walkChain({ lines, unterminated }: ChainLines, start: ChainHead | undefined): ChainWalk {
  const walk: ChainWalk = { records: [], breaks: [], previous: start };
  let verified = start;
  for (const [index, line] of lines.entries()) {
    if (isBlank(line)) continue;
    const lineNo = index + 1;
    const read = readRecord(line);
    if ('problem' in read) {
      walk.breaks.push({ line: lineNo, problem: read.problem });
      continue;
    }
    const { record } = read;
    const previous = walk.previous;
    const problem =
      linkProblem(record, previous, verified) ??
      hashProblem(record) ??
      (unterminated && index === lines.length - 1
        ? 'the line does not end with a newline'
        : undefined);
    walk.previous = { seq: record.seq, hash: record.hash };
    if (problem) {
      walk.breaks.push({ line: lineNo, problem });
      continue;
    }
    verified = walk.previous;
    walk.records.push({ line: lineNo, record, linked: previous !== undefined });
  }
  return walk;
}

/** Whether the record follows the line before it, or the last line that verified. */
function linkProblem(
  record: ChainedAuditRecord,
  previous: ChainHead | undefined,
  verified: ChainHead | undefined,
): string | undefined {
  if (!previous || follows(record, previous) || (verified && follows(record, verified))) {
    return undefined;
  }
  if (record.seq !== previous.seq + 1) {
    return `expected seq ${previous.seq + 1}, found ${record.seq}`;
  }
  return 'prevHash does not match the line before';
}

function follows(record: ChainedAuditRecord, head: ChainHead): boolean {
  return record.seq === head.seq + 1 && record.prevHash === head.hash;
}

function hashProblem(record: ChainedAuditRecord): string | undefined {
  return recordHash(withoutHash(record)) === record.hash
    ? undefined
    : 'hash does not match the record';
}

function withoutHash(record: ChainedAuditRecord): Omit<ChainedAuditRecord, 'hash'> {
  const { hash: _hash, ...unsigned } = record;
  return unsigned;
}

const STRING_FIELDS = [
  'id',
  'type',
  'hub',
  'deviceId',
  'occurredAt',
  'recordedAt',
  'prevHash',
  'hash',
] as const;

/** A line as a chained record, or what keeps it from being one (in words of our own). */
function readRecord(line: string): { record: ChainedAuditRecord } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { problem: 'line is not JSON' };
  }
  // `null`, numbers and arrays are JSON too: report them, do not crash reading their fields.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problem: 'line is not a JSON object' };
  }
  const fields = value as Record<string, unknown>;
  if (!Number.isSafeInteger(fields.seq)) {
    return { problem: 'line is not an audit record: seq is missing or not a whole number' };
  }
  for (const field of STRING_FIELDS) {
    if (typeof fields[field] !== 'string') {
      return { problem: `line is not an audit record: ${field} is missing or not a string` };
    }
  }
  return { record: value as ChainedAuditRecord };
}

/** JSON's own whitespace (but the newline): a record may follow it on the same line. */
function isBlank(line: string): boolean {
  return /^[ \t\r]*$/.test(line);
}

function linesOf(content: AuditBlobContent): ChainLines {
  if (typeof content !== 'string') return { lines: [...content], unterminated: false };
  const lines = content.split('\n');
  // Text that ends with a newline splits into one empty piece more than it has lines.
  const last = lines.pop() ?? '';
  if (last === '') return { lines, unterminated: false };
  return { lines: [...lines, last], unterminated: true };
}

function breakKey(blob: string, line: number): string {
  return `${line}:${blob}`;
}

/** JSON with object keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // No prototype: a `__proto__` key a line may carry is a key like any other, so it is hashed
    // (on a plain object, assigning it would set the prototype and leave it out of the hash).
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value as object).sort()) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) out[key] = sortKeys(child);
    }
    return out;
  }
  return value;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
