import { createHash } from 'node:crypto';
import { canonicalJson } from '../AuditChain';

/**
 * A signed checkpoint of the audit trail, after Certificate Transparency's signed tree heads:
 * what each audit blob held when it was taken (its length, its record count and the hash of its
 * last record), chained to the checkpoint before it and signed with a key the storage writer
 * cannot use. Whoever can write to storage can rewrite a hash chain end to end, but cannot make
 * a rewritten, shortened or extended blob match what a signed checkpoint says it held.
 *
 * Checkpoints are numbered from 1 without gaps. An hourly checkpoint lists the dates whose blobs
 * changed since the one before it (every blob of such a date); a full one (the first, and the
 * daily one after midnight UTC) lists every date, so the state of the whole trail is the newest
 * full checkpoint with the ones after it laid over it.
 */
export const CHECKPOINT_FORMAT = 'certfleet-checkpoint/1';

export type CheckpointKind = 'hourly' | 'daily' | 'manual';

/** What one audit blob held when a checkpoint was taken. */
export interface BlobSeal {
  name: string;
  /** The blob's length in bytes. */
  bytes: number;
  /** Records that verify. */
  records: number;
  /** The seq and hash of the blob's last record (its genesis when it has none). */
  lastSeq: number;
  lastHash: string;
}

/** Every blob of one UTC date of the trail, in name order. */
export interface DateSeal {
  date: string;
  blobs: BlobSeal[];
}

export interface CheckpointBody {
  format: typeof CHECKPOINT_FORMAT;
  seq: number;
  kind: CheckpointKind;
  /** When it was taken: every record appended before this instant is covered. */
  at: string;
  /** Lists every date of the trail (else only those that changed since the one before). */
  full: boolean;
  /** The checkpoint before: its number and the SHA-256 of its stored bytes. */
  previous: { seq: number; hash: string } | null;
  dates: DateSeal[];
  /** The signing key (a Key Vault key version, or `local:` and the public key's hash). */
  keyId: string;
  algorithm: SignatureAlgorithm;
}

/** ECDSA P-256 over the message's SHA-256, the signature as r || s (JWS and Key Vault's form). */
export type SignatureAlgorithm = 'ES256';

export interface SignedCheckpoint extends CheckpointBody {
  /** base64url of the signature over `checkpointMessage(body)`. */
  signature: string;
}

/**
 * What is signed: the body's canonical JSON (keys sorted at every level), as UTF-8. ES256 signs
 * its SHA-256 digest.
 */
export function checkpointMessage(body: CheckpointBody): Buffer {
  return Buffer.from(canonicalJson(body), 'utf8');
}

/** How the next checkpoint names this one: SHA-256 of the bytes as stored. */
export function storedCheckpointHash(stored: string): string {
  return createHash('sha256').update(stored, 'utf8').digest('hex');
}

/** The text a checkpoint is stored as. */
export function checkpointText(checkpoint: SignedCheckpoint): string {
  return `${JSON.stringify(checkpoint, null, 1)}\n`;
}

export function bodyOf(checkpoint: SignedCheckpoint): CheckpointBody {
  const { signature: _signature, ...body } = checkpoint;
  return body;
}

/**
 * A stored checkpoint read back: the checkpoint when its text has the format's shape, else what
 * is wrong with it (in certfleet's words, never its content).
 */
export function parseCheckpoint(
  text: string,
): { checkpoint: SignedCheckpoint } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (!isObject(value)) return { problem: 'not a JSON object' };
  if (value.format !== CHECKPOINT_FORMAT) return { problem: 'not a certfleet checkpoint' };
  const problem =
    wrongField(value, 'seq', isCount) ??
    wrongField(value, 'kind', (v) => v === 'hourly' || v === 'daily' || v === 'manual') ??
    wrongField(value, 'at', isIsoTime) ??
    wrongField(value, 'full', (v) => typeof v === 'boolean') ??
    wrongField(value, 'previous', (v) => v === null || isPrevious(v)) ??
    wrongField(value, 'dates', (v) => Array.isArray(v) && v.every(isDateSeal)) ??
    wrongField(value, 'keyId', (v) => typeof v === 'string' && v.length > 0) ??
    wrongField(value, 'algorithm', (v) => v === 'ES256') ??
    wrongField(value, 'signature', (v) => typeof v === 'string');
  if (problem) return { problem };
  return { checkpoint: value as unknown as SignedCheckpoint };
}

function wrongField(
  value: Record<string, unknown>,
  field: string,
  valid: (v: unknown) => boolean,
): string | undefined {
  return valid(value[field]) ? undefined : `${field} is missing or malformed`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isIsoTime(value: unknown): boolean {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isHash(value: unknown): boolean {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

function isPrevious(value: unknown): boolean {
  return isObject(value) && isCount(value.seq) && isHash(value.hash);
}

function isDateSeal(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.date === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(value.date) &&
    Array.isArray(value.blobs) &&
    value.blobs.every(isBlobSeal)
  );
}

function isBlobSeal(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.name === 'string' &&
    isCount(value.bytes) &&
    isCount(value.records) &&
    isCount(value.lastSeq) &&
    isHash(value.lastHash)
  );
}

/** The UTC date (YYYY-MM-DD) an audit blob's name files it under (`YYYY/MM/DD/...`). */
export function dateOfBlob(name: string): string | undefined {
  const match = /^(\d{4})\/(\d{2})\/(\d{2})\//.exec(name);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}
