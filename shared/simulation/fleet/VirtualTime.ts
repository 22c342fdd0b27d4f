import { ManualClock } from '../../domain/Clock';

/**
 * Time for a simulated fleet: certfleet's renewal sweep spaces its direct-method calls with an
 * injected `sleep` (10 calls a second per hub, several in flight), and here nothing really
 * waits. The ManualClock is moved to each sleeper's instant as it wakes.
 *
 * Simply moving the clock in `sleep` would let concurrent callers race: the sweep starts up
 * to 32 calls at once, and the last to go to sleep would move the clock past every other
 * before any made its call; which call saw which time would depend on storage latency, and
 * the run would not be the same twice. So sleepers wake one at a time, earliest first, and
 * only once everything they set going has settled: no storage call or device call tracked
 * here is in flight (`track`). That is how real time behaves, where calls 100 ms apart take a
 * few milliseconds each; and it makes a run a function of its seed.
 */
export class VirtualTime {
  private readonly sleepers: { at: number; order: number; wake: () => void }[] = [];
  private order = 0;
  private pumping = false;
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(readonly clock: ManualClock) {}

  /** Pass as the services' `sleep`: resolves when the clock reaches now + ms. */
  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((wake) => {
      const at = this.clock.now().getTime() + Math.max(0, Number.isFinite(ms) ? ms : 0);
      this.sleepers.push({ at, order: this.order++, wake });
      void this.pump();
    });

  /** Counts `work` as in flight until it settles: no sleeper wakes meanwhile. */
  track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  /** Sleepers waiting to wake (0 between sweeps). */
  get waiting(): number {
    return this.sleepers.length;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.sleepers.length > 0) {
        await this.settled();
        this.sleepers.sort((a, b) => a.at - b.at || a.order - b.order);
        const next = this.sleepers.shift()!;
        if (next.at > this.clock.now().getTime()) this.clock.set(new Date(next.at));
        next.wake();
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Resolves once nothing tracked is in flight across two turns of the event loop: whatever a
   * woken sleeper does without I/O runs in microtasks before the next turn, so by then it has
   * started tracked work, gone to sleep again, or finished.
   */
  private async settled(): Promise<void> {
    for (;;) {
      await nextTurn();
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => this.idle.push(resolve));
        continue;
      }
      await nextTurn();
      if (this.inFlight === 0) return;
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
