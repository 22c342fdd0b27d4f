import {
  EventHubPartitions,
  HubStatistics,
  ProbeFailed,
  StorageProbe,
  TriggerCheckpoints,
} from '../ports';
import { Clock, isoUtc } from '../../domain/Clock';
import {
  EventStreamHealth,
  HealthReport,
  HealthStatus,
  HubHealth,
  PartitionHealth,
  StorageHealth,
} from '../../domain/health/HealthReport';
import { eventStreamStatusOf, healthStatus } from '../../domain/health/healthStatus';
import { PartitionEnd, partitionLag } from '../../domain/health/partitionLag';

/** How long one check may take before it counts as failed. */
export const CHECK_TIMEOUT_MS = 5_000;
/**
 * How long a report is reused. Load balancers and uptime probes call the anonymous route as
 * often as they like; whatever their number, one process checks storage, Event Hubs and each hub
 * at most once in this time.
 */
export const REPORT_CACHE_MS = 30_000;

/** The event stream's sources, or why it cannot be checked (its settings' problems). */
export type EventStreamSources =
  | { partitions: EventHubPartitions; checkpoints: TriggerCheckpoints }
  | { eventHub?: string; consumerGroup?: string; problems: readonly string[] };

export interface CheckHealthDependencies {
  storage: StorageProbe;
  /** Absent: no Event Hubs connection is configured (the event stream is `not-configured`). */
  eventStream?: EventStreamSources;
  /** Absent: no IoT hub is configured (no hub is checked). */
  hubs?: HubStatistics;
  /** The clock of `checkedAt`, latencies and the cache. */
  clock: Clock;
  timeoutMs?: number;
  cacheMs?: number;
  /**
   * Resolves after `ms`, or when `signal` aborts (then it need not resolve at all). Tests pass
   * one they control, so a check that never answers times out without waiting.
   */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

type Timed<T> = { latencyMs: number } & ({ value: T } | { problem: string });

/**
 * certfleet's health check: observes whether the fleet storage answers, how far the Event Hubs
 * trigger is behind on each partition, and whether each IoT hub answers; changes nothing.
 *
 * Every check runs at once, each given up on after 5 s (a check that hangs says so rather than
 * holding the answer); the status follows from what they found (shared/domain/health/
 * healthStatus.ts). A report is reused for 30 s, and callers that arrive while a check runs wait
 * for that one, so polling never multiplies the load on storage, Event Hubs or IoT Hub.
 */
export class CheckHealth {
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly wait: (ms: number, signal: AbortSignal) => Promise<void>;
  private latest?: { startedAt: number; report: Promise<HealthReport> };

  constructor(private readonly deps: CheckHealthDependencies) {
    this.timeoutMs = deps.timeoutMs ?? CHECK_TIMEOUT_MS;
    this.cacheMs = deps.cacheMs ?? REPORT_CACHE_MS;
    this.wait = deps.wait ?? waitOrAbort;
  }

  /** The latest report when it is younger than 30 s (or still being made); else a new one. */
  check(): Promise<HealthReport> {
    const now = this.deps.clock.now().getTime();
    const latest = this.latest;
    if (latest && now - latest.startedAt < this.cacheMs) return latest.report;
    const report = this.run(now);
    this.latest = { startedAt: now, report };
    // A check never rejects (each failure is in the report), but should one, the next asks again.
    report.catch(() => {
      if (this.latest?.report === report) this.latest = undefined;
    });
    return report;
  }

  private async run(startedAt: number): Promise<HealthReport> {
    const [storage, eventStream, hubs] = await Promise.all([
      this.checkStorage(),
      this.checkEventStream(),
      this.checkHubs(),
    ]);
    return {
      checkedAt: isoUtc(startedAt),
      status: healthStatus({ storage, eventStream, hubs }),
      storage,
      eventStream,
      hubs,
    };
  }

  private async checkStorage(): Promise<StorageHealth> {
    const result = await this.timed((signal) => this.deps.storage.probe(signal));
    return 'problem' in result
      ? { status: 'unreachable', latencyMs: result.latencyMs, problem: result.problem }
      : { status: 'ok', latencyMs: result.latencyMs };
  }

  private async checkEventStream(): Promise<EventStreamHealth> {
    const sources = this.deps.eventStream;
    if (!sources) return { status: 'not-configured' };
    if ('problems' in sources) {
      return {
        status: 'unreachable',
        ...(sources.eventHub ? { eventHub: sources.eventHub } : {}),
        ...(sources.consumerGroup ? { consumerGroup: sources.consumerGroup } : {}),
        partitions: [],
        problem: `settings: ${sources.problems.join('; ')}`,
      };
    }
    const [ends, checkpoints] = await Promise.all([
      this.timed((signal) => sources.partitions.partitionEnds(signal)),
      this.timed((signal) => sources.checkpoints.checkpoints(signal)),
    ]);
    const named = {
      eventHub: sources.partitions.eventHub,
      consumerGroup: sources.partitions.consumerGroup,
      latencyMs: Math.max(ends.latencyMs, checkpoints.latencyMs),
    };
    if ('problem' in ends) {
      return {
        status: 'unreachable',
        ...named,
        partitions: [],
        problem: `event hub: ${ends.problem}`,
      };
    }
    const positions = 'problem' in checkpoints ? undefined : checkpoints.value;
    const partitions = ends.value
      .slice()
      .sort(byPartitionId)
      .map((end) => partitionHealth(end, positions));
    if ('problem' in checkpoints) {
      return {
        status: 'unreachable',
        ...named,
        partitions,
        problem: `checkpoints: ${checkpoints.problem}`,
      };
    }
    return { status: eventStreamStatusOf(partitions), ...named, partitions };
  }

  private async checkHubs(): Promise<HubHealth[]> {
    const statistics = this.deps.hubs;
    if (!statistics) return [];
    return Promise.all(
      statistics.hubs.map(async (hub): Promise<HubHealth> => {
        const result = await this.timed((signal) => statistics.connectedDevices(hub, signal));
        if ('problem' in result) {
          return {
            hub,
            status: 'unreachable',
            latencyMs: result.latencyMs,
            problem: result.problem,
          };
        }
        return {
          hub,
          status: 'ok',
          latencyMs: result.latencyMs,
          ...(result.value !== undefined ? { connectedDevices: result.value } : {}),
        };
      }),
    );
  }

  /**
   * Runs one check under the timeout. When time is up, the check's signal aborts (the SDKs and
   * fetch stop their request) and what it answers later is ignored.
   */
  private async timed<T>(work: (signal: AbortSignal) => Promise<T>): Promise<Timed<T>> {
    const started = this.deps.clock.now().getTime();
    const elapsed = () => Math.max(0, this.deps.clock.now().getTime() - started);
    const controller = new AbortController();
    const timedOut = Symbol('timed out');
    try {
      const working = Promise.resolve().then(() => work(controller.signal));
      working.catch(() => undefined); // a late failure, after the timeout, is no one's to handle
      const outcome = await Promise.race([
        working,
        this.wait(this.timeoutMs, controller.signal).then(() => timedOut),
      ]);
      if (outcome === timedOut) {
        return {
          latencyMs: elapsed(),
          problem: `timeout after ${describeSeconds(this.timeoutMs)}`,
        };
      }
      return { latencyMs: elapsed(), value: outcome as T };
    } catch (error) {
      return { latencyMs: elapsed(), problem: problemOf(error) };
    } finally {
      controller.abort();
    }
  }
}

/** All an anonymous caller is told: the one word, nothing that names a part, a hub or an error. */
export function statusOnly(report: HealthReport): { status: HealthStatus } {
  return { status: report.status };
}

function partitionHealth(
  end: PartitionEnd,
  checkpoints: ReadonlyMap<string, number | 'unknown'> | undefined,
): PartitionHealth {
  const checkpoint = checkpoints ? (checkpoints.get(end.partitionId) ?? 'none') : undefined;
  const lag = checkpoint === undefined ? undefined : partitionLag(end, checkpoint);
  const empty = end.isEmpty || end.lastEnqueuedSequenceNumber < 0;
  return {
    partitionId: end.partitionId,
    lastEnqueuedSequenceNumber: empty ? -1 : end.lastEnqueuedSequenceNumber,
    checkpointSequenceNumber: typeof checkpoint === 'number' ? checkpoint : null,
    lag: lag ?? null,
    lastEnqueuedAt: !empty && end.lastEnqueuedAt ? isoUtc(end.lastEnqueuedAt) : null,
  };
}

/** Partition ids are "0", "1", … "31": in numeric order when they are numbers. */
function byPartitionId(a: PartitionEnd, b: PartitionEnd): number {
  const [x, y] = [Number(a.partitionId), Number(b.partitionId)];
  if (Number.isInteger(x) && Number.isInteger(y) && x !== y) return x - y;
  return a.partitionId < b.partitionId ? -1 : a.partitionId > b.partitionId ? 1 : 0;
}

/**
 * A failed check's problem: the adapter's classified text, or, for an error no adapter
 * classified (a bug), only its kind: its message may hold anything.
 */
function problemOf(error: unknown): string {
  if (error instanceof ProbeFailed) return error.problem;
  const name = (error as { name?: unknown } | undefined)?.name;
  return `unexpected ${typeof name === 'string' && /^\w{1,60}$/.test(name) ? name : 'error'}`;
}

function describeSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** setTimeout that is cleared when the signal aborts, so no timer outlives its check. */
function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}
