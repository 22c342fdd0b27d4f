import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';

/**
 * The Event Hubs trigger with `cardinality: 'many'` hands a function an array of bodies and,
 * in `context.triggerMetadata`, parallel arrays of properties (AZURE-FACTS.md, "Azure
 * Functions, Node v4 model"). This zips them into one message per event.
 */
export interface EventHubBatchMetadata {
  systemPropertiesArray?: unknown;
  propertiesArray?: unknown;
  enqueuedTimeUtcArray?: unknown;
}

export function messagesFromTriggerBatch(
  bodies: readonly unknown[],
  metadata: EventHubBatchMetadata | undefined,
): RawIotHubMessage[] {
  const system = arrayOf(metadata?.systemPropertiesArray);
  const application = arrayOf(metadata?.propertiesArray);
  const enqueued = arrayOf(metadata?.enqueuedTimeUtcArray);
  return bodies.map((body, i) => {
    const message: RawIotHubMessage = {
      body,
      properties: recordOf(application[i]),
      systemProperties: recordOf(system[i]),
    };
    const when = enqueued[i];
    if (typeof when === 'string') message.enqueuedTimeUtc = when;
    else if (when instanceof Date) message.enqueuedTimeUtc = when.toISOString();
    return message;
  });
}

/** The inverse: a batch shaped as the host hands it over, for tests that drive the trigger. */
export function triggerBatchFromMessages(messages: readonly RawIotHubMessage[]): {
  bodies: unknown[];
  metadata: Required<EventHubBatchMetadata>;
} {
  return {
    bodies: messages.map((m) => m.body),
    metadata: {
      systemPropertiesArray: messages.map((m) => m.systemProperties),
      propertiesArray: messages.map((m) => m.properties),
      enqueuedTimeUtcArray: messages.map((m) => m.enqueuedTimeUtc ?? null),
    },
  };
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function recordOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
