import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { ProbeFailed, TriggerCheckpoints } from '../../app/ports';
import { EventHubConnection, EventHubSettings } from '../../config/eventHubSettings';
import { HostStorageSettings } from '../../config/hostStorageSettings';
import { azureCredential } from '../azureCredential';
import { codeOf, statusOf } from '../storage/storageFaults';
import { storageProblem } from '../storage/storageProblem';

/**
 * Where the Functions Event Hubs extension (5.x and later) keeps the trigger's checkpoints, in
 * the host storage account (`AzureWebJobsStorage`): container `azure-webjobs-eventhub`
 * (azure-sdk-for-net, Microsoft.Azure.WebJobs.Extensions.EventHubs, EventHubOptions
 * `CheckpointContainer`), one empty blob per partition named
 * `<namespace>/<event hub>/<consumer group>/checkpoint/<partition id>`, all three lower-cased,
 * with the position in its metadata: `sequencenumber` (the last event processed) and `offset`
 * (BlobCheckpointStoreInternal and BlobMetadataKey in Azure.Messaging.EventHubs.Shared). The
 * extension writes `sequencenumber` empty when it has none, and an older one wrote only the
 * offset: such a checkpoint's position is `'unknown'`.
 */
export const CHECKPOINT_CONTAINER = 'azure-webjobs-eventhub';

/** The blob-name prefix of a consumer group's checkpoints. */
export function checkpointPrefix(
  namespace: string,
  eventHub: string,
  consumerGroup: string,
): string {
  return `${namespace}/${eventHub}/${consumerGroup}/checkpoint/`.toLowerCase();
}

/**
 * Reads the Event Hubs trigger's checkpoints of one consumer group, for the health check's lag by
 * partition: one List Blobs call with metadata, under the consumer group's prefix (data action
 * `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`, in Storage Blob Data
 * Reader, and in the Storage Blob Data Owner role the host's storage already needs). A container
 * not there yet means the trigger has never checkpointed: no partition has a checkpoint.
 */
export class FunctionsTriggerCheckpoints implements TriggerCheckpoints {
  private readonly prefix: string;
  private container?: ContainerClient;

  /** `container`: the host storage's checkpoint container; built from `hostStorage` by default. */
  constructor(
    eventHub: EventHubSettings,
    private readonly hostStorage: HostStorageSettings,
    container?: ContainerClient,
  ) {
    this.prefix = checkpointPrefix(
      namespaceOf(eventHub.connection),
      eventHub.eventHubName,
      eventHub.consumerGroup,
    );
    if (container) this.container = container;
  }

  async checkpoints(signal: AbortSignal): Promise<ReadonlyMap<string, number | 'unknown'>> {
    const positions = new Map<string, number | 'unknown'>();
    let container: ContainerClient;
    try {
      container = this.container ??= checkpointContainer(this.hostStorage);
    } catch (error) {
      throw new ProbeFailed(`host storage: ${storageProblem(error)}`);
    }
    try {
      const blobs = container.listBlobsFlat({
        prefix: this.prefix,
        includeMetadata: true,
        abortSignal: signal,
      });
      for await (const blob of blobs) {
        const partitionId = blob.name.slice(this.prefix.length);
        if (partitionId === '' || partitionId.includes('/')) continue;
        positions.set(partitionId, sequenceNumberIn(blob.metadata ?? {}));
      }
    } catch (error) {
      if (statusOf(error) === 404 && codeOf(error) === 'ContainerNotFound') return positions;
      throw new ProbeFailed(storageProblem(error));
    }
    return positions;
  }
}

/** The `sequencenumber` metadata as a number; `'unknown'` when it is empty, absent or not one. */
function sequenceNumberIn(metadata: Record<string, string>): number | 'unknown' {
  const entry = Object.entries(metadata).find(([key]) => key.toLowerCase() === 'sequencenumber');
  const text = entry?.[1]?.trim() ?? '';
  if (!/^-?\d{1,19}$/.test(text)) return 'unknown';
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : 'unknown';
}

/**
 * The Event Hubs namespace as the extension names it in checkpoints: its fully qualified host
 * name, from `IotHubEvents__fullyQualifiedNamespace` or the connection string's
 * `Endpoint=sb://<namespace>/`.
 */
export function namespaceOf(connection: EventHubConnection): string {
  if (connection.kind === 'identity') return connection.fullyQualifiedNamespace;
  const endpoint = connection.connectionString
    .split(';')
    .map((part) => part.trim())
    .find((part) => /^endpoint=/i.test(part));
  const match = /^endpoint=sb:\/\/([^/\s:]+)/i.exec(endpoint ?? '');
  return match?.[1] ?? '';
}

function checkpointContainer(settings: HostStorageSettings): ContainerClient {
  const service =
    settings.kind === 'connection-string'
      ? BlobServiceClient.fromConnectionString(settings.connectionString)
      : new BlobServiceClient(
          settings.blobServiceUri,
          azureCredential({
            kind: settings.credential,
            ...(settings.clientId ? { clientId: settings.clientId } : {}),
          }),
        );
  return service.getContainerClient(CHECKPOINT_CONTAINER);
}
