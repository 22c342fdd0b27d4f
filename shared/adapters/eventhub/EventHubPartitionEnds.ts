import type { PartitionProperties } from '@azure/event-hubs';
import { EventHubPartitions, ProbeFailed } from '../../app/ports';
import { EventHubSettings } from '../../config/eventHubSettings';
import { PartitionEnd } from '../../domain/health/partitionLag';
import { azureCredential } from '../azureCredential';

type EventHubsModule = typeof import('@azure/event-hubs');

/** What the health check needs of an EventHubConsumerClient; tests pass a fake. */
export interface PartitionPropertiesClient {
  getPartitionIds(options: { abortSignal: AbortSignal }): Promise<string[]>;
  getPartitionProperties(
    partitionId: string,
    options: { abortSignal: AbortSignal },
  ): Promise<
    Pick<
      PartitionProperties,
      | 'partitionId'
      | 'beginningSequenceNumber'
      | 'lastEnqueuedSequenceNumber'
      | 'lastEnqueuedOnUtc'
      | 'isEmpty'
    >
  >;
}

/**
 * The end of each partition of the Event Hub IoT Hub routes to, for the health check: Event
 * Hubs' runtime information through @azure/event-hubs, `getPartitionIds()` then
 * `getPartitionProperties()` for each partition, at once. These are requests on the AMQP
 * management link that need the Listen right: the Azure Event Hubs Data Receiver role (or a
 * policy with Listen) that the trigger already needs.
 *
 * The SDK (and its AMQP stack) is loaded, and one client made, at the first check, not at
 * start-up (docs/benchmarks.md, "Cold start"); the client is kept for the process, so each
 * check reuses its connection.
 */
export class EventHubPartitionEnds implements EventHubPartitions {
  readonly eventHub: string;
  readonly consumerGroup: string;
  private client?: PartitionPropertiesClient;

  constructor(
    private readonly settings: EventHubSettings,
    private readonly makeClient: (
      settings: EventHubSettings,
    ) => PartitionPropertiesClient = sdkClient,
  ) {
    this.eventHub = settings.eventHubName;
    this.consumerGroup = settings.consumerGroup;
  }

  async partitionEnds(signal: AbortSignal): Promise<PartitionEnd[]> {
    try {
      const client = (this.client ??= this.makeClient(this.settings));
      const ids = await client.getPartitionIds({ abortSignal: signal });
      const properties = await Promise.all(
        ids.map((id) => client.getPartitionProperties(id, { abortSignal: signal })),
      );
      return properties.map((p) => ({
        partitionId: p.partitionId,
        beginningSequenceNumber: p.beginningSequenceNumber,
        lastEnqueuedSequenceNumber: p.lastEnqueuedSequenceNumber,
        ...(p.lastEnqueuedOnUtc instanceof Date && !Number.isNaN(p.lastEnqueuedOnUtc.getTime())
          ? { lastEnqueuedAt: p.lastEnqueuedOnUtc }
          : {}),
        isEmpty: p.isEmpty,
      }));
    } catch (error) {
      throw new ProbeFailed(eventHubsProblem(error));
    }
  }
}

/**
 * A failed Event Hubs call as the health check reports it: the SDK's error code
 * (`UnauthorizedError`, `MessagingEntityNotFoundError`, `ENOTFOUND`) or the error's kind; never
 * the message, which may quote the connection's details.
 */
export function eventHubsProblem(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  for (const candidate of [e?.code, e?.name]) {
    if (typeof candidate === 'string' && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(candidate)) {
      return candidate;
    }
  }
  return 'unknown error';
}

/** The SDK's client for the configured connection; nothing connects before the first call. */
function sdkClient(settings: EventHubSettings): PartitionPropertiesClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  const { EventHubConsumerClient }: EventHubsModule = require('@azure/event-hubs');
  const c = settings.connection;
  if (c.kind === 'connection-string') {
    // With EntityPath the connection string names the Event Hub itself.
    return c.entityPath
      ? new EventHubConsumerClient(settings.consumerGroup, c.connectionString)
      : new EventHubConsumerClient(
          settings.consumerGroup,
          c.connectionString,
          settings.eventHubName,
        );
  }
  return new EventHubConsumerClient(
    settings.consumerGroup,
    c.fullyQualifiedNamespace,
    settings.eventHubName,
    azureCredential({
      kind: c.credential,
      ...(c.clientId ? { clientId: c.clientId } : {}),
    }),
  );
}
