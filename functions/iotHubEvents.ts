import { app, EventHubHandler, EventHubFunctionOptions, InvocationContext } from '@azure/functions';
import { messagesFromTriggerBatch } from '../shared/adapters/eventhub/triggerBatch';
import { IngestSummary } from '../shared/app/ingest/IngestIotHubEvents';
import { describeIngest } from '../shared/app/describeReports';
import { StorageRejected, TransientFault } from '../shared/app/ports';
import { services } from '../shared/services';

/**
 * IoT Hub events routed to one Event Hub (twin changes, device lifecycle, connection state)
 * go into the certificate ledger and the audit trail.
 *
 * The trigger checkpoints even when the function throws (AZURE-FACTS.md), so a bad message is
 * dead-lettered inside the use case and never thrown; only platform faults throw (storage down,
 * or refusing us until an operator fixes permissions), and the retry policy below redelivers
 * the batch until it goes through; the ledger recognises what was already applied.
 *
 * While retried, the partition waits (AZURE-FACTS.md): once one batch has been retried
 * `INGEST_STUCK_ALERT_AFTER_RETRIES` times (5 s doubling: about 5 minutes), every further
 * failure logs an error starting with `INGEST_STUCK_PREFIX`, for an Azure Monitor alert
 * (docs/operations.md).
 */
export const INGEST_STUCK_PREFIX = 'CERTFLEET_INGEST_STUCK';
export const INGEST_STUCK_ALERT_AFTER_RETRIES = 6;

export async function handleIotHubEvents(
  messages: unknown,
  context: InvocationContext,
): Promise<IngestSummary> {
  const bodies = Array.isArray(messages) ? messages : [messages];
  const batch = messagesFromTriggerBatch(bodies, context.triggerMetadata);
  const retries = context.retryContext?.retryCount ?? 0;
  let summary: IngestSummary;
  try {
    summary = await services().ingest.apply(batch);
  } catch (error) {
    const failure = `a batch of ${batch.length} events has failed ${retries + 1} times and is retried: ${whatFailed(error)}`;
    if (retries >= INGEST_STUCK_ALERT_AFTER_RETRIES) {
      context.error(`${INGEST_STUCK_PREFIX} partition ${partitionOf(context)}: ${failure}`);
    } else {
      context.warn(
        `ingest failed (retry ${retries}), the batch will be retried: ${whatFailed(error)}`,
      );
    }
    throw error;
  }
  const after = retries > 0 ? ` after ${retries} retries` : '';
  context.log(`ingested ${describeIngest(summary)}${after}`);
  return summary;
}

/**
 * What failed, for the log: certfleet's own platform faults say which call and which answer
 * (never a request's content); of anything else only its kind, as its message could quote
 * whatever it was handling.
 */
function whatFailed(error: unknown): string {
  if (error instanceof TransientFault || error instanceof StorageRejected)
    return `${error.name}: ${error.message}`;
  return error instanceof Error ? error.name : typeof error;
}

function partitionOf(context: InvocationContext): string {
  const partition = (context.triggerMetadata?.partitionContext as { partitionId?: unknown })
    ?.partitionId;
  return typeof partition === 'string' || typeof partition === 'number'
    ? String(partition)
    : 'unknown';
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
