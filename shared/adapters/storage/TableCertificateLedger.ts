import { performance } from 'node:perf_hooks';
import { TableClient, TableEntityResult, TransactionAction, odata } from '@azure/data-tables';
import { DeviceKey } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import {
  ActionEntry,
  CertificateLedger,
  RecordRejected,
  Versioned,
  WriteConflict,
} from '../../app/ports';
import { RenewalIndexEntry, renewalIndexChange } from '../../domain/renewal/renewalIndexEntry';
import {
  INDEX_ROW_PREFIX,
  UnstorableKey,
  devicePartition,
  escapeKey,
  hubPartitions,
  indexRowKey,
  unescapeKey,
} from './storageKeys';
import { LegacyLedgerTables } from './LegacyLedgerTables';
import { mapWithConcurrency } from '../../app/concurrency';
import {
  OrderedRange,
  mergeInOrder,
  readActionsDueBefore,
  readActionsInOrder,
} from './dueIndexReads';
import { DeviceEntity, fromEntity, toEntity } from './ledgerEntity';

export { chunkText } from './ledgerEntity';
import { retryableOnce } from './retryableOnce';
import {
  StorageCallOptions,
  classifyStorageAnswer,
  codeOf,
  statusOf,
  storageCall,
} from './storageFaults';

/**
 * The certificate ledger in Azure Table storage (docs/storage.md says why tables), one table
 * `<prefix>ledger`:
 *
 * - Each hub's devices are spread over 16 partitions, `<escaped hub>~00`…`~15` by a hash of the
 *   device (storageKeys.ts `devicePartition`): a hub of a million devices reconnecting at once
 *   writes to 16 partitions, not one. A device's partition follows from its key, so reading a
 *   record is one point read; listing a hub reads its 16 partitions.
 * - In its partition, a device's record is the row `<escaped device id>`: JSON in `doc` (split
 *   over `doc1…` past a property's 64 KiB), with a few plain columns beside it for people
 *   browsing the table. Writes are guarded by ETags.
 * - Beside it, the device's renewal-index row `~<nextActionAt>~<escaped device id>`. The record
 *   and its index rows change in one entity-group transaction: one round trip, and a crash can
 *   never leave one without the other. "Due before T" is one range query per partition.
 * - Partition `~hubs` names every hub with records (row `~<escaped hub>`), so the index is read
 *   hub by hub without scanning the table.
 *
 * Ledgers written before this layout (tables `<prefix>devices` and `<prefix>due`) are read
 * through while they hold records: a record found only there is moved here by its next write,
 * and `certfleet ledger migrate` moves the rest (LegacyLedgerTables.ts).
 *
 * What storage answers (storageFaults.ts): a request about one record that storage can never
 * accept (a key or a property over its limits) is a `RecordRejected`, so the use case
 * dead-letters that device's events and goes on; a table deleted after start-up is created
 * again by the call that finds it gone, which then tries once more. An id that is not text (a
 * lone surrogate) has no key: no record is found under it and none is written.
 */
/**
 * Records a listing asks for at a time. Smaller pages keep less of the fleet alive while each is
 * worked through, so fewer objects outlive V8's young generation: a 100,000-device CSV export
 * peaked at 170-182 MB with pages of 500 and stays under 150 MB with 250 (bench/csv-export.js),
 * for twice the round trips (400 for 100,000 devices).
 */
export const LIST_PAGE_SIZE = 250;
/** A hub's listing reads its 16 partitions side by side, this many records each at a time. */
const PARTITION_PAGE_SIZE = 100;
/** How long a process trusts that a hub it named is still named (see `knownHubs`). */
const HUB_RENAMING_MS = 60 * 60 * 1000;
/** Records the migration moves side by side. */
const MIGRATION_CONCURRENCY = 16;
/** The partition naming every hub with records. */
const HUBS_PARTITION = '~hubs';
/** A legacy record's version: its next write creates it in this table and removes it there. */
const LEGACY_ETAG = 'legacy:';

/** What `migrateLegacy` did. */
export interface LedgerMigration {
  moved: number;
  /** Already written here by the app: only removed from the legacy tables. */
  alreadyMoved: number;
  /** Records this table refused (they stay in the legacy tables, which are then kept). */
  left: number;
  legacyDropped: boolean;
}

type IndexEntity = Record<string, unknown> &
  RenewalIndexEntry & { partitionKey: string; rowKey: string };

export class TableCertificateLedger implements CertificateLedger {
  /** Creates the table once per process, and again when it was deleted since. */
  private readonly ensureTables = retryableOnce(() =>
    storageCall('create ledger table', async () => {
      // A table made again has lost `~hubs`: each hub is named again by its next new record.
      this.knownHubs.clear();
      await this.table.createTable();
    }),
  );

  /** For calls about one record: its rejection is the record's, a missing table is made again. */
  private readonly forRecord: StorageCallOptions = {
    forRecord: true,
    recreate: () => this.ensureTables.again(),
  };

  /**
   * Hubs this process has named in `~hubs`, and when. Named again after an hour: if another
   * process made the table again meanwhile (deleted after start-up), the hub's row is back
   * within the hour.
   */
  private readonly knownHubs = new Map<string, number>();

  constructor(
    private readonly table: TableClient,
    /** The tables of the layout before this one, read through while they hold records. */
    private readonly legacy?: LegacyLedgerTables,
  ) {}

  async read(key: DeviceKey): Promise<Versioned<DeviceRecord> | undefined> {
    const keys = storableKeys(key);
    if (!keys) return undefined;
    await this.ensureTables();
    const found = await storageCall(
      'read ledger record',
      async () => {
        try {
          const entity = await this.table.getEntity<DeviceEntity>(keys.partitionKey, keys.rowKey);
          return { value: fromEntity(entity, key.hub), etag: entity.etag };
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.forRecord,
    );
    if (found || !(await this.legacy?.holdsRecords())) return found;
    const old = await this.legacy!.read(key);
    return old && { value: old.value, etag: `${LEGACY_ETAG}${old.etag}` };
  }

  async write(
    record: DeviceRecord,
    previous: Versioned<DeviceRecord> | undefined,
  ): Promise<string> {
    const what = `ledger record ${record.hub}/${record.deviceId}`;
    const keys = storableKeys(record);
    if (!keys) throw new RecordRejected(`${what}: its id cannot be a storage key unaltered`);
    await this.ensureTables();
    const fromLegacy = previous?.etag.startsWith(LEGACY_ETAG) ?? false;
    // A record created without a read (insert first) must not hide one the legacy tables hold.
    if (!previous && (await this.legacy?.holdsRecords()) && (await this.legacy!.read(record)))
      throw new WriteConflict(`${what} is still in the legacy tables: read it first`);
    if (!previous || fromLegacy) await this.nameHub(record.hub);
    // The index rows come and go by the domain's rule (shared/domain/renewal/renewalIndexEntry.ts),
    // in the record's own transaction. A record moved from the legacy tables has no row here
    // yet, whatever its legacy entry said: it is indexed as a new record.
    const index = renewalIndexChange(fromLegacy ? undefined : previous?.value, record);
    const entity = toEntity(record);
    const actions: TransactionAction[] = [
      previous && !fromLegacy
        ? ['update', entity, 'Replace', { etag: previous.etag }]
        : ['create', entity],
    ];
    const put = index.put && indexEntity(index.put);
    if (put) actions.push(['upsert', put, 'Replace']);
    const removed = index.remove && !fromLegacy ? indexEntity(index.remove) : undefined;
    const etag = await this.transact(what, actions, removed);
    // The table was made again during the transaction (deleted since start-up): name the hub
    // in the new one too, or its records would be out of `list` and the index.
    if (!previous || fromLegacy) await this.nameHub(record.hub);
    // The record is moved: a failure to delete the old copy leaves it to the migration, which
    // finds it here already and only removes it there.
    if (fromLegacy) await this.legacy!.remove(record, previous!.value).catch(() => undefined);
    return etag;
  }

  /**
   * Submits a record's transaction (its write first, then index rows); `removed` is an index row
   * to delete with it. Someone else's write first is a `WriteConflict`. An index row already
   * gone (forgotten by the sweep) fails the transaction: it is sent again without it.
   */
  private async transact(
    what: string,
    actions: TransactionAction[],
    removed: IndexEntity | undefined,
  ): Promise<string> {
    const all: TransactionAction[] =
      removed && !actions.some((a) => rowKeyOf(a) === removed.rowKey)
        ? [...actions, ['delete', removed]]
        : actions;
    const creating = actions[0]?.[0] === 'create';
    const submit = async (sent: TransactionAction[]): Promise<string> => {
      try {
        const response = await this.table.submitTransaction(sent);
        return etagOf(response.subResponses[0]); // the record is always the first action
      } catch (error) {
        const status = statusOf(error);
        if (
          status === 404 &&
          sent.length > actions.length &&
          failedActionOf(error) === sent.length - 1
        )
          return submit(actions); // the old index row was gone already: write the rest
        const answer = classifyStorageAnswer(error);
        const conflict =
          status === 412 ||
          codeOf(error) === 'UpdateConditionNotSatisfied' ||
          (status === 409 && creating && answer !== 'transient') ||
          (status === 404 && !creating && answer !== 'missing-resource');
        if (conflict) throw new WriteConflict(`${what} changed since it was read`);
        throw error;
      }
    };
    return storageCall(`write ${what}`, () => submit(all), this.forRecord);
  }

  /** Names the hub in `~hubs` once per process, before its first record is created. */
  private async nameHub(hub: string): Promise<void> {
    const named = this.knownHubs.get(hub);
    if (named !== undefined && performance.now() - named < HUB_RENAMING_MS) return;
    await storageCall(
      'name hub in ledger',
      () =>
        this.table.upsertEntity(
          { partitionKey: HUBS_PARTITION, rowKey: `~${escapeKey(hub)}`, hub },
          'Replace',
        ),
      this.forRecord,
    );
    this.knownHubs.set(hub, performance.now());
  }

  /** The hubs with records, from `~hubs`. */
  async hubs(): Promise<string[]> {
    await this.ensureTables();
    const filter = odata`PartitionKey eq ${HUBS_PARTITION}`;
    return storageCall(
      'list ledger hubs',
      async () => {
        const hubs: string[] = [];
        for await (const entity of this.table.listEntities<{ hub: string }>({
          queryOptions: { filter },
        }))
          hubs.push(unescapeKey(String(entity.rowKey).slice(1)));
        return hubs;
      },
      { recreate: () => this.ensureTables.again() },
    );
  }

  async findByDeviceId(deviceId: string): Promise<DeviceRecord[]> {
    const found: DeviceRecord[] = [];
    // One point read per hub: a device's partition follows from its hub and id.
    for (const hub of await this.hubs()) {
      const stored = await this.read({ hub, deviceId });
      if (stored && !stored.etag.startsWith(LEGACY_ETAG)) found.push(stored.value);
    }
    if (await this.legacy?.holdsRecords())
      found.push(...(await this.legacy!.findByDeviceId(deviceId)));
    return found;
  }

  /**
   * Every record, by hub (in key order), then device id: a hub's 16 partitions are read a page
   * at a time each and merged. Records still in the legacy tables come after.
   */
  async *list(options: { hub?: string; after?: DeviceKey } = {}): AsyncIterable<DeviceRecord> {
    await this.ensureTables();
    const { after } = options;
    if (after && !storableKeys(after))
      throw new RangeError('list: `after` names a device id that cannot be a storage key');
    const legacy = (await this.legacy?.holdsRecords()) ? this.legacy : undefined;
    // The legacy records come after this table's: a place among them resumes there only.
    if (after && legacy && !(await this.readHere(after))) {
      yield* legacy.list({ ...options, after });
      return;
    }
    const afterHub = after ? escapeKey(after.hub) : undefined;
    const hubs = (options.hub !== undefined ? [options.hub] : await this.hubs())
      .filter((hub) => afterHub === undefined || compare(escapeKey(hub), afterHub) >= 0)
      .sort((a, b) => compare(escapeKey(a), escapeKey(b)));
    const table = this.table;
    yield* this.unlessTableGone(async function* () {
      for (const hub of hubs) {
        const partitions = partitionsOf(hub);
        if (!partitions) continue;
        yield* mergedByRowKey(
          partitions.map((partition) =>
            table
              .listEntities<DeviceEntity>({
                queryOptions: {
                  filter:
                    after && escapeKey(hub) === afterHub
                      ? odata`PartitionKey eq ${partition} and RowKey gt ${escapeKey(after.deviceId)} and RowKey lt ${INDEX_ROW_PREFIX}`
                      : odata`PartitionKey eq ${partition} and RowKey lt ${INDEX_ROW_PREFIX}`,
                },
              })
              .byPage({ maxPageSize: PARTITION_PAGE_SIZE }),
          ),
          (entity) => fromEntity(entity, hub),
        );
      }
    });
    if (legacy) yield* legacy.list({ hub: options.hub });
  }

  /** The record in this table only (not read through to the legacy ones). */
  private async readHere(key: DeviceKey): Promise<boolean> {
    const keys = storableKeys(key);
    if (!keys) return false;
    return storageCall('read ledger record', async () => {
      try {
        await this.table.getEntity(keys.partitionKey, keys.rowKey, {
          queryOptions: { select: ['RowKey'] },
        });
        return true;
      } catch (error) {
        if (statusOf(error) === 404) return false;
        throw error;
      }
    });
  }

  async *actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    await this.ensureTables();
    const table = this.table;
    const partitions = (await this.hubs()).flatMap((hub) => partitionsOf(hub) ?? []);
    yield* this.unlessTableGone(() => readActionsDueBefore(table, partitions, before));
    if (await this.legacy?.holdsRecords()) yield* this.legacy!.actionsDueBefore(before);
  }

  /**
   * The index in reading order (dueIndexReads.ts): one range query per partition of every
   * hub, merged. While the legacy tables hold records, their due entries are merged in (read
   * whole each time: a migration's passing cost).
   */
  async *actionsInOrder(range: OrderedRange): AsyncIterable<ActionEntry> {
    await this.ensureTables();
    const table = this.table;
    const partitions = (await this.hubs()).flatMap((hub) => partitionsOf(hub) ?? []);
    const ordered = this.unlessTableGone(() => readActionsInOrder(table, partitions, range));
    if (!(await this.legacy?.holdsRecords())) {
      yield* ordered;
      return;
    }
    const legacy: ActionEntry[] = [];
    for await (const entry of this.legacy!.actionsDueBefore(range.before)) legacy.push(entry);
    yield* mergeInOrder(ordered, legacy, range);
  }

  /**
   * In this table a record and its index rows change in one transaction, so no row outlives the
   * record state it was written for: an entry a reader found out of date is already gone, or is
   * the row of a record that moved back to that time since (deleting it would drop the device
   * from the index). Only the legacy index can hold an entry to forget.
   */
  async forgetAction(entry: ActionEntry): Promise<void> {
    if (await this.legacy?.holdsRecords()) await this.legacy!.forgetAction(entry);
  }

  /**
   * Moves every record of the legacy tables into this layout (`certfleet ledger migrate`), and
   * deletes them when none is left. Resumable and safe beside a running app: a record the app
   * has already moved (by writing it) is not copied over, only removed there. A record this
   * table cannot hold stays where it was, counted.
   */
  async migrateLegacy(
    progress: (counts: LedgerMigration) => void = () => undefined,
  ): Promise<LedgerMigration> {
    const counts: LedgerMigration = { moved: 0, alreadyMoved: 0, left: 0, legacyDropped: false };
    const legacy = this.legacy;
    if (!legacy || !(await legacy.present())) return counts;
    const move = async (record: DeviceRecord) => {
      try {
        // Written as its next write would move it: created here, never over a newer copy.
        await this.write(record, { value: record, etag: LEGACY_ETAG });
        counts.moved += 1;
      } catch (error) {
        if (error instanceof WriteConflict) counts.alreadyMoved += 1;
        else if (error instanceof RecordRejected) {
          counts.left += 1;
          return;
        } else throw error;
      }
      await legacy.remove(record, record);
    };
    let chunk: DeviceRecord[] = [];
    let reported = 0;
    const moveChunk = async () => {
      await mapWithConcurrency(chunk, MIGRATION_CONCURRENCY, move);
      chunk = [];
      const done = counts.moved + counts.alreadyMoved;
      if (done - reported >= 1000) {
        reported = done;
        progress(counts);
      }
    };
    // A page at a time, 16 records side by side: the listing goes on past deleted rows.
    for await (const record of legacy.records()) {
      chunk.push(record);
      if (chunk.length >= LIST_PAGE_SIZE) await moveChunk();
    }
    await moveChunk();
    if (counts.left === 0) {
      await legacy.drop();
      counts.legacyDropped = true;
    }
    return counts;
  }

  /**
   * Streams `items`; when its table turns out to be gone (deleted after start-up), creates the
   * table again and ends: a new table holds nothing to list.
   */
  private async *unlessTableGone<T>(items: () => AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* items();
    } catch (error) {
      if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
      await this.ensureTables.again();
    }
  }
}

/**
 * Merges streams of pages, each in RowKey order, into one in RowKey order, holding one page of
 * each at a time.
 */
async function* mergedByRowKey<T>(
  streams: AsyncIterable<TableEntityResult<DeviceEntity>[]>[],
  as: (entity: TableEntityResult<DeviceEntity>) => T,
): AsyncIterable<T> {
  const heads = streams.map((stream) => ({
    pages: stream[Symbol.asyncIterator](),
    page: [] as TableEntityResult<DeviceEntity>[],
    at: 0,
    done: false,
  }));
  const fill = async (head: (typeof heads)[number]) => {
    while (!head.done && head.at >= head.page.length) {
      const next = await head.pages.next();
      if (next.done) head.done = true;
      else {
        head.page = next.value;
        head.at = 0;
      }
    }
  };
  await Promise.all(heads.map(fill));
  for (;;) {
    let best: (typeof heads)[number] | undefined;
    for (const head of heads) {
      if (head.at >= head.page.length) continue;
      if (!best || compare(head.page[head.at]!.rowKey!, best.page[best.at]!.rowKey!) < 0)
        best = head;
    }
    if (!best) return;
    yield as(best.page[best.at]!);
    best.at += 1;
    await fill(best);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function indexEntity(entry: RenewalIndexEntry): IndexEntity {
  return {
    ...entry,
    partitionKey: devicePartition(entry),
    rowKey: indexRowKey(entry.actionAt, entry.deviceId),
  };
}

function rowKeyOf(action: TransactionAction): string {
  return String((action[1] as { rowKey: string }).rowKey);
}

function etagOf(response: { etag?: string } | undefined): string {
  if (!response?.etag) throw new Error('table service returned no ETag');
  return response.etag;
}

/**
 * Which action of a transaction the service refused: its error message starts with the index
 * (`2:The specified resource does not exist.`).
 */
function failedActionOf(error: unknown): number | undefined {
  const e = error as {
    details?: { odataError?: { message?: { value?: unknown } } };
    message?: unknown;
  };
  const texts = [e.details?.odataError?.message?.value, e.message];
  for (const text of texts) {
    const match = typeof text === 'string' ? /^(\d+):/.exec(text) : null;
    if (match) return Number(match[1]);
  }
  return undefined;
}

function partitionsOf(hub: string): string[] | undefined {
  try {
    return hubPartitions(hub);
  } catch (error) {
    if (error instanceof UnstorableKey) return undefined;
    throw error;
  }
}

/** The record's keys, or undefined for an id that cannot be a key unaltered. */
function storableKeys(key: DeviceKey): { partitionKey: string; rowKey: string } | undefined {
  try {
    return { partitionKey: devicePartition(key), rowKey: escapeKey(key.deviceId) };
  } catch (error) {
    if (error instanceof UnstorableKey) return undefined;
    throw error;
  }
}
