import { DAY_MS } from '../Clock';

/** A range of UTC dates, both ends included (YYYY-MM-DD). */
export interface DateRange {
  from: string;
  to: string;
}

/**
 * The range `from`..`to` as given by a caller (either end may be missing: then it is the other,
 * or `today` when both are), or what is wrong with it, in words that name the parameter.
 */
export function dateRangeFrom(
  input: { from?: string; to?: string },
  today: string,
  maxDays?: number,
): { range: DateRange } | { problem: string } {
  const given = { from: input.from?.trim() || undefined, to: input.to?.trim() || undefined };
  // Each end as the caller gave it: an end filled in from the other is not the one to blame.
  for (const name of ['from', 'to'] as const) {
    const value = given[name];
    if (value !== undefined && !isDate(value))
      return { problem: `${name} must be a UTC date, YYYY-MM-DD (got ${value})` };
  }
  const from = given.from ?? given.to ?? today;
  const to = given.to ?? given.from ?? today;
  if (from > to) return { problem: `from (${from}) is after to (${to})` };
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (maxDays !== undefined && days > maxDays)
    return { problem: `the range holds ${days} days; at most ${maxDays} at a time` };
  return { range: { from, to } };
}

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const time = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === text;
}

/** The kind of checkpoint the hourly timer takes at `at`: the one after midnight is daily (full). */
export function scheduledCheckpointKind(at: Date): 'hourly' | 'daily' {
  return at.getUTCHours() === 0 ? 'daily' : 'hourly';
}
