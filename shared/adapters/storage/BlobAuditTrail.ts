import { AppendBlobClient, ContainerClient } from '@azure/storage-blob';
import { AuditEntry } from '../../domain/AuditEntry';
import {
  ChainHead,
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
  verifyChain,
} from '../../domain/AuditChain';
import { AuditDateVerification, AuditTrail, TransientFault } from '../../app/ports';
import { mapWithConcurrency } from '../../app/concurrency';
import { datePath, shardOf } from './storageKeys';
import { retryableOnce } from './retryableOnce';
import { codeOf, statusOf, storageCall } from './storageFaults';

/**
 * The audit trail: append-only JSON Lines in append blobs, `YYYY/MM/DD/shard-NN.jsonl` by the
 * UTC date the event occurred, sharded by device so appends do not queue on one blob. Each
 * line is hash-chained to the one before (shared/domain/AuditChain.ts).
 *
 * Appends are conditional on the blob's length (`appendPosition`): two writers never both
 * append after the same line, so the chain holds under concurrency; the loser re-reads the
 * tail and retries. In Azure, add a time-based immutability policy with protected append
 * writes on the container (infra), which Azurite does not emulate.
 */
const TAIL_BYTES = 64 * 1024;
/** Append Block takes at most 4 MiB; stay well under it. */
const MAX_BLOCK_BYTES = 1024 * 1024;
const MAX_APPEND_ATTEMPTS = 10;

export class BlobAuditTrail implements AuditTrail {
  private readonly ensureContainer = retryableOnce(() =>
    storageCall('create audit container', async () => {
      await this.container.createIfNotExists();
    }),
  );

  constructor(
    private readonly container: ContainerClient,
    private readonly shards: number,
  ) {}

  /** Current segment per shard-day, learnt from the container once per process. */
  private readonly segments = new Map<string, number>();

  /** The shard-day's first blob; later segments are `shard-NN.1.jsonl`, `shard-NN.2.jsonl`… */
  blobNameFor(entry: Pick<AuditEntry, 'hub' | 'deviceId' | 'occurredAt'>): string {
    return segmentName(this.shardDayOf(entry), 0);
  }

  private shardDayOf(entry: Pick<AuditEntry, 'hub' | 'deviceId' | 'occurredAt'>): string {
    const shard = String(shardOf(entry.hub, entry.deviceId, this.shards)).padStart(2, '0');
    return `${datePath(entry.occurredAt)}/shard-${shard}`;
  }

  private async currentSegment(shardDay: string): Promise<number> {
    const known = this.segments.get(shardDay);
    if (known !== undefined) return known;
    let highest = 0;
    await storageCall('list audit segments', async () => {
      for await (const item of this.container.listBlobsFlat({ prefix: shardDay })) {
        highest = Math.max(highest, segmentOf(shardDay, item.name) ?? 0);
      }
    });
    this.segments.set(shardDay, highest);
    return highest;
  }

  async append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<void> {
    if (entries.length === 0) return;
    await this.ensureContainer();
    const byShardDay = new Map<string, AuditEntry[]>();
    for (const entry of entries) {
      const shardDay = this.shardDayOf(entry);
      byShardDay.set(shardDay, [...(byShardDay.get(shardDay) ?? []), entry]);
    }
    await mapWithConcurrency([...byShardDay.entries()], 8, async ([shardDay, shardEntries]) => {
      let pending = uniqueById(shardEntries);
      if (options.mayAlreadyBeWritten) {
        const written = await this.idsInShardDay(shardDay);
        pending = pending.filter((e) => !written.has(e.id));
      }
      for (const chunk of chunksBySize(pending)) await this.appendChunk(shardDay, chunk);
    });
  }

  private async appendChunk(shardDay: string, chunk: AuditEntry[]): Promise<void> {
    let entries = chunk;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt += 1) {
      const segment = await this.currentSegment(shardDay);
      const name = segmentName(shardDay, segment);
      const blob = this.container.getAppendBlobClient(name);
      const { length, head, recentIds } = await this.tail(name, blob);
      // Another instance may have just written the same entries (two instances on one
      // partition during a lease handover): what the tail already holds is written.
      entries = entries.filter((e) => !recentIds.has(e.id));
      if (entries.length === 0) return;
      const lines = chainEntries(head, entries)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join('');
      const body = Buffer.from(lines, 'utf8');
      const appended = await storageCall('append audit records', async () => {
        try {
          await blob.appendBlock(body, body.length, { conditions: { appendPosition: length } });
          return true;
        } catch (error) {
          if (statusOf(error) === 412 || codeOf(error) === 'AppendPositionConditionNotMet')
            return false;
          if (codeOf(error) === 'BlockCountExceedsLimit') return 'full' as const;
          throw error;
        }
      });
      if (appended === 'full') {
        // An append blob holds 50,000 blocks: the chain goes on in the shard-day's next segment.
        this.segments.set(shardDay, segment + 1);
        continue;
      }
      if (appended) return;
      // The position moved. If the service took this very block and its answer was lost (the
      // SDK then retried and found the blob longer), our bytes sit at our position: written.
      if (await this.holds(blob, length, body)) return;
      // Another writer got there first: wait a random while, so contenders spread out instead
      // of all reading the same tail again.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(1000, 10 * 2 ** attempt)),
      );
    }
    // Contention passes: let the host's retry redeliver the batch.
    throw new TransientFault(`audit blobs ${shardDay}: too many concurrent appenders`);
  }

  /** Whether the blob holds exactly `body` at `offset`. */
  private async holds(blob: AppendBlobClient, offset: number, body: Buffer): Promise<boolean> {
    return storageCall('check audit append', async () => {
      // An append blob only grows: once long enough, the range stays there.
      const length = (await blob.getProperties()).contentLength ?? 0;
      if (length < offset + body.length) return false;
      return (await blob.downloadToBuffer(offset, body.length)).equals(body);
    });
  }

  /** The blob's length and the chain head at its end (its genesis when empty or new). */
  private async tail(
    name: string,
    blob: AppendBlobClient,
  ): Promise<{ length: number; head: ChainHead; recentIds: Set<string> }> {
    return storageCall('read audit tail', async () => {
      let length: number;
      try {
        length = (await blob.getProperties()).contentLength ?? 0;
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        try {
          await blob.create({
            conditions: { ifNoneMatch: '*' },
            blobHTTPHeaders: { blobContentType: 'application/x-ndjson' },
          });
        } catch (createError) {
          if (statusOf(createError) !== 409) throw createError;
        }
        length = (await blob.getProperties()).contentLength ?? 0;
      }
      if (length === 0) return { length, head: genesisHead(name), recentIds: new Set<string>() };
      const offset = Math.max(0, length - TAIL_BYTES);
      const text = (await blob.downloadToBuffer(offset, length - offset)).toString('utf8');
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      if (offset > 0) lines.shift(); // the window starts inside a line
      const last = lines[lines.length - 1];
      if (!last) throw new Error(`audit blob ${name} ends without a record`);
      const record = JSON.parse(last) as ChainedAuditRecord;
      const recentIds = new Set(lines.map((l) => (JSON.parse(l) as AuditEntry).id));
      return { length, head: { seq: record.seq, hash: record.hash }, recentIds };
    });
  }

  private async idsInShardDay(shardDay: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const last = await this.currentSegment(shardDay);
    for (let segment = 0; segment <= last; segment += 1) {
      const lines = await this.lines(
        this.container.getAppendBlobClient(segmentName(shardDay, segment)),
      );
      for (const line of lines) ids.add((JSON.parse(line) as AuditEntry).id);
    }
    return ids;
  }

  private async lines(blob: AppendBlobClient): Promise<string[]> {
    return storageCall('read audit blob', async () => {
      try {
        const text = (await blob.downloadToBuffer()).toString('utf8');
        return text.split('\n').filter((l) => l.trim() !== '');
      } catch (error) {
        if (statusOf(error) === 404) return [];
        throw error;
      }
    });
  }

  private async blobNamesFor(date: string): Promise<string[]> {
    await this.ensureContainer();
    const names: string[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: `${datePath(date)}/` }))
      names.push(item.name);
    return names.sort();
  }

  async verifyDate(date: string): Promise<AuditDateVerification> {
    const blobs = [];
    for (const name of await this.blobNamesFor(date)) {
      const lines = await this.lines(this.container.getAppendBlobClient(name));
      blobs.push({ name, result: verifyChain(name, lines) });
    }
    return { date: date.slice(0, 10), blobs };
  }

  async *readDate(date: string): AsyncIterable<AuditEntry> {
    for (const name of await this.blobNamesFor(date)) {
      for (const line of await this.lines(this.container.getAppendBlobClient(name))) {
        yield JSON.parse(line) as ChainedAuditRecord;
      }
    }
  }
}

function segmentName(shardDay: string, segment: number): string {
  return segment === 0 ? `${shardDay}.jsonl` : `${shardDay}.${segment}.jsonl`;
}

function segmentOf(shardDay: string, name: string): number | undefined {
  if (name === `${shardDay}.jsonl`) return 0;
  if (!name.startsWith(`${shardDay}.`) || !name.endsWith('.jsonl')) return undefined;
  const middle = name.slice(shardDay.length + 1, -'.jsonl'.length);
  return /^\d+$/.test(middle) ? Number(middle) : undefined;
}

function uniqueById(entries: AuditEntry[]): AuditEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
}

function chunksBySize(entries: AuditEntry[]): AuditEntry[][] {
  const chunks: AuditEntry[][] = [];
  let current: AuditEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const bytes = Buffer.byteLength(JSON.stringify(entry)) + 256; // + chain fields
    if (current.length > 0 && size + bytes > MAX_BLOCK_BYTES) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
