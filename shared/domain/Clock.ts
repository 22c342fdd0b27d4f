/**
 * Time is always passed in. Nothing in the domain calls Date.now(): the clock is a port, so
 * tests and simulations replay the same history to the same result.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved; for tests and the fleet simulator. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** UTC ISO 8601 with milliseconds, the one date format certfleet writes. */
export function isoUtc(date: Date | number): string {
  return new Date(date).toISOString();
}

/** Parses an ISO 8601 timestamp that carries a zone (Z or an offset); undefined otherwise. */
export function parseIsoInstant(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  // Require a date, a time and an explicit zone: a zoneless timestamp is ambiguous.
  const match = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(
    value.trim(),
  );
  if (!match) return undefined;
  const parsed = new Date(value.trim());
  if (Number.isNaN(parsed.getTime())) return undefined;
  // Date accepts the 29th to 31st of any month and rolls over (2026-02-30 becomes 2026-03-02):
  // a day the month does not have is not a timestamp.
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return day > new Date(Date.UTC(year, month, 0)).getUTCDate() ? undefined : parsed;
}
