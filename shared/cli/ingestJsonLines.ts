import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { RawIotHubMessage } from '../app/ingest/RawIotHubMessage';
import { jsonErrorPosition } from '../app/ingest/decodeIotHubMessage';
import { deadLetterOf } from '../app/ingest/deadLetterOf';
import {
  IngestIotHubEvents,
  IngestSummary,
  emptyIngestSummary,
} from '../app/ingest/IngestIotHubEvents';
import { DeadLetters } from '../app/ports';
import { Clock, isoUtc } from '../domain/Clock';

/** Events Hubs' default batch size for the trigger (host.json maxEventBatchSize). */
const BATCH_SIZE = 100;

/**
 * `certfleet ingest FILE|-`: JSON Lines of routed IoT Hub events, `{"body", "properties",
 * "systemProperties"}` as Event Hubs delivers them, applied in batches of the trigger's default
 * size by the ingest use case, as the Event Hub trigger applies them. A line that is not such an
 * object is dead-lettered like any bad event.
 */
export async function ingestJsonLines(
  input: Readable,
  deps: { ingest: Pick<IngestIotHubEvents, 'apply'>; deadLetters: DeadLetters; clock: Clock },
): Promise<IngestSummary & { lines: number }> {
  const total = { lines: 0, ...emptyIngestSummary() };
  let batch: RawIotHubMessage[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const summary = await deps.ingest.apply(batch);
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
