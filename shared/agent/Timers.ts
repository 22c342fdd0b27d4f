import { Clock } from '../domain/Clock';

/**
 * How the agent waits: Node's timers by default, a hand-driven scheduler in tests. Every wait
 * of the agent goes through one of these, so a test moves time instead of sleeping.
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` on the given timers; rejects at once when `signal` aborts. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer: { handle?: unknown } = {};
    const onAbort = () => {
      if (timer.handle !== undefined) timers.clearTimeout(timer.handle);
      reject(new Error('aborted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    timer.handle = timers.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
  });
}

/**
 * The longest single wait. Node's timers overflow past 2^31-1 ms (about 24.8 days) and fire at
 * once, and a certificate may live 90 days; waking at least hourly also notices a wall clock
 * that jumped (a device that slept, or set its clock) within the hour.
 */
export const LONGEST_WAIT_MS = 60 * 60 * 1000;

/**
 * Fires once at an instant of the clock (not after a duration): it wakes at most every
 * LONGEST_WAIT_MS, reads the clock, and fires when the instant has come. Setting it again
 * replaces the previous instant.
 */
export class Alarm {
  private handle: unknown;
  private instant?: Date;

  constructor(
    private readonly clock: Clock,
    private readonly timers: Timers,
  ) {}

  get at(): Date | undefined {
    return this.instant;
  }

  set(at: Date, fire: () => void): void {
    this.cancel();
    this.instant = at;
    this.arm(fire);
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.instant = undefined;
  }

  private arm(fire: () => void): void {
    const at = this.instant;
    if (!at) return;
    const wait = at.getTime() - this.clock.now().getTime();
    this.handle = this.timers.setTimeout(
      () => {
        this.handle = undefined;
        if (this.instant !== at) return;
        if (this.clock.now().getTime() >= at.getTime()) {
          this.instant = undefined;
          fire();
        } else this.arm(fire);
      },
      Math.min(Math.max(0, wait), LONGEST_WAIT_MS),
    );
  }
}
