import { TableClient, TableEntityResult, odata } from '@azure/data-tables';
import { DeviceKey } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { ActionEntry, Versioned } from '../../app/ports';
import { renewalIndexEntry } from '../../domain/renewal/renewalIndexEntry';
import { UnstorableKey, ledgerEntityKeys, renewalIndexRowKey, shardOf } from './storageKeys';
import { DeviceEntity, fromEntity } from './ledgerEntity';
import { classifyStorageAnswer, statusOf, storageCall } from './storageFaults';

/** The legacy index's partitions: `s00`…`s15` by a hash of the device. */
const DUE_SHARDS = 16;

/**
 * The ledger's tables before each hub was spread over partitions: `<prefix>devices` (one
 * entity per device, PartitionKey the escaped hub) and `<prefix>due` (the renewal index,
 * PartitionKey a hash shard `s00`…`s15`, RowKey `<actionAt>~<hub>~<device>`). The ledger reads
 * through them while they hold records, and `certfleet ledger migrate` empties them into the
 * new layout, then deletes them. Only reads and deletes: nothing is written here any more.
 */
export class LegacyLedgerTables {
  private holding: Promise<boolean> | undefined;

  constructor(
    private readonly devices: TableClient,
    private readonly due: TableClient,
  ) {}

  /** Whether the legacy table holds a record (asked once per process; false once gone). */
  holdsRecords(): Promise<boolean> {
    // A failed look (a passing fault) is not kept: the next call looks again.
    this.holding ??= this.anyRecord().catch((error: unknown) => {
      this.holding = undefined;
      throw error;
    });
    return this.holding;
  }

  private async anyRecord(): Promise<boolean> {
    return storageCall('look for legacy ledger records', async () => {
      try {
        for await (const page of this.devices.listEntities().byPage({ maxPageSize: 1 }))
          return page.length > 0;
        return false;
      } catch (error) {
        if (classifyStorageAnswer(error) === 'missing-resource') return false;
        throw error;
      }
    });
  }

  async read(key: DeviceKey): Promise<Versioned<DeviceRecord> | undefined> {
    const keys = legacyKeys(key);
    if (!keys) return undefined;
    return storageCall('read legacy ledger record', async () => {
      try {
        const entity = await this.devices.getEntity<DeviceEntity>(keys.partitionKey, keys.rowKey);
        return { value: fromEntity(entity), etag: entity.etag };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  /** Deletes a record moved to the new layout, and its index entry. */
  async remove(key: DeviceKey, record: DeviceRecord): Promise<void> {
    const keys = legacyKeys(key);
    if (!keys) return;
    await this.deleteFrom(this.devices, keys.partitionKey, keys.rowKey);
    const entry = renewalIndexEntry(record);
    if (entry) await this.forgetAction(entry);
  }

  async forgetAction(entry: ActionEntry): Promise<void> {
    const partition = `s${String(shardOf(entry.hub, entry.deviceId, DUE_SHARDS)).padStart(2, '0')}`;
    let rowKey: string;
    try {
      rowKey = renewalIndexRowKey(entry.actionAt, entry);
    } catch (error) {
      if (error instanceof UnstorableKey) return;
      throw error;
    }
    await this.deleteFrom(this.due, partition, rowKey);
  }

  async findByDeviceId(deviceId: string): Promise<DeviceRecord[]> {
    const keys = legacyKeys({ hub: '', deviceId });
    if (!keys) return [];
    const filter = odata`RowKey eq ${keys.rowKey}`;
    return this.collect(this.devices.listEntities<DeviceEntity>({ queryOptions: { filter } }));
  }

  /** In key order (escaped hub, then escaped id); `after`: only what comes after that key. */
  async *list(options: { hub?: string; after?: DeviceKey } = {}): AsyncIterable<DeviceRecord> {
    const filters: string[] = [];
    if (options.hub !== undefined) {
      const keys = legacyKeys({ hub: options.hub, deviceId: '' });
      if (!keys) return;
      filters.push(odata`PartitionKey eq ${keys.partitionKey}`);
    }
    if (options.after) {
      const keys = legacyKeys(options.after);
      if (!keys) return;
      filters.push(
        odata`(PartitionKey gt ${keys.partitionKey} or (PartitionKey eq ${keys.partitionKey} and RowKey gt ${keys.rowKey}))`,
      );
    }
    const filter = filters.length > 0 ? filters.join(' and ') : undefined;
    try {
      for await (const entity of this.devices.listEntities<DeviceEntity>(
        filter ? { queryOptions: { filter } } : {},
      ))
        yield fromEntity(entity);
    } catch (error) {
      if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
      this.holding = Promise.resolve(false); // dropped by a migration since
    }
  }

  async *actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    for (let shard = 0; shard < DUE_SHARDS; shard += 1) {
      const partition = `s${String(shard).padStart(2, '0')}`;
      const filter = odata`PartitionKey eq ${partition} and RowKey lt ${before}`;
      try {
        for await (const entity of this.due.listEntities<Record<string, unknown>>({
          queryOptions: { filter },
        })) {
          const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...fields } = entity;
          yield fields as unknown as ActionEntry;
        }
      } catch (error) {
        if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
        return;
      }
    }
  }

  /** Every legacy record, for the migration. */
  records(): AsyncIterable<DeviceRecord> {
    return this.list();
  }

  /** Whether either legacy table exists (holding records or not). */
  async present(): Promise<boolean> {
    for (const table of [this.devices, this.due]) {
      const exists = await storageCall('look for legacy ledger table', async () => {
        try {
          // The first page answers: the table is there (empty or not).
          await table.listEntities().byPage({ maxPageSize: 1 }).next();
          return true;
        } catch (error) {
          if (classifyStorageAnswer(error) === 'missing-resource') return false;
          throw error;
        }
      });
      if (exists) return true;
    }
    return false;
  }

  /** Deletes both legacy tables (the migration's last step, once they hold no record). */
  async drop(): Promise<void> {
    for (const table of [this.devices, this.due]) {
      await storageCall('delete legacy ledger table', async () => {
        try {
          await table.deleteTable();
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      });
    }
    this.holding = Promise.resolve(false);
  }

  private async deleteFrom(table: TableClient, partitionKey: string, rowKey: string) {
    await storageCall('delete legacy ledger entity', async () => {
      try {
        await table.deleteEntity(partitionKey, rowKey);
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }

  private async collect(
    entities: AsyncIterable<TableEntityResult<DeviceEntity>>,
  ): Promise<DeviceRecord[]> {
    return storageCall('find legacy ledger record', async () => {
      const found: DeviceRecord[] = [];
      try {
        for await (const entity of entities) found.push(fromEntity(entity));
      } catch (error) {
        if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
      }
      return found;
    });
  }
}

function legacyKeys(key: DeviceKey): { partitionKey: string; rowKey: string } | undefined {
  try {
    return ledgerEntityKeys(key);
  } catch (error) {
    if (error instanceof UnstorableKey) return undefined;
    throw error;
  }
}
