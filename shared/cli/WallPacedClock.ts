import { Clock } from '../domain/Clock';

/** Where the wall clock comes from; tests pass their own. */
export interface WallTime {
  /** A monotonic clock in milliseconds (performance.now): a wall clock reset cannot move it. */
  monotonicMs: () => number;
  /** Waits `ms` of real time. */
  wait: (ms: number) => Promise<void>;
}

const REAL_TIME: WallTime = {
  monotonicMs: () => performance.now(),
  wait: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/**
 * The clock of `certfleet sweep --now T`: virtual time decides the plan, the wall clock spaces
 * the calls. It reads T while the sweep plans (so the plan is the one the timer would make at
 * T); from the first wait on it moves with the wall clock, and `sleep` really waits. Calls to a
 * real IoT Hub are then spaced as the rate says on the wall clock, as IoT Hub meters them
 * (AZURE-FACTS.md, "IoT Hub direct methods"), instead of firing in a burst while only a virtual
 * clock moves. Concurrent waits overlap, as real ones do: time passed counts, not their sum.
 */
export class WallPacedClock implements Clock {
  private startedAtMs?: number;

  constructor(
    private readonly start: Date,
    private readonly wall: WallTime = REAL_TIME,
  ) {}

  now(): Date {
    const elapsed = this.startedAtMs === undefined ? 0 : this.wall.monotonicMs() - this.startedAtMs;
    return new Date(this.start.getTime() + elapsed);
  }

  /** For the renewal sweep's pacing (ServiceOverrides.sleep). */
  readonly sleep = async (ms: number): Promise<void> => {
    this.startedAtMs ??= this.wall.monotonicMs();
    await this.wall.wait(ms);
  };
}
