import { createHash } from 'node:crypto';
import { AuditEntry } from './AuditEntry';

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
): ChainedAuditRecord[] {
  let current = head;
  return entries.map((entry) => {
    const unsigned = { ...entry, seq: current.seq + 1, prevHash: current.hash };
    const record: ChainedAuditRecord = { ...unsigned, hash: recordHash(unsigned) };
    current = { seq: record.seq, hash: record.hash };
    return record;
  });
}

export function recordHash(record: Omit<ChainedAuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record));
}

export type ChainVerification =
  | { ok: true; records: number; head: ChainHead }
  | { ok: false; records: number; line: number; problem: string };

/** Checks one audit blob's lines, in order, from its genesis. */
export function verifyChain(blobName: string, lines: readonly string[]): ChainVerification {
  let head = genesisHead(blobName);
  let count = 0;
  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1;
    if (line.trim() === '') continue;
    let record: ChainedAuditRecord;
    try {
      record = JSON.parse(line) as ChainedAuditRecord;
    } catch {
      return { ok: false, records: count, line: lineNo, problem: 'line is not JSON' };
    }
    // `null` is JSON too: report it, do not crash reading its seq.
    if (record === null || typeof record !== 'object') {
      return { ok: false, records: count, line: lineNo, problem: 'line is not a JSON object' };
    }
    if (record.seq !== head.seq + 1) {
      return {
        ok: false,
        records: count,
        line: lineNo,
        problem: `expected seq ${head.seq + 1}, found ${record.seq}`,
      };
    }
    if (record.prevHash !== head.hash) {
      return {
        ok: false,
        records: count,
        line: lineNo,
        problem: 'prevHash does not match the line before',
      };
    }
    const { hash, ...unsigned } = record;
    if (recordHash(unsigned) !== hash) {
      return { ok: false, records: count, line: lineNo, problem: 'hash does not match the record' };
    }
    head = { seq: record.seq, hash };
    count += 1;
  }
  return { ok: true, records: count, head };
}

/** JSON with object keys sorted at every level, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
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
