import { TableClient, odata } from '@azure/data-tables';
import { ActionEntry, CertificateLedger } from '../../app/ports';
import { compareIndexOrder } from '../../domain/renewal/renewalIndexOrder';
import { INDEX_ROW_PREFIX, unescapeKey } from './storageKeys';

/**
 * The renewal index's reads over the ledger table's layout (TableCertificateLedger.ts): each
 * hub's devices in partitions `<escaped hub>~00`…`~15`, each device's index row
 * `~<actionAt>~<escaped device id>` in its partition, so one partition's index rows come back
 * from one range query in order of time. Functions over a table and the partition keys to read;
 * the adapter wraps them in its storage-fault handling (storageFaults.ts).
 */

/** The range `CertificateLedger.actionsInOrder` reads. */
export type OrderedRange = Parameters<NonNullable<CertificateLedger['actionsInOrder']>>[0];

/** What the reads asked of the table: one request per page, and the entities the pages held. */
export interface IndexReadCounts {
  requests: number;
  entities: number;
}

/** One page's query: a partition's RowKeys from `from` (or after `after`), before `before`. */
export interface IndexPageQuery {
  partitionKey: string;
  fromRowKey?: string;
  afterRowKey?: string;
  beforeRowKey: string;
  top: number;
}

/** One page of index rows (entities as stored), in RowKey order; `more`: the range holds more. */
export interface IndexPage {
  rows: Record<string, unknown>[];
  more: boolean;
}

export type IndexPageReader = (query: IndexPageQuery) => Promise<IndexPage>;

/** A table's pages: one `listEntities` request for each, its first page only. */
export function tableIndexPages(table: TableClient): IndexPageReader {
  return async (query) => {
    const filters = [odata`PartitionKey eq ${query.partitionKey}`];
    if (query.fromRowKey !== undefined) filters.push(odata`RowKey ge ${query.fromRowKey}`);
    if (query.afterRowKey !== undefined) filters.push(odata`RowKey gt ${query.afterRowKey}`);
    filters.push(odata`RowKey lt ${query.beforeRowKey}`);
    const pages = table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter: filters.join(' and ') } })
      .byPage({ maxPageSize: query.top });
    const first = await pages.next();
    if (first.done) return { rows: [], more: false };
    return { rows: [...first.value], more: first.value.continuationToken !== undefined };
  };
}

/** A page holds at most 1,000 entities (the Table service's limit). */
const MAX_PAGE = 1_000;

/**
 * `actionsInOrder` over the table: one range query per partition, merged into the index's
 * reading order (renewalIndexOrder.ts). With a `limit`, each partition's first page is sized
 * for its share of it, and later pages double, so what is read stays near what is returned:
 * about `limit` entities plus a page's slack per partition, one request per partition and a
 * few more where the entries are uneven. Within a partition, rows of the same instant come in
 * the order of their escaped ids; they are put in the order of the ids themselves (a group of
 * the same instant is read whole first).
 */
export async function* readActionsInOrder(
  source: TableClient | IndexPageReader,
  partitionKeys: readonly string[],
  range: OrderedRange,
  counts?: IndexReadCounts,
): AsyncIterable<ActionEntry> {
  if (range.limit !== undefined && !(Number.isInteger(range.limit) && range.limit > 0))
    throw new RangeError(`limit must be a positive integer, not ${range.limit}`);
  const pages = typeof source === 'function' ? source : tableIndexPages(source);
  const first = range.limit
    ? Math.min(MAX_PAGE, Math.ceil((range.limit * 1.25) / Math.max(1, partitionKeys.length)) + 2)
    : MAX_PAGE;
  const streams = partitionKeys.flatMap((partitionKey) => {
    const stream = PartitionStream.open(pages, partitionKey, range, first, counts);
    return stream ? [stream] : [];
  });
  // The first pages of every partition, side by side; later, only a partition whose buffer ran
  // out reads its next page.
  await Promise.all(streams.map((s) => s.fillSome()));
  let given = 0;
  while (range.limit === undefined || given < range.limit) {
    let instant: string | undefined;
    for (const s of streams) {
      const at = s.nextInstant();
      if (at !== undefined && (instant === undefined || at < instant)) instant = at;
    }
    if (instant === undefined) return;
    // Of the partitions next at that instant, the first by hub and id: each reads its instant
    // whole first (a RowKey orders ids by their escaped form).
    let next: PartitionStream | undefined;
    for (const s of streams) {
      if (s.nextInstant() !== instant) continue;
      if (!s.instantReady()) await s.fillInstant();
      if (!next || compareIndexOrder(s.head(), next.head()) < 0) next = s;
    }
    yield next!.take();
    given += 1;
    if (next!.ranOut()) await next!.fillSome();
  }
}

/**
 * `actionsDueBefore` over the table: each partition's index rows before `before`, a partition
 * after the other, earliest first within each, in pages of 1,000.
 */
export async function* readActionsDueBefore(
  source: TableClient | IndexPageReader,
  partitionKeys: readonly string[],
  before: string,
  counts?: IndexReadCounts,
): AsyncIterable<ActionEntry> {
  const pages = typeof source === 'function' ? source : tableIndexPages(source);
  for (const partitionKey of partitionKeys) {
    let query: IndexPageQuery = {
      partitionKey,
      fromRowKey: INDEX_ROW_PREFIX,
      beforeRowKey: INDEX_ROW_PREFIX + before,
      top: MAX_PAGE,
    };
    for (;;) {
      const page = await pages(query);
      if (counts) {
        counts.requests += 1;
        counts.entities += page.rows.length;
      }
      for (const row of page.rows) yield actionEntryOfRow(row);
      const last = page.rows[page.rows.length - 1];
      if (!page.more || !last) break;
      query = {
        partitionKey,
        afterRowKey: String(last.rowKey),
        beforeRowKey: query.beforeRowKey,
        top: MAX_PAGE,
      };
    }
  }
}

/**
 * `ordered` (a read of `range` in reading order) with `others` merged in where they belong:
 * entries read elsewhere, in no order (the index of the ledger's earlier tables, while they
 * still hold records), of which those in `range` are kept. At most `range.limit` in all.
 */
export async function* mergeInOrder(
  ordered: AsyncIterable<ActionEntry>,
  others: readonly ActionEntry[],
  range: OrderedRange,
): AsyncIterable<ActionEntry> {
  const extra = others
    .filter(
      (e) =>
        e.actionAt < range.before &&
        (range.from === undefined || e.actionAt >= range.from) &&
        (range.after === undefined || compareIndexOrder(e, range.after) > 0),
    )
    .sort(compareIndexOrder);
  let given = 0;
  let next = 0;
  const room = () => range.limit === undefined || given < range.limit;
  for await (const entry of ordered) {
    while (next < extra.length && compareIndexOrder(extra[next]!, entry) < 0 && room()) {
      yield extra[next++]!;
      given += 1;
    }
    if (!room()) return;
    yield entry;
    given += 1;
  }
  while (next < extra.length && room()) {
    yield extra[next++]!;
    given += 1;
  }
}

/** An index row as the port's entry: its own fields, whatever they are, without the keys. */
export function actionEntryOfRow(row: Record<string, unknown>): ActionEntry {
  const {
    partitionKey: _p,
    rowKey: _r,
    etag: _e,
    timestamp: _t,
    'odata.etag': _o,
    ...fields
  } = row;
  return fields as unknown as ActionEntry;
}

/** One partition's index rows in the reading order, read a page at a time as the merge asks. */
class PartitionStream {
  private buffer: ActionEntry[] = [];
  private at = 0;
  /** The buffer's entries before this index are in reading order (their instant read whole). */
  private orderedTo = 0;
  private lastRowKey?: string;
  private done = false;

  private constructor(
    private readonly pages: IndexPageReader,
    private readonly partitionKey: string,
    private readonly fromRowKey: string,
    private readonly beforeRowKey: string,
    private readonly skip: ((entry: ActionEntry) => boolean) | undefined,
    private pageSize: number,
    private readonly counts: IndexReadCounts | undefined,
  ) {}

  /**
   * The partition's part of `range`, or nothing when it cannot hold any. Its hub is in its key;
   * RowKeys order ids by their escaped form, so for `after`'s own hub the instant of `after` is
   * read again and its ids compared as they are.
   */
  static open(
    pages: IndexPageReader,
    partitionKey: string,
    range: OrderedRange,
    pageSize: number,
    counts: IndexReadCounts | undefined,
  ): PartitionStream | undefined {
    const hub = unescapeKey(partitionKey.slice(0, partitionKey.lastIndexOf('~')));
    let from = INDEX_ROW_PREFIX;
    if (range.from !== undefined) from = later(from, INDEX_ROW_PREFIX + range.from);
    let skip: ((entry: ActionEntry) => boolean) | undefined;
    const after = range.after;
    if (after) {
      const instant = INDEX_ROW_PREFIX + after.actionAt;
      if (hub > after.hub) from = later(from, instant);
      // `~<T>~~` sorts after every row of instant T (escaped ids hold no `~`) and before T's next.
      else if (hub < after.hub) from = later(from, `${instant}~~`);
      else {
        from = later(from, instant);
        skip = (e) => e.actionAt === after.actionAt && e.deviceId <= after.deviceId;
      }
    }
    const before = INDEX_ROW_PREFIX + range.before;
    if (from >= before) return undefined;
    return new PartitionStream(pages, partitionKey, from, before, skip, pageSize, counts);
  }

  /** The instant of the partition's next entry (undefined: none left); after `fillSome`. */
  nextInstant(): string | undefined {
    return this.buffer[this.at]?.actionAt;
  }

  /** The partition's next entry; after `fillInstant`. */
  head(): ActionEntry {
    return this.buffer[this.at]!;
  }

  take(): ActionEntry {
    const entry = this.buffer[this.at]!;
    this.at += 1;
    return entry;
  }

  /** Whether the next entry's instant is read whole and in order of id. */
  instantReady(): boolean {
    return this.at < this.orderedTo;
  }

  /** Whether everything buffered was taken and more may be read. */
  ranOut(): boolean {
    return !this.done && this.at >= this.buffer.length;
  }

  /** Reads a page when nothing is buffered, until something is or the partition is done. */
  async fillSome(): Promise<void> {
    while (!this.done && this.at >= this.buffer.length) await this.readPage();
  }

  /** Reads until the next entry's instant is read whole, and puts that instant in order of id. */
  async fillInstant(): Promise<void> {
    if (this.at < this.orderedTo) return;
    while (!this.done && this.at + this.sameInstant() === this.buffer.length) await this.readPage();
    const group = this.sameInstant();
    if (group > 1) {
      const instant = this.buffer.slice(this.at, this.at + group).sort(compareIndexOrder);
      this.buffer.splice(this.at, group, ...instant);
    }
    this.orderedTo = this.at + group;
  }

  /** How many entries from the next one share its instant. */
  private sameInstant(): number {
    const first = this.buffer[this.at];
    if (!first) return 0;
    let n = 1;
    while (
      this.at + n < this.buffer.length &&
      this.buffer[this.at + n]!.actionAt === first.actionAt
    )
      n += 1;
    return n;
  }

  private async readPage(): Promise<void> {
    // What was taken goes before the next page comes in.
    if (this.at > 0) {
      this.buffer = this.buffer.slice(this.at);
      this.orderedTo = Math.max(0, this.orderedTo - this.at);
      this.at = 0;
    }
    const page = await this.pages({
      partitionKey: this.partitionKey,
      ...(this.lastRowKey === undefined
        ? { fromRowKey: this.fromRowKey }
        : { afterRowKey: this.lastRowKey }),
      beforeRowKey: this.beforeRowKey,
      top: this.pageSize,
    });
    if (this.counts) {
      this.counts.requests += 1;
      this.counts.entities += page.rows.length;
    }
    const last = page.rows[page.rows.length - 1];
    if (last) this.lastRowKey = String(last.rowKey);
    for (const row of page.rows) {
      const entry = actionEntryOfRow(row);
      if (!this.skip?.(entry)) this.buffer.push(entry);
    }
    this.done = !page.more || !last;
    this.pageSize = Math.min(MAX_PAGE, this.pageSize * 2);
  }
}

function later(a: string, b: string): string {
  return a > b ? a : b;
}
