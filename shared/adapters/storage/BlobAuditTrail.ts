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

  blobNameFor(entry: Pick<AuditEntry, 'hub' | 'deviceId' | 'occurredAt'>): string {
    const shard = String(shardOf(entry.hub, entry.deviceId, this.shards)).padStart(2, '0');
    return `${datePath(entry.occurredAt)}/shard-${shard}.jsonl`;
  }

  async append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<void> {
    if (entries.length === 0) return;
    await this.ensureContainer();
    const byBlob = new Map<string, AuditEntry[]>();
    for (const entry of entries) {
      const name = this.blobNameFor(entry);
      byBlob.set(name, [...(byBlob.get(name) ?? []), entry]);
    }
    await mapWithConcurrency([...byBlob.entries()], 8, async ([name, blobEntries]) => {
      const blob = this.container.getAppendBlobClient(name);
      let pending = uniqueById(blobEntries);
      if (options.mayAlreadyBeWritten) {
        const written = await this.idsIn(blob);
        pending = pending.filter((e) => !written.has(e.id));
      }
      for (const chunk of chunksBySize(pending)) await this.appendChunk(name, blob, chunk);
    });
  }

  private async appendChunk(
    name: string,
    blob: AppendBlobClient,
    entries: AuditEntry[],
  ): Promise<void> {
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt += 1) {
      const { length, head } = await this.tail(name, blob);
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
          throw error;
        }
      });
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
    throw new TransientFault(`audit blob ${name}: too many concurrent appenders`);
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
  ): Promise<{ length: number; head: ChainHead }> {
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
      if (length === 0) return { length, head: genesisHead(name) };
      const offset = Math.max(0, length - TAIL_BYTES);
      const text = (await blob.downloadToBuffer(offset, length - offset)).toString('utf8');
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const last = lines[lines.length - 1];
      if (!last) throw new Error(`audit blob ${name} ends without a record`);
      const record = JSON.parse(last) as ChainedAuditRecord;
      return { length, head: { seq: record.seq, hash: record.hash } };
    });
  }

  private async idsIn(blob: AppendBlobClient): Promise<Set<string>> {
    const lines = await this.lines(blob);
    return new Set(lines.map((l) => (JSON.parse(l) as AuditEntry).id));
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
