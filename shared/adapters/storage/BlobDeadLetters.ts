import { ContainerClient } from '@azure/storage-blob';
import { DeadLetter, DeadLetters } from '../../app/ports';
import { datePath, escapeKey } from './storageKeys';
import { retryableOnce } from './retryableOnce';
import { classifyStorageAnswer, storageCall } from './storageFaults';

/**
 * Dead letters: one JSON blob per rejected message, `YYYY/MM/DD/<code>/<id>.json` by the date
 * it was received and the kind of problem, with the reason and the message (private keys
 * already redacted). The id is a hash of the message, so a redelivery the same day overwrites
 * rather than adds. (Not blob index tags: writing them needs Storage Blob Data Owner.) A
 * container deleted after start-up is created again by the put that finds it gone.
 */
export class BlobDeadLetters implements DeadLetters {
  private readonly ensureContainer = retryableOnce(() =>
    storageCall('create dead-letter container', async () => {
      await this.container.createIfNotExists();
    }),
  );

  constructor(private readonly container: ContainerClient) {}

  async put(letter: DeadLetter): Promise<void> {
    await this.ensureContainer();
    const body = JSON.stringify(letter, null, 2);
    const blob = this.container.getBlockBlobClient(
      `${datePath(letter.receivedAt)}/${escapeKey(letter.code)}/${letter.id}.json`,
    );
    await storageCall(
      'write dead letter',
      () =>
        blob.upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
        }),
      { recreate: () => this.ensureContainer.again() },
    );
  }

  async *list(): AsyncIterable<DeadLetter> {
    await this.ensureContainer();
    try {
      for await (const item of this.container.listBlobsFlat()) {
        const buffer = await storageCall('read dead letter', () =>
          this.container.getBlockBlobClient(item.name).downloadToBuffer(),
        );
        yield JSON.parse(buffer.toString('utf8')) as DeadLetter;
      }
    } catch (error) {
      // Deleted after start-up: a new container holds no letters.
      if (classifyStorageAnswer(error) !== 'missing-resource') throw error;
      await this.ensureContainer.again();
    }
  }
}
