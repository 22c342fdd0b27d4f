import { ManualClock } from '../../../shared/domain/Clock';
import { Timers } from '../../../shared/agent/Timers';

interface Pending {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * Timers driven by hand on a ManualClock: nothing fires until the test moves time, and then
 * every timer due on the way fires in order, the clock standing at its instant.
 */
export class ManualScheduler implements Timers {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Every delay asked for, in order: what a test reads to check how long something waited. */
  readonly requestedDelays: number[] = [];

  constructor(readonly clock: ManualClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    const seq = ++this.seq;
    this.requestedDelays.push(ms);
    this.pending.set(seq, { at: this.clock.now().getTime() + Math.max(0, ms), seq, callback });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Moves the clock to `until`, firing each timer due by then in order; after each one it
   * awaits `settle` (the work the callback started) before looking for the next.
   */
  async advanceTo(until: Date | string, settle: () => Promise<void> = flush): Promise<void> {
    const end = new Date(until).getTime();
    for (;;) {
      const due = [...this.pending.values()]
        .filter((p) => p.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.pending.delete(due.seq);
      if (due.at > this.clock.now().getTime()) this.clock.set(new Date(due.at));
      due.callback();
      await settle();
    }
    if (end > this.clock.now().getTime()) this.clock.set(new Date(end));
  }

  advanceBy(ms: number, settle?: () => Promise<void>): Promise<void> {
    return this.advanceTo(new Date(this.clock.now().getTime() + ms), settle);
  }
}

/** Lets promise callbacks already queued run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
