import { TableClient } from '@azure/data-tables';
import { ContainerClient } from '@azure/storage-blob';
import { ProbeFailed, StorageProbe } from '../../app/ports';
import { codeOf, statusOf } from './storageFaults';
import { storageProblem } from './storageProblem';

/**
 * A row certfleet never writes: reading it costs one point read (one transaction) whatever the
 * table holds, and its 404 proves what the health check wants to know.
 */
export const PROBE_PARTITION_KEY = 'certfleet-health';
export const PROBE_ROW_KEY = 'probe';

/**
 * Whether the fleet storage answers certfleet, for the health check: one point read of the ledger
 * table and one read of the audit container's properties, both at once. An answer is what
 * counts: storage authorizes a request before it looks for what it names, so a 404 (the probe
 * row, or a table or container not created yet on a fresh deployment) says storage is there and
 * lets certfleet in; a 403, a 5xx or a network error says it is not. Nothing is written.
 *
 * Azure calls: Table storage Query Entity (GET of one entity: data action
 * `Microsoft.Storage/storageAccounts/tableServices/tables/entities/read`, in Storage Table Data
 * Reader and Contributor) and Blob storage Get Container Properties (action
 * `Microsoft.Storage/storageAccounts/blobServices/containers/read`, in Storage Blob Data Reader
 * and Contributor): the roles certfleet already needs on the fleet storage account.
 */
export class FleetStorageProbe implements StorageProbe {
  constructor(
    private readonly table: TableClient,
    private readonly container: ContainerClient,
  ) {}

  async probe(signal: AbortSignal): Promise<void> {
    await Promise.all([
      answered('table', () =>
        this.table.getEntity(PROBE_PARTITION_KEY, PROBE_ROW_KEY, { abortSignal: signal }),
      ),
      answered('container', () => this.container.getProperties({ abortSignal: signal })),
    ]);
  }
}

async function answered(what: string, read: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (error) {
    // ResourceNotFound, TableNotFound, ContainerNotFound: storage answered, and let us ask.
    if (statusOf(error) === 404 && codeOf(error) !== undefined) return;
    throw new ProbeFailed(`${what}: ${storageProblem(error)}`);
  }
}
