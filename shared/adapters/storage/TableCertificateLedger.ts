import { TableClient, TableEntityResult, odata } from '@azure/data-tables';
import { DeviceKey } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { ActionEntry, CertificateLedger, RecordRejected, Versioned } from '../../app/ports';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { RenewalIndexEntry, renewalIndexChange } from '../../domain/renewal/renewalIndexEntry';
import {
  UnstorableKey,
  escapeKey,
  ledgerEntityKeys,
  renewalIndexRowKey,
  shardOf,
  unescapeKey,
} from './storageKeys';
import { conditionalWrite } from './conditionalWrite';
import { retryableOnce } from './retryableOnce';
import { StorageCallOptions, classifyStorageAnswer, statusOf, storageCall } from './storageFaults';

/**
 * The certificate ledger in Azure Table storage (docs/storage.md says why tables):
 *
 * - table `<prefix>devices`: one entity per device; PartitionKey = escaped hub, RowKey = escaped
 *   device id. The record is JSON in `doc` (split over `doc1…` past a property's 64 KiB), with a
 *   few plain columns beside it for people browsing the table. Writes are guarded by ETags.
 * - table `<prefix>due`: the renewal index; PartitionKey = `s00…s15` (a hash shard of the
 *   device), RowKey = `<nextActionAt>~<hub>~<device>` (shared/domain/renewal/nextActionAt.ts).
 *   "Due before T" is one range query per shard, `RowKey lt T`, so it reads only the due
 *   entries: its cost grows with the answer.
 *
 * The index entry for a new due date is written before the record and the old one deleted
 * after, so a crash leaves at worst an extra entry, never a missing one; readers of the index
 * check the record (`actionsDueBefore` callers compare `nextActionAt`).
 *
 * What storage answers (storageFaults.ts): a request about one record that storage can never
 * accept (a key or a property over its limits) is a `RecordRejected`, so the use case
 * dead-letters that device's events and goes on; a table deleted after start-up is created
 * again by the call that finds it gone, which then tries once more. An id that is not text (a
 * lone surrogate) has no key: no record is found under it and none is written.
 */
export const DUE_SHARDS = 16;
/** Table string properties hold at most 64 KiB (32 Ki UTF-16 characters). */
const DOC_CHUNK_CHARS = 30_000;
/**
 * Records a listing asks for at a time. Smaller pages keep less of the fleet alive while each is
 * worked through, so fewer objects outlive V8's young generation: a 100,000-device CSV export
 * peaked at 170-182 MB with pages of 500 and stays under 150 MB with 250 (bench/csv-export.js),
 * for twice the round trips (400 for 100,000 devices).
 */
export const LIST_PAGE_SIZE = 250;
/** An entity holds at most 1 MiB in all: 15 chunks of 60 KB leave room for the rest. */
const MAX_DOC_CHUNKS = 15;

interface DeviceEntity {
  partitionKey: string;
  rowKey: string;
  hub: string;
  deviceId: string;
  lifecycle: string;
  connectionState: string;
  validUntil?: string;
  renewalDueAt?: string;
  findings: number;
  updatedAt: string;
  docChunks: number;
  /** `doc`, `doc1`, `doc2`…: the record's JSON. */
  [doc: string]: string | number | undefined;
}

interface DueEntity {
  partitionKey: string;
  rowKey: string;
  hub: string;
  deviceId: string;
  actionAt: string;
  renewalAt?: string;
  alertCheckAt?: string;
  validUntil: string;
  status: string;
}

export class TableCertificateLedger implements CertificateLedger {
  /** Creates the tables once per process, and again when one was deleted since. */
  private readonly ensureTables = retryableOnce(() =>
    storageCall('create ledger tables', async () => {
      await Promise.all([this.devices.createTable(), this.due.createTable()]);
    }),
  );

  /** For calls about one record: its rejection is the record's, a missing table is made again. */
  private readonly forRecord: StorageCallOptions = {
    forRecord: true,
    recreate: () => this.ensureTables.again(),
  };

  constructor(
    private readonly devices: TableClient,
    private readonly due: TableClient,
  ) {}

  async read(key: DeviceKey): Promise<Versioned<DeviceRecord> | undefined> {
    const keys = storableKeys(key);
    if (!keys) return undefined;
    await this.ensureTables();
    return storageCall(
      'read ledger record',
      async () => {
        try {
          const entity = await this.devices.getEntity<DeviceEntity>(keys.partitionKey, keys.rowKey);
          return { value: fromEntity(entity), etag: entity.etag };
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.forRecord,
    );
  }

  async write(
    record: DeviceRecord,
    previous: Versioned<DeviceRecord> | undefined,
  ): Promise<string> {
    const what = `ledger record ${record.hub}/${record.deviceId}`;
    try {
      ledgerEntityKeys(record);
    } catch (error) {
      if (error instanceof UnstorableKey) throw new RecordRejected(`${what}: ${error.message}`);
      throw error;
    }
    await this.ensureTables();
    // The entry comes and goes by the domain's rule (shared/domain/renewal/renewalIndexEntry.ts).
    const index = renewalIndexChange(previous?.value, record);
    if (index.put) await this.putDue(index.put);
    const entity = toEntity(record);
    const etag = await conditionalWrite(this.devices, entity, previous?.etag, what, this.forRecord);
    if (index.remove) await this.deleteDue(record, index.remove.actionAt);
    return etag;
  }

  async findByDeviceId(deviceId: string): Promise<DeviceRecord[]> {
    const rowKey = storableKeys({ hub: '', deviceId })?.rowKey;
    if (rowKey === undefined) return [];
    await this.ensureTables();
    const filter = odata`RowKey eq ${rowKey}`;
    return storageCall(
      'find ledger record',
      async () => {
        const found: DeviceRecord[] = [];
        for await (const entity of this.devices.listEntities<DeviceEntity>({
          queryOptions: { filter },
        })) {
          found.push(fromEntity(entity));
        }
        return found;
      },
      { recreate: () => this.ensureTables.again() },
    );
  }

  async *list(options: { hub?: string } = {}): AsyncIterable<DeviceRecord> {
    let filter: string | undefined;
    if (options.hub !== undefined) {
      const partitionKey = storableKeys({ hub: options.hub, deviceId: '' })?.partitionKey;
      if (partitionKey === undefined) return;
      filter = odata`PartitionKey eq ${partitionKey}`;
    }
    await this.ensureTables();
    const pages = this.devices
      .listEntities<DeviceEntity>(filter ? { queryOptions: { filter } } : {})
      .byPage({ maxPageSize: LIST_PAGE_SIZE });
    yield* this.unlessTableGone(async function* () {
      for await (const page of pages) {
        for (const entity of page) yield fromEntity(entity);
      }
    });
  }

  async *actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    await this.ensureTables();
    const due = this.due;
    yield* this.unlessTableGone(async function* () {
      for (let shard = 0; shard < DUE_SHARDS; shard += 1) {
        const filter = odata`PartitionKey eq ${duePartition(shard)} and RowKey lt ${before}`;
        for await (const entity of due.listEntities<DueEntity>({ queryOptions: { filter } })) {
          yield {
            hub: entity.hub,
            deviceId: entity.deviceId,
            actionAt: entity.actionAt,
            ...(entity.renewalAt ? { renewalAt: entity.renewalAt } : {}),
            ...(entity.alertCheckAt ? { alertCheckAt: entity.alertCheckAt } : {}),
            validUntil: entity.validUntil,
            status: entity.status as RenewalStatus,
          };
        }
      }
    });
  }

  async forgetAction(entry: ActionEntry): Promise<void> {
    await this.ensureTables();
    await this.deleteDue(entry, entry.actionAt);
  }

  /**
   * Streams `items`; when its table turns out to be gone (deleted after start-up), creates the
   * tables again and ends: a new table holds nothing to list.
   */
  private async *unlessTableGone<T>(items: () => AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* items();
    } catch (error) {
      if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
      await this.ensureTables.again();
    }
  }

  private async putDue(entry: RenewalIndexEntry): Promise<void> {
    const entity: DueEntity = { ...dueKeys(entry, entry.actionAt), ...entry };
    await storageCall(
      'write renewal index',
      () => this.due.upsertEntity(entity, 'Replace'),
      this.forRecord,
    );
  }

  private async deleteDue(key: DeviceKey, renewalDueAt: string): Promise<void> {
    const { partitionKey, rowKey } = dueKeys(key, renewalDueAt);
    await storageCall('delete renewal index entry', async () => {
      try {
        await this.due.deleteEntity(partitionKey, rowKey);
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }
}

function duePartition(shard: number): string {
  return `s${String(shard).padStart(2, '0')}`;
}

function dueKeys(key: DeviceKey, renewalDueAt: string) {
  return {
    partitionKey: duePartition(shardOf(key.hub, key.deviceId, DUE_SHARDS)),
    rowKey: renewalIndexRowKey(renewalDueAt, key),
  };
}

/** The entity's keys, or undefined for an id that cannot be a key unaltered. */
function storableKeys(key: DeviceKey): { partitionKey: string; rowKey: string } | undefined {
  try {
    return ledgerEntityKeys(key);
  } catch (error) {
    if (error instanceof UnstorableKey) return undefined;
    throw error;
  }
}

function toEntity(record: DeviceRecord): DeviceEntity {
  const doc = JSON.stringify(record);
  const parts = chunkText(doc, DOC_CHUNK_CHARS);
  const chunks = parts.length;
  if (chunks > MAX_DOC_CHUNKS) {
    throw new RecordRejected(
      `ledger record for ${record.hub}/${record.deviceId} is ${doc.length} characters, too large for one entity`,
    );
  }
  const entity: DeviceEntity = {
    ...ledgerEntityKeys(record),
    hub: record.hub,
    deviceId: record.deviceId,
    lifecycle: record.lifecycle,
    connectionState: record.connection.state,
    findings: record.findings.length,
    updatedAt: record.updatedAt,
    docChunks: chunks,
  };
  if (record.current) entity.validUntil = record.current.validUntil;
  if (record.renewalDueAt) entity.renewalDueAt = record.renewalDueAt;
  parts.forEach((part, i) => {
    entity[i === 0 ? 'doc' : `doc${i}`] = part;
  });
  return entity;
}

/** Cuts text into pieces of at most `size` UTF-16 units, never between a surrogate pair. */
export function chunkText(text: string, size: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length || parts.length === 0) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // a high surrogate
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

function fromEntity(entity: TableEntityResult<DeviceEntity>): DeviceRecord {
  let doc = '';
  const chunks = Number(entity.docChunks ?? 1);
  for (let i = 0; i < chunks; i += 1) doc += String(entity[i === 0 ? 'doc' : `doc${i}`] ?? '');
  const record = JSON.parse(doc) as DeviceRecord;
  // The keys are the source of truth for identity.
  record.hub = unescapeKey(entity.partitionKey ?? escapeKey(record.hub));
  record.deviceId = unescapeKey(entity.rowKey ?? escapeKey(record.deviceId));
  return record;
}
