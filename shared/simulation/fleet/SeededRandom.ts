import { createHash } from 'node:crypto';

/**
 * A small seeded pseudo-random generator (sfc32) for the fleet simulator: the same seed gives
 * the same fleet and the same history. Never Math.random. Each device draws from a stream of
 * its own (`SeededRandom.stream(seed, deviceId)`), so the order in which certfleet calls
 * devices does not change what any one device decides.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(words: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = words;
    // Warm up: the first outputs of sfc32 are weakly mixed.
    for (let i = 0; i < 12; i += 1) this.next();
  }

  /** A stream named by the seed and any labels: independent of every other stream. */
  static stream(seed: number, ...labels: readonly (string | number)[]): SeededRandom {
    const digest = createHash('sha256')
      .update(JSON.stringify([seed, ...labels]))
      .digest();
    return new SeededRandom([
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    ]);
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** A whole number in [min, max]. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A copy of `items` in a random order (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
