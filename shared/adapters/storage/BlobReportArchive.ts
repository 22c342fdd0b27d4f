import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { ContainerClient } from '@azure/storage-blob';
import { ReportArchive, ReportChanged } from '../../app/ports';
import { ReportFileDigest } from '../../domain/AuditEntry';
import { fileDigest } from '../../domain/reports/fileDigest';
import { retryableOnce } from './retryableOnce';
import { statusOf, storageCall } from './storageFaults';

/**
 * The daily point-in-time reports: block blobs `reports/YYYY-MM-DD/<file>` in the
 * `<prefix>-reports` container (which can go under a time-based immutability policy like the
 * audit trail's). A file is uploaded streamed, in 4 MiB blocks, and committed only if the name
 * is free (If-None-Match: *), so a report is written once and a rerun finds it.
 */
const BLOCK_BYTES = 4 * 1024 * 1024;
const COALESCE_CHARS = 1024 * 1024;

export class BlobReportArchive implements ReportArchive {
  private readonly ensureContainer = retryableOnce(() =>
    storageCall('create report container', async () => {
      await this.container.createIfNotExists();
    }),
  );

  constructor(private readonly container: ContainerClient) {}

  async write(
    date: string,
    name: string,
    content: AsyncIterable<string>,
    contentType: string,
  ): Promise<ReportFileDigest & { existed: boolean }> {
    await this.ensureContainer();
    const blob = this.container.getBlockBlobClient(blobName(date, name));
    // A rerun finds the file before building its content again (the condition below settles
    // a race between two writers).
    if (await storageCall('check report', () => blob.exists()))
      return { ...(await this.digestOf(date, name)), existed: true };
    const hash = createHash('sha256');
    let bytes = 0;
    const digesting = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    const source = Readable.from(encoded(content)).pipe(digesting);
    try {
      await blob.uploadStream(source, BLOCK_BYTES, 2, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: contentType },
      });
    } catch (error) {
      source.destroy();
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
      return { ...(await this.digestOf(date, name)), existed: true };
    }
    return { name, bytes, sha256: hash.digest('hex'), existed: false };
  }

  async read(
    date: string,
    name: string,
    options: { ifMatch?: string } = {},
  ): Promise<{ content: AsyncIterable<Buffer>; etag?: string } | undefined> {
    await this.ensureContainer();
    return storageCall('read report', async () => {
      try {
        const response = await this.container
          .getBlockBlobClient(blobName(date, name))
          .download(
            0,
            undefined,
            options.ifMatch ? { conditions: { ifMatch: options.ifMatch } } : {},
          );
        const content = response.readableStreamBody as AsyncIterable<Buffer> | undefined;
        if (!content) return undefined;
        return { content, ...(response.etag ? { etag: response.etag } : {}) };
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        if (statusOf(error) === 412)
          throw new ReportChanged(`reports/${date}/${name} changed while it was being read`);
        throw error;
      }
    });
  }

  async dates(): Promise<string[]> {
    await this.ensureContainer();
    const dates = new Set<string>();
    await storageCall('list reports', async () => {
      for await (const item of this.container.listBlobsByHierarchy('/', { prefix: 'reports/' })) {
        const match = /^reports\/(\d{4}-\d{2}-\d{2})\/$/.exec(item.name);
        if (item.kind === 'prefix' && match?.[1]) dates.add(match[1]);
      }
    });
    return [...dates].sort();
  }

  private async digestOf(date: string, name: string): Promise<ReportFileDigest> {
    return { name, ...(await fileDigest((await this.read(date, name))?.content ?? [])) };
  }
}

function blobName(date: string, name: string): string {
  return `reports/${date}/${name}`;
}

/**
 * The text as buffers of at least 1 MiB: the SDK's stream upload pays per chunk it is handed,
 * and a report comes line by line.
 */
async function* encoded(content: AsyncIterable<string>): AsyncIterable<Buffer> {
  let pending: string[] = [];
  let size = 0;
  for await (const text of content) {
    pending.push(text);
    size += text.length;
    if (size >= COALESCE_CHARS) {
      yield Buffer.from(pending.join(''), 'utf8');
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.from(pending.join(''), 'utf8');
}
