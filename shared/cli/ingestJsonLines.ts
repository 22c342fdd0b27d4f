import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { InvocationContext } from '@azure/functions';
import { handleIotHubEvents } from '../../functions/iotHubEvents';
import { triggerBatchFromMessages } from '../adapters/eventhub/triggerBatch';
import { RawIotHubMessage } from '../adapters/eventhub/RawIotHubMessage';
import { jsonErrorPosition } from '../adapters/eventhub/decodeIotHubMessage';
import { deadLetterOf } from '../app/deadLetterOf';
import { IngestSummary, emptyIngestSummary } from '../app/IngestIotHubEvents';
import { DeadLetters } from '../app/ports';
import { Clock, isoUtc } from '../domain/Clock';

/** Events Hubs' default batch size for the trigger (host.json maxEventBatchSize). */
const BATCH_SIZE = 100;

/**
 * `certfleet ingest FILE|-`: JSON Lines of routed IoT Hub events, `{"body", "properties",
 * "systemProperties"}` as Event Hubs delivers them, fed in batches through the Event Hub
 * trigger's own handler. A line that is not such an object is dead-lettered like any bad event.
 */
export async function ingestJsonLines(
  input: Readable,
  deps: { deadLetters: DeadLetters; clock: Clock; log?: (line: string) => void },
): Promise<IngestSummary & { lines: number }> {
  const total = { lines: 0, ...emptyIngestSummary() };
  const context = new InvocationContext({
    functionName: 'iotHubEvents',
    invocationId: 'certfleet-cli',
    logHandler: (_level, ...args) => deps.log?.(args.map(String).join(' ')),
  });
  let batch: RawIotHubMessage[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const { bodies, metadata } = triggerBatchFromMessages(batch);
    context.triggerMetadata = metadata;
    const summary = await handleIotHubEvents(bodies, context);
    for (const key of Object.keys(summary) as (keyof IngestSummary)[]) total[key] += summary[key];
    batch = [];
  };

  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    total.lines += 1;
    if (line.trim() === '') continue;
    const parsed = parseLine(line);
    if ('problem' in parsed) {
      const raw: RawIotHubMessage = { body: line, properties: {}, systemProperties: {} };
      await deps.deadLetters.put(
        deadLetterOf(
          raw,
          { code: 'invalid-line', reason: `line ${total.lines}: ${parsed.problem}` },
          isoUtc(deps.clock.now()),
        ),
      );
      total.messages += 1;
      total.deadLettered += 1;
      continue;
    }
    batch.push(parsed);
    if (batch.length >= BATCH_SIZE) await flush();
  }
  await flush();
  return total;
}

function parseLine(line: string): RawIotHubMessage | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    // The position only: the parser's message quotes the line, which could hold key material.
    return { problem: `not JSON (${jsonErrorPosition(error as Error)})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problem: 'not an object with body, properties and systemProperties' };
  }
  const v = value as Record<string, unknown>;
  const message: RawIotHubMessage = {
    body: v['body'],
    properties: isObject(v['properties']) ? v['properties'] : {},
    systemProperties: isObject(v['systemProperties']) ? v['systemProperties'] : {},
  };
  if (typeof v['enqueuedTimeUtc'] === 'string') message.enqueuedTimeUtc = v['enqueuedTimeUtc'];
  return message;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
