import { TableClient } from '@azure/data-tables';
import { PacingState } from '../../domain/renewal/Pacing';
import { PacingStore, Versioned } from '../../app/ports';
import { conditionalWrite } from './conditionalWrite';
import { retryableOnce } from './retryableOnce';
import { classifyStorageAnswer, statusOf, storageCall } from './storageFaults';

/**
 * The pacing state in table `<prefix>state`, one entity (PartitionKey `pacing`, RowKey
 * `fleet`) holding its JSON. The sweep and the connection-triggered requests share it under
 * ETags, so the per-minute budget holds across them. A table deleted after start-up is created
 * again by the call that finds it gone.
 */
const KEYS = { partitionKey: 'pacing', rowKey: 'fleet' };

export class TablePacingStore implements PacingStore {
  private readonly ensureTable = retryableOnce(() =>
    storageCall('create state table', async () => {
      await this.table.createTable();
    }),
  );

  private readonly recreate = { recreate: () => this.ensureTable.again() };

  constructor(private readonly table: TableClient) {}

  async read(): Promise<Versioned<PacingState> | undefined> {
    await this.ensureTable();
    return storageCall(
      'read pacing state',
      async () => {
        try {
          const entity = await this.table.getEntity<{ doc: string }>(
            KEYS.partitionKey,
            KEYS.rowKey,
          );
          return { value: JSON.parse(entity.doc) as PacingState, etag: entity.etag };
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.recreate,
    );
  }

  async write(state: PacingState, previous: Versioned<PacingState> | undefined): Promise<string> {
    await this.ensureTable();
    const entity = { ...KEYS, doc: JSON.stringify(state) };
    return conditionalWrite(this.table, entity, previous?.etag, 'pacing state', this.recreate);
  }
}
