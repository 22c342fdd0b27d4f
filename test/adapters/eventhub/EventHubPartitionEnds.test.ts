import {
  EventHubPartitionEnds,
  PartitionPropertiesClient,
} from '../../../shared/adapters/eventhub/EventHubPartitionEnds';
import { ProbeFailed } from '../../../shared/app/ports';
import { EventHubSettings, loadEventHubSettings } from '../../../shared/config/eventHubSettings';

/**
 * The Event Hubs side of the health check without a live Event Hub: the SDK's client is a fake
 * answering in its shapes (@azure/event-hubs 6.x `PartitionProperties`), as test/cli/
 * listen.azurite.test.ts fakes the consumer.
 */
const KEY = Buffer.from('event hubs listen key, 32 bytes.').toString('base64');
const SETTINGS: EventHubSettings = loadEventHubSettings({
  IotHubEvents: `Endpoint=sb://contoso-events.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`,
  CERTFLEET_EVENTHUB_NAME: 'iothub-events',
  CERTFLEET_EVENTHUB_CONSUMER_GROUP: 'certfleet',
});

type ServicesModule = typeof import('../../../shared/services');
type SettingsModule = typeof import('../../../shared/config/settings');

class FakeConsumerClient implements PartitionPropertiesClient {
  readonly signals: AbortSignal[] = [];
  failWith?: Error;
  async getPartitionIds(options: { abortSignal: AbortSignal }) {
    this.signals.push(options.abortSignal);
    if (this.failWith) throw this.failWith;
    return ['0', '1'];
  }
  async getPartitionProperties(partitionId: string, options: { abortSignal: AbortSignal }) {
    this.signals.push(options.abortSignal);
    return partitionId === '0'
      ? {
          partitionId,
          beginningSequenceNumber: 12,
          lastEnqueuedSequenceNumber: 4711,
          lastEnqueuedOnUtc: new Date('2026-11-23T11:58:00.000Z'),
          isEmpty: false,
        }
      : {
          partitionId,
          beginningSequenceNumber: 0,
          lastEnqueuedSequenceNumber: -1,
          // The SDK hands over a date even for a partition that never held an event.
          lastEnqueuedOnUtc: new Date(Number.NaN),
          isEmpty: true,
        };
  }
}

describe('EventHubPartitionEnds', () => {
  it("reads every partition's end with the check's signal", async () => {
    const fake = new FakeConsumerClient();
    const partitions = new EventHubPartitionEnds(SETTINGS, () => fake);
    const signal = new AbortController().signal;

    expect(await partitions.partitionEnds(signal)).toEqual([
      {
        partitionId: '0',
        beginningSequenceNumber: 12,
        lastEnqueuedSequenceNumber: 4711,
        lastEnqueuedAt: new Date('2026-11-23T11:58:00.000Z'),
        isEmpty: false,
      },
      {
        partitionId: '1',
        beginningSequenceNumber: 0,
        lastEnqueuedSequenceNumber: -1,
        isEmpty: true,
      },
    ]);
    expect(fake.signals).toEqual([signal, signal, signal]);
  });

  it('names the Event Hub and consumer group it reads', () => {
    const partitions = new EventHubPartitionEnds(SETTINGS, () => new FakeConsumerClient());

    expect([partitions.eventHub, partitions.consumerGroup]).toEqual(['iothub-events', 'certfleet']);
  });

  it('makes one client, at the first check, and keeps it', async () => {
    const made: FakeConsumerClient[] = [];
    const partitions = new EventHubPartitionEnds(SETTINGS, () => {
      const client = new FakeConsumerClient();
      made.push(client);
      return client;
    });
    expect(made).toHaveLength(0);

    await partitions.partitionEnds(new AbortController().signal);
    await partitions.partitionEnds(new AbortController().signal);

    expect(made).toHaveLength(1);
  });

  it("says what failed by the SDK's error code, never by its message", async () => {
    const fake = new FakeConsumerClient();
    fake.failWith = Object.assign(
      new Error(`Unauthorized access. 'Listen' claim(s) are required; SharedAccessKey=${KEY}`),
      { name: 'MessagingError', code: 'UnauthorizedError' },
    );
    const partitions = new EventHubPartitionEnds(SETTINGS, () => fake);

    const failure = await partitions.partitionEnds(new AbortController().signal).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(ProbeFailed);
    expect((failure as ProbeFailed).problem).toBe('UnauthorizedError');
  });

  it('does not load the Event Hubs SDK until the first check', () => {
    const loaded: string[] = [];
    jest.isolateModules(() => {
      jest.doMock('@azure/event-hubs', () => {
        loaded.push('@azure/event-hubs');
        return jest.requireActual('@azure/event-hubs');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const services: ServicesModule = require('../../../shared/services');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const config: SettingsModule = require('../../../shared/config/settings');
      services.buildServices(
        config.loadSettings({
          IotHubEvents: `Endpoint=sb://contoso-events.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`,
          CERTFLEET_EVENTHUB_NAME: 'iothub-events',
          AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        }),
      );
    });

    expect(loaded).toEqual([]);
  });
});
