import { ContainerClient } from '@azure/storage-blob';
import { CheckpointStore } from '../../app/ports';
import { retryableOnce } from './retryableOnce';
import { statusOf, storageCall } from './storageFaults';

/**
 * The signed checkpoints of the audit trail: one block blob each, `checkpoint-NNNNNNNNNN.json`
 * by number, in a container of their own (`<prefix>-auditcheckpoints`; `<prefix>-checkpoints`
 * holds `certfleet listen`'s Event Hubs checkpoints, which are rewritten) so it can be put under
 * a time-based immutability (WORM) policy. A number is taken with If-None-Match: *, so two checkpointers racing for it
 * get one winner and nothing is ever overwritten.
 */
const NAME = /^checkpoint-(\d{10,15})\.json$/;

export class BlobCheckpointStore implements CheckpointStore {
  private readonly ensureContainer = retryableOnce(() =>
    storageCall('create checkpoint container', async () => {
      await this.container.createIfNotExists();
    }),
  );

  constructor(private readonly container: ContainerClient) {}

  async list(): Promise<number[]> {
    await this.ensureContainer();
    const seqs: number[] = [];
    await storageCall('list checkpoints', async () => {
      seqs.length = 0;
      for await (const item of this.container.listBlobsFlat({ prefix: 'checkpoint-' })) {
        const match = NAME.exec(item.name);
        if (match) seqs.push(Number(match[1]));
      }
    });
    return seqs.sort((a, b) => a - b);
  }

  async read(seq: number): Promise<string | undefined> {
    await this.ensureContainer();
    return storageCall('read checkpoint', async () => {
      try {
        const buffer = await this.container.getBlockBlobClient(nameOf(seq)).downloadToBuffer();
        return buffer.toString('utf8');
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    });
  }

  async create(seq: number, text: string): Promise<boolean> {
    await this.ensureContainer();
    return storageCall(
      'write checkpoint',
      async () => {
        try {
          await this.container
            .getBlockBlobClient(nameOf(seq))
            .upload(text, Buffer.byteLength(text), {
              conditions: { ifNoneMatch: '*' },
              blobHTTPHeaders: { blobContentType: 'application/json' },
            });
          return true;
        } catch (error) {
          // 409 BlobAlreadyExists, or 412 when the condition fails: the number is taken.
          if (statusOf(error) === 409 || statusOf(error) === 412) return false;
          throw error;
        }
      },
      { recreate: () => this.ensureContainer.again() },
    );
  }
}

export function nameOf(seq: number): string {
  return `checkpoint-${String(seq).padStart(10, '0')}.json`;
}
