import { AppendBlobClient, ContainerClient } from '@azure/storage-blob';
import { AuditEntry } from '../../domain/AuditEntry';
import { Clock, isoUtc, systemClock } from '../../domain/Clock';
import {
  AppendAfter,
  AppendPoint,
  BadAuditLine,
  ChainedAuditRecord,
  appendPoint,
  appendPointFromTail,
  chainBreakEntry,
  chainEntries,
  genesisHead,
  readChain,
  verifyAuditBlobs,
} from '../../domain/AuditChain';
import { AuditBlobs, AuditDateVerification, AuditTrail, TransientFault } from '../../app/ports';
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
 *
 * A shard-day goes on in its next segment when its blob is full (50,000 blocks) or ends in a
 * line nothing can be chained after (garbage, a torn write, a record that does not chain: see
 * `appendPoint`). Whoever starts a segment checks the end of the one before, and when it is
 * broken the segment's first record is an audit.chain-broken naming that blob and line, so
 * verification tells a recorded break from a silent one.
 */
const TAIL_BYTES = 64 * 1024;
/** Append Block takes at most 4 MiB; stay well under it. */
const MAX_BLOCK_BYTES = 1024 * 1024;
const MAX_APPEND_ATTEMPTS = 10;
const MAX_REMEMBERED_ENDS = 4096;
/** About what a 64 KiB tail holds (records run 300-600 bytes). */
const REMEMBERED_IDS = 256;

export class BlobAuditTrail implements AuditTrail, AuditBlobs {
  /** A container deleted after start-up is created again by the call that finds it gone. */
  private readonly recreateContainer = { recreate: () => this.ensureContainer.again() };
  private readonly ensureContainer = retryableOnce(() =>
    storageCall('create audit container', async () => {
      await this.container.createIfNotExists();
    }),
  );

  constructor(
    private readonly container: ContainerClient,
    private readonly shards: number,
    /** Stamps each record's `appendedAt`, which the signed checkpoints rely on. */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Current segment per shard-day, learnt from the container once per process. */
  private readonly segments = new Map<string, number>();
  /**
   * Where each blob ended after this process's own last append to it. The next append is made
   * there without reading the tail first (one round trip instead of three); when another writer
   * has appended since, the service refuses the position and the tail is read as before.
   */
  private readonly ends = new Map<string, BlobEnd & { point: AppendAfter }>();

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
    const newest = await this.newestSegment(shardDay);
    this.segments.set(shardDay, newest);
    return newest;
  }

  private async newestSegment(shardDay: string): Promise<number> {
    let highest = 0;
    await storageCall(
      'list audit segments',
      async () => {
        for await (const item of this.container.listBlobsFlat({ prefix: shardDay })) {
          highest = Math.max(highest, segmentOf(shardDay, item.name) ?? 0);
        }
      },
      this.recreateContainer,
    );
    return highest;
  }

  async append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<number> {
    if (entries.length === 0) return 0;
    await this.ensureContainer();
    const byShardDay = new Map<string, AuditEntry[]>();
    for (const entry of entries) {
      const shardDay = this.shardDayOf(entry);
      byShardDay.set(shardDay, [...(byShardDay.get(shardDay) ?? []), entry]);
    }
    // How many records this call appended (the port's answer): not those found written already.
    const counts = await mapWithConcurrency(
      [...byShardDay.entries()],
      8,
      async ([shardDay, shardEntries]) => {
        let pending = uniqueById(shardEntries);
        if (options.mayAlreadyBeWritten) {
          const written = await this.idsInShardDay(shardDay);
          pending = pending.filter((e) => !written.has(e.id));
        }
        let appended = 0;
        for (const chunk of chunksBySize(pending))
          appended += await this.appendChunk(shardDay, chunk);
        return appended;
      },
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Appends what of `chunk` the blob does not hold yet; returns how many of its entries. */
  private async appendChunk(shardDay: string, chunk: AuditEntry[]): Promise<number> {
    let entries = chunk;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt += 1) {
      const segment = await this.currentSegment(shardDay);
      const name = segmentName(shardDay, segment);
      const blob = this.container.getAppendBlobClient(name);
      const remembered = this.ends.get(name);
      const { length, point } = remembered ?? (await this.tail(name, blob));
      this.ends.delete(name);
      if (!point.ok) {
        // Nothing can follow the blob's last line: go on in the next segment, or in a newer one
        // another writer has started. That segment's first record names this break.
        this.segments.set(shardDay, Math.max(segment + 1, await this.newestSegment(shardDay)));
        continue;
      }
      // Another instance may have just written the same entries (two instances on one
      // partition during a lease handover): what the tail already holds is written.
      entries = entries.filter((e) => !point.ids.has(e.id));
      const [first] = entries;
      if (!first) {
        // Nothing written: the blob still ends where this process remembered it.
        if (remembered) this.ends.set(name, remembered);
        return 0;
      }
      const opening =
        length === 0 && segment > 0
          ? await this.breakBefore(shardDay, segment, first.recordedAt)
          : [];
      const appendedAt = isoUtc(this.clock.now());
      const records = chainEntries(point.head, [...opening, ...entries], appendedAt);
      const lines = records.map((r) => `${JSON.stringify(r)}\n`).join('');
      const body = Buffer.from(lines, 'utf8');
      const appended = await storageCall('append audit records', async () => {
        try {
          await blob.appendBlock(body, body.length, { conditions: { appendPosition: length } });
          return true;
        } catch (error) {
          if (statusOf(error) === 412 || codeOf(error) === 'AppendPositionConditionNotMet')
            return false;
          if (codeOf(error) === 'BlockCountExceedsLimit') return 'full' as const;
          // Deleted since this process last appended to it: read (and create) it again.
          if (statusOf(error) === 404) return 'gone' as const;
          throw error;
        }
      });
      if (appended === 'full') {
        // An append blob holds 50,000 blocks: the chain goes on in the shard-day's next segment.
        this.segments.set(shardDay, segment + 1);
        continue;
      }
      if (appended === 'gone') continue;
      if (appended) {
        this.rememberEnd(name, length + body.length, point.ids, records);
        return entries.length;
      }
      // The position moved. If the service took this very block and its answer was lost (the
      // SDK then retried and found the blob longer), our bytes sit at our position: written.
      if (await this.holds(blob, length, body)) return entries.length;
      // Another writer got there first: wait a random while, so contenders spread out instead
      // of all reading the same tail again.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(1000, 10 * 2 ** attempt)),
      );
    }
    // Contention passes: let the host's retry redeliver the batch.
    throw new TransientFault(`audit blobs ${shardDay}: too many concurrent appenders`);
  }

  /**
   * Remembers the blob's new end, with the ids of its last records (those the tail held and
   * these), as a tail read would have found them: an entry written there a moment ago by
   * another call is still recognised without a read.
   */
  private rememberEnd(
    name: string,
    length: number,
    before: ReadonlySet<string>,
    records: readonly ChainedAuditRecord[],
  ) {
    const last = records[records.length - 1];
    if (!last) return;
    // Blobs of past days are seldom written again: keep the map small.
    if (this.ends.size >= MAX_REMEMBERED_ENDS) this.ends.clear();
    const ids = [...before, ...records.map((r) => r.id)].slice(-REMEMBERED_IDS);
    this.ends.set(name, {
      length,
      point: { ok: true, head: { seq: last.seq, hash: last.hash }, ids: new Set(ids) },
    });
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

  /**
   * The first record of a new segment: when the segment before it ends in a line nothing can
   * follow, the record of that break (its id is the break's, so it is written once).
   */
  private async breakBefore(shardDay: string, segment: number, recordedAt: string) {
    const name = segmentName(shardDay, segment - 1);
    const end = await this.end(name, this.container.getAppendBlobClient(name));
    return end && !end.point.ok
      ? [chainBreakEntry({ blob: name, ...end.point.break }, recordedAt)]
      : [];
  }

  /** The blob's length and where the next record goes (after its genesis when empty or new). */
  private async tail(name: string, blob: AppendBlobClient): Promise<BlobEnd> {
    return storageCall(
      'read audit tail',
      async () => {
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
        return this.pointAt(name, blob, length);
      },
      this.recreateContainer,
    );
  }

  /** Like `tail`, for a blob that may not exist (undefined then), without creating it. */
  private async end(name: string, blob: AppendBlobClient): Promise<BlobEnd | undefined> {
    return storageCall('read audit tail', async () => {
      try {
        const length = (await blob.getProperties()).contentLength ?? 0;
        return await this.pointAt(name, blob, length);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  /** Reads the blob's last 64 KiB, or all of it when they cannot tell (or to number a break). */
  private async pointAt(name: string, blob: AppendBlobClient, length: number): Promise<BlobEnd> {
    if (length === 0) {
      return { length, point: { ok: true, head: genesisHead(name), ids: new Set<string>() } };
    }
    const offset = Math.max(0, length - TAIL_BYTES);
    if (offset > 0) {
      const tail = (await blob.downloadToBuffer(offset, length - offset)).toString('utf8');
      const point = appendPointFromTail(tail);
      if (point) return { length, point };
    }
    const whole = (await blob.downloadToBuffer(0, length)).toString('utf8');
    return { length, point: appendPoint(name, whole) };
  }

  private async idsInShardDay(shardDay: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const last = await this.currentSegment(shardDay);
    for (let segment = 0; segment <= last; segment += 1) {
      const name = segmentName(shardDay, segment);
      const text = await this.text(this.container.getAppendBlobClient(name));
      for (const record of readChain(name, text).records) ids.add(record.id);
    }
    return ids;
  }

  private async text(blob: AppendBlobClient): Promise<string> {
    return storageCall('read audit blob', async () => {
      try {
        return (await blob.downloadToBuffer()).toString('utf8');
      } catch (error) {
        if (statusOf(error) === 404) return '';
        throw error;
      }
    });
  }

  private async blobNamesFor(date: string): Promise<string[]> {
    await this.ensureContainer();
    const names: string[] = [];
    for await (const item of this.container.listBlobsFlat({ prefix: `${datePath(date)}/` }))
      names.push(item.name);
    // A shard-day's segments in the order they were written: .jsonl, .1.jsonl, .2.jsonl…
    return names.sort(bySegment);
  }

  async *listBlobs(prefix?: string): AsyncIterable<{ name: string; bytes: number }> {
    await this.ensureContainer();
    const items: { name: string; bytes: number }[] = [];
    await storageCall('list audit blobs', async () => {
      items.length = 0;
      for await (const item of this.container.listBlobsFlat(prefix ? { prefix } : {}))
        items.push({ name: item.name, bytes: item.properties.contentLength ?? 0 });
    });
    yield* items;
  }

  async readBlob(name: string, from = 0): Promise<Buffer | undefined> {
    return storageCall('read audit blob', async () => {
      try {
        return await this.container.getAppendBlobClient(name).downloadToBuffer(from);
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        // Nothing at or after `from` (the blob is shorter now): an empty tail. The service says
        // 416; the SDK may refuse the range itself first.
        if (statusOf(error) === 416 || error instanceof RangeError) return Buffer.alloc(0);
        throw error;
      }
    });
  }

  async verifyDate(date: string): Promise<AuditDateVerification> {
    const blobs = [];
    for (const name of await this.blobNamesFor(date)) {
      blobs.push({ name, content: await this.text(this.container.getAppendBlobClient(name)) });
    }
    return { date: date.slice(0, 10), blobs: verifyAuditBlobs(blobs) };
  }

  async *readDate(
    date: string,
    options: { onBadLine?: (bad: BadAuditLine) => void } = {},
  ): AsyncIterable<AuditEntry> {
    for (const name of await this.blobNamesFor(date)) {
      const { records, verification } = readChain(
        name,
        await this.text(this.container.getAppendBlobClient(name)),
      );
      for (const broken of verification.breaks) options.onBadLine?.({ blob: name, ...broken });
      yield* records;
    }
  }
}

/** A blob's length, and where its next record goes. */
interface BlobEnd {
  length: number;
  point: AppendPoint;
}

function segmentName(shardDay: string, segment: number): string {
  return segment === 0 ? `${shardDay}.jsonl` : `${shardDay}.${segment}.jsonl`;
}

/** Orders blob names by shard-day, then by segment number (so .10 comes after .9). */
function bySegment(a: string, b: string): number {
  const [dayA, segmentA] = splitSegment(a);
  const [dayB, segmentB] = splitSegment(b);
  if (dayA !== dayB) return dayA < dayB ? -1 : 1;
  return segmentA - segmentB;
}

function splitSegment(name: string): [string, number] {
  const match = /^(.*?)(?:\.(\d+))?\.jsonl$/.exec(name);
  return match ? [match[1] ?? name, Number(match[2] ?? 0)] : [name, 0];
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
