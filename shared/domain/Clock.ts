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
  return day > daysInMonth(year, month) ? undefined : parsed;
}

/** The last instant ISO 8601's four-digit years reach: 9999-12-31T23:59:59.999Z. */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses when Event Hubs enqueued a message, in each form Azure hands it over
 * (AZURE-FACTS.md, "Enqueued time"): epoch milliseconds (the routed-message docs list
 * `iothub-enqueuedtime` so, as a number or its digits), a time without a zone (the Functions
 * extension's `enqueuedTimeUtcArray`, which is UTC), a time with a zone, or a Date.
 * Only for enqueued times: a device's or an operation's timestamp must carry its zone.
 */
export function parseEnqueuedTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : new Date(value);
  if (typeof value === 'number') return epochMilliseconds(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,15}$/.test(text)) return epochMilliseconds(Number(text));
  const zoneless = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(text);
  // Appending Z, not leaving it to Date: Date reads a zone-less date-time as local time.
  return parseIsoInstant(zoneless ? `${text}Z` : text);
}

function epochMilliseconds(ms: number): Date | undefined {
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= LAST_MS ? new Date(ms) : undefined;
}

/** A UTC calendar time; month and day count from 1. */
export interface UtcCalendarTime {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  ms?: number;
}

/**
 * The instant of a UTC calendar time in the years 1 to 9999, or undefined when there is no such
 * time (the 30th of February, hour 24). Built with setUTCFullYear because Date.UTC reads the
 * years 0 to 99 as 1900 to 1999: a certificate valid from 0001 must not become valid from 1901.
 */
export function utcInstant(time: UtcCalendarTime): Date | undefined {
  const { year, month, day, hour = 0, minute = 0, second = 0, ms = 0 } = time;
  const within = (n: number, min: number, max: number) =>
    Number.isInteger(n) && n >= min && n <= max;
  if (!within(year, 1, 9999) || !within(month, 1, 12)) return undefined;
  if (!within(day, 1, daysInMonth(year, month))) return undefined;
  if (!within(hour, 0, 23) || !within(minute, 0, 59) || !within(second, 0, 59)) return undefined;
  if (!within(ms, 0, 999)) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date;
}

function daysInMonth(year: number, month: number): number {
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0);
  return lastDay.getUTCDate();
}
