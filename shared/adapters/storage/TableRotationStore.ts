import { TableClient, TableEntity, odata } from '@azure/data-tables';
import { Rotation } from '../../domain/rotation/Rotation';
import { RecordRejected, RotationStore, Versioned } from '../../app/ports';
import { conditionalWrite } from './conditionalWrite';
import { chunkText } from './ledgerEntity';
import { retryableOnce } from './retryableOnce';
import { classifyStorageAnswer, statusOf, storageCall } from './storageFaults';

/**
 * Planned CA rotations in table `<prefix>state`, beside the pacing state: PartitionKey
 * `rotations`, RowKey the rotation's id, its JSON in `doc`, `doc1`… (a Table string holds at
 * most 32 Ki UTF-16 characters; a rotation's histogram of a large fleet takes several), every
 * write under the ETag read (conditionalWrite). A table deleted after start-up is created again
 * by the call that finds it gone.
 */
const PARTITION = 'rotations';
const CHUNK_CHARS = 30_000;
/** An entity holds at most 1 MiB: 15 chunks of 60 KB leave room for the rest. */
const MAX_CHUNKS = 15;

type RotationEntity = TableEntity<{
  status: string;
  docChunks: number;
  [doc: string]: string | number;
}>;

export class TableRotationStore implements RotationStore {
  private readonly ensureTable = retryableOnce(() =>
    storageCall('create state table', async () => {
      await this.table.createTable();
    }),
  );

  private readonly recreate = { recreate: () => this.ensureTable.again() };

  constructor(private readonly table: TableClient) {}

  async read(id: string): Promise<Versioned<Rotation> | undefined> {
    await this.ensureTable();
    return storageCall(
      'read rotation',
      async () => {
        try {
          const entity = await this.table.getEntity<RotationEntity>(PARTITION, id);
          return { value: rotationOf(entity), etag: entity.etag };
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return undefined;
          throw error;
        }
      },
      this.recreate,
    );
  }

  async list(): Promise<Versioned<Rotation>[]> {
    await this.ensureTable();
    return storageCall(
      'list rotations',
      async () => {
        const found: Versioned<Rotation>[] = [];
        const entities = this.table.listEntities<RotationEntity>({
          queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
        });
        for await (const entity of entities)
          found.push({ value: rotationOf(entity), etag: entity.etag });
        return found;
      },
      this.recreate,
    );
  }

  async write(rotation: Rotation, previous: Versioned<Rotation> | undefined): Promise<string> {
    await this.ensureTable();
    const doc = JSON.stringify(rotation);
    const parts = chunkText(doc, CHUNK_CHARS);
    if (parts.length > MAX_CHUNKS)
      throw new RecordRejected(
        `rotation ${rotation.id} is ${doc.length} characters, too large for one entity`,
      );
    const entity: RotationEntity = {
      partitionKey: PARTITION,
      rowKey: rotation.id,
      status: rotation.status,
      docChunks: parts.length,
    };
    parts.forEach((part, i) => {
      entity[i === 0 ? 'doc' : `doc${i}`] = part;
    });
    return conditionalWrite(
      this.table,
      entity,
      previous?.etag,
      `rotation ${rotation.id}`,
      this.recreate,
    );
  }
}

function rotationOf(entity: RotationEntity): Rotation {
  let doc = '';
  const chunks = Number(entity.docChunks ?? 1);
  for (let i = 0; i < chunks; i += 1) doc += String(entity[i === 0 ? 'doc' : `doc${i}`] ?? '');
  return JSON.parse(doc) as Rotation;
}
