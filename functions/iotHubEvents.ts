import { app, EventHubHandler, EventHubFunctionOptions, InvocationContext } from '@azure/functions';
import { messagesFromTriggerBatch } from '../shared/adapters/eventhub/triggerBatch';
import { IngestSummary } from '../shared/app/ingest/IngestIotHubEvents';
import { describeIngest } from '../shared/app/describeReports';
import { services } from '../shared/services';

/**
 * IoT Hub events routed to one Event Hub (twin changes, device lifecycle, connection state)
 * go into the certificate ledger and the audit trail.
 *
 * The trigger checkpoints even when the function throws (AZURE-FACTS.md), so a bad message is
 * dead-lettered inside the use case and never thrown; only platform faults throw (storage down,
 * or refusing us until an operator fixes permissions), and the retry policy below redelivers
 * the batch until it goes through; the ledger recognises what was already applied.
 */
export async function handleIotHubEvents(
  messages: unknown,
  context: InvocationContext,
): Promise<IngestSummary> {
  const bodies = Array.isArray(messages) ? messages : [messages];
  const batch = messagesFromTriggerBatch(bodies, context.triggerMetadata);
  const summary = await services().ingest.apply(batch);
  context.log(`ingested ${describeIngest(summary)}`);
  return summary;
}

export const iotHubEventsHandler: EventHubHandler = async (messages, context) => {
  await handleIotHubEvents(messages, context);
};

export const iotHubEventsTrigger: { name: string; options: EventHubFunctionOptions } = {
  name: 'iotHubEvents',
  options: {
    connection: 'IotHubEvents',
    eventHubName: '%CERTFLEET_EVENTHUB_NAME%',
    consumerGroup: '%CERTFLEET_EVENTHUB_CONSUMER_GROUP%',
    cardinality: 'many',
    retry: {
      strategy: 'exponentialBackoff',
      // Indefinitely: only platform faults throw (bad events are dead-lettered), and a batch
      // whose retries ran out would be checkpointed and lost.
      maxRetryCount: -1,
      minimumInterval: { seconds: 5 },
      maximumInterval: { minutes: 5 },
    },
    handler: iotHubEventsHandler,
  },
};

app.eventHub(iotHubEventsTrigger.name, iotHubEventsTrigger.options);
