import { AuditBlobs, CheckpointStore } from '../../shared/app/ports';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import {
  ChainHead,
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
} from '../../shared/domain/AuditChain';

/**
 * In-memory doubles of the ports signed checkpoints use, for fast use-case tests: the audit
 * trail's blobs as bytes by name, and the checkpoint store. Both count what they are asked to
 * read, so a test can tell a checkpointer that reads only what was appended from one that
 * reads everything.
 */
export class MemoryAuditBlobs implements AuditBlobs {
  private readonly blobs = new Map<string, Buffer>();
  /** Bytes handed out by `readBlob` since the last `resetCounts`. */
  bytesRead = 0;
  /** Each `readBlob` call since the last `resetCounts`: the blob and the offset it read from. */
  reads: { name: string; from: number }[] = [];

  /** Appends entries to a blob, chained from its last record (or its genesis). */
  appendEntries(name: string, entries: readonly AuditEntry[], appendedAt?: string): void {
    const records = chainEntries(this.headOf(name), entries, appendedAt);
    this.appendText(name, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Appends raw text to a blob, as a writer (or an attacker) with append access could. */
  appendText(name: string, text: string): void {
    const before = this.blobs.get(name) ?? Buffer.alloc(0);
    this.blobs.set(name, Buffer.concat([before, Buffer.from(text, 'utf8')]));
  }

  /** Replaces a blob's whole content. */
  put(name: string, text: string): void {
    this.blobs.set(name, Buffer.from(text, 'utf8'));
  }

  delete(name: string): void {
    this.blobs.delete(name);
  }

  text(name: string): string {
    return (this.blobs.get(name) ?? Buffer.alloc(0)).toString('utf8');
  }

  /** The blob's records as stored (every line parsed; for tests that tamper with them). */
  records(name: string): ChainedAuditRecord[] {
    return this.text(name)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ChainedAuditRecord);
  }

  /** A copy with the same blobs and fresh counts, for a test that tampers with them. */
  copy(): MemoryAuditBlobs {
    const copy = new MemoryAuditBlobs();
    for (const [name, body] of this.blobs) copy.blobs.set(name, Buffer.from(body));
    return copy;
  }

  resetCounts(): void {
    this.bytesRead = 0;
    this.reads = [];
  }

  async *listBlobs(prefix = ''): AsyncIterable<{ name: string; bytes: number }> {
    const names = [...this.blobs.keys()].filter((n) => n.startsWith(prefix)).sort();
    for (const name of names) {
      const body = this.blobs.get(name);
      if (body) yield { name, bytes: body.length };
    }
  }

  async readBlob(name: string, from = 0): Promise<Buffer | undefined> {
    const body = this.blobs.get(name);
    if (!body) return undefined;
    // Past the end is an empty tail, as BlobAuditTrail answers Azure's 416.
    const part = Buffer.from(body.subarray(Math.min(from, body.length)));
    this.reads.push({ name, from });
    this.bytesRead += part.length;
    return part;
  }

  private headOf(name: string): ChainHead {
    const last = this.records(name).pop();
    return last ? { seq: last.seq, hash: last.hash } : genesisHead(name);
  }
}

/**
 * Checkpoints by number, taken once and never overwritten, like BlobCheckpointStore. `create`
 * can be made to lose races: the test's rival runs first (and may store the same number).
 */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly texts = new Map<number, string>();
  private rivals: (() => Promise<void>)[] = [];
  private rivalText?: string;
  /** Every number `read` was asked for since the last `resetCounts`, in order. */
  reads: number[] = [];
  /** Numbers `create` was called with, won or lost. */
  creates: number[] = [];

  /**
   * The next `create` call lets `rival` run first (typically another checkpointer on this same
   * store, which takes the number), then goes on as usual: it loses when the number is taken.
   */
  loseNextCreateTo(rival: () => Promise<void>): void {
    this.rivals.push(rival);
  }

  /** Every `create` from now on finds its number just taken by a rival storing `text` there. */
  loseEveryCreate(text = '{}'): void {
    this.rivalText = text;
  }

  /** A copy with the same checkpoints, no rivals and fresh counts. */
  copy(): MemoryCheckpointStore {
    const copy = new MemoryCheckpointStore();
    for (const [seq, text] of this.texts) copy.texts.set(seq, text);
    return copy;
  }

  resetCounts(): void {
    this.reads = [];
    this.creates = [];
  }

  /** The stored text of a checkpoint, or undefined. */
  stored(seq: number): string | undefined {
    return this.texts.get(seq);
  }

  /** Overwrites or removes a checkpoint, as an attacker with write access could. */
  replace(seq: number, text: string | undefined): void {
    if (text === undefined) this.texts.delete(seq);
    else this.texts.set(seq, text);
  }

  async list(): Promise<number[]> {
    return [...this.texts.keys()].sort((a, b) => a - b);
  }

  async read(seq: number): Promise<string | undefined> {
    this.reads.push(seq);
    return this.texts.get(seq);
  }

  async create(seq: number, text: string): Promise<boolean> {
    this.creates.push(seq);
    const rival = this.rivals.shift();
    if (rival) await rival();
    if (this.rivalText !== undefined && !this.texts.has(seq)) this.texts.set(seq, this.rivalText);
    if (this.texts.has(seq)) return false;
    this.texts.set(seq, text);
    return true;
  }
}
