import { Clock, isoUtc } from '../../domain/Clock';
import { ChainHead, chainRecords, continueChain, genesisHead } from '../../domain/AuditChain';
import {
  BlobSeal,
  CHECKPOINT_FORMAT,
  CheckpointBody,
  CheckpointKind,
  DateSeal,
  SignedCheckpoint,
  checkpointMessage,
  checkpointText,
  dateOfBlob,
  storedCheckpointHash,
} from '../../domain/audit/Checkpoint';
import { scheduledCheckpointKind } from '../../domain/audit/dateRange';
import { mapWithConcurrency } from '../concurrency';
import {
  AlertLog,
  AuditBlobs,
  CheckpointKeys,
  CheckpointSigner,
  CheckpointStore,
  TransientFault,
} from '../ports';
import { readCheckpointsBack } from './readCheckpoints';

/**
 * Takes a signed checkpoint of the audit trail (docs/auditing.md). It observes every audit blob's
 * length and changes nothing in them: it works out what each blob holds now from what the last
 * checkpoints sealed (reading only what was appended since), and stores one checkpoint more,
 * signed, naming the one before it.
 *
 * Hourly it lists the dates that changed; after midnight UTC (`daily`) and the first time, every
 * date. A blob that shrank, vanished, or whose new part does not follow what was sealed keeps
 * its old seal (verification then shows what happened to it) and is logged as
 * `CERTFLEET_AUDIT_TAMPERED`. Every checkpoint is also logged as `CERTFLEET_AUDIT_CHECKPOINT` with
 * its hash: a witness outside storage that a deleted newest checkpoint cannot erase.
 */
export const CHECKPOINT_LOG_PREFIX = 'CERTFLEET_AUDIT_CHECKPOINT';
export const TAMPERED_LOG_PREFIX = 'CERTFLEET_AUDIT_TAMPERED';

const MAX_ATTEMPTS = 3;
const READ_CONCURRENCY = 8;

export interface CheckpointReport {
  seq: number;
  kind: CheckpointKind;
  at: string;
  full: boolean;
  /** Dates listed, and the blobs and records they hold. */
  dates: number;
  blobs: number;
  records: number;
  /** Blobs found changed since the checkpoint before (new ones included). */
  changedBlobs: number;
  /** What did not add up: a blob shrunk, gone, or rewritten under its seal. */
  problems: string[];
}

export class TakeCheckpoint {
  constructor(
    private readonly deps: {
      blobs: AuditBlobs;
      store: CheckpointStore;
      signer: CheckpointSigner;
      keys: CheckpointKeys;
      clock: Clock;
      log?: AlertLog;
    },
  ) {}

  /** The timer's checkpoint: daily (every date) in the hour after midnight UTC, else hourly. */
  async runScheduled(): Promise<CheckpointReport> {
    return this.run(scheduledCheckpointKind(this.deps.clock.now()));
  }

  async run(kind: CheckpointKind): Promise<CheckpointReport> {
    for (let attempt = 1; ; attempt += 1) {
      const report = await this.attempt(kind);
      if (report) return report;
      // Another checkpointer stored the same number first: build on its checkpoint.
      if (attempt >= MAX_ATTEMPTS)
        throw new TransientFault('audit checkpoint: another checkpointer keeps taking the number');
    }
  }

  private async attempt(kind: CheckpointKind): Promise<CheckpointReport | undefined> {
    const { store, keys, signer, clock, log } = this.deps;
    const at = isoUtc(clock.now());
    const { read } = await readCheckpointsBack(store, keys, (r) =>
      r.some((c) => c.checkpoint?.full),
    );
    const newestStored = read[read.length - 1];
    // What the trail held at the newest full checkpoint, with every later one laid over it.
    const sealed = new Map<string, BlobSeal>();
    const startAt = lastIndex(read, (c) => c.checkpoint?.full === true);
    for (const entry of startAt < 0 ? [] : read.slice(startAt)) {
      for (const date of entry.checkpoint?.dates ?? []) {
        for (const seal of date.blobs) sealed.set(seal.name, seal);
      }
    }
    const full = kind === 'daily' || startAt < 0;
    const problems: string[] = [];
    const listed = new Map<string, number>();
    for await (const blob of this.deps.blobs.listBlobs()) {
      if (dateOfBlob(blob.name)) listed.set(blob.name, blob.bytes);
    }
    const changed = [...listed].filter(([name, bytes]) => sealed.get(name)?.bytes !== bytes);
    const resealed = await mapWithConcurrency(changed, READ_CONCURRENCY, async ([name, bytes]) => {
      try {
        return await this.seal(name, bytes, sealed.get(name));
      } catch (error) {
        // One blob too large to hold as text (Node's strings stop at about 512 MB) must not stop
        // every checkpoint: it keeps its old seal and is named. Storage faults still fail the run.
        if (!tooLarge(error)) throw error;
        return { problem: `${name} (${bytes} bytes) is too large to read whole: not sealed` };
      }
    });
    const changedDates = new Set<string>();
    const now = new Map(sealed);
    for (const result of resealed) {
      if ('problem' in result) {
        problems.push(result.problem);
        continue;
      }
      now.set(result.seal.name, result.seal);
      changedDates.add(dateOfBlob(result.seal.name) as string);
    }
    for (const name of sealed.keys()) {
      if (!listed.has(name))
        problems.push(`${name} is gone (sealed with ${sealed.get(name)?.records} records)`);
    }
    const dates = datesOf(now, full ? undefined : changedDates);
    const keyId = await signer.keyId();
    const body: CheckpointBody = {
      format: CHECKPOINT_FORMAT,
      seq: (newestStored?.seq ?? 0) + 1,
      kind,
      at,
      full,
      previous:
        newestStored?.stored !== undefined
          ? { seq: newestStored.seq, hash: storedCheckpointHash(newestStored.stored) }
          : null,
      dates,
      keyId,
      algorithm: 'ES256',
    };
    const signature = await signer.sign(keyId, checkpointMessage(body));
    const checkpoint: SignedCheckpoint = { ...body, signature: signature.toString('base64url') };
    const text = checkpointText(checkpoint);
    if (!(await store.create(body.seq, text))) return undefined;
    for (const problem of problems) {
      log?.error(`${TAMPERED_LOG_PREFIX} ${JSON.stringify({ checkpoint: body.seq, problem })}`);
    }
    const listedBlobs = dates.flatMap((d) => d.blobs);
    const report: CheckpointReport = {
      seq: body.seq,
      kind,
      at,
      full,
      dates: dates.length,
      blobs: listedBlobs.length,
      records: listedBlobs.reduce((sum, b) => sum + b.records, 0),
      changedBlobs: changed.length,
      problems,
    };
    log?.info(
      `${CHECKPOINT_LOG_PREFIX} ${JSON.stringify({ seq: body.seq, at, kind, full, hash: storedCheckpointHash(text), dates: report.dates, blobs: report.blobs, records: report.records })}`,
    );
    return report;
  }

  /**
   * What the blob holds now. Sealed before and longer now: only the new bytes are read, and they
   * must go on from the sealed record at the sealed length. New: read whole.
   */
  private async seal(
    name: string,
    bytes: number,
    before: BlobSeal | undefined,
  ): Promise<{ seal: BlobSeal } | { problem: string }> {
    if (!before) {
      const whole = await this.deps.blobs.readBlob(name);
      if (!whole) return { problem: `${name} vanished while being sealed` };
      const { verification } = chainRecords(name, whole.toString('utf8'));
      return { seal: sealOf(name, whole.length, verification.records, verification.head) };
    }
    if (bytes < before.bytes) {
      return { problem: `${name} is ${bytes} bytes, shorter than the ${before.bytes} sealed` };
    }
    const tail = await this.deps.blobs.readBlob(name, Math.max(0, before.bytes - 1));
    if (!tail) return { problem: `${name} vanished while being sealed` };
    // The sealed part ended with its newline: the new part starts a line of its own.
    if (before.bytes > 0 && tail[0] !== 0x0a) {
      return { problem: `${name}: the sealed part no longer ends where it did (rewritten)` };
    }
    const appended = tail.subarray(before.bytes > 0 ? 1 : 0).toString('utf8');
    const head: ChainHead =
      before.lastSeq === 0 ? genesisHead(name) : { seq: before.lastSeq, hash: before.lastHash };
    if (!followsHead(appended, head)) {
      return {
        problem: `${name}: what was appended does not follow the sealed record ${before.lastSeq} (rewritten)`,
      };
    }
    const next = continueChain(head, appended);
    const length = Math.max(0, before.bytes - 1) + tail.length;
    return { seal: sealOf(name, length, before.records + next.records, next.head) };
  }
}

/**
 * Whether the first line appended after a seal goes on from it. A line that is not a record at
 * all (a torn write) is a break verification reports, not a rewrite of what was sealed.
 */
function followsHead(appended: string, head: ChainHead): boolean {
  const first = appended.split('\n', 1)[0] ?? '';
  let record: unknown;
  try {
    record = JSON.parse(first);
  } catch {
    return true;
  }
  if (record === null || typeof record !== 'object') return true;
  const { seq, prevHash } = record as { seq?: unknown; prevHash?: unknown };
  if (typeof seq !== 'number' || typeof prevHash !== 'string') return true;
  return seq === head.seq + 1 && prevHash === head.hash;
}

/** Node's refusal to make a buffer or string that large. */
export function tooLarge(error: unknown): boolean {
  return (
    error instanceof RangeError ||
    (error as { code?: string } | null)?.code === 'ERR_STRING_TOO_LONG'
  );
}

function sealOf(name: string, bytes: number, records: number, head: ChainHead): BlobSeal {
  return { name, bytes, records, lastSeq: head.seq, lastHash: head.hash };
}

function datesOf(seals: ReadonlyMap<string, BlobSeal>, only?: ReadonlySet<string>): DateSeal[] {
  const byDate = new Map<string, BlobSeal[]>();
  for (const seal of seals.values()) {
    const date = dateOfBlob(seal.name) as string;
    if (only && !only.has(date)) continue;
    byDate.set(date, [...(byDate.get(date) ?? []), seal]);
  }
  return [...byDate.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([date, blobs]) => ({ date, blobs: blobs.sort((a, b) => (a.name < b.name ? -1 : 1)) }));
}

function lastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i -= 1) if (test(items[i] as T)) return i;
  return -1;
}
