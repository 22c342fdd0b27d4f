/**
 * Seeded randomness for the planner simulation, written for a million devices: no object per
 * device and no hidden state. Each draw is a pure function of (seed, stream, counter), so a
 * device's n-th draw is the same whatever order certfleet asks the devices in: the fast planner
 * and the real CapacityPlanner, which order a minute's requests differently, see the same fleet
 * answer the same way.
 */

/** A 32-bit mix (the finaliser of MurmurHash3, with splitmix-style constants). */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform in [0, 1): the `counter`-th draw of stream `stream` under `seed`. */
export function unitDraw(seed: number, stream: number, counter: number): number {
  const a = mix32(seed ^ 0x9e3779b9);
  const b = mix32(a ^ Math.imul(stream | 0, 0x27d4eb2f));
  return mix32(b ^ Math.imul((counter | 0) + 1, 0x165667b1)) / 4294967296;
}

/** A sequential generator on the same function: draw 0, 1, 2, … of one stream. */
export class CounterRandom {
  private counter = 0;

  constructor(
    private readonly seed: number,
    private readonly stream: number,
  ) {}

  /** Uniform in [0, 1). */
  next(): number {
    const value = unitDraw(this.seed, this.stream, this.counter);
    this.counter += 1;
    return value;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}
