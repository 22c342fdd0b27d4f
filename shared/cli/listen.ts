import {
  CheckpointStore,
  EventHubConsumerClient,
  SubscribeOptions,
  SubscriptionEventHandlers,
  earliestEventPosition,
  latestEventPosition,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import {
  DefaultAzureCredential,
  ManagedIdentityCredential,
  TokenCredential,
} from '@azure/identity';
import { ReceivedEventLike, messagesFromReceivedEvents } from '../adapters/eventhub/receivedEvents';
import { StorageClients } from '../adapters/storage/StorageClients';
import { IngestSummary } from '../app/ingest/IngestIotHubEvents';
import { RawIotHubMessage } from '../app/ingest/RawIotHubMessage';
import { describeIngest } from '../app/describeReports';
import { EventHubSettings, loadEventHubSettings } from '../config/eventHubSettings';
import { Settings, SettingsError, loadSettings } from '../config/settings';
import { Services, buildServices, services as sharedServices, useServices } from '../services';
import { UsageError } from './cliEnvironment';

/**
 * `certfleet listen`: consumes the Event Hub IoT Hub routes to with @azure/event-hubs, outside
 * Functions (a workstation, a container), and applies every batch with the ingest use case the
 * Event Hub trigger calls. Checkpoints go to Blob Storage in the FleetStorage account,
 * container `<prefix>-checkpoints`, through @azure/eventhubs-checkpointstore-blob.
 *
 * Not run against a live Event Hub here (docs/operations.md): the conversion of received
 * events and the checkpoint logic below are unit-tested with fakes of the SDK's objects.
 */

/** The part of the SDK's `PartitionContext` a batch needs. */
export interface CheckpointingPartition<E> {
  readonly partitionId: string;
  readonly consumerGroup?: string;
  readonly eventHubName?: string;
  readonly fullyQualifiedNamespace?: string;
  updateCheckpoint(event: E): Promise<void>;
}

export type IngestHandler = (messages: readonly RawIotHubMessage[]) => Promise<IngestSummary>;

export interface BatchDependencies {
  /** The ingest use case (the process's services by default); tests put a failing one in its place. */
  handle?: IngestHandler;
  /** One line per applied batch. */
  log: (line: string) => void;
  /** One line per fault: a failed attempt, a failed checkpoint. */
  warn: (line: string) => void;
  /** Waits between attempts; resolves early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborted when the listener stops: a batch still failing is then left for redelivery. */
  signal: AbortSignal;
  backoff?: { firstMs: number; maxMs: number };
}

export type BatchResult =
  | { outcome: 'empty' }
  | { outcome: 'applied'; summary: IngestSummary; attempts: number; checkpointed: boolean }
  | { outcome: 'abandoned'; attempts: number };

/** Like the trigger's retry policy (functions/iotHubEvents.ts): 5 s, doubling, up to 5 min. */
export const DEFAULT_BACKOFF = { firstMs: 5_000, maxMs: 5 * 60_000 };

/**
 * Applies one partition's batch with the ingest use case, then checkpoints it.
 *
 * The use case throws only for platform faults (storage down or refusing us); bad events are
 * dead-lettered inside it. So: checkpoint only after the handler returned; when it throws, do
 * not checkpoint, and retry the same batch here, with a back-off, until it applies or the
 * listener stops. Never throw to the SDK: its partition pump has already moved past a batch
 * whose `processEvents` threw, and would go on with the next one or drop the partition
 * (@azure/event-hubs 6.0.4, partitionPump.js), so a rethrow would skip the failed batch.
 * Redelivery after a stop is safe: the ledger recognises what was already applied.
 */
export async function processPartitionBatch<E extends ReceivedEventLike>(
  events: readonly E[],
  partition: CheckpointingPartition<E>,
  deps: BatchDependencies,
): Promise<BatchResult> {
  // The SDK calls with no events when maxWaitTimeInSeconds passes without any.
  const last = events[events.length - 1];
  if (last === undefined) return { outcome: 'empty' };
  const handle = deps.handle ?? ((batch) => sharedServices().ingest.apply(batch));
  const sleep = deps.sleep ?? sleepUnlessAborted;
  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  const messages = messagesFromReceivedEvents(events);
  const first = String(messages[0]?.systemProperties['x-opt-sequence-number'] ?? '?');
  const where = `partition ${partition.partitionId}`;

  let attempts = 0;
  let delay = backoff.firstMs;
  while (!deps.signal.aborted) {
    attempts += 1;
    let summary: IngestSummary;
    try {
      summary = await handle(messages);
    } catch (error) {
      deps.warn(
        `${where}: ${events.length} events from sequence number ${first} not applied (${oneLine(error)}); ` +
          `not checkpointed, retrying in ${Math.round(delay / 1000)} s`,
      );
      await sleep(delay, deps.signal);
      delay = Math.min(delay * 2, backoff.maxMs);
      continue;
    }
    deps.log(`${where}: ${describeIngest(summary, events.length)}`);
    try {
      await partition.updateCheckpoint(last);
      return { outcome: 'applied', summary, attempts, checkpointed: true };
    } catch (error) {
      // Applied but not checkpointed: the next batch's checkpoint covers it, or after a restart
      // these events come again and are recognised as duplicates. Not worth a retry loop.
      deps.warn(
        `${where}: applied, but the checkpoint failed (${oneLine(error)}); these events will be delivered again`,
      );
      return { outcome: 'applied', summary, attempts, checkpointed: false };
    }
  }
  if (attempts > 0) {
    deps.warn(`${where}: stopping; ${events.length} events left unapplied for the next run`);
  }
  return { outcome: 'abandoned', attempts };
}

export interface ListenOptions {
  consumerGroup?: string;
  fromStart?: boolean;
  maxBatch?: string;
}

/** What `listen` needs of an EventHubConsumerClient; tests pass a fake. */
export interface ConsumerClient {
  subscribe(
    handlers: SubscriptionEventHandlers,
    options: SubscribeOptions,
  ): { close(): Promise<void> };
  close(): Promise<void>;
}

export interface ListenDependencies {
  /** Settings, as the CLI reads them (environment, then local.settings.json). */
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where SIGINT and SIGTERM come from: the process. */
  signals: Pick<NodeJS.Process, 'once' | 'removeListener'>;
  /** Builds the Event Hubs client; by default the SDK's, which connects on subscribe. */
  client?: (settings: EventHubSettings, checkpoints: CheckpointStore) => ConsumerClient;
  /** Called on a second Ctrl-C while stopping. */
  forceExit?: () => void;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const MAX_BATCH_LIMIT = 1000;
const MAX_WAIT_SECONDS = 30;

/**
 * Runs until SIGINT or SIGTERM, then closes the subscription (releasing its partitions to other
 * listeners), waits for batches in progress and closes the client. Missing or invalid
 * settings throw `SettingsError` naming all of them before anything connects.
 */
export async function listen(options: ListenOptions, deps: ListenDependencies): Promise<void> {
  const maxBatchSize = maxBatchOf(options.maxBatch);
  const { settings, eventHub } = listenSettings(deps.env, options.consumerGroup);
  const services: Services = buildServices(settings);
  useServices(services); // each batch's ingest uses these services

  const containerName = `${settings.storagePrefix}-checkpoints`;
  const container = StorageClients.fromSettings(settings.storage).container(containerName);
  await container.createIfNotExists();
  const client = (deps.client ?? eventHubClient)(eventHub, new BlobCheckpointStore(container));

  const stop = new AbortController();
  const inFlight = new Set<Promise<BatchResult>>();
  const subscription = client.subscribe(
    {
      processEvents: async (events, context) => {
        const batch = processPartitionBatch(events, context, {
          log: deps.out,
          warn: deps.err,
          signal: stop.signal,
          ...(deps.sleep ? { sleep: deps.sleep } : {}),
        });
        inFlight.add(batch);
        try {
          await batch;
        } finally {
          inFlight.delete(batch);
        }
      },
      processError: async (error, context) => {
        // The SDK retries what it can by itself; this is for the operator (a wrong name, a
        // missing role, the network).
        deps.err(`event hubs, partition ${context.partitionId || '-'}: ${oneLine(error)}`);
      },
    },
    {
      maxBatchSize,
      maxWaitTimeInSeconds: MAX_WAIT_SECONDS,
      // Where a partition starts when no checkpoint exists yet.
      startPosition: options.fromStart ? earliestEventPosition : latestEventPosition,
      // The bytes as IoT Hub sent them: the decoder parses them under its own size limit.
      skipParsingBodyAsJson: true,
    },
  );
  deps.out(
    `listening to ${describe(eventHub)}, consumer group ${eventHub.consumerGroup}` +
      `${options.fromStart ? ', from the earliest event where no checkpoint exists' : ''}; ` +
      `checkpoints in ${services.storageDescription}, container ${containerName}; Ctrl-C to stop`,
  );

  const signal = await new Promise<string>((resolve) => {
    const onSignal = (name: string) => () => {
      deps.signals.removeListener('SIGINT', onInt);
      deps.signals.removeListener('SIGTERM', onTerm);
      resolve(name);
    };
    const onInt = onSignal('SIGINT');
    const onTerm = onSignal('SIGTERM');
    deps.signals.once('SIGINT', onInt);
    deps.signals.once('SIGTERM', onTerm);
  });
  const force = () => {
    deps.err('stopping at once');
    (deps.forceExit ?? (() => process.exit(130)))();
  };
  deps.signals.once('SIGINT', force);
  try {
    deps.out(`${signal}: stopping`);
    stop.abort();
    await subscription.close();
    await Promise.allSettled([...inFlight]);
    await client.close();
    deps.out('stopped');
  } finally {
    deps.signals.removeListener('SIGINT', force);
  }
}

/** Both settings sets, every problem of both named at once. */
function listenSettings(
  env: Record<string, string | undefined>,
  consumerGroup: string | undefined,
): { settings: Settings; eventHub: EventHubSettings } {
  const problems: string[] = [];
  let settings: Settings | undefined;
  let eventHub: EventHubSettings | undefined;
  try {
    settings = loadSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  try {
    eventHub = loadEventHubSettings(
      consumerGroup !== undefined
        ? { ...env, CERTFLEET_EVENTHUB_CONSUMER_GROUP: consumerGroup }
        : env,
    );
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !settings || !eventHub) throw new SettingsError(problems);
  return { settings, eventHub };
}

/** The SDK's client for the configured connection; nothing connects before `subscribe`. */
export function eventHubClient(
  settings: EventHubSettings,
  checkpoints: CheckpointStore,
): EventHubConsumerClient {
  const c = settings.connection;
  if (c.kind === 'connection-string') {
    // With EntityPath the connection string names the Event Hub itself.
    return c.entityPath
      ? new EventHubConsumerClient(settings.consumerGroup, c.connectionString, checkpoints)
      : new EventHubConsumerClient(
          settings.consumerGroup,
          c.connectionString,
          settings.eventHubName,
          checkpoints,
        );
  }
  const credential: TokenCredential =
    c.credential === 'managedidentity'
      ? c.clientId
        ? new ManagedIdentityCredential({ clientId: c.clientId })
        : new ManagedIdentityCredential()
      : new DefaultAzureCredential(c.clientId ? { managedIdentityClientId: c.clientId } : {});
  return new EventHubConsumerClient(
    settings.consumerGroup,
    c.fullyQualifiedNamespace,
    settings.eventHubName,
    credential,
    checkpoints,
  );
}

function describe(settings: EventHubSettings): string {
  const c = settings.connection;
  if (c.kind === 'identity')
    return `${c.fullyQualifiedNamespace}/${settings.eventHubName} (Entra ID)`;
  const host = /Endpoint=sb:\/\/([^/;]+)/i.exec(c.connectionString)?.[1] ?? 'the namespace';
  return `${host}/${settings.eventHubName} (connection string)`;
}

function maxBatchOf(value: string | undefined): number {
  if (value === undefined) return 100; // the trigger's batch size (host.json)
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_BATCH_LIMIT) {
    throw new UsageError(`--max-batch must be a whole number from 1 to ${MAX_BATCH_LIMIT}`);
  }
  return n;
}

/** An error in one line: name, message, code; an AggregateError (a refused connection) by its parts. */
function oneLine(error: unknown, depth = 0): string {
  if (error === null || typeof error !== 'object') return String(error);
  const e = error as { name?: unknown; message?: unknown; code?: unknown; errors?: unknown };
  let message = typeof e.message === 'string' ? e.message : '';
  if (message === '' && Array.isArray(e.errors) && depth < 2) {
    message = e.errors.map((inner) => oneLine(inner, depth + 1)).join('; ');
  }
  const name = String(e.name ?? 'Error');
  // A code adds to the line unless the message has it or it merely spells the name
  // (certfleet's TransientFault carries TRANSIENT_FAULT).
  const spellsName = (code: string) => code.replace(/_/g, '').toLowerCase() === name.toLowerCase();
  const code =
    typeof e.code === 'string' && !message.includes(e.code) && !spellsName(e.code)
      ? ` (${e.code})`
      : '';
  return `${name}: ${message}${code}`.replace(/\s*\n\s*/g, ' ');
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
