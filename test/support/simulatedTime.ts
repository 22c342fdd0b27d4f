import { ManualClock } from '../../shared/domain/Clock';

/**
 * Time for code that paces itself with an injected `sleep` (the renewal sweep spaces its
 * direct-method calls over the minute): nothing really waits. Each sleeper wakes at its own
 * instant, earliest first, and the ManualClock is moved to that instant just before it wakes,
 * so a paced call happens, and is answered, at the clock time it was scheduled for.
 *
 * The sweep starts its calls concurrently, so a sleep that simply advanced the clock would let
 * the last sleeper move the clock past all the others before any of them made its call. Here
 * one sleeper wakes at a time, and the next only once the woken one is done, as in real time,
 * where calls are spaced far wider than they take:
 * - it did nothing that needs I/O (`busy()` not called by the next turn of the event loop): it
 *   gave up on waking (a paused hub, a minute over);
 * - or the caller's observers call `settled()` (the call was made and its answer stored);
 * - or, failing both, after a real-time grace.
 */
export class SimulatedTime {
  private readonly sleepers: { at: number; order: number; wake: () => void }[] = [];
  private order = 0;
  private pumping = false;
  private woken?: { busy: boolean; done: () => void };

  constructor(
    readonly clock: ManualClock,
    private readonly graceMs = 2_000,
  ) {}

  /** Pass as the services' `sleep`. */
  readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((wake) => {
      const at = this.clock.now().getTime() + Math.max(0, ms);
      this.sleepers.push({ at, order: this.order++, wake });
      void this.pump();
    });

  /** The last sleeper to wake has started work that takes I/O. */
  busy(): void {
    if (this.woken) this.woken.busy = true;
  }

  /** The last sleeper to wake is done: the next one may wake. */
  settled(): void {
    this.woken?.done();
  }

  /** Moves the clock to `iso`, never back (a paced sweep may have moved it past). */
  moveTo(iso: string): void {
    if (Date.parse(iso) > this.clock.now().getTime()) this.clock.set(iso);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      // Every caller that goes to sleep in this turn of the event loop is in line first.
      await nextTurn();
      while (this.sleepers.length > 0) {
        this.sleepers.sort((a, b) => a.at - b.at || a.order - b.order);
        const next = this.sleepers.shift()!;
        if (next.at > this.clock.now().getTime()) this.clock.set(new Date(next.at));
        await new Promise<void>((resolve) => {
          const grace = setTimeout(() => done(), this.graceMs);
          const done = () => {
            clearTimeout(grace);
            this.woken = undefined;
            resolve();
          };
          const woken = { busy: false, done };
          this.woken = woken;
          next.wake();
          // What the woken caller does without I/O, it does before the next turn.
          void nextTurn().then(() => {
            if (this.woken === woken && !woken.busy) done();
          });
        });
        await nextTurn();
      }
    } finally {
      this.pumping = false;
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
