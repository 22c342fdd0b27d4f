import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';

/**
 * An event as @azure/event-hubs 6.x hands it to `subscribe`'s `processEvents`
 * (`ReceivedEventData`), reduced to what certfleet reads. Declared here, not imported, so the
 * conversion stays pure and testable without the SDK; `ReceivedEventData` is assignable to it.
 */
export interface ReceivedEventLike {
  /**
   * The SDK runs JSON.parse on every data-section body and hands over the parsed value when
   * that works and the bytes (a Buffer) when it does not, or always the bytes with
   * `skipParsingBodyAsJson` (node_modules/@azure/event-hubs dataTransformer.js).
   */
  body: unknown;
  /** Application properties: IoT Hub's hubName, deviceId, opType, operationTimestamp, … */
  properties?: Record<string, unknown>;
  /**
   * The AMQP message annotations (IoT Hub's `iothub-*`) and the AMQP message properties under
   * camelCase names (`userId`, `contentType`, `messageId`, …). The SDK turns Dates into epoch
   * milliseconds here, and the AMQP decoder (rhea) gives 64-bit integers too large for a number
   * as 8-byte Buffers.
   */
  systemProperties?: Record<string, unknown>;
  enqueuedTimeUtc?: Date | string | number;
  offset?: string | number;
  sequenceNumber?: unknown;
  partitionKey?: string | null;
}

/**
 * The SDK's names for the AMQP message properties, and the AMQP names IoT Hub documents and
 * the Functions trigger's system properties use (`user-id` holds the hub name; the decoder
 * falls back on it when `hubName` is missing).
 */
const AMQP_PROPERTY_NAMES: Record<string, string> = {
  messageId: 'message-id',
  userId: 'user-id',
  to: 'to',
  subject: 'subject',
  replyTo: 'reply-to',
  correlationId: 'correlation-id',
  contentType: 'content-type',
  contentEncoding: 'content-encoding',
  absoluteExpiryTime: 'absolute-expiry-time',
  creationTime: 'creation-time',
  groupId: 'group-id',
  groupSequence: 'group-sequence',
  replyToGroupId: 'reply-to-group-id',
};

/** AMQP timestamps: the SDK hands them over as epoch milliseconds; the decoder reads ISO text. */
const TIMESTAMP_KEYS = new Set([
  'iothub-enqueuedtime',
  'x-opt-enqueued-time',
  'absolute-expiry-time',
  'creation-time',
]);

/** AMQP 64-bit integers, which arrive as 8-byte Buffers when too large for a number. */
const INT64_KEYS = new Set(['x-opt-sequence-number', 'x-opt-sequence-number-epoch']);

/**
 * Turns events received with @azure/event-hubs into the messages the ingest use case
 * reads (`RawIotHubMessage`). Pure and total; never throws.
 *
 * - Bodies are kept exactly as they came (object, string, Uint8Array, Buffer): the decoder
 *   reads all of them, with its own size limit and JSON parsing.
 * - Properties and system properties are copied into plain JSON values: Dates and epoch
 *   milliseconds of known timestamps become ISO 8601 text; Long-like values (`{low, high}`,
 *   bigint, 8-byte Buffers of 64-bit keys) become numbers, or decimal text beyond 2^53; other
 *   bytes become UTF-8 text. Dead letters hash and store these values, so they must be plain.
 * - The SDK's camelCase names of AMQP properties get their AMQP names (`userId` -> `user-id`).
 * - The position the SDK lifted out of the annotations goes back under the annotations' names
 *   (`x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time`, `x-opt-partition-key`),
 *   so a dead letter says which event it was.
 */
export function messagesFromReceivedEvents(
  events: readonly ReceivedEventLike[],
): RawIotHubMessage[] {
  return events.map((event) => {
    const systemProperties: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(recordOf(event.systemProperties))) {
      const key = AMQP_PROPERTY_NAMES[name] ?? name;
      const plain = plainValue(key, value);
      if (plain !== undefined) systemProperties[key] = plain;
    }
    const enqueuedTimeUtc = isoOf(event.enqueuedTimeUtc);
    const position: Record<string, unknown> = {
      'x-opt-sequence-number': plainValue('x-opt-sequence-number', event.sequenceNumber),
      'x-opt-offset': plainValue('x-opt-offset', event.offset),
      'x-opt-enqueued-time': enqueuedTimeUtc,
      'x-opt-partition-key': event.partitionKey ?? undefined,
    };
    for (const [key, value] of Object.entries(position)) {
      if (value !== undefined && !(key in systemProperties)) systemProperties[key] = value;
    }

    const properties: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(recordOf(event.properties))) {
      const plain = plainValue(name, value);
      if (plain !== undefined) properties[name] = plain;
    }

    const message: RawIotHubMessage = { body: event.body, properties, systemProperties };
    if (enqueuedTimeUtc !== undefined) message.enqueuedTimeUtc = enqueuedTimeUtc;
    return message;
  });
}

/** A property value as plain JSON; undefined drops it. */
function plainValue(key: string, value: unknown, depth = 0): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return undefined;
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (TIMESTAMP_KEYS.has(key)) return isoOf(value);
    return Number.isFinite(value) ? value : undefined;
  }
  if (typeof value === 'bigint') return integerOf(value);
  if (value instanceof Date) return isoOf(value);
  if (value instanceof Uint8Array) {
    if (INT64_KEYS.has(key) && value.byteLength === 8) {
      return integerOf(Buffer.from(value).readBigInt64BE(0));
    }
    return Buffer.from(value).toString('utf8');
  }
  const long = longLike(value);
  if (long !== undefined) return integerOf(long);
  // Nested values (AMQP lists and maps) are rare in system properties; bound the walk.
  if (depth >= 8) return undefined;
  if (Array.isArray(value)) return value.map((item) => plainValue('', item, depth + 1) ?? null);
  if (typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
      const plain = plainValue(name, item, depth + 1);
      if (plain !== undefined) copy[name] = plain;
    }
    return copy;
  }
  return undefined;
}

/** `Long` from the `long` package and its look-alikes: two 32-bit halves. */
function longLike(value: unknown): bigint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { low, high, unsigned } = value as { low?: unknown; high?: unknown; unsigned?: unknown };
  if (!Number.isInteger(low) || !Number.isInteger(high)) return undefined;
  const bits = (BigInt((high as number) >>> 0) << 32n) | BigInt((low as number) >>> 0);
  return unsigned === true ? bits : BigInt.asIntN(64, bits);
}

function integerOf(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}

function isoOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  const date =
    value instanceof Date ? value : typeof value === 'number' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

function recordOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
