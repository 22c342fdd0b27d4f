import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointStore,
  PartitionContext,
  ReceivedEventData,
  SubscribeOptions,
  SubscriptionEventHandlers,
  earliestEventPosition,
  latestEventPosition,
} from '@azure/event-hubs';
import { ReceivedEventLike } from '../../shared/adapters/eventhub/receivedEvents';
import { TransientFault } from '../../shared/app/ports';
import { IngestSummary, emptyIngestSummary } from '../../shared/app/ingest/IngestIotHubEvents';
import { EventHubSettings, loadEventHubSettings } from '../../shared/config/eventHubSettings';
import { SettingsError } from '../../shared/config/settings';
import { main } from '../../shared/cli/certfleet';
import {
  BatchDependencies,
  CheckpointingPartition,
  ConsumerClient,
  ListenDependencies,
  eventHubClient,
  listen,
  processPartitionBatch,
} from '../../shared/cli/listen';
import { Services, useServices } from '../../shared/services';
import {
  certificateReportedBySdk,
  deviceConnectedBySdk,
  deviceCreatedBySdk,
} from '../support/receivedEvents';
import { azuriteServices, testEnvironment } from '../support/testStorage';

/**
 * `certfleet listen` without a live Event Hub: the SDK's partition context and client are
 * fakes; the handler, the ledger (Azurite) and the Blob checkpoint store are real.
 */
const KEY = Buffer.from('listen test policy key, 32 bytes').toString('base64');
const EVENTS_CONNECTION = `Endpoint=sb://certfleet-test.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`;
const NAMESPACE = 'certfleet-test.servicebus.windows.net';
const CERTIFICATE = {
  validFrom: '2026-11-20T00:00:00.000Z',
  validUntil: '2026-12-20T00:00:00.000Z',
};
const device = (deviceId: string, sequenceNumber: number, at: string, bodyAs?: 'bytes') => ({
  hub: 'contoso-hub',
  deviceId,
  at,
  sequenceNumber,
  ...(bodyAs ? { bodyAs } : {}),
});

/** A device's whole story in one partition's batch, bodies both ways the SDK hands them over. */
function aBatch(deviceId: string, firstSequenceNumber: number): ReceivedEventLike[] {
  return [
    deviceCreatedBySdk(device(deviceId, firstSequenceNumber, '2026-11-20T08:00:00.000Z', 'bytes')),
    certificateReportedBySdk(
      device(deviceId, firstSequenceNumber + 1, '2026-11-20T08:05:00.000Z'),
      2,
      CERTIFICATE,
    ),
    deviceConnectedBySdk(
      device(deviceId, firstSequenceNumber + 2, '2026-11-20T08:06:00.000Z', 'bytes'),
      '000000000000000001D8F1A2B3C4D5E6000000010000000000000000000000AB',
    ),
  ];
}

/** A partition context that records the sequence numbers it was asked to checkpoint. */
class RecordingPartition implements CheckpointingPartition<ReceivedEventLike> {
  readonly checkpoints: unknown[] = [];
  constructor(
    readonly partitionId: string,
    private readonly beforeCheckpoint: () => Promise<void> = async () => undefined,
    private readonly fail?: Error,
  ) {}
  async updateCheckpoint(event: ReceivedEventLike): Promise<void> {
    await this.beforeCheckpoint();
    if (this.fail) throw this.fail;
    this.checkpoints.push(event.sequenceNumber);
  }
}

function lines() {
  const log: string[] = [];
  const warn: string[] = [];
  return {
    log,
    warn,
    sink: { log: (l: string) => log.push(l), warn: (l: string) => warn.push(l) },
  };
}

const applied = (n: number): IngestSummary => ({
  ...emptyIngestSummary(),
  messages: n,
  applied: n,
});

describe('processPartitionBatch', () => {
  let services: Services;

  beforeEach(() => {
    services = azuriteServices({ now: '2026-11-20T09:00:00.000Z' }).services;
    useServices(services);
  });

  afterEach(() => useServices(undefined));

  it("applies a partition's batch of IoT Hub events through the ingest use case to the ledger, then checkpoints its last event", async () => {
    const ledgerAtCheckpoint: unknown[] = [];
    const partition = new RecordingPartition('3', async () => {
      const record = await services.ledger.read({ hub: 'contoso-hub', deviceId: 'sensor-01' });
      ledgerAtCheckpoint.push(record?.value.current?.validUntil);
    });
    const out = lines();

    const result = await processPartitionBatch(aBatch('sensor-01', 700), partition, {
      ...out.sink,
      signal: new AbortController().signal,
    });

    expect(result).toMatchObject({ outcome: 'applied', checkpointed: true, attempts: 1 });
    expect(partition.checkpoints).toStrictEqual([702]);
    // The checkpoint was written only once the ledger held the batch.
    expect(ledgerAtCheckpoint).toStrictEqual(['2026-12-20T00:00:00.000Z']);
    const record = (await services.ledger.read({ hub: 'contoso-hub', deviceId: 'sensor-01' }))
      ?.value;
    expect(record).toMatchObject({
      lifecycle: 'active',
      connection: { state: 'connected' },
      current: { validFrom: '2026-11-20T00:00:00.000Z', validUntil: '2026-12-20T00:00:00.000Z' },
    });
    expect(out.log).toStrictEqual([
      // The created twin has no certificate yet: its report changes nothing (irrelevant).
      'partition 3: 3 events: 3 applied, 0 duplicate, 0 stale, 1 irrelevant, 0 ignored, 0 dead-lettered; 1 audit records',
    ]);
    expect(out.warn).toStrictEqual([]);
  });

  it('dead-letters a bad event inside the batch and still checkpoints the batch', async () => {
    const events = aBatch('sensor-02', 800);
    events[1]!.body = Buffer.from('{"version": 3, "properties": {"reported": ', 'utf8');
    const partition = new RecordingPartition('0');
    const out = lines();

    const result = await processPartitionBatch(events, partition, {
      ...out.sink,
      signal: new AbortController().signal,
    });

    expect(result).toMatchObject({ outcome: 'applied', summary: { deadLettered: 1 } });
    expect(partition.checkpoints).toStrictEqual([802]);
    const letters = [];
    for await (const letter of services.deadLetters.list()) letters.push(letter);
    expect(letters).toMatchObject([
      {
        code: 'body-not-json',
        deviceId: 'sensor-02',
        message: { systemProperties: { 'x-opt-sequence-number': 801 } },
      },
    ]);
    expect(out.log[0]).toMatch(/^partition 0: 3 events: .* 1 dead-lettered;/);
  });

  it('does not checkpoint while the handler fails, retries the same batch with a growing back-off, and checkpoints once it applies', async () => {
    const partition = new RecordingPartition('1');
    const out = lines();
    const delays: number[] = [];
    const checkpointsDuringFailures: unknown[][] = [];
    const seen: number[] = [];
    let calls = 0;
    const deps: BatchDependencies = {
      ...out.sink,
      signal: new AbortController().signal,
      backoff: { firstMs: 5_000, maxMs: 20_000 },
      sleep: async (ms) => {
        delays.push(ms);
        checkpointsDuringFailures.push([...partition.checkpoints]);
      },
      handle: async (bodies) => {
        calls += 1;
        seen.push(bodies.length);
        if (calls <= 4) throw new TransientFault(`storage unavailable\n(attempt ${calls})`);
        return applied(bodies.length);
      },
    };

    const result = await processPartitionBatch(aBatch('sensor-03', 900), partition, deps);

    expect(result).toMatchObject({ outcome: 'applied', attempts: 5, checkpointed: true });
    expect(delays).toStrictEqual([5_000, 10_000, 20_000, 20_000]);
    expect(checkpointsDuringFailures).toStrictEqual([[], [], [], []]);
    expect(seen).toStrictEqual([3, 3, 3, 3, 3]);
    expect(partition.checkpoints).toStrictEqual([902]);
    expect(out.warn).toHaveLength(4);
    expect(out.warn[0]).toBe(
      'partition 1: 3 events from sequence number 900 not applied (TransientFault: storage unavailable (attempt 1)); ' +
        'not checkpointed, retrying in 5 s',
    );
  });

  it('leaves a failing batch unapplied and without a checkpoint when the listener stops during the back-off', async () => {
    const partition = new RecordingPartition('2');
    const stop = new AbortController();
    const out = lines();

    const result = await processPartitionBatch(aBatch('sensor-04', 1000), partition, {
      ...out.sink,
      signal: stop.signal,
      sleep: async () => stop.abort(),
      handle: async () => {
        throw new TransientFault('table service unavailable');
      },
    });

    expect(result).toStrictEqual({ outcome: 'abandoned', attempts: 1 });
    expect(partition.checkpoints).toStrictEqual([]);
    expect(out.warn[1]).toBe('partition 2: stopping; 3 events left unapplied for the next run');
  });

  it('reports a failed checkpoint in one line without failing or repeating the applied batch', async () => {
    const partition = new RecordingPartition('4', undefined, new Error('checkpoint blob: 503'));
    const out = lines();
    let calls = 0;

    const result = await processPartitionBatch(aBatch('sensor-05', 1100), partition, {
      ...out.sink,
      signal: new AbortController().signal,
      handle: async (bodies) => {
        calls += 1;
        return applied(bodies.length);
      },
    });

    expect(result).toMatchObject({ outcome: 'applied', checkpointed: false });
    expect(calls).toBe(1);
    expect(out.warn).toStrictEqual([
      'partition 4: applied, but the checkpoint failed (Error: checkpoint blob: 503); these events will be delivered again',
    ]);
  });

  it('passes over the empty batches the SDK delivers when no event arrived in the wait time', async () => {
    const partition = new RecordingPartition('5');
    const out = lines();

    const result = await processPartitionBatch([], partition, {
      ...out.sink,
      signal: new AbortController().signal,
    });

    expect(result).toStrictEqual({ outcome: 'empty' });
    expect(partition.checkpoints).toStrictEqual([]);
    expect(out.log).toStrictEqual([]);
  });
});

/** Stands in for EventHubConsumerClient: hands out SDK-like partition contexts over the real store. */
class FakeEventHub implements ConsumerClient {
  handlers?: SubscriptionEventHandlers;
  options?: SubscribeOptions;
  subscriptionClosed = false;
  clientClosed = false;
  readonly subscribed: Promise<void>;
  private markSubscribed!: () => void;

  constructor(
    readonly settings: EventHubSettings,
    readonly store: CheckpointStore,
  ) {
    this.subscribed = new Promise((resolve) => (this.markSubscribed = resolve));
  }

  subscribe(handlers: SubscriptionEventHandlers, options: SubscribeOptions) {
    this.handlers = handlers;
    this.options = options;
    this.markSubscribed();
    return {
      close: async () => {
        this.subscriptionClosed = true;
      },
    };
  }

  async close(): Promise<void> {
    this.clientClosed = true;
  }

  /** What the SDK's PartitionProcessor does on updateCheckpoint (partitionProcessor.js). */
  partition(partitionId: string): PartitionContext {
    const where = {
      fullyQualifiedNamespace: NAMESPACE,
      eventHubName: this.settings.eventHubName,
      consumerGroup: this.settings.consumerGroup,
      partitionId,
    };
    return {
      ...where,
      updateCheckpoint: (event: ReceivedEventData) =>
        this.store.updateCheckpoint({
          ...where,
          sequenceNumber: event.sequenceNumber,
          offset: event.offset,
        }),
    };
  }
}

describe('listen', () => {
  function setUp(extra: Record<string, string> = {}) {
    const env = testEnvironment({
      IotHubEvents: EVENTS_CONNECTION,
      CERTFLEET_EVENTHUB_NAME: 'iothub-events',
      ...extra,
    });
    const signals = new EventEmitter();
    const out: string[] = [];
    const err: string[] = [];
    let hub: FakeEventHub | undefined;
    let ready!: (hub: FakeEventHub) => void;
    const created = new Promise<FakeEventHub>((resolve) => (ready = resolve));
    const deps: ListenDependencies = {
      env,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      signals: signals as unknown as ListenDependencies['signals'],
      client: (settings, store) => {
        hub = new FakeEventHub(settings, store);
        ready(hub);
        return hub;
      },
    };
    return { env, signals, out, err, deps, created, hub: () => hub };
  }

  afterEach(() => useServices(undefined));

  it('feeds received batches to the ledger, keeps checkpoints in the FleetStorage container, and stops cleanly on SIGTERM', async () => {
    const run = setUp();
    const running = listen({}, run.deps);
    const hub = await run.created;
    await hub.subscribed;

    await hub.handlers!.processEvents(
      aBatch('sensor-10', 40) as unknown as ReceivedEventData[],
      hub.partition('7'),
    );
    run.signals.emit('SIGTERM');
    await running;

    expect(hub.options).toMatchObject({
      maxBatchSize: 100,
      startPosition: latestEventPosition,
      skipParsingBodyAsJson: true,
    });
    expect(hub.settings).toMatchObject({
      eventHubName: 'iothub-events',
      consumerGroup: '$Default',
    });
    const checkpoints = await hub.store.listCheckpoints(NAMESPACE, 'iothub-events', '$Default');
    expect(checkpoints).toMatchObject([{ partitionId: '7', sequenceNumber: 42 }]);
    const { services } = azuriteServices({ env: run.env });
    const record = await services.ledger.read({ hub: 'contoso-hub', deviceId: 'sensor-10' });
    expect(record?.value.current?.validUntil).toBe('2026-12-20T00:00:00.000Z');
    expect({ subscription: hub.subscriptionClosed, client: hub.clientClosed }).toStrictEqual({
      subscription: true,
      client: true,
    });
    expect(run.out[0]).toBe(
      'listening to certfleet-test.servicebus.windows.net/iothub-events (connection string), consumer group $Default; ' +
        `checkpoints in ${services.storageDescription}, container ${run.env.CERTFLEET_STORAGE_PREFIX}-checkpoints; Ctrl-C to stop`,
    );
    expect(run.out.slice(-2)).toStrictEqual(['SIGTERM: stopping', 'stopped']);
    expect(run.signals.listenerCount('SIGINT') + run.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('starts at the earliest retained event with --from-start, in the consumer group and batch size asked for', async () => {
    const run = setUp();
    const running = listen(
      { fromStart: true, consumerGroup: 'certfleet-ops', maxBatch: '25' },
      run.deps,
    );
    const hub = await run.created;
    await hub.subscribed;
    run.signals.emit('SIGINT');
    await running;

    expect(hub.options).toMatchObject({ maxBatchSize: 25, startPosition: earliestEventPosition });
    expect(hub.settings.consumerGroup).toBe('certfleet-ops');
  });

  it("prints the SDK's errors in one line each, a refused connection by its causes", async () => {
    const run = setUp();
    const running = listen({}, run.deps);
    const hub = await run.created;
    await hub.subscribed;
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:5671`), { code: 'ECONNREFUSED' });

    await hub.handlers!.processError(
      new AggregateError([refused('10.0.0.4'), refused('10.0.0.5')], ''),
      { ...hub.partition('7'), partitionId: '' },
    );
    await hub.handlers!.processError(
      Object.assign(
        new Error("The messaging entity 'iothub-events' could not be found.\nTrackingId: 1"),
        {
          name: 'MessagingError',
          code: 'MessagingEntityNotFoundError',
        },
      ),
      hub.partition('0'),
    );
    run.signals.emit('SIGTERM');
    await running;

    expect(run.err).toStrictEqual([
      'event hubs, partition -: AggregateError: Error: connect ECONNREFUSED 10.0.0.4:5671; ' +
        'Error: connect ECONNREFUSED 10.0.0.5:5671',
      "event hubs, partition 0: MessagingError: The messaging entity 'iothub-events' could not be found. " +
        'TrackingId: 1 (MessagingEntityNotFoundError)',
    ]);
  });

  it('stops a batch still retrying after a platform fault when asked to stop, without checkpointing it', async () => {
    const run = setUp();
    const running = listen({}, run.deps);
    const hub = await run.created;
    await hub.subscribed;
    // The ledger's storage goes away: every attempt fails.
    useServices({
      ...azuriteServices({ env: run.env }).services,
      ingest: {
        apply: async () => {
          throw new TransientFault('table service unavailable');
        },
      },
    } as unknown as Services);

    const batch = hub.handlers!.processEvents(
      aBatch('sensor-11', 50) as unknown as ReceivedEventData[],
      hub.partition('2'),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    run.signals.emit('SIGINT');
    await Promise.all([running, batch]);

    expect(await hub.store.listCheckpoints(NAMESPACE, 'iothub-events', '$Default')).toStrictEqual(
      [],
    );
    expect(run.err[0]).toMatch(
      /^partition 2: 3 events from sequence number 50 not applied \(TransientFault: table service unavailable\); not checkpointed, retrying in 5 s$/,
    );
    expect(run.out.slice(-1)).toStrictEqual(['stopped']);
  });
});

describe('certfleet listen settings', () => {
  const saved = { ...process.env };
  const cwd = process.cwd();
  let dir: string;

  async function certfleet(...args: string[]) {
    let stderr = '';
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
      stderr += String(chunk);
      return true;
    }) as typeof process.stderr.write);
    try {
      return { code: await main(args), stderr };
    } finally {
      err.mockRestore();
    }
  }

  beforeEach(() => {
    // No local.settings.json here: only the environment below counts.
    dir = mkdtempSync(join(tmpdir(), 'certfleet-listen-'));
    process.chdir(dir);
    for (const key of Object.keys(process.env)) {
      if (/^(IotHubEvents|CERTFLEET_EVENTHUB_)/.test(key)) delete process.env[key];
    }
    Object.assign(process.env, testEnvironment());
  });

  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    useServices(undefined);
  });

  it('exits 2 naming every missing Event Hubs setting, and a bad storage setting with them, before connecting', async () => {
    process.env.FleetStorage = 'not a connection string';

    const run = await certfleet('listen');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('IotHubEvents or IotHubEvents__fullyQualifiedNamespace: required');
    expect(run.stderr).toContain('CERTFLEET_EVENTHUB_NAME: required');
    expect(run.stderr).toContain('FleetStorage: not a storage connection string');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 when IotHubEvents holds an IoT Hub connection string, without echoing its key', async () => {
    process.env.IotHubEvents = `HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY}`;
    process.env.CERTFLEET_EVENTHUB_NAME = 'iothub-events';

    const run = await certfleet('listen');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('IotHubEvents: not an Event Hubs connection string');
    expect(run.stderr).not.toContain(KEY);
  });

  it('exits 2 for a batch size outside 1 to 1000', async () => {
    const run = await certfleet('listen', '--max-batch', '0');

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--max-batch must be a whole number from 1 to 1000');
  });
});

describe('loadEventHubSettings', () => {
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadEventHubSettings(env);
    } catch (error) {
      expect(error).toBeInstanceOf(SettingsError);
      return (error as SettingsError).problems;
    }
    throw new Error('expected a SettingsError');
  };

  it("takes the Event Hub from the connection string's EntityPath, and $Default as the consumer group", () => {
    const settings = loadEventHubSettings({
      IotHubEvents: `${EVENTS_CONNECTION};EntityPath=iothub-events`,
    });

    expect(settings).toStrictEqual({
      connection: {
        kind: 'connection-string',
        connectionString: `${EVENTS_CONNECTION};EntityPath=iothub-events`,
        entityPath: 'iothub-events',
      },
      eventHubName: 'iothub-events',
      consumerGroup: '$Default',
    });
  });

  it('reads a namespace with a user-assigned managed identity', () => {
    expect(
      loadEventHubSettings({
        IotHubEvents__fullyQualifiedNamespace: NAMESPACE,
        IotHubEvents__credential: 'managedidentity',
        IotHubEvents__clientId: '00000000-0000-0000-0000-00000000beef',
        CERTFLEET_EVENTHUB_NAME: 'iothub-events',
        CERTFLEET_EVENTHUB_CONSUMER_GROUP: 'certfleet',
      }),
    ).toStrictEqual({
      connection: {
        kind: 'identity',
        fullyQualifiedNamespace: NAMESPACE,
        credential: 'managedidentity',
        clientId: '00000000-0000-0000-0000-00000000beef',
      },
      eventHubName: 'iothub-events',
      consumerGroup: 'certfleet',
    });
  });

  it('names each conflicting or malformed setting', () => {
    expect(
      problemsOf({
        IotHubEvents: `${EVENTS_CONNECTION};EntityPath=other-hub`,
        CERTFLEET_EVENTHUB_NAME: 'iothub-events',
        CERTFLEET_EVENTHUB_CONSUMER_GROUP: 'bad group',
      }),
    ).toStrictEqual([
      "CERTFLEET_EVENTHUB_NAME: differs from the connection string's EntityPath",
      'CERTFLEET_EVENTHUB_CONSUMER_GROUP: must be $Default or a consumer group name (letters, digits, . _ -; up to 50)',
    ]);
    expect(
      problemsOf({
        IotHubEvents: EVENTS_CONNECTION,
        IotHubEvents__fullyQualifiedNamespace: NAMESPACE,
        CERTFLEET_EVENTHUB_NAME: 'iothub-events',
      }),
    ).toStrictEqual(['IotHubEvents, IotHubEvents__fullyQualifiedNamespace: set one, not both']);
    expect(
      problemsOf({
        IotHubEvents__fullyQualifiedNamespace: 'sb://not a host',
        IotHubEvents__credential: 'password',
        CERTFLEET_EVENTHUB_NAME: 'iothub-events',
      }),
    ).toStrictEqual([
      'IotHubEvents__fullyQualifiedNamespace: not a host name such as contoso-events.servicebus.windows.net',
      'IotHubEvents__credential: must be managedidentity or empty',
    ]);
  });
});

describe('eventHubClient', () => {
  const store = {} as CheckpointStore;

  it('builds the SDK client for the Event Hub the settings name, without connecting', async () => {
    const byEntityPath = eventHubClient(
      loadEventHubSettings({ IotHubEvents: `${EVENTS_CONNECTION};EntityPath=routed` }),
      store,
    );
    const byName = eventHubClient(
      loadEventHubSettings({ IotHubEvents: EVENTS_CONNECTION, CERTFLEET_EVENTHUB_NAME: 'named' }),
      store,
    );
    const byIdentity = eventHubClient(
      loadEventHubSettings({
        IotHubEvents__fullyQualifiedNamespace: 'other-ns.servicebus.windows.net',
        IotHubEvents__credential: 'managedidentity',
        CERTFLEET_EVENTHUB_NAME: 'with-identity',
      }),
      store,
    );
    try {
      expect(
        [byEntityPath, byName, byIdentity].map(
          (c) => `${c.fullyQualifiedNamespace}/${c.eventHubName}`,
        ),
      ).toStrictEqual([
        `${NAMESPACE}/routed`,
        `${NAMESPACE}/named`,
        'other-ns.servicebus.windows.net/with-identity',
      ]);
    } finally {
      await Promise.all([byEntityPath.close(), byName.close(), byIdentity.close()]);
    }
  });
});
