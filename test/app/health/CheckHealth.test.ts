import {
  EventHubPartitions,
  HubStatistics,
  ProbeFailed,
  StorageProbe,
  TriggerCheckpoints,
} from '../../../shared/app/ports';
import {
  CheckHealth,
  CheckHealthDependencies,
  statusOnly,
} from '../../../shared/app/health/CheckHealth';
import { ManualClock } from '../../../shared/domain/Clock';
import { PARTITION_LAG_THRESHOLD } from '../../../shared/domain/health/healthStatus';
import { PartitionEnd } from '../../../shared/domain/health/partitionLag';

/**
 * The health check over hand-written doubles of its ports, a manual clock and timeouts the test
 * fires itself: what each part's answer makes of the report, the timeout, and the cache.
 */
const NOW = '2026-11-23T12:00:00.000Z';

/** An answer a double gives: a value, a failure, or none at all (it hangs). */
type Answer<T> = { value: T } | { fail: Error } | 'hang';

/** Records each call and the signal it was given, and answers as scripted. */
class Scripted<T> {
  calls = 0;
  readonly signals: AbortSignal[] = [];
  constructor(
    public answer: Answer<T>,
    private readonly clock?: ManualClock,
    public takesMs = 0,
  ) {}
  async call(signal: AbortSignal): Promise<T> {
    this.calls += 1;
    this.signals.push(signal);
    this.clock?.advance(this.takesMs);
    const answer = this.answer;
    if (answer === 'hang') return new Promise<T>(() => undefined);
    if ('fail' in answer) throw answer.fail;
    return answer.value;
  }
}

/** Timeouts that expire only when the test says so. */
class ManualTimeouts {
  readonly pending: { ms: number; expire: () => void }[] = [];
  readonly wait = (ms: number): Promise<void> =>
    new Promise((resolve) => this.pending.push({ ms, expire: resolve }));
  expireAll(): void {
    for (const timeout of this.pending.splice(0)) timeout.expire();
  }
}

function anEnd(partitionId: string, last: number, overrides: Partial<PartitionEnd> = {}) {
  return {
    partitionId,
    beginningSequenceNumber: 0,
    lastEnqueuedSequenceNumber: last,
    lastEnqueuedAt: new Date('2026-11-23T11:59:30.000Z'),
    isEmpty: false,
    ...overrides,
  };
}

/** Lets every promise that can settle settle (no time passes). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CheckHealth', () => {
  let clock: ManualClock;
  let timeouts: ManualTimeouts;
  let storage: Scripted<void>;
  let ends: Scripted<PartitionEnd[]>;
  let checkpoints: Scripted<ReadonlyMap<string, number | 'unknown'>>;
  let hubA: Scripted<number | undefined>;
  let hubB: Scripted<number | undefined>;

  beforeEach(() => {
    clock = new ManualClock(NOW);
    timeouts = new ManualTimeouts();
    storage = new Scripted<void>({ value: undefined }, clock, 12);
    ends = new Scripted({ value: [anEnd('1', 90), anEnd('0', 500)] }, clock, 30);
    checkpoints = new Scripted<ReadonlyMap<string, number | 'unknown'>>({
      value: new Map([
        ['0', 480],
        ['1', 90],
      ]),
    });
    hubA = new Scripted<number | undefined>({ value: 1200 }, clock, 40);
    hubB = new Scripted<number | undefined>({ value: 7 });
  });

  function checkHealth(overrides: Partial<CheckHealthDependencies> = {}): CheckHealth {
    const partitions: EventHubPartitions = {
      eventHub: 'iothub-events',
      consumerGroup: 'certfleet',
      partitionEnds: (signal) => ends.call(signal),
    };
    const triggerCheckpoints: TriggerCheckpoints = {
      checkpoints: (signal) => checkpoints.call(signal),
    };
    const hubs: HubStatistics = {
      hubs: ['hub-a', 'hub-b'],
      connectedDevices: (hub, signal) => (hub === 'hub-a' ? hubA : hubB).call(signal),
    };
    const probe: StorageProbe = { probe: (signal) => storage.call(signal) };
    return new CheckHealth({
      storage: probe,
      eventStream: { partitions, checkpoints: triggerCheckpoints },
      hubs,
      clock,
      wait: timeouts.wait,
      ...overrides,
    });
  }

  it('is healthy when storage, the event stream and every hub answer, with what each said', async () => {
    const report = await checkHealth().check();

    expect(report).toEqual({
      checkedAt: NOW,
      status: 'healthy',
      storage: { status: 'ok', latencyMs: expect.any(Number) },
      eventStream: {
        status: 'ok',
        eventHub: 'iothub-events',
        consumerGroup: 'certfleet',
        latencyMs: expect.any(Number),
        partitions: [
          {
            partitionId: '0',
            lastEnqueuedSequenceNumber: 500,
            checkpointSequenceNumber: 480,
            lag: 20,
            lastEnqueuedAt: '2026-11-23T11:59:30.000Z',
          },
          {
            partitionId: '1',
            lastEnqueuedSequenceNumber: 90,
            checkpointSequenceNumber: 90,
            lag: 0,
            lastEnqueuedAt: '2026-11-23T11:59:30.000Z',
          },
        ],
      },
      hubs: [
        { hub: 'hub-a', status: 'ok', latencyMs: expect.any(Number), connectedDevices: 1200 },
        { hub: 'hub-b', status: 'ok', latencyMs: expect.any(Number), connectedDevices: 7 },
      ],
    });
  });

  it("measures each check's latency on the clock", async () => {
    const solo = new ManualClock(NOW);
    storage = new Scripted<void>({ value: undefined }, solo, 250);
    const report = await checkHealth({
      clock: solo,
      hubs: undefined,
      eventStream: undefined,
    }).check();

    expect(report.storage).toEqual({ status: 'ok', latencyMs: 250 });
  });

  it('is unhealthy when storage refuses, with the problem the adapter classified', async () => {
    storage.answer = { fail: new ProbeFailed('table: 403 AuthorizationPermissionMismatch') };

    const report = await checkHealth().check();

    expect(report.status).toBe('unhealthy');
    expect(report.storage).toMatchObject({
      status: 'unreachable',
      problem: 'table: 403 AuthorizationPermissionMismatch',
    });
    expect(statusOnly(report)).toEqual({ status: 'unhealthy' });
  });

  it('is degraded when one hub of two fails, naming the hub and why', async () => {
    hubB.answer = { fail: new ProbeFailed('401 IotHubUnauthorizedAccess') };

    const report = await checkHealth().check();

    expect(report.status).toBe('degraded');
    expect(report.hubs).toEqual([
      expect.objectContaining({ hub: 'hub-a', status: 'ok', connectedDevices: 1200 }),
      expect.objectContaining({
        hub: 'hub-b',
        status: 'unreachable',
        problem: '401 IotHubUnauthorizedAccess',
      }),
    ]);
  });

  it('gives up on a check that does not answer in 5 s, aborting it, and reports the timeout', async () => {
    hubA.answer = 'hang';

    const pending = checkHealth().check();
    await settle();
    expect(timeouts.pending.map((t) => t.ms)).toEqual(Array(5).fill(5000));
    timeouts.expireAll();
    const report = await pending;

    expect(report.status).toBe('degraded');
    expect(report.hubs[0]).toMatchObject({
      hub: 'hub-a',
      status: 'unreachable',
      problem: 'timeout after 5 s',
    });
    expect(hubA.signals[0]?.aborted).toBe(true);
    expect(report.storage.status).toBe('ok');
  });

  it('is unhealthy when storage hangs, without waiting for it past the timeout', async () => {
    storage.answer = 'hang';

    const pending = checkHealth({ timeoutMs: 2500 }).check();
    await settle();
    timeouts.expireAll();
    const report = await pending;

    expect(report.status).toBe('unhealthy');
    expect(report.storage).toMatchObject({
      status: 'unreachable',
      problem: 'timeout after 2500 ms',
    });
  });

  it('aborts the signal of a check that answered, so nothing it started outlives it', async () => {
    await checkHealth().check();

    expect(storage.signals[0]?.aborted).toBe(true);
    expect(ends.signals[0]?.aborted).toBe(true);
  });

  it('reuses a report for 30 s, then checks again', async () => {
    for (const check of [storage, ends, hubA]) check.takesMs = 0;
    const health = checkHealth();
    const first = await health.check();
    clock.advance(29_000);
    const second = await health.check();
    clock.advance(1_000);
    const third = await health.check();

    expect(second).toBe(first);
    expect(third.checkedAt).toBe('2026-11-23T12:00:30.000Z');
    expect(storage.calls).toBe(2);
    expect(hubA.calls).toBe(2);
    expect(ends.calls).toBe(2);
  });

  it('has callers that arrive while a check runs wait for that one', async () => {
    hubA.answer = 'hang';
    const health = checkHealth();

    const callers = [health.check(), health.check(), health.check()];
    await settle();
    timeouts.expireAll();
    const reports = await Promise.all(callers);

    expect(new Set(reports).size).toBe(1);
    expect(storage.calls).toBe(1);
    expect(hubA.calls).toBe(1);
  });

  it('is degraded when a partition is more than the threshold behind the newest event', async () => {
    ends.answer = { value: [anEnd('0', 10_000 + PARTITION_LAG_THRESHOLD + 1), anEnd('1', 5)] };
    checkpoints.answer = { value: new Map([['0', 10_000]]) };

    const report = await checkHealth().check();

    expect(report.status).toBe('degraded');
    expect(report.eventStream).toMatchObject({
      status: 'lagging',
      partitions: [
        { partitionId: '0', checkpointSequenceNumber: 10_000, lag: PARTITION_LAG_THRESHOLD + 1 },
        { partitionId: '1', checkpointSequenceNumber: null, lag: 6 },
      ],
    });
  });

  it('shows an empty partition with no newest event and no lag', async () => {
    ends.answer = { value: [anEnd('0', -1, { isEmpty: true, lastEnqueuedAt: new Date(0) })] };
    checkpoints.answer = { value: new Map() };

    const report = await checkHealth().check();

    expect(report.eventStream).toMatchObject({
      status: 'ok',
      partitions: [
        {
          partitionId: '0',
          lastEnqueuedSequenceNumber: -1,
          checkpointSequenceNumber: null,
          lag: 0,
          lastEnqueuedAt: null,
        },
      ],
    });
  });

  it('lists the partitions without their lag when the checkpoints cannot be read, and is degraded', async () => {
    checkpoints.answer = { fail: new ProbeFailed('403 AuthorizationPermissionMismatch') };

    const report = await checkHealth().check();

    expect(report.status).toBe('degraded');
    expect(report.eventStream).toMatchObject({
      status: 'unreachable',
      problem: 'checkpoints: 403 AuthorizationPermissionMismatch',
      partitions: [
        { partitionId: '0', lastEnqueuedSequenceNumber: 500, lag: null },
        { partitionId: '1', lastEnqueuedSequenceNumber: 90, lag: null },
      ],
    });
  });

  it('is degraded when Event Hubs does not answer', async () => {
    ends.answer = { fail: new ProbeFailed('UnauthorizedError') };

    const report = await checkHealth().check();

    expect(report.status).toBe('degraded');
    expect(report.eventStream).toEqual({
      status: 'unreachable',
      eventHub: 'iothub-events',
      consumerGroup: 'certfleet',
      latencyMs: expect.any(Number),
      partitions: [],
      problem: 'event hub: UnauthorizedError',
    });
  });

  it('is healthy with no event stream configured and no hub', async () => {
    const report = await checkHealth({ eventStream: undefined, hubs: undefined }).check();

    expect(report).toMatchObject({
      status: 'healthy',
      eventStream: { status: 'not-configured' },
      hubs: [],
    });
  });

  it("is degraded when the event stream's settings cannot be used, naming the settings", async () => {
    const report = await checkHealth({
      eventStream: {
        problems: [
          'IotHubEvents: not an Event Hubs connection string (expected Endpoint=sb://<namespace>/;SharedAccessKeyName=…;SharedAccessKey=…)',
        ],
      },
    }).check();

    expect(report.status).toBe('degraded');
    expect(report.eventStream).toEqual({
      status: 'unreachable',
      partitions: [],
      problem:
        'settings: IotHubEvents: not an Event Hubs connection string (expected Endpoint=sb://<namespace>/;SharedAccessKeyName=…;SharedAccessKey=…)',
    });
  });

  it('shows only the kind of an error no adapter classified, never its message', async () => {
    const secret = 'AccountKey=bm90IGEgcmVhbCBrZXksIGJ1dCBpdCBtdXN0IG5vdCBsZWFr';
    storage.answer = { fail: new TypeError(`fetch failed for ${secret}`) };
    hubA.answer = { fail: Object.assign(new Error(secret), { name: secret }) };

    const report = await checkHealth().check();

    expect(report.storage.problem).toBe('unexpected TypeError');
    expect(report.hubs[0]?.problem).toBe('unexpected error');
    expect(JSON.stringify(report)).not.toContain('bm90IGEgcmVhbCBrZXks');
  });

  it('answers an anonymous caller with the status alone', async () => {
    hubB.answer = { fail: new ProbeFailed('ENOTFOUND') };

    const report = await checkHealth().check();

    expect(statusOnly(report)).toStrictEqual({ status: 'degraded' });
  });
});
