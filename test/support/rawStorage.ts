import { randomBytes } from 'node:crypto';
import { TableClient, TableServiceClient, TableServiceClientOptions } from '@azure/data-tables';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';

/** The SDK pipeline's policy type, as the table client options take it. */
type PipelinePolicy = NonNullable<
  TableServiceClientOptions['additionalPolicies']
>[number]['policy'];

/**
 * Raw SDK clients on the run's Azurite (jest globalSetup starts it), for adapter tests that
 * build an adapter themselves, look underneath it, or count what it asks the service for.
 */
export function azuriteConnectionString(): string {
  const connectionString = process.env.CERTFLEET_TEST_STORAGE;
  if (!connectionString)
    throw new Error(
      'CERTFLEET_TEST_STORAGE is not set: suites that use Azurite are named *.azurite.test.ts, and jest starts Azurite for them (the azurite project in package.json)',
    );
  return connectionString;
}

/** A storage prefix no other test uses (table and container names start with it). */
export function freshPrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

/** What a table client asked the service for: one entry per HTTP request. */
export interface TableRequestLog {
  requests: { method: string; url: string; entitiesReturned: number }[];
  /** Entities the service sent back to queries (GETs), summed over pages. */
  entitiesReturned(): number;
  clear(): void;
}

/** A TableClient over Azurite; with `log`, every request and the entities it returned are recorded. */
export function tableClient(name: string, log?: TableRequestLog): TableClient {
  const additionalPolicies = log
    ? [{ policy: countingPolicy(log), position: 'perCall' as const }]
    : [];
  return TableClient.fromConnectionString(azuriteConnectionString(), name, {
    allowInsecureConnection: true,
    additionalPolicies,
  });
}

export function tableRequestLog(): TableRequestLog {
  const requests: TableRequestLog['requests'] = [];
  return {
    requests,
    entitiesReturned: () => requests.reduce((sum, r) => sum + r.entitiesReturned, 0),
    clear: () => {
      requests.length = 0;
    },
  };
}

function countingPolicy(log: TableRequestLog): PipelinePolicy {
  return {
    name: 'certfleet-test-request-counter',
    async sendRequest(request, next) {
      const response = await next(request);
      let entitiesReturned = 0;
      if (request.method === 'GET' && response.bodyAsText) {
        const body = JSON.parse(response.bodyAsText) as { value?: unknown[] };
        entitiesReturned = Array.isArray(body.value) ? body.value.length : 1;
      }
      log.requests.push({ method: request.method, url: request.url, entitiesReturned });
      return response;
    },
  };
}

export function blobService(): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(azuriteConnectionString());
}

export function containerClient(name: string): ContainerClient {
  return blobService().getContainerClient(name);
}

export interface StoredItem {
  /** `table <name> <PartitionKey>/<RowKey>` or `blob <container>/<name>`. */
  where: string;
  /** Everything stored there: every property of an entity; a blob's content, metadata and tags. */
  text: string;
}

/** Every entity of every table and every blob of every container whose name starts with `prefix`. */
export async function everythingStoredUnder(prefix: string): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  const tables = TableServiceClient.fromConnectionString(azuriteConnectionString(), {
    allowInsecureConnection: true,
  });
  for await (const table of tables.listTables()) {
    if (!table.name?.startsWith(prefix)) continue;
    for await (const entity of tableClient(table.name).listEntities()) {
      items.push({
        where: `table ${table.name} ${entity.partitionKey}/${entity.rowKey}`,
        text: JSON.stringify(entity),
      });
    }
  }
  const blobs = blobService();
  for await (const container of blobs.listContainers({ prefix, includeMetadata: true })) {
    const client = blobs.getContainerClient(container.name);
    const listed = [];
    for await (const blob of client.listBlobsFlat({ includeMetadata: true, includeTags: true }))
      listed.push(blob);
    // Downloaded a few at a time (thousands of dead letters one by one take seconds), in order.
    const texts = await inParallel(listed, BLOB_DOWNLOADS, async (blob) => {
      const content = await downloaded(client, blob.name);
      return [
        content.toString('utf8'),
        JSON.stringify(blob.metadata ?? {}),
        JSON.stringify(blob.tags ?? {}),
        JSON.stringify(container.metadata ?? {}),
      ].join('\n');
    });
    listed.forEach((blob, i) =>
      items.push({ where: `blob ${container.name}/${blob.name}`, text: texts[i]! }),
    );
  }
  return items;
}

const BLOB_DOWNLOADS = 16;

/** One GET (downloadToBuffer asks for the blob's properties first: two requests a blob). */
async function downloaded(client: ContainerClient, name: string): Promise<Buffer> {
  const response = await client.getBlobClient(name).download();
  const chunks: Buffer[] = [];
  for await (const chunk of response.readableStreamBody ?? [])
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
