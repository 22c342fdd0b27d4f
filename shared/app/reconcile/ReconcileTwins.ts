import { Clock, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { IngestIotHubEvents, IngestSummary } from '../ingest/IngestIotHubEvents';
import { TwinPage, TwinQueryFailed, TwinSource } from '../ports';
import { twinAsReplaceMessage } from '../ingest/twinAsReplaceMessage';

export interface ReconcileSettings {
  /** Twin query pages a minute, per hub (`CERTFLEET_TWIN_QUERIES_PER_MINUTE`). */
  queriesPerMinute: number;
}

export interface ReconcileDependencies {
  twins: TwinSource;
  /** The live events' use case: twins go through the very same decoding and ordering rules. */
  ingest: Pick<IngestIotHubEvents, 'apply'>;
  clock: Clock;
  /** Waits; a test or a simulation passes one that moves its clock instead. */
  sleep: (ms: number) => Promise<void>;
  settings: ReconcileSettings;
}

export interface ReconcileCounts {
  pages: number;
  twins: number;
  applied: number;
  duplicate: number;
  stale: number;
  /** Twins that report no certificate (nothing for the ledger). */
  irrelevant: number;
  ignored: number;
  deadLettered: number;
  auditWritten: number;
  /** 429 answers, each waited out before the same page was asked again. */
  throttled: number;
  /** Pages asked again after the hub or the network failed. */
  retried: number;
}

export interface HubReconciliation extends ReconcileCounts {
  hub: string;
  /** `stopped`: out of time (`timeBudgetMs`) before the last page; `failed`: see `problem`. */
  outcome: 'complete' | 'stopped' | 'failed';
  problem?: string;
}

export interface ReconcileReport {
  startedAt: string;
  finishedAt: string;
  hubs: HubReconciliation[];
  totals: ReconcileCounts;
}

/** The Event Hubs trigger's batch size (host.json): a page is ingested as live events are. */
const INGEST_BATCH = 100;
/** The first wait before a page is asked again; it doubles with each failure of that page. */
const BACKOFF_MS = 15_000;
const MAX_BACKOFF_MS = 5 * MINUTE_MS;
/** 429s on one page before the hub is given up for this run (about 13 minutes of waiting). */
const MAX_THROTTLED_PER_PAGE = 6;
/** Retries of one page after a 5xx, a timeout or a network fault. */
const MAX_RETRIES_PER_PAGE = 3;
/** A hub that asks for a longer wait (a spent daily quota) is given up for this run. */
const MAX_WAIT_MS = 15 * MINUTE_MS;

class HubFailed extends Error {}

/**
 * Use case: reconcile the ledger with IoT Hub's device twins: imports an existing fleet on first
 * deploy, and later catches what missed events left out of date.
 *
 * For each hub (concurrently: each hub has its own quota), reads every device twin a page at a
 * time by IoT Hub's twin query, paced to `queriesPerMinute` pages a minute (IoT Hub S1 allows 20
 * queries a minute per unit, AZURE-FACTS.md), and feeds each page to the ingest use case as the
 * routed `replaceTwin` events IoT Hub would have sent (ingest/twinAsReplaceMessage.ts). The ledger's
 * ordering rules do the rest: a reported `$version` it has changes nothing, a newer one is
 * applied with its audit records, a device it has never seen is imported.
 *
 * A 429 is waited out (Retry-After, else 15 s doubling) and the same page asked again; a hub
 * that keeps failing is reported and the other hubs go on. Storage faults propagate, as in
 * ingest: with storage down no hub can be reconciled.
 */
export class ReconcileTwins {
  constructor(private readonly deps: ReconcileDependencies) {}

  /** The hubs a reconcile covers when none are named. */
  get hubs(): readonly string[] {
    return this.deps.twins.hubs;
  }

  /**
   * `hubs`: these instead of every configured hub. `timeBudgetMs`: ask for no page after this
   * long (a timer function's own timeout); the hubs not finished then are reported `stopped`.
   */
  async reconcile(
    options: { hubs?: readonly string[]; timeBudgetMs?: number } = {},
  ): Promise<ReconcileReport> {
    const started = this.deps.clock.now().getTime();
    const startedAt = isoUtc(started);
    const hubs = [...new Set(options.hubs ?? this.deps.twins.hubs)];
    const stopBy = options.timeBudgetMs !== undefined ? started + options.timeBudgetMs : undefined;
    const settled = await Promise.allSettled(hubs.map((hub) => this.reconcileHub(hub, stopBy)));
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<HubReconciliation>).value);
    const totals = zeroCounts();
    for (const result of results) addCounts(totals, result);
    return { startedAt, finishedAt: isoUtc(this.deps.clock.now()), hubs: results, totals };
  }

  private async reconcileHub(hub: string, stopBy: number | undefined): Promise<HubReconciliation> {
    const result: HubReconciliation = { hub, outcome: 'complete', ...zeroCounts() };
    const pacer = new QueryPacer(
      Math.ceil(MINUTE_MS / this.deps.settings.queriesPerMinute),
      this.deps.clock,
      this.deps.sleep,
    );
    let continuation: string | undefined;
    try {
      do {
        const page = await this.nextPage(hub, continuation, pacer, result, stopBy);
        if (page === 'stopped') {
          result.outcome = 'stopped';
          return result;
        }
        if (page.continuation !== undefined && page.continuation === continuation) {
          throw new HubFailed('the hub answered the same continuation token again');
        }
        result.pages += 1;
        result.twins += page.twins.length;
        const readAt = isoUtc(this.deps.clock.now());
        for (let i = 0; i < page.twins.length; i += INGEST_BATCH) {
          const batch = page.twins.slice(i, i + INGEST_BATCH);
          const summary = await this.deps.ingest.apply(
            batch.map((twin) => twinAsReplaceMessage(hub, twin, readAt)),
          );
          addIngest(result, summary);
        }
        continuation = page.continuation;
      } while (continuation !== undefined);
    } catch (error) {
      if (!(error instanceof HubFailed)) throw error;
      result.outcome = 'failed';
      result.problem = error.message;
    }
    return result;
  }

  /**
   * One page, paced; a 429 is waited out and the same page asked again, as is a hub or network
   * failure, a few times. `stopped` when the page could only be asked at or after `stopBy`.
   */
  private async nextPage(
    hub: string,
    continuation: string | undefined,
    pacer: QueryPacer,
    result: HubReconciliation,
    stopBy: number | undefined,
  ): Promise<TwinPage | 'stopped'> {
    let throttled = 0;
    let retried = 0;
    for (;;) {
      if (stopBy !== undefined && pacer.earliest() >= stopBy) return 'stopped';
      await pacer.take();
      let failure: TwinQueryFailed;
      try {
        return await this.deps.twins.queryTwins(hub, continuation);
      } catch (error) {
        if (!(error instanceof TwinQueryFailed)) {
          throw new HubFailed(
            `the twin query failed: ${(error as Error).message ?? String(error)}`,
          );
        }
        failure = error;
      }
      if (failure.failure === 'refused') throw new HubFailed(failure.message);
      const attempt = failure.failure === 'throttled' ? ++throttled : ++retried;
      const limit = failure.failure === 'throttled' ? MAX_THROTTLED_PER_PAGE : MAX_RETRIES_PER_PAGE;
      if (failure.failure === 'throttled') result.throttled += 1;
      if (attempt > limit) {
        throw new HubFailed(`${failure.message}; gave up after ${attempt} tries of one page`);
      }
      const wait = Math.max(
        Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** (attempt - 1)),
        failure.details.retryAfterMs ?? 0,
      );
      if (wait > MAX_WAIT_MS) {
        throw new HubFailed(
          `${failure.message}; the hub asks to wait ${Math.ceil(wait / MINUTE_MS)} min`,
        );
      }
      if (failure.failure !== 'throttled') result.retried += 1;
      pacer.notBefore(this.deps.clock.now().getTime() + wait);
    }
  }
}

/**
 * Spaces one hub's queries evenly, `spacingMs` apart (a minute over the rate, rounded up), so
 * no minute, calendar or sliding, holds more than the rate: IoT Hub applies its throttles
 * "in minute ranges" (Microsoft Learn, "IoT Hub quotas and throttling"). Retries count too:
 * a throttled request is still a request.
 */
class QueryPacer {
  private nextAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly spacingMs: number,
    private readonly clock: Clock,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** When the next query can go, at the earliest. */
  earliest(): number {
    return Math.max(this.nextAt, this.clock.now().getTime());
  }

  notBefore(at: number): void {
    this.nextAt = Math.max(this.nextAt, at);
  }

  /** Waits for the next query's turn, and takes it. */
  async take(): Promise<void> {
    const wait = this.nextAt - this.clock.now().getTime();
    if (wait > 0) await this.sleep(wait);
    this.nextAt = this.clock.now().getTime() + this.spacingMs;
  }
}

function zeroCounts(): ReconcileCounts {
  return {
    pages: 0,
    twins: 0,
    applied: 0,
    duplicate: 0,
    stale: 0,
    irrelevant: 0,
    ignored: 0,
    deadLettered: 0,
    auditWritten: 0,
    throttled: 0,
    retried: 0,
  };
}

function addIngest(counts: ReconcileCounts, summary: IngestSummary): void {
  counts.applied += summary.applied;
  counts.duplicate += summary.duplicate;
  counts.stale += summary.stale;
  counts.irrelevant += summary.irrelevant;
  counts.ignored += summary.ignored;
  counts.deadLettered += summary.deadLettered;
  counts.auditWritten += summary.auditWritten;
}

function addCounts(into: ReconcileCounts, from: ReconcileCounts): void {
  for (const key of Object.keys(into) as (keyof ReconcileCounts)[]) into[key] += from[key];
}
