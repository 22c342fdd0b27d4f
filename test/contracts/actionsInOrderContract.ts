import { ActionEntry } from '../../shared/app/ports';
import { compareIndexOrder } from '../../shared/domain/renewal/renewalIndexOrder';
import { devicePartition, indexRowKey } from '../../shared/adapters/storage/storageKeys';
import { IndexPage, IndexPageQuery } from '../../shared/adapters/storage/dueIndexReads';

/**
 * The contract of `CertificateLedger.actionsInOrder` (shared/app/ports.ts), run against each
 * implementation: the in-memory double, and the Table reads (dueIndexReads.ts) over a modelled
 * table and over Azurite.
 */
export type OrderedRange = {
  before: string;
  from?: string;
  after?: { actionAt: string; hub: string; deviceId: string };
  limit?: number;
};

export interface OrderedIndexUnderTest {
  /** Puts these entries in the index (as writes of their records would). */
  put(entries: readonly ActionEntry[]): Promise<void>;
  read(range: OrderedRange): AsyncIterable<ActionEntry>;
}

const T = '2026-11-26T12:00:00.000Z';
export const at = (seconds: number) => new Date(Date.parse(T) + seconds * 1_000).toISOString();

export function entry(hub: string, deviceId: string, seconds: number): ActionEntry {
  return {
    hub,
    deviceId,
    actionAt: at(seconds),
    validUntil: at(seconds + 86_400),
    status: 'healthy',
  };
}

/**
 * Ids whose escaped forms (storageKeys.escapeKey) sort otherwise than the ids do: `~` and `_`
 * are escaped, `-` and `.` are not, upper case sorts before lower case.
 */
export const AWKWARD_IDS = ['dev~1', 'dev-1', 'dev_1', 'devA', 'deva', 'dev.1', 'Dev', 'dev'];

/** Several hubs, the same instants in several hubs and partitions, awkward ids. */
export function aMixedIndex(): ActionEntry[] {
  const entries: ActionEntry[] = [];
  for (const hub of ['hub-a', 'hub-b', 'Hub-c']) {
    AWKWARD_IDS.forEach((id) => entries.push(entry(hub, id, 60)));
    for (let i = 0; i < 20; i += 1) entries.push(entry(hub, `sensor-${i}`, (i % 5) * 30));
  }
  entries.push(entry('hub-a', 'late', 3_600), entry('hub-b', 'early', -3_600));
  return entries;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const keyOf = (e: ActionEntry) => `${e.actionAt} ${e.hub} ${e.deviceId}`;

export function actionsInOrderContract(
  make: () => Promise<OrderedIndexUnderTest>,
  /** The limits the index is read whole with, a part at a time (each part a round trip). */
  limits: readonly number[] = [1, 3, 7, 50],
): void {
  const reference = (all: readonly ActionEntry[], range: OrderedRange) =>
    [...all]
      .filter(
        (e) =>
          e.actionAt < range.before &&
          (range.from === undefined || e.actionAt >= range.from) &&
          (range.after === undefined || compareIndexOrder(e, range.after) > 0),
      )
      .sort(compareIndexOrder)
      .slice(0, range.limit)
      .map(keyOf);

  it('gives the entries before a time by time, then hub, then device id as JavaScript compares them', async () => {
    const index = await make();
    const all = aMixedIndex();
    await index.put(all);

    const read = await collect(index.read({ before: at(120) }));

    expect(read.map(keyOf)).toEqual(reference(all, { before: at(120) }));
    expect(read.some((e) => e.deviceId === 'late')).toBe(false);
    expect(read[0]).toEqual(entry('hub-b', 'early', -3_600));
  });

  it('starts at `from`, inclusive, and strictly after the entry `after` names', async () => {
    const index = await make();
    const all = aMixedIndex();
    await index.put(all);
    const after = { actionAt: at(60), hub: 'hub-a', deviceId: 'dev_1' };

    for (const range of [
      { before: at(4_000), from: at(60) },
      { before: at(4_000), after },
      { before: at(4_000), after, from: at(90) },
      { before: at(60), after },
    ])
      expect({ range, read: (await collect(index.read(range))).map(keyOf) }).toEqual({
        range,
        read: reference(all, range),
      });
  });

  it('reads the whole index a few entries at a time, resuming after the last one, whatever the limit', async () => {
    const index = await make();
    const all = aMixedIndex();
    await index.put(all);

    for (const limit of limits) {
      const got: ActionEntry[] = [];
      let after: OrderedRange['after'];
      for (;;) {
        const part = await collect(
          index.read({ before: at(4_000), limit, ...(after ? { after } : {}) }),
        );
        expect(part.length).toBeLessThanOrEqual(limit);
        got.push(...part);
        const last = part[part.length - 1];
        if (part.length < limit || !last) break;
        after = { actionAt: last.actionAt, hub: last.hub, deviceId: last.deviceId };
      }
      expect({ limit, read: got.map(keyOf) }).toEqual({
        limit,
        read: reference(all, { before: at(4_000) }),
      });
    }
  });

  it('refuses a limit that is not a positive integer', async () => {
    const index = await make();
    await expect(collect(index.read({ before: at(1), limit: 0 }))).rejects.toThrow(/limit/);
    await expect(collect(index.read({ before: at(1), limit: 2.5 }))).rejects.toThrow(/limit/);
  });
}

/**
 * The ledger table's index rows, modelled in memory: each partition's rows in RowKey order,
 * answering page queries as the Table service does (at most `top`, `more` when the range holds
 * more). Counts requests and entities returned, as a request log on Azurite would.
 */
export class ModelledIndexTable {
  readonly partitions = new Map<string, Record<string, unknown>[]>();
  readonly counts = { requests: 0, entities: 0 };

  put(entries: readonly ActionEntry[]): void {
    for (const e of entries) {
      const partitionKey = devicePartition(e);
      const rows = this.partitions.get(partitionKey) ?? [];
      rows.push({ ...e, partitionKey, rowKey: indexRowKey(e.actionAt, e.deviceId) });
      this.partitions.set(partitionKey, rows);
    }
    for (const rows of this.partitions.values())
      rows.sort((a, b) => (String(a.rowKey) < String(b.rowKey) ? -1 : 1));
  }

  readonly pages = async (q: IndexPageQuery): Promise<IndexPage> => {
    this.counts.requests += 1;
    const inRange = (this.partitions.get(q.partitionKey) ?? []).filter((row) => {
      const key = String(row.rowKey);
      return (
        (q.fromRowKey === undefined || key >= q.fromRowKey) &&
        (q.afterRowKey === undefined || key > q.afterRowKey) &&
        key < q.beforeRowKey
      );
    });
    const rows = inRange.slice(0, q.top);
    this.counts.entities += rows.length;
    return { rows, more: inRange.length > rows.length };
  };
}
