import { TableClient } from '@azure/data-tables';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import {
  EventHubPartitionEnds,
  PartitionPropertiesClient,
} from '../../../shared/adapters/eventhub/EventHubPartitionEnds';
import {
  CHECKPOINT_CONTAINER,
  FunctionsTriggerCheckpoints,
} from '../../../shared/adapters/eventhub/FunctionsTriggerCheckpoints';
import { FleetStorageProbe } from '../../../shared/adapters/storage/FleetStorageProbe';
import { CheckHealth } from '../../../shared/app/health/CheckHealth';
import { ProbeFailed } from '../../../shared/app/ports';
import { EventHubSettings, loadEventHubSettings } from '../../../shared/config/eventHubSettings';
import { HostStorageSettings } from '../../../shared/config/hostStorageSettings';
import { ManualClock } from '../../../shared/domain/Clock';
import { azuriteConnectionString, containerClient, freshPrefix } from '../../support/rawStorage';

/**
 * The Event Hubs trigger's checkpoints read from host storage on a real Azurite, written as the
 * Functions Event Hubs extension (5.x and later) writes them: in container
 * `azure-webjobs-eventhub`, an empty blob per partition at
 * `<namespace>/<event hub>/<consumer group>/checkpoint/<partition>`, lower-cased, the position in
 * its metadata (`offset`, `sequencenumber`, `clientidentifier`; BlobCheckpointStoreInternal in
 * azure-sdk-for-net). Then the lag by partition through the health check, with Event Hubs' side
 * a fake of the SDK's client.
 */
const KEY = Buffer.from('event hubs listen key, 32 bytes.').toString('base64');
/** Host storage: the run's Azurite, by connection string. */
const hostStorage = (): HostStorageSettings => ({
  kind: 'connection-string',
  connectionString: azuriteConnectionString(),
});

/** Settings of an Event Hubs namespace no other test uses, its names in mixed case. */
function eventHubOfItsOwn(): { settings: EventHubSettings; namespace: string } {
  const namespace = `${freshPrefix()}-Events.servicebus.windows.net`;
  return {
    namespace,
    settings: loadEventHubSettings({
      IotHubEvents: `Endpoint=sb://${namespace}/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`,
      CERTFLEET_EVENTHUB_NAME: 'IotHub-Events',
      CERTFLEET_EVENTHUB_CONSUMER_GROUP: 'CertFleet',
    }),
  };
}

/** A checkpoint as the extension's BlobCheckpointStoreInternal writes it: metadata, no content. */
async function writeCheckpoint(
  name: string,
  metadata: { offset: string; sequencenumber: string; clientidentifier?: string },
): Promise<void> {
  const container = containerClient(CHECKPOINT_CONTAINER);
  await container.createIfNotExists();
  await container.getBlockBlobClient(name).upload('', 0, { metadata: { ...metadata } });
}

const signal = () => new AbortController().signal;

describe('FunctionsTriggerCheckpoints', () => {
  it('reads the sequence number the trigger checkpointed on each partition', async () => {
    const { settings, namespace } = eventHubOfItsOwn();
    const base = `${namespace.toLowerCase()}/iothub-events/certfleet`;
    await writeCheckpoint(`${base}/checkpoint/0`, {
      offset: '',
      sequencenumber: '41',
      clientidentifier: 'certfleet-host-1',
    });
    await writeCheckpoint(`${base}/checkpoint/1`, { offset: '8800', sequencenumber: '1207' });

    const checkpoints = await new FunctionsTriggerCheckpoints(settings, hostStorage()).checkpoints(
      signal(),
    );

    expect(checkpoints).toEqual(
      new Map([
        ['0', 41],
        ['1', 1207],
      ]),
    );
  });

  it('leaves out ownership blobs and other consumer groups, and knows no position without a sequence number', async () => {
    const { settings, namespace } = eventHubOfItsOwn();
    const base = `${namespace.toLowerCase()}/iothub-events`;
    await writeCheckpoint(`${base}/certfleet/checkpoint/2`, { offset: '', sequencenumber: '' });
    await writeCheckpoint(`${base}/certfleet/ownership/2`, { offset: '', sequencenumber: '5' });
    await writeCheckpoint(`${base}/$default/checkpoint/3`, { offset: '', sequencenumber: '9' });

    const checkpoints = await new FunctionsTriggerCheckpoints(settings, hostStorage()).checkpoints(
      signal(),
    );

    expect(checkpoints).toEqual(new Map([['2', 'unknown']]));
  });

  it('finds no checkpoint where the trigger has never run (no container yet)', async () => {
    const { settings } = eventHubOfItsOwn();
    const absent: ContainerClient = containerClient(`${freshPrefix()}-never-created`);

    const checkpoints = await new FunctionsTriggerCheckpoints(
      settings,
      hostStorage(),
      absent,
    ).checkpoints(signal());

    expect(checkpoints.size).toBe(0);
  });

  it('fails with the status and error code when host storage refuses the key', async () => {
    const { settings } = eventHubOfItsOwn();
    const wrongKey = Buffer.from(
      'not this account key, 64 bytes long............................',
    ).toString('base64');
    const refused = BlobServiceClient.fromConnectionString(
      azuriteConnectionString().replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`),
      { retryOptions: { maxTries: 1 } },
    ).getContainerClient(CHECKPOINT_CONTAINER);

    const failure = await new FunctionsTriggerCheckpoints(settings, hostStorage(), refused)
      .checkpoints(signal())
      .then(
        () => undefined,
        (error: unknown) => error,
      );

    expect(failure).toBeInstanceOf(ProbeFailed);
    expect((failure as ProbeFailed).problem).toMatch(/^403 \w+$/);
  });
});

describe('the lag by partition, through the health check', () => {
  it("counts each partition's events past the trigger's checkpoint, and every event where it has none", async () => {
    const { settings, namespace } = eventHubOfItsOwn();
    const base = `${namespace.toLowerCase()}/iothub-events/certfleet/checkpoint`;
    await writeCheckpoint(`${base}/0`, { offset: '', sequencenumber: '41' });
    await writeCheckpoint(`${base}/1`, { offset: '', sequencenumber: '1207' });
    const ends: Record<string, { beginning: number; last: number }> = {
      '0': { beginning: 0, last: 57 },
      '1': { beginning: 900, last: 1207 },
      '2': { beginning: 300, last: 349 },
    };
    const eventHubs: PartitionPropertiesClient = {
      getPartitionIds: async () => Object.keys(ends),
      getPartitionProperties: async (partitionId) => ({
        partitionId,
        beginningSequenceNumber: ends[partitionId]!.beginning,
        lastEnqueuedSequenceNumber: ends[partitionId]!.last,
        lastEnqueuedOnUtc: new Date('2026-11-23T11:59:00.000Z'),
        isEmpty: false,
      }),
    };
    const prefix = freshPrefix();
    const health = new CheckHealth({
      storage: new FleetStorageProbe(
        TableClient.fromConnectionString(azuriteConnectionString(), `${prefix}ledger`, {
          allowInsecureConnection: true,
        }),
        containerClient(`${prefix}-audit`),
      ),
      eventStream: {
        partitions: new EventHubPartitionEnds(settings, () => eventHubs),
        checkpoints: new FunctionsTriggerCheckpoints(settings, hostStorage()),
      },
      clock: new ManualClock('2026-11-23T12:00:00.000Z'),
    });

    const report = await health.check();

    expect(report.status).toBe('healthy');
    expect(report.eventStream).toMatchObject({
      status: 'ok',
      eventHub: 'IotHub-Events',
      consumerGroup: 'CertFleet',
      partitions: [
        { partitionId: '0', lastEnqueuedSequenceNumber: 57, checkpointSequenceNumber: 41, lag: 16 },
        {
          partitionId: '1',
          lastEnqueuedSequenceNumber: 1207,
          checkpointSequenceNumber: 1207,
          lag: 0,
        },
        {
          partitionId: '2',
          lastEnqueuedSequenceNumber: 349,
          checkpointSequenceNumber: null,
          lag: 50,
        },
      ],
    });
  });
});
