import type { IngestSummary } from '../app/ingest/IngestIotHubEvents';
import type { RawIotHubMessage } from '../app/ingest/RawIotHubMessage';

/** The Event Hubs trigger's batch size (host.json maxEventBatchSize). */
const MAX_BATCH = 100;

/**
 * The events a stand-in hub routes, applied as the Event Hubs trigger applies them: collected as
 * they come, then handed to the ingest use case in batches of the trigger's size, one batch at a
 * time, in the order they happened. A batch that fails (storage unreachable) is kept and tried
 * again at the next turn, as the trigger's retry policy redelivers it.
 *
 * One difference, for a short local run: a turn comes every `intervalMs` (0.2 s), whereas the
 * deployed trigger waits up to host.json's `maxWaitTime` (a minute) for a batch of
 * `minEventBatchSize` when only a few events trickle in. Times measured locally leave that wait out.
 */
export class RoutedEventPump {
  /** Batches applied, events in them, and batches that failed and were tried again. */
  readonly counts = { batches: 0, events: 0, deadLettered: 0, retried: 0 };
  lastError?: string;
  private readonly waiting: RawIotHubMessage[] = [];
  private applying: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly apply: (batch: readonly RawIotHubMessage[]) => Promise<IngestSummary>,
    private readonly intervalMs = 200,
  ) {}

  /** An event the hub routed (the stand-in's `onEvent`). */
  readonly push = (message: RawIotHubMessage): void => {
    if (!this.stopped) this.waiting.push(message);
  };

  /** Applies what arrives every `intervalMs` until stopped. */
  start(): void {
    if (this.stopped || this.timer) return;
    const turn = () => {
      this.timer = setTimeout(() => {
        void this.flush().then(() => {
          if (!this.stopped) turn();
        });
      }, this.intervalMs);
    };
    turn();
  }

  /** Applies everything that has arrived so far; resolves once it is in (or its batch failed). */
  flush(): Promise<void> {
    this.applying = this.applying.then(() => this.drain());
    return this.applying;
  }

  /** Stops applying; what has not been applied yet is dropped, as when a host shuts down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.applying;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0 && !this.stopped) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      try {
        const summary = await this.apply(batch);
        this.counts.batches += 1;
        this.counts.events += batch.length;
        this.counts.deadLettered += summary.deadLettered;
      } catch (error) {
        this.waiting.unshift(...batch);
        this.counts.retried += 1;
        this.lastError = (error as Error).message;
        return;
      }
    }
  }
}
